//! `wirebeat.detect.flood`: denial-of-service floods against one target, from one, many or
//! spoofed sources.
//!
//! Per target (destination address, and port for SYN floods) and kind, packets are counted in
//! tumbling windows of `window` (packet time) that start with the target's first packet; the
//! rate is packets per second over the part of the window elapsed (at least one second, so a
//! burst of 200 packets in 0.2 s is 200/s, not 1000/s). A rule fires once per episode, when
//! its conditions first hold in a window; the episode ends with a window below them.
//! - **SYN flood**: at least `syn_packets` handshakes at `syn_rate`/s, of which at least
//!   `half_open_ratio` never completed. A handshake is judged from what the sensor sees (the
//!   client's final ACK is established data it does not forward): unanswered for a second, or
//!   answered by a RST, or its SYN-ACK retransmitted, or reset by the client: half-open; the
//!   client's FIN, or a SYN-ACK not retransmitted for three seconds (the server got its ACK):
//!   completed.
//! - **UDP flood**: `udp_rate`/s datagrams to one address that answered fewer than a tenth of
//!   them (a busy DNS or media server answers).
//! - **ICMP flood**: `icmp_rate`/s echo requests to one address, unicast or multicast
//!   (answered or not: `ping -f` is answered).
//! - **Fragment flood**: `fragment_rate`/s datagrams from IP fragments, at least
//!   `fragment_datagrams` of them, mostly never completed or from at least
//!   `fragment_sources` sources (a spray of spoofed trains; benign fragmented traffic, e.g.
//!   large DNS or NFS answers, completes and comes from few hosts).
//! - **IPv6 extension-header flood**: `ext_header_rate`/s IPv6 packets that carry extension
//!   headers (a fragment header not counted), at least `ext_header_packets` of them.
//! - **DHCP flood**: in one window, at least `dhcp_messages` client messages (DISCOVER,
//!   REQUEST, INFORM, ...) sensor-wide, and either one client MAC sent `dhcp_per_client` of
//!   them (a request flood) or `dhcp_clients` distinct MACs sent them (pool starvation). DHCP
//!   is counted for the whole sensor, not per address: starvation goes to the broadcast address
//!   and one flood may address many servers.
//!
//! Sources are counted exactly up to [`EXACT_SOURCES`], beyond that estimated by linear
//! counting in a 4096-bit bitmap (`sources_estimated: true`); the first ten go to
//! `related.ip`. State: at most `max_tracked` targets (about 1 KiB each at most: the bitmap
//! is allocated only past the exact sources), at most `max_tracked` SYN handshakes under
//! judgement, at most [`DHCP_CLIENTS`] DHCP client MACs; refusals are counted.

