//! Model-level tests: both ends informed, learning period, cooldown, eviction limits,
//! state round trip, and a benign background that must raise no alert.

use super::config::ModelConfig;
use super::detector::Detector;
use super::engine::Model;
use super::state::{ModelState, RestoreError};
use super::testkit::{Flow, Harness, LEARNING_SECS};

const WEB: [u8; 4] = [10, 0, 1, 5];
const DB: [u8; 4] = [10, 0, 1, 20];

#[test]
fn internal_flow_informs_both_ends() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(0));
    assert_eq!(harness.model.stats().devices_tracked, 2);
}

#[test]
fn external_only_flow_ignored() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp([198, 51, 100, 1], [203, 0, 113, 1], 443).at_secs(0));
    let stats = harness.model.stats();
    assert_eq!(stats.devices_tracked, 0);
    assert_eq!(stats.events_without_device, 1);
}

#[test]
fn vni_scopes_devices() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(WEB, [198, 51, 100, 1], 443).vni(1).at_secs(0));
    harness.observe(Flow::tcp(WEB, [198, 51, 100, 1], 443).vni(2).at_secs(0));
    assert_eq!(harness.model.stats().devices_tracked, 2);
}

#[test]
fn learning_holds_back_baseline_alerts() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(0));
    harness.observe(
        Flow::tcp(WEB, [203, 0, 113, 9], 443)
            .bytes(50_000_000, 100)
            .at_secs(3600),
    );
    harness.observe(Flow::tcp(WEB, DB, 22).at_secs(3700));
    assert!(harness.alerts.is_empty());
    assert!(harness.model.stats().alerts_suppressed_learning > 0);
}

#[test]
fn learning_is_per_device() {
    // A device first seen after the others learned still learns for its own period.
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(0));
    let late = [10, 0, 1, 99];
    harness.observe(Flow::tcp(late, [203, 0, 113, 9], 443).at_secs(LEARNING_SECS + 3600));
    assert!(harness.alerts_of(Detector::RareEndpoint).is_empty());
}

#[test]
fn custom_learning_period_applies() {
    let config = ModelConfig {
        learning_period: std::time::Duration::from_secs(3600),
        ..ModelConfig::default()
    };
    let mut harness = Harness::with_config(config);
    for minute in 0..70u64 {
        harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(minute * 60));
    }
    harness.observe(Flow::tcp(WEB, DB, 22).at_secs(7200));
    assert_eq!(harness.alerts_of(Detector::LateralMovement).len(), 1);
}

#[test]
fn cooldown_expires_after_period() {
    let mut harness = Harness::new();
    let scan = |harness: &mut Harness, start: u64| {
        for port in 1..=15u16 {
            harness.observe(
                Flow::tcp(WEB, DB, port)
                    .refused()
                    .at_secs(start + u64::from(port)),
            );
        }
    };
    scan(&mut harness, 0);
    scan(&mut harness, 1800);
    assert_eq!(harness.alerts_of(Detector::VerticalScan).len(), 1);
    scan(&mut harness, 3700);
    assert_eq!(harness.alerts_of(Detector::VerticalScan).len(), 2);
}

#[test]
fn interim_records_not_new_connections() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(0));
    for sequence in 1..50u32 {
        harness.observe(
            Flow::tcp(WEB, DB, 5432)
                .interim(sequence)
                .at_secs(u64::from(sequence) * 300),
        );
    }
    let state = harness.model.state();
    let (_, device) = state
        .devices
        .iter()
        .find(|(k, _)| k.addr.to_string() == "10.0.1.5")
        .unwrap();
    let peer = device.peers.peers.values().next().unwrap();
    assert_eq!(peer.connections, 1);
}

#[test]
fn device_limit_evicts_least_recent() {
    let config = ModelConfig {
        max_devices: 16,
        ..ModelConfig::default()
    };
    let mut harness = Harness::with_config(config);
    for host in 0..40u8 {
        harness
            .observe(Flow::tcp([10, 0, 5, host], [198, 51, 100, 1], 443).at_secs(u64::from(host)));
    }
    let stats = harness.model.stats();
    assert!(stats.devices_tracked <= 16);
    assert_eq!(stats.devices_tracked + stats.devices_evicted, 40);
    let state = harness.model.state();
    assert!(
        state
            .devices
            .iter()
            .any(|(k, _)| k.addr.to_string() == "10.0.5.39")
    );
}

#[test]
fn peer_limit_evicts_and_counts() {
    let config = ModelConfig {
        max_peers_per_device: 32,
        ..ModelConfig::default()
    };
    let mut harness = Harness::with_config(config);
    for host in 0..100u8 {
        harness.observe(Flow::tcp(WEB, [198, 51, 100, host], 443).at_secs(u64::from(host)));
    }
    let stats = harness.model.stats();
    let state = harness.model.state();
    let (_, device) = &state.devices[0];
    assert!(device.peers.len() <= 32);
    assert_eq!(stats.peers_evicted as usize + device.peers.len(), 100);
}

