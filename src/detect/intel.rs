//! `wirebeat.detect.intel`: threat-intelligence matching. Indicator lists (IP addresses and
//! CIDRs, domains, URLs, JA3/JA4 fingerprints, certificate SHA-256/SHA-1) are read from files
//! in plain, CSV, abuse.ch or MISP formats, compiled into hash tables, and checked where the
//! events are built: in the workers.
//!
//! Why in the workers and not in the engine: a match must *enrich the event it matched*
//! (`threat.enrichments` on the flow or transaction document, before it is serialized), and the
//! engine only sees observations after the events left. So every worker holds a [`Matcher`]:
//! an `Arc` of the compiled lists ([`Snapshot`]) that it swaps, without a lock on the hot path,
//! when the generation counter says a reload happened.
//!
//! What is checked where:
//! - every decoded packet: its source and destination address against the IP/CIDR tables; a
//!   hit raises an alert at once (the live latency promise: a packet to a listed address is an
//!   alert within a second), at most once per conversation per [`REALERT_NS`] of packet time;
//! - every flow report: its addresses (enrichment only; the packet raised the alert);
//! - every transaction: its addresses (enrichment only), and the names, URLs, fingerprints and
//!   certificate hashes its protocol gives (DNS question, HTTP URL and host, TLS SNI, JA3, JA4,
//!   server and client certificate hashes); a hit enriches the event and raises an alert.
//!
//! Alerts (`wirebeat-intel-match`) are handed to the engine through [`Observer::alert`] and go
//! through suppression like any other. Severity is the list's (`severity`, default high).
//!
//! Reload: [`Intel::start`] loads every list once; in live capture a watcher thread compares
//! each file's size, mtime and inode every `reload_interval` and reloads the lists that changed,
//! and SIGHUP (`crate::reload`, "threat intel lists") reloads them all. A list that fails to
//! load (missing file, unreadable, malformed JSON) keeps its previous entries, and the reason is
//! logged. A bad line is skipped and counted; one log line per list gives the count and the
//! first example. The total number of entries is bounded by `max_entries`; entries beyond it
//! are refused and counted.

use super::alert::{Mitre, TACTIC_COMMAND_AND_CONTROL};
use super::{Alert, Endpoint, Observer, Rule, Severity};
use crate::decode::Packet;
use crate::flow::{Flow, Report};
use crate::proto::{ProtoFields, Txn};
use crate::units::{Duration, Invalid};
use ipnet::IpNet;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

const T1071: Mitre = Mitre { id: "T1071", name: "Application Layer Protocol" };
const T1071_001: Mitre = Mitre { id: "T1071.001", name: "Web Protocols" };
const T1071_004: Mitre = Mitre { id: "T1071.004", name: "DNS" };

const DESCRIPTION: &str = "Traffic matched an indicator of a threat-intelligence list (an IP \
    address or network, domain, URL, JA3/JA4 fingerprint or certificate hash): the host talked \
    to, resolved, fetched or presented something the list's provider reports as malicious.";
const REFERENCE: &str = "https://attack.mitre.org/techniques/T1071/";

const BASE: Rule = Rule {
    id: "wirebeat-intel-match",
    name: "Threat intelligence indicator match",
    action: "intel",
    description: DESCRIPTION,
    category: "Threat Intelligence",
    version: "1",
    reference: REFERENCE,
    tactic: TACTIC_COMMAND_AND_CONTROL,
    technique: T1071,
    subtechnique: None,
};

/// An address, TLS fingerprint or certificate match (no web or DNS protocol involved).
pub static RULE: Rule = BASE;
/// The same rule when the match was in an HTTP transaction (URL or host).
pub static RULE_WEB: Rule = Rule { subtechnique: Some(T1071_001), ..BASE };
/// The same rule when the match was a DNS question.
pub static RULE_DNS: Rule = Rule { subtechnique: Some(T1071_004), ..BASE };

/// A conversation alerts again after this much packet time (suppression merges the repeats).
pub const REALERT_NS: i64 = 60_000_000_000;
/// Conversations a worker remembers having alerted on; beyond, the oldest are forgotten.
pub const MAX_ALERTED: usize = 65_536;
/// Longest line read from a list (longer lines are bad lines).
pub const MAX_LINE: usize = 16_384;
/// Most entries all lists may hold together.
pub const MAX_ENTRIES_LIMIT: usize = 50_000_000;
/// Shortest and longest `reload_interval` (0s: no watcher, SIGHUP only).
pub const RELOAD_RANGE: std::ops::RangeInclusive<Duration> =
    Duration(std::time::Duration::from_millis(100))..=Duration::from_secs(3600);

/// What a list's entries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Decided per entry from its shape (and per row for abuse.ch and MISP files).
    #[default]
    Auto,
    /// An address or a CIDR network.
    Ip,
    Domain,
    Url,
    Ja3,
    Ja4,
    CertSha256,
    CertSha1,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Auto => "auto",
            Kind::Ip => "ip",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Ja3 => "ja3",
            Kind::Ja4 => "ja4",
            Kind::CertSha256 => "cert_sha256",
            Kind::CertSha1 => "cert_sha1",
        }
    }

    /// `threat.enrichments.indicator.type` (ECS's STIX-based values).
    fn ecs_type(self, atomic: &str) -> &'static str {
        match self {
            Kind::Ip if atomic.contains(':') => "ipv6-addr",
            Kind::Ip | Kind::Auto => "ipv4-addr",
            Kind::Domain => "domain-name",
            Kind::Url => "url",
            // A TLS client fingerprint identifies the client software.
            Kind::Ja3 | Kind::Ja4 => "software",
            Kind::CertSha256 | Kind::CertSha1 => "x509-certificate",
        }
    }

    /// The index of a string table (`None` for IP entries).
    fn table(self) -> Option<usize> {
        match self {
            Kind::Domain => Some(0),
            Kind::Url => Some(1),
            Kind::Ja3 => Some(2),
            Kind::Ja4 => Some(3),
            Kind::CertSha256 => Some(4),
            Kind::CertSha1 => Some(5),
            Kind::Ip | Kind::Auto => None,
        }
    }
}

const TABLES: usize = 6;

/// How a list file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One indicator per line; `#` starts a comment.
    #[default]
    Plain,
    /// A header line, then rows; the indicator is in `column` (or the first column).
    Csv,
    /// abuse.ch CSV feeds (Feodo Tracker, SSLBL JA3 and certificates, URLhaus, ThreatFox):
    /// `#` comment lines, the last of which before the data names the columns.
    Abusech,
    /// MISP's CSV export (`uuid,event_id,category,type,value,comment,to_ids,date,…`).
    MispCsv,
    /// MISP's JSON export: an event (`Event.Attribute`, `Event.Object[].Attribute`), a list of
    /// them, or an attribute search (`response.Attribute`).
    MispJson,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Csv => "csv",
            Format::Abusech => "abusech",
            Format::MispCsv => "misp_csv",
            Format::MispJson => "misp_json",
        }
    }
}

/// `severity` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ListSeverity {
    Low,
    Medium,
    #[default]
    High,
    Critical,
}

impl From<ListSeverity> for Severity {
    fn from(s: ListSeverity) -> Severity {
        match s {
            ListSeverity::Low => Severity::Low,
            ListSeverity::Medium => Severity::Medium,
            ListSeverity::High => Severity::High,
            ListSeverity::Critical => Severity::Critical,
        }
    }
}

/// One entry of `wirebeat.detect.intel.lists`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ListConfig {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub format: Format,
    /// Shown in alerts and `threat.enrichments.indicator.provider`; default the file's stem.
    pub name: Option<String>,
    pub severity: ListSeverity,
    /// CSV: the header of the indicator column (default: the first of `indicator`, `value`,
    /// `ioc`, … found, else the first column).
    pub column: Option<String>,
}

