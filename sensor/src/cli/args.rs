//! Flag definitions (clap derive).

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand};
use ipnet::IpNet;

use crate::{
    capture::{xdp::XdpMode, xsk::BindMode},
    decap::DecapConfig,
    flow::FlowConfig,
};

/// AF_XDP traffic-mirror sensor: decapsulates VPC Traffic Mirroring (VXLAN,
/// GENEVE) frames and writes bidirectional flow records.
#[derive(Debug, Parser)]
#[command(name = "sensor", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line and the `SENSOR_*` variables like `Cli::parse`,
    /// and exits with a usage error (status 2) when `--no-model` is on together
    /// with a flag that needs the model.
    pub fn parse_checked() -> Cli {
        let cli = Cli::parse();
        let (name, model) = match &cli.command {
            Command::Run(args) => ("run", &args.model),
            Command::Replay(args) => ("replay", &args.model),
        };
        if let Some((flag, variable)) = model.flag_needing_model() {
            let message = format!(
                "the argument '{flag}' cannot be used with '--no-model', which runs no model: \
                 remove one of them from the command line or the environment \
                 ({variable}, SENSOR_NO_MODEL)"
            );
            // Building the command first gives the subcommand its full name, so
            // the usage line reads `sensor replay ...`.
            let mut command = Cli::command();
            command.build();
            let subcommand = command
                .find_subcommand_mut(name)
                .expect("every Command variant is a subcommand");
            subcommand
                .error(clap::error::ErrorKind::ArgumentConflict, message)
                .exit();
        }
        cli
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture mirrored traffic live from an interface with XDP and AF_XDP
    /// sockets (needs root, or CAP_BPF + CAP_NET_ADMIN + CAP_NET_RAW).
    Run(RunArgs),
    /// Read pcap or pcapng files through the same pipeline, unprivileged.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Interface that receives the mirrored traffic.
    #[arg(long, env = "SENSOR_INTERFACE")]
    pub interface: String,

    /// RX queues to capture, comma-separated (default: every RX queue of the
    /// interface). Each gets its own AF_XDP socket and worker thread.
    #[arg(long, env = "SENSOR_QUEUES", value_delimiter = ',', value_parser = parse_trimmed::<u32>)]
    pub queues: Vec<u32>,

    /// XDP attach mode: native (in the driver) or generic (after the driver
    /// builds an skb; slower, works everywhere).
    #[arg(long, env = "SENSOR_XDP_MODE", value_enum, default_value = "native")]
    pub xdp_mode: XdpMode,

    /// AF_XDP bind mode: auto tries zero-copy, then copy.
    #[arg(long, env = "SENSOR_BIND_MODE", value_enum, default_value = "auto")]
    pub bind_mode: BindMode,

    /// Frames in each queue's UMEM (a power of two); also its fill ring size.
    #[arg(long, env = "SENSOR_UMEM_FRAMES", default_value_t = 4096)]
    pub umem_frames: u32,

    /// Bytes per UMEM frame: 2048 or 4096. The kernel keeps 256 of them as
    /// headroom, so a frame may be at most this minus 256 bytes long.
    #[arg(long, env = "SENSOR_FRAME_SIZE_BYTES", default_value_t = 4096)]
    pub frame_size_bytes: u32,

    /// Descriptors in each socket's RX ring (a power of two).
    #[arg(long, env = "SENSOR_RX_RING_SIZE", default_value_t = 2048)]
    pub rx_ring_size: u32,

    /// Accept mirror frames only from these source prefixes (CIDR,
    /// comma-separated, IPv4 or IPv6); mirror frames from other sources are
    /// dropped in XDP. Default: any source.
    #[arg(long, env = "SENSOR_MIRROR_SOURCES", value_delimiter = ',', value_parser = parse_prefix)]
    pub mirror_source: Vec<IpNet>,

    /// Do not stamp the kernel receive time into each frame; packet time is
    /// then the time user space takes the batch.
    #[arg(long, env = "SENSOR_NO_XDP_TIMESTAMP", value_parser = parse_switch)]
    pub no_xdp_timestamp: bool,

    /// Pin worker i to the i-th CPU of this list (comma-separated CPU ids).
    /// Default: worker i on CPU i modulo the CPU count.
    #[arg(long, env = "SENSOR_CPUS", value_delimiter = ',', value_parser = parse_trimmed::<usize>)]
    pub cpus: Vec<usize>,

    /// Do not pin worker threads to CPUs.
    #[arg(long, env = "SENSOR_NO_PIN", value_parser = parse_switch)]
    pub no_pin: bool,

    /// Stop by itself after this many seconds (default: run until SIGINT or SIGTERM).
    #[arg(long, env = "SENSOR_DURATION_SECS")]
    pub duration_secs: Option<u64>,

    #[command(flatten)]
    pub decap: DecapArgs,

    #[command(flatten)]
    pub flows: FlowArgs,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Address of the Prometheus metrics endpoint (`GET /metrics`).
    #[arg(long, env = "SENSOR_METRICS_LISTEN", default_value = "127.0.0.1:9477")]
    pub metrics_listen: SocketAddr,

    /// Do not serve metrics.
    #[arg(long, env = "SENSOR_NO_METRICS", value_parser = parse_switch)]
    pub no_metrics: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// pcap or pcapng files, read in the order given.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// The files hold plain traffic, not mirror frames: decode each frame
    /// from its own Ethernet (or raw IP) header, with VNI 0.
    #[arg(long, env = "SENSOR_DECAPSULATED", value_parser = parse_switch)]
    pub decapsulated: bool,

    #[command(flatten)]
    pub decap: DecapArgs,

    #[command(flatten)]
    pub flows: FlowArgs,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Serve metrics at this address while replaying (default: off).
    #[arg(long, env = "SENSOR_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct DecapArgs {
    /// UDP destination ports that carry VXLAN (comma-separated).
    #[arg(long, env = "SENSOR_VXLAN_PORTS", value_delimiter = ',', default_value = "4789", value_parser = parse_trimmed::<u16>)]
    pub vxlan_port: Vec<u16>,

    /// UDP destination ports that carry GENEVE (comma-separated).
    #[arg(long, env = "SENSOR_GENEVE_PORTS", value_delimiter = ',', default_value = "6081", value_parser = parse_trimmed::<u16>)]
    pub geneve_port: Vec<u16>,
}

