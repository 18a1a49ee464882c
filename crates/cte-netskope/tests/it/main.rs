//! Integration tests of the Netskope client against the simulated tenant (`netskope-sim`) on
//! loopback: URL lists, hash lists, the alert iterator, error mapping, retries and rate limits.

mod alerts;
mod errors;
mod hash_lists;
mod retries;
mod support;
mod transport;
mod url_lists;
