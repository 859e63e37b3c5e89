//! `wirebeat.detect.brute_force`: password guessing against an authentication service, from one
//! source against one server port, seen two ways (T1110 Brute Force, T1110.001 Password
//! Guessing):
//!
//! - **Failed logins a parser sees** (`wirebeat-brute_force-failed-logins`): transactions whose
//!   [`Auth`] says a login was refused or tried — HTTP 401 (403 on a login path) and POSTs to a
//!   login path (`obs::classify_auth`), and whatever a protocol parser marks with `Txn::auth`
//!   (FTP 530, PostgreSQL 28P01, MySQL 1045, SMB logon failure, Kerberos pre-auth failure: a
//!   new parser only sets that field). They must concentrate on one path (a password guesser
//!   hammers one form; a web page whose session expired gets 401s on all its resources) and,
//!   for HTTP, make most of the source's transactions to that server (`min_failure_share`:
//!   NTLM and Negotiate answer the first request of every connection with 401, then succeed).
//! - **Session shape** where no parser sees the login (`wirebeat-brute_force-sessions`): SSH,
//!   RDP, Telnet, VNC and the database, mail, directory and file-sharing ports (`ports`). From
//!   final flow reports: a completed handshake, data both ways (a health check that connects
//!   and closes carries none), shorter than `max_session_duration`, under `max_session_bytes`
//!   each way — and `min_sessions` of them from one source to one server port within the
//!   window. Once a parser reports logins for that source and server port, its verdicts are
//!   the evidence and the shape is no longer counted there — unless it refused some, too few
//!   for the failed-logins rule (nine refused MySQL logins in 45 s): refusals do not contradict
//!   the shape, successes do.
//!
//! Invariants: state is one entry per (source, server, port), made by an established session
//! on one of `ports` or a login transaction (never by other transactions), bounded by `max_tracked` (refusals counted) and by a cap on
//! the events each entry keeps; entries idle for two windows are dropped on `tick`. An alert is
//! raised once per episode window: after one, events up to the end of its window are not
//! counted again (a sustained attack gives one alert per window, which suppression merges).
//! Decisions are made on `tick` for the entries touched since the last one, so an alert counts
//! everything of its window that the epoch brought.

use super::alert::{self, Alert, Endpoint, Mitre, Rule, Severity, TACTIC_CREDENTIAL_ACCESS};
use super::config::{detector_section, Scope};
use super::obs::{Auth, Detail, FlowObs, TxnObs, PROTO_TCP};
use super::state::Bounded;
use super::Detector;
use crate::units::{ByteSize, Duration, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::IpAddr;

const T1110: Mitre = Mitre { id: "T1110", name: "Brute Force" };
const T1110_001: Mitre = Mitre { id: "T1110.001", name: "Password Guessing" };

pub static RULE_SESSIONS: Rule = Rule {
    id: "wirebeat-brute_force-sessions",
    name: "Password guessing by session shape",
    action: "brute_force",
    description: "Many short, small sessions from one source to one authentication service \
                  (SSH, RDP, Telnet, VNC, database, mail, directory, SMB, FTP ports): each a \
                  completed handshake with a few hundred bytes to a few kilobytes exchanged and \
                  closed within seconds, the shape of a login refused and retried.",
    category: "Credential Access",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1110/001/",
    tactic: TACTIC_CREDENTIAL_ACCESS,
    technique: T1110,
    subtechnique: Some(T1110_001),
};

pub static RULE_FAILED_LOGINS: Rule = Rule {
    id: "wirebeat-brute_force-failed-logins",
    name: "Repeated failed logins",
    action: "brute_force",
    description: "Many login attempts from one source to one server that the protocol shows \
                  refused or unresolved: HTTP 401/403 and POSTs to one login path, or the \
                  authentication failures a protocol parser reports (FTP 530 and the like).",
    category: "Credential Access",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1110/001/",
    tactic: TACTIC_CREDENTIAL_ACCESS,
    technique: T1110,
    subtechnique: Some(T1110_001),
};

/// SSH, Telnet, RDP, VNC, FTP, POP3/IMAP (and their TLS ports), SMTP submission, LDAP, SMB,
/// MSSQL, MySQL, PostgreSQL.
pub const DEFAULT_PORTS: &[u16] = &[
    21, 22, 23, 110, 143, 389, 445, 465, 587, 993, 995, 1433, 3306, 3389, 5432, 5900, 5901, 5902,
    5903, 5904, 5905, 5906, 5907, 5908, 5909, 5910,
];

/// `wirebeat.detect.brute_force.thresholds`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Login-shaped sessions from one source to one server port within the window.
    pub min_sessions: u32,
    /// A login-shaped session ends within this time of its first packet.
    pub max_session_duration: Duration,
    /// ... and carries at most this many bytes (on the wire) in each direction.
    pub max_session_bytes: ByteSize,
    /// Server ports whose sessions are judged by shape.
    pub ports: Vec<u16>,
    /// Refused or unresolved logins a parser saw, on one path, from one source to one server
    /// port within the window.
    pub min_failures: u32,
    /// Share of the source's transactions to that server port that must be logins.
    pub min_failure_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_sessions: 10,
            max_session_duration: Duration::from_secs(30),
            max_session_bytes: ByteSize(16 << 10),
            ports: DEFAULT_PORTS.to_vec(),
            min_failures: 20,
            min_failure_share: 0.8,
        }
    }
}

