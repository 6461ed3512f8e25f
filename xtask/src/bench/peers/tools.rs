//! The flow meters compared on the same capture: how to run each one offline on a file,
//! which version of the capture it reads, and how to read the number of flows it found.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Kind of flow a tool counts, which sets the expected count it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// One flow per conversation (both directions together).
    Conversations,
    /// One flow per direction.
    Directional,
    /// TCP conversations only.
    TcpConversations,
}

/// One measured tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `sensor replay` on the VXLAN capture: decapsulation, flows and the model.
    Sensor,
    /// `sensor replay --decapsulated` on the inner twin, the same input the peers read.
    SensorInner,
    /// `sensor replay --no-model` on the VXLAN capture: flows and payload metadata.
    SensorNoModel,
    /// `sensor replay --no-model --no-app-metadata` on the VXLAN capture: flow records
    /// only, the work of a flow meter.
    SensorFlowsOnly,
    Softflowd,
    Nfpcapd,
    Argus,
    Pmacctd,
    Tshark,
    Nfstream,
}

/// Every tool, ours first.
pub const ALL: [Tool; 10] = [
    Tool::Sensor,
    Tool::SensorInner,
    Tool::SensorNoModel,
    Tool::SensorFlowsOnly,
    Tool::Softflowd,
    Tool::Nfpcapd,
    Tool::Argus,
    Tool::Pmacctd,
    Tool::Tshark,
    Tool::Nfstream,
];

/// Files and folders a tool run needs.
pub struct Paths {
    pub vxlan_pcap: PathBuf,
    pub inner_pcap: PathBuf,
    /// Folder of `sensor` and the other release binaries.
    pub release_dir: PathBuf,
    /// `bench/peers`: the pmacctd settings and the nfstream script.
    pub configs_dir: PathBuf,
}