#[derive(Debug, Args)]
pub struct FlowArgs {
    /// Where flow records go, as JSON lines: a file path, or `-` for stdout.
    /// When writes fail, capture goes on, the lost records are counted, and
    /// the command exits with an error at stop.
    #[arg(long, env = "SENSOR_FLOWS_OUT", default_value = "-")]
    pub flows_out: PathBuf,

    /// A flow with no packet for this many seconds (packet time) ends.
    #[arg(long, env = "SENSOR_FLOW_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub flow_idle_timeout_secs: u64,

    /// A flow still active after this many seconds gets an interim record.
    #[arg(long, env = "SENSOR_FLOW_ACTIVE_TIMEOUT_SECS", default_value_t = 300)]
    pub flow_active_timeout_secs: u64,

    /// Most flows tracked at once (over all workers); when full, the oldest
    /// idle flow is evicted and counted.
    #[arg(long, env = "SENSOR_FLOW_CAPACITY", default_value_t = 1_000_000)]
    pub flow_capacity: usize,

    /// Do not parse packet payloads: no DNS, HTTP, TLS or QUIC metadata in
    /// flow records, and no DNS names for the model. For deployments that may
    /// not record names, URLs or user agents, or that need the CPU time.
    #[arg(long, env = "SENSOR_NO_APP_METADATA", value_parser = parse_switch)]
    pub no_app_metadata: bool,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Write flow records only: no pattern-of-life model and no alerts.
    /// Cannot be combined with --alerts-out, --alert-webhook or --model-state.
    // The conflicts are checked in `Cli::parse_checked`, not with clap's
    // `conflicts_with`, because clap counts `SENSOR_NO_MODEL=0` as the flag given.
    #[arg(long, env = "SENSOR_NO_MODEL", value_parser = parse_switch)]
    pub no_model: bool,

    /// Where alerts go, as JSON lines (docs/alerts.md): a file path, or `-`
    /// for stdout. Alerts are also logged. Default: logged only. An alert
    /// that fails to be written is lost and counted, and the command exits
    /// with an error at stop.
    #[arg(long, env = "SENSOR_ALERTS_OUT")]
    pub alerts_out: Option<PathBuf>,

    /// POST each alert as JSON to this http:// URL (retried with backoff; a
    /// full queue drops alerts and counts them). Alerts dropped or given up on
    /// make the command exit with an error at stop.
    #[arg(long, env = "SENSOR_ALERT_WEBHOOK")]
    pub alert_webhook: Option<String>,

    /// Hours of packet time, from a device's first flow, during which
    /// baseline-relative detectors learn without alerting.
    #[arg(long, env = "SENSOR_LEARNING_PERIOD_HOURS", default_value_t = 24)]
    pub learning_period_hours: u64,

    /// Networks whose addresses are monitored devices (CIDR, comma-separated).
    /// Default: RFC 1918, 100.64.0.0/10 and fc00::/7.
    #[arg(long, env = "SENSOR_HOME_NETS", value_delimiter = ',', value_parser = parse_prefix)]
    pub home_net: Vec<IpNet>,

    /// Seconds before the same device, detector and endpoint may alert again.
    #[arg(long, env = "SENSOR_ALERT_COOLDOWN_SECS", default_value_t = 3600)]
    pub alert_cooldown_secs: u64,

