//! Vertical scan: many ports tried on one host within the attempt window, mostly
//! failing (refused or unanswered). The scanner is the device when it initiates; when
//! an external peer scans a device, the alert is about the scanned device.

use serde::{Deserialize, Serialize};

use super::{Context, Finding, FlowRing, MAX_TRACKERS, Scope, Trackers, protocol_name, saturate};
use crate::model::bounded::make_room_for;
use crate::model::detector::Detector;
use crate::model::flow_view::{Outcome, Role};

/// Distinct ports kept per tracker; the score saturates long before this.
const MAX_PORTS: usize = 256;

/// Ports tried between a device and one peer in the current attempt window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortSweep {
    pub window_start_ns: u64,
    pub last_ns: u64,
    /// Distinct destination ports, sorted.
    pub ports: Vec<u16>,
    pub attempts: u32,
    pub failures: u32,
    pub flows: FlowRing,
}

impl PortSweep {
    /// Empties the sweep for a window that starts at `window_start_ns`, keeping the
    /// capacity of its lists.
    fn restart(&mut self, window_start_ns: u64) {
        let PortSweep {
            window_start_ns: start,
            last_ns,
            ports,
            attempts,
            failures,
            flows,
        } = self;
        *start = window_start_ns;
        *last_ns = 0;
        ports.clear();
        *attempts = 0;
        *failures = 0;
        flows.clear();
    }
}

/// Counts the record in the device's sweep towards its peer and scores the sweep.
pub fn check(ctx: &Context, trackers: &mut Trackers) -> Option<Finding> {
    let view = ctx.view;
    if !view.opens || !view.has_ports() || !view.initiator_known() || ctx.peer_group {
        return None;
    }
    // A device that accepts the flow is scanned; count that only when the scanner is
    // external, because a monitored scanner gets the alert itself.
    if ctx.side.role == Role::Server && ctx.peer_home {
        return None;
    }
    let key = (ctx.side.peer, ctx.side.role);
    make_room_for(&mut trackers.vertical, &key, MAX_TRACKERS, |s| s.last_ns);
    let window_ns = crate::model::config::duration_ns(ctx.config.detectors.attempt_window);
    let sweep = trackers.vertical.entry(key).or_default();
    if ctx.now_ns.saturating_sub(sweep.window_start_ns) > window_ns {
        sweep.restart(view.record.start_ns);
    }
    sweep.last_ns = ctx.now_ns;
    let port = view.record.dst_port;
    if let Err(at) = sweep.ports.binary_search(&port)
        && sweep.ports.len() < MAX_PORTS
    {
        sweep.ports.insert(at, port);
    }
    sweep.attempts = sweep.attempts.saturating_add(1);
    if view.outcome == Outcome::Failed {
        sweep.failures = sweep.failures.saturating_add(1);
    }
    sweep.flows.push(ctx.alert_flow());

    let ports = sweep.ports.len() as u32;
    let failure_ratio = f64::from(sweep.failures) / f64::from(sweep.attempts.max(1));
    let detectors = &ctx.config.detectors;
    if ports < detectors.vertical_scan_min_ports || failure_ratio < detectors.scan_min_failure_ratio
    {
        return None;
    }
    let score = score(ports, failure_ratio);
    let scope = match ctx.admit(Detector::VerticalScan, score, || {
        Scope::endpoint(ctx.side.peer.to_string())
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let (scanner, target) = match ctx.side.role {
        Role::Client => (ctx.side.device, ctx.side.peer),
        Role::Server => (ctx.side.peer, ctx.side.device),
    };
    let secs = ctx.now_ns.saturating_sub(sweep.window_start_ns) as f64 / 1e9;
    let explanation = format!(
        "{scanner} tried {ports} distinct {} ports on {target} in {secs:.0} s; {} of {} attempts failed ({:.0}%).",
        protocol_name(view.record.protocol),
        sweep.failures,
        sweep.attempts,
        failure_ratio * 100.0
    );
    Some(Finding::alert(
        Detector::VerticalScan,
        score,
        scope,
        explanation,
        sweep.flows.to_vec(),
    ))
}

/// 0.6 at 12 ports, 0.9 at 30, 0.98 at 50, reduced by the square root of the failure
/// ratio.
fn score(ports: u32, failure_ratio: f64) -> f64 {
    saturate(f64::from(ports), 13.0) * failure_ratio.sqrt()
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness};

    const SCANNER: [u8; 4] = [10, 0, 2, 7];
    const TARGET: [u8; 4] = [10, 0, 1, 5];

    #[test]
    fn scan_alerts_at_min_ports() {
        let mut harness = Harness::new();
        for port in 1..=11u16 {
            harness.observe(
                Flow::tcp(SCANNER, TARGET, port)
                    .refused()
                    .at_secs(port.into()),
            );
        }
        assert!(harness.alerts_of(Detector::VerticalScan).is_empty());
        harness.observe(Flow::tcp(SCANNER, TARGET, 12).refused().at_secs(12));
        let alerts = harness.alerts_of(Detector::VerticalScan);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device.to_string(), "10.0.2.7");
        assert_eq!(alerts[0].endpoint.as_deref(), Some("10.0.1.5"));
        assert_eq!(alerts[0].flows.len(), 10);
    }

    #[test]
    fn scan_alerts_during_learning() {
        let mut harness = Harness::new();
        for port in 1..=30u16 {
            harness.observe(
                Flow::tcp(SCANNER, TARGET, port)
                    .unanswered()
                    .at_secs(port.into()),
            );
        }
        assert_eq!(harness.alerts_of(Detector::VerticalScan).len(), 1);
    }

    #[test]
    fn answered_ports_do_not_alert() {
        let mut harness = Harness::new();
        for port in 1..=40u16 {
            harness.observe(Flow::tcp(SCANNER, TARGET, port).at_secs(port.into()));
        }
        assert!(harness.alerts_of(Detector::VerticalScan).is_empty());
    }

    #[test]
    fn slow_ports_outside_window_do_not_alert() {
        let mut harness = Harness::new();
        for port in 1..=40u64 {
            harness.observe(
                Flow::tcp(SCANNER, TARGET, port as u16)
                    .refused()
                    .at_secs(port * 3600),
            );
        }
        assert!(harness.alerts_of(Detector::VerticalScan).is_empty());
    }

    #[test]
    fn external_scanner_alerts_on_target() {
        let mut harness = Harness::new();
        for port in 1..=20u16 {
            harness.observe(
                Flow::tcp([198, 51, 100, 9], TARGET, port)
                    .refused()
                    .at_secs(port.into()),
            );
        }
        let alerts = harness.alerts_of(Detector::VerticalScan);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device.to_string(), "10.0.1.5");
    }

    #[test]
    fn internal_target_not_alerted_twice() {
        let mut harness = Harness::new();
        for port in 1..=20u16 {
            harness.observe(
                Flow::tcp(SCANNER, TARGET, port)
                    .refused()
                    .at_secs(port.into()),
            );
        }
        let alerts = harness.alerts_of(Detector::VerticalScan);
        assert!(alerts.iter().all(|a| a.device.to_string() == "10.0.2.7"));
    }
}
