//! Application metadata from the first payload bytes of a flow: DNS, TLS, HTTP and QUIC
//! parsers. Each parser reads attacker-controlled bytes, is bounded and never panics, and
//! names every rejection with a reason that has a metric label.

pub mod dns;
pub mod extract;
pub mod http;
pub mod meta;
pub mod passive_dns;
pub mod quic;
pub mod tls;
