//! New service: a device acting as client or server of a service (protocol, port) it
//! never used, on an answered connection. The score is the probability, from the
//! device's history, of an hour passing without a new service (e^(−rate)), damped by
//! how many other devices use the service in the same role.

use super::{Context, Finding, Scope, count_of, hourly_rate, protocol_name};
use crate::model::detector::Detector;
use crate::model::fleet::rarity;
use crate::model::flow_view::{Outcome, Role};
use crate::model::services::ServiceKey;

/// Client connections to ports from here up are taken as ephemeral (RFC 6335 dynamic
/// ports start at 49152; Linux picks from 32768), not as services.
const FIRST_EPHEMERAL_PORT: u16 = 32768;

/// Scores a service new to the device. `known` is whether the device used it before,
/// `fleet_others` the number of other devices that use it in that role, and
/// `new_services` the number of services the device added before.
pub fn check(
    ctx: &Context,
    key: ServiceKey,
    known: bool,
    fleet_others: u32,
    new_services: u32,
) -> Option<Finding> {
    let view = ctx.view;
    if known
        || !view.opens
        || !view.has_ports()
        || view.outcome != Outcome::Answered
        || ctx.peer_group
    {
        return None;
    }
    if key.role == Role::Client && key.port >= FIRST_EPHEMERAL_PORT {
        return None;
    }
    let rate = hourly_rate(new_services, ctx.hours_known);
    let surprise = (-rate).exp();
    let score = surprise * rarity(fleet_others);
    let role = match key.role {
        Role::Client => "client",
        Role::Server => "server",
    };
    let scope = match ctx.admit(Detector::NewService, score, || Scope {
        endpoint: Some(ctx.side.peer.to_string()),
        dedup: Some(format!(
            "{role} {}/{}",
            protocol_name(key.protocol),
            key.port
        )),
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let explanation = format!(
        "{} acted as {role} of {}/{} for the first time (peer {}); {} use this service in that role, and it had added {} in the {:.0} h before.",
        ctx.side.device,
        protocol_name(key.protocol),
        key.port,
        ctx.side.peer,
        count_of(fleet_others, "other device"),
        count_of(new_services, "service"),
        ctx.hours_known
    );
    Some(Finding::alert(
        Detector::NewService,
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
    const PEER: [u8; 4] = [10, 0, 1, 6];

    fn learn(harness: &mut Harness) {
        for hour in 0..=(LEARNING_SECS / 3600 + 1) {
            harness.observe(Flow::tcp(PEER, DEVICE, 443).at_secs(hour * 3600));
            harness.observe(Flow::tcp(DEVICE, [10, 0, 1, 7], 5432).at_secs(hour * 3600 + 1));
        }
    }

    #[test]
    fn new_listening_port_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(Flow::tcp(PEER, DEVICE, 4444).at_secs(LEARNING_SECS + 7200));
        let alerts = harness.alerts_of(Detector::NewService);
        let server: Vec<_> = alerts
            .iter()
            .filter(|a| a.device.to_string() == "10.0.1.5")
            .collect();
        assert_eq!(server.len(), 1);
        assert_eq!(server[0].endpoint.as_deref(), Some("10.0.1.6"));
    }

    #[test]
    fn new_client_service_alerts_client() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(Flow::tcp(PEER, DEVICE, 4444).at_secs(LEARNING_SECS + 7200));
        let alerts = harness.alerts_of(Detector::NewService);
        assert!(alerts.iter().any(|a| a.device.to_string() == "10.0.1.6"));
    }

    #[test]
    fn service_common_in_fleet_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        // The device already uses 5432 as a client, so the peer is the second.
        harness.observe(Flow::tcp(PEER, [10, 0, 1, 7], 5432).at_secs(LEARNING_SECS + 7200));
        assert!(harness.alerts_of(Detector::NewService).is_empty());
    }

    #[test]
    fn refused_connection_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        harness.observe(
            Flow::tcp(PEER, DEVICE, 4444)
                .refused()
                .at_secs(LEARNING_SECS + 7200),
        );
        assert!(harness.alerts_of(Detector::NewService).is_empty());
    }
}
