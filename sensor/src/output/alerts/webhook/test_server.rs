//! A tiny HTTP/1.1 server on 127.0.0.1 for the webhook tests. It records each request,
//! responds with statuses from a script, and can hold its responses until released.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The server stops by itself after this long, even if a test leaks it.
const LIFETIME: Duration = Duration::from_secs(60);
/// Largest request head the server reads.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    /// Statuses for the next responses, in order; 200 once it is empty.
    script: Mutex<VecDeque<u16>>,
    holding: Mutex<bool>,
    released: Condvar,
    stop: AtomicBool,
}

pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1 on a free port.
    pub fn start(script: &[u16]) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        shared
            .script
            .lock()
            .expect("script lock")
            .extend(script.iter().copied());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::spawn(move || serve(listener, &thread_shared));
        TestServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Holds every response until [`release`](Self::release).
    pub fn hold(&self) {
        *self.shared.holding.lock().expect("holding lock") = true;
    }

    pub fn release(&self) {
        *self.shared.holding.lock().expect("holding lock") = false;
        self.shared.released.notify_all();
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().expect("requests lock").clone()
    }

    /// Waits until `n` requests have arrived or 10 s have passed; returns the count.
    pub fn wait_for_requests(&self, n: usize) -> usize {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let count = self.shared.requests.lock().expect("requests lock").len();
            if count >= n || Instant::now() >= until {
                return count;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.release();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: TcpListener, shared: &Shared) {
    let until = Instant::now() + LIFETIME;
    while !shared.stop.load(Ordering::Relaxed) && Instant::now() < until {
        match listener.accept() {
            Ok((stream, _)) => handle(stream, shared, until),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return,
        }
    }
}

fn handle(mut stream: TcpStream, shared: &Shared, until: Instant) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    shared.requests.lock().expect("requests lock").push(request);

    let mut holding = shared.holding.lock().expect("holding lock");
    while *holding && !shared.stop.load(Ordering::Relaxed) && Instant::now() < until {
        holding = shared
            .released
            .wait_timeout(holding, Duration::from_millis(50))
            .expect("holding wait")
            .0;
    }
    drop(holding);

    let status = shared
        .script
        .lock()
        .expect("script lock")
        .pop_front()
        .unwrap_or(200);
    let reply =
        format!("HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes());
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if data.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(buf.get(..n)?);
    };

    let head = String::from_utf8_lossy(data.get(..head_end)?).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);

    let mut body = data.get(head_end + 4..)?.to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(buf.get(..n)?);
    }
    body.truncate(length);
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}
