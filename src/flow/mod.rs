//! Flows: a bidirectional table per worker, keyed on a canonical 5-tuple plus VLAN and tunnel id.
//!
//! Each worker owns one [`FlowTable`] (no locks): the pipeline shards frames so that both
//! directions of a conversation reach the same worker. Time only moves with packet timestamps
//! ([`FlowTable::tick`] is called with the pipeline's packet clock), so a capture file gives the
//! same reports on every run.
//!
//! Limits: `max_flows` per table (the least recently seen sixteenth is evicted, reported final
//! and counted as `evicted`); idle timeouts per transport; a closed TCP flow (both FINs, or a
//! RST) is reported final at the next sweep.

pub mod app;
pub mod config;
pub mod stats;
pub use crate::community_id;

use crate::decode::{LinkInfo, Packet, Tunnel, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::proto::Txn;
use app::{App, AppLayer};
use std::net::IpAddr;

/// Sweeps for idle flows run at most this often (packet time).
const SWEEP_INTERVAL_NS: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub vlan: [Option<u16>; 2],
    pub tunnel_id: u32,
    pub proto: u8,
    /// Canonical order: (a, pa) <= (b, pb), except one-way ICMP which keeps wire order.
    pub a: IpAddr,
    pub b: IpAddr,
    pub pa: u16,
    pub pb: u16,
    pub has_ports: bool,
}

impl FlowKey {
    /// The key of a packet, and whether the packet goes from `b` to `a` (reverse of canonical).
    pub fn of(p: &Packet<'_>) -> (FlowKey, bool) {
        let (sp, dp, one_way, has_ports) = match p.ports {
            Some((s, d)) => {
                let (s, d, one_way) = community_id::port_equivalents(p.proto, s, d);
                (s, d, one_way, true)
            }
            None => (0, 0, false, false),
        };
        let reverse = !one_way && (p.src, sp) > (p.dst, dp);
        let (a, b, pa, pb) = if reverse { (p.dst, p.src, dp, sp) } else { (p.src, p.dst, sp, dp) };
        let key = FlowKey {
            vlan: p.link.vlan,
            // A GTP-U TEID names the receiving end, so the two directions of one flow carry
            // different TEIDs: it cannot tell flows apart (the inner addresses do).
            tunnel_id: p
                .tunnel
                .filter(|t| t.kind != crate::decode::TunnelKind::GtpU)
                .map_or(0, |t| t.id),
            proto: p.proto,
            a,
            b,
            pa,
            pb,
            has_ports,
        };
        (key, reverse)
    }
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_flags: u8,
}

/// Simplified TCP connection state, as seen from the sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    SynSent,
    SynReceived,
    Established,
    /// First packet seen was not a SYN: picked up mid-stream.
    Midstream,
    Closing,
    Closed,
    Reset,
}

impl TcpState {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::SynSent => "syn_sent",
            TcpState::SynReceived => "syn_received",
            TcpState::Established => "established",
            TcpState::Midstream => "midstream",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
            TcpState::Reset => "reset",
        }
    }
}

/// Why a flow was reported final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    IdleTimeout,
    TcpClose,
    Evicted,
    EndOfCapture,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::TcpClose => "tcp_close",
            EndReason::Evicted => "evicted",
            EndReason::EndOfCapture => "end_of_capture",
        }
    }
}

pub struct Flow {
    /// Worker-unique sequence number; with the worker id it makes `flow.id`.
    pub seq: u64,
    pub key: FlowKey,
    /// Ports of the initiator's packets; ICMP type and code of the first packet.
    pub sport: u16,
    pub dport: u16,
    /// The initiator ("source", as the first packet or the SYN tells) sits at `key.b` (its
    /// packets are "reverse" in key order): [`Flow::src`] and [`Flow::dst`] read the key.
    pub src_is_b: bool,
    pub first_ts: i64,
    pub last_ts: i64,
    /// From the initiator / from the responder.
    pub fwd: DirStats,
    pub rev: DirStats,
    pub link: LinkInfo,
    pub tunnel: Option<Tunnel>,
    pub tcp_state: Option<TcpState>,
    /// Saturating (a flow of more than 4 G such packets is not worth 8 more bytes per flow).
    pub truncated_packets: u32,
    pub reassembled_packets: u32,
    /// Packets at the last report: a periodic report is skipped when nothing changed.
    pub reported_packets: u64,
    /// Both FINs or a RST seen: reported final at the next sweep. (A flag, not the time: the
    /// 16 bytes of an `Option<i64>` pay for `stats` below.)
    pub closed: bool,
    /// UDP datagrams content-probed while the flow had no application state.
    pub udp_probes: u8,
    /// `wirebeat.flows.statistics` (see `stats`); `None` when off, so the flow does not grow.
    pub stats: Option<Box<stats::FlowStatsAcc>>,
    /// Application layer state (protocol parser, TCP streams); `None` when none applies.
    pub app: Option<Box<App>>,
    /// The Community ID, computed on the first event of the flow (see `ecs::community_id_of`).
    pub community_id: std::cell::OnceCell<Option<Box<str>>>,
}

