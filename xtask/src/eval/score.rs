//! Scoring of one scenario: which injected attacks the sensor's alerts detected, how
//! long after each attack started, and how many alerts fell on benign traffic. A pure
//! function of the truth file and the alert lines.

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// An alert matches an attack up to this long after the attack's last packet.
pub const MATCH_GRACE_NS: u64 = 3_600_000_000_000;
/// Highest false-alert rate that passes, per 100 device-hours of evaluated traffic.
pub const MAX_FALSE_PER_100_DEVICE_HOURS: f64 = 1.0;
const HOUR_NS: u64 = 3_600_000_000_000;

/// The parts of a scenario's truth file that scoring uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub seed: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub learning_period_hours: u64,
    /// Addresses of the monitored devices.
    pub devices: Vec<String>,
    pub attacks: Vec<TruthAttack>,
}

impl Truth {
    /// End of the learning period: alerts before it are neither detections nor false.
    pub fn learning_end_ns(&self) -> u64 {
        self.start_ns + self.learning_period_hours * HOUR_NS
    }

    /// Device-hours of evaluated traffic: devices times hours after the learning period.
    pub fn device_hours(&self) -> f64 {
        let evaluated = self.end_ns.saturating_sub(self.learning_end_ns());
        self.devices.len() as f64 * evaluated as f64 / HOUR_NS as f64
    }
}

/// One injected attack.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthAttack {
    pub kind: String,
    pub device: String,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Detectors whose alert on `device` counts as a detection.
    pub detectors: Vec<String>,
    /// Detectors whose alert on `device` in the attack's window is a side effect of the
    /// attack, counted neither as a detection nor as false. Optional in the file.
    pub related_detectors: Vec<String>,
    /// Other devices whose alerts from `detectors` or `related_detectors` in the
    /// attack's window are side effects, such as the resolver that forwards a DNS
    /// attack's queries. Optional in the file.
    pub related_devices: Vec<String>,
}

impl TruthAttack {
    /// Returns whether `time_ns` lies in [start, end + MATCH_GRACE_NS].
    fn in_window(&self, time_ns: u64) -> bool {
        time_ns >= self.start_ns && time_ns <= self.end_ns.saturating_add(MATCH_GRACE_NS)
    }
}

/// The fields of an alert line that scoring and the report use.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub time_ns: u64,
    pub device: String,
    pub detector: String,
    pub endpoint: Option<String>,
    pub explanation: String,
}

/// The outcome for one attack.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackResult {
    pub kind: String,
    pub device: String,
    pub start_ns: u64,
    /// Detector of the first matching alert; `None` when the attack was missed.
    pub detected_by: Option<String>,
    /// Packet time from the attack's first packet to the first matching alert.
    pub time_to_detect_ns: Option<u64>,
}

/// The score of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub seed: u64,
    pub attacks: Vec<AttackResult>,
    /// Alerts after the learning period that match no attack.
    pub false_alerts: Vec<Alert>,
    /// Alerts attributed to an attack as a side effect (see `related_detectors`).
    pub related_alerts: usize,
    /// Alerts during the learning period, counted nowhere else.
    pub learning_alerts: usize,
    pub device_hours: f64,
}

impl Score {
    /// False alerts per 100 device-hours; 0 when there are no device-hours.
    pub fn false_rate(&self) -> f64 {
        if self.device_hours <= 0.0 {
            return 0.0;
        }
        self.false_alerts.len() as f64 * 100.0 / self.device_hours
    }

    /// Attacks without a matching alert.
    pub fn missed(&self) -> usize {
        self.attacks
            .iter()
            .filter(|a| a.detected_by.is_none())
            .count()
    }

    /// Returns whether every attack was detected and the false-alert rate is within the limit.
    pub fn passed(&self) -> bool {
        self.missed() == 0 && self.false_rate() <= MAX_FALSE_PER_100_DEVICE_HOURS
    }
}

