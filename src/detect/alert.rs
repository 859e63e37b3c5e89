//! Alerts: what a detector found, with the rule that found it, as an ECS `event.kind: alert`
//! document in the `wirebeat.alert` dataset.
//!
//! Every rule is a `static` [`Rule`] in its detector's file: id, name, description, category,
//! version and the MITRE ATT&CK tactic, technique and sub-technique it maps to. The document
//! carries `rule.*`, `threat.*` (the ECS threat fields Elastic Security reads), `event.severity`
//! and `event.risk_score` (21/47/73/99: Elastic's low/medium/high/critical), the evidence window
//! as `event.start`/`event.end`, the endpoints as `source`/`destination`/`related.ip`, and a
//! `message` that says what was seen with its numbers. Facts a detector measured go under
//! `wirebeat.alert.*` (documented in [`CUSTOM_FIELDS`]).

use crate::ecs::{EncodedEvent, EventContext};
use serde_json::{json, Map, Value};
use std::net::IpAddr;

/// `data_stream.dataset` of alert events.
pub const DATASET_ALERT: &str = "wirebeat.alert";

pub use crate::ecs::fields::ALERT_FIELDS as CUSTOM_FIELDS;

/// Elastic's severity levels and the numbers its rules map them to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// `event.severity` and `event.risk_score`.
    pub fn score(self) -> u8 {
        match self {
            Severity::Low => 21,
            Severity::Medium => 47,
            Severity::High => 73,
            Severity::Critical => 99,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A MITRE ATT&CK tactic, technique or sub-technique (`T1071.004`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mitre {
    pub id: &'static str,
    pub name: &'static str,
}

impl Mitre {
    /// The ATT&CK page: tactics under `/tactics/TA…/`, sub-techniques under
    /// `/techniques/T…/NNN/`.
    pub fn reference(&self) -> String {
        if self.id.starts_with("TA") {
            format!("https://attack.mitre.org/tactics/{}/", self.id)
        } else {
            format!("https://attack.mitre.org/techniques/{}/", self.id.replace('.', "/"))
        }
    }
}

pub const TACTIC_DISCOVERY: Mitre = Mitre { id: "TA0007", name: "Discovery" };
pub const TACTIC_IMPACT: Mitre = Mitre { id: "TA0040", name: "Impact" };
pub const TACTIC_CREDENTIAL_ACCESS: Mitre = Mitre { id: "TA0006", name: "Credential Access" };
pub const TACTIC_COMMAND_AND_CONTROL: Mitre = Mitre { id: "TA0011", name: "Command and Control" };

/// A detection rule of the sensor.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// `rule.id`: stable, never reused (`wirebeat-<detector>-<what>`).
    pub id: &'static str,
    /// `rule.name`.
    pub name: &'static str,
    /// `event.action`: the detector's name (`wirebeat.detect.<name>`).
    pub action: &'static str,
    pub description: &'static str,
    /// `rule.category`.
    pub category: &'static str,
    pub version: &'static str,
    /// `rule.reference`: where the behaviour is described.
    pub reference: &'static str,
    pub tactic: Mitre,
    pub technique: Mitre,
    pub subtechnique: Option<Mitre>,
}

/// One end of what an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl Endpoint {
    pub fn ip(ip: IpAddr) -> Self {
        Endpoint { ip, port: None }
    }
    pub fn port(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port: Some(port) }
    }
}

/// Something a detector found.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub rule: &'static Rule,
    pub severity: Severity,
    /// The evidence window, on packet time.
    pub start_ns: i64,
    pub end_ns: i64,
    pub source: Option<Endpoint>,
    pub destination: Option<Endpoint>,
    /// `network.transport`: tcp, udp, icmp, ipv6-icmp.
    pub transport: Option<&'static str>,
    /// What was seen, with its numbers (`message`).
    pub message: String,
    /// The conversation it is about (`network.community_id`), when there is one.
    pub community_id: Option<String>,
    /// Occurrences merged into this alert (see `suppress`).
    pub count: u64,
    /// Further addresses involved (e.g. a sample of a flood's sources), for `related.ip`.
    pub related: Vec<IpAddr>,
    /// `wirebeat.alert.facts`: what the detector measured.
    pub facts: Map<String, Value>,
    /// Extra ECS objects at the top level (e.g. `threat.enrichments` of an intel match,
    /// `dns`, `url`), merged into the document.
    pub ecs: Map<String, Value>,
    /// `wirebeat.alert.evidence.path`.
    pub evidence: Option<String>,
}

impl Alert {
    /// An alert of `rule` at its default severity, for the window `start_ns..=end_ns`.
    pub fn new(rule: &'static Rule, severity: Severity, start_ns: i64, end_ns: i64) -> Self {
        Alert {
            rule,
            severity,
            start_ns,
            end_ns,
            source: None,
            destination: None,
            transport: None,
            message: String::new(),
            community_id: None,
            count: 1,
            related: Vec::new(),
            facts: Map::new(),
            ecs: Map::new(),
            evidence: None,
        }
    }

