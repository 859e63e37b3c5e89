//! `wirebeat.detect.scan`: port scans and host sweeps.
//!
//! Three rules, all on the probes one source sends within a sliding `window` (packet time):
//! - **vertical** (`wirebeat-scan-vertical`): one source, many TCP or UDP ports of one host;
//! - **horizontal** (`wirebeat-scan-horizontal`): one source, one TCP or UDP port, many hosts;
//! - **ICMP sweep** (`wirebeat-scan-icmp-sweep`): one source, ICMP/ICMPv6 echo requests to
//!   many hosts (host discovery).
//!
//! A *probe* is a TCP SYN without ACK, a FIN/NULL/Xmas segment (no ACK), a UDP datagram that
//! does not answer one seen before, or an echo request. Each is remembered by (source, target,
//! protocol, port) with what answered it: a RST or an ICMP port unreachable (refused), another
//! ICMP unreachable, a SYN-ACK (open; then the scanner's bare RST makes it half-open — a SYN
//! scan — while its FIN, RST-ACK or an established flow makes it a completed handshake — a
//! connect scan), a UDP reply or echo reply (answered), an ICMP time exceeded (expired in
//! transit: traceroute), or nothing yet (unanswered). The rules compare a *weighted* count of
//! distinct probes with their threshold: refused, unreachable, half-open and unanswered probes
//! weigh 1, completed handshakes and UDP replies `completed_weight` (0.1: a client that talks
//! to many services is not scanning them), unanswered UDP `udp_unanswered_weight` (0.5: open
//! UDP ports and lost datagrams are silent too), answered echo requests
//! `answered_echo_weight`, expired-in-transit probes 0 (traceroute is not a scan). Probes to
//! multicast or broadcast addresses are not counted (mDNS, SSDP, LLMNR; floods are the flood
//! detector's), nor datagrams from a well-known port to a high one (a server's answer whose
//! request was not seen).
//!
//! Alerting: once per episode, when the weighted count first reaches the threshold; the
//! episode lasts while probes of the (source, target) or (source, port) stay in the window.
//!
//! State: one entry per probe (about 70 bytes), in a [`Bounded`] map of `max_tracked` entries,
//! and at most [`PER_SOURCE`] probes per source (about 300 KiB with their aggregates: one
//! scanner cannot take the table); the per-(source, target) and per-(source, port) aggregates
//! (about 150 bytes each) and the per-source counts are bounded by `max_tracked` too. A probe
//! from a new source, target and port costs all four, about 400 bytes: 80 MB at the default
//! 200000 (a spoofed SYN flood fills the table; new keys are then refused and counted, and the
//! flood detector reports the flood).

use super::alert::{plural, span, Mitre, TACTIC_DISCOVERY};
use super::config::{detector_section, Scope};
use super::obs::{FlowObs, PacketObs, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use super::state::Bounded;
use super::{Alert, Detector, Endpoint, Rule, Severity};
use crate::decode::{TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG};
use crate::units::Invalid;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

const T1046: Mitre = Mitre { id: "T1046", name: "Network Service Discovery" };
const T1018: Mitre = Mitre { id: "T1018", name: "Remote System Discovery" };

pub static VERTICAL: Rule = Rule {
    id: "wirebeat-scan-vertical",
    name: "Port scan",
    action: "scan",
    description: "One source probed many TCP or UDP ports of one host within the window \
                  (SYN, connect, FIN/NULL/Xmas or UDP scan); refused and unanswered probes \
                  count fully, completed handshakes little.",
    category: "Network Scan",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1046/",
    tactic: TACTIC_DISCOVERY,
    technique: T1046,
    subtechnique: None,
};

pub static HORIZONTAL: Rule = Rule {
    id: "wirebeat-scan-horizontal",
    name: "Port sweep",
    action: "scan",
    description: "One source probed one TCP or UDP port on many hosts within the window; \
                  refused and unanswered probes count fully, completed handshakes little.",
    category: "Network Scan",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1046/",
    tactic: TACTIC_DISCOVERY,
    technique: T1046,
    subtechnique: None,
};

pub static ICMP_SWEEP: Rule = Rule {
    id: "wirebeat-scan-icmp-sweep",
    name: "ICMP host sweep",
    action: "scan",
    description: "One source sent ICMP or ICMPv6 echo requests to many hosts within the \
                  window (ping sweep for host discovery).",
    category: "Network Scan",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1018/",
    tactic: TACTIC_DISCOVERY,
    technique: T1018,
    subtechnique: None,
};

/// Most probes remembered per source.
pub const PER_SOURCE: u32 = 4096;
/// Target hosts named in `related.ip` of a horizontal alert.
const SAMPLE: usize = 10;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Weighted distinct ports of one host (vertical).
    pub ports: u32,
    /// Weighted distinct hosts on one port (horizontal).
    pub hosts: u32,
    /// Weighted distinct hosts sent an echo request (ICMP sweep).
    pub icmp_hosts: u32,
    /// Weight of a completed TCP handshake or an answered UDP probe.
    pub completed_weight: f64,
    /// Weight of an unanswered UDP probe.
    pub udp_unanswered_weight: f64,
    /// Weight of an answered echo request.
    pub answered_echo_weight: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            ports: 25,
            hosts: 25,
            icmp_hosts: 25,
            completed_weight: 0.1,
            udp_unanswered_weight: 0.5,
            answered_echo_weight: 0.5,
        }
    }
}

