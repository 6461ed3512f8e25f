//! The benign background: web, application and database traffic with a daily rhythm,
//! DNS through the internal resolver, NTP, nightly package updates and backups, SSH
//! administration in working hours, and workstations that browse by day and sleep at
//! night. Also the benign events that a naive detector would flag: new but popular
//! external endpoints, a weekly full backup, and a database that restarts slowly.

use std::net::Ipv4Addr;

use rand::Rng;
use rand::seq::SliceRandom;

use super::benign_dns;
use super::dns::rtype;
use super::flow::Shape;
use super::names::{self, Lookup};
use super::plan::Plan;
use super::resolver::resolve;
use super::time::{
    DAY_NS, HOUR_NS, MINUTE_NS, SECOND_NS, day_index, diurnal, is_weekend, log_normal, poisson,
    uniform_time,
};
use super::topology::{
    NTP_SERVERS, PACKAGE_MIRRORS, PARTNER_API, PORT_APP, PORT_HTTPS, PORT_NTP, PORT_RSYNC,
    PORT_SSH, Role, SAAS_COUNT, WEB_CLIENT_POOL, saas_endpoint, web_client,
};

/// Inbound HTTPS connections per hour to each web server at the daily peak.
const WEB_PEAK_PER_HOUR: f64 = 30.0;
/// Share of web requests that call an application server, and of application calls
/// that query a database.
const APP_CALL_SHARE: f64 = 0.6;
const DB_QUERY_SHARE: f64 = 0.7;
/// Web clients that come back often; the rest of the pool visits rarely.
const RETURNING_CLIENTS: u32 = 300;
const RETURNING_SHARE: f64 = 0.3;
/// DNS lookups per hour of each always-on device at the daily peak.
const SERVER_DNS_PEAK_PER_HOUR: f64 = 6.0;
/// Share of server lookups that first try the name with the search domain appended.
const SEARCH_SUFFIX_SHARE: f64 = 0.03;
/// Share of browsing lookups that also ask for the AAAA record (dual-stack clients).
const AAAA_SHARE: f64 = 0.4;
/// Share of browsing lookups preceded by a mistyped name.
const TYPO_SHARE: f64 = 0.02;
/// Share of browsing connections that look the name up first (the rest use a cached
/// answer).
const BROWSE_LOOKUP_SHARE: f64 = 0.35;
/// NTP poll interval (ntpd and chrony reach 1024 s once the clock is stable).
const NTP_POLL_NS: u64 = 1024 * SECOND_NS;
/// Partner API calls per hour of each application server at the daily peak.
const PARTNER_PEAK_PER_HOUR: f64 = 4.0;
/// Browsing connections per hour of a workstation while it is awake.
const BROWSE_PER_HOUR: f64 = 30.0;
/// Intranet requests (to the web servers) per hour of an awake workstation.
const INTRANET_PER_HOUR: f64 = 2.0;
/// Ad-hoc SSH sessions per working hour from the admin host, after the morning round.
const ADMIN_SSH_PER_HOUR: f64 = 2.0;
/// The weekly full backup sends this many times a database's nightly volume.
const FULL_BACKUP_FACTOR: u64 = 5;
/// How long the slowly restarting database rejects connections.
const RESTART_NS: u64 = 90 * SECOND_NS;

/// A benign event that a naive detector could take for an attack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoiseEvent {
    pub kind: &'static str,
    pub time_ns: u64,
    pub devices: Vec<Ipv4Addr>,
    pub description: String,
}

/// Facts about the background that the attack stage uses.
#[derive(Debug, Clone)]
pub struct Background {
    /// Per device: weight of each SaaS endpoint in its browsing (empty unless a
    /// workstation).
    pub saas_weights: Vec<Vec<f64>>,
    pub noise: Vec<NoiseEvent>,
}

/// Times of the benign noise events, drawn before the traffic.
struct NoiseTimes {
    /// Per evaluated day: when a new popular endpoint appears, and its address.
    new_endpoints: Vec<(u64, Ipv4Addr)>,
    /// Night (day index) of the weekly full backup.
    full_backup_day: u64,
    /// Database index and start of its slow restart.
    restart: (usize, u64),
}

