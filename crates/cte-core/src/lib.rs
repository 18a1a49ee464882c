//! cte-core
