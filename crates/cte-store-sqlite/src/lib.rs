//! cte-store-sqlite