/// Adds the benign background to `plan`. `learning_end_ns` separates the learning
/// period from the evaluated one; the noise events fall after it.
pub fn add_background(plan: &mut Plan, learning_end_ns: u64) -> Background {
    let topology = plan.topology;
    let days = (plan.end_ns - plan.start_ns).div_ceil(DAY_NS);
    let first_evaluated = day_index(learning_end_ns);
    let databases = topology.with_role(Role::Database);

    let mut new_endpoints = Vec::new();
    for day in first_evaluated..days {
        let at = plan.start_ns + day * DAY_NS + 9 * HOUR_NS + 30 * MINUTE_NS;
        let time = uniform_time(&mut plan.rng, at, at + 3 * HOUR_NS);
        let addr = Ipv4Addr::new(203, 0, 113, 150 + (day % 100) as u8);
        new_endpoints.push((time, addr));
    }
    let full_backup_day = plan.rng.random_range(first_evaluated.max(1)..days.max(2));
    let restart_day = plan
        .rng
        .random_range(first_evaluated..days.max(first_evaluated + 1));
    let restart_at = plan.start_ns + restart_day * DAY_NS + 10 * HOUR_NS;
    let restart = (
        databases[plan.rng.random_range(0..databases.len())],
        uniform_time(&mut plan.rng, restart_at, restart_at + 6 * HOUR_NS),
    );
    let noise = NoiseTimes {
        new_endpoints,
        full_backup_day,
        restart,
    };

    let awake = awake_windows(plan, days);
    let saas_weights = saas_weights(plan);

    web_traffic(plan, &noise);
    always_on_dns(plan);
    ntp(plan, &awake);
    package_updates(plan, days);
    backups(plan, days, &noise);
    admin_ssh(plan, days);
    partner_api(plan);
    workstations(plan, &awake, &saas_weights, &noise);
    benign_dns::add(plan, &awake, days);

    Background {
        saas_weights,
        noise: describe_noise(plan, &noise),
    }
}

fn describe_noise(plan: &Plan, noise: &NoiseTimes) -> Vec<NoiseEvent> {
    let topology = plan.topology;
    let workstations: Vec<Ipv4Addr> = topology
        .with_role(Role::Workstation)
        .iter()
        .map(|&i| topology.devices[i].addr)
        .collect();
    let mut events: Vec<NoiseEvent> = noise
        .new_endpoints
        .iter()
        .map(|&(time_ns, addr)| NoiseEvent {
            kind: "new_popular_endpoint",
            time_ns,
            devices: workstations.clone(),
            description: format!("every workstation starts using the new SaaS endpoint {addr}:443"),
        })
        .collect();
    let databases: Vec<Ipv4Addr> = topology
        .with_role(Role::Database)
        .iter()
        .map(|&i| topology.devices[i].addr)
        .collect();
    events.push(NoiseEvent {
        kind: "weekly_full_backup",
        time_ns: plan.start_ns + noise.full_backup_day * DAY_NS + HOUR_NS,
        devices: databases,
        description: format!(
            "the databases send {FULL_BACKUP_FACTOR} times their nightly backup volume to the backup server"
        ),
    });
    let (database, at) = noise.restart;
    events.push(NoiseEvent {
        kind: "slow_restart",
        time_ns: at,
        devices: vec![topology.devices[database].addr],
        description: format!(
            "the database rejects connections for {} s while it restarts; the application servers retry",
            RESTART_NS / SECOND_NS
        ),
    });
    events.sort_by_key(|event| event.time_ns);
    events
}

/// Draws the active windows of each device: always-on devices span the scenario,
/// workstations wake at 07:30 to 09:15 and sleep at 17:00 to 19:00 on weekdays.
fn awake_windows(plan: &mut Plan, days: u64) -> Vec<Vec<(u64, u64)>> {
    let topology = plan.topology;
    let mut awake = Vec::with_capacity(topology.devices.len());
    for device in &topology.devices {
        if device.role.always_on() {
            awake.push(vec![(plan.start_ns, plan.end_ns)]);
            continue;
        }
        let mut windows = Vec::new();
        for day in 0..days {
            let midnight = plan.start_ns + day * DAY_NS;
            let wake = midnight + uniform_time(&mut plan.rng, 450 * MINUTE_NS, 555 * MINUTE_NS);
            let sleep = midnight + uniform_time(&mut plan.rng, 17 * HOUR_NS, 19 * HOUR_NS);
            if !is_weekend(day) {
                windows.push((wake, sleep.min(plan.end_ns)));
            }
        }
        awake.push(windows);
    }
    awake
}

