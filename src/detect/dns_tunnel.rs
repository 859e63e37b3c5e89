//! `wirebeat.detect.dns_tunnel`: data carried in DNS names (T1071.004 Application Layer
//! Protocol: DNS) and lookups of generated domains (T1568.002 Dynamic Resolution: Domain
//! Generation Algorithms), from DNS transactions (`Detail::Dns`).
//!
//! - **Tunnel** (`wirebeat-dns_tunnel-tunnel`): under one registered domain, in one window,
//!   from one client: many unique subdomains (`min_unique_subdomains`) most of whose queries
//!   look encoded (`encoded_share`: a label of `long_label` characters or more, a subdomain of
//!   `long_subdomain` or more, or a label of 16+ characters that reads like base32/hex rather
//!   than words), or many TXT/NULL queries for unique names (`min_txt_queries`). The same over
//!   all clients (`min_unique_subdomains_all_clients`, at least two clients) catches a tunnel
//!   spread over hosts or seen behind a resolver.
//! - **DGA** (`wirebeat-dns_tunnel-dga`): one client answered NXDOMAIN for many different
//!   random-looking registered domains in one window (`min_nxdomain_domains`).
//!
//! What stays quiet, and why: reverse lookups (`*.arpa`), mDNS/DNS-SD and LLMNR (`*.local`,
//! ports 5353/5355) are not looked at; names without a registered domain (single labels such as
//! Chrome's random NXDOMAIN probes) neither. CDN and cloud names (`d1a2b3c4.cloudfront.net`,
//! `e1234.a.akamaiedge.net`, `*.elb.amazonaws.com`) have short or word-like labels and a few
//! unique names per client. Services that encode hashes or addresses in names on purpose —
//! anti-spam DNSBLs (`4.3.2.1.zen.spamhaus.org`), antivirus and reputation lookups (ESET,
//! Sophos, McAfee, Team Cymru) — are in `allow_domains` (a registered domain and everything
//! under it). DNSSEC's DS/DNSKEY queries are not TXT/NULL and their names are the zones'.
//!
//! State: one entry per (client, registered domain), made only by a query that looks encoded
//! or is TXT/NULL (ordinary lookups never make one); one per registered domain over all
//! clients; one per client with NXDOMAIN answers. Each bounded by `max_tracked` (refusals
//! counted). Unique names are counted with a k-minimum-values sketch (exact up to 128, about
//! 9% error beyond, 1 KiB at most). Windows are tumbling, starting at a key's first query;
//! a key alerts at most once per window; idle keys are dropped on `tick`.

use super::alert::{self, Alert, Endpoint, Mitre, Rule, Severity, TACTIC_COMMAND_AND_CONTROL};
use super::config::{detector_section, Scope};
use super::obs::{Detail, TxnObs};
use super::state::Bounded;
use super::Detector;
use crate::units::Invalid;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

pub static RULE_TUNNEL: Rule = Rule {
    id: "wirebeat-dns_tunnel-tunnel",
    name: "DNS tunnelling",
    action: "dns_tunnel",
    description: "Many unique, long or random-looking subdomains (or many TXT/NULL queries for \
                  unique names) under one registered domain in a short time: data encoded in \
                  DNS names, the way dnscat2, iodine and DNS exfiltration tools carry it.",
    category: "Command and Control",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1071/004/",
    tactic: TACTIC_COMMAND_AND_CONTROL,
    technique: Mitre { id: "T1071", name: "Application Layer Protocol" },
    subtechnique: Some(Mitre { id: "T1071.004", name: "DNS" }),
};

pub static RULE_DGA: Rule = Rule {
    id: "wirebeat-dns_tunnel-dga",
    name: "DGA-like NXDOMAIN burst",
    action: "dns_tunnel",
    description: "One client looked up many different random-looking domains that do not \
                  exist (NXDOMAIN) in a short time: malware trying generated rendezvous domains \
                  until one resolves.",
    category: "Command and Control",
    version: "1",
    reference: "https://attack.mitre.org/techniques/T1568/002/",
    tactic: TACTIC_COMMAND_AND_CONTROL,
    technique: Mitre { id: "T1568", name: "Dynamic Resolution" },
    subtechnique: Some(Mitre { id: "T1568.002", name: "Domain Generation Algorithms" }),
};

