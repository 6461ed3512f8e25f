//! The port lists of the model's configuration as bitsets, for the membership tests
//! that the engine and the detectors make per flow record. A test is one shift and
//! one mask, where a list takes a comparison per port.

use super::config::ModelConfig;

/// Words of 64 bits that cover every port.
const WORDS: usize = (u16::MAX as usize + 1) / 64;

/// A set of ports, one bit each (8 KiB).
#[derive(Clone, Debug)]
pub struct PortSet {
    bits: Box<[u64]>,
}

impl PortSet {
    pub fn new(ports: &[u16]) -> PortSet {
        let mut bits = vec![0u64; WORDS].into_boxed_slice();
        for &port in ports {
            if let Some(word) = bits.get_mut(usize::from(port / 64)) {
                *word |= 1 << (port % 64);
            }
        }
        PortSet { bits }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.bits
            .get(usize::from(port / 64))
            .is_some_and(|word| word & (1 << (port % 64)) != 0)
    }
}

/// The port lists of [`ModelConfig`] that the detectors test.
#[derive(Clone, Debug)]
pub struct DetectorPorts {
    /// [`ModelConfig::admin_ports`].
    pub admin: PortSet,
    /// [`ModelConfig::auth_ports`].
    pub auth: PortSet,
}

impl DetectorPorts {
    pub fn new(config: &ModelConfig) -> DetectorPorts {
        DetectorPorts {
            admin: PortSet::new(&config.admin_ports),
            auth: PortSet::new(&config.auth_ports),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_matches_list() {
        let lists: [&[u16]; 4] = [&[], &[0], &[22, 23, 63, 64, 65, 3389], &[u16::MAX, 1]];
        let probes = [
            0,
            1,
            21,
            22,
            23,
            24,
            62,
            63,
            64,
            65,
            66,
            3389,
            65_534,
            u16::MAX,
        ];
        for list in lists {
            let set = PortSet::new(list);
            for port in probes {
                assert_eq!(set.contains(port), list.contains(&port), "{list:?} {port}");
            }
        }
    }

    #[test]
    fn detector_ports_follow_config() {
        let config = ModelConfig::default();
        let ports = DetectorPorts::new(&config);
        for port in 0..=u16::MAX {
            assert_eq!(
                ports.admin.contains(port),
                config.admin_ports.contains(&port)
            );
            assert_eq!(ports.auth.contains(port), config.auth_ports.contains(&port));
        }
    }
}