/// Draws each workstation's browsing weights: a Zipf popularity shared by the fleet,
/// times a personal factor between 0.5 and 1.5.
fn saas_weights(plan: &mut Plan) -> Vec<Vec<f64>> {
    let topology = plan.topology;
    let mut weights = Vec::with_capacity(topology.devices.len());
    for device in &topology.devices {
        if device.role != Role::Workstation {
            weights.push(Vec::new());
            continue;
        }
        let personal: Vec<f64> = (0..SAAS_COUNT)
            .map(|k| plan.rng.random_range(0.5..1.5) / f64::from(k + 1))
            .collect();
        weights.push(personal);
    }
    weights
}

/// Draws an index with probability proportional to its weight.
fn weighted_index(plan: &mut Plan, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut draw = plan.rng.random::<f64>() * total;
    for (index, weight) in weights.iter().enumerate() {
        if draw < *weight {
            return index;
        }
        draw -= weight;
    }
    weights.len().saturating_sub(1)
}

/// Draws an activity factor between 0.85 and 1.15 for each day.
fn day_factors(plan: &mut Plan, days: u64) -> Vec<f64> {
    (0..days.max(1))
        .map(|_| plan.rng.random_range(0.85..1.15))
        .collect()
}

/// Adds inbound HTTPS to the web servers, with application calls and database queries
/// behind a share of the requests.
fn web_traffic(plan: &mut Plan, noise: &NoiseTimes) {
    let topology = plan.topology;
    let days = (plan.end_ns - plan.start_ns).div_ceil(DAY_NS);
    let apps = topology.with_role(Role::App);
    let databases = topology.with_role(Role::Database);
    for web in topology.with_role(Role::Web) {
        let web_addr = topology.devices[web].addr;
        let base = WEB_PEAK_PER_HOUR * plan.rng.random_range(0.8..1.2);
        let factors = day_factors(plan, days);
        let start = plan.start_ns;
        let arrivals = poisson(&mut plan.rng, plan.start_ns, plan.end_ns, base * 1.2, |t| {
            let day = ((t - start) / DAY_NS) as usize;
            base * diurnal(t) * factors.get(day).copied().unwrap_or(1.0)
        });
        for t in arrivals {
            let client_index = if plan.rng.random_bool(RETURNING_SHARE) {
                plan.rng.random_range(0..RETURNING_CLIENTS)
            } else {
                plan.rng.random_range(0..WEB_CLIENT_POOL)
            };
            let shape = Shape::TcpSession {
                rounds: plan.rng.random_range(1..=3),
                request: log_normal(&mut plan.rng, 700.0, 0.4, 200, 3000),
                response: log_normal(&mut plan.rng, 6000.0, 1.0, 300, 60_000),
                gap_ns: plan.rng.random_range(300..4000) * 1_000_000,
            };
            plan.add(t, web_client(client_index), web_addr, PORT_HTTPS, shape);

            if !plan.rng.random_bool(APP_CALL_SHARE) {
                continue;
            }
            let app = topology.devices[apps[plan.rng.random_range(0..apps.len())]].addr;
            let t_app = t + 5_000_000;
            let shape = Shape::TcpSession {
                rounds: 1,
                request: plan.rng.random_range(300..1200),
                response: log_normal(&mut plan.rng, 3000.0, 0.8, 200, 30_000),
                gap_ns: 0,
            };
            plan.add(t_app, web_addr, app, PORT_APP, shape);

            if !plan.rng.random_bool(DB_QUERY_SHARE) {
                continue;
            }
            let database = databases[plan.rng.random_range(0..databases.len())];
            let t_db = t_app + 1_000_000;
            let (restarting, restart_at) = noise.restart;
            let shape = if database == restarting
                && (restart_at..restart_at + RESTART_NS).contains(&t_db)
            {
                Shape::TcpRejected
            } else {
                Shape::TcpSession {
                    rounds: plan.rng.random_range(1..=3),
                    request: plan.rng.random_range(100..600),
                    response: log_normal(&mut plan.rng, 2000.0, 1.0, 100, 40_000),
                    gap_ns: 2_000_000,
                }
            };
            let db = &topology.devices[database];
            plan.add(t_db, app, db.addr, db.database_port(), shape);
        }
    }

    // The application servers notice the restart and retry every 20 s until it ends.
    let (database, restart_at) = noise.restart;
    let db = topology.devices[database].clone();
    for app in apps {
        let app_addr = topology.devices[app].addr;
        let mut t = restart_at + plan.rng.random_range(0..5) * SECOND_NS;
        while t < restart_at + RESTART_NS {
            plan.add(t, app_addr, db.addr, db.database_port(), Shape::TcpRejected);
            t += 20 * SECOND_NS;
        }
    }
}

