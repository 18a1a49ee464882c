//! The filter language CE uses everywhere it selects indicators (reference §4.4).
//!
//! The spine only needs "everything"; the JSON and UI query languages are parsed into [`Expr`] by
//! the filter issue.

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {}

/// A validated filter over indicators; the default selects every indicator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    expr: Option<Expr>,
}

impl Filter {
    /// Selects every indicator.
    pub fn all() -> Filter {
        Filter { expr: None }
    }

    /// The expression, or `None` when the filter selects everything.
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }
}
