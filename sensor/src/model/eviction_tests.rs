//! Eviction at the device and peer limits when entries were last seen at the same
//! time. Every model has its own random hasher seed, so each test repeats over
//! several models: eviction in hash order would pick different entries in some.

use std::net::IpAddr;

use super::config::ModelConfig;
use super::detector::Detector;
use super::engine::Model;
use super::testkit::{Flow, Harness};

/// Models compared per test. With eight tied entries, evicting in hash order
/// would pick the expected one in all of them with a chance of about 8^-16.
const MODELS: usize = 16;

/// An external host that the devices scan or talk to.
const TARGET: [u8; 4] = [203, 0, 113, 50];

fn device(last_octet: u8) -> [u8; 4] {
    [10, 0, 0, last_octet]
}

/// Runs the tied device eviction and returns the alerts as JSON lines. Devices
/// 10.0.0.1 to 10.0.0.8 each try 11 ports on [`TARGET`] at second 0, so all are
/// last seen at the same time, then 10.0.0.9 arrives, which evicts one of them.
/// Its connection is answered, because an unknown source becomes a device only
/// after an answered flow or several unanswered ones.
/// At second 1, 10.0.0.2 to 10.0.0.8 and then 10.0.0.1 try a 12th port. A
/// device that kept its sweep reaches 12 ports and raises a vertical scan.
fn tied_device_eviction() -> (Vec<String>, Harness) {
    let config = ModelConfig {
        max_devices: 8,
        ..ModelConfig::default()
    };
    let mut harness = Harness::with_config(config);
    for scanner in 1..=8 {
        for port in 1..=11 {
            harness.observe(
                Flow::tcp(device(scanner), TARGET, port)
                    .unanswered()
                    .at_secs(0),
            );
        }
    }
    harness.observe(Flow::tcp(device(9), TARGET, 443).lasting_secs(0).at_secs(0));
    for scanner in (2..=8).chain([1]) {
        harness.observe(
            Flow::tcp(device(scanner), TARGET, 12)
                .unanswered()
                .at_secs(1),
        );
    }
    let alerts = harness
        .alerts
        .iter()
        .map(|alert| serde_json::to_string(alert).expect("serialized"))
        .collect();
    (alerts, harness)
}

#[test]
fn tied_devices_evicted_by_key() {
    for _ in 0..MODELS {
        let (_, harness) = tied_device_eviction();
        let scanners: Vec<IpAddr> = harness
            .alerts_of(Detector::VerticalScan)
            .iter()
            .map(|alert| alert.device)
            .collect();
        let expected: Vec<IpAddr> = (2..=8).map(|octet| device(octet).into()).collect();
        assert_eq!(scanners, expected);
    }
}

#[test]
fn tied_device_eviction_same_alerts() {
    let (first, _) = tied_device_eviction();
    assert!(!first.is_empty());
    for _ in 1..MODELS {
        let (alerts, _) = tied_device_eviction();
        assert_eq!(alerts, first);
    }
}

/// Returns the addresses of the peers that 10.0.0.1 keeps when it talks with
/// nine external hosts at the same second and keeps at most eight peers.
fn peers_after_tied_eviction() -> Vec<IpAddr> {
    let config = ModelConfig {
        max_peers_per_device: 8,
        ..ModelConfig::default()
    };
    let mut harness = Harness::with_config(config);
    for host in 1..=9 {
        harness.observe(Flow::tcp(device(1), [198, 51, 100, host], 443).at_secs(0));
    }
    assert_eq!(harness.model.stats().peers_evicted, 1);
    peer_addrs(&harness.model)
}

fn peer_addrs(model: &Model) -> Vec<IpAddr> {
    let state = model.state();
    let (_, device) = state.devices.first().expect("the model tracks 10.0.0.1");
    let mut addrs: Vec<IpAddr> = device.peers.peers.keys().map(|key| key.addr).collect();
    addrs.sort();
    addrs
}

#[test]
fn tied_peers_evicted_by_key() {
    let expected: Vec<IpAddr> = (2..=9)
        .map(|host| IpAddr::from([198, 51, 100, host]))
        .collect();
    for _ in 0..MODELS {
        assert_eq!(peers_after_tied_eviction(), expected);
    }
}

#[test]
fn restore_evicts_tied_devices_by_key() {
    let mut harness = Harness::new();
    for host in 1..=8 {
        harness.observe(Flow::tcp(device(host), TARGET, 443).at_secs(0));
    }
    let state = harness.model.state();
    let config = ModelConfig {
        max_devices: 4,
        ..ModelConfig::default()
    };
    let expected: Vec<IpAddr> = (5..=8).map(|host| device(host).into()).collect();

    for _ in 0..MODELS {
        let restored = Model::restore(config.clone(), state.clone()).expect("restored");
        let kept: Vec<IpAddr> = restored
            .state()
            .devices
            .iter()
            .map(|(key, _)| key.addr)
            .collect();
        assert_eq!(kept, expected);
    }
}
