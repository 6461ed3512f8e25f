//! The flow table: a bounded map from canonical key to flow state. Three
//! time-ordered queues (open flows by last packet, ended TCP flows by last packet, all
//! flows by record start) let [`FlowTable::expire`] look only at queue heads.
//!
//! Memory per flow is what a sensor holding millions of flows pays for: a slot of
//! about 180 bytes, two queue links and an index entry of a 4-byte slot number.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::config::{FlowConfig, TCP_LINGER_NS};
use super::duplicates::DuplicateFilter;
use super::huge_pages::HugePageAlloc;
use super::key::{Direction, FlowKey, PROTO_TCP};
use super::list::{Link, List};
use super::record::{DirectionCounters, EndReason, FlowRecord, SCHEMA_VERSION};
use super::time::Rfc3339;
use crate::decap::Packet;
use crate::decap::tcp_flags::{ACK, FIN, RST, SYN};

/// Flow table counters, cumulative since creation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows in the table now.
    pub active: u64,
    pub created: u64,
    /// Flows ended by the idle timeout.
    pub expired: u64,
    /// Flows ended after TCP FIN in both directions or RST, and the linger time.
    pub tcp_ended: u64,
    /// Flows ended to make room in a full table.
    pub evicted: u64,
    /// Flows ended by [`FlowTable::drain`].
    pub drained: u64,
    /// Records emitted by the active timeout (the flow continued).
    pub active_records: u64,
    /// Packets not counted because they were a second copy of a packet.
    pub duplicates: u64,
}

/// One direction's counters within a record. Truncated and duplicate packets
/// are rare, so 32 bits (saturating) hold them.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    packets: u64,
    bytes: u64,
    payload_bytes: u64,
    first_ns: u64,
    last_ns: u64,
    truncated: u32,
    duplicates: u32,
}

/// TCP flags seen per canonical direction since the flow started.
#[derive(Clone, Copy, Debug, Default)]
struct TcpSeen {
    syn: [bool; 2],
    syn_ack: [bool; 2],
    fin: [bool; 2],
    rst: bool,
}

#[derive(Clone, Debug)]
struct Flow {
    /// Canonical key.
    key: FlowKey,
    initiator: Direction,
    flow_start_ns: u64,
    record_start_ns: u64,
    last_ns: u64,
    sequence: u32,
    /// Number of the flow in creation order (wrapping), for duplicate detection.
    id: u32,
    /// Counters of the current record, indexed by canonical direction.
    counters: [Counters; 2],
    /// OR of the TCP flags of the current record, by canonical direction.
    tcp_flags: [u8; 2],
    tcp: TcpSeen,
    /// In the ended-TCP queue instead of the open queue.
    tcp_ended: bool,
}

/// Flows of one worker. Not thread-safe; steer packets with
/// [`FlowKey::symmetric_hash`] so each flow has one owner.
pub struct FlowTable {
    config: FlowConfig,
    /// Index from canonical key to slot. It stores only slot numbers, because the
    /// key is in the slot. foldhash with a per-process random seed is far cheaper
    /// than SipHash per packet, and the seed keeps crafted keys from colliding on
    /// purpose.
    index: HashTable<u32, HugePageAlloc>,
    hasher: foldhash::quality::RandomState,
    flows: Vec<Flow>,
    free: Vec<u32>,
    idle_links: Vec<Link>,
    active_links: Vec<Link>,
    open: List,
    ended: List,
    by_record_start: List,
    duplicates: DuplicateFilter,
    stats: FlowStats,
}

impl FlowTable {
    /// Reserves a table for `config.capacity` flows (at least 1). The index gets
    /// twice that many entries so that reusing slots rehashes in place instead of
    /// growing. The index is faulted in at once, in huge pages where the kernel
    /// allows: 12 to 23 bytes per flow of capacity, rounded up to whole 2 MiB. Slots
    /// are reserved, not written: their memory is touched as flows arrive.
    pub fn new(config: FlowConfig) -> Self {
        let capacity = config.capacity.clamp(1, u32::MAX as usize - 1);
        FlowTable {
            config: FlowConfig { capacity, ..config },
            index: HashTable::with_capacity_in(capacity.saturating_mul(2), HugePageAlloc),
            hasher: foldhash::quality::RandomState::default(),
            flows: Vec::with_capacity(capacity),
            free: Vec::new(),
            idle_links: Vec::with_capacity(capacity),
            active_links: Vec::with_capacity(capacity),
            open: List::default(),
            ended: List::default(),
            by_record_start: List::default(),
            duplicates: DuplicateFilter::default(),
            stats: FlowStats::default(),
        }
    }