impl ListConfig {
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => Path::new(&self.path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.path.clone()),
        }
    }
}

/// `wirebeat.detect.intel`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// On by default; without lists it does nothing (and costs nothing).
    pub enabled: bool,
    pub lists: Vec<ListConfig>,
    /// How often live capture checks the files for changes; `0s`: only on SIGHUP.
    pub reload_interval: Duration,
    /// Most entries all lists hold together; entries beyond are refused and counted.
    pub max_entries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            lists: Vec::new(),
            reload_interval: Duration::from_secs(5),
            max_entries: 1_000_000,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !self.reload_interval.0.is_zero() {
            Invalid::duration_in(
                "reload_interval",
                self.reload_interval,
                RELOAD_RANGE,
                Some("off"),
            )?;
        }
        Invalid::in_range("max_entries", self.max_entries, 1..=MAX_ENTRIES_LIMIT)?;
        let mut names = std::collections::BTreeSet::new();
        for (i, l) in self.lists.iter().enumerate() {
            if l.path.trim().is_empty() {
                return Err(Invalid::new(format!("lists[{i}].path"), "must name a file"));
            }
            if l.column.is_some() && l.format != Format::Csv {
                return Err(Invalid::new(
                    format!("lists[{i}].column"),
                    "applies to format: csv only (the other formats name their own columns)",
                ));
            }
            let name = l.display_name();
            if !names.insert(name.clone()) {
                return Err(Invalid::new(
                    format!("lists[{i}].name"),
                    format!("{name:?} names two lists (set a distinct name)"),
                ));
            }
        }
        Ok(())
    }

    /// Some list would be checked.
    pub fn active(&self) -> bool {
        self.enabled && !self.lists.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing: list files → entries.

/// What the list says about one indicator besides its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The indicator as listed (normalised: `10.0.0.0/8`, `evil.example`, upper-case hashes).
    pub value: Box<str>,
    pub kind: Kind,
    /// RFC 3339.
    pub first_seen: Option<Box<str>>,
    pub last_seen: Option<Box<str>>,
    pub description: Option<Box<str>>,
    pub reference: Option<Box<str>>,
}

/// An indicator read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Net(IpNet),
    Str(Kind, Box<str>),
}

/// The outcome of reading one file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub entries: Vec<(Key, Meta)>,
    /// Lines or records that are not an indicator of a known kind.
    pub bad: u64,
    /// The first of them: "line N: why: text".
    pub first_bad: Option<String>,
    /// Records deliberately left out (MISP attributes without `to_ids`, types wirebeat cannot
    /// match such as file hashes).
    pub skipped: u64,
}

impl Parsed {
    fn bad(&mut self, line: usize, why: &str, text: &str) {
        self.bad += 1;
        if self.first_bad.is_none() {
            let mut t: String = text.trim().chars().take(80).collect();
            if text.trim().chars().count() > 80 {
                t.push('…');
            }
            self.first_bad = Some(format!("line {line}: {why}: {t:?}"));
        }
    }

    fn push(&mut self, line: usize, kind: Kind, text: &str, mut meta: Meta) {
        match normalize(kind, text) {
            Ok((key, value)) => {
                meta.value = value.into();
                meta.kind = match &key {
                    Key::Net(_) => Kind::Ip,
                    Key::Str(k, _) => *k,
                };
                self.entries.push((key, meta));
            }
            Err(why) => self.bad(line, why, text),
        }
    }
}

/// Parses `text` (the content of a list file) as `format`, its indicators of `kind`.
/// `column`: the CSV indicator column. Never panics; a malformed MISP JSON document is the one
/// whole-file error.
pub fn parse(
    text: &str,
    format: Format,
    kind: Kind,
    column: Option<&str>,
) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    match format {
        Format::Plain => parse_plain(text, kind, &mut p),
        Format::Csv => parse_csv(text, kind, column, &mut p),
        Format::Abusech => parse_abusech(text, kind, &mut p),
        Format::MispCsv => parse_misp_csv(text, kind, &mut p),
        Format::MispJson => parse_misp_json(text, kind, &mut p)?,
    }
    Ok(p)
}

/// Lines with their 1-based numbers, a BOM and `\r` removed.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
}

fn parse_plain(text: &str, kind: Kind, p: &mut Parsed) {
    for (n, line) in lines(text) {
        if line.len() > MAX_LINE {
            p.bad(n, "line too long", line);
            continue;
        }
        // `#` starts a comment (a URL's fragment would too: lists do not carry fragments).
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        // Some lists add a note after the indicator ("1.2.3.4 ; Dridex", "1.2.3.4\tDridex").
        let value = line.split(|c: char| c.is_whitespace() || c == ';').next().unwrap_or(line);
        p.push(n, kind, value, Meta::default());
    }
}

/// Splits one CSV line (RFC 4180 quoting, `""` inside quotes); `None` if a quote is unclosed.
pub fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.trim().is_empty() && !was_quoted {
            cur.clear();
            quoted = true;
            was_quoted = true;
        } else if c == ',' {
            out.push(finish_field(&mut cur, was_quoted));
            was_quoted = false;
        } else {
            cur.push(c);
        }
    }
    if quoted {
        return None;
    }
    out.push(finish_field(&mut cur, was_quoted));
    Some(out)
}

fn finish_field(cur: &mut String, was_quoted: bool) -> String {
    let s = std::mem::take(cur);
    if was_quoted {
        s
    } else {
        s.trim().to_owned()
    }
}

/// Columns of a header, lower case, by position.
fn header(fields: &[String]) -> Vec<String> {
    fields.iter().map(|h| h.trim().trim_matches('"').trim().to_ascii_lowercase()).collect()
}

/// Where the metadata of a row is, by header name.
#[derive(Default)]
struct MetaColumns {
    first_seen: Option<usize>,
    last_seen: Option<usize>,
    description: Option<usize>,
    reference: Option<usize>,
}

impl MetaColumns {
    fn of(h: &[String]) -> Self {
        let find = |names: &[&str]| names.iter().find_map(|n| h.iter().position(|c| c == n));
        MetaColumns {
            first_seen: find(&[
                "first_seen",
                "first_seen_utc",
                "firstseen",
                "dateadded",
                "listingdate",
                "date",
                "first-seen",
            ]),
            last_seen: find(&[
                "last_seen",
                "last_seen_utc",
                "lastseen",
                "last_online",
                "last-seen",
            ]),
            description: find(&[
                "description",
                "malware",
                "malware_printable",
                "listingreason",
                "threat",
                "threat_type",
                "comment",
            ]),
            reference: find(&["reference", "urlhaus_link", "link"]),
        }
    }

