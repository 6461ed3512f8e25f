//! Application metadata in flow records, end to end: `sensor replay` of the real
//! captures must name the DNS queries with their answers and the HTTP request.

use std::{path::Path, process::Command};

use sensor::fixture::shared_capture;
use serde_json::Value;

fn replay(path: &Path) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_sensor"))
        .arg("replay")
        .arg(path)
        .output()
        .expect("sensor replay runs");
    assert!(output.status.success(), "replay failed: {}", output.status);
    String::from_utf8(output.stdout)
        .expect("records are UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("record is JSON"))
        .collect()
}

#[test]
fn aws_capture_names_dns_queries() {
    let Some(path) = shared_capture("aws-tm-vxlan-ssh-dns-ntp.pcap") else {
        return;
    };
    let records = replay(&path);
    let dns: Vec<&Value> = records.iter().filter_map(|r| r.get("dns")).collect();
    assert_eq!(dns.len(), 8, "DNS flows with metadata");

    let forward: Vec<&&Value> = dns.iter().filter(|d| d["qtype"] == 1).collect();
    assert_eq!(forward.len(), 4, "A queries");
    for query in forward {
        assert_eq!(
            query["query"], "ec2-18-196-145-224.eu-central-1.compute.amazonaws.com",
            "query name"
        );
        assert_eq!(query["rcode"], 0, "rcode");
        assert_eq!(query["answers"][0], "172.31.17.188", "answer");
    }

    let reverse: Vec<&&Value> = dns.iter().filter(|d| d["qtype"] == 12).collect();
    assert_eq!(reverse.len(), 4, "PTR queries");
    for query in reverse {
        assert_eq!(query["query"], "224.145.196.18.in-addr.arpa", "PTR name");
        assert!(query["answers"][0].is_string(), "PTR answer present");
    }
}

#[test]
fn http_capture_names_request() {
    let Some(path) = shared_capture("vxlan-http-get.pcap") else {
        return;
    };
    let records = replay(&path);
    let http: Vec<&Value> = records.iter().filter_map(|r| r.get("http")).collect();
    assert_eq!(http.len(), 1, "HTTP flows");
    assert_eq!(http[0]["method"], "GET");
    assert_eq!(http[0]["host"], "eu.httpbin.org");
    assert_eq!(http[0]["path"], "/image/svg");
    assert_eq!(http[0]["user_agent"], "curl/7.76.1");
}

#[test]
fn truncated_dns_marked_partial() {
    let Some(path) = shared_capture("geneve-ipv4-vxlan-dns-snaplen-truncated.pcap") else {
        return;
    };
    let records = replay(&path);
    let dns = records
        .iter()
        .find_map(|r| r.get("dns"))
        .expect("DNS metadata");
    assert_eq!(dns["query"], "corelight.com");
    assert_eq!(dns["partial"], true);
}
