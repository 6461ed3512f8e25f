//! The injected attacks: each is placed at a seed-dependent time after the learning
//! period, on devices drawn from the fleet, without overlapping another attack's
//! window, and described for the ground-truth file.

use std::net::Ipv4Addr;

use anyhow::{Result, bail};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use super::benign::{Background, browse};
use super::dns_attacks::{dga, dns_tunnelling};
use super::flow::{FlowSpec, Shape, is_internal};
use super::plan::Plan;
use super::time::{DAY_NS, HOUR_NS, MINUTE_NS, SECOND_NS, day_index, is_weekend, uniform_time};
use super::topology::{
    Device, NTP_SERVERS, PORT_APP, PORT_DNS, PORT_HTTPS, PORT_NTP, PORT_RSYNC, PORT_SSH, Role,
};

/// An alert within this long after an attack's last packet still counts for it, so no
/// other attack starts within it.
pub const MATCH_GRACE_NS: u64 = HOUR_NS;
/// Draws of one attack's start before the placement of every attack starts over, and
/// rounds of placement before giving up.
const MAX_PLACEMENT_DRAWS: u32 = 200;
const MAX_PLACEMENT_ROUNDS: u32 = 50;
/// Ports probed by the port scan.
const SCAN_PORTS: usize = 200;
/// Addresses probed by the host sweep.
const SWEEP_HOSTS: u8 = 60;
const BRUTE_FORCE_SESSIONS: u32 = 100;
/// Exfiltration sends at least this many bytes, and at least ten times the device's
/// usual daily bytes to external addresses.
const EXFILTRATION_MIN_BYTES: u64 = 8_000_000;
const EXFILTRATION_FACTOR: u64 = 10;
const BEACON_INTERVAL_NS: u64 = 60 * SECOND_NS;
const BEACON_DURATION_NS: u64 = 2 * HOUR_NS;
const PORT_SMB: u16 = 445;
/// Ports that every port scan probes.
const COMMON_PORTS: [u16; 24] = [
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 873, 993, 995, 1433, 3306, 3389,
    5432, 5900, 6379, 8080, 8443,
];
const PORT_RDP: u16 = 3389;

/// The kinds of attack, in the order they are placed: those bound to working hours
/// first.
pub const KINDS: [&str; 9] = [
    "unusual_hours",
    "port_scan",
    "host_sweep",
    "lateral_movement",
    "dga",
    "ssh_brute_force",
    "exfiltration",
    "beaconing",
    "dns_tunnelling",
];

/// One injected attack, as the truth file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attack {
    pub kind: &'static str,
    /// The monitored device that an alert for this attack should name.
    pub device: Ipv4Addr,
    /// First and last packet of the attack.
    pub start_ns: u64,
    pub end_ns: u64,
    /// Detectors whose alert on `device` counts as detecting the attack.
    pub detectors: Vec<&'static str>,
    /// Detectors whose alert on `device` within the attack's window is a side effect of
    /// the attack: neither a detection nor a false alert.
    pub related_detectors: Vec<&'static str>,
    /// Other devices whose alerts from `detectors` or `related_detectors` within the
    /// attack's window are side effects: the resolver, which forwards a DNS attack's
    /// queries upstream.
    pub related_devices: Vec<Ipv4Addr>,
    pub description: String,
}

/// Returns (detectors, related detectors) of an attack kind.
pub fn detectors_of(kind: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    match kind {
        "port_scan" => (
            vec!["vertical_scan"],
            vec!["lateral_movement", "new_service"],
        ),
        "host_sweep" => (vec!["horizontal_scan"], vec!["lateral_movement"]),
        "ssh_brute_force" => (vec!["brute_force"], vec!["rare_endpoint"]),
        "exfiltration" => (vec!["outbound_volume", "rare_endpoint"], vec!["beaconing"]),
        "beaconing" => (vec!["beaconing"], vec!["rare_endpoint"]),
        "lateral_movement" => (vec!["lateral_movement"], vec![]),
        "unusual_hours" => (vec!["unusual_hours"], vec![]),
        "dns_tunnelling" => (vec!["dns_tunnelling"], vec![]),
        "dga" => (vec!["dga"], vec!["rare_endpoint"]),
        _ => (vec![], vec![]),
    }
}