/// Returns the lookups that a device of `role` sends: internal names answered with
/// the device that serves them, and the external services the role uses.
fn server_lookups(plan: &Plan, role: Role) -> Vec<Lookup> {
    let topology = plan.topology;
    let first = |role: Role| {
        topology
            .with_role(role)
            .first()
            .map_or(Ipv4Addr::new(10, 0, 0, 100), |&i| topology.devices[i].addr)
    };
    let internal = |host: &str, role: Role| names::internal(host, first(role));
    match role {
        Role::Web => vec![
            internal("app", Role::App),
            names::address(
                "assets.shopfront-cdn.net",
                rtype::A,
                Ipv4Addr::new(203, 0, 113, 40),
                Some("shopfront.b-0009.edgefront.net"),
                300,
            ),
        ],
        Role::App => vec![
            internal("db", Role::Database),
            names::internal("cache", Ipv4Addr::new(10, 0, 2, 50)),
            partner_api_lookup(),
        ],
        Role::Database | Role::Admin | Role::Backup => vec![
            internal("backup", Role::Backup),
            internal("monitor", Role::Admin),
        ],
        Role::Resolver | Role::Workstation => {
            vec![names::address(
                "time.ntppool.example",
                rtype::A,
                NTP_SERVERS[0],
                None,
                300,
            )]
        }
    }
}

/// Returns the lookup of the partner API's name.
fn partner_api_lookup() -> Lookup {
    names::address("api.paymentpartner.com", rtype::A, PARTNER_API, None, 60)
}

/// Adds the DNS lookups of the always-on devices except the resolver itself. A few
/// first try the name with the search domain appended and get NXDOMAIN.
fn always_on_dns(plan: &mut Plan) {
    let topology = plan.topology;
    for device in &topology.devices {
        if !device.role.always_on() || device.role == Role::Resolver {
            continue;
        }
        let lookups = server_lookups(plan, device.role);
        let arrivals = poisson(
            &mut plan.rng,
            plan.start_ns,
            plan.end_ns,
            SERVER_DNS_PEAK_PER_HOUR * 1.5,
            |t| SERVER_DNS_PEAK_PER_HOUR * (0.5 + diurnal(t)),
        );
        for t in arrivals {
            let lookup = &lookups[plan.rng.random_range(0..lookups.len())];
            let mut at = t;
            if plan.rng.random_bool(SEARCH_SUFFIX_SHARE)
                && let Some(answered) =
                    resolve(plan, t, device.addr, &names::search_suffix(&lookup.name))
            {
                at = answered + 100_000;
            }
            resolve(plan, at, device.addr, lookup);
        }
    }
}

/// Adds the NTP polls of every device while it is active, to one server per device.
fn ntp(plan: &mut Plan, awake: &[Vec<(u64, u64)>]) {
    let topology = plan.topology;
    for (index, device) in topology.devices.iter().enumerate() {
        let server = NTP_SERVERS[index % NTP_SERVERS.len()];
        for &(from, to) in &awake[index] {
            let mut t = from + plan.rng.random_range(0..60) * SECOND_NS;
            while t < to {
                let shape = Shape::Udp {
                    request: vec![0x23; 48],
                    response: Some(vec![0x24; 48]),
                };
                plan.add(t, device.addr, server, PORT_NTP, shape);
                let jitter = plan.rng.random_range(0..NTP_POLL_NS / 10);
                t += NTP_POLL_NS - NTP_POLL_NS / 20 + jitter;
            }
        }
    }
}