/// Scores `alerts` against `truth`. An alert detects an attack when its device and
/// detector match and its time lies in [start, end + MATCH_GRACE_NS]. Any other alert
/// after the learning period is false, except alerts in the window from the attack's
/// related detectors, or from its detectors on its related devices.
pub fn score(truth: &Truth, alerts: &[Alert]) -> Score {
    let learning_end = truth.learning_end_ns();
    let mut results: Vec<AttackResult> = truth
        .attacks
        .iter()
        .map(|attack| AttackResult {
            kind: attack.kind.clone(),
            device: attack.device.clone(),
            start_ns: attack.start_ns,
            detected_by: None,
            time_to_detect_ns: None,
        })
        .collect();
    let mut false_alerts = Vec::new();
    let mut related_alerts = 0;
    let mut learning_alerts = 0;

    for alert in alerts {
        let mut detection = false;
        let mut related = false;
        for (attack, result) in truth.attacks.iter().zip(results.iter_mut()) {
            let on_device = attack.device == alert.device;
            let on_related_device = attack.related_devices.contains(&alert.device);
            if !(on_device || on_related_device) || !attack.in_window(alert.time_ns) {
                continue;
            }
            let attack_detector = attack.detectors.contains(&alert.detector);
            if on_device && attack_detector {
                detection = true;
                let delay = alert.time_ns - attack.start_ns;
                if result.time_to_detect_ns.is_none_or(|best| delay < best) {
                    result.time_to_detect_ns = Some(delay);
                    result.detected_by = Some(alert.detector.clone());
                }
            } else if attack_detector || attack.related_detectors.contains(&alert.detector) {
                related = true;
            }
        }
        if detection {
            continue;
        }
        if related {
            related_alerts += 1;
        } else if alert.time_ns < learning_end {
            learning_alerts += 1;
        } else {
            false_alerts.push(alert.clone());
        }
    }

    Score {
        seed: truth.seed,
        attacks: results,
        false_alerts,
        related_alerts,
        learning_alerts,
        device_hours: truth.device_hours(),
    }
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value> {
    value
        .get(name)
        .with_context(|| format!("missing field `{name}`"))
}

fn u64_field(value: &Value, name: &str) -> Result<u64> {
    field(value, name)?
        .as_u64()
        .with_context(|| format!("field `{name}` is not an unsigned integer"))
}

fn str_field(value: &Value, name: &str) -> Result<String> {
    Ok(field(value, name)?
        .as_str()
        .with_context(|| format!("field `{name}` is not a string"))?
        .to_owned())
}

fn strings(value: Option<&Value>, name: &str) -> Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .with_context(|| format!("field `{name}` is not an array"))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .with_context(|| format!("field `{name}` holds a non-string"))
        })
        .collect()
}

/// Parses a truth file written by `scenario-gen`.
pub fn parse_truth(text: &str) -> Result<Truth> {
    let value: Value = serde_json::from_str(text).context("the truth file is not valid JSON")?;
    let devices = field(&value, "devices")?
        .as_array()
        .context("field `devices` is not an array")?
        .iter()
        .map(|device| str_field(device, "addr"))
        .collect::<Result<Vec<String>>>()
        .context("invalid entry in `devices`")?;
    let attacks = field(&value, "attacks")?
        .as_array()
        .context("field `attacks` is not an array")?
        .iter()
        .enumerate()
        .map(|(index, attack)| {
            parse_attack(attack).with_context(|| format!("invalid entry {index} in `attacks`"))
        })
        .collect::<Result<Vec<TruthAttack>>>()?;
    let truth = Truth {
        seed: u64_field(&value, "seed")?,
        start_ns: u64_field(&value, "start_ns")?,
        end_ns: u64_field(&value, "end_ns")?,
        learning_period_hours: u64_field(&value, "learning_period_hours")?,
        devices,
        attacks,
    };
    if truth.end_ns <= truth.start_ns {
        bail!(
            "invalid truth file: end_ns {} is not after start_ns {}",
            truth.end_ns,
            truth.start_ns
        );
    }
    Ok(truth)
}

