//! Frame sources: the XDP program and its loader, AF_XDP sockets, and pcap files.

pub mod pcap;
mod pcap_classic;
mod pcap_error;
mod pcapng_header;
pub mod xdp;
pub mod xsk;
