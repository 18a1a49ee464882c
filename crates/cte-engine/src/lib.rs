//! The Threat Exchange use cases as a library: ingesting reports, API tokens and authentication,
//! the pull and age cycles, and (later) the share cycle. Callers pass the store and the clock
//! value; nothing here starts threads or reads configuration files, so other tools can embed it.

pub mod age;
pub mod ingest;
pub mod pull;
pub mod share;
pub mod tokens;

pub use ingest::{ingest, IngestError, RawIndicator, Rejection};
