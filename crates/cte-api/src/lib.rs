//! cte-api
