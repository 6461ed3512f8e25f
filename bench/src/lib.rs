//! Traffic generation for the sensor's lab and benchmarks. The `mirror-gen` binary
//! sends mirror frames from a pcap file or from the built-in synthetic workload out of
//! an interface with an AF_PACKET socket. The `scenario-gen` binary writes labelled
//! pcaps for evaluating the anomaly detectors.

pub mod netns;
pub mod pacing;
pub mod pcap;
pub mod rss;
pub mod run;
pub mod scenario;
pub mod sender;
pub mod synthetic;
