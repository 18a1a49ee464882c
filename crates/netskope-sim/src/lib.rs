//! netskope-sim