    /// File that keeps the learned model across restarts; restored at start
    /// (a corrupt or newer file is moved aside and logged), saved
    /// periodically and at stop. Its directory must take new files; a save
    /// that fails at stop is an error. Default: nothing is kept.
    #[arg(long, env = "SENSOR_MODEL_STATE")]
    pub model_state: Option<PathBuf>,

    /// Seconds between two saves of --model-state; a crash loses at most this
    /// much learning.
    #[arg(long, env = "SENSOR_SNAPSHOT_INTERVAL_SECS", default_value_t = 300)]
    pub snapshot_interval_secs: u64,

    /// Most devices the model tracks; beyond it the least recently seen is
    /// forgotten and counted. Each device costs about 28 KB with 8 peers, more with many.
    #[arg(long, env = "SENSOR_MODEL_MAX_DEVICES", default_value_t = 65_536)]
    pub model_max_devices: usize,

    /// Most peers one device profile keeps; beyond it the least recently seen
    /// is forgotten and counted.
    #[arg(long, env = "SENSOR_MODEL_MAX_PEERS", default_value_t = 4096)]
    pub model_max_peers: usize,
}

/// Rejects a `--model-state` path that could never be saved or read: its
/// directory is missing or takes no new file, or the path is a directory or a
/// special file.
fn check_state_path(path: &std::path::Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "invalid --model-state {}: directory {} does not exist; create it first",
            path.display(),
            dir.display()
        );
    }
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        anyhow::bail!(
            "invalid --model-state {}: it exists and is not a regular file; pick a file path",
            path.display()
        );
    }
    // The error names the OS error and the fix. It goes into the message, not the
    // causes, because its own message already contains the OS error.
    crate::state::SnapshotStore::<crate::model::ModelState>::new(path)
        .check_writable()
        .map_err(|error| anyhow::anyhow!("invalid --model-state {}: {error}", path.display()))
}

/// Parses the value of an on/off flag's environment variable (the flag itself
/// passes `true`). A value outside the documented ones is an error, because a typo
/// must not turn the model or the payload parsers off silently.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    let value = text.trim().to_ascii_lowercase();
    match value.as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        // clap puts the value and the flag in front of this message.
        _ => Err("use 1, true, yes or on for on, and 0, false, no, off or empty for off".into()),
    }
}

/// Parses one item of a comma-separated list, ignoring spaces around it.
pub fn parse_trimmed<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.trim()
        .parse()
        .map_err(|error| format!("invalid value {:?}: {error}", text.trim()))
}

/// Parses a CIDR prefix, with a message that names the fix.
pub fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if !text.contains('/') {
        return Err(format!(
            "{text:?} has no prefix length: write it as a CIDR prefix such as {text}/32 or {text}/128"
        ));
    }
    let net: IpNet = text
        .parse()
        .map_err(|_| format!("{text:?} is not a CIDR prefix such as 10.0.0.0/8 or fd00::/8"))?;
    if net.trunc() != net {
        return Err(format!(
            "{text:?} has host bits set: did you mean {}?",
            net.trunc()
        ));
    }
    Ok(net)
}

impl ModelArgs {
    /// Returns the first of `--alerts-out`, `--alert-webhook` and `--model-state`
    /// that is set while `--no-model` is on, since each would do nothing, with
    /// its environment variable.
    pub fn flag_needing_model(&self) -> Option<(&'static str, &'static str)> {
        if !self.no_model {
            return None;
        }
        if self.alerts_out.is_some() {
            Some(("--alerts-out", "SENSOR_ALERTS_OUT"))
        } else if self.alert_webhook.is_some() {
            Some(("--alert-webhook", "SENSOR_ALERT_WEBHOOK"))
        } else if self.model_state.is_some() {
            Some(("--model-state", "SENSOR_MODEL_STATE"))
        } else {
            None
        }
    }

    /// Returns the model settings these flags give.
    pub fn config(&self) -> anyhow::Result<crate::model::ModelConfig> {
        if self.snapshot_interval_secs == 0 {
            anyhow::bail!("invalid --snapshot-interval-secs 0: it must be at least 1");
        }
        let mut config = crate::model::ModelConfig::default();
        if !self.home_net.is_empty() {
            config.home_nets = self.home_net.clone();
        }
        config.learning_period =
            std::time::Duration::from_secs(self.learning_period_hours.saturating_mul(3600));
        config.alert_cooldown = std::time::Duration::from_secs(self.alert_cooldown_secs);
        if self.model_max_devices == 0 || self.model_max_peers == 0 {
            anyhow::bail!(
                "invalid --model-max-devices {} / --model-max-peers {}: both must be at least 1",
                self.model_max_devices,
                self.model_max_peers
            );
        }
        config.max_devices = self.model_max_devices;
        config.max_peers_per_device = self.model_max_peers;
        if let Some(path) = &self.model_state {
            check_state_path(path)?;
        }
        Ok(config)
    }
}