    fn meta(&self, row: &[String]) -> Meta {
        let get = |i: Option<usize>| {
            i.and_then(|i| row.get(i)).map(|s| s.trim()).filter(|s| !s.is_empty())
        };
        Meta {
            first_seen: get(self.first_seen).and_then(date).map(Into::into),
            last_seen: get(self.last_seen).and_then(date).map(Into::into),
            description: get(self.description).map(|s| truncate(s, 1024).into()),
            reference: get(self.reference).map(|s| truncate(s, 1024).into()),
            ..Meta::default()
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Header names of the indicator column, in order of preference, and the kind each implies.
const INDICATOR_COLUMNS: &[(&str, Kind)] = &[
    ("indicator", Kind::Auto),
    ("value", Kind::Auto),
    ("ioc", Kind::Auto),
    ("ioc_value", Kind::Auto),
    ("ip", Kind::Ip),
    ("ip_address", Kind::Ip),
    ("dst_ip", Kind::Ip),
    ("dstip", Kind::Ip),
    ("cidr", Kind::Ip),
    ("network", Kind::Ip),
    ("domain", Kind::Domain),
    ("hostname", Kind::Domain),
    ("url", Kind::Url),
    ("ja3", Kind::Ja3),
    ("ja3_md5", Kind::Ja3),
    ("ja4", Kind::Ja4),
    ("sha256", Kind::CertSha256),
    ("sha1", Kind::CertSha1),
];

/// The indicator column of a header and the kind its name implies.
fn indicator_column(h: &[String]) -> Option<(usize, Kind)> {
    INDICATOR_COLUMNS.iter().find_map(|(n, k)| h.iter().position(|c| c == n).map(|i| (i, *k)))
}

fn parse_csv(text: &str, kind: Kind, column: Option<&str>, p: &mut Parsed) {
    let mut head: Option<(Vec<String>, usize, Kind, MetaColumns)> = None;
    for (n, line) in lines(text) {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.len() > MAX_LINE {
            p.bad(n, "line too long", line);
            continue;
        }
        let Some(row) = csv_fields(line) else {
            p.bad(n, "unclosed quote", line);
            continue;
        };
        let Some((_, col, col_kind, meta)) = &head else {
            let h = header(&row);
            let (col, col_kind) = match column {
                Some(c) => match h.iter().position(|x| x.eq_ignore_ascii_case(c.trim())) {
                    Some(i) => (i, Kind::Auto),
                    None => {
                        // No such column: every row is unusable; say so once.
                        p.bad(n, &format!("no column {c:?} in the header"), line);
                        return;
                    }
                },
                None => indicator_column(&h).unwrap_or((0, Kind::Auto)),
            };
            let meta = MetaColumns::of(&h);
            head = Some((h, col, col_kind, meta));
            continue;
        };
        let k = if kind == Kind::Auto { *col_kind } else { kind };
        match row.get(*col).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            Some(v) => p.push(n, k, v, meta.meta(&row)),
            None => p.bad(n, "empty indicator column", line),
        }
    }
}

/// abuse.ch CSV: comment lines start with `#`; the last comment line with a comma before the
/// first data line is the header (`# first_seen_utc,dst_ip,dst_port,c2_status,last_online,
/// malware`, `# ja3_md5,Firstseen,Lastseen,Listingreason`, `# Listingdate,SHA1,Listingreason`,
/// `# id,dateadded,url,url_status,…`, ThreatFox's `# "first_seen_utc","ioc_id","ioc_value",
/// "ioc_type",…`). Feodo's plain `ipblocklist.txt` is read by `format: plain`.
fn parse_abusech(text: &str, kind: Kind, p: &mut Parsed) {
    let mut last_comment: Option<String> = None;
    let mut head: Option<(usize, Kind, Option<usize>, MetaColumns)> = None;
    for (n, line) in lines(text) {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            if head.is_none() && c.contains(',') {
                last_comment = Some(c.trim().to_owned());
            }
            continue;
        }
        if line.len() > MAX_LINE {
            p.bad(n, "line too long", line);
            continue;
        }
        let Some(row) = csv_fields(line) else {
            p.bad(n, "unclosed quote", line);
            continue;
        };
        if head.is_none() {
            let h = last_comment.as_deref().and_then(csv_fields).map(|h| header(&h));
            let Some(h) = h else {
                p.bad(n, "no header comment (`# col1,col2,…`) before the data", line);
                return;
            };
            let Some((col, k)) = indicator_column(&h) else {
                p.bad(n, "the header names no indicator column", line);
                return;
            };
            let ioc_type = h.iter().position(|c| c == "ioc_type");
            head = Some((col, k, ioc_type, MetaColumns::of(&h)));
        }
        let Some((col, col_kind, ioc_type, meta)) = &head else { continue };
        let Some(v) = row.get(*col).map(|s| s.trim()).filter(|s| !s.is_empty()) else {
            p.bad(n, "empty indicator column", line);
            continue;
        };
        // ThreatFox: the row says what the value is.
        let (row_kind, v) = match ioc_type.and_then(|i| row.get(i)).map(|s| s.trim()) {
            Some("ip:port") => (Kind::Ip, v.rsplit_once(':').map_or(v, |(ip, _)| ip)),
            Some("domain") => (Kind::Domain, v),
            Some("url") => (Kind::Url, v),
            Some(other) if !other.is_empty() => {
                // md5_hash, sha256_hash, …: file hashes a network sensor cannot see.
                let _ = other;
                p.skipped += 1;
                continue;
            }
            _ => (*col_kind, v),
        };
        let k = if kind == Kind::Auto { row_kind } else { kind };
        p.push(n, k, v, meta.meta(&row));
    }
}

/// The kind a MISP attribute type maps to, and the part of a composite value (`ip-dst|port`,
/// `domain|ip`) that holds it; `None`: a type wirebeat cannot match.
fn misp_kind(t: &str) -> Option<(Kind, usize)> {
    Some(match t {
        "ip-dst" | "ip-src" | "ip" => (Kind::Ip, 0),
        "ip-dst|port" | "ip-src|port" => (Kind::Ip, 0),
        "domain" | "hostname" => (Kind::Domain, 0),
        "domain|ip" | "hostname|port" => (Kind::Domain, 0),
        "url" | "uri" | "link" => (Kind::Url, 0),
        "ja3-fingerprint-md5" => (Kind::Ja3, 0),
        "ja4-fingerprint" | "ja4" => (Kind::Ja4, 0),
        "x509-fingerprint-sha256" => (Kind::CertSha256, 0),
        "x509-fingerprint-sha1" => (Kind::CertSha1, 0),
        _ => return None,
    })
}

/// One MISP attribute: its type, value, IDS flag and metadata.
fn misp_attribute(
    n: usize,
    t: &str,
    value: &str,
    to_ids: Option<bool>,
    kind: Kind,
    meta: Meta,
    p: &mut Parsed,
) {
    // MISP's IDS flag says whether an attribute is meant for detection; without it, take it.
    if to_ids == Some(false) {
        p.skipped += 1;
        return;
    }
    let Some((k, part)) = misp_kind(t.trim()) else {
        p.skipped += 1;
        return;
    };
    if kind != Kind::Auto && kind != k {
        p.skipped += 1;
        return;
    }
    let v = value.split('|').nth(part).unwrap_or(value).trim();
    p.push(n, k, v, meta);
}

fn truthy(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Positions of `type`, `value`, `to_ids`, `date` and `comment` in a MISP CSV header.
type MispColumns = (usize, usize, Option<usize>, Option<usize>, Option<usize>);

/// MISP CSV export: `uuid,event_id,category,type,value,comment,to_ids,date,object_relation,…`
/// (the header names the columns; `type` and `value` are required).
fn parse_misp_csv(text: &str, kind: Kind, p: &mut Parsed) {
    let mut head: Option<MispColumns> = None;
    for (n, line) in lines(text) {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.len() > MAX_LINE {
            p.bad(n, "line too long", line);
            continue;
        }
        let Some(row) = csv_fields(line) else {
            p.bad(n, "unclosed quote", line);
            continue;
        };
        let Some((t, v, ids, date_col, comment)) = head else {
            let h = header(&row);
            let pos = |name: &str| h.iter().position(|c| c == name);
            let (Some(t), Some(v)) = (pos("type"), pos("value")) else {
                p.bad(n, "a MISP CSV header names `type` and `value` columns", line);
                return;
            };
            head = Some((t, v, pos("to_ids"), pos("date").or(pos("timestamp")), pos("comment")));
            continue;
        };
        let (Some(ty), Some(value)) = (row.get(t), row.get(v)) else {
            p.bad(n, "fewer columns than the header", line);
            continue;
        };
        let get = |i: Option<usize>| {
            i.and_then(|i| row.get(i)).map(|s| s.trim()).filter(|s| !s.is_empty())
        };
        let meta = Meta {
            first_seen: get(date_col).and_then(date).map(Into::into),
            description: get(comment).map(|s| truncate(s, 1024).into()),
            ..Meta::default()
        };
        misp_attribute(n, ty, value, get(ids).and_then(truthy), kind, meta, p);
    }
}

/// MISP JSON: every `Attribute` array anywhere in the document (events, their objects, an
/// attribute search), with the event's `info` as the description when an attribute has no
/// comment.
fn parse_misp_json(text: &str, kind: Kind, p: &mut Parsed) -> Result<(), String> {
    let doc: Value = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| format!("not a MISP JSON document: {e}"))?;
    let mut n = 0usize;
    walk_misp(&doc, None, kind, &mut n, p, 0);
    if n == 0 {
        return Err("no MISP attributes (`Attribute` arrays) in the document".into());
    }
    Ok(())
}

fn walk_misp(v: &Value, info: Option<&str>, kind: Kind, n: &mut usize, p: &mut Parsed, depth: u32) {
    // MISP nests events, objects and attributes a few levels deep; bound the walk anyway.
    if depth > 16 {
        return;
    }
    match v {
        Value::Object(m) => {
            let info = m.get("info").and_then(Value::as_str).or(info);
            for (k, child) in m {
                if k == "Attribute" {
                    if let Value::Array(attrs) = child {
                        for a in attrs {
                            *n += 1;
                            misp_json_attribute(a, info, kind, *n, p);
                        }
                    }
                } else {
                    walk_misp(child, info, kind, n, p, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                walk_misp(i, info, kind, n, p, depth + 1);
            }
        }
        _ => {}
    }
}

fn misp_json_attribute(a: &Value, info: Option<&str>, kind: Kind, n: usize, p: &mut Parsed) {
    let s = |k: &str| a.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let (Some(t), Some(value)) = (s("type"), s("value")) else {
        p.bad(n, "attribute without type or value", &a.to_string());
        return;
    };
    let to_ids = match a.get("to_ids") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(x)) => truthy(x),
        Some(Value::Number(x)) => x.as_u64().map(|x| x != 0),
        _ => None,
    };
    let timestamp = a.get("timestamp").and_then(|t| match t {
        Value::String(x) => Some(x.clone()),
        Value::Number(x) => Some(x.to_string()),
        _ => None,
    });
    let meta = Meta {
        first_seen: s("first_seen").or(timestamp.as_deref()).and_then(date).map(Into::into),
        last_seen: s("last_seen").and_then(date).map(Into::into),
        description: s("comment").or(info).map(|d| truncate(d, 1024).into()),
        ..Meta::default()
    };
    misp_attribute(n, t, value, to_ids, kind, meta, p);
}

/// A date as lists write it → RFC 3339 (UTC unless the text says otherwise): `2024-01-17`,
/// `2024-01-17 07:44:46`, `2024-01-17T07:44:46Z`/`+02:00`, `20240117`, Unix seconds. `None`:
/// not a date (the field is left out: Elasticsearch would refuse the document).
pub fn date(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    if b.iter().all(u8::is_ascii_digit) {
        if b.len() == 8 {
            let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
            return civil(y, m, d, 0, 0, 0).map(|t| crate::ecs::time::rfc3339(t * 1_000_000_000));
        }
        if (9..=11).contains(&b.len()) {
            let secs: i64 = s.parse().ok()?;
            return Some(crate::ecs::time::rfc3339(secs.checked_mul(1_000_000_000)?));
        }
        return None;
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    let mut offset_secs = 0i64;
    if b.len() > 10 {
        if !matches!(b[10], b' ' | b'T' | b't') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
            return None;
        }
        hh = num(11..13)?;
        mm = num(14..16)?;
        ss = num(17..19)?;
        let mut rest = &s[19..];
        if let Some(r) = rest.strip_prefix('.') {
            rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        let rest = rest.trim();
        match rest {
            "" | "Z" | "z" | "UTC" | "+00:00" => {}
            r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
                let h: i64 = r.get(1..3)?.parse().ok()?;
                let m: i64 = r.get(4..6)?.parse().ok()?;
                let sign = if r.starts_with('-') { -1 } else { 1 };
                offset_secs = sign * (h * 3600 + m * 60);
            }
            _ => return None,
        }
    }
    let t = civil(y, m, d, hh, mm, ss)? - offset_secs;
    Some(crate::ecs::time::rfc3339(t.checked_mul(1_000_000_000)?))
}

/// Seconds since the epoch of a civil UTC time (H. Hinnant's days_from_civil).
fn civil(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    if !(1970..=9999).contains(&y) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// JA4: `t13d1516h2_8daaf6152771_b0da82dd1658` (protocol, version, SNI, counts, ALPN; two
/// truncated hashes).
fn is_ja4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('_').collect();
    parts.len() == 3
        && parts[0].len() == 10
        && parts[0].bytes().all(|c| c.is_ascii_alphanumeric())
        && matches!(parts[0].as_bytes()[0], b't' | b'q' | b'd')
        && is_hex(parts[1], 12)
        && is_hex(parts[2], 12)
}

/// A host name: labels of letters, digits, `-` and `_`, at least one dot.
fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

fn parse_ip_or_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    // `192.0.2.1:443` and `[2001:db8::1]:443`, as C2 lists write them: the port is dropped.
    let s = match s.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            if (h.starts_with('[') && h.ends_with(']')) || (h.contains('.') && !h.contains(':')) {
                h
            } else {
                s
            }
        }
        _ => s,
    };
    let s = s.trim_start_matches('[').trim_end_matches(']');
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