impl Thresholds {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::in_range("ports", self.ports, 2..=65_535)?;
        Invalid::in_range("hosts", self.hosts, 2..=1_000_000)?;
        Invalid::in_range("icmp_hosts", self.icmp_hosts, 2..=1_000_000)?;
        for (k, w) in [
            ("completed_weight", self.completed_weight),
            ("udp_unanswered_weight", self.udp_unanswered_weight),
            ("answered_echo_weight", self.answered_echo_weight),
        ] {
            if !(0.0..=1.0).contains(&w) {
                return Err(Invalid::new(k, format!("{w} is not between 0 and 1")));
            }
        }
        Ok(())
    }
}

detector_section!(60, 200_000);

/// The detector `cfg` asks for, if enabled.
pub fn build(cfg: &Config) -> Option<Box<dyn Detector>> {
    cfg.enabled.then(|| Box::new(Scan::new(cfg)) as Box<dyn Detector>)
}

/// What kind of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Syn,
    Fin,
    Null,
    Xmas,
    Udp,
    Echo,
}
const KINDS: usize = 6;

/// What answered a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Unanswered,
    /// RST, or ICMP port unreachable.
    Refused,
    /// Another ICMP destination unreachable (host, network, administratively prohibited).
    Unreachable,
    /// SYN-ACK, UDP reply, echo reply.
    Open,
    /// SYN-ACK then the scanner's bare RST.
    HalfOpen,
    /// SYN-ACK then the scanner's FIN or RST-ACK, or an established flow.
    Completed,
    /// ICMP time exceeded.
    Transit,
}
const STATUSES: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ProbeKey {
    scanner: IpAddr,
    target: IpAddr,
    proto: u8,
    /// Destination port; 0 for an echo request.
    port: u16,
}

struct Probe {
    ts_ns: i64,
    kind: Kind,
    status: Status,
}

/// The live probes of one (source, target, protocol) or (source, protocol, port).
#[derive(Default)]
struct Agg {
    first_ns: i64,
    last_ns: i64,
    probes: u32,
    status: [u32; STATUSES],
    kind: [u32; KINDS],
    alerted: bool,
    /// Horizontal: the first targets (for `related.ip`).
    sample: Vec<IpAddr>,
}

impl Agg {
    fn new(ts_ns: i64) -> Self {
        Agg { first_ns: ts_ns, last_ns: ts_ns, ..Default::default() }
    }

    fn add(&mut self, p: &Probe) {
        self.probes += 1;
        self.status[p.status as usize] += 1;
        self.kind[p.kind as usize] += 1;
        self.last_ns = self.last_ns.max(p.ts_ns);
    }

    fn remove(&mut self, p: &Probe) {
        self.probes = self.probes.saturating_sub(1);
        let s = &mut self.status[p.status as usize];
        *s = s.saturating_sub(1);
        let k = &mut self.kind[p.kind as usize];
        *k = k.saturating_sub(1);
    }