/// Registered domains whose services put hashes, addresses or encoded data in names by design.
pub const DEFAULT_ALLOW_DOMAINS: &[&str] = &[
    // Anti-spam DNSBL/URIBL lookups: reversed IP addresses and hashed names.
    "spamhaus.org",
    "spamhaus.net",
    "spamcop.net",
    "sorbs.net",
    "barracudacentral.org",
    "surbl.org",
    "uribl.com",
    "dnswl.org",
    "mailspike.net",
    // Antivirus and reputation lookups: file and URL hashes as labels.
    "e5.sk",
    "eset.com",
    "sophosxl.net",
    "mcafee.com",
    "cymru.com",
];

/// `wirebeat.detect.dns_tunnel.thresholds`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Unique subdomains of one registered domain from one client in a window.
    pub min_unique_subdomains: u32,
    /// The same from all clients together (at least two).
    pub min_unique_subdomains_all_clients: u32,
    /// Share of those queries that must look encoded.
    pub encoded_share: f64,
    /// A label this long (characters) looks encoded.
    pub long_label: u32,
    /// A subdomain (the name left of the registered domain) this long looks encoded.
    pub long_subdomain: u32,
    /// TXT/NULL queries under one registered domain from one client in a window (for at
    /// least half as many unique names).
    pub min_txt_queries: u32,
    /// Random-looking registered domains answered NXDOMAIN to one client in a window.
    pub min_nxdomain_domains: u32,
    /// Registered domains never looked at (with everything under them).
    pub allow_domains: Vec<String>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_unique_subdomains: 40,
            min_unique_subdomains_all_clients: 160,
            encoded_share: 0.5,
            long_label: 40,
            long_subdomain: 80,
            min_txt_queries: 40,
            min_nxdomain_domains: 20,
            allow_domains: DEFAULT_ALLOW_DOMAINS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Thresholds {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::in_range("min_unique_subdomains", self.min_unique_subdomains, 2..=1_000_000)?;
        Invalid::in_range(
            "min_unique_subdomains_all_clients",
            self.min_unique_subdomains_all_clients,
            2..=1_000_000,
        )?;
        Invalid::in_range("long_label", self.long_label, 8..=63)?;
        Invalid::in_range("long_subdomain", self.long_subdomain, 16..=253)?;
        Invalid::in_range("min_txt_queries", self.min_txt_queries, 2..=1_000_000)?;
        Invalid::in_range("min_nxdomain_domains", self.min_nxdomain_domains, 2..=1_000_000)?;
        if !(0.0..=1.0).contains(&self.encoded_share) {
            return Err(Invalid::new(
                "encoded_share",
                format!("must be between 0 and 1, got {}", self.encoded_share),
            ));
        }
        for (i, d) in self.allow_domains.iter().enumerate() {
            let d = d.trim().trim_end_matches('.');
            if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(Invalid::new(
                    format!("allow_domains[{i}]"),
                    format!("{d:?} is not a domain name"),
                ));
            }
        }
        Ok(())
    }
}

detector_section!(60, 100_000);

/// The detector `cfg` asks for, if enabled.
pub fn build(cfg: &Config) -> Option<Box<dyn Detector>> {
    cfg.enabled.then(|| Box::new(DnsTunnel::new(cfg)) as Box<dyn Detector>)
}

/// Letter pairs that make up 92% of the letter pairs in English prose (counted over the
/// licence texts and READMEs of a Debian system). Word-like names (brands, CDNs) are mostly
/// made of them; random letters hit about a third.
const COMMON_BIGRAMS: &str = "ab ac ad ag ai ak al am an ap ar as at au av ay ba be bi bl bo br \
    bu by ca cc ce ch ci ck cl co cr ct cu da de di do du ea eb ec ed ee ef el em en ep er es et \
    ev ex ey fa fe ff fi fo fr ft fu gc ge gh gi gn gr gs ha he hi ho ht ia ib ic id ie if ig il \
    im in io ip ir is it iv ka ke la ld le li ll lo ls lt lu ly ma me mi ml mm mo mp ms na nc nd \
    ne nf ng ni no ns nt nu ny oc od of og oi ol om on oo op or os ot ou ov ow pa pe pi pl po pp \
    pr ps pt pu py qu ra rc rd re rg ri rk rm rn ro rr rs rt ru ry sa sc se sh si so sp ss st su \
    sy ta tc te th ti tl to tp tr ts tt tu tw ty ua ub uc ud ug ui ul um un up ur us ut va ve vi \
    wa we wh wi wo yo ys";

