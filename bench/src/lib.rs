//! Traffic generation for the sensor's lab and benchmarks. The `mirror-gen` binary
//! sends mirror frames from a pcap file or from the built-in synthetic workload out of
//! an interface with an AF_PACKET socket.

pub mod netns;
pub mod pacing;
pub mod pcap;
pub mod run;
pub mod sender;
pub mod synthetic;
