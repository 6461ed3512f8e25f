//! HTTP/1.x request metadata from the first payload bytes of a client's TCP stream: the
//! method, the request target (path), the version, and the Host and User-Agent headers
//! (RFC 9112 sections 3 and 5). Values are copied into fixed buffers, so parsing
//! allocates nothing.

use std::borrow::Cow;

/// Bytes of the request target kept.
pub const MAX_PATH_BYTES: usize = 256;
/// Bytes of the Host value kept (a DNS name is at most 253 characters, plus a port).
pub const MAX_HOST_BYTES: usize = 262;
/// Bytes of the User-Agent value kept.
pub const MAX_USER_AGENT_BYTES: usize = 256;

/// Maximum method token length (`CONNECT`, `OPTIONS`).
const MAX_METHOD_BYTES: usize = 7;

/// The start of the HTTP/2 connection preface (RFC 9113 section 3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Request methods of RFC 9110 section 9 and PATCH (RFC 5789).
///
/// NOTE: other registered methods (WebDAV `PROPFIND`, `MKCOL`, …) are rejected as
/// [`HttpError::UnknownMethod`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 9] = [
        HttpMethod::Get,
        HttpMethod::Head,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Delete,
        HttpMethod::Connect,
        HttpMethod::Options,
        HttpMethod::Trace,
        HttpMethod::Patch,
    ];

    /// Returns the method token as sent (methods are case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Connect => "CONNECT",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Trace => "TRACE",
            HttpMethod::Patch => "PATCH",
        }
    }

    fn from_token(token: &[u8]) -> Option<HttpMethod> {
        HttpMethod::ALL
            .into_iter()
            .find(|method| method.as_str().as_bytes() == token)
    }
}

/// The reason the parser rejected a payload as an HTTP/1.x request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum HttpError {
    #[error("http payload ends before the request target")]
    RequestShort,
    #[error(
        "first token is not an http method (get, head, post, put, delete, connect, options, trace, patch)"
    )]
    UnknownMethod,
    #[error("http/2 connection preface, not an http/1.x request")]
    Http2Preface,
    #[error("http request line has an empty target, control characters or extra spaces")]
    RequestLineInvalid,
    #[error("http version is not 1.0 or 1.1")]
    VersionUnsupported,
}

impl HttpError {
    /// Number of reasons.
    pub const COUNT: usize = 5;

    /// Every reason, in the order of its counter index (`reason as usize`).
    pub const ALL: [HttpError; HttpError::COUNT] = [
        HttpError::RequestShort,
        HttpError::UnknownMethod,
        HttpError::Http2Preface,
        HttpError::RequestLineInvalid,
        HttpError::VersionUnsupported,
    ];

    /// Returns the snake_case name used as the Prometheus label `reason`.
    pub fn label(self) -> &'static str {
        match self {
            HttpError::RequestShort => "request_short",
            HttpError::UnknownMethod => "unknown_method",
            HttpError::Http2Preface => "http2_preface",
            HttpError::RequestLineInvalid => "request_line_invalid",
            HttpError::VersionUnsupported => "version_unsupported",
        }
    }
}