const fn bigram_table() -> [bool; 26 * 26] {
    let b = COMMON_BIGRAMS.as_bytes();
    let mut t = [false; 26 * 26];
    let mut i = 0;
    while i + 1 < b.len() {
        let (x, y) = (b[i], b[i + 1]);
        if x.is_ascii_lowercase() && y.is_ascii_lowercase() {
            t[(x - b'a') as usize * 26 + (y - b'a') as usize] = true;
            i += 2;
        } else {
            i += 1;
        }
    }
    t
}

static BIGRAMS: [bool; 26 * 26] = bigram_table();

/// Share of a label's character pairs that are common English letter pairs; pairs with a
/// hyphen or underscore (word breaks) and digit pairs (numbers in names) are left out. `None`
/// when fewer than 4 pairs are left.
pub fn wordlike_share(label: &str) -> Option<f64> {
    let b = label.as_bytes();
    let (mut pairs, mut common) = (0u32, 0u32);
    for w in b.windows(2) {
        let (x, y) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        if matches!(x, b'-' | b'_') || matches!(y, b'-' | b'_') {
            continue;
        }
        if x.is_ascii_digit() && y.is_ascii_digit() {
            continue;
        }
        pairs += 1;
        if x.is_ascii_lowercase()
            && y.is_ascii_lowercase()
            && BIGRAMS[usize::from(x - b'a') * 26 + usize::from(y - b'a')]
        {
            common += 1;
        }
    }
    (pairs >= 4).then(|| f64::from(common) / f64::from(pairs))
}

/// A label that reads like random characters (base32, hex, a generated domain) rather than
/// words: at least `min_len` long and less than half of its pairs word-like.
pub fn looks_random(label: &str, min_len: usize) -> bool {
    label.len() >= min_len && wordlike_share(label).is_some_and(|s| s < 0.5)
}

/// A name's parts the detector looks at: the longest label and whether any label of 16+
/// characters looks random.
fn subdomain_shape(sub: &str) -> (usize, bool) {
    let mut longest = 0;
    let mut random = false;
    for l in sub.split('.') {
        longest = longest.max(l.len());
        random |= looks_random(l, 16);
    }
    (longest, random)
}

fn hash64(s: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    s.hash(&mut h);
    // SplitMix64's finalizer: FxHash's low bits are not uniform enough for the sketch.
    let mut z = h.finish().wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Distinct-count sketch: the `K` smallest hashes seen. Exact below `K`; beyond, the
/// k-minimum-values estimate `(K - 1) / (largest kept / 2^64)`.
#[derive(Debug, Default, Clone)]
pub struct Distinct {
    kept: Vec<u64>,
}

const K: usize = 128;

impl Distinct {
    pub fn insert(&mut self, h: u64) {
        match self.kept.binary_search(&h) {
            Ok(_) => {}
            Err(at) if self.kept.len() < K => self.kept.insert(at, h),
            Err(at) if at < K => {
                self.kept.insert(at, h);
                self.kept.pop();
            }
            Err(_) => {}
        }
    }

    /// Whether [`Distinct::count`] is an estimate.
    pub fn estimated(&self) -> bool {
        self.kept.len() >= K
    }

    pub fn count(&self) -> u64 {
        if self.kept.len() < K {
            return self.kept.len() as u64;
        }
        let max = self.kept[K - 1].max(1) as f64 / 2f64.powi(64);
        ((K - 1) as f64 / max).round() as u64
    }
}

/// One registered domain's queries in a window (from one client, or from all).
#[derive(Default)]
struct Tunnel {
    start_ns: i64,
    last_ns: i64,
    queries: u64,
    encoded: u64,
    txt: u64,
    longest_label: usize,
    unique: Distinct,
    /// Up to `MAX_CLIENTS` clients (all-clients entries only).
    clients: Vec<IpAddr>,
    resolver: Option<(IpAddr, u16)>,
    /// The name with the longest label.
    sample: String,
    alerted: bool,
    /// A per-client alert covered this domain in this window (all-clients entries only).
    client_alerted: bool,
    dirty: bool,
}

/// One client's NXDOMAIN answers in a window.
#[derive(Default)]
struct Nx {
    start_ns: i64,
    last_ns: i64,
    answers: u64,
    domains: Distinct,
    random: Distinct,
    samples: Vec<String>,
    resolver: Option<(IpAddr, u16)>,
    alerted: bool,
    dirty: bool,
}

const MAX_CLIENTS: usize = 16;
const MAX_SAMPLES: usize = 3;
const MAX_SAMPLE_CHARS: usize = 253;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(IpAddr, Box<str>),
    All(Box<str>),
}

