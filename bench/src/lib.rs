//! Traffic generation for the sensor's lab and benchmarks. The `mirror-gen` binary
//! sends mirror frames from a pcap file, the built-in synthetic workload or the flow
//! model out of an interface, with an AF_PACKET socket or a PACKET_MMAP TX ring. The
//! `xsk-sink` binary is the do-nothing receiver that the live benchmark compares the
//! sensor with. The `scenario-gen` binary writes labelled pcaps for evaluating the
//! anomaly detectors.

pub mod flow_model;
pub mod netns;
pub mod pacing;
pub mod pcap;
pub mod pipeline_bench;
pub mod rss;
pub mod run;
pub mod scenario;
pub mod sender;
pub mod synthetic;
pub mod tx_ring;