fn parse_attack(attack: &Value) -> Result<TruthAttack> {
    Ok(TruthAttack {
        kind: str_field(attack, "kind")?,
        device: str_field(attack, "device")?,
        start_ns: u64_field(attack, "start_ns")?,
        end_ns: u64_field(attack, "end_ns")?,
        detectors: strings(attack.get("detectors"), "detectors")?,
        related_detectors: strings(attack.get("related_detectors"), "related_detectors")?,
        related_devices: strings(attack.get("related_devices"), "related_devices")?,
    })
}

/// Parses alert JSON lines; blank lines are skipped. Errors name the line number.
pub fn parse_alerts(text: &str) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let alert =
            parse_alert(line).with_context(|| format!("invalid alert on line {}", index + 1))?;
        alerts.push(alert);
    }
    Ok(alerts)
}

fn parse_alert(line: &str) -> Result<Alert> {
    let value: Value = serde_json::from_str(line).context("not valid JSON")?;
    Ok(Alert {
        time_ns: u64_field(&value, "time_ns")?,
        device: str_field(&value, "device")?,
        detector: str_field(&value, "detector")?,
        endpoint: value
            .get("endpoint")
            .and_then(Value::as_str)
            .map(str::to_owned),
        explanation: value
            .get("explanation")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_740_960_000_000_000_000;
    const MINUTE: u64 = 60_000_000_000;

    /// Two devices, 3 days, 24 h of learning (96 evaluated device-hours), one scan
    /// by 10.0.10.10 at hour 30 lasting a minute, with the resolver 10.0.0.2 as a
    /// related device.
    fn truth() -> Truth {
        Truth {
            seed: 7,
            start_ns: START,
            end_ns: START + 72 * HOUR_NS,
            learning_period_hours: 24,
            devices: vec!["10.0.10.10".into(), "10.0.3.10".into()],
            attacks: vec![TruthAttack {
                kind: "port_scan".into(),
                device: "10.0.10.10".into(),
                start_ns: START + 30 * HOUR_NS,
                end_ns: START + 30 * HOUR_NS + MINUTE,
                detectors: vec!["vertical_scan".into()],
                related_detectors: vec!["lateral_movement".into()],
                related_devices: vec!["10.0.0.2".into()],
            }],
        }
    }

    fn alert(hours_from_start: u64, minutes: u64, device: &str, detector: &str) -> Alert {
        Alert {
            time_ns: START + hours_from_start * HOUR_NS + minutes * MINUTE,
            device: device.into(),
            detector: detector.into(),
            endpoint: None,
            explanation: String::new(),
        }
    }

    #[test]
    fn score_detection_time() {
        let alerts = [alert(30, 2, "10.0.10.10", "vertical_scan")];
        let score = score(&truth(), &alerts);
        assert_eq!(
            score.attacks[0].detected_by.as_deref(),
            Some("vertical_scan")
        );
        assert_eq!(score.attacks[0].time_to_detect_ns, Some(2 * MINUTE));
        assert!(score.false_alerts.is_empty());
    }

    #[test]
    fn score_earliest_alert_wins() {
        let alerts = [
            alert(30, 40, "10.0.10.10", "vertical_scan"),
            alert(30, 5, "10.0.10.10", "vertical_scan"),
        ];
        let score = score(&truth(), &alerts);
        assert_eq!(score.attacks[0].time_to_detect_ns, Some(5 * MINUTE));
    }

    #[test]
    fn score_match_cases() {
        // (alert, detects the scan, counted false)
        let cases = [
            (alert(30, 0, "10.0.10.10", "vertical_scan"), true, false),
            (alert(31, 1, "10.0.10.10", "vertical_scan"), true, false),
            (alert(31, 2, "10.0.10.10", "vertical_scan"), false, true),
            (alert(29, 59, "10.0.10.10", "vertical_scan"), false, true),
            (alert(30, 2, "10.0.3.10", "vertical_scan"), false, true),
            (alert(30, 2, "10.0.10.10", "horizontal_scan"), false, true),
            (alert(30, 2, "10.0.10.10", "lateral_movement"), false, false),
            (alert(10, 0, "10.0.3.10", "rare_endpoint"), false, false),
            (alert(30, 2, "10.0.0.2", "vertical_scan"), false, false),
            (alert(30, 2, "10.0.0.2", "lateral_movement"), false, false),
            (alert(30, 2, "10.0.0.2", "horizontal_scan"), false, true),
            (alert(32, 0, "10.0.0.2", "vertical_scan"), false, true),
        ];
        for (index, (alert, detects, is_false)) in cases.into_iter().enumerate() {
            let score = score(&truth(), std::slice::from_ref(&alert));
            assert_eq!(
                score.attacks[0].detected_by.is_some(),
                detects,
                "case {index}"
            );
            assert_eq!(score.false_alerts.len() == 1, is_false, "case {index}");
        }
    }

    #[test]
    fn score_counts_related_and_learning() {
        let alerts = [
            alert(30, 2, "10.0.10.10", "lateral_movement"),
            alert(3, 0, "10.0.3.10", "unusual_hours"),
        ];
        let score = score(&truth(), &alerts);
        assert_eq!(score.related_alerts, 1);
        assert_eq!(score.learning_alerts, 1);
    }

    #[test]
    fn score_false_rate() {
        let alerts = [
            alert(40, 0, "10.0.3.10", "rare_endpoint"),
            alert(50, 0, "10.0.3.10", "outbound_volume"),
        ];
        let score = score(&truth(), &alerts);
        assert_eq!(score.device_hours, 96.0);
        assert!((score.false_rate() - 200.0 / 96.0).abs() < 1e-9);
        assert!(!score.passed());
    }

    #[test]
    fn score_missed_attack_fails() {
        let score = score(&truth(), &[]);
        assert_eq!(score.missed(), 1);
        assert_eq!(score.attacks[0].time_to_detect_ns, None);
        assert!(!score.passed());
    }

    #[test]
    fn score_passes_at_limit() {
        // 96 device-hours allow 0.96 false alerts: none passes, one does not.
        let detected = alert(30, 1, "10.0.10.10", "vertical_scan");
        assert!(score(&truth(), std::slice::from_ref(&detected)).passed());
    }

    #[test]
    fn parse_truth_fields() {
        let text = r#"{"seed":3,"vni":100003,"start_ns":10,"end_ns":20,"learning_period_hours":24,
            "devices":[{"addr":"10.0.0.2","role":"dns"}],
            "attacks":[{"kind":"beaconing","device":"10.0.1.10","start_ns":12,"end_ns":15,
                        "detectors":["beaconing"],"description":"d"}]}"#;
        let truth = parse_truth(text).unwrap();
        assert_eq!(truth.seed, 3);
        assert_eq!(truth.devices, vec!["10.0.0.2".to_string()]);
        assert_eq!(truth.attacks[0].detectors, vec!["beaconing".to_string()]);
        assert!(truth.attacks[0].related_detectors.is_empty());
    }

    #[test]
    fn parse_truth_names_missing_field() {
        let error = parse_truth(r#"{"seed":1}"#).unwrap_err();
        assert!(format!("{error:#}").contains("devices"), "{error:#}");
    }

    #[test]
    fn parse_alerts_lines() {
        let text = concat!(
            r#"{"schema_version":1,"time_ns":5,"device":"10.0.1.5","vni":1,"detector":"beaconing","score":0.9,"endpoint":"192.0.2.1:443","explanation":"x","flows":[]}"#,
            "\n\n",
            r#"{"time_ns":6,"device":"10.0.1.6","detector":"brute_force"}"#,
            "\n"
        );
        let alerts = parse_alerts(text).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].endpoint.as_deref(), Some("192.0.2.1:443"));
        assert_eq!(alerts[1].detector, "brute_force");
    }

    #[test]
    fn parse_alerts_names_line() {
        let error = parse_alerts("{\"time_ns\":1}\nnot json\n").unwrap_err();
        assert!(format!("{error:#}").contains("line 1"), "{error:#}");
    }
}