/// When an attack may start: the hours of the day its start is drawn from, and
/// whether it needs a weekday (the workstations only run on weekdays).
struct Window {
    first_hour: u64,
    last_hour: u64,
    weekday: bool,
    /// Upper bound of the attack's duration, for the overlap check.
    duration_ns: u64,
}

fn window_of(kind: &str) -> Window {
    let (first_hour, last_hour, weekday, duration_ns) = match kind {
        "unusual_hours" => (3, 3, true, 30 * MINUTE_NS),
        "port_scan" | "host_sweep" => (10, 15, true, 10 * MINUTE_NS),
        "lateral_movement" => (10, 15, true, 40 * MINUTE_NS),
        "ssh_brute_force" => (0, 21, false, 20 * MINUTE_NS),
        "exfiltration" => (0, 21, false, HOUR_NS),
        "dga" => (10, 16, true, 20 * MINUTE_NS),
        "dns_tunnelling" => (0, 21, false, 45 * MINUTE_NS),
        _ => (0, 20, false, BEACON_DURATION_NS + 5 * MINUTE_NS),
    };
    Window {
        first_hour,
        last_hour,
        weekday,
        duration_ns,
    }
}

/// Devices that carry out (or suffer) the attacks.
struct Cast {
    workstations: Vec<usize>,
    brute_force_victim: usize,
    exfiltrator: usize,
    beacon: usize,
    /// The server that tunnels data over DNS, and the workstation infected with DGA
    /// malware.
    tunneller: usize,
    dga_host: usize,
}

fn cast(plan: &mut Plan) -> Cast {
    let topology = plan.topology;
    let mut workstations = topology.with_role(Role::Workstation);
    workstations.shuffle(&mut plan.rng);
    let webs = topology.with_role(Role::Web);
    let brute_force_victim = *webs.choose(&mut plan.rng).unwrap_or(&0);
    let mut data_holders = topology.with_role(Role::Database);
    data_holders.extend(topology.with_role(Role::App));
    let exfiltrator = *data_holders.choose(&mut plan.rng).unwrap_or(&0);
    let mut beacon_hosts: Vec<usize> = topology
        .with_role(Role::App)
        .into_iter()
        .chain(webs)
        .filter(|&i| i != exfiltrator && i != brute_force_victim)
        .collect();
    beacon_hosts.sort_unstable();
    let beacon = *beacon_hosts.choose(&mut plan.rng).unwrap_or(&0);
    let tunneller = *data_holders.choose(&mut plan.rng).unwrap_or(&0);
    let dga_host = *workstations.choose(&mut plan.rng).unwrap_or(&0);
    Cast {
        workstations,
        brute_force_victim,
        exfiltrator,
        beacon,
        tunneller,
        dga_host,
    }
}

/// Places and adds every attack kind once, after `learning_end_ns`.
pub fn add_attacks(
    plan: &mut Plan,
    background: &Background,
    learning_end_ns: u64,
) -> Result<Vec<Attack>> {
    let cast = cast(plan);
    let starts = place_all(plan, learning_end_ns)?;
    let mut attacks = Vec::new();
    for (kind, start) in KINDS.into_iter().zip(starts) {
        let first_flow = plan.flows.len();
        let (device, description) = inject(plan, kind, start, &cast, background)?;
        let (start_ns, end_ns) = span(&plan.flows[first_flow..]);
        if end_ns > start + window_of(kind).duration_ns {
            bail!(
                "the {kind} attack lasted {} s, longer than the {} s its window allows",
                (end_ns - start) / SECOND_NS,
                window_of(kind).duration_ns / SECOND_NS
            );
        }
        let (detectors, related_detectors) = detectors_of(kind);
        let related_devices = if kind == "dns_tunnelling" || kind == "dga" {
            vec![plan.topology.resolver()]
        } else {
            Vec::new()
        };
        attacks.push(Attack {
            kind,
            device: plan.topology.devices[device].addr,
            start_ns,
            end_ns,
            detectors,
            related_detectors,
            related_devices,
            description,
        });
    }
    attacks.sort_by_key(|attack| attack.start_ns);
    Ok(attacks)
}

