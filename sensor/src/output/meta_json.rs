//! Application metadata (`dns`, `http`, `tls`) as JSON objects, written
//! directly: the same bytes as serde_json gives for their `Serialize`, field
//! by field in declaration order, with absent and empty fields left out where
//! the derive skips them. The tests compare each with serde_json, and they
//! name every field of each struct, so a new field does not compile there
//! until it is written here too.

use crate::app::meta::{DnsMeta, HttpMeta, TlsMeta};
use crate::output::json_buf::JsonBuf;
use crate::output::json_string::put_str;

/// Appends `dns` as one JSON object.
#[inline(always)]
pub fn put_dns(out: &mut JsonBuf, dns: &DnsMeta) {
    out.put(b"{\"id\":");
    out.put_u64(u64::from(dns.id));
    if let Some(query) = &dns.query {
        out.put(b",\"query\":");
        put_str(out, query);
    }
    if let Some(qtype) = dns.qtype {
        out.put(b",\"qtype\":");
        out.put_u64(u64::from(qtype));
    }
    if let Some(rcode) = dns.rcode {
        out.put(b",\"rcode\":");
        out.put_u64(u64::from(rcode));
    }
    if !dns.answers.is_empty() {
        out.put(b",\"answers\":");
        put_str_array(out, &dns.answers);
    }
    if let Some(min_ttl) = dns.min_ttl {
        out.put(b",\"min_ttl\":");
        out.put_u64(u64::from(min_ttl));
    }
    out.put(b",\"partial\":");
    put_bool(out, dns.partial);
    out.put_byte(b'}');
}

/// Appends `http` as one JSON object.
#[inline(always)]
pub fn put_http(out: &mut JsonBuf, http: &HttpMeta) {
    out.put(b"{\"method\":");
    put_str(out, &http.method);
    out.put(b",\"path\":");
    put_str(out, &http.path);
    if let Some(host) = &http.host {
        out.put(b",\"host\":");
        put_str(out, host);
    }
    if let Some(user_agent) = &http.user_agent {
        out.put(b",\"user_agent\":");
        put_str(out, user_agent);
    }
    out.put(b",\"partial\":");
    put_bool(out, http.partial);
    out.put_byte(b'}');
}

/// Appends `tls` as one JSON object.
#[inline(always)]
pub fn put_tls(out: &mut JsonBuf, tls: &TlsMeta) {
    out.put(b"{\"transport\":");
    put_str(out, tls.transport);
    out.put(b",\"version\":");
    out.put_u64(u64::from(tls.version));
    if let Some(sni) = &tls.sni {
        out.put(b",\"sni\":");
        put_str(out, sni);
    }
    if !tls.alpn.is_empty() {
        out.put(b",\"alpn\":");
        put_str_array(out, &tls.alpn);
    }
    if let Some(ja4) = &tls.ja4 {
        out.put(b",\"ja4\":");
        put_str(out, ja4);
    }
    out.put(b",\"partial\":");
    put_bool(out, tls.partial);
    out.put_byte(b'}');
}

#[inline(always)]
fn put_str_array(out: &mut JsonBuf, items: &[String]) {
    out.put_byte(b'[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.put_byte(b',');
        }
        put_str(out, item);
    }
    out.put_byte(b']');
}

#[inline(always)]
fn put_bool(out: &mut JsonBuf, value: bool) {
    if value {
        out.put(b"true");
    } else {
        out.put(b"false");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::json_buf::written_by;

    /// Strings that need every kind of escape, and non-ASCII.
    const AWKWARD: [&str; 4] = [
        "",
        "a\"b\\c\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}",
        "bücher.例え.example",
        "www.\\046example\\\\.com",
    ];

    fn same<T: serde::Serialize>(put: fn(&mut JsonBuf, &T), value: &T) {
        let ours = written_by(|out| put(out, value));
        let theirs = serde_json::to_vec(value).expect("serialized");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn dns_matches_serde() {
        same(put_dns, &DnsMeta::default());
        for text in AWKWARD {
            let dns = DnsMeta {
                id: u16::MAX,
                query: Some(text.into()),
                qtype: Some(65_535),
                rcode: Some(u8::MAX),
                answers: vec![text.into(), "192.0.2.7".into(), "2001:db8::1".into()],
                min_ttl: Some(u32::MAX),
                partial: true,
            };
            same(put_dns, &dns);
            let one_answer = DnsMeta {
                query: None,
                answers: vec![text.into()],
                min_ttl: Some(0),
                ..dns
            };
            same(put_dns, &one_answer);
        }
    }

    #[test]
    fn http_matches_serde() {
        same(put_http, &HttpMeta::default());
        for text in AWKWARD {
            let http = HttpMeta {
                method: text.into(),
                path: format!("/{text}?q=1"),
                host: Some(text.into()),
                user_agent: Some(text.into()),
                partial: true,
            };
            same(put_http, &http);
            let bare = HttpMeta {
                host: None,
                user_agent: None,
                partial: false,
                ..http
            };
            same(put_http, &bare);
        }
    }

    #[test]
    fn tls_matches_serde() {
        same(put_tls, &TlsMeta::default());
        for text in AWKWARD {
            let tls = TlsMeta {
                transport: "quic",
                version: 0x0304,
                sni: Some(text.into()),
                alpn: vec!["h2".into(), text.into()],
                ja4: Some(text.into()),
                partial: true,
            };
            same(put_tls, &tls);
            let bare = TlsMeta {
                sni: None,
                alpn: vec![text.into()],
                ja4: None,
                ..tls
            };
            same(put_tls, &bare);
        }
    }
}
