//! The model: routes each flow record to the device profiles of its monitored ends,
//! runs the detectors against what each profile knew before the record, updates the
//! baselines, and gates findings into alerts (learning period, minimum score,
//! cooldown). Bounded: devices and peers beyond their limits are evicted, least
//! recently seen first, and counted.
//!
//! Flow records carry their DNS metadata, which feeds the DNS tunnelling and DGA
//! detectors and each device's passive DNS map. The passive DNS maps name alert
//! endpoints; they are not part of the persisted state, so after a restore they refill
//! from new DNS responses.

use std::cell::RefCell;

use crate::hash::HashMap;

use super::alert::{Alert, AlertFlow, endpoint_addr};
use super::bounded::{evict_oldest, oldest_keys};
use super::config::{ModelConfig, duration_ns};
use super::cooldown::Cooldown;
use super::detect::lateral_movement::EdgeContext;
use super::detect::{
    Context, beaconing, brute_force, dga, dns_tunnelling, horizontal_scan, lateral_movement,
    new_service, outbound_volume, rare_endpoint, unusual_hours, vertical_scan,
};
use super::device::{Device, DeviceKey};
use super::dns_observe;
use super::fleet::{Fleet, FleetKey};
use super::flow_view::{FlowView, Outcome, Role, Side, is_group_or_unspecified};
use super::gate::{Findings, Gate};
use super::home_nets::HomeNets;
use super::peers::{PeerKey, PeerStats};
use super::port_set::DetectorPorts;
use super::services::ServiceKey;
use super::split_cache::{SPLIT_CACHE_SLOTS, SplitCache};
use super::state::{MODEL_STATE_VERSION, ModelState, RestoreError};
use super::stats::ModelStats;
use crate::app::passive_dns::PassiveDns;
use crate::flow::FlowRecord;

/// Packet time between maintenance passes (cooldown pruning, stale trackers).
const MAINTENANCE_INTERVAL_NS: u64 = 60_000_000_000;

/// The pattern-of-life model of one shard's devices.
#[derive(Debug)]
pub struct Model {
    config: ModelConfig,
    /// `config.home_nets`, prepared for the per-record membership tests.
    home: HomeNets,
    /// The port lists of `config`, prepared alike.
    ports: DetectorPorts,
    devices: HashMap<DeviceKey, Device>,
    fleet: Fleet,
    cooldown: Cooldown,
    /// Names from each device's own DNS responses, by address.
    passive_dns: HashMap<DeviceKey, PassiveDns>,
    /// Latest packet time seen.
    clock_ns: u64,
    last_maintenance_ns: u64,
    stats: ModelStats,
    /// Unanswered flows of home sources that are not devices yet (not persisted).
    held: HashMap<DeviceKey, Vec<FlowRecord>>,
    /// Registered domains of recent DNS query names (not persisted).
    split_cache: SplitCache,
}

/// Unanswered flows after which an unknown home source counts as a device.
const HOLD_UNANSWERED: usize = 8;
/// Unknown sources whose unanswered flows are held at once.
const MAX_HELD_SOURCES: usize = 4096;