impl Flow {
    /// A new flow from its first packet. `reverse`: the packet goes from `key.b` to `key.a`.
    fn start(
        p: &Packet<'_>,
        key: FlowKey,
        reverse: bool,
        seq: u64,
        app: Option<&mut AppLayer>,
    ) -> Flow {
        let (sport, dport) = p.ports.unwrap_or((0, 0));
        // A SYN-ACK first means we missed the SYN: the sender is the responder.
        let swap = p.tcp.is_some_and(|t| t.flags & (TCP_SYN | TCP_ACK) == (TCP_SYN | TCP_ACK));
        let (sport, dport) = if swap { (dport, sport) } else { (sport, dport) };
        let mut link = p.link;
        if swap {
            std::mem::swap(&mut link.src_mac, &mut link.dst_mac);
        }
        let tcp_state = p.tcp.map(|t| {
            if t.flags & (TCP_SYN | TCP_ACK) == TCP_SYN {
                TcpState::SynSent
            } else if swap {
                TcpState::SynReceived
            } else {
                TcpState::Midstream
            }
        });
        Flow {
            seq,
            key,
            sport,
            dport,
            src_is_b: reverse != swap,
            first_ts: p.ts_ns,
            last_ts: p.ts_ns,
            fwd: DirStats::default(),
            rev: DirStats::default(),
            link,
            tunnel: p.tunnel,
            tcp_state,
            truncated_packets: 0,
            reassembled_packets: 0,
            reported_packets: 0,
            closed: false,
            udp_probes: 0,
            stats: None,
            app: app.and_then(|a| a.start(p.proto, p.ports.is_some(), dport, sport)),
            community_id: std::cell::OnceCell::new(),
        }
    }

    /// The initiator's address.
    pub fn src(&self) -> IpAddr {
        if self.src_is_b {
            self.key.b
        } else {
            self.key.a
        }
    }

    /// The responder's address.
    pub fn dst(&self) -> IpAddr {
        if self.src_is_b {
            self.key.a
        } else {
            self.key.b
        }
    }

    /// `network.protocol` once the application protocol is known.
    pub fn app_protocol(&self) -> Option<&'static str> {
        self.app.as_ref().and_then(|a| a.proto).map(crate::proto::Registry::name)
    }

    pub fn packets(&self) -> u64 {
        self.fwd.packets + self.rev.packets
    }
    pub fn bytes(&self) -> u64 {
        self.fwd.bytes + self.rev.bytes
    }
    /// Whether the initiator is known from the handshake rather than guessed.
    pub fn initiator_known(&self) -> bool {
        self.fwd.tcp_flags & TCP_SYN != 0 && self.fwd.tcp_flags & TCP_ACK == 0
            || self.rev.tcp_flags & (TCP_SYN | TCP_ACK) == (TCP_SYN | TCP_ACK)
    }

    fn update_tcp(&mut self, flags: u8, from_initiator: bool) {
        let state = self.tcp_state.unwrap_or(TcpState::Midstream);
        let next = if flags & TCP_RST != 0 {
            TcpState::Reset
        } else if flags & TCP_FIN != 0 {
            let both = self.fwd.tcp_flags & TCP_FIN != 0 && self.rev.tcp_flags & TCP_FIN != 0;
            if both {
                TcpState::Closed
            } else {
                TcpState::Closing
            }
        } else {
            match state {
                TcpState::SynSent if !from_initiator && flags & TCP_SYN != 0 => {
                    TcpState::SynReceived
                }
                TcpState::SynReceived if from_initiator && flags & TCP_ACK != 0 => {
                    TcpState::Established
                }
                s => s,
            }
        };
        self.tcp_state = Some(next);
        if matches!(next, TcpState::Closed | TcpState::Reset) {
            self.closed = true;
        }
    }
}

