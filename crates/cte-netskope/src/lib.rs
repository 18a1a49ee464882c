//! cte-netskope