impl Model {
    pub fn new(config: ModelConfig) -> Model {
        Model {
            home: HomeNets::new(&config.home_nets),
            ports: DetectorPorts::new(&config),
            config,
            devices: HashMap::default(),
            fleet: Fleet::default(),
            cooldown: Cooldown::default(),
            passive_dns: HashMap::default(),
            clock_ns: 0,
            last_maintenance_ns: 0,
            stats: ModelStats::default(),
            held: HashMap::default(),
            split_cache: SplitCache::new(SPLIT_CACHE_SLOTS),
        }
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Learns from one flow record and passes any alerts to `alerts`. Each end inside
    /// the home networks is a device that reads the record from its side, so a flow
    /// between two devices informs both.
    pub fn observe(&mut self, record: &FlowRecord, alerts: &mut impl FnMut(Alert)) {
        self.stats.events_processed += 1;
        self.clock_ns = self.clock_ns.max(record.end_ns);
        let view = FlowView::new(record);
        let src_home = self.is_device_addr(record.src_addr);
        let dst_home = self.is_device_addr(record.dst_addr);
        // An address that never answered is no evidence of a device (a scan of unused
        // addresses would otherwise fill the model), unless it is one already.
        let dst_device = dst_home
            && (record.dst_to_src.packets > 0
                || self.devices.contains_key(&DeviceKey {
                    vni: record.vni,
                    addr: record.dst_addr,
                }));
        // An unknown source whose flow got no answer is held back as well:
        // otherwise a flood from spoofed home addresses, one flow each, would
        // evict the learned devices. A source becomes a device with its first
        // answered flow (an RST from a closed port counts), or once it has sent
        // HOLD_UNANSWERED unanswered flows, which are then replayed in order.
        let src_key = DeviceKey {
            vni: record.vni,
            addr: record.src_addr,
        };
        let mut held = Vec::new();
        let src_device = if !src_home {
            false
        } else if record.dst_to_src.packets > 0 || self.devices.contains_key(&src_key) {
            true
        } else {
            match self.hold_unanswered(src_key, record) {
                Some(records) => {
                    held = records;
                    true
                }
                None => false,
            }
        };
        if !src_device && !dst_device {
            self.stats.events_without_device += 1;
            return;
        }
        for earlier in &held {
            let earlier_view = FlowView::new(earlier);
            let peer_home = self.is_device_addr(earlier.dst_addr);
            self.observe_side(&earlier_view, earlier_view.side(true), peer_home, alerts);
        }
        if src_device {
            self.observe_side(&view, view.side(true), dst_home, alerts);
        }
        if dst_device {
            self.observe_side(&view, view.side(false), src_home, alerts);
        }
    }

    /// Keeps an unanswered flow of an unknown source. Returns the flows held so
    /// far once the source has sent enough of them to count as a device.
    fn hold_unanswered(&mut self, key: DeviceKey, record: &FlowRecord) -> Option<Vec<FlowRecord>> {
        if !self.held.contains_key(&key) && self.held.len() >= MAX_HELD_SOURCES {
            // A flood of one-flow sources: forget them all rather than track them.
            self.stats.held_sources_dropped += self.held.len() as u64;
            self.held.clear();
        }
        let records = self.held.entry(key).or_default();
        if records.len() + 1 < HOLD_UNANSWERED {
            records.push(record.clone());
            return None;
        }
        self.held.remove(&key)
    }

    /// Advances packet time to `now_ns` and does periodic maintenance. Every detector
    /// decides when a flow record arrives, because even a failed attempt reaches the
    /// model as a record once the flow table times it out. So no alert comes from here
    /// yet, and `alerts` is for detectors that will decide on elapsed time alone.
    pub fn tick(&mut self, now_ns: u64, _alerts: &mut impl FnMut(Alert)) {
        self.clock_ns = self.clock_ns.max(now_ns);
        if self.clock_ns.saturating_sub(self.last_maintenance_ns) < MAINTENANCE_INTERVAL_NS {
            return;
        }
        self.last_maintenance_ns = self.clock_ns;
        self.cooldown
            .prune(self.clock_ns, self.config.cooldown_ns());
        let attempt_ns = duration_ns(self.config.detectors.attempt_window);
        let beacon_ns = duration_ns(self.config.detectors.beacon_max_interval).saturating_mul(2);
        let dns_window_ns = duration_ns(self.config.detectors.dns_window);
        let now = self.clock_ns;
        for names in self.passive_dns.values_mut() {
            names.expire(now);
        }
        for device in self.devices.values_mut() {
            dns_tunnelling::close_stale(&mut device.trackers, &mut device.dns, now, dns_window_ns);
            dga::close_stale(&mut device.trackers, &mut device.dns, now, dns_window_ns);
            let trackers = &mut device.trackers;
            trackers
                .vertical
                .retain(|_, s| now.saturating_sub(s.last_ns) <= attempt_ns);
            trackers
                .horizontal
                .retain(|_, s| now.saturating_sub(s.last_ns) <= attempt_ns);
            trackers
                .brute_force
                .retain(|_, a| now.saturating_sub(a.last_ns) <= attempt_ns);
            trackers
                .beacons
                .retain(|_, b| now.saturating_sub(b.last_ns) <= beacon_ns);
        }
    }

    /// Current counters.
    pub fn stats(&self) -> ModelStats {
        let mut stats = self.stats.clone();
        stats.devices_tracked = self.devices.len() as u64;
        stats.fleet_entries = self.fleet.len() as u64;
        stats.fleet_evicted = self.fleet.evicted;
        stats.cooldown_entries = self.cooldown.len() as u64;
        stats
    }

    /// Returns a copy of the learned state, for a snapshot.
    pub fn state(&self) -> ModelState {
        let mut devices: Vec<(DeviceKey, Device)> =
            self.devices.iter().map(|(k, d)| (*k, d.clone())).collect();
        devices.sort_by_key(|(key, _)| *key);
        ModelState {
            version: MODEL_STATE_VERSION,
            clock_ns: self.clock_ns,
            devices,
            cooldown: self.cooldown.clone(),
        }
    }

    /// Rebuilds a model from a state. Devices and peers beyond `config`'s limits are
    /// evicted (and counted), least recently seen first; fleet rarity is recounted.
    pub fn restore(config: ModelConfig, state: ModelState) -> Result<Model, RestoreError> {
        if state.version > MODEL_STATE_VERSION {
            return Err(RestoreError::NewerVersion {
                found: state.version,
                supported: MODEL_STATE_VERSION,
            });
        }
        if state.version < MODEL_STATE_VERSION {
            return Err(RestoreError::OlderVersion {
                found: state.version,
                supported: MODEL_STATE_VERSION,
            });
        }
        let mut model = Model::new(config);
        model.clock_ns = state.clock_ns;
        model.last_maintenance_ns = state.clock_ns;
        model.cooldown = state.cooldown;
        for (key, device) in state.devices {
            device
                .validate()
                .map_err(|reason| RestoreError::InvalidDevice {
                    vni: key.vni,
                    addr: key.addr,
                    reason,
                })?;
            if model.devices.insert(key, device).is_some() {
                return Err(RestoreError::DuplicateDevice {
                    vni: key.vni,
                    addr: key.addr,
                });
            }
        }
        let excess = model.devices.len().saturating_sub(model.config.max_devices);
        for key in oldest_keys(&model.devices, excess, |d| d.last_seen_ns) {
            model.devices.remove(&key);
            model.stats.devices_evicted += 1;
        }
        let max_peers = model.config.max_peers_per_device;
        for device in model.devices.values_mut() {
            let evicted = evict_oldest(&mut device.peers.peers, max_peers, |p| p.last_seen_ns);
            model.stats.peers_evicted += evicted.len() as u64;
        }
        model.rebuild_fleet();
        Ok(model)
    }

    fn is_device_addr(&self, addr: std::net::IpAddr) -> bool {
        !is_group_or_unspecified(addr) && self.home.contains(addr)
    }

    fn rebuild_fleet(&mut self) {
        let max = self.config.max_fleet_entries;
        let mut fleet = Fleet::default();
        for device in self.devices.values() {
            for (key, peer) in &device.peers.peers {
                if let Some(fleet_key) = endpoint_key(&self.home, key) {
                    fleet.add(fleet_key, peer.last_seen_ns, max);
                }
            }
            for (key, service) in &device.services.services {
                fleet.add(service_fleet_key(key), service.last_seen_ns, max);
            }
            for (domain, stats) in &device.dns.domains {
                if stats.resolved {
                    fleet.add(dns_observe::domain_key(domain), stats.last_seen_ns, max);
                }
            }
        }
        self.fleet = fleet;
    }

    fn observe_side(
        &mut self,
        view: &FlowView,
        side: Side,
        peer_home: bool,
        alerts: &mut impl FnMut(Alert),
    ) {
        let record = view.record;
        let now = record.end_ns;
        let key = DeviceKey {
            vni: record.vni,
            addr: side.device,
        };
        let edge = PeerKey {
            addr: side.peer,
            port: view.service_port,
            protocol: record.protocol,
            role: side.role,
        };
        let service = ServiceKey {
            protocol: record.protocol,
            port: view.service_port,
            role: side.role,
        };
        let target_serves_port = peer_home
            && side.role == Role::Client
            && self.ports.admin.contains(record.dst_port)
            && self
                .devices
                .get(&DeviceKey {
                    vni: record.vni,
                    addr: side.peer,
                })
                .is_some_and(|peer| {
                    peer.services.contains(&ServiceKey {
                        role: Role::Server,
                        ..service
                    })
                });
        let endpoint_key = if is_group_or_unspecified(side.peer) {
            None
        } else {
            endpoint_key(&self.home, &edge)
        };
        self.make_room_for(key);
        let window_ns = self.config.window_ns();
        let learning_ns = self.config.learning_ns();
        let device = self
            .devices
            .entry(key)
            .or_insert_with(|| Device::new(now, window_ns));
        device.roll_to(now, window_ns);
        let edge_before = device.peers.get(&edge).copied();
        let window_start_ns = device.volume.window.saturating_mul(window_ns);
        let learned_at_ns = device.learned_at(learning_ns);
        let gate = Gate::new(
            &mut self.cooldown,
            key,
            now,
            now >= learned_at_ns,
            self.config.min_alert_score,
            self.config.cooldown_ns(),
        );
        let ctx = Context {
            config: &self.config,
            ports: &self.ports,
            view,
            side,
            now_ns: now,
            peer_home,
            peer_group: is_group_or_unspecified(side.peer),
            edge,
            edge_before,
            learned_at_ns,
            hours_known: device.hours_known(now),
            gate: RefCell::new(gate),
        };

        count_volume(device, &ctx, window_start_ns);

        let endpoint_others = endpoint_key
            .map(|k| others(self.fleet.devices(&k), edge_before.is_some()))
            .unwrap_or(0);
        let service_known = device.services.contains(&service);
        let service_others = others(
            self.fleet.devices(&service_fleet_key(&service)),
            service_known,
        );

        let mut findings = Findings::default();
        findings.add(vertical_scan::check(&ctx, &mut device.trackers));
        findings.add(horizontal_scan::check(&ctx, &mut device.trackers));
        findings.add(brute_force::check(&ctx, &mut device.trackers));
        findings.add(beaconing::check(
            &ctx,
            &mut device.trackers,
            endpoint_others,
        ));
        findings.add(rare_endpoint::check(
            &ctx,
            endpoint_others,
            device.novelty.rare_contacts,
        ));
        if !peer_home && side.bytes_out > 0 {
            findings.add(outbound_volume::check(
                &ctx,
                &device.volume,
                &device.window_flows,
            ));
        }
        let edge_context = EdgeContext {
            admin_edges: device.novelty.admin_edges,
            target_serves_port,
        };
        findings.add(lateral_movement::check(&ctx, edge_context));
        findings.add(unusual_hours::check(&ctx, &mut device.hours));
        findings.add(new_service::check(
            &ctx,
            service,
            service_known,
            service_others,
            device.novelty.services,
        ));
        let dns_query = dns_observe::query_of(&ctx, &mut self.split_cache);
        let own_dns_query = dns_query.filter(|_| !dns_observe::serves_dns(device));
        if let Some(query) = &own_dns_query {
            for finding in dns_observe::check(&ctx, query, device, &self.fleet) {
                findings.add(finding);
            }
        }

        let learned = LearnedFacts {
            endpoint_key,
            endpoint_others,
            service,
            service_known,
        };
        learn(
            &self.config,
            &self.home,
            device,
            &mut self.fleet,
            &mut self.stats,
            &ctx,
            learned,
        );
        if let Some(query) = &own_dns_query {
            let max_fleet = self.config.max_fleet_entries;
            dns_observe::learn(device, &mut self.fleet, query, now, window_ns, max_fleet);
        }
        if let Some(dns) = record
            .dns
            .as_ref()
            .filter(|_| ctx.view.opens && side.role == Role::Client)
        {
            let config = &self.config.passive_dns;
            let names = self
                .passive_dns
                .entry(key)
                .or_insert_with(|| PassiveDns::new(config.clone()));
            dns_observe::feed_passive_dns(names, dns, now);
        }
        self.emit(key, now, findings, alerts);
    }

    /// Evicts the least recently seen eighth of the devices when the model is full
    /// and `key` is a new device, so that the caller can insert it.
    fn make_room_for(&mut self, key: DeviceKey) {
        let max = self.config.max_devices.max(1);
        if self.devices.len() < max || self.devices.contains_key(&key) {
            return;
        }
        let count = (max / 8).max(1);
        for evicted in oldest_keys(&self.devices, count, |d| d.last_seen_ns) {
            self.passive_dns.remove(&evicted);
            if let Some(device) = self.devices.remove(&evicted) {
                self.forget_in_fleet(&device);
                self.stats.devices_evicted += 1;
            }
        }
    }

    /// Returns the name that the device's own DNS responses gave for the endpoint's
    /// address, if any was still within its TTL at packet time `now`.
    fn endpoint_name(&self, key: DeviceKey, endpoint: Option<&str>, now: u64) -> Option<String> {
        let addr = endpoint_addr(endpoint?)?;
        let names = self.passive_dns.get(&key)?;
        names.lookup_at(addr.into(), now).map(str::to_owned)
    }

    /// Removes an evicted device's contributions from the fleet counts.
    fn forget_in_fleet(&mut self, device: &Device) {
        for key in device.peers.peers.keys() {
            if let Some(fleet_key) = endpoint_key(&self.home, key) {
                self.fleet.remove(&fleet_key);
            }
        }
        for key in device.services.services.keys() {
            self.fleet.remove(&service_fleet_key(key));
        }
        for (domain, stats) in &device.dns.domains {
            if stats.resolved {
                self.fleet.remove(&dns_observe::domain_key(domain));
            }
        }
    }

    /// Turns the findings that passed the alert gate into alerts, and counts the
    /// ones it stopped: baseline-relative findings during the device's learning
    /// period, findings below the minimum score, and repeats within the cooldown.
    fn emit(
        &mut self,
        key: DeviceKey,
        now: u64,
        findings: Findings,
        alerts: &mut impl FnMut(Alert),
    ) {
        self.stats.findings_below_min_score += findings.below_min_score;
        self.stats.alerts_suppressed_learning += findings.learning;
        self.stats.alerts_suppressed_cooldown += findings.cooldown;
        for finding in findings.alerts {
            let mut alert = Alert::new(
                now,
                key.addr,
                key.vni,
                finding.detector,
                finding.score,
                finding.endpoint,
                finding.explanation,
                finding.flows,
            );
            alert.endpoint_name = self.endpoint_name(key, alert.endpoint.as_deref(), now);
            self.stats.count_alert(alert.detector, alert.severity);
            alerts(alert);
        }
    }
}

/// Facts about the record that the detectors computed and learning reuses.
struct LearnedFacts {
    endpoint_key: Option<FleetKey>,
    endpoint_others: u32,
    service: ServiceKey,
    service_known: bool,
}

/// Updates the device's baselines and the fleet counts with the record.
fn learn(
    config: &ModelConfig,
    home: &HomeNets,
    device: &mut Device,
    fleet: &mut Fleet,
    stats: &mut ModelStats,
    ctx: &Context,
    facts: LearnedFacts,
) {
    let now = ctx.now_ns;
    let view = ctx.view;
    let max_fleet = config.max_fleet_entries;
    let evicted_peers = device.peers.touch(
        ctx.edge,
        now,
        view.opens,
        ctx.side.bytes_out,
        ctx.side.bytes_in,
        config.max_peers_per_device,
    );
    let new_edge = ctx.edge_before.is_none() && !ctx.peer_group;
    if new_edge && ctx.side.role == Role::Client {
        let rare = facts.endpoint_key.is_some() && facts.endpoint_others == 0;
        if rare && view.outcome != Outcome::Failed {
            device.novelty.rare_contacts = device.novelty.rare_contacts.saturating_add(1);
        }
        if ctx.peer_home && view.has_ports() && ctx.ports.admin.contains(view.record.dst_port) {
            device.novelty.admin_edges = device.novelty.admin_edges.saturating_add(1);
        }
    }
    let learns_service = view.opens && view.has_ports() && view.outcome == Outcome::Answered;
    let mut evicted_services = Vec::new();
    if learns_service {
        if !facts.service_known {
            device.novelty.services = device.novelty.services.saturating_add(1);
        }
        evicted_services = device.services.touch(facts.service, now);
    }

    stats.peers_evicted += evicted_peers.len() as u64;
    stats.services_evicted += evicted_services.len() as u64;
    for peer in &evicted_peers {
        if let Some(fleet_key) = endpoint_key(home, peer) {
            fleet.remove(&fleet_key);
        }
    }
    for evicted in &evicted_services {
        fleet.remove(&service_fleet_key(evicted));
    }
    if let Some(fleet_key) = facts.endpoint_key {
        if ctx.edge_before.is_none() {
            fleet.add(fleet_key, now, max_fleet);
        } else {
            fleet.refresh(&fleet_key, now);
        }
    }
    if learns_service {
        let service_key = service_fleet_key(&facts.service);
        if facts.service_known {
            fleet.refresh(&service_key, now);
        } else {
            fleet.add(service_key, now, max_fleet);
        }
    }
}

/// Returns the fleet key of a client edge to an external endpoint.
fn endpoint_key(home: &HomeNets, key: &PeerKey) -> Option<FleetKey> {
    (key.role == Role::Client && !home.contains(key.addr)).then_some(FleetKey::Endpoint {
        addr: key.addr,
        port: key.port,
        protocol: key.protocol,
    })
}

/// Adds the record to the device's current volume window and hour.
fn count_volume(device: &mut Device, ctx: &Context, window_start_ns: u64) {
    let sums = &mut device.volume.current;
    // Refused or unanswered attempts on the device are not its own activity.
    let active = ctx.side.role == Role::Client || ctx.view.outcome != Outcome::Failed;
    if ctx.view.opens && active {
        sums.connections += 1;
        device.hours.count();
    }
    sums.bytes_out = sums.bytes_out.saturating_add(ctx.side.bytes_out);
    sums.bytes_in = sums.bytes_in.saturating_add(ctx.side.bytes_in);
    if ctx
        .edge_before
        .is_none_or(|edge: PeerStats| edge.last_seen_ns < window_start_ns)
    {
        sums.distinct_peers += 1;
    }
    if !ctx.peer_home && ctx.side.bytes_out > 0 {
        sums.external_bytes_out = sums.external_bytes_out.saturating_add(ctx.side.bytes_out);
        device.keep_window_flow(ctx.side.bytes_out, AlertFlow::from_record(ctx.view.record));
    }
}

/// Devices other than this one that use a fleet key, when this one is counted in
/// `count` if `counted`.
fn others(count: u32, counted: bool) -> u32 {
    if counted {
        count.saturating_sub(1)
    } else {
        count
    }
}

fn service_fleet_key(key: &ServiceKey) -> FleetKey {
    FleetKey::Service {
        protocol: key.protocol,
        port: key.port,
        role: key.role,
    }
}
