//! Compiles a [`Filter`] into a SQL boolean expression over the `indicators` table aliased `i`.

use cte_core::filter::Filter;
use rusqlite::types::Value;

/// Returns a SQL boolean expression; values are appended to `params` and referenced as `?`.
pub(crate) fn compile(filter: &Filter, _params: &mut Vec<Value>) -> String {
    match filter.expr() {
        None => "1".to_string(),
        Some(expr) => match *expr {},
    }
}