/// Returns the first and last packet time of `flows`, rendered.
fn span(flows: &[FlowSpec]) -> (u64, u64) {
    let mut first = u64::MAX;
    let mut last = 0;
    for flow in flows {
        for packet in flow.render([0; 6], [0; 6]) {
            // Packets land in a microsecond-resolution pcap.
            let ts = packet.ts_ns / 1000 * 1000;
            first = first.min(ts);
            last = last.max(ts);
        }
    }
    (first, last)
}

/// Draws a start time for every kind in [`KINDS`] order, none of whose windows
/// (start to maximum duration plus the match grace) overlap. When a kind finds no
/// room, the earlier draws blocked it, so every kind is drawn again.
fn place_all(plan: &mut Plan, learning_end_ns: u64) -> Result<Vec<u64>> {
    'rounds: for _ in 0..MAX_PLACEMENT_ROUNDS {
        let mut occupied: Vec<(u64, u64)> = Vec::new();
        for kind in KINDS {
            let Some(start) = place(plan, kind, learning_end_ns, &occupied) else {
                continue 'rounds;
            };
            occupied.push((start, start + window_of(kind).duration_ns + MATCH_GRACE_NS));
        }
        return Ok(occupied.into_iter().map(|(start, _)| start).collect());
    }
    bail!(
        "no times found for the {} attacks in which no two windows overlap; use more days \
         (--days 3 or more)",
        KINDS.len()
    )
}

/// Draws a start time for `kind` whose window overlaps none in `occupied`.
fn place(
    plan: &mut Plan,
    kind: &str,
    learning_end_ns: u64,
    occupied: &[(u64, u64)],
) -> Option<u64> {
    let window = window_of(kind);
    let last_day = day_index(plan.end_ns - 1);
    let mut first_day = day_index(learning_end_ns);
    if kind == "unusual_hours" && first_day < last_day {
        // "Normally silent at night" needs a night observed while the device existed.
        // The first night after the learning day is the first full one for a
        // workstation that appears at 07:30 on the first day, so the activity comes
        // the night after it when the scenario has one.
        first_day += 1;
    }
    for _ in 0..MAX_PLACEMENT_DRAWS {
        let day = plan.rng.random_range(first_day..=last_day);
        if window.weekday && is_weekend(day) {
            continue;
        }
        let midnight = plan.start_ns + day * DAY_NS;
        let from = midnight + window.first_hour * HOUR_NS;
        let to = midnight + window.last_hour * HOUR_NS + 10 * MINUTE_NS;
        let start = uniform_time(&mut plan.rng, from, to);
        let end = start + window.duration_ns + MATCH_GRACE_NS;
        let fits = start >= learning_end_ns + HOUR_NS && end < plan.end_ns;
        let free = occupied.iter().all(|&(a, b)| end <= a || start >= b);
        if fits && free {
            return Some(start);
        }
    }
    None
}

