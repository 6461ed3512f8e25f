//! The detector catalogue: one variant per detector, with its alert id, its MITRE
//! ATT&CK technique, and whether the learning period suppresses its alerts.

use serde::{Deserialize, Serialize};

/// A detector. The serialized form is the `detector` field of an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    RareEndpoint,
    OutboundVolume,
    Beaconing,
    VerticalScan,
    HorizontalScan,
    BruteForce,
    LateralMovement,
    UnusualHours,
    NewService,
    DnsTunnelling,
    Dga,
}

impl Detector {
    /// Every detector, in the order of [`Detector::index`].
    pub const ALL: [Detector; 11] = [
        Detector::RareEndpoint,
        Detector::OutboundVolume,
        Detector::Beaconing,
        Detector::VerticalScan,
        Detector::HorizontalScan,
        Detector::BruteForce,
        Detector::LateralMovement,
        Detector::UnusualHours,
        Detector::NewService,
        Detector::DnsTunnelling,
        Detector::Dga,
    ];

    /// Alert id, as in the `detector` field of an alert and in metric labels.
    pub fn id(self) -> &'static str {
        match self {
            Detector::RareEndpoint => "rare_endpoint",
            Detector::OutboundVolume => "outbound_volume",
            Detector::Beaconing => "beaconing",
            Detector::VerticalScan => "vertical_scan",
            Detector::HorizontalScan => "horizontal_scan",
            Detector::BruteForce => "brute_force",
            Detector::LateralMovement => "lateral_movement",
            Detector::UnusualHours => "unusual_hours",
            Detector::NewService => "new_service",
            Detector::DnsTunnelling => "dns_tunnelling",
            Detector::Dga => "dga",
        }
    }

    /// MITRE ATT&CK technique id, or `None` where the deviation maps to no technique.
    pub fn attack_technique(self) -> Option<&'static str> {
        match self {
            Detector::RareEndpoint | Detector::Beaconing => Some("T1071"),
            Detector::OutboundVolume => Some("T1048"),
            Detector::VerticalScan | Detector::HorizontalScan => Some("T1046"),
            Detector::BruteForce => Some("T1110"),
            Detector::LateralMovement => Some("T1021"),
            Detector::UnusualHours | Detector::NewService => None,
            Detector::DnsTunnelling => Some("T1071.004"),
            Detector::Dga => Some("T1568.002"),
        }
    }

    /// Whether the detector compares against a learned baseline, so that the learning
    /// period suppresses its alerts. Scans and brute force need no baseline.
    pub fn needs_baseline(self) -> bool {
        !matches!(
            self,
            Detector::VerticalScan | Detector::HorizontalScan | Detector::BruteForce
        )
    }

    /// Position in [`Detector::ALL`], for per-detector counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_all() {
        for (i, detector) in Detector::ALL.iter().enumerate() {
            assert_eq!(detector.index(), i, "{detector:?}");
        }
    }

    #[test]
    fn serde_name_is_id() {
        for detector in Detector::ALL {
            let json = serde_json::to_string(&detector).unwrap();
            assert_eq!(json, format!("\"{}\"", detector.id()));
        }
    }
}