#[test]
fn fleet_forgets_evicted_peers() {
    let config = ModelConfig {
        max_peers_per_device: 8,
        ..ModelConfig::default()
    };
    let mut harness = Harness::with_config(config);
    for host in 0..40u8 {
        harness.observe(Flow::tcp(WEB, [198, 51, 100, host], 443).at_secs(u64::from(host)));
    }
    // Endpoints (at most 8) and the device's single service.
    assert!(harness.model.stats().fleet_entries <= 9);
}

fn learned_model() -> Harness {
    let mut harness = Harness::new();
    for hour in 0..30u64 {
        let t = hour * 3600;
        harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(t));
        harness.observe(
            Flow::tcp(WEB, [198, 51, 100, 10], 443)
                .bytes(20_000, 400_000)
                .at_secs(t + 60),
        );
        harness.observe(Flow::tcp([203, 0, 113, 50], WEB, 443).at_secs(t + 120));
    }
    harness
}

#[test]
fn state_round_trips_through_json() {
    let harness = learned_model();
    let state = harness.model.state();
    let json = serde_json::to_string(&state).unwrap();
    let back: ModelState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
}

#[test]
fn restored_model_keeps_learning() {
    let harness = learned_model();
    let json = serde_json::to_string(&harness.model.state()).unwrap();
    let state: ModelState = serde_json::from_str(&json).unwrap();
    let model = Model::restore(ModelConfig::default(), state).unwrap();
    let mut restored = Harness {
        model,
        alerts: Vec::new(),
    };
    restored.observe(Flow::tcp(WEB, DB, 22).at_secs(31 * 3600));
    assert_eq!(restored.alerts_of(Detector::LateralMovement).len(), 1);
    assert_eq!(restored.model.stats().devices_tracked, 2);
}

#[test]
fn restore_rebuilds_fleet() {
    let harness = learned_model();
    let before = harness.model.stats().fleet_entries;
    let model = Model::restore(ModelConfig::default(), harness.model.state()).unwrap();
    assert_eq!(model.stats().fleet_entries, before);
}

#[test]
fn restore_rejects_newer_version() {
    let mut state = learned_model().model.state();
    state.version += 1;
    let error = Model::restore(ModelConfig::default(), state).unwrap_err();
    assert!(matches!(error, RestoreError::NewerVersion { .. }));
}

#[test]
fn restore_rejects_bad_profile() {
    let mut state = learned_model().model.state();
    state.devices[0].1.hours.bins.pop();
    let error = Model::restore(ModelConfig::default(), state).unwrap_err();
    assert!(matches!(error, RestoreError::InvalidDevice { .. }));
}

#[test]
fn restore_rejects_duplicate_device() {
    let mut state = learned_model().model.state();
    let first = state.devices[0].clone();
    state.devices.push(first);
    let error = Model::restore(ModelConfig::default(), state).unwrap_err();
    assert!(matches!(error, RestoreError::DuplicateDevice { .. }));
}

#[test]
fn restore_applies_smaller_limits() {
    let state = learned_model().model.state();
    let config = ModelConfig {
        max_devices: 1,
        ..ModelConfig::default()
    };
    let model = Model::restore(config, state).unwrap();
    let stats = model.stats();
    assert_eq!(stats.devices_tracked, 1);
    assert_eq!(stats.devices_evicted, 1);
}

#[test]
fn restore_with_new_window_restarts_volume() {
    let state = learned_model().model.state();
    let config = ModelConfig {
        volume_window: std::time::Duration::from_secs(3600),
        ..ModelConfig::default()
    };
    let model = Model::restore(config, state).unwrap();
    let mut restored = Harness {
        model,
        alerts: Vec::new(),
    };
    restored.observe(Flow::tcp(WEB, DB, 5432).at_secs(31 * 3600));
    let state = restored.model.state();
    let (_, device) = state
        .devices
        .iter()
        .find(|(k, _)| k.addr.to_string() == "10.0.1.5")
        .unwrap();
    assert_eq!(device.volume.window_ns, 3_600_000_000_000);
    assert_eq!(device.volume.closed_windows, 0);
}

#[test]
fn tick_prunes_trackers() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(WEB, DB, 1).refused().at_secs(0));
    harness.tick_secs(7 * 24 * 3600);
    let state = harness.model.state();
    assert!(state.devices.iter().all(|(_, d)| d.trackers.is_empty()));
}