    fn moved(&mut self, from: Status, to: Status) {
        let s = &mut self.status[from as usize];
        *s = s.saturating_sub(1);
        self.status[to as usize] += 1;
    }

    fn n(&self, s: Status) -> u32 {
        self.status[s as usize]
    }

    /// The weighted count of the rules (see the module comment).
    fn score(&self, proto: u8, th: &Thresholds) -> f64 {
        let full = f64::from(
            self.n(Status::Refused) + self.n(Status::Unreachable) + self.n(Status::HalfOpen),
        );
        let unanswered = f64::from(self.n(Status::Unanswered));
        let answered = f64::from(self.n(Status::Open) + self.n(Status::Completed));
        match proto {
            PROTO_TCP => full + unanswered + answered * th.completed_weight,
            PROTO_UDP => {
                full + unanswered * th.udp_unanswered_weight + answered * th.completed_weight
            }
            _ => full + unanswered + answered * th.answered_echo_weight,
        }
    }

    /// "SYN scan", "connect scan", "FIN scan", ...: the most frequent kind of probe.
    fn label(&self) -> &'static str {
        let k = |k: Kind| self.kind[k as usize];
        let tcp = [(Kind::Syn, k(Kind::Syn)), (Kind::Fin, k(Kind::Fin))]
            .into_iter()
            .chain([(Kind::Null, k(Kind::Null)), (Kind::Xmas, k(Kind::Xmas))])
            .max_by_key(|&(_, n)| n);
        if k(Kind::Udp) > 0 {
            return "UDP scan";
        }
        if k(Kind::Echo) > 0 {
            return "ping sweep";
        }
        match tcp {
            Some((Kind::Fin, _)) => "FIN scan",
            Some((Kind::Null, _)) => "NULL scan",
            Some((Kind::Xmas, _)) => "Xmas scan",
            _ if self.n(Status::Completed) > 0 && self.n(Status::HalfOpen) == 0 => "connect scan",
            _ => "SYN scan",
        }
    }

    /// "(SYN scan; 398 answered with RST, 12 unanswered)".
    fn explain(&self, proto: u8) -> String {
        let mut parts: Vec<String> = Vec::new();
        let refused = u64::from(self.n(Status::Refused));
        if refused > 0 {
            parts.push(match proto {
                PROTO_TCP => format!("{refused} answered with RST"),
                _ => format!("{refused} answered with ICMP port unreachable"),
            });
        }
        let mut say = |n: u32, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        say(self.n(Status::Unreachable), "unreachable");
        say(self.n(Status::Unanswered), "unanswered");
        match proto {
            PROTO_TCP => {
                say(self.n(Status::HalfOpen), "half-open (reset by the scanner)");
                say(self.n(Status::Completed), "completed handshakes");
                say(self.n(Status::Open), "answered with SYN-ACK");
            }
            _ => say(self.n(Status::Open) + self.n(Status::Completed), "answered"),
        }
        say(self.n(Status::Transit), "expired in transit");
        format!("({}; {})", self.label(), parts.join(", "))
    }
}

fn transport(proto: u8) -> &'static str {
    match proto {
        PROTO_TCP => "tcp",
        PROTO_UDP => "udp",
        PROTO_ICMPV6 => "ipv6-icmp",
        _ => "icmp",
    }
}

fn proto_name(proto: u8) -> &'static str {
    match proto {
        PROTO_TCP => "TCP",
        PROTO_UDP => "UDP",
        _ => "ICMP",
    }
}

/// Multicast, broadcast or unspecified: never a probe's target (or a scanner).
fn not_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.is_unspecified(),
        IpAddr::V6(a) => a.is_multicast() || a.is_unspecified(),
    }
}

pub struct Scan {
    scope: Scope,
    th: Thresholds,
    probes: Bounded<ProbeKey, Probe>,
    /// Vertical: (scanner, target, proto).
    pairs: Bounded<(IpAddr, IpAddr, u8), Agg>,
    /// Horizontal and ICMP sweep: (scanner, proto, port).
    sweeps: Bounded<(IpAddr, u8, u16), Agg>,
    per_source: Bounded<IpAddr, u32>,
    /// Probes not remembered because their source had [`PER_SOURCE`] already.
    source_full: u64,
    /// Packet time of the last expiry pass.
    expired_ns: i64,
}