pub struct DnsTunnel {
    scope: Scope,
    t: Thresholds,
    /// `allow_domains`, lower case, without trailing dots.
    allow: Vec<String>,
    tunnels: Bounded<Key, Tunnel>,
    nx: Bounded<IpAddr, Nx>,
    dirty: Vec<Key>,
    dirty_nx: Vec<IpAddr>,
    last_sweep_ns: i64,
}

/// `name` is `domain` or under it.
fn under(name: &str, domain: &str) -> bool {
    name.len() >= domain.len()
        && name.ends_with(domain)
        && (name.len() == domain.len() || name.as_bytes()[name.len() - domain.len() - 1] == b'.')
}

impl DnsTunnel {
    pub fn new(cfg: &Config) -> Self {
        let t = cfg.thresholds.clone();
        DnsTunnel {
            scope: cfg.scope(),
            allow: t
                .allow_domains
                .iter()
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            t,
            tunnels: Bounded::new(cfg.max_tracked),
            nx: Bounded::new(cfg.max_tracked),
            dirty: Vec::new(),
            dirty_nx: Vec::new(),
            last_sweep_ns: i64::MIN,
        }
    }

    /// Counts one query into a tunnel entry (rolling its window first).
    #[allow(clippy::too_many_arguments)]
    fn count(&mut self, key: Key, create: bool, q: &Query<'_>, alerts: &mut Vec<Alert>) {
        let window = self.scope.window_ns;
        let expired = self.tunnels.get(&key).is_some_and(|e| q.ts_ns - e.start_ns > window);
        if expired {
            // The closing window is judged before it is forgotten.
            self.judge(&key, alerts);
            self.tunnels.remove(&key);
        }
        let e = if create {
            self.tunnels.get_or_insert_with(key.clone(), || Tunnel {
                start_ns: q.ts_ns,
                ..Tunnel::default()
            })
        } else {
            self.tunnels.get_mut(&key)
        };
        let Some(e) = e else { return };
        e.last_ns = e.last_ns.max(q.ts_ns);
        e.start_ns = e.start_ns.min(q.ts_ns);
        e.queries += 1;
        e.encoded += u64::from(q.encoded);
        e.txt += u64::from(q.txt);
        e.unique.insert(q.sub_hash);
        if q.longest > e.longest_label || e.sample.is_empty() {
            e.longest_label = e.longest_label.max(q.longest);
            e.sample = q.name.chars().take(MAX_SAMPLE_CHARS).collect();
        }
        e.resolver = Some(q.resolver);
        if matches!(key, Key::All(_))
            && e.clients.len() < MAX_CLIENTS
            && !e.clients.contains(&q.client)
        {
            e.clients.push(q.client);
        }
        if !e.dirty {
            e.dirty = true;
            self.dirty.push(key);
        }
    }

