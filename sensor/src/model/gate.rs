//! The alert gate: decides, as soon as a detector has scored a finding, whether the
//! finding becomes an alert. Findings below the minimum score, findings of baseline
//! detectors during the device's learning period, and repeats within the cooldown stop
//! here. Because the decision comes before the finding is built, detectors build the
//! endpoint text, explanation and flows only for the few findings that become alerts.
//!
//! The gate applies the cooldown in the order in which the detectors run, which is
//! the order in which the engine emits the alerts, so deciding early gives the same
//! alerts as deciding at emission.

use super::cooldown::{Cooldown, CooldownKey};
use super::detect::Finding;
use super::detector::Detector;
use super::device::DeviceKey;

/// The gate's decision on a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The score is below the configured minimum.
    BelowMinScore,
    /// A baseline detector's finding during the device's learning period.
    Learning,
    /// An alert with the same device, detector and scope went out within the cooldown.
    Cooldown,
    /// The finding becomes an alert.
    Alert,
}

/// The gate for the findings of one device about one flow record.
#[derive(Debug)]
pub struct Gate<'a> {
    cooldown: &'a mut Cooldown,
    device: DeviceKey,
    now_ns: u64,
    /// The device's learning period has ended.
    learned: bool,
    min_score: f64,
    cooldown_ns: u64,
}

impl<'a> Gate<'a> {
    pub fn new(
        cooldown: &'a mut Cooldown,
        device: DeviceKey,
        now_ns: u64,
        learned: bool,
        min_score: f64,
        cooldown_ns: u64,
    ) -> Gate<'a> {
        Gate {
            cooldown,
            device,
            now_ns,
            learned,
            min_score,
            cooldown_ns,
        }
    }

    /// Returns the verdict by score and learning period alone, or `None` when the
    /// finding goes on to the cooldown.
    pub fn screen(&self, detector: Detector, score: f64) -> Option<Verdict> {
        if score < self.min_score {
            return Some(Verdict::BelowMinScore);
        }
        if detector.needs_baseline() && !self.learned {
            return Some(Verdict::Learning);
        }
        None
    }

    /// Returns the verdict on a screened finding by the cooldown of `scope` (see
    /// [`CooldownKey::scope`]). A finding that becomes an alert starts a new cooldown.
    pub fn cool_down(&mut self, detector: Detector, scope: Option<&str>) -> Verdict {
        let key = CooldownKey {
            device: self.device,
            detector,
            scope: scope.map(str::to_owned),
        };
        if self.cooldown.allow(key, self.now_ns, self.cooldown_ns) {
            Verdict::Alert
        } else {
            Verdict::Cooldown
        }
    }
}

/// The findings on one side of a flow record: counts of those that the gate stopped,
/// and the ones that become alerts, in detector order.
#[derive(Debug, Default)]
pub struct Findings {
    pub below_min_score: u64,
    pub learning: u64,
    pub cooldown: u64,
    pub alerts: Vec<Finding>,
}

impl Findings {
    /// Counts or keeps the result of one detector. Inlined, because the engine
    /// calls it for every detector on every record and most results are `None`.
    #[inline(always)]
    pub fn add(&mut self, finding: Option<Finding>) {
        let Some(finding) = finding else {
            return;
        };
        match finding.verdict {
            Verdict::BelowMinScore => self.below_min_score += 1,
            Verdict::Learning => self.learning += 1,
            Verdict::Cooldown => self.cooldown += 1,
            Verdict::Alert => self.alerts.push(finding),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_NS: u64 = 60_000_000_000;

    fn device() -> DeviceKey {
        DeviceKey {
            vni: 1,
            addr: "10.0.0.1".parse().unwrap(),
        }
    }

    fn gate(cooldown: &mut Cooldown, now_ns: u64, learned: bool) -> Gate<'_> {
        Gate::new(cooldown, device(), now_ns, learned, 0.6, 60 * MINUTE_NS)
    }

    #[test]
    fn screen_cases() {
        let mut cooldown = Cooldown::default();
        let cases = [
            (
                Detector::RareEndpoint,
                0.59,
                true,
                Some(Verdict::BelowMinScore),
            ),
            (Detector::RareEndpoint, 0.6, true, None),
            (Detector::RareEndpoint, 0.9, false, Some(Verdict::Learning)),
            (Detector::VerticalScan, 0.9, false, None),
            (
                Detector::VerticalScan,
                0.1,
                false,
                Some(Verdict::BelowMinScore),
            ),
            (Detector::RareEndpoint, f64::NAN, true, None),
        ];
        for (detector, score, learned, expected) in cases {
            let gate = gate(&mut cooldown, 0, learned);
            assert_eq!(
                gate.screen(detector, score),
                expected,
                "{detector:?} {score} {learned}"
            );
        }
    }

    #[test]
    fn cool_down_blocks_repeat_in_scope() {
        let mut cooldown = Cooldown::default();
        let scope = Some("203.0.113.9:443");
        let other = Some("203.0.113.10:443");
        let detector = Detector::RareEndpoint;
        assert_eq!(
            gate(&mut cooldown, 0, true).cool_down(detector, scope),
            Verdict::Alert
        );
        let mut later = gate(&mut cooldown, MINUTE_NS, true);
        assert_eq!(later.cool_down(detector, scope), Verdict::Cooldown);
        assert_eq!(later.cool_down(detector, other), Verdict::Alert);
        assert_eq!(later.cool_down(Detector::Beaconing, scope), Verdict::Alert);
        let after = 61 * MINUTE_NS;
        assert_eq!(
            gate(&mut cooldown, after, true).cool_down(detector, scope),
            Verdict::Alert
        );
    }

    #[test]
    fn findings_sort_by_verdict() {
        let mut findings = Findings::default();
        let verdicts = [
            Verdict::BelowMinScore,
            Verdict::Alert,
            Verdict::Learning,
            Verdict::BelowMinScore,
            Verdict::Cooldown,
            Verdict::Alert,
        ];
        for (index, verdict) in verdicts.into_iter().enumerate() {
            findings.add(Some(Finding::stopped(Detector::ALL[index], 0.5, verdict)));
        }
        assert_eq!(findings.below_min_score, 2);
        assert_eq!(findings.learning, 1);
        assert_eq!(findings.cooldown, 1);
        let alerts: Vec<Detector> = findings.alerts.iter().map(|f| f.detector).collect();
        assert_eq!(alerts, [Detector::ALL[1], Detector::ALL[5]]);
    }
}
