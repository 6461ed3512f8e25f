//! The lab: two network namespaces joined by a veth pair. The mirror-source namespace
//! sends mirror frames out of its veth end, and the sensor namespace receives them on
//! the other end, where the sensor attaches its XDP program and AF_XDP sockets.
//!
//! Both veth ends are created directly inside their namespaces, so several labs with
//! different prefixes can exist at once without name clashes in the root namespace.

use std::ffi::OsStr;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The lab's names and shape.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// Namespace name prefix: the lab creates `<prefix>-src` and `<prefix>-sensor`.
    pub prefix: String,
    /// RX and TX queue count of each veth end.
    pub queues: u32,
    /// veth end in the mirror-source namespace.
    pub src_if: String,
    /// veth end in the sensor namespace.
    pub sensor_if: String,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            prefix: "mirlab".to_string(),
            queues: 1,
            src_if: "mirror0".to_string(),
            sensor_if: "sensor0".to_string(),
        }
    }
}

/// Address of the mirror-source veth end, from the documentation range 192.0.2.0/24
/// (RFC 5737) and used only inside the lab's namespaces.
pub const SRC_ADDR: &str = "192.0.2.1";
/// Address of the sensor veth end (the mirror target).
pub const SENSOR_ADDR: &str = "192.0.2.2";
const PREFIX_LEN: u32 = 24;
/// Linux limit on interface names (IFNAMSIZ - 1).
const MAX_IFNAME_LEN: usize = 15;
/// Upper bound on veth queues. It catches typos; a lab needs about one queue per CPU.
const MAX_QUEUES: u32 = 256;

/// A running lab. Dropping it tears it down, unless [`Lab::keep`] was called.
#[derive(Debug)]
pub struct Lab {
    src_ns: String,
    sensor_ns: String,
    src_if: String,
    sensor_if: String,
    tear_down_on_drop: bool,
}

impl Lab {
    /// Creates the namespaces and the veth pair, and brings them up. A lab left over
    /// with the same names is removed first.
    pub fn up(cfg: &LabConfig) -> Result<Lab> {
        validate(cfg)?;
        if !cmd::is_root() {
            bail!(
                "the lab needs root to create network namespaces and veth interfaces: \
                 rerun as root"
            );
        }
        let lab = Lab::named(cfg);
        lab.down()?;

        cmd::output(Command::new("ip").args(["netns", "add", &lab.src_ns]))?;
        cmd::output(Command::new("ip").args(["netns", "add", &lab.sensor_ns]))?;
        let queues = cfg.queues.to_string();
        cmd::output(Command::new("ip").args([
            "-n",
            &lab.src_ns,
            "link",
            "add",
            &lab.src_if,
            "numtxqueues",
            &queues,
            "numrxqueues",
            &queues,
            "type",
            "veth",
            "peer",
            "name",
            &lab.sensor_if,
            "netns",
            &lab.sensor_ns,
            "numtxqueues",
            &queues,
            "numrxqueues",
            &queues,
        ]))?;

        lab.configure_end(&lab.src_ns, &lab.src_if, SRC_ADDR)?;
        lab.configure_end(&lab.sensor_ns, &lab.sensor_if, SENSOR_ADDR)?;
        lab.set_offloads()?;
        Ok(lab)
    }

    /// Returns a handle for the lab that `cfg` names, whether or not it exists, so that
    /// [`Lab::down`] can remove it.
    pub fn named(cfg: &LabConfig) -> Lab {
        Lab {
            src_ns: format!("{}-src", cfg.prefix),
            sensor_ns: format!("{}-sensor", cfg.prefix),
            src_if: cfg.src_if.clone(),
            sensor_if: cfg.sensor_if.clone(),
            tear_down_on_drop: true,
        }
    }

    /// Removes both namespaces; the veth pair goes with them. Removing a lab that does
    /// not exist succeeds.
    pub fn down(&self) -> Result<()> {
        for ns in [&self.src_ns, &self.sensor_ns] {
            if namespace_exists(ns) {
                cmd::output(Command::new("ip").args(["netns", "delete", ns]))?;
            }
        }
        Ok(())
    }

    /// Leaves the lab in place when this handle is dropped (for `cargo xtask lab up`).
    pub fn keep(mut self) {
        self.tear_down_on_drop = false;
    }

    pub fn src_ns(&self) -> &str {
        &self.src_ns
    }

    pub fn sensor_ns(&self) -> &str {
        &self.sensor_ns
    }

    pub fn src_if(&self) -> &str {
        &self.src_if
    }

