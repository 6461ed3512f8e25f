//! Horizontal scan: one port (or ICMP type) tried on many hosts within the attempt
//! window, mostly failing. Only scans by a device are tracked here.
//!
//! NOTE: an external host sweeping many devices touches each device once, so no single
//! device's view shows it. Detecting it needs a fleet-wide tracker, which does not
//! exist yet.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::{Context, Finding, FlowRing, MAX_TRACKERS, Scope, Trackers, protocol_name, saturate};
use crate::model::bounded::make_room_for;
use crate::model::detector::Detector;
use crate::model::flow_view::{Outcome, Role};

/// Distinct hosts kept per tracker; the score saturates long before this.
const MAX_HOSTS: usize = 256;

/// Hosts a device tried on one port in the current attempt window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSweep {
    pub window_start_ns: u64,
    pub last_ns: u64,
    /// Distinct destination hosts, sorted.
    pub hosts: Vec<IpAddr>,
    pub attempts: u32,
    pub failures: u32,
    pub flows: FlowRing,
}

impl HostSweep {
    /// Empties the sweep for a window that starts at `window_start_ns`, keeping the
    /// capacity of its lists.
    fn restart(&mut self, window_start_ns: u64) {
        let HostSweep {
            window_start_ns: start,
            last_ns,
            hosts,
            attempts,
            failures,
            flows,
        } = self;
        *start = window_start_ns;
        *last_ns = 0;
        hosts.clear();
        *attempts = 0;
        *failures = 0;
        flows.clear();
    }
}

/// Counts the record in the device's sweep of its service port and scores the sweep.
pub fn check(ctx: &Context, trackers: &mut Trackers) -> Option<Finding> {
    let view = ctx.view;
    if !view.opens || ctx.side.role != Role::Client || !view.initiator_known() || ctx.peer_group {
        return None;
    }
    let key = (view.record.protocol, view.service_port);
    make_room_for(&mut trackers.horizontal, &key, MAX_TRACKERS, |s| s.last_ns);
    let window_ns = crate::model::config::duration_ns(ctx.config.detectors.attempt_window);
    let sweep = trackers.horizontal.entry(key).or_default();
    if ctx.now_ns.saturating_sub(sweep.window_start_ns) > window_ns {
        sweep.restart(view.record.start_ns);
    }
    sweep.last_ns = ctx.now_ns;
    if let Err(at) = sweep.hosts.binary_search(&ctx.side.peer)
        && sweep.hosts.len() < MAX_HOSTS
    {
        sweep.hosts.insert(at, ctx.side.peer);
    }
    sweep.attempts = sweep.attempts.saturating_add(1);
    if view.outcome == Outcome::Failed {
        sweep.failures = sweep.failures.saturating_add(1);
    }
    sweep.flows.push(ctx.alert_flow());

    let hosts = sweep.hosts.len() as u32;
    let failure_ratio = f64::from(sweep.failures) / f64::from(sweep.attempts.max(1));
    let detectors = &ctx.config.detectors;
    if hosts < detectors.horizontal_scan_min_hosts
        || failure_ratio < detectors.scan_min_failure_ratio
    {
        return None;
    }
    let (protocol, port) = key;
    let score = saturate(f64::from(hosts), 13.0) * failure_ratio.sqrt();
    let scope = match ctx.admit(Detector::HorizontalScan, score, || {
        Scope::dedup(format!("{}/{port}", protocol_name(protocol)))
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let target = if view.has_ports() {
        format!("{} port {port}", protocol_name(protocol))
    } else {
        format!("{} type {port}", protocol_name(protocol))
    };
    let secs = ctx.now_ns.saturating_sub(sweep.window_start_ns) as f64 / 1e9;
    let explanation = format!(
        "{} tried {target} on {hosts} distinct hosts in {secs:.0} s; {} of {} attempts failed ({:.0}%).",
        ctx.side.device,
        sweep.failures,
        sweep.attempts,
        failure_ratio * 100.0
    );
    Some(Finding::alert(
        Detector::HorizontalScan,
        score,
        scope,
        explanation,
        sweep.flows.to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness};

    const SCANNER: [u8; 4] = [10, 0, 2, 7];

    #[test]
    fn sweep_alerts_at_min_hosts() {
        let mut harness = Harness::new();
        for host in 1..=12u8 {
            harness.observe(
                Flow::tcp(SCANNER, [10, 0, 3, host], 445)
                    .unanswered()
                    .at_secs(host.into()),
            );
        }
        let alerts = harness.alerts_of(Detector::HorizontalScan);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device.to_string(), "10.0.2.7");
    }

    #[test]
    fn ping_sweep_alerts() {
        let mut harness = Harness::new();
        for host in 1..=20u8 {
            harness.observe(
                Flow::icmp_echo(SCANNER, [10, 0, 3, host])
                    .unanswered()
                    .at_secs(host.into()),
            );
        }
        assert_eq!(harness.alerts_of(Detector::HorizontalScan).len(), 1);
    }

    #[test]
    fn answered_sweep_does_not_alert() {
        let mut harness = Harness::new();
        for host in 1..=40u8 {
            harness.observe(Flow::tcp(SCANNER, [203, 0, 113, host], 443).at_secs(host.into()));
        }
        assert!(harness.alerts_of(Detector::HorizontalScan).is_empty());
    }

    #[test]
    fn sweep_cooldown_suppresses_repeats() {
        let mut harness = Harness::new();
        for host in 1..=60u8 {
            harness.observe(
                Flow::tcp(SCANNER, [10, 0, 3, host], 22)
                    .refused()
                    .at_secs(host.into()),
            );
        }
        assert_eq!(harness.alerts_of(Detector::HorizontalScan).len(), 1);
        assert!(harness.model.stats().alerts_suppressed_cooldown > 0);
    }
}
