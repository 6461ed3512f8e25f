//! A plain HTTP/1.1 GET from inside a network namespace, for scraping the sensor's
//! metrics endpoint in the lab without curl.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result, bail};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body accepted; a metrics page is a few hundred KiB at most.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Sends `GET path` to `addr` from inside namespace `ns` (a name under /run/netns) and
/// returns the body of a 200 response. A thread enters the namespace with `setns`, so
/// the calling thread stays where it is.
pub fn http_get_in(ns: &str, addr: SocketAddr, path: &str) -> Result<String> {
    let ns = ns.to_string();
    let path = path.to_string();
    let worker = std::thread::spawn(move || -> Result<String> {
        enter_namespace(&ns)?;
        http_get(addr, &path).with_context(|| format!("GET http://{addr}{path} in namespace {ns}"))
    });
    match worker.join() {
        Ok(result) => result,
        Err(_) => bail!("the HTTP GET thread panicked"),
    }
}

/// Moves the calling thread into network namespace `ns` (a name under /run/netns).
pub fn enter_namespace(ns: &str) -> Result<()> {
    let path = format!("/run/netns/{ns}");
    let file = File::open(&path)
        .with_context(|| format!("network namespace {ns} not found: cannot open {path}"))?;
    // SAFETY: the descriptor is open for the duration of the call; setns only changes
    // the network namespace of the calling thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        let error = std::io::Error::last_os_error();
        bail!("setns into network namespace {ns} failed: {error} (it needs root)");
    }
    Ok(())
}

/// Sends one HTTP/1.1 GET with `Connection: close` and returns the body of a 200 response.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;

    let mut response = Vec::new();
    stream.take(MAX_RESPONSE_BYTES).read_to_end(&mut response)?;
    parse_response(&response)
}

/// Splits a complete HTTP/1.1 response, checks for status 200 and returns the body,
/// decoding `Transfer-Encoding: chunked` when present.
pub fn parse_response(response: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!(
            "invalid HTTP response: no end of headers in {} bytes",
            response.len()
        );
    };
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        bail!("HTTP status line {status_line:?}, expected 200");
    }

    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    if chunked {
        return decode_chunked(body);
    }
    Ok(body.to_string())
}

fn decode_chunked(mut body: &str) -> Result<String> {
    let mut decoded = String::new();
    loop {
        let Some((size_line, rest)) = body.split_once("\r\n") else {
            bail!("invalid chunked body: missing chunk size line");
        };
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("invalid chunk size {size_text:?}"))?;
        if size == 0 {
            return Ok(decoded);
        }
        let Some(chunk) = rest.get(..size) else {
            bail!(
                "invalid chunked body: chunk of {size} bytes, {} left",
                rest.len()
            );
        };
        decoded.push_str(chunk);
        body = rest
            .get(size..)
            .unwrap_or_default()
            .trim_start_matches("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_plain_body() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(parse_response(response).unwrap(), "hello");
    }

    #[test]
    fn parse_chunked_body() {
        let response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(response).unwrap(), "abcde");
    }

    #[test]
    fn parse_rejects_non_200() {
        let error = parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap_err();
        assert!(error.to_string().contains("404"), "{error}");
    }

    #[test]
    fn parse_rejects_truncated_head() {
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn parse_rejects_bad_chunk() {
        let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nabc";
        assert!(parse_response(response).is_err());
    }

    #[test]
    fn get_from_loopback_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        });
        assert_eq!(http_get(addr, "/metrics").unwrap(), "ok");
        server.join().unwrap();
    }
}