/// The form URLs are matched in: scheme, user info and fragment dropped, host lower case,
/// the default port of the scheme dropped, an empty path made `/`.
/// `http://Evil.Example:80/a?b#c` → `evil.example/a?b`.
pub fn url_key(s: &str) -> Option<String> {
    let s = s.trim();
    let (scheme, rest) = match s.find("://") {
        Some(i) => (s[..i].to_ascii_lowercase(), &s[i + 3..]),
        None => (String::new(), s),
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    let (auth, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host_port = auth.rsplit_once('@').map_or(auth, |(_, h)| h).to_ascii_lowercase();
    if host_port.is_empty() || host_port.contains(char::is_whitespace) {
        return None;
    }
    let default_port = match scheme.as_str() {
        "https" => ":443",
        _ => ":80",
    };
    let host_port = host_port.strip_suffix(default_port).unwrap_or(&host_port).to_owned();
    let path =
        if path.is_empty() || path.starts_with('?') { format!("/{path}") } else { path.into() };
    Some(format!("{host_port}{path}"))
}

/// An indicator in its matching form, and the value shown for it.
fn normalize(kind: Kind, text: &str) -> Result<(Key, String), &'static str> {
    let t = text.trim().trim_matches('"').trim();
    if t.is_empty() {
        return Err("empty indicator");
    }
    let kind =
        if kind == Kind::Auto { guess(t).ok_or("not an indicator of a known kind")? } else { kind };
    match kind {
        Kind::Ip | Kind::Auto => {
            let n = parse_ip_or_net(t).ok_or("not an IP address or CIDR")?;
            let shown = if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            };
            Ok((Key::Net(n), shown))
        }
        Kind::Domain => {
            let d = t.trim_end_matches('.').trim_start_matches("*.").to_ascii_lowercase();
            if !is_domain(&d) {
                return Err("not a domain name");
            }
            Ok((Key::Str(Kind::Domain, d.clone().into()), d))
        }
        Kind::Url => {
            let k = url_key(t).ok_or("not a URL")?;
            Ok((Key::Str(Kind::Url, k.into()), t.to_owned()))
        }
        Kind::Ja3 => {
            let h = t.to_ascii_lowercase();
            if !is_hex(&h, 32) {
                return Err("not a JA3 fingerprint (32 hex digits)");
            }
            Ok((Key::Str(Kind::Ja3, h.clone().into()), h))
        }
        Kind::Ja4 => {
            let h = t.to_ascii_lowercase();
            if !is_ja4(&h) {
                return Err("not a JA4 fingerprint");
            }
            Ok((Key::Str(Kind::Ja4, h.clone().into()), h))
        }
        Kind::CertSha256 | Kind::CertSha1 => {
            let n = if kind == Kind::CertSha256 { 64 } else { 40 };
            let h: String =
                t.chars().filter(|c| *c != ':').collect::<String>().to_ascii_uppercase();
            if !is_hex(&h, n) {
                return Err(if n == 64 {
                    "not a SHA-256 certificate hash (64 hex digits)"
                } else {
                    "not a SHA-1 certificate hash (40 hex digits)"
                });
            }
            Ok((Key::Str(kind, h.clone().into()), h))
        }
    }
}