impl DecapArgs {
    /// Returns the decoder settings these flags give.
    pub fn config(&self, decapsulated: bool) -> DecapConfig {
        DecapConfig {
            vxlan_ports: self.vxlan_port.clone(),
            geneve_ports: self.geneve_port.clone(),
            decapsulated,
        }
    }
}

/// Largest accepted `--flow-capacity`. The table reserves about 220 bytes per
/// flow up front, so this is over 4 GiB. Only the index is resident from the start:
/// about 23 bytes per flow, more when split over many workers. The rest is touched as
/// flows arrive.
pub const MAX_FLOW_CAPACITY: usize = 20_000_000;

impl FlowArgs {
    /// Returns the flow table settings these flags give.
    pub fn config(&self) -> anyhow::Result<FlowConfig> {
        if self.flow_capacity == 0 || self.flow_capacity > MAX_FLOW_CAPACITY {
            anyhow::bail!(
                "invalid --flow-capacity {}: it must be between 1 and {MAX_FLOW_CAPACITY}",
                self.flow_capacity
            );
        }
        if self.flow_idle_timeout_secs == 0 {
            anyhow::bail!("invalid --flow-idle-timeout-secs 0: it must be at least 1");
        }
        if self.flow_active_timeout_secs < self.flow_idle_timeout_secs {
            anyhow::bail!(
                "invalid --flow-active-timeout-secs {}: it must be at least --flow-idle-timeout-secs ({})",
                self.flow_active_timeout_secs,
                self.flow_idle_timeout_secs
            );
        }
        Ok(FlowConfig {
            capacity: self.flow_capacity,
            idle_timeout_ns: self.flow_idle_timeout_secs.saturating_mul(1_000_000_000),
            active_timeout_ns: self.flow_active_timeout_secs.saturating_mul(1_000_000_000),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn switch_values() {
        for on in ["1", "true", "YES", " on "] {
            assert_eq!(parse_switch(on), Ok(true), "{on:?}");
        }
        for off in ["", "0", "False", "no", "off"] {
            assert_eq!(parse_switch(off), Ok(false), "{off:?}");
        }
        let error = parse_switch("flase").expect_err("a typo is rejected");
        assert!(error.contains("0, false, no, off or empty"), "{error}");
    }

    #[test]
    fn no_model_flags_needing_model() {
        let model_of = |args: &[&str]| match Cli::try_parse_from(args).expect("flags parse") {
            Cli {
                command: Command::Replay(replay),
            } => replay.model,
            other => panic!("not a replay: {other:?}"),
        };

        let with_alerts = model_of(&[
            "sensor",
            "replay",
            "a.pcap",
            "--no-model",
            "--alerts-out",
            "-",
        ]);
        assert_eq!(
            with_alerts.flag_needing_model(),
            Some(("--alerts-out", "SENSOR_ALERTS_OUT"))
        );
        let with_state = model_of(&[
            "sensor",
            "replay",
            "a.pcap",
            "--no-model",
            "--model-state",
            "m",
        ]);
        assert_eq!(
            with_state.flag_needing_model(),
            Some(("--model-state", "SENSOR_MODEL_STATE"))
        );
        let model_on = model_of(&["sensor", "replay", "a.pcap", "--alerts-out", "-"]);
        assert_eq!(model_on.flag_needing_model(), None);
        let flows_only = model_of(&["sensor", "replay", "a.pcap", "--no-model"]);
        assert_eq!(flows_only.flag_needing_model(), None);
    }

    #[test]
    fn flags_doc_lists_every_flag() {
        let docs = include_str!("../../../docs/flags.md");
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                if let Some(long) = arg.get_long() {
                    let flag = format!("`--{long}`");
                    assert!(
                        docs.contains(&flag),
                        "docs/flags.md lacks {flag} ({})",
                        command.get_name()
                    );
                }
                if let Some(env) = arg.get_env() {
                    let env = format!("`{}`", env.to_string_lossy());
                    assert!(docs.contains(&env), "docs/flags.md lacks {env}");
                }
            }
        }
    }

    #[test]
    fn flow_config_rejects_zero_capacity() {
        let args = FlowArgs {
            flows_out: "-".into(),
            flow_idle_timeout_secs: 60,
            flow_active_timeout_secs: 300,
            flow_capacity: 0,
            no_app_metadata: false,
        };
        assert!(args.config().is_err());
    }

    #[test]
    fn flow_config_rejects_active_below_idle() {
        let args = FlowArgs {
            flows_out: "-".into(),
            flow_idle_timeout_secs: 60,
            flow_active_timeout_secs: 30,
            flow_capacity: 10,
            no_app_metadata: false,
        };
        assert!(args.config().is_err());
    }
}
