//! Reading the program's per-CPU verdict counters at scrape time.

use std::sync::Arc;

use aya::maps::{MapData, PerCpuArray};
use sensor_ebpf::{Verdict, maps};

use super::XdpError;

/// Frame counts per [`Verdict`], indexed by `Verdict as usize`.
pub type VerdictCounts = [u64; Verdict::COUNT as usize];

/// A handle on the `VERDICTS` map that other threads (the metrics endpoint)
/// can keep and read. Cloning it shares the same map.
#[derive(Clone)]
pub struct VerdictReader {
    map: Arc<PerCpuArray<MapData, u64>>,
}

impl VerdictReader {
    pub(crate) fn new(map: PerCpuArray<MapData, u64>) -> Self {
        Self { map: Arc::new(map) }
    }

    /// Reads every counter, summed over CPUs.
    ///
    /// # Errors
    ///
    /// The map lookup syscall failed.
    pub fn read(&self) -> Result<VerdictCounts, XdpError> {
        let mut counts = [0; Verdict::COUNT as usize];
        for verdict in Verdict::ALL {
            let per_cpu = self
                .map
                .get(&(verdict as u32), 0)
                .map_err(|source| XdpError::Map {
                    name: maps::VERDICTS,
                    operation: "lookup",
                    source,
                })?;
            counts[verdict as usize] = per_cpu.iter().sum();
        }
        Ok(counts)
    }
}