use super::alert::{plural, span, Mitre, TACTIC_IMPACT};
use super::config::{detector_section, Scope};
use super::obs::{Detail, PacketObs, TxnObs, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use super::state::Bounded;
use super::{Alert, Detector, Endpoint, Rule, Severity};
use crate::decode::{Fragmented, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::units::Invalid;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::IpAddr;

const T1498: Mitre = Mitre { id: "T1498", name: "Network Denial of Service" };
const T1498_001: Mitre = Mitre { id: "T1498.001", name: "Direct Network Flood" };
const T1499: Mitre = Mitre { id: "T1499", name: "Endpoint Denial of Service" };
const T1499_001: Mitre = Mitre { id: "T1499.001", name: "OS Exhaustion Flood" };
const T1499_002: Mitre = Mitre { id: "T1499.002", name: "Service Exhaustion Flood" };

const fn rule(
    id: &'static str,
    name: &'static str,
    description: &'static str,
    technique: Mitre,
    sub: Mitre,
) -> Rule {
    Rule {
        id,
        name,
        action: "flood",
        description,
        category: "Denial of Service",
        version: "1",
        reference: "https://attack.mitre.org/techniques/T1498/",
        tactic: TACTIC_IMPACT,
        technique,
        subtechnique: Some(sub),
    }
}

pub static SYN_FLOOD: Rule = Rule {
    reference: "https://attack.mitre.org/techniques/T1499/001/",
    ..rule(
        "wirebeat-flood-syn",
        "TCP SYN flood",
        "Many TCP handshakes to one port of one host that mostly never completed \
         (half-open), at a high rate: exhausts the host's connection state.",
        T1499,
        T1499_001,
    )
};
pub static UDP_FLOOD: Rule = Rule {
    reference: "https://attack.mitre.org/techniques/T1498/001/",
    ..rule(
        "wirebeat-flood-udp",
        "UDP flood",
        "UDP datagrams to one host at a high rate that it hardly answers.",
        T1498,
        T1498_001,
    )
};
pub static ICMP_FLOOD: Rule = Rule {
    reference: "https://attack.mitre.org/techniques/T1498/001/",
    ..rule(
        "wirebeat-flood-icmp",
        "ICMP flood",
        "ICMP or ICMPv6 echo requests to one address (unicast or multicast) at a high rate.",
        T1498,
        T1498_001,
    )
};
pub static FRAGMENT_FLOOD: Rule = Rule {
    reference: "https://attack.mitre.org/techniques/T1499/001/",
    ..rule(
        "wirebeat-flood-fragment",
        "IP fragment flood",
        "IP fragment trains to one host at a high rate, mostly never completed or from many \
         sources: exhausts its reassembly buffers.",
        T1499,
        T1499_001,
    )
};
pub static EXT_HEADER_FLOOD: Rule = Rule {
    reference: "https://attack.mitre.org/techniques/T1499/001/",
    ..rule(
        "wirebeat-flood-ipv6-ext-headers",
        "IPv6 extension-header flood",
        "IPv6 packets with extension headers (hop-by-hop, routing, destination options) to one \
         host at a high rate: each takes the slow path of its IPv6 stack.",
        T1499,
        T1499_001,
    )
};
pub static DHCP_FLOOD: Rule = Rule {
    reference: "https://attack.mitre.org/techniques/T1499/002/",
    ..rule(
        "wirebeat-flood-dhcp",
        "DHCP flood",
        "Many DHCP client messages in the window, from one client MAC (request flood) or from \
         many (address-pool starvation).",
        T1499,
        T1499_002,
    )
};

/// Sources counted exactly per target; beyond, estimated.
pub const EXACT_SOURCES: usize = 32;
/// Most DHCP client MACs counted per window.
pub const DHCP_CLIENTS: usize = 4096;
const SAMPLE: usize = 10;
const S: i64 = 1_000_000_000;
/// A SYN without SYN-ACK for this long is half-open.
const UNANSWERED_NS: i64 = S;
/// A SYN-ACK not retransmitted for this long was acknowledged.
const ANSWERED_NS: i64 = 3 * S;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub syn_packets: u64,
    pub syn_rate: f64,
    pub half_open_ratio: f64,
    pub udp_rate: f64,
    pub icmp_rate: f64,
    pub fragment_datagrams: u64,
    pub fragment_rate: f64,
    pub fragment_sources: u64,
    pub ext_header_packets: u64,
    pub ext_header_rate: f64,
    pub dhcp_messages: u64,
    pub dhcp_per_client: u64,
    pub dhcp_clients: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            syn_packets: 200,
            syn_rate: 100.0,
            half_open_ratio: 0.8,
            udp_rate: 10_000.0,
            icmp_rate: 1_000.0,
            fragment_datagrams: 1_000,
            fragment_rate: 100.0,
            fragment_sources: 100,
            ext_header_packets: 1_000,
            ext_header_rate: 500.0,
            dhcp_messages: 100,
            dhcp_per_client: 50,
            dhcp_clients: 200,
        }
    }
}

impl Thresholds {
    pub fn validate(&self) -> Result<(), Invalid> {
        for (k, v) in [
            ("syn_packets", self.syn_packets),
            ("fragment_datagrams", self.fragment_datagrams),
            ("fragment_sources", self.fragment_sources),
            ("ext_header_packets", self.ext_header_packets),
            ("dhcp_messages", self.dhcp_messages),
            ("dhcp_per_client", self.dhcp_per_client),
            ("dhcp_clients", self.dhcp_clients),
        ] {
            Invalid::in_range(k, v, 2..=100_000_000)?;
        }
        for (k, v) in [
            ("syn_rate", self.syn_rate),
            ("udp_rate", self.udp_rate),
            ("icmp_rate", self.icmp_rate),
            ("fragment_rate", self.fragment_rate),
            ("ext_header_rate", self.ext_header_rate),
        ] {
            if !(1.0..=1e9).contains(&v) {
                return Err(Invalid::new(k, format!("{v} is not between 1 and 1e9 per second")));
            }
        }
        if !(0.0..=1.0).contains(&self.half_open_ratio) {
            return Err(Invalid::new(
                "half_open_ratio",
                format!("{} is not between 0 and 1", self.half_open_ratio),
            ));
        }
        Ok(())
    }
}

