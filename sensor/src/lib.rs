//! The sensor library: every stage of the data path, one folder each
//! (DESIGN.md §3). The `sensor` binary in `main.rs` wires them together.

pub mod app;
pub mod capture;
pub mod cli;
pub mod decap;
pub mod decimal;
pub mod fixture;
pub mod flow;
pub mod hash;
pub mod metrics;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod state;
pub mod text;
