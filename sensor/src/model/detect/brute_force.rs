//! Brute force: many short or failed sessions from one source to one authentication
//! service within the attempt window. The alert is about the server when it is a
//! device, otherwise about the monitored client that makes the attempts.

use serde::{Deserialize, Serialize};

use super::{Context, Finding, FlowRing, MAX_TRACKERS, Scope, Trackers, saturate};
use crate::model::alert::endpoint_with_port;
use crate::model::bounded::make_room_for;
use crate::model::config::duration_ns;
use crate::model::detector::Detector;
use crate::model::flow_view::{Outcome, Role};

/// Score factor for a source the device already knew before the window began, such as
/// an administrator's host or a monitoring system, because its bursts are more often
/// benign.
const KNOWN_SOURCE_FACTOR: f64 = 0.75;

/// A known source must exceed this many times its usual sessions per window.
const KNOWN_SOURCE_EXCESS: f64 = 4.0;

/// Sessions between a device and one peer on one authentication port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthAttempts {
    pub window_start_ns: u64,
    pub last_ns: u64,
    pub sessions: u32,
    /// Sessions that failed or ended within the short-session time.
    pub short_or_failed: u32,
    pub flows: FlowRing,
}

impl AuthAttempts {
    /// Empties the attempts for a window that starts at `window_start_ns`, keeping
    /// the capacity of the flow list.
    fn restart(&mut self, window_start_ns: u64) {
        let AuthAttempts {
            window_start_ns: start,
            last_ns,
            sessions,
            short_or_failed,
            flows,
        } = self;
        *start = window_start_ns;
        *last_ns = 0;
        *sessions = 0;
        *short_or_failed = 0;
        flows.clear();
    }
}