/// The kind of an indicator from its shape. A 32-digit hex value is taken as JA3 (the MD5 a
/// network sensor sees), 40 and 64 digits as certificate hashes.
fn guess(t: &str) -> Option<Kind> {
    if parse_ip_or_net(t).is_some() {
        return Some(Kind::Ip);
    }
    if t.contains("://") {
        return Some(Kind::Url);
    }
    // `evil.example/gate.php`: a URL without its scheme.
    // Not `300.1.2.3/99` (a broken CIDR): the path is not a number, and a host of digits
    // only must be an address.
    if let Some((host, path)) = t.split_once('/') {
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let numeric = host.bytes().all(|c| c.is_ascii_digit() || c == b'.');
        let host_ok = host.parse::<IpAddr>().is_ok() || (is_domain(host) && !numeric);
        if host_ok && !path.bytes().all(|c| c.is_ascii_digit()) {
            return Some(Kind::Url);
        }
    }
    let plain: String = t.chars().filter(|c| *c != ':').collect();
    if is_hex(&plain, 32) && !t.contains(':') {
        return Some(Kind::Ja3);
    }
    if is_hex(&plain, 40) {
        return Some(Kind::CertSha1);
    }
    if is_hex(&plain, 64) {
        return Some(Kind::CertSha256);
    }
    if is_ja4(&t.to_ascii_lowercase()) {
        return Some(Kind::Ja4);
    }
    let d = t.trim_end_matches('.').trim_start_matches("*.");
    if is_domain(d) {
        return Some(Kind::Domain);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Compiled lists.

/// One list, compiled: hash tables from indicator to its metadata.
#[derive(Debug)]
pub struct ListData {
    pub name: String,
    pub severity: Severity,
    ips: FxHashMap<IpAddr, u32>,
    /// Networks by prefix length, longest first (longest-prefix match).
    nets4: Vec<(u8, FxHashMap<u32, u32>)>,
    nets6: Vec<(u8, FxHashMap<u128, u32>)>,
    strings: [FxHashMap<Box<str>, u32>; TABLES],
    metas: Vec<Meta>,
    /// Entries by kind (for the load report).
    pub by_kind: std::collections::BTreeMap<&'static str, usize>,
    /// Entries refused by `max_entries`.
    pub refused: u64,
    /// Entries listed twice (the first kept).
    pub duplicates: u64,
}

impl ListData {
    /// A list with no entries (its file could not be read yet).
    pub fn empty(name: &str, severity: Severity) -> ListData {
        ListData {
            name: name.to_owned(),
            severity,
            ips: FxHashMap::default(),
            nets4: Vec::new(),
            nets6: Vec::new(),
            strings: Default::default(),
            metas: Vec::new(),
            by_kind: Default::default(),
            refused: 0,
            duplicates: 0,
        }
    }

    /// Compiles `parsed`, taking at most `budget` entries.
    pub fn compile(name: &str, severity: Severity, parsed: Parsed, budget: usize) -> ListData {
        let mut d = ListData::empty(name, severity);
        for (key, meta) in parsed.entries {
            if d.metas.len() >= budget {
                d.refused += 1;
                continue;
            }
            let id = u32::try_from(d.metas.len()).unwrap_or(u32::MAX);
            let fresh = match &key {
                Key::Net(n) if n.prefix_len() == n.max_prefix_len() => {
                    insert_new(&mut d.ips, n.addr(), id)
                }
                Key::Net(IpNet::V4(n)) => {
                    let table = table_for(&mut d.nets4, n.prefix_len());
                    insert_new(table, u32::from(n.network()), id)
                }
                Key::Net(IpNet::V6(n)) => {
                    let table = table_for(&mut d.nets6, n.prefix_len());
                    insert_new(table, u128::from(n.network()), id)
                }
                Key::Str(k, s) => match k.table() {
                    Some(t) => insert_new(&mut d.strings[t], s.clone(), id),
                    None => false,
                },
            };
            if fresh {
                *d.by_kind.entry(meta.kind.as_str()).or_default() += 1;
                d.metas.push(meta);
            } else {
                d.duplicates += 1;
            }
        }
        d.nets4.sort_by_key(|n| std::cmp::Reverse(n.0));
        d.nets6.sort_by_key(|n| std::cmp::Reverse(n.0));
        d
    }

    pub fn len(&self) -> usize {
        self.metas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    fn has_ip(&self) -> bool {
        !self.ips.is_empty() || !self.nets4.is_empty() || !self.nets6.is_empty()
    }

    /// The entry that lists `ip` (the address itself, else the longest network holding it).
    pub fn ip(&self, ip: IpAddr) -> Option<&Meta> {
        if let Some(i) = self.ips.get(&ip) {
            return self.metas.get(*i as usize);
        }
        let hit = match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.nets4.iter().find_map(|(len, t)| {
                    let mask = if *len == 0 { 0 } else { u32::MAX << (32 - u32::from(*len)) };
                    t.get(&(a & mask))
                })
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.nets6.iter().find_map(|(len, t)| {
                    let mask = if *len == 0 { 0 } else { u128::MAX << (128 - u32::from(*len)) };
                    t.get(&(a & mask))
                })
            }
        };
        hit.and_then(|i| self.metas.get(*i as usize))
    }

    /// The entry of a string indicator of `kind` (already in matching form).
    pub fn string(&self, kind: Kind, s: &str) -> Option<&Meta> {
        let t = kind.table()?;
        self.strings[t].get(s).and_then(|i| self.metas.get(*i as usize))
    }

    /// The entry listing `name` or one of its parent domains (`a.b.evil.example` matches
    /// `evil.example`), and the listed domain.
    pub fn domain<'s>(&self, name: &'s str) -> Option<(&Meta, &'s str)> {
        if self.strings[0].is_empty() {
            return None;
        }
        let mut rest = name;
        loop {
            if let Some(m) = self.string(Kind::Domain, rest) {
                return Some((m, rest));
            }
            rest = rest.split_once('.')?.1;
        }
    }
}

fn insert_new<K: std::hash::Hash + Eq>(m: &mut FxHashMap<K, u32>, k: K, id: u32) -> bool {
    match m.entry(k) {
        std::collections::hash_map::Entry::Occupied(_) => false,
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(id);
            true
        }
    }
}

fn table_for<K>(v: &mut Vec<(u8, FxHashMap<K, u32>)>, len: u8) -> &mut FxHashMap<K, u32> {
    let i = match v.iter().position(|(l, _)| *l == len) {
        Some(i) => i,
        None => {
            v.push((len, FxHashMap::default()));
            v.len() - 1
        }
    };
    &mut v[i].1
}

/// Every list as loaded now; swapped whole on reload.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub lists: Vec<Arc<ListData>>,
    has_ip: bool,
}

impl Snapshot {
    pub fn new(lists: Vec<Arc<ListData>>) -> Snapshot {
        let has_ip = lists.iter().any(|l| l.has_ip());
        Snapshot { lists, has_ip }
    }