impl Scan {
    pub fn new(cfg: &Config) -> Self {
        let scope = cfg.scope();
        let n = scope.max_tracked;
        Scan {
            th: cfg.thresholds.clone(),
            probes: Bounded::new(n),
            pairs: Bounded::new(n),
            sweeps: Bounded::new(n),
            per_source: Bounded::new(n),
            source_full: 0,
            expired_ns: i64::MIN,
            scope,
        }
    }

    /// A new probe `scanner → target:port` (a repeat of a live one changes nothing).
    fn probe(&mut self, key: ProbeKey, kind: Kind, ts_ns: i64, alerts: &mut Vec<Alert>) {
        if not_unicast(key.scanner) || not_unicast(key.target) {
            return;
        }
        if self.probes.get(&key).is_some()
            || self.scope.ignores_source(key.scanner)
            || self.scope.ignores_destination(key.target)
        {
            return;
        }
        let Some(n) = self.per_source.get_or_insert_with(key.scanner, || 0) else { return };
        if *n >= PER_SOURCE {
            self.source_full += 1;
            return;
        }
        let p = Probe { ts_ns, kind, status: Status::Unanswered };
        let Some(p) = self.probes.get_or_insert_with(key, || p) else { return };
        *n += 1;
        let p = Probe { ts_ns: p.ts_ns, kind: p.kind, status: p.status };
        if kind != Kind::Echo {
            if let Some(a) = self
                .pairs
                .get_or_insert_with((key.scanner, key.target, key.proto), || Agg::new(ts_ns))
            {
                a.add(&p);
            }
        }
        if let Some(a) =
            self.sweeps.get_or_insert_with((key.scanner, key.proto, key.port), || Agg::new(ts_ns))
        {
            a.add(&p);
            if a.sample.len() < SAMPLE && !a.sample.contains(&key.target) {
                a.sample.push(key.target);
            }
        }
        self.check(&key, alerts);
    }

    /// An answer to the probe `key`, if it is live: moves it from one of `from` to `to`.
    /// Returns whether there was such a probe.
    fn answer(
        &mut self,
        key: ProbeKey,
        from: &[Status],
        to: Status,
        alerts: &mut Vec<Alert>,
    ) -> bool {
        let Some(p) = self.probes.get_mut(&key) else { return false };
        if !from.contains(&p.status) {
            return true;
        }
        let old = p.status;
        p.status = to;
        if let Some(a) = self.pairs.get_mut(&(key.scanner, key.target, key.proto)) {
            a.moved(old, to);
        }
        if let Some(a) = self.sweeps.get_mut(&(key.scanner, key.proto, key.port)) {
            a.moved(old, to);
        }
        self.check(&key, alerts);
        true
    }

    /// Raises the alerts whose threshold the aggregates of `key` reached.
    fn check(&mut self, key: &ProbeKey, alerts: &mut Vec<Alert>) {
        let window = self.scope.window_ns;
        let th = &self.th;
        if let Some(a) = self.pairs.get_mut(&(key.scanner, key.target, key.proto)) {
            if !a.alerted && a.score(key.proto, th) >= f64::from(th.ports) {
                a.alerted = true;
                alerts.push(vertical(key, a, window, th));
            }
        }
        if let Some(a) = self.sweeps.get_mut(&(key.scanner, key.proto, key.port)) {
            let echo = matches!(key.proto, PROTO_ICMP | PROTO_ICMPV6);
            let need = if echo { th.icmp_hosts } else { th.hosts };
            if !a.alerted && a.score(key.proto, th) >= f64::from(need) {
                a.alerted = true;
                alerts.push(horizontal(key, a, window, th));
            }
        }
    }