detector_section!(10, 100_000);

/// The detector `cfg` asks for, if enabled.
pub fn build(cfg: &Config) -> Option<Box<dyn Detector>> {
    cfg.enabled.then(|| Box::new(Flood::new(cfg)) as Box<dyn Detector>)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Syn,
    Udp,
    Icmp,
    Fragment,
    ExtHeader,
}

/// Distinct sources: exact up to [`EXACT_SOURCES`], then linear counting.
#[derive(Default)]
struct Sources {
    exact: Vec<IpAddr>,
    bits: Option<Box<[u64; 64]>>,
}

impl Sources {
    fn insert(&mut self, ip: IpAddr) {
        if let Some(b) = &mut self.bits {
            set_bit(b, ip);
        } else if !self.exact.contains(&ip) {
            if self.exact.len() < EXACT_SOURCES {
                self.exact.push(ip);
            } else {
                let mut b = Box::new([0u64; 64]);
                for &e in self.exact.iter().chain(std::iter::once(&ip)) {
                    set_bit(&mut b, e);
                }
                self.bits = Some(b);
            }
        }
    }

    /// (count, estimated).
    fn count(&self) -> (u64, bool) {
        let Some(b) = &self.bits else { return (self.exact.len() as u64, false) };
        let m = 4096.0f64;
        let zeros = b.iter().map(|w| w.count_zeros()).sum::<u32>().max(1);
        ((m * (m / f64::from(zeros)).ln()).round() as u64, true)
    }
}

fn set_bit(b: &mut [u64; 64], ip: IpAddr) {
    use std::hash::{Hash, Hasher};
    // SipHash with its fixed default keys: well spread (the estimate relies on it) and the
    // same on every run.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    ip.hash(&mut h);
    let i = (h.finish() >> 52) as usize;
    b[i / 64] |= 1 << (i % 64);
}

#[derive(Default)]
struct Target {
    start_ns: i64,
    last_ns: i64,
    packets: u64,
    bytes: u64,
    /// SYN: handshakes judged half-open / completed, and waiting without / with a SYN-ACK.
    half_open: u64,
    completed: u64,
    waiting: u64,
    waiting_answered: u64,
    /// Of `half_open`: those the target had answered with a SYN-ACK.
    half_open_answered: u64,
    /// SYN: handshakes not judged because the table was full.
    untracked: u64,
    /// UDP / ICMP: packets the target sent back.
    replies: u64,
    /// Fragments: datagrams never completed.
    incomplete: u64,
    sources: Sources,
    alerted: bool,
    /// The rule's conditions held in this window.
    over: bool,
}

impl Target {
    fn new(ts_ns: i64) -> Self {
        Target { start_ns: ts_ns, last_ns: ts_ns, ..Default::default() }
    }

    /// A new window when `ts_ns` is past this one; the episode ends if the last was quiet.
    fn roll(&mut self, ts_ns: i64, window_ns: i64) {
        // Either way: a clock that moved back by a window (the next file of a `read`) too.
        if ts_ns.saturating_sub(self.start_ns).saturating_abs() < window_ns {
            return;
        }
        let alerted = self.alerted && self.over;
        *self = Target::new(ts_ns);
        self.alerted = alerted;
    }

    /// A waiting handshake (answered by a SYN-ACK or not) judged.
    fn judged(&mut self, answered: bool, completed: bool) {
        if answered {
            self.waiting_answered = self.waiting_answered.saturating_sub(1);
        } else {
            self.waiting = self.waiting.saturating_sub(1);
        }
        if completed {
            self.completed += 1;
        } else {
            self.half_open += 1;
            self.half_open_answered += u64::from(answered);
        }
    }

    /// Half-open handshakes and all tracked ones, counting those still waiting without a
    /// SYN-ACK as half-open and those waiting with one as completed (so far).
    fn half_open_of(&self) -> (u64, u64) {
        let half = self.half_open + self.waiting;
        (half, half + self.completed + self.waiting_answered)
    }

    fn rate(&self) -> f64 {
        let secs = (self.last_ns.saturating_sub(self.start_ns) as f64 / 1e9).max(1.0);
        self.packets as f64 / secs
    }
}