/// Adds the flows of one attack; returns its device index and description.
fn inject(
    plan: &mut Plan,
    kind: &str,
    start: u64,
    cast: &Cast,
    background: &Background,
) -> Result<(usize, String)> {
    let stations = &cast.workstations;
    let station = |n: usize| stations[n % stations.len()];
    Ok(match kind {
        "unusual_hours" => unusual_hours(plan, start, station(0), background),
        "port_scan" => port_scan(plan, start, station(2)),
        "host_sweep" => host_sweep(plan, start, station(3)),
        "lateral_movement" => lateral_movement(plan, start, station(1)),
        "ssh_brute_force" => ssh_brute_force(plan, start, cast.brute_force_victim),
        "exfiltration" => exfiltration(plan, start, cast.exfiltrator),
        "beaconing" => beaconing(plan, start, cast.beacon),
        "dns_tunnelling" => dns_tunnelling(plan, start, cast.tunneller),
        "dga" => dga(plan, start, cast.dga_host),
        other => bail!("unknown attack kind {other}"),
    })
}

/// TCP ports on which a device accepts connections.
fn services(device: &Device) -> Vec<u16> {
    let mut ports = vec![PORT_SSH];
    match device.role {
        Role::Web => ports.push(PORT_HTTPS),
        Role::App => ports.push(PORT_APP),
        Role::Database => ports.push(device.database_port()),
        Role::Backup => ports.push(PORT_RSYNC),
        Role::Resolver => ports.push(PORT_DNS),
        Role::Admin | Role::Workstation => ports.clear(),
    }
    ports
}

fn unusual_hours(
    plan: &mut Plan,
    start: u64,
    device: usize,
    background: &Background,
) -> (usize, String) {
    let addr = plan.topology.devices[device].addr;
    // The workstation's three favourite endpoints: nothing new except the hour.
    let weights = &background.saas_weights[device];
    let mut ranked: Vec<usize> = (0..weights.len()).collect();
    ranked.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
    let favourites: Vec<Ipv4Addr> = ranked
        .iter()
        .take(3)
        .map(|&k| super::topology::saas_endpoint(k as u8))
        .collect();

    let server = NTP_SERVERS[device % NTP_SERVERS.len()];
    let ntp = Shape::Udp {
        request: vec![0x23; 48],
        response: Some(vec![0x24; 48]),
    };
    plan.add(start, addr, server, PORT_NTP, ntp);
    let connections = plan.rng.random_range(20..30);
    for _ in 0..connections {
        let t = uniform_time(&mut plan.rng, start + SECOND_NS, start + 20 * MINUTE_NS);
        let endpoint = *favourites.choose(&mut plan.rng).unwrap_or(&favourites[0]);
        browse(plan, t, addr, endpoint);
    }
    let description = format!(
        "workstation {addr}, asleep every night from 19:00 to 07:30, opens {connections} \
         connections to its usual SaaS endpoints between 03:00 and 03:30 UTC"
    );
    (device, description)
}

fn port_scan(plan: &mut Plan, start: u64, scanner: usize) -> (usize, String) {
    let topology = plan.topology;
    let scanner_addr = topology.devices[scanner].addr;
    let mut victims: Vec<usize> = topology
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d.role, Role::Database | Role::App | Role::Backup))
        .map(|(i, _)| i)
        .collect();
    victims.sort_unstable();
    let victim = *victims.choose(&mut plan.rng).unwrap_or(&0);
    let victim_device = &topology.devices[victim];
    let open = services(victim_device);

    // The well-known service ports first, as a scanner's list of top ports has them,
    // then other ports up to 1024; probed in random order.
    let mut ports: Vec<u16> = COMMON_PORTS.to_vec();
    let mut others: Vec<u16> = (1..=1024).filter(|p| !COMMON_PORTS.contains(p)).collect();
    others.shuffle(&mut plan.rng);
    ports.extend(others);
    ports.truncate(SCAN_PORTS);
    ports.shuffle(&mut plan.rng);
    // A SYN scan from one source port, as nmap sends it.
    let source_port = plan.ephemeral_port(scanner_addr);
    let mut t = start;
    let mut answered = 0;
    for port in ports {
        let shape = if open.contains(&port) {
            answered += 1;
            Shape::TcpHalfOpen
        } else {
            Shape::TcpRejected
        };
        plan.add_with_port(
            t,
            scanner_addr,
            source_port,
            victim_device.addr,
            port,
            shape,
        );
        t += plan.rng.random_range(20..60) * 1_000_000;
    }
    let description = format!(
        "workstation {scanner_addr} SYN-scans {SCAN_PORTS} TCP ports of {} ({} open, the rest \
         answer RST)",
        victim_device.addr, answered
    );
    (scanner, description)
}