    pub fn entries(&self) -> usize {
        self.lists.iter().map(|l| l.len()).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Matching.

/// One indicator that matched one field of an event.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub list: &'a ListData,
    pub meta: &'a Meta,
    /// The event's field (`destination.ip`, `dns.question.name`, …) and its value.
    pub field: &'static str,
    pub atomic: String,
}

impl Hit<'_> {
    /// One element of `threat.enrichments`.
    pub fn enrichment(&self, ts_ns: i64) -> Value {
        let m = self.meta;
        let mut ind = Map::new();
        ind.insert("type".into(), json!(m.kind.ecs_type(&m.value)));
        ind.insert("name".into(), json!(&*m.value));
        ind.insert("provider".into(), json!(self.list.name));
        match m.kind {
            Kind::Ip | Kind::Auto => {
                // `indicator.ip` is an `ip` field: a network goes in `name` only, the matched
                // address in `ip`.
                ind.insert("ip".into(), json!(self.atomic));
            }
            Kind::Domain => {
                ind.insert("url".into(), json!({"domain": &*m.value}));
            }
            Kind::Url => {
                ind.insert("url".into(), json!({"original": &*m.value, "full": &*m.value}));
            }
            Kind::CertSha256 => {
                ind.insert("file".into(), json!({"hash": {"sha256": &*m.value}}));
            }
            Kind::CertSha1 => {
                ind.insert("file".into(), json!({"hash": {"sha1": &*m.value}}));
            }
            Kind::Ja3 | Kind::Ja4 => {}
        }
        let opt = |ind: &mut Map<String, Value>, k: &str, v: &Option<Box<str>>| {
            if let Some(v) = v {
                ind.insert(k.into(), json!(&**v));
            }
        };
        opt(&mut ind, "first_seen", &m.first_seen);
        opt(&mut ind, "last_seen", &m.last_seen);
        opt(&mut ind, "description", &m.description);
        opt(&mut ind, "reference", &m.reference);
        json!({
            "indicator": ind,
            "matched": {
                "atomic": self.atomic,
                "field": self.field,
                "type": "indicator_match_rule",
                "occurred": crate::ecs::time::rfc3339(ts_ns),
            }
        })
    }

    /// "indicator 203.0.113.0/24 (ip) of threat intel list feodo (Dridex; first seen …)".
    fn describe(&self) -> String {
        let m = self.meta;
        let mut notes: Vec<String> = Vec::new();
        if let Some(d) = &m.description {
            notes.push(d.to_string());
        }
        if let Some(f) = &m.first_seen {
            notes.push(format!("first seen {}", f.get(..10).unwrap_or(f)));
        }
        let notes =
            if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
        format!(
            "indicator {} ({}) of threat intel list {:?}{notes}",
            m.value,
            m.kind.as_str(),
            self.list.name
        )
    }
}

/// `threat` of an event: `{"enrichments": [...]}`.
fn threat(hits: &[Hit<'_>], ts_ns: i64) -> Value {
    json!({"enrichments": hits.iter().map(|h| h.enrichment(ts_ns)).collect::<Vec<_>>()})
}

/// The hits of a source and destination address in every list.
fn ip_hits<'a>(snap: &'a Snapshot, src: IpAddr, dst: IpAddr, out: &mut Vec<Hit<'a>>) {
    if !snap.has_ip {
        return;
    }
    for l in &snap.lists {
        for (ip, field) in [(src, "source.ip"), (dst, "destination.ip")] {
            if let Some(meta) = l.ip(ip) {
                out.push(Hit { list: l, meta, field, atomic: ip.to_string() });
            }
        }
    }
}

/// The hits of a transaction's names, URLs, fingerprints and certificate hashes.
fn txn_hits<'a>(snap: &'a Snapshot, t: &Txn, out: &mut Vec<Hit<'a>>) {
    let mut strings: Vec<(Kind, &'static str, String)> = Vec::new();
    match &t.fields {
        ProtoFields::Dns(d) => {
            if let Some(q) = &d.dns.question {
                let name = q.name.trim_end_matches('.').to_ascii_lowercase();
                strings.push((Kind::Domain, "dns.question.name", name));
            }
        }
        ProtoFields::Http(h) => {
            if let Some(u) = &h.url {
                if let Some(full) = &u.full {
                    strings.push((Kind::Url, "url.full", full.clone()));
                }
                if let Some(d) = &u.domain {
                    strings.push((Kind::Domain, "url.domain", d.to_ascii_lowercase()));
                }
            }
        }
        ProtoFields::Tls(tls) => {
            let tls = &tls.tls;
            if let Some(c) = &tls.client {
                if let Some(sni) = &c.server_name {
                    let sni = sni.trim_end_matches('.').to_ascii_lowercase();
                    strings.push((Kind::Domain, "tls.client.server_name", sni));
                }
                if let Some(j) = &c.ja3 {
                    strings.push((Kind::Ja3, "tls.client.ja3", j.to_ascii_lowercase()));
                }
                if let Some(j) = &c.ja4 {
                    strings.push((Kind::Ja4, "tls.client.ja4", j.to_ascii_lowercase()));
                }
                if let Some(cert) = &c.cert {
                    strings.push((
                        Kind::CertSha256,
                        "tls.client.hash.sha256",
                        cert.hash.sha256.clone(),
                    ));
                    strings.push((Kind::CertSha1, "tls.client.hash.sha1", cert.hash.sha1.clone()));
                }
            }
            if let Some(s) = &tls.server {
                if let Some(cert) = &s.cert {
                    strings.push((
                        Kind::CertSha256,
                        "tls.server.hash.sha256",
                        cert.hash.sha256.clone(),
                    ));
                    strings.push((Kind::CertSha1, "tls.server.hash.sha1", cert.hash.sha1.clone()));
                }
            }
            for c in &tls.detailed.server_certificate_chain {
                strings.push((
                    Kind::CertSha256,
                    "tls.detailed.server_certificate_chain.sha256",
                    c.sha256.clone(),
                ));
            }
        }
        _ => {}
    }
    for l in &snap.lists {
        for (kind, field, value) in &strings {
            if value.is_empty() {
                continue;
            }
            let meta = match kind {
                Kind::Domain => l.domain(value).map(|(m, _)| m),
                Kind::Url => url_key(value).and_then(|k| {
                    l.string(Kind::Url, &k).or_else(|| {
                        // A listed URL without its query matches every query.
                        let base = k.split('?').next().unwrap_or(&k);
                        (base.len() < k.len()).then(|| l.string(Kind::Url, base)).flatten()
                    })
                }),
                k => l.string(*k, value),
            };
            if let Some(meta) = meta {
                out.push(Hit { list: l, meta, field, atomic: value.clone() });
            }
        }
    }
}