/// Up to `N` bytes of a value, and whether the value was longer: over the bound, or
/// cut by the end of the payload.
#[derive(Clone, PartialEq, Eq)]
pub struct BoundedText<const N: usize> {
    bytes: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> BoundedText<N> {
    /// Copies the first `N` bytes of `value`; `cut` marks a value known to continue past
    /// the payload.
    fn new(value: &[u8], cut: bool) -> Self {
        let mut text = BoundedText {
            bytes: [0; N],
            len: value.len().min(N),
            truncated: cut || value.len() > N,
        };
        for (to, from) in text.bytes.iter_mut().zip(value) {
            *to = *from;
        }
        text
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Returns the value as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// Returns whether the value was longer than the bytes kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl<const N: usize> std::fmt::Debug for BoundedText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_str_lossy())?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Metadata of one HTTP/1.x request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: HttpMethod,
    /// The request target as sent: a path and query, or an absolute URI to a proxy.
    pub path: BoundedText<MAX_PATH_BYTES>,
    /// The minor version (0 or 1); `None` when the payload ends inside the request line.
    pub version_minor: Option<u8>,
    /// The first Host header, ASCII lowercased, without surrounding whitespace.
    pub host: Option<BoundedText<MAX_HOST_BYTES>>,
    /// The first User-Agent header, without surrounding whitespace.
    pub user_agent: Option<BoundedText<MAX_USER_AGENT_BYTES>>,
    /// The payload ends before the empty line that closes the header block, so headers
    /// may be missing.
    pub partial: bool,
}

/// Parses the request line and headers at the start of `payload`.
///
/// Header lines that are not `name: value` are skipped, and obsolete line folding
/// (continuation lines that start with a space or tab) is ignored, so a folded Host or
/// User-Agent keeps its first line only.
pub fn parse_request(payload: &[u8]) -> Result<HttpRequest, HttpError> {
    if payload.starts_with(HTTP2_PREFACE) {
        return Err(HttpError::Http2Preface);
    }
    let method_area = payload.get(..MAX_METHOD_BYTES + 1).unwrap_or(payload);
    let Some(space) = method_area.iter().position(|&b| b == b' ') else {
        let is_method_prefix = HttpMethod::ALL
            .iter()
            .any(|m| m.as_str().as_bytes().starts_with(payload));
        return Err(if is_method_prefix {
            HttpError::RequestShort
        } else {
            HttpError::UnknownMethod
        });
    };
    let token = payload.get(..space).unwrap_or(&[]);
    let method = HttpMethod::from_token(token).ok_or(HttpError::UnknownMethod)?;

    let after_method = payload.get(space + 1..).unwrap_or(&[]);
    let (line, headers) = split_line(after_method);
    let line_cut = headers.is_none();
    let (path, version_minor) = parse_target_and_version(line.unwrap_or(after_method), line_cut)?;

    let mut request = HttpRequest {
        method,
        path,
        version_minor,
        host: None,
        user_agent: None,
        partial: true,
    };
    if let Some(headers) = headers {
        read_headers(headers, &mut request);
    }
    Ok(request)
}

/// Splits off the first line (without its CRLF or bare LF). Returns `(None, None)` when
/// `bytes` contains no line end.
fn split_line(bytes: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
        return (None, None);
    };
    let line = bytes.get(..newline).unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (Some(line), Some(bytes.get(newline + 1..).unwrap_or(&[])))
}

/// Parses `target SP HTTP/1.x` from the rest of the request line. When the payload ends
/// inside the line (`cut`), the target seen so far is kept and the version is `None`.
fn parse_target_and_version(
    line: &[u8],
    cut: bool,
) -> Result<(BoundedText<MAX_PATH_BYTES>, Option<u8>), HttpError> {
    let target_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let target = line.get(..target_end).unwrap_or(&[]);
    let version = line.get(target_end + 1..);
    if target.iter().any(|&b| b.is_ascii_control()) {
        return Err(HttpError::RequestLineInvalid);
    }
    if target.is_empty() {
        return Err(if cut && version.is_none() {
            HttpError::RequestShort
        } else {
            HttpError::RequestLineInvalid
        });
    }
    if cut {
        let target_cut = version.is_none();
        return Ok((BoundedText::new(target, target_cut), None));
    }

    let version = version.ok_or(HttpError::VersionUnsupported)?;
    let minor = match version {
        b"HTTP/1.0" => 0,
        b"HTTP/1.1" => 1,
        _ if version.starts_with(b"HTTP/") => return Err(HttpError::VersionUnsupported),
        _ => return Err(HttpError::RequestLineInvalid),
    };
    Ok((BoundedText::new(target, false), Some(minor)))
}

/// Reads header lines until the empty line that ends the block, keeping the first Host
/// and User-Agent. Clears `partial` when the block ends inside `bytes`.
fn read_headers(bytes: &[u8], request: &mut HttpRequest) {
    let mut rest = bytes;
    loop {
        let (line, next) = split_line(rest);
        let (line, cut) = match (line, next) {
            (Some(line), Some(next)) => {
                rest = next;
                (line, false)
            }
            _ => (rest, true),
        };
        if line.is_empty() && !cut {
            request.partial = false;
            return;
        }
        if let Some((name, value)) = split_header(line) {
            if name.eq_ignore_ascii_case(b"host") && request.host.is_none() {
                let mut host = BoundedText::new(value, cut);
                host.bytes.make_ascii_lowercase();
                request.host = Some(host);
            } else if name.eq_ignore_ascii_case(b"user-agent") && request.user_agent.is_none() {
                request.user_agent = Some(BoundedText::new(value, cut));
            }
        }
        if cut {
            return;
        }
    }
}

/// Splits `name: value`, trimming spaces and tabs around the value. Returns `None` for a
/// continuation line or a line without a colon.
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?;
    let value = line.get(colon + 1..)?;
    let is_whitespace = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value
        .iter()
        .position(|b| !is_whitespace(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_whitespace(b))
        .map_or(start, |i| i + 1);
    Some((name, value.get(start..end).unwrap_or(&[])))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::capture::pcap::PcapReader;
    use crate::decap::{DecapConfig, Decoder};
    use crate::flow::key::PROTO_TCP;

    fn parse(payload: &[u8]) -> HttpRequest {
        parse_request(payload).expect("request parses")
    }

    fn text<const N: usize>(value: &Option<BoundedText<N>>) -> Option<String> {
        value.as_ref().map(|v| v.to_str_lossy().into_owned())
    }

    #[test]
    fn get_with_headers() {
        let request = parse(
            b"GET /image/svg?x=1 HTTP/1.1\r\nHost: eu.HTTPBIN.org\r\nUser-Agent: curl/7.76.1\r\nAccept: */*\r\n\r\n",
        );
        assert_eq!(request.method, HttpMethod::Get);
        assert_eq!(request.path.as_bytes(), b"/image/svg?x=1");
        assert!(!request.path.is_truncated());
        assert_eq!(request.version_minor, Some(1));
        assert_eq!(text(&request.host).as_deref(), Some("eu.httpbin.org"));
        assert_eq!(text(&request.user_agent).as_deref(), Some("curl/7.76.1"));
        assert!(!request.partial);
    }

    #[test]
    fn every_method() {
        for method in HttpMethod::ALL {
            let payload = format!("{} / HTTP/1.0\r\n\r\n", method.as_str());
            assert_eq!(parse(payload.as_bytes()).method, method, "{payload}");
        }
    }

    #[test]
    fn rejections_by_reason() {
        let cases: Vec<(&str, &[u8], HttpError)> = vec![
            ("empty", b"", HttpError::RequestShort),
            ("method cut", b"OPTI", HttpError::RequestShort),
            ("method only", b"GET ", HttpError::RequestShort),
            (
                "tls record",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                HttpError::UnknownMethod,
            ),
            (
                "lowercase method",
                b"get / HTTP/1.1\r\n\r\n",
                HttpError::UnknownMethod,
            ),
            (
                "webdav method",
                b"PROPFIND / HTTP/1.1\r\n\r\n",
                HttpError::UnknownMethod,
            ),
            (
                "ssh banner",
                b"SSH-2.0-OpenSSH_9.6\r\n",
                HttpError::UnknownMethod,
            ),
            (
                "http2 preface",
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                HttpError::Http2Preface,
            ),
            (
                "empty target",
                b"GET  HTTP/1.1\r\n\r\n",
                HttpError::RequestLineInvalid,
            ),
            (
                "control in target",
                b"GET /a\x01b HTTP/1.1\r\n\r\n",
                HttpError::RequestLineInvalid,
            ),
            (
                "extra space",
                b"GET / x HTTP/1.1\r\n\r\n",
                HttpError::RequestLineInvalid,
            ),
            (
                "no version",
                b"GET /\r\n\r\n",
                HttpError::VersionUnsupported,
            ),
            (
                "http 2",
                b"GET / HTTP/2.0\r\n\r\n",
                HttpError::VersionUnsupported,
            ),
            (
                "http 0.9 style",
                b"GET / HTTP/0.9\r\n\r\n",
                HttpError::VersionUnsupported,
            ),
        ];
        for (case, payload, expected) in cases {
            assert_eq!(parse_request(payload).err(), Some(expected), "{case}");
        }
    }

    #[test]
    fn path_over_bound_truncated() {
        let path = format!("/{}", "p".repeat(400));
        let request = parse(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(request.path.as_bytes(), &path.as_bytes()[..MAX_PATH_BYTES]);
        assert!(request.path.is_truncated());
    }

    #[test]
    fn user_agent_over_bound_truncated() {
        let agent = "a".repeat(300);
        let request = parse(format!("GET / HTTP/1.1\r\nUser-Agent: {agent}\r\n\r\n").as_bytes());
        let stored = request.user_agent.expect("user agent");
        assert_eq!(stored.as_bytes().len(), MAX_USER_AGENT_BYTES);
        assert!(stored.is_truncated());
    }

    #[test]
    fn cut_inside_target() {
        let request = parse(b"POST /upload/fi");
        assert_eq!(request.method, HttpMethod::Post);
        assert_eq!(request.path.as_bytes(), b"/upload/fi");
        assert!(request.path.is_truncated());
        assert_eq!(request.version_minor, None);
        assert!(request.partial);
    }

    #[test]
    fn cut_inside_version() {
        let request = parse(b"GET /a HTTP/1.");
        assert_eq!(request.path.as_bytes(), b"/a");
        assert!(!request.path.is_truncated());
        assert_eq!(request.version_minor, None);
        assert!(request.partial);
    }

    #[test]
    fn cut_inside_headers() {
        let request = parse(b"GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: Mozilla/5.0 (X11");
        assert_eq!(text(&request.host).as_deref(), Some("a.example"));
        let agent = request.user_agent.expect("user agent");
        assert_eq!(agent.as_bytes(), b"Mozilla/5.0 (X11");
        assert!(agent.is_truncated());
        assert!(request.partial);
    }

    #[test]
    fn every_cut_never_fails_after_target() {
        let payload = b"GET /index.html HTTP/1.1\r\nHost: www.example\r\nUser-Agent: t/1\r\n\r\n";
        for cut in 5..payload.len() {
            let request = parse_request(&payload[..cut]).expect("partial request");
            assert!(request.partial, "cut {cut}");
        }
        assert!(!parse(payload).partial);
    }

    #[test]
    fn header_forms() {
        let cases: Vec<(&str, &[u8], Option<&str>)> = vec![
            (
                "bare lf",
                b"GET / HTTP/1.1\nHost: lf.example\n\n",
                Some("lf.example"),
            ),
            (
                "no space",
                b"GET / HTTP/1.1\r\nhost:tight.example\r\n\r\n",
                Some("tight.example"),
            ),
            (
                "tabs",
                b"GET / HTTP/1.1\r\nHOST:\t tab.example \t\r\n\r\n",
                Some("tab.example"),
            ),
            (
                "port kept",
                b"GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n",
                Some("a.example:8080"),
            ),
            (
                "first wins",
                b"GET / HTTP/1.1\r\nHost: one.example\r\nHost: two.example\r\n\r\n",
                Some("one.example"),
            ),
            ("missing", b"GET / HTTP/1.0\r\nAccept: */*\r\n\r\n", None),
            (
                "after block end",
                b"GET / HTTP/1.1\r\n\r\nHost: body.example\r\n",
                None,
            ),
            (
                "continuation skipped",
                b"GET / HTTP/1.1\r\n Host: fold.example\r\n\r\n",
                None,
            ),
            (
                "line without colon",
                b"GET / HTTP/1.1\r\nnonsense\r\nHost: ok.example\r\n\r\n",
                Some("ok.example"),
            ),
        ];
        for (case, payload, expected) in cases {
            let request = parse(payload);
            assert_eq!(text(&request.host).as_deref(), expected, "{case}");
        }
    }

    #[test]
    fn absolute_form_target() {
        let request = parse(b"GET http://proxy.example/x HTTP/1.1\r\nHost: proxy.example\r\n\r\n");
        assert_eq!(request.path.as_bytes(), b"http://proxy.example/x");
    }

    #[test]
    fn connect_authority_target() {
        let request = parse(b"CONNECT tunnel.example:443 HTTP/1.1\r\n\r\n");
        assert_eq!(request.method, HttpMethod::Connect);
        assert_eq!(request.path.as_bytes(), b"tunnel.example:443");
    }

    #[test]
    fn error_labels_unique_snake_case() {
        let mut labels: Vec<&str> = HttpError::ALL.iter().map(|r| r.label()).collect();
        for (index, reason) in HttpError::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason:?}");
        }
        for label in &labels {
            assert!(
                label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{label}"
            );
        }
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), HttpError::COUNT);
    }

    /// xorshift64*: a small seeded generator, so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_never_panics() {
        let valid: [&[u8]; 3] = [
            b"GET /a/b?c=d HTTP/1.1\r\nHost: x.example\r\nUser-Agent: u\r\n\r\n",
            b"POST / HTTP/1.0\nhost: y\n\n",
            b"CONNECT a:443 HTTP/1.1\r\n\r\n",
        ];
        let mut rng = Rng(0x5eed_4777_0000_0001);
        let mut parsed = 0;
        for payload in valid {
            for len in 0..=payload.len() {
                parsed += usize::from(parse_request(&payload[..len]).is_ok());
            }
            for _ in 0..3_000 {
                let mut mutated = payload.to_vec();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(mutated.len());
                    mutated[at] = rng.next() as u8;
                }
                let len = rng.below(mutated.len() + 1);
                parsed += usize::from(parse_request(&mutated[..len]).is_ok());
            }
        }
        for _ in 0..5_000 {
            let len = rng.below(100);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = parse_request(&bytes);
        }
        assert!(parsed > 0);
    }

    #[test]
    fn capture_get_request() {
        let Some(path) = crate::fixture::shared_capture("vxlan-http-get.pcap") else {
            return;
        };
        // Outer Ethernet, IPv4, UDP and VXLAN, then the inner Ethernet header.
        const INNER_IP_OFFSET: usize = 64;
        let mut reader = PcapReader::open(&path).expect("capture opens");
        let mut decoder = Decoder::new(DecapConfig::default());
        let mut requests = Vec::new();
        while let Some(frame) = reader.next_frame().expect("frame reads") {
            let Some(packet) = decoder.decode(frame.data, frame.wire_len, frame.ts_ns) else {
                continue;
            };
            if packet.key.protocol != PROTO_TCP
                || packet.key.dport != 80
                || packet.payload_bytes == 0
            {
                continue;
            }
            let end = (INNER_IP_OFFSET + packet.ip_bytes as usize).min(frame.data.len());
            let start = end - packet.payload_bytes as usize;
            requests.push(parse_request(&frame.data[start..end]));
        }

        assert_eq!(requests.len(), 1);
        let request = requests[0].as_ref().expect("request parses");
        assert_eq!(request.method, HttpMethod::Get);
        assert_eq!(request.path.as_bytes(), b"/image/svg");
        assert_eq!(text(&request.host).as_deref(), Some("eu.httpbin.org"));
        assert_eq!(text(&request.user_agent).as_deref(), Some("curl/7.76.1"));
        assert!(!request.partial);
    }
}
