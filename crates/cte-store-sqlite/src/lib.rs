//! SQLite implementation of the storage port ([`cte_core::store::Store`]) with rusqlite.
//!
//! One file, WAL journal, migrations embedded from `migrations/NNNN_*.sql` and applied on open under
//! `PRAGMA user_version`. Writes go through one connection behind a mutex (SQLite allows one writer
//! at a time anyway); reads take a connection from a small pool so they run beside writes.

mod backup;
mod bulk_edits;
mod checkpoints;
mod commit_log;
mod configurations;
mod dashboard;
mod documents;
mod error;
mod fields;
mod filter_sql;
mod health;
mod ingest;
mod listing;
mod migrate;
mod paging;
mod rows;
mod rules;
mod secrets;
mod share;
mod store;
mod tags;
mod tenants;
mod tokens;
mod value_key;

pub use backup::{backup, integrity_check, BackupReport};
pub use error::SqliteError;
pub use store::{configure, SqliteStore};
pub use value_key::{merge_slice, value_key, SLICES};