/// Settings of a table, from `wirebeat.flows`.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// 0 disables periodic reports.
    pub period_ns: i64,
    pub tcp_timeout_ns: i64,
    pub udp_timeout_ns: i64,
    pub icmp_timeout_ns: i64,
    pub other_timeout_ns: i64,
    pub max_flows: usize,
    /// `wirebeat.flows.statistics`: the activity timeout of the active/idle periods; `None`
    /// when statistics are off.
    pub stats_activity_ns: Option<i64>,
}

impl FlowSettings {
    pub fn from_config(c: &config::Flows, workers: usize) -> Self {
        let t = c.timeout.as_nanos();
        FlowSettings {
            period_ns: c.period.as_nanos(),
            tcp_timeout_ns: c.tcp_timeout.map(|d| d.as_nanos()).unwrap_or(t),
            udp_timeout_ns: c.udp_timeout.map(|d| d.as_nanos()).unwrap_or(t),
            icmp_timeout_ns: c.icmp_timeout.map(|d| d.as_nanos()).unwrap_or(t),
            other_timeout_ns: t,
            max_flows: (c.max_flows / workers.max(1)).max(16),
            stats_activity_ns: c.statistics.then(|| c.activity_timeout.as_nanos()),
        }
    }
}

crate::stats::local_counters! {
    pub struct FlowStats {
        created => flows_created,
        ended => flows_ended,
        evicted => flows_evicted,
        reports => flow_reports,
    }
}

/// What a flow table hands out: flow reports and application transactions.
pub enum Emit<'a> {
    Flow(Report<'a>),
    Txn(&'a Flow, Box<Txn>),
}

/// A report: the flow, whether it is the final one, the report time, and why it ended.
pub struct Report<'a> {
    pub flow: &'a Flow,
    pub final_reason: Option<EndReason>,
    pub ts_ns: i64,
}

/// Timeout classes, each with its own idle timeout and least-recently-seen list.
const CLASSES: usize = 4;

fn class_of(proto: u8) -> usize {
    match proto {
        6 => 0,
        17 => 1,
        1 | 58 => 2,
        _ => 3,
    }
}

/// No slot (end of a list).
const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Links {
    prev: u32,
    next: u32,
}

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List { head: NIL, tail: NIL };

fn hash_key(k: &FlowKey) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(k)
}

/// A slot and the `seq` of the flow it held when noted: slots are reused, so a note about a
/// flow that has since ended (and whose slot holds another flow now) is recognised as stale.
type Note = (u32, u64);

/// The flows of one worker.
///
/// Memory: the flows live inline in one slab (`slots`, reused through `free`), so a flow
/// without application state costs no heap allocation of its own; the hash index holds only
/// 4-byte slot numbers. Time: every flow sits in the least-recently-seen list of its timeout
/// class, moved to the tail on each packet, so idle expiry walks only the expired heads and
/// eviction pops the oldest heads — neither scans nor sorts the table. Periodic reports walk
/// the flows that got packets since the last report (`dirty`), the transaction-timeout tick
/// walks the flows with application state (`with_app`), and a sweep collects the flows that
/// closed (`closed`); reports within one call go in `seq` (creation) order, as before.
pub struct FlowTable {
    settings: FlowSettings,
    slots: Vec<Option<Flow>>,
    links: Vec<Links>,
    free: Vec<u32>,
    index: hashbrown::HashTable<u32>,
    lru: [List; CLASSES],
    dirty: Vec<Note>,
    closed: Vec<Note>,
    with_app: Vec<Note>,
    live: usize,
    next_seq: u64,
    next_period: Option<i64>,
    last_sweep: i64,
    pub stats: FlowStats,
    /// Application layer (None: no protocol parsing).
    pub app: Option<AppLayer>,
    txn_buf: Vec<Txn>,
}

impl FlowTable {
    pub fn new(settings: FlowSettings) -> Self {
        FlowTable {
            settings,
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            index: hashbrown::HashTable::new(),
            lru: [EMPTY; CLASSES],
            dirty: Vec::new(),
            closed: Vec::new(),
            with_app: Vec::new(),
            live: 0,
            next_seq: 0,
            next_period: None,
            last_sweep: i64::MIN,
            stats: FlowStats::default(),
            app: None,
            txn_buf: Vec::new(),
        }
    }

