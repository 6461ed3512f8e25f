use std::net::TcpListener;
use std::time::Duration;

use serde::Serialize;

use super::super::error::AlertSinkError;
use super::config::loggable_target;
use super::retry::{Backoff, StatusAction, parse_retry_after, status_action};
use super::test_server::TestServer;
use super::{WebhookConfig, WebhookSink};

#[derive(Serialize)]
struct TestAlert {
    detector: &'static str,
    score: f64,
}

const ALERT: TestAlert = TestAlert {
    detector: "vertical_scan",
    score: 0.93,
};

/// Short waits so retries finish quickly; only 127.0.0.1 URLs are used.
fn fast_config(url: String) -> WebhookConfig {
    WebhookConfig {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..WebhookConfig::new(url)
    }
}

#[test]
fn webhook_posts_json() {
    let server = TestServer::start(&[]);
    let sink = WebhookSink::start(fast_config(server.url())).expect("start");

    for _ in 0..3 {
        sink.send(&ALERT).expect("send");
    }
    let counts = sink.shutdown();

    assert_eq!(counts.sent, 3);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(body["detector"], "vertical_scan");
    }
}

#[test]
fn webhook_retries_retryable_status() {
    for status in [429, 500, 502, 503] {
        let server = TestServer::start(&[status]);
        let sink = WebhookSink::start(fast_config(server.url())).expect("start");

        sink.send(&ALERT).expect("send");
        let counts = sink.shutdown();

        assert_eq!(server.requests().len(), 2, "status {status}");
        assert_eq!(counts.sent, 1, "status {status}");
        assert_eq!(counts.retried, 1, "status {status}");
        assert_eq!(counts.failed, 0, "status {status}");
    }
}

#[test]
fn webhook_rejects_without_retry() {
    for status in [400, 401, 404, 413, 301, 302] {
        let server = TestServer::start(&[status]);
        let sink = WebhookSink::start(fast_config(server.url())).expect("start");

        sink.send(&ALERT).expect("send");
        let counts = sink.shutdown();

        assert_eq!(server.requests().len(), 1, "status {status}");
        assert_eq!(counts.failed, 1, "status {status}");
        assert_eq!(counts.retried, 0, "status {status}");
        assert_eq!(counts.sent, 0, "status {status}");
    }
}

#[test]
fn webhook_gives_up_after_max_attempts() {
    let server = TestServer::start(&[503; 10]);
    let config = WebhookConfig {
        max_attempts: 3,
        ..fast_config(server.url())
    };
    let sink = WebhookSink::start(config).expect("start");

    sink.send(&ALERT).expect("send");
    let counts = sink.shutdown();

    assert_eq!(server.requests().len(), 3);
    assert_eq!(counts.failed, 1);
    assert_eq!(counts.retried, 2);
    assert_eq!(counts.sent, 0);
}

#[test]
fn webhook_retries_refused_connection() {
    // A port that was free a moment ago: connecting to it is refused.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = WebhookConfig {
        max_attempts: 3,
        ..fast_config(format!("http://127.0.0.1:{port}/hook"))
    };
    let sink = WebhookSink::start(config).expect("start");

    sink.send(&ALERT).expect("send");
    let counts = sink.shutdown();

    assert_eq!(counts.failed, 1);
    assert_eq!(counts.retried, 2);
    assert_eq!(counts.sent, 0);
}

#[test]
fn webhook_drops_when_queue_full() {
    let server = TestServer::start(&[]);
    server.hold();
    let config = WebhookConfig {
        queue_capacity: 2,
        ..fast_config(server.url())
    };
    let sink = WebhookSink::start(config).expect("start");

    // The first alert leaves the queue and waits in the held request.
    sink.send(&ALERT).expect("send first");
    assert_eq!(server.wait_for_requests(1), 1);
    let queued: Vec<bool> = (0..2).map(|_| sink.send_json(b"{}"[..].into())).collect();
    let overflow: Vec<bool> = (0..3).map(|_| sink.send_json(b"{}"[..].into())).collect();

    assert_eq!(queued, [true, true]);
    assert_eq!(overflow, [false, false, false]);
    assert_eq!(sink.queue_len(), 2);
    assert_eq!(sink.counters().snapshot().dropped, 3);
    server.release();
    let counts = sink.shutdown();
    assert_eq!(counts.sent, 3);
    assert_eq!(counts.dropped, 3);
}

#[test]
fn webhook_shutdown_drains_queue() {
    let server = TestServer::start(&[]);
    let sink = WebhookSink::start(fast_config(server.url())).expect("start");

    for _ in 0..20 {
        sink.send(&ALERT).expect("send");
    }
    let counts = sink.shutdown();

    assert_eq!(counts.sent, 20);
    assert_eq!(counts.dropped, 0);
    assert_eq!(server.requests().len(), 20);
}

