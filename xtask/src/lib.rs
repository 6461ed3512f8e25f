//! Developer tasks for this workspace: machine setup, builds, the network-namespace lab,
//! the test run, the demo, the detection evaluation and the benchmarks. The `xtask` binary (`cargo xtask …`) calls these, and
//! live tests use [`Lab`] and [`http_get_in`] directly.

pub mod bench;
pub mod cmd;
pub mod demo;
pub mod eval;
pub mod http;
pub mod lab;
pub mod setup;
pub mod summary;
pub mod workspace;

pub use http::http_get_in;
pub use lab::{Lab, LabConfig};