    pub fn source(mut self, e: Endpoint) -> Self {
        self.source = Some(e);
        self
    }
    pub fn destination(mut self, e: Endpoint) -> Self {
        self.destination = Some(e);
        self
    }
    pub fn transport(mut self, t: &'static str) -> Self {
        self.transport = Some(t);
        self
    }
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = m.into();
        self
    }
    pub fn fact(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.facts.insert(key.to_owned(), v.into());
        self
    }

    /// The alert as an event (`event.kind: alert`), partitioned by its conversation or, without
    /// one, by its source.
    pub fn encode(&self, ctx: &EventContext) -> EncodedEvent {
        let r = self.rule;
        let score = self.severity.score();
        let list =
            |m: &Mitre| json!({"id": [m.id], "name": [m.name], "reference": [m.reference()]});
        let mut technique = list(&r.technique);
        if let Some(sub) = &r.subtechnique {
            technique["subtechnique"] = list(sub);
        }
        let mut related: Vec<String> = Vec::new();
        for ip in self
            .source
            .iter()
            .chain(self.destination.iter())
            .map(|e| e.ip)
            .chain(self.related.iter().copied())
        {
            let s = ip.to_string();
            if !related.contains(&s) {
                related.push(s);
            }
        }
        let endpoint = |e: &Option<Endpoint>| {
            e.map(|e| match e.port {
                Some(p) => json!({"ip": e.ip.to_string(), "port": p}),
                None => json!({"ip": e.ip.to_string()}),
            })
        };
        let net_type =
            self.source.or(self.destination).map(|e| if e.ip.is_ipv4() { "ipv4" } else { "ipv6" });
        let mut wirebeat = json!({"count": self.count});
        if !self.facts.is_empty() {
            wirebeat["facts"] = Value::Object(self.facts.clone());
        }
        if let Some(p) = &self.evidence {
            wirebeat["evidence"] = json!({"path": p});
        }
        let mut doc = json!({
            "@timestamp": crate::ecs::time::rfc3339(self.end_ns),
            "ecs": {"version": crate::ecs::ECS_VERSION},
            "data_stream": {"type": "logs", "dataset": DATASET_ALERT, "namespace": ctx.namespace},
            "event": {
                "kind": "alert",
                "category": ["network", "intrusion_detection"],
                "type": ["info"],
                "action": r.action,
                "dataset": DATASET_ALERT,
                "module": "wirebeat",
                "severity": score,
                "risk_score": f64::from(score),
                "start": crate::ecs::time::rfc3339(self.start_ns),
                "end": crate::ecs::time::rfc3339(self.end_ns),
                "duration": self.end_ns.saturating_sub(self.start_ns),
            },
            "rule": {
                "id": r.id,
                "name": r.name,
                "description": r.description,
                "category": r.category,
                "version": r.version,
                "reference": r.reference,
                "ruleset": "wirebeat",
                "author": ["wirebeat"],
            },
            "threat": {
                "framework": "MITRE ATT&CK",
                "tactic": list(&r.tactic),
                "technique": technique,
            },
            "message": self.message,
            "related": {"ip": related},
            "observer": ctx.observer,
            "agent": ctx.agent,
            "wirebeat": {"alert": wirebeat},
        });
        let Value::Object(m) = &mut doc else { unreachable!("a json! object") };
        if let Some(s) = endpoint(&self.source) {
            m.insert("source".into(), s);
        }
        if let Some(d) = endpoint(&self.destination) {
            m.insert("destination".into(), d);
        }
        let mut network = Map::new();
        if let Some(t) = self.transport {
            network.insert("transport".into(), json!(t));
        }
        if let Some(t) = net_type {
            network.insert("type".into(), json!(t));
        }
        // Like every other event's: from `internal_networks`; unknown without both ends.
        let direction = match (self.source, self.destination) {
            (Some(s), Some(d)) => ctx.direction(&s.ip, &d.ip),
            _ => "unknown",
        };
        network.insert("direction".into(), json!(direction));
        if let Some(c) = &self.community_id {
            network.insert("community_id".into(), json!(c));
        }
        // Every event carries `network.direction` (Elastic's rules filter on it).
        let direction = match (self.source, self.destination) {
            (Some(s), Some(d)) => ctx.direction(&s.ip, &d.ip),
            _ => "unknown",
        };
        network.insert("direction".into(), json!(direction));
        if !network.is_empty() {
            m.insert("network".into(), Value::Object(network));
        }
        if let Some(h) = ctx.host.as_deref().and_then(|h| serde_json::from_str(h.get()).ok()) {
            m.insert("host".into(), h);
        }
        if !ctx.tags.is_empty() {
            m.insert("tags".into(), json!(ctx.tags));
        }
        if !ctx.labels.is_empty() {
            m.insert("labels".into(), json!(ctx.labels));
        }
        for (k, v) in &self.ecs {
            merge(m, k, v);
        }
        let key = self.community_id.clone().or_else(|| self.source.map(|e| e.ip.to_string()));
        EncodedEvent::encode(DATASET_ALERT, key, &doc)
    }
}

/// Merges `v` into `m[k]`: objects key by key, anything else replaces.
fn merge(m: &mut Map<String, Value>, k: &str, v: &Value) {
    match (m.get_mut(k), v) {
        (Some(Value::Object(dst)), Value::Object(src)) => {
            for (k2, v2) in src {
                merge(dst, k2, v2);
            }
        }
        _ => {
            m.insert(k.to_owned(), v.clone());
        }
    }
}

/// "412 TCP ports" / "1 TCP port": a count with its noun.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A window length for a message: "6 s", "850 ms", "2 min".
pub fn span(ns: i64) -> String {
    let ms = ns.max(0) / 1_000_000;
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        let s = ms as f64 / 1000.0;
        if s < 10.0 {
            format!("{s:.1} s")
        } else {
            format!("{:.0} s", s)
        }
    } else {
        format!("{} min", ms / 60_000)
    }
}
