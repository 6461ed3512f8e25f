//! The command line: `sensor run` (live capture) and `sensor replay` (pcap
//! files). Every flag is documented here, where it is defined, with its unit,
//! default and environment variable; docs/flags.md is generated from this.

pub mod analysis;
pub mod args;
pub mod replay;
pub mod run;

pub use args::{Cli, Command};