/// Adds the nightly package updates of every server from its mirror, around 02:00.
fn package_updates(plan: &mut Plan, days: u64) {
    let topology = plan.topology;
    for (index, device) in topology.devices.iter().enumerate() {
        if !device.role.is_server() {
            continue;
        }
        let mirror = PACKAGE_MIRRORS[index % PACKAGE_MIRRORS.len()];
        for day in 0..days {
            let at = plan.start_ns + day * DAY_NS + 2 * HOUR_NS + index as u64 * 3 * MINUTE_NS;
            let mut t = uniform_time(&mut plan.rng, at, at + 10 * MINUTE_NS);
            let lookup = names::mirror(index % PACKAGE_MIRRORS.len(), mirror);
            resolve(plan, t, device.addr, &lookup);
            t += 50_000_000;
            for _ in 0..plan.rng.random_range(2..=4) {
                let shape = Shape::TcpSession {
                    rounds: 1,
                    request: plan.rng.random_range(300..600),
                    response: log_normal(&mut plan.rng, 150_000.0, 0.8, 20_000, 600_000),
                    gap_ns: 0,
                };
                match plan.add(t, device.addr, mirror, PORT_HTTPS, shape) {
                    Some(end) => t = end + 500_000_000,
                    None => break,
                }
            }
        }
    }
}

/// Adds the nightly backups of every server to the backup server over rsync, around 01:00, and
/// the weekly full backup of the databases.
fn backups(plan: &mut Plan, days: u64, noise: &NoiseTimes) {
    let topology = plan.topology;
    let Some(&backup) = topology.with_role(Role::Backup).first() else {
        return;
    };
    let backup_addr = topology.devices[backup].addr;
    for (index, device) in topology.devices.iter().enumerate() {
        if !device.role.is_server() || index == backup {
            continue;
        }
        let nightly: u64 = if device.role == Role::Database {
            plan.rng.random_range(8_000_000..16_000_000)
        } else {
            plan.rng.random_range(1_000_000..4_000_000)
        };
        for day in 0..days {
            let at = plan.start_ns + day * DAY_NS + HOUR_NS + index as u64 * 4 * MINUTE_NS;
            let t = uniform_time(&mut plan.rng, at, at + 3 * MINUTE_NS);
            let mut bytes = (nightly as f64 * plan.rng.random_range(0.7..1.3)) as u64;
            if device.role == Role::Database && day == noise.full_backup_day {
                bytes *= FULL_BACKUP_FACTOR;
            }
            let shape = Shape::TcpSession {
                rounds: 1,
                request: bytes.min(u64::from(u32::MAX)) as u32,
                response: 200,
                gap_ns: 0,
            };
            plan.add(t, device.addr, backup_addr, PORT_RSYNC, shape);
        }
    }
}

/// Adds the SSH sessions from the admin host on weekdays: a morning round over every server
/// from 09:00, then ad-hoc sessions until 18:00.
fn admin_ssh(plan: &mut Plan, days: u64) {
    let topology = plan.topology;
    let Some(&admin) = topology.with_role(Role::Admin).first() else {
        return;
    };
    let admin_addr = topology.devices[admin].addr;
    let mut servers = topology.servers();
    for day in 0..days {
        if is_weekend(day) {
            continue;
        }
        let nine = plan.start_ns + day * DAY_NS + 9 * HOUR_NS;
        let mut t = uniform_time(&mut plan.rng, nine, nine + 30 * MINUTE_NS);
        servers.shuffle(&mut plan.rng);
        for &server in &servers {
            let minutes = plan.rng.random_range(1..=5);
            if let Some(end) =
                ssh_session(plan, t, admin_addr, topology.devices[server].addr, minutes)
            {
                t = end + plan.rng.random_range(5..60) * SECOND_NS;
            }
        }
        let arrivals = poisson(
            &mut plan.rng,
            t,
            nine + 9 * HOUR_NS,
            ADMIN_SSH_PER_HOUR,
            |_| ADMIN_SSH_PER_HOUR,
        );
        for at in arrivals {
            let server = servers[plan.rng.random_range(0..servers.len())];
            let minutes = u64::from(log_normal(&mut plan.rng, 5.0, 0.8, 1, 40));
            ssh_session(plan, at, admin_addr, topology.devices[server].addr, minutes);
        }
    }
}

/// Adds an interactive SSH session of about `minutes` minutes; returns its end.
fn ssh_session(
    plan: &mut Plan,
    t: u64,
    client: Ipv4Addr,
    server: Ipv4Addr,
    minutes: u64,
) -> Option<u64> {
    let gap_ns = plan.rng.random_range(8..20) * SECOND_NS;
    let rounds = (minutes * MINUTE_NS / gap_ns).max(1) as u32;
    let shape = Shape::TcpSession {
        rounds,
        request: log_normal(&mut plan.rng, 120.0, 0.5, 40, 600),
        response: log_normal(&mut plan.rng, 600.0, 0.8, 60, 4000),
        gap_ns,
    };
    plan.add(t, client, server, PORT_SSH, shape)
}