    fn tcp(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        let f = p.tcp_flags;
        let sent = ProbeKey { scanner: p.src, target: p.dst, proto: PROTO_TCP, port: p.dport };
        let back = ProbeKey { scanner: p.dst, target: p.src, proto: PROTO_TCP, port: p.sport };
        let (syn, ack, rst, fin) =
            (f & TCP_SYN != 0, f & TCP_ACK != 0, f & TCP_RST != 0, f & TCP_FIN != 0);
        if syn && !ack {
            self.probe(sent, Kind::Syn, p.ts_ns, alerts);
        } else if syn && ack {
            self.answer(back, &[Status::Unanswered], Status::Open, alerts);
        } else if rst {
            // The target refusing a probe, or the scanner resetting an open port.
            if !self.answer(back, &[Status::Unanswered], Status::Refused, alerts) {
                let to = if ack { Status::Completed } else { Status::HalfOpen };
                self.answer(sent, &[Status::Open], to, alerts);
            }
        } else if fin && ack {
            self.answer(sent, &[Status::Open], Status::Completed, alerts);
        } else if !ack {
            let kind = if f & (TCP_FIN | TCP_PSH | TCP_URG) == TCP_FIN | TCP_PSH | TCP_URG {
                Kind::Xmas
            } else if fin {
                Kind::Fin
            } else if f == 0 {
                Kind::Null
            } else {
                return;
            };
            self.probe(sent, kind, p.ts_ns, alerts);
        }
    }

    fn udp(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        let back = ProbeKey { scanner: p.dst, target: p.src, proto: PROTO_UDP, port: p.sport };
        if self.answer(back, &[Status::Unanswered], Status::Open, alerts) {
            return;
        }
        // From a well-known port to a high one: a server's answer whose request was not seen.
        if p.sport < 1024 && p.dport >= 1024 {
            return;
        }
        let sent = ProbeKey { scanner: p.src, target: p.dst, proto: PROTO_UDP, port: p.dport };
        self.probe(sent, Kind::Udp, p.ts_ns, alerts);
    }

    fn icmp(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        let v6 = p.proto == PROTO_ICMPV6;
        let (ty, code) = (p.sport, p.dport);
        let (request, reply) = if v6 { (128, 129) } else { (8, 0) };
        if let Some(q) = p.quoted {
            let port_unreachable = if v6 { ty == 1 && code == 4 } else { ty == 3 && code == 3 };
            let unreachable = if v6 { ty == 1 } else { ty == 3 };
            let transit = if v6 { ty == 3 } else { ty == 11 };
            let to = if port_unreachable {
                Status::Refused
            } else if unreachable {
                Status::Unreachable
            } else if transit {
                Status::Transit
            } else {
                return;
            };
            let port = if matches!(q.proto, PROTO_TCP | PROTO_UDP) { q.dport } else { 0 };
            let key = ProbeKey { scanner: q.src, target: q.dst, proto: q.proto, port };
            self.answer(key, &[Status::Unanswered], to, alerts);
            return;
        }
        if ty == request {
            let key = ProbeKey { scanner: p.src, target: p.dst, proto: p.proto, port: 0 };
            self.probe(key, Kind::Echo, p.ts_ns, alerts);
        } else if ty == reply {
            let key = ProbeKey { scanner: p.dst, target: p.src, proto: p.proto, port: 0 };
            self.answer(key, &[Status::Unanswered], Status::Open, alerts);
        }
    }

    /// Forgets probes older than the window (at most once a second of packet time).
    fn expire(&mut self, now_ns: i64) {
        if now_ns.saturating_sub(self.expired_ns) < 1_000_000_000 {
            return;
        }
        self.expired_ns = now_ns;
        let cutoff = now_ns.saturating_sub(self.scope.window_ns);
        let (pairs, sweeps, per_source) = (&mut self.pairs, &mut self.sweeps, &mut self.per_source);
        self.probes.retain(|k, p| {
            if p.ts_ns > cutoff {
                return true;
            }
            if let Some(a) = pairs.get_mut(&(k.scanner, k.target, k.proto)) {
                a.remove(p);
            }
            if let Some(a) = sweeps.get_mut(&(k.scanner, k.proto, k.port)) {
                a.remove(p);
            }
            if let Some(n) = per_source.get_mut(&k.scanner) {
                *n = n.saturating_sub(1);
            }
            false
        });
        self.pairs.retain(|_, a| a.probes > 0);
        self.sweeps.retain(|_, a| a.probes > 0);
        self.per_source.retain(|_, n| *n > 0);
    }
}

impl Detector for Scan {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn packet(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        match p.proto {
            PROTO_TCP => self.tcp(p, alerts),
            PROTO_UDP => self.udp(p, alerts),
            PROTO_ICMP | PROTO_ICMPV6 => self.icmp(p, alerts),
            _ => {}
        }
    }

