//! The model's learned state as one serializable value, for snapshots: every device
//! profile and the cooldown table. Fleet rarity is not stored, because it is rebuilt
//! from the devices' peers and services on restore.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::cooldown::Cooldown;
use super::device::{Device, DeviceKey};

/// Version of the model state layout. Bump it when a field changes meaning, so an old
/// sensor rejects a newer state instead of misreading it.
pub const MODEL_STATE_VERSION: u32 = 1;

/// Learned state of a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelState {
    pub(crate) version: u32,
    /// Latest packet time the model had seen.
    pub(crate) clock_ns: u64,
    pub(crate) devices: Vec<(DeviceKey, Device)>,
    pub(crate) cooldown: Cooldown,
}

impl ModelState {
    /// Layout version of this state.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Latest packet time the model had seen, ns since the Unix epoch.
    pub fn clock_ns(&self) -> u64 {
        self.clock_ns
    }

    /// Devices in the state.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }
}

/// Error from restoring a model state.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RestoreError {
    #[error(
        "model state version {found} is newer than version {supported} that this sensor reads; run a newer sensor or move the state file aside to learn anew"
    )]
    NewerVersion { found: u32, supported: u32 },
    #[error(
        "model state version {found} is no longer supported (this sensor reads version {supported}); move the state file aside to learn anew"
    )]
    OlderVersion { found: u32, supported: u32 },
    #[error(
        "model state lists device {addr} in VNI {vni} twice; the state file is corrupt, move it aside"
    )]
    DuplicateDevice { vni: u32, addr: std::net::IpAddr },
    #[error(
        "model state device {addr} in VNI {vni} is invalid: {reason}; the state file is corrupt, move it aside"
    )]
    InvalidDevice {
        vni: u32,
        addr: std::net::IpAddr,
        reason: &'static str,
    },
}