impl Thresholds {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::in_range("min_sessions", self.min_sessions, 2..=10_000)?;
        Invalid::in_range("min_failures", self.min_failures, 2..=10_000)?;
        Invalid::duration_in(
            "max_session_duration",
            self.max_session_duration,
            Duration::from_secs(1)..=Duration::from_secs(3600),
            None,
        )?;
        Invalid::size_in("max_session_bytes", self.max_session_bytes.0, 256..=(64 << 20))?;
        if !(0.0..=1.0).contains(&self.min_failure_share) {
            return Err(Invalid::new(
                "min_failure_share",
                format!("must be between 0 and 1, got {}", self.min_failure_share),
            ));
        }
        if let Some(i) = self.ports.iter().position(|p| *p == 0) {
            return Err(Invalid::new(format!("ports[{i}]"), "must be a port from 1 to 65535"));
        }
        Ok(())
    }
}

detector_section!(120, 100_000);

/// The detector `cfg` asks for, if enabled.
pub fn build(cfg: &Config) -> Option<Box<dyn Detector>> {
    cfg.enabled.then(|| Box::new(BruteForce::new(cfg)) as Box<dyn Detector>)
}

/// The usual name of the service on a port, for messages.
pub fn service(port: u16) -> Option<&'static str> {
    Some(match port {
        21 => "FTP",
        22 => "SSH",
        23 => "Telnet",
        110 => "POP3",
        143 => "IMAP",
        389 => "LDAP",
        445 => "SMB",
        465 => "SMTPS",
        587 => "SMTP submission",
        993 => "IMAPS",
        995 => "POP3S",
        1433 => "MSSQL",
        3306 => "MySQL",
        3389 => "RDP",
        5432 => "PostgreSQL",
        5900..=5910 => "VNC",
        _ => return None,
    })
}

/// Header bytes per packet assumed when estimating whether a side sent data: Ethernet, IP and
/// TCP with the timestamp option (Linux's default). A bare connect-and-close (SYN, ACK, FIN,
/// ACK) comes out at a few bytes, a login at tens to thousands.
const HEADER_V4: u64 = 14 + 20 + 32;
const HEADER_V6: u64 = 14 + 40 + 32;
/// Estimated payload under which a side counts as having sent nothing.
const MIN_DATA: u64 = 32;
/// Paths one entry tells apart (more are counted together as "other paths").
const MAX_PATHS: usize = 8;
const MAX_PATH_CHARS: usize = 200;

