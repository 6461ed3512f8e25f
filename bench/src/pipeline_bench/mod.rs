//! The pipeline and memory benchmarks behind the `pipeline-bench` binary: standard
//! packet mixes built in memory ([`mix`]), a single-core run of decapsulation, flows,
//! model and application metadata over them ([`runner`]), and heap and resident
//! memory measurements ([`memory`]) with a counting allocator ([`alloc`]).

pub mod alloc;
pub mod memory;
pub mod mix;
pub mod runner;