    fn judge(&mut self, key: &Key, alerts: &mut Vec<Alert>) {
        let t = &self.t;
        let Some(e) = self.tunnels.get_mut(key) else { return };
        e.dirty = false;
        if e.alerted || e.client_alerted {
            return;
        }
        let unique = e.unique.count();
        let encoded_ok = e.encoded as f64 >= t.encoded_share * e.queries as f64 && e.encoded > 0;
        let (fired, source, domain) = match key {
            Key::Client(c, d) => {
                let by_names = unique >= u64::from(t.min_unique_subdomains) && encoded_ok;
                let by_txt = e.txt >= u64::from(t.min_txt_queries)
                    && unique * 2 >= u64::from(t.min_txt_queries);
                (by_names || by_txt, Some(*c), d.clone())
            }
            Key::All(d) => {
                let fired = unique >= u64::from(t.min_unique_subdomains_all_clients)
                    && encoded_ok
                    && e.clients.len() >= 2;
                (fired, None, d.clone())
            }
        };
        if !fired {
            return;
        }
        e.alerted = true;
        let span = alert::span(e.last_ns - e.start_ns);
        let who = match source {
            Some(c) => c.to_string(),
            None if e.clients.len() >= MAX_CLIENTS => format!("{MAX_CLIENTS} or more clients"),
            None => format!("{} clients", e.clients.len()),
        };
        let mut why = vec![format!(
            "{} with long or random-looking labels, longest label {} characters",
            e.encoded, e.longest_label
        )];
        if e.txt > 0 {
            why.push(format!("{} TXT/NULL", e.txt));
        }
        let via = e.resolver.map(|(r, p)| format!(" via {r}:{p}")).unwrap_or_default();
        let about = if e.unique.estimated() { "about " } else { "" };
        let message = format!(
            "{who} sent {} for {about}{} under {domain} in {span} ({}){via} (DNS tunnelling)",
            alert::plural(e.queries, "DNS query", "DNS queries"),
            alert::plural(unique, "unique name", "unique names"),
            why.join("; "),
        );
        let severity = if source.is_some() { Severity::High } else { Severity::Medium };
        let mut a = Alert::new(&RULE_TUNNEL, severity, e.start_ns, e.last_ns)
            .transport("udp")
            .fact("registered_domain", domain.to_string())
            .fact("queries", e.queries)
            .fact("unique_subdomains", unique)
            .fact("encoded_queries", e.encoded)
            .fact("txt_null_queries", e.txt)
            .fact("longest_label", e.longest_label as u64)
            .message(message);
        if let Some(c) = source {
            a = a.source(Endpoint::ip(c));
        } else {
            a.related = e.clients.clone();
            a = a.fact("clients", e.clients.len() as u64);
        }
        if let Some((r, p)) = e.resolver {
            if source.is_some() {
                a = a.destination(Endpoint::port(r, p));
            }
        }
        a.ecs.insert(
            "dns".into(),
            serde_json::json!({"question": {"name": e.sample, "registered_domain": &*domain}}),
        );
        alerts.push(a);
        if source.is_some() {
            if let Some(all) = self.tunnels.get_mut(&Key::All(domain)) {
                all.client_alerted = true;
            }
        }
    }

    fn judge_nx(&mut self, client: IpAddr, alerts: &mut Vec<Alert>) {
        let min = u64::from(self.t.min_nxdomain_domains);
        let Some(e) = self.nx.get_mut(&client) else { return };
        e.dirty = false;
        let random = e.random.count();
        if e.alerted || random < min {
            return;
        }
        e.alerted = true;
        let via = e.resolver.map(|(r, p)| format!(" via {r}:{p}")).unwrap_or_default();
        let message = format!(
            "{client} got NXDOMAIN for {} in {} (of {} answered NXDOMAIN; e.g. {}){via} \
             (DGA-like lookups)",
            alert::plural(random, "random-looking domain", "random-looking domains"),
            alert::span(e.last_ns - e.start_ns),
            alert::plural(e.domains.count(), "domain", "domains"),
            e.samples.join(", "),
        );
        let mut a = Alert::new(&RULE_DGA, Severity::Medium, e.start_ns, e.last_ns)
            .source(Endpoint::ip(client))
            .transport("udp")
            .fact("nxdomain_answers", e.answers)
            .fact("nxdomain_domains", e.domains.count())
            .fact("random_domains", random)
            .fact("samples", e.samples.clone())
            .message(message);
        if let Some((r, p)) = e.resolver {
            a = a.destination(Endpoint::port(r, p));
        }
        alerts.push(a);
    }
}

