//! Application metadata as flow records carry it: what the parsers found in a
//! flow, in owned, serializable form. Produced at most a few times per flow
//! (one DNS message, one HTTP request, one ClientHello), never per packet.

use serde::Serialize;

use crate::flow::FlowKey;

/// DNS query and answer of a flow (docs/flow-records.md, `dns`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DnsMeta {
    /// Transaction id of the first query.
    pub id: u16,
    /// Query name, lowercase, dotted; absent when neither message carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Query type (1 A, 28 AAAA, 16 TXT, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<u16>,
    /// Response code of the matching response (0 NOERROR, 3 NXDOMAIN, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u8>,
    /// A and AAAA addresses, CNAME targets and PTR names of the response, in
    /// answer order (at most 8).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// Smallest TTL among the answers, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<u32>,
    /// A message was cut (snap length, mirror packet length) and read partly.
    pub partial: bool,
}

/// The first HTTP/1.x request of a flow (`http`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpMeta {
    pub method: String,
    /// Request target, at most 256 bytes.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The header block was cut, or a field was longer than its bound.
    pub partial: bool,
}

/// The TLS or QUIC ClientHello of a flow (`tls`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsMeta {
    /// `tcp` for TLS over TCP, `quic` for a QUIC Initial.
    pub transport: &'static str,
    /// Highest offered version (0x0304 is TLS 1.3), GREASE excluded.
    pub version: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Offered ALPN protocols, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// JA4 client fingerprint; absent for a partial ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// Only part of the ClientHello was available.
    pub partial: bool,
}

/// Metadata one packet's payload gave about its flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppFinding {
    DnsQuery(DnsMeta),
    DnsResponse(DnsMeta),
    Http(HttpMeta),
    Tls(TlsMeta),
}

/// A finding with the flow it belongs to, on its way to the flow writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppEvent {
    /// The flow's canonical key (both directions share it).
    pub key: FlowKey,
    /// Destination of the packet the finding came from: for a DNS response,
    /// the client that resolved the names.
    pub receiver: std::net::IpAddr,
    /// Packet time of that packet.
    pub ts_ns: u64,
    pub finding: AppFinding,
}

/// The metadata one flow collected, attached to its records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowApp {
    pub dns: Option<DnsMeta>,
    pub http: Option<HttpMeta>,
    pub tls: Option<TlsMeta>,
}

impl FlowApp {
    /// Merges one finding: the first of each kind wins, and a DNS response
    /// completes the query with the same transaction id and question.
    pub fn add(&mut self, finding: AppFinding) {
        match finding {
            AppFinding::DnsQuery(query) => {
                if self.dns.is_none() {
                    self.dns = Some(query);
                }
            }
            AppFinding::DnsResponse(response) => match &mut self.dns {
                // A stub resolver accepts a response only when its id and its
                // question match the query; anything else may be spoofed.
                Some(dns)
                    if dns.id == response.id
                        && dns.rcode.is_none()
                        && (dns.query.is_none() || dns.query == response.query) =>
                {
                    dns.rcode = response.rcode;
                    dns.answers = response.answers;
                    dns.min_ttl = response.min_ttl;
                    dns.partial |= response.partial;
                    if dns.query.is_none() {
                        dns.query = response.query;
                        dns.qtype = response.qtype;
                    }
                }
                Some(_) => {}
                None => self.dns = Some(response),
            },
            AppFinding::Http(http) => {
                if self.http.is_none() {
                    self.http = Some(http);
                }
            }
            AppFinding::Tls(tls) => {
                if self.tls.is_none() {
                    self.tls = Some(tls);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16) -> AppFinding {
        AppFinding::DnsQuery(DnsMeta {
            id,
            query: Some("example.net".into()),
            qtype: Some(1),
            ..DnsMeta::default()
        })
    }

    fn response(id: u16) -> AppFinding {
        AppFinding::DnsResponse(DnsMeta {
            id,
            query: Some("example.net".into()),
            qtype: Some(1),
            rcode: Some(3),
            answers: vec!["192.0.2.7".into()],
            min_ttl: Some(30),
            partial: false,
        })
    }

    #[test]
    fn dns_response_completes_query() {
        let mut app = FlowApp::default();
        app.add(query(7));
        app.add(response(7));
        let dns = app.dns.expect("dns metadata");
        assert_eq!(dns.rcode, Some(3));
        assert_eq!(dns.answers, vec!["192.0.2.7".to_string()]);
    }

    #[test]
    fn dns_response_other_id_ignored() {
        let mut app = FlowApp::default();
        app.add(query(7));
        app.add(response(8));
        assert_eq!(app.dns.expect("dns metadata").rcode, None);
    }

    #[test]
    fn dns_response_before_query_kept() {
        let mut app = FlowApp::default();
        app.add(response(7));
        app.add(query(7));
        assert_eq!(app.dns.expect("dns metadata").rcode, Some(3));
    }

    #[test]
    fn dns_response_other_question_ignored() {
        let mut app = FlowApp::default();
        app.add(query(7));
        let AppFinding::DnsResponse(mut spoofed) = response(7) else {
            unreachable!("response() builds a response");
        };
        spoofed.query = Some("evil.test".into());
        app.add(AppFinding::DnsResponse(spoofed));
        assert_eq!(app.dns.expect("dns metadata").rcode, None);
    }

    #[test]
    fn first_http_request_wins() {
        let mut app = FlowApp::default();
        for path in ["/first", "/second"] {
            app.add(AppFinding::Http(HttpMeta {
                method: "GET".into(),
                path: path.into(),
                ..HttpMeta::default()
            }));
        }
        assert_eq!(app.http.expect("http metadata").path, "/first");
    }
}
