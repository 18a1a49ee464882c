//! cte-engine