type Key = (IpAddr, IpAddr, u16);

#[derive(Debug, Clone, Copy)]
struct Session {
    start_ns: i64,
    end_ns: i64,
    /// Short, small, data both ways.
    shaped: bool,
    /// The larger direction's bytes.
    bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failure,
    Attempt,
    Success,
    /// A transaction that is not a login (for the share).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Login {
    ts_ns: i64,
    kind: Kind,
    /// Index into `Entry::paths` (`MAX_PATHS`: another path).
    path: u8,
    status: Option<u16>,
}

#[derive(Default)]
struct Entry {
    /// Sessions ended, in end-time order, at most `session_cap`.
    sessions: VecDeque<Session>,
    /// Transactions, in time order, at most `login_cap`.
    logins: VecDeque<Login>,
    paths: Vec<String>,
    /// The protocol of the login transactions ("http", "ftp", …).
    protocol: &'static str,
    /// A parser reported logins for this key: session shape is no longer counted (unless it
    /// refused fewer than `min_failures`).
    parser_logins: bool,
    /// Nothing up to these times counts again (an alert covered it).
    sessions_done_ns: i64,
    logins_done_ns: i64,
    /// Packet time of the last observation (for expiry).
    touched_ns: i64,
    dirty: bool,
    community_id: Option<String>,
}

/// Inserts `v` keeping `q` ordered by `ts`, then drops the oldest beyond `cap`.
fn push_ordered<T: Copy>(q: &mut VecDeque<T>, v: T, ts: impl Fn(&T) -> i64, cap: usize) {
    let t = ts(&v);
    let at = q.partition_point(|x| ts(x) <= t);
    q.insert(at, v);
    while q.len() > cap {
        q.pop_front();
    }
}

/// The earliest window (`window_ns` long, starting at a counted event) holding `n` counted
/// events and passing `accept`; returns its first and one-past-last index in `ts`.
fn first_window(
    ts: &[i64],
    counted: &[bool],
    n: usize,
    window_ns: i64,
    mut accept: impl FnMut(std::ops::Range<usize>) -> bool,
) -> Option<std::ops::Range<usize>> {
    let idx: Vec<usize> = (0..ts.len()).filter(|&i| counted[i]).collect();
    for k in 0..idx.len().saturating_sub(n.saturating_sub(1)) {
        let (first, nth) = (idx[k], idx[k + n - 1]);
        if ts[nth] - ts[first] > window_ns {
            continue;
        }
        let end = ts.partition_point(|&t| t <= ts[first] + window_ns);
        let r = first..end.max(nth + 1);
        if accept(r.clone()) {
            return Some(r);
        }
    }
    None
}

pub struct BruteForce {
    scope: Scope,
    t: Thresholds,
    /// `t.ports`, sorted.
    ports: Vec<u16>,
    max_duration_ns: i64,
    session_cap: usize,
    login_cap: usize,
    state: Bounded<Key, Entry>,
    dirty: Vec<Key>,
    last_sweep_ns: i64,
}

impl BruteForce {
    pub fn new(cfg: &Config) -> Self {
        let t = cfg.thresholds.clone();
        let mut ports = t.ports.clone();
        ports.sort_unstable();
        ports.dedup();
        BruteForce {
            scope: cfg.scope(),
            max_duration_ns: t.max_session_duration.as_nanos(),
            session_cap: (t.min_sessions as usize * 8).clamp(128, 80_000),
            login_cap: (t.min_failures as usize * 8).clamp(256, 80_000),
            ports,
            t,
            state: Bounded::new(cfg.max_tracked),
            dirty: Vec::new(),
            last_sweep_ns: i64::MIN,
        }
    }

    /// A completed, short, small session in which both sides sent data.
    fn login_shaped(&self, f: &FlowObs) -> bool {
        let header = if f.src.is_ipv4() { HEADER_V4 } else { HEADER_V6 };
        let data = |bytes: u64, packets: u64| bytes.saturating_sub(packets * header) >= MIN_DATA;
        let max = self.t.max_session_bytes.0;
        f.duration_ns() <= self.max_duration_ns
            && f.fwd_bytes <= max
            && f.rev_bytes <= max
            && data(f.fwd_bytes, f.fwd_packets)
            && data(f.rev_bytes, f.rev_packets)
    }

