//! Integration tests of the simulated tenant over real loopback HTTP, one module per API boundary.

mod binary;
mod conformance;
mod dataexport;
mod gateway;
mod hashlist;
mod support;
mod urllist;
