//! Lateral movement: a device opens a new edge to another internal host on a remote
//! administration port. The score is the probability, from the device's history, of an
//! hour passing without a new admin edge (e^(−rate)), damped when the device already
//! administers other hosts on that service and when the target already accepts it from
//! others: a bastion reaching one more server is routine, a web server opening SSH to
//! a database is not.

use super::{Context, Finding, Scope, count_of, hourly_rate};
use crate::model::alert::endpoint_with_port;
use crate::model::detector::Detector;
use crate::model::flow_view::Role;

/// Damping per admin edge the device already has on any host.
const PER_KNOWN_EDGE: f64 = 0.25;

/// Score factor when the target already serves the port to other devices.
const SERVED_TARGET_FACTOR: f64 = 0.8;

/// Facts about the edge that the engine looks up before the detector runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgeContext {
    /// New admin edges the device opened before, since it was first seen.
    pub admin_edges: u32,
    /// The target serves this port to someone already.
    pub target_serves_port: bool,
}

/// Scores a new internal edge on an admin port.
pub fn check(ctx: &Context, edge: EdgeContext) -> Option<Finding> {
    let view = ctx.view;
    let record = view.record;
    if !view.opens || ctx.side.role != Role::Client || !ctx.peer_home || ctx.peer_group {
        return None;
    }
    if !view.has_ports() || !view.initiator_known() || ctx.edge_before.is_some() {
        return None;
    }
    if !ctx.ports.admin.contains(record.dst_port) {
        return None;
    }
    let rate = hourly_rate(edge.admin_edges, ctx.hours_known);
    let surprise = (-rate).exp();
    let source_factor = 1.0 / (1.0 + PER_KNOWN_EDGE * f64::from(edge.admin_edges));
    let target_factor = if edge.target_serves_port {
        SERVED_TARGET_FACTOR
    } else {
        1.0
    };
    let score = surprise * source_factor * target_factor;
    let scope = match ctx.admit(Detector::LateralMovement, score, || {
        Scope::endpoint(endpoint_with_port(ctx.side.peer, record.dst_port))
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let explanation = format!(
        "{} opened a new internal connection to {}, an administration port; it had opened {} in the {:.0} h before, and the target {} this port to others.",
        ctx.side.device,
        scope.endpoint.as_deref().unwrap_or_default(),
        count_of(edge.admin_edges, "such edge"),
        ctx.hours_known,
        if edge.target_serves_port {
            "already serves"
        } else {
            "never served"
        }
    );
    Some(Finding::alert(
        Detector::LateralMovement,
        score,
        scope,
        explanation,
        vec![ctx.alert_flow()],
    ))
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness, LEARNING_SECS};

    const WEB: [u8; 4] = [10, 0, 1, 5];
    const DB: [u8; 4] = [10, 0, 1, 20];
    const BASTION: [u8; 4] = [10, 0, 9, 1];

    fn learn(harness: &mut Harness) {
        for hour in 0..=(LEARNING_SECS / 3600 + 1) {
            let t = hour * 3600;
            harness.observe(Flow::tcp(WEB, DB, 5432).at_secs(t));
            harness.observe(Flow::tcp(BASTION, DB, 22).lasting_secs(600).at_secs(t + 10));
            for host in 30..36u8 {
                harness.observe(
                    Flow::tcp(BASTION, [10, 0, 1, host], 22)
                        .lasting_secs(600)
                        .at_secs(t + 20),
                );
            }
        }
    }

    #[test]
    fn new_admin_edge_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(Flow::tcp(WEB, DB, 22).at_secs(LEARNING_SECS + 7200));
        let alerts = harness.alerts_of(Detector::LateralMovement);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device.to_string(), "10.0.1.5");
        assert_eq!(alerts[0].endpoint.as_deref(), Some("10.0.1.20:22"));
    }

    #[test]
    fn bastion_new_server_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(Flow::tcp(BASTION, [10, 0, 1, 40], 22).at_secs(LEARNING_SECS + 7200));
        assert!(harness.alerts_of(Detector::LateralMovement).is_empty());
    }

    #[test]
    fn known_edge_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(Flow::tcp(BASTION, DB, 22).at_secs(LEARNING_SECS + 7200));
        assert!(harness.alerts_of(Detector::LateralMovement).is_empty());
    }

    #[test]
    fn admin_edge_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        harness.observe(Flow::tcp(WEB, DB, 445).at_secs(60));
        assert!(harness.alerts_of(Detector::LateralMovement).is_empty());
    }
}
