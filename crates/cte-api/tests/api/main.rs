//! In-process tests of the Threat Exchange API: every route, each error case, against a SQLite
//! store on a temp file and a clock the tests move.

mod auth;
mod business_rules;
mod configurations;
mod dashboards;
mod filters;
mod harness;
mod health;
mod indicators;
mod openapi;
mod paging;
mod schema;
mod sharing;
mod tags;
mod tenants;
mod tokens;
