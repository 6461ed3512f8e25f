//! DNS background beyond the lookups before connections. Every device's antivirus
//! queries a file-reputation service about file hashes, a benign look-alike of DNS
//! tunnelling. The application servers read mail-policy TXT records, workstations
//! look for a proxy auto-configuration host that does not exist, and the admin host
//! still queries a decommissioned name.

use std::net::Ipv4Addr;

use rand::Rng;

use super::dns::rtype;
use super::names::{self, INTERNAL_ZONE};
use super::plan::Plan;
use super::resolver::resolve;
use super::time::{DAY_NS, HOUR_NS, SECOND_NS, diurnal, poisson, uniform_time};
use super::topology::Role;

/// File-reputation lookups per hour of an awake workstation, and of a server at the
/// daily peak.
const REPUTATION_PER_HOUR_WORKSTATION: f64 = 12.0;
const REPUTATION_PEAK_PER_HOUR_SERVER: f64 = 3.0;
/// Mail-policy TXT lookups per hour of each application server at the daily peak.
const MAIL_POLICY_PEAK_PER_HOUR: f64 = 1.5;
/// Lookups per day of the decommissioned name from the admin host.
const STALE_PER_DAY: f64 = 3.0;

/// Adds the DNS background to `plan`. `awake` contains each device's active windows.
pub fn add(plan: &mut Plan, awake: &[Vec<(u64, u64)>], days: u64) {
    reputation_checks(plan, awake);
    mail_policy_checks(plan);
    proxy_discovery(plan, awake);
    stale_name(plan, days);
}

/// Adds the file-reputation lookups of every device except the resolver while it is
/// awake: flat on workstations, following the daily curve on servers.
fn reputation_checks(plan: &mut Plan, awake: &[Vec<(u64, u64)>]) {
    let topology = plan.topology;
    for (index, device) in topology.devices.iter().enumerate() {
        if device.role == Role::Resolver {
            continue;
        }
        for &(from, to) in &awake[index] {
            let arrivals = if device.role == Role::Workstation {
                let rate = REPUTATION_PER_HOUR_WORKSTATION;
                poisson(&mut plan.rng, from, to, rate, |_| rate)
            } else {
                let peak = REPUTATION_PEAK_PER_HOUR_SERVER;
                poisson(&mut plan.rng, from, to, peak, |t| peak * diurnal(t))
            };
            for t in arrivals {
                let lookup = names::reputation(&mut plan.rng);
                resolve(plan, t, device.addr, &lookup);
            }
        }
    }
}

/// Adds the application servers' TXT lookups of mail policies.
fn mail_policy_checks(plan: &mut Plan) {
    let topology = plan.topology;
    for app in topology.with_role(Role::App) {
        let addr = topology.devices[app].addr;
        let peak = MAIL_POLICY_PEAK_PER_HOUR;
        let arrivals = poisson(&mut plan.rng, plan.start_ns, plan.end_ns, peak, |t| {
            peak * diurnal(t)
        });
        for t in arrivals {
            let lookup = names::mail_policy(&mut plan.rng);
            resolve(plan, t, addr, &lookup);
        }
    }
}

/// Adds the web proxy auto-discovery lookup (`wpad` in the search domain) that each
/// workstation sends when it wakes; the zone has no such name.
fn proxy_discovery(plan: &mut Plan, awake: &[Vec<(u64, u64)>]) {
    let topology = plan.topology;
    let name = format!("wpad.{INTERNAL_ZONE}");
    let lookup = names::nxdomain(&name, rtype::A, INTERNAL_ZONE, false);
    for station in topology.with_role(Role::Workstation) {
        let addr = topology.devices[station].addr;
        for &(from, _) in &awake[station] {
            let t = from + plan.rng.random_range(5..40) * SECOND_NS;
            resolve(plan, t, addr, &lookup);
        }
    }
}

/// Adds the admin host's lookups of a monitoring host that was decommissioned but is
/// still in a script.
fn stale_name(plan: &mut Plan, days: u64) {
    let topology = plan.topology;
    let Some(&admin) = topology.with_role(Role::Admin).first() else {
        return;
    };
    let addr: Ipv4Addr = topology.devices[admin].addr;
    let name = format!("old-monitor.{INTERNAL_ZONE}");
    let lookup = names::nxdomain(&name, rtype::A, INTERNAL_ZONE, false);
    for day in 0..days {
        let midnight = plan.start_ns + day * DAY_NS;
        let count = plan.rng.random_range(1..=(2.0 * STALE_PER_DAY) as u32);
        for _ in 0..count {
            let t = uniform_time(&mut plan.rng, midnight, midnight + 24 * HOUR_NS);
            resolve(plan, t, addr, &lookup);
        }
    }
}