impl Tool {
    /// Returns the command line shown in the report, without file names.
    pub fn label(self) -> &'static str {
        match self {
            Tool::Sensor => "sensor replay (VXLAN file)",
            Tool::SensorInner => "sensor replay --decapsulated",
            Tool::SensorNoModel => "sensor replay --no-model",
            Tool::SensorFlowsOnly => "sensor replay --no-model --no-app-metadata",
            Tool::Softflowd => "softflowd -r",
            Tool::Nfpcapd => "nfpcapd -r",
            Tool::Argus => "argus -r",
            Tool::Pmacctd => "pmacctd -I",
            Tool::Tshark => "tshark -q -z conv,tcp",
            Tool::Nfstream => "nfstream NFStreamer",
        }
    }

    pub fn is_ours(self) -> bool {
        matches!(
            self,
            Tool::Sensor | Tool::SensorInner | Tool::SensorNoModel | Tool::SensorFlowsOnly
        )
    }

    /// Returns true when the tool reads the VXLAN capture; the others read the inner twin.
    /// tshark decodes VXLAN on UDP port 4789 by itself, so it reads the mirror capture.
    pub fn reads_vxlan(self) -> bool {
        matches!(
            self,
            Tool::Sensor | Tool::SensorNoModel | Tool::SensorFlowsOnly | Tool::Tshark
        )
    }

    pub fn flow_kind(self) -> FlowKind {
        match self {
            Tool::Nfpcapd | Tool::Pmacctd => FlowKind::Directional,
            Tool::Tshark => FlowKind::TcpConversations,
            _ => FlowKind::Conversations,
        }
    }

    /// Builds the measured command. `out_dir` is an empty folder for the tool's output.
    pub fn command(self, paths: &Paths, out_dir: &Path) -> Command {
        let input = if self.reads_vxlan() {
            &paths.vxlan_pcap
        } else {
            &paths.inner_pcap
        };
        match self {
            Tool::Sensor | Tool::SensorInner | Tool::SensorNoModel | Tool::SensorFlowsOnly => {
                let mut command = Command::new(paths.release_dir.join("sensor"));
                command.arg("replay").arg(input);
                match self {
                    Tool::SensorInner => {
                        command.arg("--decapsulated");
                    }
                    Tool::SensorNoModel => {
                        command.arg("--no-model");
                    }
                    Tool::SensorFlowsOnly => {
                        command.args(["--no-model", "--no-app-metadata"]);
                    }
                    _ => {}
                }
                command.arg("--flows-out").arg(out_dir.join("flows.jsonl"));
                command
            }
            Tool::Softflowd => {
                // `-c none` turns the control socket off: softflowd 1.1.0 with a control
                // socket blocks in accept() before it reads a file given with -r. With no
                // -n collector, expired flows are counted and not sent anywhere.
                let mut command = Command::new("softflowd");
                command
                    .arg("-r")
                    .arg(input)
                    .args(["-d", "-6", "-m", "4000000", "-c", "none"]);
                command.arg("-p").arg(out_dir.join("softflowd.pid"));
                command
            }
            Tool::Nfpcapd => {
                // One output file per day of packet time instead of the default 5 minutes.
                let mut command = Command::new("nfpcapd");
                command
                    .arg("-r")
                    .arg(input)
                    .arg("-w")
                    .arg(out_dir)
                    .args(["-t", "86400"]);
                command
            }
            Tool::Argus => {
                // -X drops /etc/argus.conf, so no remote-access port is opened.
                let mut command = Command::new("argus");
                command
                    .arg("-X")
                    .arg("-r")
                    .arg(input)
                    .arg("-w")
                    .arg(out_dir.join("flows.argus"));
                command
            }
            Tool::Pmacctd => {
                let mut command = Command::new("pmacctd");
                command
                    .arg("-f")
                    .arg(paths.configs_dir.join("pmacctd.conf"));
                command
                    .arg("-I")
                    .arg(input)
                    .arg("-o")
                    .arg(out_dir.join("flows.csv"));
                command
            }
            Tool::Tshark => {
                let mut command = Command::new("tshark");
                command
                    .arg("-n")
                    .arg("-r")
                    .arg(input)
                    .args(["-q", "-z", "conv,tcp"]);
                command
            }
            Tool::Nfstream => {
                let mut command = Command::new("python3");
                command
                    .arg(paths.configs_dir.join("nfstream_flows.py"))
                    .arg(input);
                command
            }
        }
    }

    /// Reads the number of flows the finished run found, from its stdout and stderr files
    /// or its output folder.
    pub fn count_flows(
        self,
        out_dir: &Path,
        stdout_path: &Path,
        stderr_path: &Path,
    ) -> Result<u64> {
        match self {
            Tool::Sensor | Tool::SensorInner | Tool::SensorNoModel | Tool::SensorFlowsOnly => {
                let text = read(stderr_path)?;
                number_after(&text, "flows: ", stderr_path)
            }
            Tool::Softflowd => {
                let text = read(stdout_path)?;
                number_after(&text, "Flows expired: ", stdout_path)
            }
            Tool::Nfpcapd => {
                let summary = cmd::stdout(Command::new("nfdump").arg("-R").arg(out_dir).arg("-I"))?;
                let line = summary.lines().find(|line| line.starts_with("Flows:"));
                number_after(line.unwrap_or(""), "Flows: ", out_dir)
            }
            Tool::Argus => {
                // racluster merges the status records of one flow into one record.
                let listing = cmd::stdout(
                    Command::new("racluster")
                        .arg("-r")
                        .arg(out_dir.join("flows.argus"))
                        .args(["-n", "-c", ",", "-s", "proto", "-", "ip"]),
                )?;
                Ok(listing
                    .lines()
                    .skip(1)
                    .filter(|line| !line.trim().is_empty())
                    .count() as u64)
            }
            Tool::Pmacctd => {
                let path = out_dir.join("flows.csv");
                Ok(read(&path)?
                    .lines()
                    .skip(1)
                    .filter(|line| !line.is_empty())
                    .count() as u64)
            }
            Tool::Tshark => Ok(read(stdout_path)?
                .lines()
                .filter(|line| line.contains("<->"))
                .count() as u64),
            Tool::Nfstream => {
                let text = read(stdout_path)?;
                text.trim().parse().with_context(|| {
                    format!(
                        "{} does not hold a flow count: {:?}",
                        stdout_path.display(),
                        text.trim()
                    )
                })
            }
        }
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}

/// Parses the number that follows `prefix` in `text`.
fn number_after(text: &str, prefix: &str, source: &Path) -> Result<u64> {
    let Some((_, rest)) = text.split_once(prefix) else {
        bail!("no {prefix:?} line in {}", source.display());
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .with_context(|| format!("no number after {prefix:?} in {}", source.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_after_cases() {
        let cases = [
            ("flows: 25558 created, 0 evicted", "flows: ", Some(25558)),
            ("Flows expired: 17 (0 forced)", "Flows expired: ", Some(17)),
            ("Flows: x", "Flows: ", None),
            ("nothing", "Flows: ", None),
        ];
        for (text, prefix, expected) in cases {
            assert_eq!(
                number_after(text, prefix, Path::new("t")).ok(),
                expected,
                "text {text:?}"
            );
        }
    }
}