    fn touch(&mut self, key: Key) {
        if let Some(e) = self.state.get_mut(&key) {
            if !e.dirty {
                e.dirty = true;
                self.dirty.push(key);
            }
        }
    }

    fn judge(&mut self, key: Key, alerts: &mut Vec<Alert>) {
        let window = self.scope.window_ns;
        let (min_sessions, min_failures) = (self.t.min_sessions, self.t.min_failures);
        let share = self.t.min_failure_share;
        let max_dur = self.max_duration_ns;
        let Some(e) = self.state.get_mut(&key) else { return };
        e.dirty = false;
        let (src, dst, port) = key;

        // Session shape.
        let done = e.sessions_done_ns;
        e.sessions.retain(|s| s.end_ns > done);
        let refused = e.logins.iter().filter(|l| l.kind == Kind::Failure).count();
        let shape_counts = !e.parser_logins || (refused > 0 && refused < min_failures as usize);
        if shape_counts && e.sessions.len() >= min_sessions as usize {
            let ts: Vec<i64> = e.sessions.iter().map(|s| s.end_ns).collect();
            let shaped: Vec<bool> = e.sessions.iter().map(|s| s.shaped).collect();
            if let Some(r) = first_window(&ts, &shaped, min_sessions as usize, window, |_| true) {
                let w: Vec<Session> = e.sessions.range(r.clone()).copied().collect();
                let short: Vec<&Session> = w.iter().filter(|s| s.shaped).collect();
                let start = w.iter().map(|s| s.start_ns).min().unwrap_or(ts[r.start]);
                let end = ts[r.end - 1];
                let largest = short.iter().map(|s| s.bytes).max().unwrap_or(0);
                let svc = service(port).map_or_else(|| format!("TCP/{port}"), str::to_owned);
                let message = format!(
                    "{src} made {} to {dst}:{port} in {}, {} shorter than {} with at most {} \
                     sent either way (password guessing by session shape)",
                    alert::plural(
                        w.len() as u64,
                        &format!("{svc} session"),
                        &format!("{svc} sessions")
                    ),
                    alert::span(end - start),
                    short.len(),
                    alert::span(max_dur),
                    kb(largest),
                );
                let mut a = Alert::new(&RULE_SESSIONS, Severity::Medium, start, end)
                    .source(Endpoint::ip(src))
                    .destination(Endpoint::port(dst, port))
                    .transport("tcp")
                    .fact("service", svc)
                    .fact("sessions", w.len() as u64)
                    .fact("short_sessions", short.len() as u64)
                    .fact("largest_session_bytes", largest)
                    .message(message);
                a.community_id = e.community_id.clone();
                alerts.push(a);
                e.sessions_done_ns = ts[r.start] + window;
                let done = e.sessions_done_ns;
                e.sessions.retain(|s| s.end_ns > done);
            }
        }

        // Older sessions can no longer be part of a window with the newest.
        if let Some(newest) = e.sessions.back().map(|s| s.end_ns) {
            e.sessions.retain(|s| s.end_ns >= newest - window);
        }

        // Failed logins.
        let done = e.logins_done_ns;
        e.logins.retain(|l| l.ts_ns > done);
        if let Some(newest) = e.logins.back().map(|l| l.ts_ns) {
            e.logins.retain(|l| l.ts_ns >= newest - window);
        }
        let guesses = e.logins.iter().filter(|l| matches!(l.kind, Kind::Failure | Kind::Attempt));
        if guesses.count() < min_failures as usize {
            return;
        }
        let ts: Vec<i64> = e.logins.iter().map(|l| l.ts_ns).collect();
        let guess: Vec<bool> =
            e.logins.iter().map(|l| matches!(l.kind, Kind::Failure | Kind::Attempt)).collect();
        let logins = &e.logins;
        // The share matters for HTTP only (NTLM/Negotiate 401s among successes); a parser's
        // verdict is unambiguous, and its other commands (FTP USER, QUIT) are not logins.
        let http = e.protocol == "http";
        let mut top_path = 0u8;
        let accept = |r: std::ops::Range<usize>| {
            let mut per_path = [0u32; MAX_PATHS + 1];
            let (mut g, mut all) = (0u32, 0u32);
            for l in logins.range(r) {
                all += 1;
                if matches!(l.kind, Kind::Failure | Kind::Attempt) {
                    g += 1;
                    per_path[usize::from(l.path)] += 1;
                }
            }
            // The last slot gathers paths beyond `MAX_PATHS`: many paths are not one form.
            let (p, top) = per_path[..MAX_PATHS]
                .iter()
                .enumerate()
                .max_by_key(|(i, n)| (**n, usize::MAX - i))
                .unwrap_or((0, &0));
            top_path = p as u8;
            *top >= min_failures && (!http || f64::from(g) >= share * f64::from(all))
        };
        let Some(r) = first_window(&ts, &guess, min_failures as usize, window, accept) else {
            return;
        };
        let w: Vec<Login> =
            e.logins.range(r.clone()).filter(|l| l.path == top_path).copied().collect();
        let count = |k: Kind| w.iter().filter(|l| l.kind == k).count() as u64;
        let (failed, attempts, succeeded) =
            (count(Kind::Failure), count(Kind::Attempt), count(Kind::Success));
        let start = ts[r.start];
        let end = ts[r.end - 1];
        let path = e.paths.get(usize::from(top_path)).cloned().unwrap_or_default();
        let proto = e.protocol;
        let name = proto.to_ascii_uppercase();
        let n = failed + attempts;
        let mut message = if proto == "http" {
            let s401 =
                w.iter().filter(|l| l.kind == Kind::Failure && l.status == Some(401)).count();
            let s403 =
                w.iter().filter(|l| l.kind == Kind::Failure && l.status == Some(403)).count();
            let mut parts = Vec::new();
            match (s401, s403) {
                (0, 0) => {}
                (a, 0) => parts.push(format!("{a} answered 401")),
                (0, b) => parts.push(format!("{b} answered 403")),
                (a, b) => parts.push(format!("{} answered 401/403", a + b)),
            }
            let other_failed = failed as usize - s401 - s403;
            if other_failed > 0 {
                parts.push(format!("{other_failed} refused"));
            }
            if attempts > 0 {
                parts.push(format!("{attempts} POSTs to the login form answered otherwise"));
            }
            format!(
                "{src} made {n} HTTP logins to {dst}:{port} {path} in {}: {}",
                alert::span(end - start),
                parts.join(", ")
            )
        } else {
            let mut m = format!(
                "{src} made {n} {name} login attempts to {dst}:{port} in {}: {failed} refused",
                alert::span(end - start)
            );
            if attempts > 0 {
                m.push_str(&format!(", {attempts} unanswered"));
            }
            m
        };
        if succeeded > 0 {
            message.push_str(&format!("; {succeeded} succeeded"));
        }
        message.push_str(" (password guessing)");
        let severity = if succeeded > 0 { Severity::High } else { Severity::Medium };
        let mut a = Alert::new(&RULE_FAILED_LOGINS, severity, start, end)
            .source(Endpoint::ip(src))
            .destination(Endpoint::port(dst, port))
            .transport("tcp")
            .fact("protocol", proto)
            .fact("logins", n)
            .fact("failed", failed)
            .fact("unresolved", attempts)
            .fact("succeeded", succeeded)
            .message(message);
        if !path.is_empty() {
            a = a.fact("path", path.clone());
            a.ecs.insert("url".into(), serde_json::json!({"path": path}));
        }
        a.community_id = e.community_id.clone();
        alerts.push(a);
        e.logins_done_ns = start + window;
        let done = e.logins_done_ns;
        e.logins.retain(|l| l.ts_ns > done);
    }
}