type TargetKey = (IpAddr, Kind, u16);

/// A SYN under judgement: (target, port, client, client port).
type HandshakeKey = (IpAddr, u16, IpAddr, u16);

struct Handshake {
    syn_ns: i64,
    synack_ns: i64,
    synacks: u8,
}

#[derive(Default)]
struct Dhcp {
    start_ns: i64,
    last_ns: i64,
    messages: u64,
    by_mac: FxHashMap<String, u64>,
    /// Messages whose MAC was not counted (more than [`DHCP_CLIENTS`]).
    untracked: u64,
    sources: Vec<IpAddr>,
    servers: FxHashMap<IpAddr, u64>,
    alerted: bool,
    over: bool,
}

pub struct Flood {
    scope: Scope,
    th: Thresholds,
    targets: Bounded<TargetKey, Target>,
    handshakes: Bounded<HandshakeKey, Handshake>,
    dhcp: Dhcp,
    judged_ns: i64,
}

impl Flood {
    pub fn new(cfg: &Config) -> Self {
        let scope = cfg.scope();
        Flood {
            th: cfg.thresholds.clone(),
            targets: Bounded::new(scope.max_tracked),
            handshakes: Bounded::new(scope.max_tracked),
            dhcp: Dhcp::default(),
            judged_ns: i64::MIN,
            scope,
        }
    }

    /// Counts `p` against its target; the target's entry, if there was room.
    fn count(&mut self, kind: Kind, port: u16, p: &PacketObs) -> Option<&mut Target> {
        if self.scope.ignores(p.src, p.dst) {
            return None;
        }
        let window = self.scope.window_ns;
        let t = self.targets.get_or_insert_with((p.dst, kind, port), || Target::new(p.ts_ns))?;
        t.roll(p.ts_ns, window);
        t.last_ns = t.last_ns.max(p.ts_ns);
        t.packets += 1;
        t.bytes += u64::from(p.wire_bytes);
        t.sources.insert(p.src);
        Some(t)
    }

    fn syn(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        let f = p.tcp_flags;
        let (syn, ack, rst, fin) =
            (f & TCP_SYN != 0, f & TCP_ACK != 0, f & TCP_RST != 0, f & TCP_FIN != 0);
        if syn && !ack {
            let key = (p.dst, p.dport, p.src, p.sport);
            let known = self.handshakes.get(&key).is_some();
            if self.count(Kind::Syn, p.dport, p).is_none() || known {
                return;
            }
            let hs = Handshake { syn_ns: p.ts_ns, synack_ns: 0, synacks: 0 };
            let tracked = self.handshakes.get_or_insert_with(key, || hs).is_some();
            if let Some(t) = self.targets.get_mut(&(p.dst, Kind::Syn, p.dport)) {
                if tracked {
                    t.waiting += 1;
                } else {
                    t.untracked += 1;
                }
            }
            self.check((p.dst, Kind::Syn, p.dport), alerts);
            return;
        }
        // Answers and ends, from the target (p.src) or the client.
        let from_target = (p.src, p.sport, p.dst, p.dport);
        let from_client = (p.dst, p.dport, p.src, p.sport);
        if syn && ack {
            if let Some(h) = self.handshakes.get_mut(&from_target) {
                h.synacks = h.synacks.saturating_add(1);
                h.synack_ns = p.ts_ns;
                let first = h.synacks == 1;
                if first {
                    if let Some(t) = self.targets.get_mut(&(p.src, Kind::Syn, p.sport)) {
                        t.waiting = t.waiting.saturating_sub(1);
                        t.waiting_answered += 1;
                    }
                } else {
                    self.judge(from_target, false, alerts);
                }
            }
        } else if rst {
            if self.handshakes.get(&from_target).is_some() {
                self.judge(from_target, false, alerts);
            } else if self.handshakes.get(&from_client).is_some() {
                self.judge(from_client, false, alerts);
            }
        } else if fin && self.handshakes.get(&from_client).is_some() {
            self.judge(from_client, true, alerts);
        }
    }

    /// A handshake judged completed or half-open.
    fn judge(&mut self, key: HandshakeKey, completed: bool, alerts: &mut Vec<Alert>) {
        let Some(h) = self.handshakes.remove(&key) else { return };
        let tkey = (key.0, Kind::Syn, key.1);
        if let Some(t) = self.targets.get_mut(&tkey) {
            t.judged(h.synacks > 0, completed);
        }
        self.check(tkey, alerts);
    }

