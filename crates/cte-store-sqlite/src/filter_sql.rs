//! Compiles a [`Filter`] into a SQL boolean expression over the `indicators` table aliased `i`.

use cte_core::filter::Filter;
use rusqlite::types::Value;

/// Returns a SQL boolean expression; values are appended to `params` and referenced as `?`.
///
/// Stop-gap until the compiler lands: only "everything" is translated; the API does not yet
/// pass any other filter down.
pub(crate) fn compile(filter: &Filter, _params: &mut Vec<Value>) -> String {
    match filter.expr() {
        None => "1".to_string(),
        Some(_) => "0".to_string(),
    }
}