/// Counts a session to an authentication port and scores the source's attempts.
pub fn check(ctx: &Context, trackers: &mut Trackers) -> Option<Finding> {
    let view = ctx.view;
    let record = view.record;
    if !view.opens || record.protocol != 6 || !view.initiator_known() || ctx.peer_group {
        return None;
    }
    if !ctx.ports.auth.contains(record.dst_port) {
        return None;
    }
    // A monitored client attacking a monitored server: the server gets the alert.
    if ctx.side.role == Role::Client && ctx.peer_home {
        return None;
    }
    let short_ns = duration_ns(ctx.config.detectors.brute_force_short_session);
    let failed = view.outcome == Outcome::Failed;
    let short = view.ended && view.duration_ns < short_ns;

    let key = (ctx.side.peer, record.dst_port, ctx.side.role);
    make_room_for(&mut trackers.brute_force, &key, MAX_TRACKERS, |a| a.last_ns);
    let window_ns = duration_ns(ctx.config.detectors.attempt_window);
    let attempts = trackers.brute_force.entry(key).or_default();
    if ctx.now_ns.saturating_sub(attempts.window_start_ns) > window_ns {
        attempts.restart(record.start_ns);
    }
    attempts.last_ns = ctx.now_ns;
    attempts.sessions = attempts.sessions.saturating_add(1);
    if failed || short {
        attempts.short_or_failed = attempts.short_or_failed.saturating_add(1);
        attempts.flows.push(ctx.alert_flow());
    }

    let count = attempts.short_or_failed;
    if count < ctx.config.detectors.brute_force_min_attempts {
        return None;
    }
    // A known source (an application server's short database sessions, say) must
    // exceed its own usual rate several times over.
    let known = ctx
        .edge_before
        .filter(|edge| edge.first_seen_ns < attempts.window_start_ns);
    let known_source = known.is_some();
    let usual = known.map_or(0.0, |edge| {
        let span_ns = ctx.now_ns.saturating_sub(edge.first_seen_ns).max(window_ns);
        edge.connections as f64 * window_ns as f64 / span_ns as f64
    });
    if f64::from(count) < KNOWN_SOURCE_EXCESS * usual {
        return None;
    }
    let ratio = f64::from(count) / f64::from(attempts.sessions.max(1));
    let source_factor = if known_source {
        KNOWN_SOURCE_FACTOR
    } else {
        1.0
    };
    let score = saturate(f64::from(count), 12.0) * ratio.sqrt() * source_factor;
    let (source, server) = match ctx.side.role {
        Role::Server => (ctx.side.peer, ctx.side.device),
        Role::Client => (ctx.side.device, ctx.side.peer),
    };
    let scope = match ctx.admit(Detector::BruteForce, score, || {
        Scope::endpoint(match ctx.side.role {
            Role::Server => source.to_string(),
            Role::Client => endpoint_with_port(server, record.dst_port),
        })
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let secs = ctx.now_ns.saturating_sub(attempts.window_start_ns) as f64 / 1e9;
    let history = if known_source {
        format!(" (a known source, usually {usual:.1} sessions per window)")
    } else {
        String::new()
    };
    let explanation = format!(
        "{source} opened {} sessions to {server} port {} in {secs:.0} s; {count} were failed or shorter than {} s{history}.",
        attempts.sessions,
        record.dst_port,
        short_ns / 1_000_000_000,
    );
    Some(Finding::alert(
        Detector::BruteForce,
        score,
        scope,
        explanation,
        attempts.flows.to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness};

    const VICTIM: [u8; 4] = [10, 0, 1, 5];
    const ATTACKER: [u8; 4] = [198, 51, 100, 23];

    #[test]
    fn short_sessions_alert_on_server() {
        let mut harness = Harness::new();
        for i in 0..20u64 {
            harness.observe(
                Flow::tcp(ATTACKER, VICTIM, 22)
                    .lasting_secs(3)
                    .at_secs(i * 5),
            );
        }
        let alerts = harness.alerts_of(Detector::BruteForce);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device.to_string(), "10.0.1.5");
        assert_eq!(alerts[0].endpoint.as_deref(), Some("198.51.100.23"));
    }

    #[test]
    fn long_sessions_do_not_alert() {
        let mut harness = Harness::new();
        for i in 0..30u64 {
            harness.observe(
                Flow::tcp(ATTACKER, VICTIM, 22)
                    .lasting_secs(120)
                    .at_secs(i * 5),
            );
        }
        assert!(harness.alerts_of(Detector::BruteForce).is_empty());
    }

    #[test]
    fn non_auth_port_does_not_alert() {
        let mut harness = Harness::new();
        for i in 0..30u64 {
            harness.observe(
                Flow::tcp(ATTACKER, VICTIM, 8080)
                    .lasting_secs(1)
                    .at_secs(i * 5),
            );
        }
        assert!(harness.alerts_of(Detector::BruteForce).is_empty());
    }

    #[test]
    fn periodic_admin_checks_do_not_alert() {
        // A monitoring host runs a short SSH command every minute.
        let mut harness = Harness::new();
        for i in 0..600u64 {
            harness.observe(
                Flow::tcp([10, 0, 9, 1], VICTIM, 22)
                    .lasting_secs(2)
                    .at_secs(i * 60),
            );
        }
        assert!(harness.alerts_of(Detector::BruteForce).is_empty());
    }

    #[test]
    fn busy_known_client_does_not_alert() {
        // An application server opens a short database session every minute for two
        // days, then one every 20 s for an hour: three times its usual rate.
        let mut harness = Harness::new();
        let app = [10, 0, 2, 10];
        for i in 0..2880u64 {
            harness.observe(Flow::tcp(app, VICTIM, 5432).at_secs(i * 60));
        }
        for i in 0..180u64 {
            harness.observe(Flow::tcp(app, VICTIM, 5432).at_secs(2880 * 60 + i * 20));
        }
        assert!(harness.alerts_of(Detector::BruteForce).is_empty());
    }

    #[test]
    fn internal_attacker_alerts_victim_only() {
        let mut harness = Harness::new();
        for i in 0..20u64 {
            harness.observe(Flow::tcp([10, 0, 2, 7], VICTIM, 3389).refused().at_secs(i));
        }
        let alerts = harness.alerts_of(Detector::BruteForce);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].device.to_string(), "10.0.1.5");
    }
}
