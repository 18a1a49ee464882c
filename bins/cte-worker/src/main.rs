//! cte-worker

fn main() {}
