//! Outbound volume: bytes a device sent to external addresses in the current volume
//! window, far above its baseline. The baseline level is the largest of the decaying
//! peak of past windows, the mean plus four standard deviations, and the configured
//! floor. The score is 1 − level / bytes, so 2.5 times the level scores 0.6 and 20
//! times scores 0.95. The engine checks it on every record, so a transfer alerts while
//! the window is still open.

use super::{Context, Finding, Scope, format_bytes};
use crate::model::alert::{AlertFlow, endpoint_with_port};
use crate::model::detector::Detector;
use crate::model::volume::VolumeStats;

/// Standard deviations above the mean that still count as normal.
const SIGMAS: f64 = 4.0;

/// Scores the current window's external bytes out against the device's volume
/// statistics, after the record in `ctx` added to them. `window_flows` are the
/// window's largest external flows, with the bytes the device sent in each.
pub fn check(
    ctx: &Context,
    volume: &VolumeStats,
    window_flows: &[(u64, AlertFlow)],
) -> Option<Finding> {
    let floor = ctx.config.detectors.outbound_min_bytes;
    let bytes = volume.current.external_bytes_out as f64;
    let stats = &volume.external_bytes_out;
    let spread_level = stats.mean + SIGMAS * stats.std_dev();
    let level = volume.external_peak.max(spread_level).max(floor as f64);
    if bytes <= level || level <= 0.0 {
        return None;
    }
    let score = 1.0 - level / bytes;
    // The endpoint is the peer of the record that added to the window.
    let scope = match ctx.admit(Detector::OutboundVolume, score, || Scope {
        endpoint: Some(endpoint_with_port(ctx.side.peer, ctx.view.service_port)),
        dedup: Some("window".into()),
    }) {
        Ok(scope) => scope,
        Err(stopped) => return Some(stopped),
    };
    let explanation = format!(
        "{} sent {} to external addresses in the current window; its baseline is {} per window (mean {}, peak {}, over {} windows).",
        ctx.side.device,
        format_bytes(bytes),
        format_bytes(level),
        format_bytes(stats.mean),
        format_bytes(volume.external_peak),
        volume.closed_windows
    );
    let flows = window_flows.iter().map(|(_, flow)| flow.clone()).collect();
    Some(Finding::alert(
        Detector::OutboundVolume,
        score,
        scope,
        explanation,
        flows,
    ))
}

#[cfg(test)]
mod tests {
    use crate::model::detector::Detector;
    use crate::model::testkit::{Flow, Harness, LEARNING_SECS};

    const DEVICE: [u8; 4] = [10, 0, 1, 5];
    const MIRROR: [u8; 4] = [198, 51, 100, 10];

    /// Learning: 400 kB out every 10 minutes, 3 MB once an hour.
    fn learn(harness: &mut Harness) {
        for i in 0..(LEARNING_SECS / 600 + 12) {
            let bytes = if i % 6 == 0 { 3_000_000 } else { 400_000 };
            harness.observe(
                Flow::tcp(DEVICE, MIRROR, 443)
                    .bytes(bytes, 20_000)
                    .at_secs(i * 600 + 30),
            );
        }
    }

    #[test]
    fn large_upload_alerts() {
        let mut harness = Harness::new();
        learn(&mut harness);
        let t = LEARNING_SECS + 12 * 600 + 60;
        harness.observe(
            Flow::tcp(DEVICE, [203, 0, 113, 9], 443)
                .bytes(80_000_000, 50_000)
                .at_secs(t),
        );
        let alerts = harness.alerts_of(Detector::OutboundVolume);
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].score >= 0.9);
    }

    #[test]
    fn usual_peak_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        let t = LEARNING_SECS + 12 * 600 + 60;
        harness.observe(
            Flow::tcp(DEVICE, MIRROR, 443)
                .bytes(3_500_000, 50_000)
                .at_secs(t),
        );
        assert!(harness.alerts_of(Detector::OutboundVolume).is_empty());
    }

    #[test]
    fn internal_backup_does_not_alert() {
        let mut harness = Harness::new();
        learn(&mut harness);
        let t = LEARNING_SECS + 12 * 600 + 60;
        harness.observe(
            Flow::tcp(DEVICE, [10, 0, 9, 9], 873)
                .bytes(900_000_000, 50_000)
                .at_secs(t),
        );
        assert!(harness.alerts_of(Detector::OutboundVolume).is_empty());
    }

    #[test]
    fn upload_in_learning_does_not_alert() {
        let mut harness = Harness::new();
        harness.observe(Flow::tcp(DEVICE, MIRROR, 443).bytes(1000, 1000).at_secs(0));
        harness.observe(
            Flow::tcp(DEVICE, MIRROR, 443)
                .bytes(900_000_000, 1000)
                .at_secs(3600),
        );
        assert!(harness.alerts_of(Detector::OutboundVolume).is_empty());
    }
}