    /// Turns on protocol parsing.
    pub fn with_app(mut self, app: AppLayer) -> Self {
        self.app = Some(app);
        self
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The live flows, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.slots.iter().flatten()
    }

    fn flow(&self, i: u32) -> Option<&Flow> {
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    /// The flow a note names, if it is still the same flow.
    fn noted(&self, (i, seq): Note) -> Option<&Flow> {
        self.flow(i).filter(|f| f.seq == seq)
    }

    fn find(&self, key: &FlowKey, hash: u64) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| {
                slots.get(i as usize).and_then(Option::as_ref).is_some_and(|f| f.key == *key)
            })
            .copied()
    }

    fn link_tail(&mut self, i: u32, class: usize) {
        let list = &mut self.lru[class];
        let old_tail = list.tail;
        if let Some(l) = self.links.get_mut(i as usize) {
            *l = Links { prev: old_tail, next: NIL };
        }
        if old_tail == NIL {
            list.head = i;
        } else if let Some(t) = self.links.get_mut(old_tail as usize) {
            t.next = i;
        }
        list.tail = i;
    }

    fn unlink(&mut self, i: u32, class: usize) {
        let Some(Links { prev, next }) = self.links.get(i as usize).copied() else { return };
        let list = &mut self.lru[class];
        if prev == NIL {
            list.head = next;
        } else if let Some(p) = self.links.get_mut(prev as usize) {
            p.next = next;
        }
        if next == NIL {
            list.tail = prev;
        } else if let Some(n) = self.links.get_mut(next as usize) {
            n.prev = prev;
        }
    }

    /// Stores a new flow; returns its slot.
    fn insert(&mut self, f: Flow, hash: u64) -> u32 {
        let class = class_of(f.key.proto);
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(f);
                }
                i
            }
            None => {
                // At most `max_flows` (≤ 10 M) slots: a u32 always holds the slot number.
                let i = u32::try_from(self.slots.len()).unwrap_or(NIL - 1);
                self.slots.push(Some(f));
                self.links.push(Links { prev: NIL, next: NIL });
                i
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, i, |&j| {
            slots.get(j as usize).and_then(Option::as_ref).map_or(0, |f| hash_key(&f.key))
        });
        self.link_tail(i, class);
        self.live += 1;
        i
    }

    /// Takes a flow out of the table.
    fn remove(&mut self, i: u32) -> Option<Flow> {
        let f = self.slots.get_mut(i as usize)?.take()?;
        if let Ok(e) = self.index.find_entry(hash_key(&f.key), |&j| j == i) {
            e.remove();
        }
        self.unlink(i, class_of(f.key.proto));
        self.free.push(i);
        self.live -= 1;
        Some(f)
    }

    /// Accounts one packet; may evict flows (reported through `emit`) to make room.
    pub fn update(&mut self, p: &Packet<'_>, emit: &mut dyn FnMut(Emit<'_>)) {
        let (key, reverse) = FlowKey::of(p);
        let hash = hash_key(&key);
        let i = match self.find(&key, hash) {
            Some(i) => {
                let class = class_of(key.proto);
                if self.lru[class].tail != i {
                    self.unlink(i, class);
                    self.link_tail(i, class);
                }
                i
            }
            None => {
                if self.live >= self.settings.max_flows {
                    self.evict(p.ts_ns, emit);
                }
                self.stats.created += 1;
                self.next_seq += 1;
                let seq = self.next_seq - 1;
                let mut f = Flow::start(p, key, reverse, seq, self.app.as_mut());
                if self.settings.stats_activity_ns.is_some() {
                    f.stats = Some(Box::new(stats::FlowStatsAcc::new(p.ts_ns, p.tcp.is_some())));
                }
                let has_app = f.app.is_some();
                let i = self.insert(f, hash);
                if has_app {
                    self.with_app.push((i, seq));
                }
                i
            }
        };
        let FlowTable { slots, app, txn_buf, settings, dirty, closed, with_app, .. } = self;
        let Some(f) = slots.get_mut(i as usize).and_then(Option::as_mut) else { return };
        let activity_ns = settings.stats_activity_ns;
        let was_clean = f.packets() == f.reported_packets;
        let was_closed = f.closed;
        let from_initiator = reverse == f.src_is_b;
        // Packets of a capture file may be slightly out of order: keep the span sane.
        f.first_ts = f.first_ts.min(p.ts_ns);
        f.last_ts = f.last_ts.max(p.ts_ns);
        let flags = p.tcp.map(|t| t.flags).unwrap_or(0);
        let dir = if from_initiator { &mut f.fwd } else { &mut f.rev };
        dir.packets += u64::from(p.frames);
        dir.bytes += p.wire_bytes;
        dir.tcp_flags |= flags;
        if let (Some(s), Some(t)) = (f.stats.as_mut(), activity_ns) {
            s.packet(p.ts_ns, p.wire_bytes, from_initiator, flags, t);
        }
        if p.truncated {
            f.truncated_packets = f.truncated_packets.saturating_add(p.frames);
        }
        if p.frames > 1 {
            f.reassembled_packets = f.reassembled_packets.saturating_add(1);
        }
        if p.tcp.is_some() {
            f.update_tcp(flags, from_initiator);
        }
        // Without periodic reports nobody drains `dirty`: note nothing then.
        if was_clean && settings.period_ns > 0 && f.packets() != f.reported_packets {
            dirty.push((i, f.seq));
        }
        if !was_closed && f.closed {
            closed.push((i, f.seq));
        }
        if let (Some(layer), None, true) = (app.as_mut(), f.app.as_ref(), f.key.has_ports) {
            f.app = layer.probe_new(p, from_initiator, &mut f.udp_probes);
            if f.app.is_some() {
                with_app.push((i, f.seq));
            }
        }
        if let (Some(layer), Some(state)) = (app.as_mut(), f.app.as_mut()) {
            layer.packet(state, p, from_initiator, txn_buf);
            for t in txn_buf.drain(..) {
                emit(Emit::Txn(f, Box::new(t)));
            }
        }
    }

    /// Closes a flow's application layer, handing out its last transactions.
    fn close_app(
        layer: &mut Option<AppLayer>,
        f: &mut Flow,
        ts_ns: i64,
        emit: &mut dyn FnMut(Emit<'_>),
    ) {
        if let (Some(layer), Some(app)) = (layer.as_mut(), f.app.as_mut()) {
            let mut txns = Vec::new();
            layer.close(app, ts_ns, &mut txns);
            for t in txns {
                emit(Emit::Txn(f, Box::new(t)));
            }
        }
    }

    /// Takes the flow out, closes its application layer and reports it final.
    fn end(&mut self, i: u32, reason: EndReason, ts: i64, emit: &mut dyn FnMut(Emit<'_>)) {
        if let Some(mut f) = self.remove(i) {
            self.stats.ended += 1;
            self.stats.reports += 1;
            if reason == EndReason::Evicted {
                self.stats.evicted += 1;
            }
            Self::close_app(&mut self.app, &mut f, ts, emit);
            emit(Emit::Flow(Report { flow: &f, final_reason: Some(reason), ts_ns: ts }));
        }
    }

    /// Advances the table's clock: periodic reports and idle/closed sweeps.
    pub fn tick(&mut self, now_ns: i64, emit: &mut dyn FnMut(Emit<'_>)) {
        if self.settings.period_ns > 0 {
            let period = self.settings.period_ns;
            // Saturating: a timestamp near i64::MAX (pcapng allows it) must not overflow.
            let after = |now: i64| (now / period).saturating_add(1).saturating_mul(period);
            let next = *self.next_period.get_or_insert(after(now_ns));
            if now_ns >= next {
                self.periodic(now_ns, emit);
                self.next_period = Some(after(now_ns));
            }
        }
        if now_ns.saturating_sub(self.last_sweep) >= SWEEP_INTERVAL_NS {
            self.last_sweep = now_ns;
            self.sweep(now_ns, emit);
        }
    }

    /// Reports every flow as final (end of input or shutdown).
    pub fn flush(&mut self, now_ns: i64, emit: &mut dyn FnMut(Emit<'_>)) {
        let mut all: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (f.seq, i as u32)))
            .collect();
        all.sort_unstable();
        for (_, i) in all {
            let Some(f) = self.flow(i) else { continue };
            let reason = if f.closed { EndReason::TcpClose } else { EndReason::EndOfCapture };
            let ts = now_ns.max(f.last_ts);
            self.end(i, reason, ts, emit);
        }
        self.dirty.clear();
        self.closed.clear();
        self.with_app.clear();
    }

    fn periodic(&mut self, now_ns: i64, emit: &mut dyn FnMut(Emit<'_>)) {
        let mut due: Vec<(u64, u32)> = std::mem::take(&mut self.dirty)
            .into_iter()
            .filter(|n| self.noted(*n).is_some_and(|f| f.packets() != f.reported_packets))
            .map(|(i, seq)| (seq, i))
            .collect();
        due.sort_unstable();
        due.dedup();
        for (_, i) in due {
            if let Some(f) = self.slots.get_mut(i as usize).and_then(Option::as_mut) {
                f.reported_packets = f.packets();
                self.stats.reports += 1;
                emit(Emit::Flow(Report { flow: f, final_reason: None, ts_ns: now_ns }));
            }
        }
    }

    fn sweep(&mut self, now_ns: i64, emit: &mut dyn FnMut(Emit<'_>)) {
        if self.app.is_some() {
            // Transaction timeouts run on the same packet clock, in creation order.
            let mut notes = std::mem::take(&mut self.with_app);
            notes.retain(|n| self.noted(*n).is_some_and(|f| f.app.is_some()));
            let mut txns = std::mem::take(&mut self.txn_buf);
            let FlowTable { slots, app, .. } = self;
            if let Some(layer) = app.as_mut() {
                for (i, _) in &notes {
                    let Some(f) = slots.get_mut(*i as usize).and_then(Option::as_mut) else {
                        continue;
                    };
                    if let Some(state) = f.app.as_mut() {
                        layer.tick(state, now_ns, &mut txns);
                    }
                    for t in txns.drain(..) {
                        emit(Emit::Txn(f, Box::new(t)));
                    }
                }
            }
            self.txn_buf = txns;
            self.with_app = notes;
        }
        let mut ended: Vec<(u64, u32, EndReason)> = std::mem::take(&mut self.closed)
            .into_iter()
            .filter(|n| self.noted(*n).is_some_and(|f| f.closed))
            .map(|(i, seq)| (seq, i, EndReason::TcpClose))
            .collect();
        for class in 0..CLASSES {
            let timeout = match class {
                0 => self.settings.tcp_timeout_ns,
                1 => self.settings.udp_timeout_ns,
                2 => self.settings.icmp_timeout_ns,
                _ => self.settings.other_timeout_ns,
            };
            let mut i = self.lru[class].head;
            while let Some(f) = self.flow(i) {
                if now_ns.saturating_sub(f.last_ts) < timeout {
                    break;
                }
                if !f.closed {
                    ended.push((f.seq, i, EndReason::IdleTimeout));
                }
                i = self.links.get(i as usize).map_or(NIL, |l| l.next);
            }
        }
        ended.sort_unstable_by_key(|(seq, _, _)| *seq);
        ended.dedup_by_key(|(seq, _, _)| *seq);
        for (_, i, reason) in ended {
            self.end(i, reason, now_ns, emit);
        }
    }

    /// Makes room: reports and forgets the least recently seen sixteenth of the table, taken
    /// from the heads of the per-class lists (oldest first), without sorting the table.
    fn evict(&mut self, now_ns: i64, emit: &mut dyn FnMut(Emit<'_>)) {
        let n = (self.live / 16).max(1).min(self.live);
        let mut heads: [u32; CLASSES] = std::array::from_fn(|c| self.lru[c].head);
        let mut victims = Vec::with_capacity(n);
        while victims.len() < n {
            let oldest = (0..CLASSES)
                .filter_map(|c| self.flow(heads[c]).map(|f| ((f.last_ts, f.seq), c)))
                .min();
            let Some((_, c)) = oldest else { break };
            let i = heads[c];
            victims.push(i);
            heads[c] = self.links.get(i as usize).map_or(NIL, |l| l.next);
        }
        for i in victims {
            self.end(i, EndReason::Evicted, now_ns, emit);
        }
    }
}

/// TCP flag names in Packetbeat/tshark order, for `network_traffic.flow.tcp_flags`.
pub fn tcp_flag_names(flags: u8) -> Vec<&'static str> {
    const NAMES: [(u8, &str); 8] = [
        (TCP_FIN, "FIN"),
        (TCP_SYN, "SYN"),
        (TCP_RST, "RST"),
        (crate::decode::TCP_PSH, "PSH"),
        (TCP_ACK, "ACK"),
        (crate::decode::TCP_URG, "URG"),
        (crate::decode::TCP_ECE, "ECE"),
        (crate::decode::TCP_CWR, "CWR"),
    ];
    NAMES.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| *n).collect()
}

#[cfg(test)]
mod tests;
