//! The evaluation report: Markdown tables of detections per attack, time to detect,
//! and false alerts per scenario and per detector.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::score::{MAX_FALSE_PER_100_DEVICE_HOURS, Score};

/// False alerts listed one by one in the report, over all scenarios.
const MAX_LISTED_FALSE_ALERTS: usize = 30;
const NS_PER_SECOND: f64 = 1e9;

/// Renders the report for the scores of all scenarios.
pub fn render(scores: &[Score]) -> String {
    let mut out = String::new();
    let seeds: Vec<String> = scores.iter().map(|s| s.seed.to_string()).collect();
    let _ = writeln!(out, "# Detection evaluation\n");
    let _ = writeln!(out, "Scenario seeds: {}.\n", seeds.join(", "));

    render_kinds(&mut out, scores);
    render_attacks(&mut out, scores);
    render_false_summary(&mut out, scores);
    render_false_list(&mut out, scores);

    let missed: usize = scores.iter().map(Score::missed).sum();
    let over: Vec<String> = scores
        .iter()
        .filter(|s| s.false_rate() > MAX_FALSE_PER_100_DEVICE_HOURS)
        .map(|s| format!("seed {} ({:.2})", s.seed, s.false_rate()))
        .collect();
    let _ = writeln!(out, "## Result\n");
    if missed == 0 && over.is_empty() {
        let _ = writeln!(
            out,
            "PASS: every attack detected; false alerts at most {MAX_FALSE_PER_100_DEVICE_HOURS} per 100 device-hours in every scenario."
        );
    } else {
        let _ = writeln!(
            out,
            "FAIL: {missed} attack(s) missed; false-alert rate above {MAX_FALSE_PER_100_DEVICE_HOURS} per 100 device-hours in: {}.",
            if over.is_empty() {
                "none".to_string()
            } else {
                over.join(", ")
            }
        );
    }
    out
}

/// Formats a duration in packet time as seconds, or "-" when missing.
fn seconds(ns: Option<u64>) -> String {
    match ns {
        Some(ns) => format!("{:.1} s", ns as f64 / NS_PER_SECOND),
        None => "-".to_string(),
    }
}

fn render_kinds(out: &mut String, scores: &[Score]) {
    // kind -> (detected, total, times to detect)
    let mut kinds: BTreeMap<&str, (usize, usize, Vec<u64>)> = BTreeMap::new();
    for result in scores.iter().flat_map(|s| &s.attacks) {
        let entry = kinds.entry(result.kind.as_str()).or_default();
        entry.1 += 1;
        if let Some(delay) = result.time_to_detect_ns {
            entry.0 += 1;
            entry.2.push(delay);
        }
    }
    let _ = writeln!(out, "## By attack kind\n");
    let _ = writeln!(
        out,
        "| attack | detected | median time to detect | max time to detect |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for (kind, (detected, total, mut delays)) in kinds {
        delays.sort_unstable();
        let median = delays.get(delays.len() / 2).copied();
        let max = delays.last().copied();
        let _ = writeln!(
            out,
            "| {kind} | {detected}/{total} | {} | {} |",
            seconds(median),
            seconds(max)
        );
    }
    let _ = writeln!(out);
}

fn render_attacks(out: &mut String, scores: &[Score]) {
    let _ = writeln!(out, "## Attacks\n");
    let _ = writeln!(
        out,
        "| seed | attack | device | result | detector | time to detect |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for score in scores {
        for result in &score.attacks {
            let verdict = if result.detected_by.is_some() {
                "detected"
            } else {
                "MISSED"
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {verdict} | {} | {} |",
                score.seed,
                result.kind,
                result.device,
                result.detected_by.as_deref().unwrap_or("-"),
                seconds(result.time_to_detect_ns)
            );
        }
    }
    let _ = writeln!(out);
}

fn render_false_summary(out: &mut String, scores: &[Score]) {
    let _ = writeln!(out, "## False alerts\n");
    let _ = writeln!(
        out,
        "| seed | device-hours | false alerts | per 100 device-hours | related to an attack | during learning |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for score in scores {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {:.2} | {} | {} |",
            score.seed,
            score.device_hours,
            score.false_alerts.len(),
            score.false_rate(),
            score.related_alerts,
            score.learning_alerts
        );
    }
    let mut by_detector: BTreeMap<&str, usize> = BTreeMap::new();
    for alert in scores.iter().flat_map(|s| &s.false_alerts) {
        *by_detector.entry(alert.detector.as_str()).or_default() += 1;
    }
    if !by_detector.is_empty() {
        let _ = writeln!(out, "\n| detector | false alerts, all seeds |");
        let _ = writeln!(out, "|---|---|");
        for (detector, count) in by_detector {
            let _ = writeln!(out, "| {detector} | {count} |");
        }
    }
    let _ = writeln!(out);
}

fn render_false_list(out: &mut String, scores: &[Score]) {
    let total: usize = scores.iter().map(|s| s.false_alerts.len()).sum();
    if total == 0 {
        return;
    }
    let _ = writeln!(out, "### False alerts, first {MAX_LISTED_FALSE_ALERTS}\n");
    let _ = writeln!(
        out,
        "| seed | time_ns | device | detector | endpoint | explanation |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let listed = scores
        .iter()
        .flat_map(|s| s.false_alerts.iter().map(move |a| (s.seed, a)))
        .take(MAX_LISTED_FALSE_ALERTS);
    for (seed, alert) in listed {
        let _ = writeln!(
            out,
            "| {seed} | {} | {} | {} | {} | {} |",
            alert.time_ns,
            alert.device,
            alert.detector,
            alert.endpoint.as_deref().unwrap_or("-"),
            alert.explanation.replace('|', "\\|")
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::score::{Alert, AttackResult};

    fn score(detected: bool, false_alerts: usize) -> Score {
        Score {
            seed: 1,
            attacks: vec![AttackResult {
                kind: "beaconing".into(),
                device: "10.0.1.10".into(),
                start_ns: 0,
                detected_by: detected.then(|| "beaconing".into()),
                time_to_detect_ns: detected.then_some(90_000_000_000),
            }],
            false_alerts: vec![
                Alert {
                    time_ns: 5,
                    device: "10.0.3.10".into(),
                    detector: "rare_endpoint".into(),
                    endpoint: None,
                    explanation: "a | b".into(),
                };
                false_alerts
            ],
            related_alerts: 0,
            learning_alerts: 0,
            device_hours: 672.0,
        }
    }

    #[test]
    fn render_pass() {
        let report = render(&[score(true, 1)]);
        assert!(
            report.contains("| beaconing | 1/1 | 90.0 s | 90.0 s |"),
            "{report}"
        );
        assert!(report.contains("PASS"), "{report}");
    }

    #[test]
    fn render_fail_on_missed() {
        let report = render(&[score(false, 0)]);
        assert!(report.contains("MISSED"), "{report}");
        assert!(report.contains("FAIL: 1 attack(s) missed"), "{report}");
    }

    #[test]
    fn render_escapes_pipes() {
        let report = render(&[score(true, 1)]);
        assert!(report.contains("a \\| b"), "{report}");
    }
}
