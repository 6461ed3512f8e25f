//! The pattern-of-life model: per-device baselines learned online from flow records
//! (peers, services, hour-of-week activity, per-window volume), fleet-wide endpoint
//! and service rarity, the detectors that score deviations from them, and the alerts
//! they raise. docs/alerts.md documents the alert schema.
//!
//! [`Model::observe`] takes each flow record, [`Model::tick`] advances packet time,
//! [`Model::state`] and [`Model::restore`] carry the learned state across restarts.

mod alert;
mod bounded;
mod config;
mod cooldown;
mod detect;
mod detector;
mod device;
mod dns_names;
mod dns_observe;
mod dns_profile;
mod engine;
mod fleet;
mod flow_view;
mod gate;
mod home_nets;
mod hours;
mod peers;
mod port_set;
mod serde_map;
mod services;
mod split_cache;
mod state;
mod stats;
mod volume;
mod welford;

#[cfg(test)]
mod eviction_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use alert::{
    ALERT_SCHEMA_VERSION, Alert, AlertFlow, MAX_ALERT_FLOWS, Severity, endpoint_addr,
    endpoint_with_port,
};
pub use config::{
    DEFAULT_ADMIN_PORTS, DEFAULT_AUTH_PORTS, DEFAULT_HOME_NETS, DetectorConfig, ModelConfig,
    default_home_nets,
};
pub use detector::Detector;
pub use engine::Model;
pub use state::{MODEL_STATE_VERSION, ModelState, RestoreError};
pub use stats::ModelStats;