fn host_sweep(plan: &mut Plan, start: u64, scanner: usize) -> (usize, String) {
    let topology = plan.topology;
    let scanner_addr = topology.devices[scanner].addr;
    let subnet = *[1u8, 2, 3].choose(&mut plan.rng).unwrap_or(&1);
    let port = *[PORT_SSH, PORT_SMB, PORT_RDP]
        .choose(&mut plan.rng)
        .unwrap_or(&PORT_SSH);
    let mut hosts: Vec<u8> = (1..=SWEEP_HOSTS).collect();
    hosts.shuffle(&mut plan.rng);
    let mut t = start;
    let mut live = 0;
    for host in hosts {
        let target = Ipv4Addr::new(10, 0, subnet, host);
        let shape = match topology.index_of(target) {
            Some(index) if services(&topology.devices[index]).contains(&port) => {
                live += 1;
                Shape::TcpHalfOpen
            }
            Some(_) => {
                live += 1;
                Shape::TcpRejected
            }
            None => Shape::TcpUnanswered { attempts: 2 },
        };
        plan.add(t, scanner_addr, target, port, shape);
        t += plan.rng.random_range(300..1500) * 1_000_000;
    }
    let description = format!(
        "workstation {scanner_addr} probes TCP port {port} on {SWEEP_HOSTS} addresses of \
         10.0.{subnet}.0/24; {live} hosts answer, the others stay silent"
    );
    (scanner, description)
}

fn lateral_movement(plan: &mut Plan, start: u64, station: usize) -> (usize, String) {
    let topology = plan.topology;
    let addr = topology.devices[station].addr;
    let mut targets: Vec<usize> = topology
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d.role, Role::Database | Role::App | Role::Backup))
        .map(|(i, _)| i)
        .collect();
    targets.shuffle(&mut plan.rng);
    targets.truncate(3);
    targets.sort_unstable();

    let mut t = start;
    let mut names = Vec::new();
    for &target in &targets {
        let server = topology.devices[target].addr;
        // Linux servers reject SMB and RDP; SSH with stolen credentials succeeds.
        plan.add(t, addr, server, PORT_SMB, Shape::TcpRejected);
        t += plan.rng.random_range(2..10) * SECOND_NS;
        plan.add(t, addr, server, PORT_RDP, Shape::TcpRejected);
        t += plan.rng.random_range(2..10) * SECOND_NS;
        let shape = Shape::TcpSession {
            rounds: plan.rng.random_range(10..30),
            request: plan.rng.random_range(80..300),
            response: plan.rng.random_range(200..2000),
            gap_ns: plan.rng.random_range(3..8) * SECOND_NS,
        };
        if let Some(end) = plan.add(t, addr, server, PORT_SSH, shape) {
            t = end;
        }
        t += plan.rng.random_range(1..4) * MINUTE_NS;
        names.push(server.to_string());
    }
    let description = format!(
        "workstation {addr}, which never talked to them, tries SMB (445) and RDP (3389) on {} \
         and logs in over SSH to each",
        names.join(", ")
    );
    (station, description)
}