#[test]
fn webhook_shutdown_timeout_drops_rest() {
    let server = TestServer::start(&[]);
    server.hold();
    let config = WebhookConfig {
        request_timeout: Duration::from_millis(200),
        shutdown_timeout: Duration::from_millis(100),
        ..fast_config(server.url())
    };
    let sink = WebhookSink::start(config).expect("start");

    for _ in 0..4 {
        sink.send(&ALERT).expect("send");
    }
    assert_eq!(server.wait_for_requests(1), 1);
    let counts = sink.shutdown();

    assert_eq!(counts.sent, 0);
    assert_eq!(counts.failed, 1);
    assert_eq!(counts.dropped, 3);
}

#[test]
fn webhook_config_rejected() {
    let cases: &[(&str, WebhookConfig)] = &[
        ("https", WebhookConfig::new("https://127.0.0.1/T0KEN")),
        ("other scheme", WebhookConfig::new("ftp://127.0.0.1/T0KEN")),
        ("no scheme", WebhookConfig::new("127.0.0.1/T0KEN")),
        ("empty", WebhookConfig::new("")),
        ("spaces", WebhookConfig::new("http://bad host/T0KEN")),
        (
            "zero queue",
            WebhookConfig {
                queue_capacity: 0,
                ..WebhookConfig::new("http://127.0.0.1/hook")
            },
        ),
        (
            "zero attempts",
            WebhookConfig {
                max_attempts: 0,
                ..WebhookConfig::new("http://127.0.0.1/hook")
            },
        ),
        (
            "zero timeout",
            WebhookConfig {
                request_timeout: Duration::ZERO,
                ..WebhookConfig::new("http://127.0.0.1/hook")
            },
        ),
    ];
    for (name, config) in cases {
        let Err(err) = WebhookSink::start(config.clone()) else {
            panic!("{name}: accepted");
        };
        assert!(
            matches!(
                err,
                AlertSinkError::InvalidUrl(_) | AlertSinkError::InvalidConfig(_)
            ),
            "{name}: {err}"
        );
        assert!(!err.to_string().contains("T0KEN"), "{name}: {err}");
    }
}

#[test]
fn target_leaves_out_secrets() {
    let cases = [
        (
            "http://127.0.0.1:8080/hooks/T0KEN?key=T0KEN",
            "http://127.0.0.1:8080",
        ),
        ("http://user:T0KEN@127.0.0.1/hook", "http://127.0.0.1"),
        ("http://[::1]:9000/hook", "http://[::1]:9000"),
    ];
    for (url, expected) in cases {
        let target = loggable_target(url).expect("valid URL");
        assert_eq!(target, expected, "{url}");
    }
}

#[test]
fn status_actions() {
    let cases = [
        (200, StatusAction::Delivered),
        (202, StatusAction::Delivered),
        (204, StatusAction::Delivered),
        (101, StatusAction::Reject),
        (301, StatusAction::Reject),
        (307, StatusAction::Reject),
        (400, StatusAction::Reject),
        (408, StatusAction::Reject),
        (429, StatusAction::Retry),
        (500, StatusAction::Retry),
        (503, StatusAction::Retry),
        (599, StatusAction::Retry),
    ];
    for (status, expected) in cases {
        assert_eq!(status_action(status), expected, "status {status}");
    }
}

#[test]
fn backoff_doubles_to_max() {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));

    let delays: Vec<u64> = (0..9)
        .map(|_| backoff.next_delay(None).as_millis() as u64)
        .collect();

    assert_eq!(
        delays,
        [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    );
}

#[test]
fn backoff_retry_after_capped() {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));

    let requested_longer = backoff.next_delay(Some(Duration::from_secs(3)));
    let requested_shorter = backoff.next_delay(Some(Duration::ZERO));
    let requested_too_long = backoff.next_delay(Some(Duration::from_secs(3600)));

    assert_eq!(requested_longer, Duration::from_secs(3));
    assert_eq!(requested_shorter, Duration::from_secs(1));
    assert_eq!(requested_too_long, Duration::from_secs(30));
}

#[test]
fn retry_after_parsing() {
    let cases = [
        ("120", Some(Duration::from_secs(120))),
        (" 5 ", Some(Duration::from_secs(5))),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("-1", None),
        ("", None),
    ];
    for (value, expected) in cases {
        assert_eq!(parse_retry_after(value), expected, "{value:?}");
    }
}