    pub fn sensor_if(&self) -> &str {
        &self.sensor_if
    }

    /// Returns a command that runs `program` inside namespace `ns` (`ip netns exec`).
    /// `ip netns exec` replaces itself with the program, so the child's process id is
    /// the program's and signals sent to it reach the program.
    pub fn command_in(ns: &str, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns]).arg(program);
        command
    }

    fn configure_end(&self, ns: &str, ifname: &str, addr: &str) -> Result<()> {
        // Loopback must be up in the sensor namespace for the metrics endpoint on
        // 127.0.0.1, and costs nothing in the other.
        cmd::output(Command::new("ip").args(["-n", ns, "link", "set", "lo", "up"]))?;
        let cidr = format!("{addr}/{PREFIX_LEN}");
        cmd::output(Command::new("ip").args(["-n", ns, "addr", "add", &cidr, "dev", ifname]))?;
        cmd::output(Command::new("ip").args(["-n", ns, "link", "set", ifname, "up"]))?;
        Ok(())
    }

    /// Turns off VLAN tag offload (802.1Q and 802.1ad) on both ends: with it on, the
    /// kernel moves a tag out of the frame into skb metadata, and the XDP program would
    /// not see it.
    ///
    /// GRO stays at the kernel default. On veth, attaching an XDP program to the
    /// receiving end enables its NAPI by itself (checked on Linux 6.18). GRO (or an XDP
    /// program) on the peer is needed only to XDP_REDIRECT frames *into* a veth with
    /// `ndo_xdp_xmit`, which the lab does not do.
    fn set_offloads(&self) -> Result<()> {
        for (ns, ifname) in [
            (&self.src_ns, &self.src_if),
            (&self.sensor_ns, &self.sensor_if),
        ] {
            cmd::output(
                Lab::command_in(ns, "ethtool")
                    .args(["-K", ifname, "rxvlan", "off", "txvlan", "off"])
                    .args([
                        "rx-vlan-stag-hw-parse",
                        "off",
                        "tx-vlan-stag-hw-insert",
                        "off",
                    ]),
            )
            .with_context(|| format!("failed to turn off VLAN offload on {ifname} in {ns}"))?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.tear_down_on_drop {
            return;
        }
        if let Err(error) = self.down() {
            eprintln!("lab teardown failed: {error:#}");
        }
    }
}

fn namespace_exists(ns: &str) -> bool {
    std::path::Path::new("/run/netns").join(ns).exists()
}

fn validate(cfg: &LabConfig) -> Result<()> {
    if cfg.queues == 0 || cfg.queues > MAX_QUEUES {
        bail!("invalid queue count {}: use 1 to {MAX_QUEUES}", cfg.queues);
    }
    if cfg.prefix.is_empty() || cfg.prefix.contains('/') {
        bail!(
            "invalid lab prefix {:?}: use a short name without '/'",
            cfg.prefix
        );
    }
    for ifname in [&cfg.src_if, &cfg.sensor_if] {
        if ifname.is_empty() || ifname.len() > MAX_IFNAME_LEN {
            bail!("invalid interface name {ifname:?}: use 1 to {MAX_IFNAME_LEN} characters");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_uses_prefix() {
        let cfg = LabConfig {
            prefix: "t1".to_string(),
            ..LabConfig::default()
        };
        let lab = Lab::named(&cfg);
        assert_eq!(lab.src_ns(), "t1-src");
        assert_eq!(lab.sensor_ns(), "t1-sensor");
        lab.keep();
    }

    #[test]
    fn validate_rejects_bad_configs() {
        let base = LabConfig::default();
        let cases = [
            LabConfig {
                queues: 0,
                ..base.clone()
            },
            LabConfig {
                queues: MAX_QUEUES + 1,
                ..base.clone()
            },
            LabConfig {
                prefix: String::new(),
                ..base.clone()
            },
            LabConfig {
                src_if: "a-very-long-interface".to_string(),
                ..base.clone()
            },
            LabConfig {
                sensor_if: String::new(),
                ..base.clone()
            },
        ];
        for cfg in cases {
            assert!(validate(&cfg).is_err(), "accepted {cfg:?}");
        }
    }

    #[test]
    fn validate_accepts_default() {
        assert!(validate(&LabConfig::default()).is_ok());
    }

    #[test]
    fn command_in_wraps_ip_netns_exec() {
        let command = Lab::command_in("lab-src", "ping");
        assert_eq!(cmd::describe(&command), "ip netns exec lab-src ping");
    }
}