fn ssh_brute_force(plan: &mut Plan, start: u64, victim: usize) -> (usize, String) {
    let victim_addr = plan.topology.devices[victim].addr;
    let attacker = Ipv4Addr::new(198, 51, 100, plan.rng.random_range(200..250));
    let mut t = start;
    for _ in 0..BRUTE_FORCE_SESSIONS {
        // Banners, key exchange, one failed password, then the server disconnects.
        let shape = Shape::TcpSession {
            rounds: 3,
            request: plan.rng.random_range(300..700),
            response: plan.rng.random_range(300..1100),
            gap_ns: 300_000_000,
        };
        plan.add(t, attacker, victim_addr, PORT_SSH, shape);
        t += plan.rng.random_range(2000..5000) * 1_000_000;
    }
    let description = format!(
        "{attacker} opens {BRUTE_FORCE_SESSIONS} short SSH sessions to {victim_addr}, each \
         ending after one failed login"
    );
    (victim, description)
}

/// Returns the device's mean daily bytes sent to external addresses before `until`.
fn daily_external_bytes(plan: &Plan, device: usize, until: u64) -> u64 {
    let addr = plan.topology.devices[device].addr;
    let mut total = 0;
    for flow in plan.flows.iter().filter(|f| f.start_ns < until) {
        let (client_bytes, server_bytes) = flow.bytes();
        if flow.client == addr && !is_internal(flow.server) {
            total += client_bytes;
        } else if flow.server == addr && !is_internal(flow.client) {
            total += server_bytes;
        }
    }
    let days = ((until - plan.start_ns) / DAY_NS).max(1);
    total / days
}

fn exfiltration(plan: &mut Plan, start: u64, device: usize) -> (usize, String) {
    let addr = plan.topology.devices[device].addr;
    let learned_until = plan.start_ns + day_index(start) * DAY_NS;
    let usual = daily_external_bytes(plan, device, learned_until.max(plan.start_ns + DAY_NS));
    let total = (usual * EXFILTRATION_FACTOR).max(EXFILTRATION_MIN_BYTES);
    let destination = Ipv4Addr::new(192, 0, 2, plan.rng.random_range(230..250));
    let connections: u64 = plan.rng.random_range(6..=10);
    let mut offsets: Vec<u64> = (0..connections)
        .map(|_| plan.rng.random_range(0..50 * MINUTE_NS))
        .collect();
    offsets.sort_unstable();
    offsets[0] = 0;
    for offset in offsets {
        let shape = Shape::TcpSession {
            rounds: 1,
            request: (total / connections) as u32,
            response: plan.rng.random_range(100..300),
            gap_ns: 0,
        };
        plan.add(start + offset, addr, destination, PORT_HTTPS, shape);
    }
    let description = format!(
        "{} {addr} uploads {total} bytes over {connections} connections to the never-seen \
         {destination}:443 within an hour; it usually sends {usual} bytes a day to external \
         addresses",
        plan.topology.devices[device].role.name()
    );
    (device, description)
}

fn beaconing(plan: &mut Plan, start: u64, device: usize) -> (usize, String) {
    let addr = plan.topology.devices[device].addr;
    let destination = Ipv4Addr::new(192, 0, 2, plan.rng.random_range(200..220));
    let request = plan.rng.random_range(150..250);
    let response = plan.rng.random_range(60..120);
    let mut t = start;
    let mut beacons = 0;
    while t < start + BEACON_DURATION_NS {
        // Sizes vary by at most 3%.
        let shape = Shape::TcpSession {
            rounds: 1,
            request: request + plan.rng.random_range(0..=request / 33),
            response: response + plan.rng.random_range(0..=response / 33),
            gap_ns: 0,
        };
        plan.add(t, addr, destination, PORT_HTTPS, shape);
        beacons += 1;
        // 60 s ± 10%.
        t += BEACON_INTERVAL_NS * 9 / 10 + plan.rng.random_range(0..=BEACON_INTERVAL_NS / 5);
    }
    let description = format!(
        "{} {addr} connects to {destination}:443 every 60 s ± 10% for 2 hours ({beacons} \
         connections of about {request} bytes up and {response} bytes down)",
        plan.topology.devices[device].role.name()
    );
    (device, description)
}