    /// Raises the alert of `key` if its conditions hold now.
    fn check(&mut self, key: TargetKey, alerts: &mut Vec<Alert>) {
        let th = &self.th;
        let Some(t) = self.targets.get_mut(&key) else { return };
        let (sources, _) = t.sources.count();
        let rate = t.rate();
        let over = match key.1 {
            Kind::Syn => {
                let (half, all) = t.half_open_of();
                all >= th.syn_packets
                    && rate >= th.syn_rate
                    && half as f64 >= th.half_open_ratio * all as f64
            }
            Kind::Udp => {
                t.packets as f64 >= th.udp_rate && rate >= th.udp_rate && t.replies * 10 < t.packets
            }
            Kind::Icmp => t.packets as f64 >= th.icmp_rate && rate >= th.icmp_rate,
            Kind::Fragment => {
                t.packets >= th.fragment_datagrams
                    && rate >= th.fragment_rate
                    && (t.incomplete * 2 >= t.packets || sources >= th.fragment_sources)
            }
            Kind::ExtHeader => t.packets >= th.ext_header_packets && rate >= th.ext_header_rate,
        };
        t.over |= over;
        if over && !t.alerted {
            t.alerted = true;
            alerts.push(flood_alert(key, t));
        }
    }

    /// Judges the handshakes that waited long enough (at most every 100 ms of packet time).
    fn judge_waiting(&mut self, now_ns: i64, alerts: &mut Vec<Alert>) {
        if now_ns.saturating_sub(self.judged_ns) < S / 10 {
            return;
        }
        self.judged_ns = now_ns;
        let mut done: Vec<(HandshakeKey, bool, bool)> = Vec::new();
        self.handshakes.retain(|k, h| {
            let verdict = match h.synacks {
                0 if now_ns - h.syn_ns >= UNANSWERED_NS => Some(false),
                1 if now_ns - h.synack_ns >= ANSWERED_NS => Some(true),
                _ => None,
            };
            match verdict {
                Some(v) => {
                    done.push((*k, h.synacks > 0, v));
                    false
                }
                None => true,
            }
        });
        // In key order, so the same input raises its alerts in the same order.
        done.sort_unstable_by_key(|d| d.0);
        let mut touched: Vec<TargetKey> = Vec::new();
        for (k, answered, completed) in done {
            let tkey = (k.0, Kind::Syn, k.1);
            if let Some(t) = self.targets.get_mut(&tkey) {
                t.judged(answered, completed);
                if touched.last() != Some(&tkey) {
                    touched.push(tkey);
                }
            }
        }
        touched.dedup();
        for k in touched {
            self.check(k, alerts);
        }
        // A SYN target outlives its window by the longest wait of its handshakes.
        let window = self.scope.window_ns;
        self.targets.retain(|k, t| {
            let keep = if k.1 == Kind::Syn { window + ANSWERED_NS } else { window };
            now_ns.saturating_sub(t.last_ns) < keep
        });
    }

    fn dhcp(&mut self, t: &TxnObs, alerts: &mut Vec<Alert>) {
        let Detail::Dhcp { request: true, client_mac, .. } = &t.detail else { return };
        if self.scope.ignores(t.src, t.dst) {
            return;
        }
        let d = &mut self.dhcp;
        if d.messages == 0
            || t.ts_ns.saturating_sub(d.start_ns).saturating_abs() >= self.scope.window_ns
        {
            let alerted = d.alerted && d.over;
            *d = Dhcp { start_ns: t.ts_ns, alerted, ..Default::default() };
        }
        d.last_ns = d.last_ns.max(t.ts_ns);
        d.messages += 1;
        let room = d.by_mac.len() < DHCP_CLIENTS;
        match d.by_mac.get_mut(client_mac.as_str()) {
            Some(n) => *n += 1,
            None if room => {
                d.by_mac.insert(client_mac.clone(), 1);
            }
            None => d.untracked += 1,
        }
        if d.sources.len() < SAMPLE && !d.sources.contains(&t.src) {
            d.sources.push(t.src);
        }
        if d.servers.len() < DHCP_CLIENTS {
            *d.servers.entry(t.dst).or_default() += 1;
        }
        let th = &self.th;
        let top = d.by_mac.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
        let top_n = top.map_or(0, |(_, n)| *n);
        let clients = d.by_mac.len() as u64;
        let over = d.messages >= th.dhcp_messages
            && (top_n >= th.dhcp_per_client || clients >= th.dhcp_clients);
        d.over |= over;
        if over && !d.alerted {
            d.alerted = true;
            alerts.push(dhcp_alert(d, top.map(|(m, _)| m.as_str()), top_n, th));
        }
    }
}