/// "4.6 KB", "812 B".
fn kb(bytes: u64) -> String {
    if bytes < 1000 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KB", bytes as f64 / 1000.0)
    }
}

impl Detector for BruteForce {
    fn name(&self) -> &'static str {
        "brute_force"
    }

    fn flow(&mut self, f: &FlowObs, _alerts: &mut Vec<Alert>) {
        if f.proto != PROTO_TCP
            || self.ports.binary_search(&f.dport).is_err()
            || !f.established()
            || self.scope.ignores(f.src, f.dst)
        {
            return;
        }
        let shaped = self.login_shaped(f);
        let key = (f.src, f.dst, f.dport);
        // Every established session makes an entry, not only login-shaped ones: final
        // reports do not come in end-time order (a capture's end flushes the flow table in
        // its own order), and the long sessions of a window belong in its message.
        let Some(e) = self.state.get_or_insert_with(key, Entry::default) else { return };
        e.touched_ns = e.touched_ns.max(f.ts_ns);
        // Kept also when a parser reports logins: `judge` decides whether the shape counts.
        let s = Session {
            start_ns: f.first_ts,
            end_ns: f.last_ts,
            shaped,
            bytes: f.fwd_bytes.max(f.rev_bytes),
        };
        push_ordered(&mut e.sessions, s, |s| s.end_ns, self.session_cap);
        if shaped && e.community_id.is_none() {
            e.community_id.clone_from(&f.community_id);
        }
        self.touch(key);
    }

    fn transaction(&mut self, t: &TxnObs, _alerts: &mut Vec<Alert>) {
        if self.scope.ignores(t.src, t.dst) {
            return;
        }
        let key = (t.src, t.dst, t.dport);
        let kind = match t.auth {
            Auth::Failure => Kind::Failure,
            Auth::Attempt => Kind::Attempt,
            Auth::Success => Kind::Success,
            Auth::None => Kind::Other,
        };
        let e = if t.auth.is_login() {
            self.state.get_or_insert_with(key, Entry::default)
        } else {
            self.state.get_mut(&key)
        };
        let Some(e) = e else { return };
        e.touched_ns = e.touched_ns.max(t.ts_ns);
        let (path, status) = match &t.detail {
            Detail::Http { path, status, .. } => (path.as_str(), *status),
            _ => ("", None),
        };
        let path: String = path.chars().take(MAX_PATH_CHARS).collect();
        let idx = match e.paths.iter().position(|p| *p == path) {
            Some(i) => i,
            None if e.paths.len() < MAX_PATHS && kind != Kind::Other => {
                e.paths.push(path);
                e.paths.len() - 1
            }
            None => MAX_PATHS,
        };
        if t.auth.is_login() {
            e.parser_logins = true;
            e.protocol = t.protocol;
            if e.community_id.is_none() {
                e.community_id.clone_from(&t.community_id);
            }
        }
        let l = Login { ts_ns: t.ts_ns, kind, path: idx as u8, status };
        push_ordered(&mut e.logins, l, |l| l.ts_ns, self.login_cap);
        self.touch(key);
    }

    fn tick(&mut self, now_ns: i64, alerts: &mut Vec<Alert>) {
        for key in std::mem::take(&mut self.dirty) {
            self.judge(key, alerts);
        }
        let window = self.scope.window_ns;
        if now_ns.saturating_sub(self.last_sweep_ns) >= (window / 4).max(1) {
            self.last_sweep_ns = now_ns;
            self.state.retain(|_, e| e.dirty || e.touched_ns.saturating_add(2 * window) >= now_ns);
        }
    }

    fn state(&self) -> (usize, u64) {
        (self.state.len(), self.state.refused)
    }
}

#[cfg(test)]
#[path = "brute_force_tests.rs"]
mod tests;