/// Three days of a small benign fleet, which no detector may alert on. Web servers serve
/// the internet, query a database and resolve names; they check a few mirrors for
/// updates in turn every hour and send a nightly backup. An administrator's bastion
/// opens SSH sessions during office hours, and workstations browse a few sites.
#[test]
fn benign_rhythm_raises_no_alerts() {
    let mut harness = Harness::new();
    let webs: Vec<[u8; 4]> = (10..14).map(|h| [10, 0, 1, h]).collect();
    let desks: Vec<[u8; 4]> = (50..56).map(|h| [10, 0, 3, h]).collect();
    let resolver = [10, 0, 0, 2];
    let backup = [10, 0, 9, 9];
    let bastion = [10, 0, 9, 1];
    let mirrors: Vec<[u8; 4]> = (20..24).map(|h| [198, 51, 100, h]).collect();
    let mut seq = 0u64;
    let mut jitter = move |span: u64| {
        // A fixed linear congruential sequence: deterministic, uneven offsets.
        seq = seq
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seq >> 33) % span.max(1)
    };
    for hour in 0..72u64 {
        let mut records = Vec::new();
        let t0 = hour * 3600;
        let hour_of_day = hour % 24;
        let busy = (8..20).contains(&hour_of_day);
        for (i, web) in webs.iter().enumerate() {
            let clients = if busy { 40 } else { 8 };
            for c in 0..clients {
                let client = [203, 0, (c % 50) as u8, (jitter(250) + 1) as u8];
                let t = t0 + jitter(3600);
                records.push(Flow::tcp(client, *web, 443).bytes(2_000, 60_000).at_secs(t));
                records.push(Flow::tcp(*web, DB, 5432).bytes(500, 8_000).at_secs(t + 1));
            }
            records.push(
                Flow::udp(*web, resolver, 53)
                    .src_port(40_000 + jitter(20_000) as u16)
                    .at_secs(t0 + jitter(3600)),
            );
            let mirror = mirrors[(hour as usize + i) % mirrors.len()];
            records.push(
                Flow::tcp(*web, mirror, 443)
                    .bytes(3_000, 500_000)
                    .at_secs(t0 + 900 + jitter(600)),
            );
        }
        for desk in &desks {
            if (8..18).contains(&hour_of_day) {
                for _ in 0..12 {
                    let site = [198, 51, 100, (jitter(4) + 30) as u8];
                    records.push(
                        Flow::tcp(*desk, site, 443)
                            .bytes(5_000, 200_000)
                            .at_secs(t0 + jitter(3600)),
                    );
                }
            }
        }
        if (9..17).contains(&hour_of_day) {
            let target = webs[jitter(webs.len() as u64) as usize];
            records.push(
                Flow::tcp(bastion, target, 22)
                    .lasting_secs(900)
                    .at_secs(t0 + jitter(1800)),
            );
        }
        if hour_of_day == 2 {
            for web in &webs {
                records.push(
                    Flow::tcp(*web, backup, 873)
                        .bytes(400_000_000, 20_000)
                        .lasting_secs(1200)
                        .at_secs(t0 + jitter(600)),
                );
            }
        }
        // The flow table emits records in order of their end.
        records.sort_by_key(|record| record.end_ns);
        for record in records {
            harness.observe(record);
        }
        harness.tick_secs(t0 + 3599);
    }
    let after_learning: Vec<_> = harness
        .alerts
        .iter()
        .map(|a| format!("{} {} {}", a.device, a.detector.id(), a.explanation))
        .collect();
    assert!(after_learning.is_empty(), "{after_learning:#?}");
}

#[test]
fn spoofed_source_flood_keeps_devices() {
    let mut harness = Harness::new();
    harness.observe(Flow::tcp(DB, [198, 51, 100, 9], 443).at_secs(0));
    // One unanswered SYN from each of 20,000 spoofed home sources.
    for i in 0..20_000u32 {
        let [_, _, b, c] = i.to_be_bytes();
        let spoofed = [10, 100, b, c];
        harness.observe(
            Flow::tcp(spoofed, [198, 51, 100, 7], 80)
                .unanswered()
                .at_secs(10),
        );
    }
    let stats = harness.model.stats();
    assert_eq!(stats.devices_tracked, 1, "only the real device is tracked");
    assert_eq!(stats.devices_evicted, 0, "no device was evicted");
    assert!(stats.held_sources_dropped > 0, "flood sources were dropped");
}

#[test]
fn unanswered_scanner_becomes_device() {
    let mut harness = Harness::new();
    for port in 1..=10u16 {
        harness.observe(
            Flow::tcp(WEB, DB, port)
                .unanswered()
                .at_secs(u64::from(port)),
        );
    }
    let stats = harness.model.stats();
    assert_eq!(stats.devices_tracked, 1, "the scanner counts as a device");
}
