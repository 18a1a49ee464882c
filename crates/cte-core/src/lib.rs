//! The domain core of the Threat Exchange: IoC types, canonical normalisation, reconciliation, the
//! filter language, and the ports (storage, tenant) that adapters implement.
//!
//! Architecture invariant: this crate does no IO and never reads the clock; every function that
//! needs the time takes `now` as a parameter.
#![deny(missing_docs)]

pub mod auth;
pub mod checkpoint;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod field;
pub mod filter;
pub mod indicator;
pub mod normalize;
pub mod push;
pub mod query;
pub mod reconcile;
pub mod rule;
pub mod share;
pub mod store;
pub mod tag;
pub mod tenant;
pub mod tenant_config;
pub mod time;

pub use error::{StoreError, StoreResult};
pub use indicator::{Indicator, IndicatorKind, Severity, SourceRecord};