/// The most severe list among the hits.
fn severity(hits: &[Hit<'_>]) -> Severity {
    hits.iter().map(|h| h.list.severity).max().unwrap_or(Severity::High)
}

/// "… and 2 more matches" when an event matched several indicators.
fn more(hits: &[Hit<'_>]) -> String {
    match hits.len() {
        0 | 1 => String::new(),
        2 => "; and 1 more match".into(),
        n => format!("; and {} more matches", n - 1),
    }
}

fn facts(a: Alert, h: &Hit<'_>, n: usize) -> Alert {
    a.fact("list", h.list.name.as_str())
        .fact("indicator", &*h.meta.value)
        .fact("indicator_type", h.meta.kind.as_str())
        .fact("field", h.field)
        .fact("matches", n as u64)
}

/// A conversation, direction-less: lower and higher address, their ports, the IP protocol.
type Conversation = (IpAddr, IpAddr, u16, u16, u8);

/// A worker's view of the lists: the snapshot it uses, refreshed when a reload happened, and
/// the conversations it alerted on recently. Interior mutability (`RefCell`) because the
/// worker's packet and event callbacks both hold it; a worker is one thread.
pub struct Matcher {
    shared: Arc<Shared>,
    snap: RefCell<(u64, Arc<Snapshot>)>,
    alerted: RefCell<FxHashMap<Conversation, i64>>,
}

impl Matcher {
    /// The current snapshot (one atomic load when nothing changed). Borrowed, not cloned:
    /// an `Arc` clone per packet would bounce the shared count between the workers' caches.
    fn snapshot(&self) -> std::cell::Ref<'_, Arc<Snapshot>> {
        let gen = self.shared.generation.load(Ordering::Acquire);
        if self.snap.borrow().0 != gen {
            let cur = self.shared.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
            *self.snap.borrow_mut() = (gen, cur);
        }
        std::cell::Ref::map(self.snap.borrow(), |s| &s.1)
    }

    /// A decoded packet: a listed source or destination address raises an alert, once per
    /// conversation per [`REALERT_NS`].
    pub fn packet(&self, p: &Packet<'_>, observer: &mut Observer) {
        let snap = self.snapshot();
        if !snap.has_ip {
            return;
        }
        let mut hits = Vec::new();
        ip_hits(&snap, p.src, p.dst, &mut hits);
        if hits.is_empty() {
            return;
        }
        let (sport, dport) = p.ports.unwrap_or((0, 0));
        // Direction-less: the answer of a listed server is the same conversation.
        let key = if (p.src, sport) <= (p.dst, dport) {
            (p.src, p.dst, sport, dport, p.proto)
        } else {
            (p.dst, p.src, dport, sport, p.proto)
        };
        {
            let mut alerted = self.alerted.borrow_mut();
            if let Some(last) = alerted.get(&key) {
                if p.ts_ns.saturating_sub(*last) < REALERT_NS {
                    return;
                }
            }
            if alerted.len() >= MAX_ALERTED {
                alerted.retain(|_, t| p.ts_ns.saturating_sub(*t) < REALERT_NS);
                if alerted.len() >= MAX_ALERTED {
                    alerted.clear();
                }
            }
            alerted.insert(key, p.ts_ns);
        }
        let transport = crate::ecs::transport_name(p.proto);
        let ports = p.ports.is_some() && matches!(p.proto, 6 | 17 | 132);
        let ep =
            |ip: IpAddr, port: u16| if ports { Endpoint::port(ip, port) } else { Endpoint::ip(ip) };
        let show = |ip: IpAddr, port: u16| match (ports, ip) {
            (true, IpAddr::V6(_)) => format!("[{ip}]:{port}"),
            (true, _) => format!("{ip}:{port}"),
            (false, _) => ip.to_string(),
        };
        let h = &hits[0];
        let msg = format!(
            "{} {} of a {} packet {} → {} matched {}{}",
            h.field,
            h.atomic,
            transport.unwrap_or("IP"),
            show(p.src, sport),
            show(p.dst, dport),
            h.describe(),
            more(&hits)
        );
        let mut a = Alert::new(&RULE, severity(&hits), p.ts_ns, p.ts_ns)
            .source(ep(p.src, sport))
            .destination(ep(p.dst, dport))
            .message(msg);
        if let Some(t) = transport {
            a = a.transport(t);
        }
        if ports {
            a.community_id =
                crate::flow::community_id::community_id(0, p.src, p.dst, p.proto, sport, dport);
        }
        a.ecs.insert("threat".into(), threat(&hits, p.ts_ns));
        observer.alert(facts(a, h, hits.len()));
    }

    /// `threat` for a flow report whose addresses are listed (the packet raised the alert).
    pub fn flow(&self, r: &Report<'_>) -> Option<Value> {
        let snap = self.snapshot();
        let mut hits = Vec::new();
        ip_hits(&snap, r.flow.src(), r.flow.dst(), &mut hits);
        (!hits.is_empty()).then(|| threat(&hits, r.ts_ns))
    }

    /// `threat` for a transaction; a match of its names, URLs, fingerprints or certificates
    /// raises an alert.
    pub fn transaction(&self, f: &Flow, t: &Txn, observer: &mut Observer) -> Option<Value> {
        let snap = self.snapshot();
        if snap.lists.is_empty() {
            return None;
        }
        let mut hits = Vec::new();
        txn_hits(&snap, t, &mut hits);
        let own = hits.len();
        ip_hits(&snap, f.src(), f.dst(), &mut hits);
        if hits.is_empty() {
            return None;
        }
        let end_ns = t.end_ns.unwrap_or(t.start_ns);
        if own > 0 {
            let h = &hits[0];
            let rule = match &t.fields {
                ProtoFields::Dns(_) => &RULE_DNS,
                ProtoFields::Http(_) => &RULE_WEB,
                _ => &RULE,
            };
            let ports = f.key.has_ports && matches!(f.key.proto, 6 | 17 | 132);
            let ep = |ip: IpAddr, port: u16| {
                if ports {
                    Endpoint::port(ip, port)
                } else {
                    Endpoint::ip(ip)
                }
            };
            let msg = format!(
                "{} {} of a {} transaction {} → {}{} matched {}{}",
                h.field,
                h.atomic,
                t.protocol,
                f.src(),
                f.dst(),
                if ports { format!(":{}", f.dport) } else { String::new() },
                h.describe(),
                more(&hits)
            );
            let mut a = Alert::new(rule, severity(&hits[..own]), t.start_ns, end_ns)
                .source(ep(f.src(), f.sport))
                .destination(ep(f.dst(), f.dport))
                .message(msg);
            if let Some(tr) = crate::ecs::transport_name(f.key.proto) {
                a = a.transport(tr);
            }
            a.community_id = crate::ecs::community_id_of(0, f);
            a.ecs.insert("threat".into(), threat(&hits, t.start_ns));
            observer.alert(facts(a, h, hits.len()));
        }
        Some(threat(&hits, t.start_ns))
    }
}

// ---------------------------------------------------------------------------------------------
// Loading and reloading.

/// What identifies a version of a file: a change of any part means it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sig {
    len: u64,
    mtime_ns: i128,
    ino: u64,
}

fn sig(path: &str) -> std::io::Result<Sig> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok(Sig {
        len: m.len(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        ino: m.ino(),
    })
}

struct ListState {
    cfg: ListConfig,
    name: String,
    /// The version last looked at (loaded, or failed to load: not retried until it changes).
    seen: Option<Sig>,
    data: Arc<ListData>,
}

/// What the workers share: the snapshot and its generation, and the reload state.
struct Shared {
    current: Mutex<Arc<Snapshot>>,
    generation: AtomicU64,
    lists: Mutex<Vec<ListState>>,
    max_entries: usize,
}

/// What reading one list gave.
struct Loaded {
    data: ListData,
    parsed_bad: u64,
    first_bad: Option<String>,
    skipped: u64,
}

/// Reads and compiles one list (`Err`: the whole file could not be used).
fn load_list(l: &ListConfig, name: &str, budget: usize) -> Result<Loaded, String> {
    let bytes = std::fs::read(&l.path).map_err(|e| format!("cannot read {}: {e}", l.path))?;
    let text = String::from_utf8_lossy(&bytes);
    let parsed = parse(&text, l.format, l.kind, l.column.as_deref())?;
    let (bad, first_bad, skipped) = (parsed.bad, parsed.first_bad.clone(), parsed.skipped);
    let data = ListData::compile(name, l.severity.into(), parsed, budget);
    Ok(Loaded { data, parsed_bad: bad, first_bad, skipped })
}

