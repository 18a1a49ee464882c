//! cte-core

pub mod tenant;
