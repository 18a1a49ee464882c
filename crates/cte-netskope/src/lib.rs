//! The Netskope tenant adapter: [`NetskopeClient`] implements the `cte_core::tenant::TenantClient`
//! port over the tenant's REST API (v2 with the `Netskope-Api-Token` header; v1 only for the file
//! hash list), with reqwest and rustls.
//!
//! - [`settings`]: where the tenant is and how to reach it ([`TenantSettings`], [`Secret`],
//!   [`RetryPolicy`]).
//! - [`request`]: every request the client sends, built by pure functions, so a preview can show
//!   the exact body bytes ([`url_list_body`], [`named_url_list_body`], [`hash_list_body`]).
//! - [`response`]: pure reading of answers into core types and [`cte_core::tenant::TenantError`].
//! - [`client`]: sending, retries and rate-limit waits.

#![deny(missing_docs)]

pub mod client;
pub mod connector;
pub mod request;
pub mod response;
pub mod settings;

pub use client::NetskopeClient;
pub use connector::NetskopeConnector;
pub use request::{
    hash_list_body, hash_list_preview_body, named_url_list_body, url_list_body, Endpoint,
    TenantRequest,
};
pub use settings::{
    resolve_base_url, ListLimits, RetryPolicy, Secret, SettingsError, TenantSettings, Timeouts,
};