/// Adds the calls from the application servers to the partner API.
fn partner_api(plan: &mut Plan) {
    let topology = plan.topology;
    for app in topology.with_role(Role::App) {
        let addr = topology.devices[app].addr;
        let arrivals = poisson(
            &mut plan.rng,
            plan.start_ns,
            plan.end_ns,
            PARTNER_PEAK_PER_HOUR,
            |t| PARTNER_PEAK_PER_HOUR * diurnal(t),
        );
        for t in arrivals {
            if plan.rng.random_bool(0.2) {
                resolve(plan, t, addr, &partner_api_lookup());
            }
            let shape = Shape::TcpSession {
                rounds: 1,
                request: plan.rng.random_range(500..2000),
                response: plan.rng.random_range(300..1500),
                gap_ns: 0,
            };
            plan.add(t + 20_000_000, addr, PARTNER_API, PORT_HTTPS, shape);
        }
    }
}

/// Adds the browsing and intranet use of the workstations while they are awake, including the
/// new popular endpoints from the time each appears.
fn workstations(
    plan: &mut Plan,
    awake: &[Vec<(u64, u64)>],
    weights: &[Vec<f64>],
    noise: &NoiseTimes,
) {
    let topology = plan.topology;
    let webs = topology.with_role(Role::Web);
    for station in topology.with_role(Role::Workstation) {
        let addr = topology.devices[station].addr;
        let personal = plan.rng.random_range(0.7..1.3);
        for &(from, to) in &awake[station] {
            let day_rate = BROWSE_PER_HOUR * personal * plan.rng.random_range(0.85..1.15);
            let arrivals = poisson(&mut plan.rng, from, to, day_rate, |_| day_rate);
            for t in arrivals {
                let mut choices = weights[station].clone();
                let mut endpoints: Vec<Ipv4Addr> = (0..SAAS_COUNT).map(saas_endpoint).collect();
                for &(since, endpoint) in &noise.new_endpoints {
                    if t >= since {
                        choices.push(choices.first().copied().unwrap_or(1.0) * 0.8);
                        endpoints.push(endpoint);
                    }
                }
                let endpoint = endpoints[weighted_index(plan, &choices)];
                browse(plan, t, addr, endpoint);
            }
            let intranet = poisson(&mut plan.rng, from, to, INTRANET_PER_HOUR, |_| {
                INTRANET_PER_HOUR
            });
            for t in intranet {
                let web = topology.devices[webs[plan.rng.random_range(0..webs.len())]].addr;
                let shape = Shape::TcpSession {
                    rounds: 1,
                    request: plan.rng.random_range(300..900),
                    response: log_normal(&mut plan.rng, 5000.0, 0.8, 300, 40_000),
                    gap_ns: 0,
                };
                plan.add(t, addr, web, PORT_HTTPS, shape);
            }
        }
    }
}

/// Adds one browsing connection from `client` to `endpoint`, with DNS lookups first
/// when the name is not cached: A, often AAAA too, and now and then a mistyped name
/// before the right one.
pub fn browse(plan: &mut Plan, t: u64, client: Ipv4Addr, endpoint: Ipv4Addr) {
    let mut start = t;
    if plan.rng.random_bool(BROWSE_LOOKUP_SHARE) {
        let lookup = names::saas(endpoint, rtype::A);
        if plan.rng.random_bool(TYPO_SHARE) {
            let typo = names::typo(&mut plan.rng, &lookup.name);
            resolve(plan, start, client, &typo);
            start += plan.rng.random_range(3..9) * SECOND_NS;
        }
        let answered = resolve(plan, start, client, &lookup);
        if plan.rng.random_bool(AAAA_SHARE) {
            resolve(
                plan,
                start + 50_000,
                client,
                &names::saas(endpoint, rtype::AAAA),
            );
        }
        start = answered.unwrap_or(start) + 1_000_000;
    }
    let shape = Shape::TcpSession {
        rounds: plan.rng.random_range(1..=4),
        request: log_normal(&mut plan.rng, 800.0, 0.5, 200, 4000),
        response: log_normal(&mut plan.rng, 8000.0, 1.0, 300, 80_000),
        gap_ns: plan.rng.random_range(1..20) * SECOND_NS,
    };
    plan.add(start, client, endpoint, PORT_HTTPS, shape);
}