    pub fn stats(&self) -> FlowStats {
        self.stats.clone()
    }

    /// Accounts `packet` to its flow, creating the flow if needed. A full table first
    /// evicts a flow, and a SYN on a TCP flow that already ended starts a new flow. The
    /// records of the flows that end this way go to `emit`.
    pub fn observe(&mut self, packet: &Packet, emit: &mut impl FnMut(FlowRecord)) {
        let (key, direction) = packet.key.canonical();
        let is_new_syn = key.protocol == PROTO_TCP && packet.tcp_flags & (SYN | ACK) == SYN;

        let hash = self.hasher.hash_one(key);
        let flows = &self.flows;
        let found = self
            .index
            .find(hash, |&slot| {
                flows.get(slot as usize).is_some_and(|f| f.key == key)
            })
            .copied();
        let slot = match found {
            Some(slot) if is_new_syn && self.flow(slot).is_some_and(|f| f.tcp_ended) => {
                self.end(slot, EndReason::TcpEnd, emit);
                self.create(key, hash, direction, packet, emit)
            }
            Some(slot) => slot,
            None => self.create(key, hash, direction, packet, emit),
        };
        self.update(slot, direction, packet);
    }

    /// Ends flows idle for the idle timeout, ends TCP flows past their linger time, and
    /// emits active-timeout records, all as of packet time `now_ns`. Looks only at the
    /// heads of time-ordered queues, so a call with nothing to do is O(1).
    ///
    /// NOTE: the queues are ordered by arrival. Packets whose timestamps go backwards
    /// (merged captures, queues with skewed clocks) can delay a flow's expiry until the
    /// flows queued before it expire.
    pub fn expire(&mut self, now_ns: u64, emit: &mut impl FnMut(FlowRecord)) {
        while let Some(slot) = self.open.head() {
            match self.flow(slot) {
                Some(f) if f.last_ns.saturating_add(self.config.idle_timeout_ns) <= now_ns => {
                    self.end(slot, EndReason::Idle, emit);
                }
                _ => break,
            }
        }
        while let Some(slot) = self.ended.head() {
            match self.flow(slot) {
                Some(f) if f.last_ns.saturating_add(TCP_LINGER_NS) <= now_ns => {
                    self.end(slot, EndReason::TcpEnd, emit);
                }
                _ => break,
            }
        }
        if self.config.active_timeout_ns == 0 {
            return;
        }
        while let Some(slot) = self.by_record_start.head() {
            let Some(flow) = self.flows.get_mut(slot as usize) else {
                break;
            };
            if flow
                .record_start_ns
                .saturating_add(self.config.active_timeout_ns)
                > now_ns
            {
                break;
            }
            if flow.tcp_ended {
                // The flow already closed and only waits out its linger: end it
                // now, so one record holds it instead of an interim record that
                // says it goes on and an empty final one.
                self.end(slot, EndReason::TcpEnd, emit);
                continue;
            }
            let has_packets = flow
                .counters
                .iter()
                .any(|c| c.packets > 0 || c.duplicates > 0);
            if has_packets {
                emit(build_record(flow, EndReason::Active));
                flow.sequence += 1;
                self.stats.active_records += 1;
            }
            flow.counters = [Counters::default(); 2];
            flow.tcp_flags = [0; 2];
            flow.record_start_ns = now_ns;
            self.by_record_start
                .move_to_back(&mut self.active_links, slot);
        }
    }

    /// Ends every flow with reason `shutdown`.
    pub fn drain(&mut self, emit: &mut impl FnMut(FlowRecord)) {
        while let Some(slot) = self.by_record_start.head() {
            self.end(slot, EndReason::Shutdown, emit);
        }
    }

    fn flow(&self, slot: u32) -> Option<&Flow> {
        self.flows.get(slot as usize)
    }