    fn flow(&mut self, f: &FlowObs, alerts: &mut Vec<Alert>) {
        if f.proto == PROTO_TCP && f.established() {
            let key = ProbeKey { scanner: f.src, target: f.dst, proto: PROTO_TCP, port: f.dport };
            self.answer(key, &[Status::Open, Status::Unanswered], Status::Completed, alerts);
        }
    }

    fn tick(&mut self, now_ns: i64, _alerts: &mut Vec<Alert>) {
        self.expire(now_ns);
    }

    fn state(&self) -> (usize, u64) {
        (
            self.probes.len() + self.pairs.len() + self.sweeps.len(),
            self.probes.refused
                + self.pairs.refused
                + self.sweeps.refused
                + self.per_source.refused
                + self.source_full,
        )
    }
}

/// The evidence window of an aggregate: from its oldest probe still in the window.
fn window_of(a: &Agg, window_ns: i64) -> (i64, i64) {
    (a.first_ns.max(a.last_ns.saturating_sub(window_ns)), a.last_ns)
}

fn facts(mut alert: Alert, a: &Agg, proto: u8, th: &Thresholds) -> Alert {
    let n = |s: Status| u64::from(a.n(s));
    let score = (a.score(proto, th) * 10.0).round() / 10.0;
    alert = alert
        .fact("scan_type", a.label())
        .fact("probes", u64::from(a.probes))
        .fact("score", score)
        .fact("refused", n(Status::Refused))
        .fact("unreachable", n(Status::Unreachable))
        .fact("unanswered", n(Status::Unanswered))
        .fact("open", n(Status::Open))
        .fact("half_open", n(Status::HalfOpen))
        .fact("completed", n(Status::Completed))
        .fact("expired_in_transit", n(Status::Transit));
    alert
}

fn vertical(k: &ProbeKey, a: &Agg, window_ns: i64, th: &Thresholds) -> Alert {
    let (start, end) = window_of(a, window_ns);
    let n = u64::from(a.probes);
    let severity = if n >= 1000 { Severity::High } else { Severity::Medium };
    let msg = format!(
        "{} probed {} on {} in {} {}",
        k.scanner,
        plural(
            n,
            &format!("{} port", proto_name(k.proto)),
            &format!("{} ports", proto_name(k.proto))
        ),
        k.target,
        span(end - start),
        a.explain(k.proto)
    );
    let alert = Alert::new(&VERTICAL, severity, start, end)
        .source(Endpoint::ip(k.scanner))
        .destination(Endpoint::ip(k.target))
        .transport(transport(k.proto))
        .fact("ports", n)
        .message(msg);
    facts(alert, a, k.proto, th)
}

fn horizontal(k: &ProbeKey, a: &Agg, window_ns: i64, th: &Thresholds) -> Alert {
    let (start, end) = window_of(a, window_ns);
    let n = u64::from(a.probes);
    let echo = matches!(k.proto, PROTO_ICMP | PROTO_ICMPV6);
    let hosts = plural(n, "host", "hosts");
    let mut alert = if echo {
        let answered = u64::from(a.n(Status::Open));
        let unanswered = n - answered.min(n);
        let what = if k.proto == PROTO_ICMPV6 { "ICMPv6" } else { "ICMP" };
        let msg = format!(
            "{} sent {what} echo requests to {hosts} in {} (ping sweep; {answered} answered, \
             {unanswered} unanswered)",
            k.scanner,
            span(end - start),
        );
        Alert::new(&ICMP_SWEEP, Severity::Medium, start, end).message(msg)
    } else {
        let msg = format!(
            "{} probed {} port {} on {hosts} in {} {}",
            k.scanner,
            proto_name(k.proto),
            k.port,
            span(end - start),
            a.explain(k.proto)
        );
        Alert::new(&HORIZONTAL, Severity::Medium, start, end).message(msg).fact("port", k.port)
    };
    alert = alert.source(Endpoint::ip(k.scanner)).transport(transport(k.proto)).fact("hosts", n);
    alert.related = a.sample.clone();
    facts(alert, a, k.proto, th)
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
