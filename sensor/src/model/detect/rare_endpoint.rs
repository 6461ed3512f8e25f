//! Rare external endpoint: a device connects to an external endpoint (address, port,
//! protocol) that it had not used before the last hour and that no other device uses.
//! The score is the probability, from the device's own history, of an hour passing
//! without such a first contact (e^(−rate)), damped by fleet prevalence. The bytes sent
//! to the endpoint so far raise it, because browsing a new site sends little and an
//! upload to a drop server sends a lot.

use super::{Context, Finding, Scope, count_of, format_bytes, hourly_rate, saturate};
use crate::model::alert::endpoint_with_port;
use crate::model::detector::Detector;
use crate::model::fleet::rarity;
use crate::model::flow_view::{Outcome, Role};

/// Bytes sent at which the evidence factor is 63 % of the way from its floor to 1.
const BYTES_SCALE: f64 = 1_000_000.0;

/// Evidence factor of a first contact that sent almost nothing.
const MIN_EVIDENCE: f64 = 0.5;

/// How long after the first contact an edge still counts as new, so that the bytes of
/// the following connections add to the evidence.
const NEW_EDGE_NS: u64 = 3_600_000_000_000;

/// Scores a first contact. `fleet_others` counts the other devices that use the
/// endpoint; `rare_contacts` counts the device's earlier first contacts with endpoints
/// that no other device used.
pub fn check(ctx: &Context, fleet_others: u32, rare_contacts: u32) -> Option<Finding> {
    let view = ctx.view;
    if !view.opens || ctx.side.role != Role::Client || ctx.peer_home || ctx.peer_group {
        return None;
    }
    if view.outcome == Outcome::Failed {
        return None;
    }
    let sent_before = match ctx.edge_before {
        None => 0,
        Some(edge) if ctx.now_ns.saturating_sub(edge.first_seen_ns) <= NEW_EDGE_NS => {
            edge.bytes_out
        }
        Some(_) => return None,
    };
    let sent = sent_before.saturating_add(ctx.side.bytes_out);
    let rate = hourly_rate(rare_contacts, ctx.hours_known);
    let surprise = (-rate).exp();
    let fleet_factor = rarity(fleet_others);
    let evidence = MIN_EVIDENCE + (1.0 - MIN_EVIDENCE) * saturate(sent as f64, BYTES_SCALE);
    let score = surprise * fleet_factor * evidence;
    let scope = match ctx.admit(Detector::RareEndpoint, score, || {
        Scope::endpoint(endpoint_with_port(ctx.side.peer, view.service_port))
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let explanation = format!(
        "{} made a first contact with {} and sent it {}; {} use it, and this device had made {} with endpoints unknown to the fleet in the {:.0} h before.",
        ctx.side.device,
        scope.endpoint.as_deref().unwrap_or_default(),
        format_bytes(sent as f64),
        count_of(fleet_others, "other device"),
        count_of(rare_contacts, "first contact"),
        ctx.hours_known
    );
    Some(Finding::alert(
        Detector::RareEndpoint,
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

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const OTHER: [u8; 4] = [10, 0, 1, 6];
    const MIRROR: [u8; 4] = [198, 51, 100, 10];

    fn learn(harness: &mut Harness) {
        for hour in 0..=(LEARNING_SECS / 3600 + 1) {
            harness.observe(Flow::tcp(DEVICE, MIRROR, 443).at_secs(hour * 3600));
            harness.observe(Flow::tcp(OTHER, [198, 51, 100, 11], 443).at_secs(hour * 3600 + 5));
        }
    }

    #[test]
    fn new_endpoint_after_learning_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::tcp(DEVICE, [203, 0, 113, 9], 8443)
                .bytes(5_000_000, 1000)
                .at_secs(LEARNING_SECS + 7200),
        );
        let alerts = harness.alerts_of(Detector::RareEndpoint);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].endpoint.as_deref(), Some("203.0.113.9:8443"));
    }

    #[test]
    fn new_endpoint_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        harness.observe(Flow::tcp(DEVICE, [203, 0, 113, 9], 443).at_secs(600));
        assert!(harness.alerts_of(Detector::RareEndpoint).is_empty());
    }

    #[test]
    fn endpoint_known_to_fleet_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(Flow::tcp(DEVICE, [198, 51, 100, 11], 443).at_secs(LEARNING_SECS + 7200));
        assert!(harness.alerts_of(Detector::RareEndpoint).is_empty());
    }

    #[test]
    fn busy_client_new_endpoint_does_not_alert() {
        // A device that reaches endpoints unknown to the fleet every few minutes.
        let mut harness = Harness::new();
        for i in 0..400u64 {
            let addr = [203, 0, (i / 250) as u8, (i % 250) as u8];
            harness.observe(Flow::tcp(DEVICE, addr, 443).at_secs(i * 240));
        }
        harness.observe(Flow::tcp(DEVICE, [192, 0, 2, 1], 443).at_secs(400 * 240));
        assert!(harness.alerts_of(Detector::RareEndpoint).is_empty());
    }

    #[test]
    fn small_first_contact_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::tcp(DEVICE, [203, 0, 113, 9], 443)
                .bytes(2_000, 50_000)
                .at_secs(LEARNING_SECS + 7200),
        );
        assert!(harness.alerts_of(Detector::RareEndpoint).is_empty());
    }

    #[test]
    fn upload_over_connections_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        for i in 0..4u64 {
            let t = LEARNING_SECS + 7200 + i * 300;
            harness.observe(
                Flow::tcp(DEVICE, [203, 0, 113, 9], 443)
                    .bytes(400_000, 200)
                    .at_secs(t),
            );
        }
        assert_eq!(harness.alerts_of(Detector::RareEndpoint).len(), 1);
    }

    #[test]
    fn failed_first_contact_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::tcp(DEVICE, [203, 0, 113, 9], 443)
                .unanswered()
                .at_secs(LEARNING_SECS + 7200),
        );
        assert!(harness.alerts_of(Detector::RareEndpoint).is_empty());
    }
}