impl Detector for Flood {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn packet(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        if p.fragmented != Fragmented::No {
            if let Some(t) = self.count(Kind::Fragment, 0, p) {
                if p.fragmented == Fragmented::Incomplete {
                    t.incomplete += 1;
                }
                self.check((p.dst, Kind::Fragment, 0), alerts);
            }
        }
        if p.ext_headers > 0 && p.dst.is_ipv6() && self.count(Kind::ExtHeader, 0, p).is_some() {
            self.check((p.dst, Kind::ExtHeader, 0), alerts);
        }
        if p.fragmented == Fragmented::Incomplete {
            // Port-less: not a SYN, datagram or echo request one can read.
            return;
        }
        match p.proto {
            PROTO_TCP => self.syn(p, alerts),
            PROTO_UDP => {
                if let Some(t) = self.targets.get_mut(&(p.src, Kind::Udp, 0)) {
                    t.replies += 1;
                }
                if self.count(Kind::Udp, 0, p).is_some() {
                    self.check((p.dst, Kind::Udp, 0), alerts);
                }
            }
            PROTO_ICMP | PROTO_ICMPV6 => {
                let (request, reply) = if p.proto == PROTO_ICMPV6 { (128, 129) } else { (8, 0) };
                if p.sport == reply {
                    if let Some(t) = self.targets.get_mut(&(p.src, Kind::Icmp, 0)) {
                        t.replies += 1;
                    }
                } else if p.sport == request && self.count(Kind::Icmp, 0, p).is_some() {
                    self.check((p.dst, Kind::Icmp, 0), alerts);
                }
            }
            _ => {}
        }
    }

    fn transaction(&mut self, t: &TxnObs, alerts: &mut Vec<Alert>) {
        self.dhcp(t, alerts);
    }

    fn tick(&mut self, now_ns: i64, alerts: &mut Vec<Alert>) {
        self.judge_waiting(now_ns, alerts);
    }

    fn state(&self) -> (usize, u64) {
        (
            self.targets.len() + self.handshakes.len() + self.dhcp.by_mac.len(),
            self.targets.refused + self.handshakes.refused + self.dhcp.untracked,
        )
    }
}

fn transport(kind: Kind, ip: IpAddr) -> Option<&'static str> {
    match kind {
        Kind::Syn => Some("tcp"),
        Kind::Udp => Some("udp"),
        Kind::Icmp if ip.is_ipv6() => Some("ipv6-icmp"),
        Kind::Icmp => Some("icmp"),
        Kind::Fragment | Kind::ExtHeader => None,
    }
}

/// "from 1 source (192.0.2.10)" / "from 4096 sources (estimated)".
fn from_sources(s: &Sources) -> String {
    match s.count() {
        (1, _) => format!("from 1 source ({})", s.exact[0]),
        (n, true) => format!("from about {n} sources"),
        (n, false) => format!("from {n} sources"),
    }
}