    fn create(
        &mut self,
        key: FlowKey,
        hash: u64,
        direction: Direction,
        packet: &Packet,
        emit: &mut impl FnMut(FlowRecord),
    ) -> u32 {
        if self.index.len() >= self.config.capacity {
            // Prefer a TCP flow that already ended; otherwise the one idle for longest.
            if let Some(victim) = self.ended.head().or(self.open.head()) {
                self.end(victim, EndReason::Evicted, emit);
            }
        }

        // The sender of a SYN-ACK is the responder.
        let is_syn_ack = key.protocol == PROTO_TCP && packet.tcp_flags & (SYN | ACK) == SYN | ACK;
        let flow = Flow {
            key,
            initiator: if is_syn_ack {
                direction.reverse()
            } else {
                direction
            },
            flow_start_ns: packet.ts_ns,
            record_start_ns: packet.ts_ns,
            last_ns: packet.ts_ns,
            sequence: 0,
            id: self.stats.created as u32,
            counters: [Counters::default(); 2],
            tcp_flags: [0; 2],
            tcp: TcpSeen::default(),
            tcp_ended: false,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(old) = self.flows.get_mut(slot as usize) {
                    *old = flow;
                }
                slot
            }
            None => {
                self.flows.push(flow);
                self.idle_links.push(Link::default());
                self.active_links.push(Link::default());
                (self.flows.len() - 1) as u32
            }
        };
        let (flows, hasher) = (&self.flows, &self.hasher);
        self.index.insert_unique(hash, slot, |&other| {
            flows
                .get(other as usize)
                .map_or(0, |flow| hasher.hash_one(flow.key))
        });
        self.open.push_back(&mut self.idle_links, slot);
        self.by_record_start.push_back(&mut self.active_links, slot);
        self.stats.created += 1;
        self.stats.active += 1;
        slot
    }

    fn update(&mut self, slot: u32, direction: Direction, packet: &Packet) {
        let Some(flow) = self.flows.get_mut(slot as usize) else {
            return;
        };
        let d = direction_index(direction);
        // A packet older than a later record's start arrived after the record
        // it belonged to was emitted. It counts in this record, at its start, so
        // records never overlap and none starts before the flow.
        let ts_ns = if flow.sequence > 0 {
            packet.ts_ns.max(flow.record_start_ns)
        } else {
            packet.ts_ns
        };

        if let (Some(counters), Some(tcp_flags)) =
            (flow.counters.get_mut(d), flow.tcp_flags.get_mut(d))
        {
            if self
                .duplicates
                .is_duplicate(packet.fingerprint, flow.id, packet.ts_ns)
            {
                counters.duplicates = counters.duplicates.saturating_add(1);
                self.stats.duplicates += 1;
                return;
            }

            // Packets of one direction can arrive out of time order (two RX
            // queues), so the first packet is the earliest, not the first to arrive.
            counters.first_ns = if counters.packets == 0 {
                ts_ns
            } else {
                counters.first_ns.min(ts_ns)
            };
            counters.packets += 1;
            counters.bytes += u64::from(packet.ip_bytes);
            counters.payload_bytes += u64::from(packet.payload_bytes);
            counters.last_ns = counters.last_ns.max(ts_ns);
            *tcp_flags |= packet.tcp_flags;
            counters.truncated = counters
                .truncated
                .saturating_add(u32::from(packet.truncated));
        }
        flow.last_ns = flow.last_ns.max(packet.ts_ns);
        if flow.sequence == 0 && packet.ts_ns < flow.flow_start_ns {
            restart_from(flow, direction, packet);
        }

        let became_ended = flow.key.protocol == PROTO_TCP
            && !flow.tcp_ended
            && flow.tcp.observe(d, packet.tcp_flags);
        if became_ended {
            flow.tcp_ended = true;
            self.open.unlink(&mut self.idle_links, slot);
            self.ended.push_back(&mut self.idle_links, slot);
        } else if flow.tcp_ended {
            self.ended.move_to_back(&mut self.idle_links, slot);
        } else {
            self.open.move_to_back(&mut self.idle_links, slot);
        }
    }

    fn end(&mut self, slot: u32, reason: EndReason, emit: &mut impl FnMut(FlowRecord)) {
        let Some(flow) = self.flows.get(slot as usize) else {
            return;
        };
        emit(build_record(flow, reason));
        let (key, tcp_ended) = (flow.key, flow.tcp_ended);

        if tcp_ended {
            self.ended.unlink(&mut self.idle_links, slot);
        } else {
            self.open.unlink(&mut self.idle_links, slot);
        }
        self.by_record_start.unlink(&mut self.active_links, slot);
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.index.find_entry(hash, |&other| other == slot) {
            entry.remove();
        }
        self.free.push(slot);

        self.stats.active = self.stats.active.saturating_sub(1);
        match reason {
            EndReason::Idle => self.stats.expired += 1,
            EndReason::TcpEnd => self.stats.tcp_ended += 1,
            EndReason::Evicted => self.stats.evicted += 1,
            EndReason::Shutdown => self.stats.drained += 1,
            EndReason::Active => {}
        }
    }
}

