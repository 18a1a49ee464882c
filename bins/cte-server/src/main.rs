//! cte-server

fn main() {}