fn flood_alert(key: TargetKey, t: &Target) -> Alert {
    let (target, kind, port) = key;
    let (sources, estimated) = t.sources.count();
    let rate = t.rate().round() as u64;
    let during = span(t.last_ns - t.start_ns);
    let from = from_sources(&t.sources);
    let (rule, msg) = match kind {
        Kind::Syn => {
            let (half, all) = t.half_open_of();
            (
                &SYN_FLOOD,
                format!(
                    "{target}:{port} received {} in {during} {from} ({rate} SYN/s; {half} of \
                     {all} handshakes half-open: {} unanswered, {} answered but never \
                     completed)",
                    plural(t.packets, "TCP SYN", "TCP SYNs"),
                    half - t.half_open_answered,
                    t.half_open_answered
                ),
            )
        }
        Kind::Udp => (
            &UDP_FLOOD,
            format!(
                "{target} received {} in {during} {from} ({rate} packets/s; it answered {})",
                plural(t.packets, "UDP datagram", "UDP datagrams"),
                t.replies
            ),
        ),
        Kind::Icmp => (
            &ICMP_FLOOD,
            format!(
                "{target}{} received {} in {during} {from} ({rate} packets/s; {} echo replies \
                 from it)",
                if target.is_multicast() { " (multicast)" } else { "" },
                plural(
                    t.packets,
                    if target.is_ipv6() { "ICMPv6 echo request" } else { "ICMP echo request" },
                    if target.is_ipv6() { "ICMPv6 echo requests" } else { "ICMP echo requests" }
                ),
                t.replies
            ),
        ),
        Kind::Fragment => (
            &FRAGMENT_FLOOD,
            format!(
                "{target} received {} in {during} {from} ({rate} datagrams/s; {} never \
                 completed)",
                plural(t.packets, "fragmented datagram", "fragmented datagrams"),
                t.incomplete
            ),
        ),
        Kind::ExtHeader => (
            &EXT_HEADER_FLOOD,
            format!(
                "{target} received {} in {during} {from} ({rate} packets/s)",
                plural(
                    t.packets,
                    "IPv6 packet with extension headers",
                    "IPv6 packets with extension headers"
                ),
            ),
        ),
    };
    let dst = if kind == Kind::Syn { Endpoint::port(target, port) } else { Endpoint::ip(target) };
    let severity = if sources > 1 { Severity::High } else { Severity::Medium };
    let mut a = Alert::new(rule, severity, t.start_ns, t.last_ns)
        .destination(dst)
        .fact("packets", t.packets)
        .fact("bytes", t.bytes)
        .fact("rate", rate)
        .fact("sources", sources)
        .fact("sources_estimated", estimated)
        .message(msg);
    if let Some(tr) = transport(kind, target) {
        a = a.transport(tr);
    }
    if sources == 1 {
        a = a.source(Endpoint::ip(t.sources.exact[0]));
    }
    a = match kind {
        Kind::Syn => {
            let (half, all) = t.half_open_of();
            a.fact("half_open", half)
                .fact("handshakes", all)
                .fact("answered_half_open", t.half_open_answered)
        }
        Kind::Udp | Kind::Icmp => a.fact("replies", t.replies),
        Kind::Fragment => a.fact("incomplete", t.incomplete),
        Kind::ExtHeader => a,
    };
    a.related = t.sources.exact.iter().take(SAMPLE).copied().collect();
    a
}

/// ECS MAC format: upper case, hyphens.
fn ecs_mac(m: &str) -> String {
    m.to_ascii_uppercase().replace(':', "-")
}

fn dhcp_alert(d: &Dhcp, top: Option<&str>, top_n: u64, th: &Thresholds) -> Alert {
    let clients = d.by_mac.len() as u64;
    let during = span(d.last_ns - d.start_ns);
    let msgs = plural(d.messages, "DHCP client message", "DHCP client messages");
    let starvation = clients >= th.dhcp_clients;
    let msg = match top {
        Some(mac) if !starvation => format!(
            "{msgs} in {during}, {top_n} of them from client MAC {} (DHCP request flood; {} \
             in all)",
            ecs_mac(mac),
            plural(clients, "client MAC", "client MACs")
        ),
        _ => format!(
            "{msgs} in {during} from {} (DHCP starvation: address pool exhaustion)",
            plural(clients, "client MAC", "client MACs")
        ),
    };
    // The server most addressed, if it took most of them (broadcast otherwise, or many).
    let server = d
        .servers
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .filter(|(_, n)| **n * 2 > d.messages)
        .map(|(ip, _)| *ip);
    let mut a = Alert::new(&DHCP_FLOOD, Severity::High, d.start_ns, d.last_ns)
        .transport("udp")
        .fact("messages", d.messages)
        .fact("client_macs", clients)
        .fact("top_client_messages", top_n)
        .fact("kind", if starvation { "starvation" } else { "request flood" })
        .message(msg);
    if let Some(s) = server {
        a = a.destination(Endpoint::port(s, 67));
    }
    if let (Some(mac), false) = (top, starvation) {
        a = a.fact("top_client_mac", ecs_mac(mac));
        a.ecs.insert("source".into(), json!({"mac": ecs_mac(mac)}));
        if d.sources.len() == 1 {
            a = a.source(Endpoint::ip(d.sources[0]));
        }
    }
    a.related = d.sources.clone();
    a
}

#[cfg(test)]
#[path = "flood_tests.rs"]
mod tests;