/// An earlier packet arrived after later ones: the two directions of a flow can
/// reach this shard out of order when they come in on different RX queues. The
/// earliest packet by timestamp decides when the flow started and, unless the
/// current initiator opened it with a SYN, who initiated it.
fn restart_from(flow: &mut Flow, direction: Direction, packet: &Packet) {
    flow.flow_start_ns = packet.ts_ns;
    flow.record_start_ns = flow.record_start_ns.min(packet.ts_ns);

    let initiator_sent_syn = flow
        .tcp
        .syn
        .get(direction_index(flow.initiator))
        .copied()
        .unwrap_or(false);
    if initiator_sent_syn {
        return;
    }
    let is_syn_ack = flow.key.protocol == PROTO_TCP && packet.tcp_flags & (SYN | ACK) == SYN | ACK;
    flow.initiator = if is_syn_ack {
        direction.reverse()
    } else {
        direction
    };
}

fn direction_index(direction: Direction) -> usize {
    match direction {
        Direction::Forward => 0,
        Direction::Reverse => 1,
    }
}

impl TcpSeen {
    /// Records the flags of one packet in direction `d`; returns whether the flow has
    /// now ended (FIN both ways, or RST).
    fn observe(&mut self, d: usize, flags: u8) -> bool {
        let set = |side: &mut [bool; 2]| {
            if let Some(seen) = side.get_mut(d) {
                *seen = true;
            }
        };
        if flags & (SYN | ACK) == SYN {
            set(&mut self.syn);
        }
        if flags & (SYN | ACK) == SYN | ACK {
            set(&mut self.syn_ack);
        }
        if flags & FIN != 0 {
            set(&mut self.fin);
        }
        self.rst |= flags & RST != 0;
        self.rst || self.fin == [true, true]
    }

    /// Returns the state name written to records.
    fn state(&self) -> &'static str {
        let any = |side: [bool; 2]| side[0] || side[1];
        if self.rst {
            "reset"
        } else if self.fin == [true, true] {
            "closed"
        } else if any(self.fin) {
            "closing"
        } else if any(self.syn) && any(self.syn_ack) {
            "established"
        } else if any(self.syn) {
            "syn_sent"
        } else if any(self.syn_ack) {
            "syn_received"
        } else {
            "midstream"
        }
    }
}

fn build_record(flow: &Flow, reason: EndReason) -> FlowRecord {
    let (key, src_dir) = match flow.initiator {
        Direction::Forward => (flow.key, 0),
        Direction::Reverse => (flow.key.reversed(), 1),
    };
    let [forward, reverse] = flow.counters;
    let [forward_flags, reverse_flags] = flow.tcp_flags;
    let (out, back) = if src_dir == 0 {
        ((forward, forward_flags), (reverse, reverse_flags))
    } else {
        ((reverse, reverse_flags), (forward, forward_flags))
    };

    let with_packets = flow.counters.iter().filter(|c| c.packets > 0);
    let start_ns = with_packets
        .clone()
        .map(|c| c.first_ns)
        .min()
        .unwrap_or(flow.record_start_ns);
    let end_ns = with_packets.map(|c| c.last_ns).max().unwrap_or(start_ns);
    let icmp = key.is_icmp();

    FlowRecord {
        schema_version: SCHEMA_VERSION,
        reason,
        vni: key.vni,
        protocol: key.protocol,
        src_addr: key.src.to_ip(),
        dst_addr: key.dst.to_ip(),
        src_port: if icmp { 0 } else { key.sport },
        dst_port: if icmp { 0 } else { key.dport },
        icmp_type: icmp.then_some(key.sport as u8),
        icmp_id: icmp.then_some(key.dport),
        start: Rfc3339(start_ns),
        start_ns,
        end: Rfc3339(end_ns),
        end_ns,
        flow_start: Rfc3339(flow.flow_start_ns),
        flow_start_ns: flow.flow_start_ns,
        sequence: flow.sequence,
        tcp_state: (key.protocol == PROTO_TCP).then(|| flow.tcp.state()),
        src_to_dst: direction_record(out),
        dst_to_src: direction_record(back),
        dst_name: None,
        dns: None,
        http: None,
        tls: None,
    }
}

fn direction_record((c, tcp_flags): (Counters, u8)) -> DirectionCounters {
    DirectionCounters {
        packets: c.packets,
        bytes: c.bytes,
        payload_bytes: c.payload_bytes,
        tcp_flags,
        truncated: u64::from(c.truncated),
        duplicates: u64::from(c.duplicates),
        ..Default::default()
    }
    .with_times(c.first_ns, c.last_ns)
}