/// One line about a loaded list: entries by kind, and what was skipped, bad or refused.
fn report(l: &ListConfig, loaded: &Loaded) -> String {
    let d = &loaded.data;
    let kinds: Vec<String> = d.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let mut s = format!(
        "{} ({}, {}): {} entries{}",
        d.name,
        l.path,
        l.format.as_str(),
        d.len(),
        if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) }
    );
    if loaded.skipped > 0 {
        s.push_str(&format!(", {} records of other types skipped", loaded.skipped));
    }
    if d.duplicates > 0 {
        s.push_str(&format!(", {} duplicates", d.duplicates));
    }
    if d.refused > 0 {
        s.push_str(&format!(", {} refused by max_entries", d.refused));
    }
    s
}

/// Logs the bad lines of a list: one line with the count and the first example.
fn warn_bad(l: &ListConfig, name: &str, loaded: &Loaded) {
    if loaded.parsed_bad > 0 {
        tracing::warn!(
            list = name,
            path = l.path.as_str(),
            bad_lines = loaded.parsed_bad,
            "threat intel list {name}: {} bad lines skipped; first: {}",
            loaded.parsed_bad,
            loaded.first_bad.as_deref().unwrap_or("?")
        );
    }
    if loaded.data.refused > 0 {
        tracing::warn!(
            list = name,
            refused = loaded.data.refused,
            "threat intel list {name}: {} entries refused (wirebeat.detect.intel.max_entries)",
            loaded.data.refused
        );
    }
}

impl Shared {
    /// Reloads the lists whose files changed (all of them when `force`); `None` when nothing
    /// changed and nothing failed.
    fn reload(&self, force: bool) -> Option<crate::reload::Outcome> {
        let mut lists = self.lists.lock().unwrap_or_else(|p| p.into_inner());
        let mut done = Vec::new();
        let mut failed = Vec::new();
        let mut changed = false;
        for i in 0..lists.len() {
            let st = &lists[i];
            let now = sig(&st.cfg.path);
            match now {
                Err(e) => {
                    if force || st.seen.is_some() {
                        failed.push(format!(
                            "{}: cannot read {}: {e}; keeping its {} entries",
                            st.name,
                            st.cfg.path,
                            st.data.len()
                        ));
                    }
                    lists[i].seen = None;
                    continue;
                }
                Ok(s) if !force && st.seen == Some(s) => continue,
                Ok(s) => {
                    let others: usize = lists
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, l)| l.data.len())
                        .sum();
                    let budget = self.max_entries.saturating_sub(others);
                    let st = &lists[i];
                    match load_list(&st.cfg, &st.name, budget) {
                        Err(e) => {
                            failed.push(format!(
                                "{}: {e}; keeping its {} entries",
                                st.name,
                                st.data.len()
                            ));
                            lists[i].seen = Some(s);
                        }
                        // Written to while we read it: try again at the next check.
                        Ok(_) if sig(&st.cfg.path).ok() != Some(s) => {}
                        Ok(loaded) => {
                            warn_bad(&st.cfg, &st.name, &loaded);
                            done.push(format!(
                                "{} (was {})",
                                report(&st.cfg, &loaded),
                                st.data.len()
                            ));
                            lists[i].data = Arc::new(loaded.data);
                            lists[i].seen = Some(s);
                            changed = true;
                        }
                    }
                }
            }
        }
        if changed {
            let snap = Snapshot::new(lists.iter().map(|l| l.data.clone()).collect());
            let total = snap.entries();
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(snap);
            self.generation.fetch_add(1, Ordering::AcqRel);
            done.push(format!("{} entries in {} lists", total, lists.len()));
        }
        match (done.is_empty(), failed.is_empty()) {
            (true, true) if force => Some(Ok("threat intel lists unchanged".into())),
            (true, true) => None,
            (_, true) => Some(Ok(format!("reloaded {}", done.join("; ")))),
            (true, false) => Some(Err(failed.join("; "))),
            (false, false) => {
                Some(Err(format!("{}; reloaded {}", failed.join("; "), done.join("; "))))
            }
        }
    }
}

/// The loaded lists of a run, shared by the workers' [`Matcher`]s.
#[derive(Clone)]
pub struct Intel {
    shared: Arc<Shared>,
}

impl Intel {
    /// Loads the lists `cfg` names (a list that cannot be read starts empty and is loaded when
    /// its file appears), and, with `watch` (live capture), starts the watcher and registers
    /// the SIGHUP handler. `None` when detection or intel is off or no list is configured.
    pub fn start(cfg: &super::config::Detect, watch: bool) -> Option<Intel> {
        if !cfg.enabled || !cfg.intel.active() {
            return None;
        }
        let c = &cfg.intel;
        let mut lists = Vec::new();
        let mut total = 0usize;
        for l in &c.lists {
            let name = l.display_name();
            let seen = sig(&l.path).ok();
            let data = match load_list(l, &name, c.max_entries.saturating_sub(total)) {
                Ok(loaded) => {
                    warn_bad(l, &name, &loaded);
                    tracing::info!("threat intel list {}", report(l, &loaded));
                    loaded.data
                }
                Err(e) => {
                    tracing::warn!(
                        list = name.as_str(),
                        "threat intel list {name}: {e}; starting without it (loaded when the \
                         file appears)"
                    );
                    ListData::empty(&name, l.severity.into())
                }
            };
            total += data.len();
            lists.push(ListState { cfg: l.clone(), name, seen, data: Arc::new(data) });
        }
        let snap = Snapshot::new(lists.iter().map(|l| l.data.clone()).collect());
        let shared = Arc::new(Shared {
            current: Mutex::new(Arc::new(snap)),
            generation: AtomicU64::new(0),
            lists: Mutex::new(lists),
            max_entries: c.max_entries,
        });
        if watch {
            let weak = Arc::downgrade(&shared);
            crate::reload::register("threat intel lists", move || on_sighup(&weak));
            if !c.reload_interval.0.is_zero() {
                spawn_watcher(Arc::downgrade(&shared), c.reload_interval.0);
            }
        }
        Some(Intel { shared })
    }

    /// A worker's matcher.
    pub fn matcher(&self) -> Matcher {
        let gen = self.shared.generation.load(Ordering::Acquire);
        let cur = self.shared.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Matcher {
            shared: self.shared.clone(),
            snap: RefCell::new((gen, cur)),
            alerted: RefCell::new(FxHashMap::default()),
        }
    }

    /// Checks the files now (what the watcher does every interval); `force` reloads all.
    pub fn reload(&self, force: bool) -> Option<crate::reload::Outcome> {
        self.shared.reload(force)
    }

    /// Entries loaded now, over all lists.
    pub fn entries(&self) -> usize {
        self.shared.current.lock().unwrap_or_else(|p| p.into_inner()).entries()
    }
}

/// The SIGHUP handler: reloads every list of the run; `None` once the run is over (the handler
/// is then dropped from the registry).
fn on_sighup(weak: &Weak<Shared>) -> Option<crate::reload::Outcome> {
    let shared = weak.upgrade()?;
    Some(shared.reload(true).unwrap_or_else(|| Ok("threat intel lists unchanged".into())))
}

/// Checks the files every `interval` until the run's lists are gone (the workers and the
/// pipeline dropped their handles); logs what each reload did.
fn spawn_watcher(weak: Weak<Shared>, interval: std::time::Duration) {
    let spawned = std::thread::Builder::new().name("wirebeat-intel".into()).spawn(move || loop {
        std::thread::sleep(interval);
        let Some(shared) = weak.upgrade() else { return };
        match shared.reload(false) {
            Some(Ok(m)) => tracing::info!("threat intel lists: {m}"),
            Some(Err(m)) => tracing::warn!("threat intel lists: reload failed: {m}"),
            None => {}
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("threat intel lists: cannot start the watcher thread ({e}); SIGHUP reloads");
    }
}

#[cfg(test)]
#[path = "intel_tests.rs"]
mod tests;