/// What one DNS query contributes.
struct Query<'a> {
    ts_ns: i64,
    client: IpAddr,
    resolver: (IpAddr, u16),
    name: &'a str,
    sub_hash: u64,
    longest: usize,
    encoded: bool,
    txt: bool,
}

impl Detector for DnsTunnel {
    fn name(&self) -> &'static str {
        "dns_tunnel"
    }

    fn transaction(&mut self, t: &TxnObs, alerts: &mut Vec<Alert>) {
        let Detail::Dns { name, registered_domain, qtype, rcode, .. } = &t.detail else {
            return;
        };
        let Some(domain) = registered_domain.as_deref() else { return };
        if matches!(t.dport, 5353 | 5355)
            || matches!(t.sport, 5353 | 5355)
            || under(name, "arpa")
            || under(name, "local")
            || self.scope.ignores(t.src, t.dst)
        {
            return;
        }
        let domain = domain.to_ascii_lowercase();
        if self.allow.iter().any(|a| under(&domain, a) || under(name, a)) {
            return;
        }
        let sub = name
            .strip_suffix(domain.as_str())
            .map(|s| s.trim_end_matches('.'))
            .filter(|_| under(name, &domain))
            .unwrap_or("");
        let (longest, random) = subdomain_shape(sub);
        let encoded = !sub.is_empty()
            && (longest >= self.t.long_label as usize
                || sub.len() >= self.t.long_subdomain as usize
                || random);
        let txt = matches!(qtype.as_str(), "TXT" | "NULL");
        let q = Query {
            ts_ns: t.ts_ns,
            client: t.src,
            resolver: (t.dst, t.dport),
            name,
            sub_hash: hash64(sub),
            longest,
            encoded,
            txt,
        };
        let domain: Box<str> = domain.into();
        self.count(Key::Client(t.src, domain.clone()), encoded || txt, &q, alerts);
        self.count(Key::All(domain.clone()), true, &q, alerts);

        if rcode == "NXDOMAIN" {
            let window = self.scope.window_ns;
            if self.nx.get(&t.src).is_some_and(|e| t.ts_ns - e.start_ns > window) {
                self.judge_nx(t.src, alerts);
                self.nx.remove(&t.src);
            }
            let Some(e) =
                self.nx.get_or_insert_with(t.src, || Nx { start_ns: t.ts_ns, ..Nx::default() })
            else {
                return;
            };
            e.start_ns = e.start_ns.min(t.ts_ns);
            e.last_ns = e.last_ns.max(t.ts_ns);
            e.answers += 1;
            e.resolver = Some((t.dst, t.dport));
            let h = hash64(&domain);
            e.domains.insert(h);
            let sld = domain.split('.').next().unwrap_or("");
            if looks_random(sld, 8) {
                let before = e.random.count();
                e.random.insert(h);
                if e.random.count() > before && e.samples.len() < MAX_SAMPLES {
                    e.samples.push(domain.to_string());
                }
            }
            if !e.dirty {
                e.dirty = true;
                self.dirty_nx.push(t.src);
            }
        }
    }

    fn tick(&mut self, now_ns: i64, alerts: &mut Vec<Alert>) {
        for key in std::mem::take(&mut self.dirty) {
            self.judge(&key, alerts);
        }
        for c in std::mem::take(&mut self.dirty_nx) {
            self.judge_nx(c, alerts);
        }
        let window = self.scope.window_ns;
        if now_ns.saturating_sub(self.last_sweep_ns) >= (window / 4).max(1) {
            self.last_sweep_ns = now_ns;
            let live = |start: i64, dirty: bool| dirty || start.saturating_add(window) >= now_ns;
            self.tunnels.retain(|_, e| live(e.start_ns, e.dirty));
            self.nx.retain(|_, e| live(e.start_ns, e.dirty));
        }
    }

    fn state(&self) -> (usize, u64) {
        (self.tunnels.len() + self.nx.len(), self.tunnels.refused + self.nx.refused)
    }
}

#[cfg(test)]
#[path = "dns_tunnel_tests.rs"]
mod tests;
