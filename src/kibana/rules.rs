//! wirebeat's own Security detection rules (creation payloads for the rules import API).
//!
//! They complement the detectors inside the sensor and Elastic's prebuilt network rules (which
//! read the same `logs-network_traffic.*` data unchanged): aggregations across many events
//! (thresholds), first-seen behaviour over days of history (new terms), and sequences across
//! protocols (EQL), which a sensor seeing one worker's flows cannot do.
//!
//! Every rule: `rule_id` = UUIDv5 of `rule:<key>` (stable, never an Elastic prebuilt id),
//! `version` 1, severity and risk score from one [`Severity`], MITRE ATT&CK `threat` with
//! reference URLs built from the ids, an investigation guide in `note`, `index` =
//! [`RULE_INDEX`](super::RULE_INDEX), `timestamp_override: event.ingested` (with the default
//! fallback to `@timestamp`, so replayed capture files still match).
//!
//! **Disabled, and never overwriting an edit.** Every rule is created `enabled: false` (a new
//! rule set starts quiet; `setup --enable-rules` or `setup.kibana.rules.enabled: true` creates
//! them enabled) and carries `meta.wirebeat_content_hash`, a SHA-256 of its content: the
//! [`OWNED_KEYS`] wirebeat writes, canonical JSON, empty values dropped (Kibana answers `[]` for
//! lists it was not given). `enabled`, `version`, `meta` and everything wirebeat does not write
//! (exceptions, actions, …) are not content. `setup` reads each installed rule: the hash of its
//! current content equal to the stored hash means wirebeat's own unmodified version, which is
//! updated; a different hash means someone edited it in Kibana, and it is left alone.

use super::{id::stable_id, RULE_INDEX};
use serde_json::{json, Map, Value};

/// Kibana's four severities with the risk score wirebeat gives each (the same values the
/// sensor writes to `event.severity`, and Elastic's bands: ≤21 low, ≤47 medium, ≤73 high).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn risk_score(self) -> u8 {
        match self {
            Severity::Low => 21,
            Severity::Medium => 47,
            Severity::High => 73,
            Severity::Critical => 99,
        }
    }

    /// The severity Kibana's risk-score bands put `score` in.
    pub fn of_risk_score(score: u64) -> Option<Severity> {
        match score {
            0..=21 => Some(Severity::Low),
            22..=47 => Some(Severity::Medium),
            48..=73 => Some(Severity::High),
            74..=100 => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// A MITRE ATT&CK technique: (id, name, sub-techniques as (id "T1071.004", name)).
type Technique = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

/// One `threat` entry: a tactic (id, name) and its techniques.
fn threat(tactic: (&str, &str), techniques: &[Technique]) -> Value {
    let techniques: Vec<Value> = techniques
        .iter()
        .map(|(id, name, subs)| {
            let mut t = json!({
                "id": id,
                "name": name,
                "reference": format!("https://attack.mitre.org/techniques/{id}/"),
            });
            if !subs.is_empty() {
                let subs: Vec<Value> = subs
                    .iter()
                    .map(|(sid, sname)| {
                        let path = sid.replace('.', "/");
                        json!({
                            "id": sid,
                            "name": sname,
                            "reference": format!("https://attack.mitre.org/techniques/{path}/"),
                        })
                    })
                    .collect();
                if let Some(o) = t.as_object_mut() {
                    o.insert("subtechnique".into(), Value::Array(subs));
                }
            }
            t
        })
        .collect();
    json!({
        "framework": "MITRE ATT&CK",
        "tactic": {
            "id": tactic.0,
            "name": tactic.1,
            "reference": format!("https://attack.mitre.org/tactics/{}/", tactic.0),
        },
        "technique": techniques,
    })
}

const C2: (&str, &str) = ("TA0011", "Command and Control");
const DISCOVERY: (&str, &str) = ("TA0007", "Discovery");
const RECON: (&str, &str) = ("TA0043", "Reconnaissance");
const CREDENTIAL_ACCESS: (&str, &str) = ("TA0006", "Credential Access");
const EXFILTRATION: (&str, &str) = ("TA0010", "Exfiltration");

const T_APP_LAYER_WEB: Technique =
    ("T1071", "Application Layer Protocol", &[("T1071.001", "Web Protocols")]);
const T_APP_LAYER_DNS: Technique = ("T1071", "Application Layer Protocol", &[("T1071.004", "DNS")]);
const T_APP_LAYER: Technique = ("T1071", "Application Layer Protocol", &[]);
const T_DGA: Technique =
    ("T1568", "Dynamic Resolution", &[("T1568.002", "Domain Generation Algorithms")]);
const T_ENCRYPTED: Technique =
    ("T1573", "Encrypted Channel", &[("T1573.002", "Asymmetric Cryptography")]);
const T_INGRESS: Technique = ("T1105", "Ingress Tool Transfer", &[]);
const T_TUNNEL: Technique = ("T1572", "Protocol Tunneling", &[]);
const T_REMOTE_DISCOVERY: Technique = ("T1018", "Remote System Discovery", &[]);
const T_SCAN: Technique = ("T1595", "Active Scanning", &[("T1595.001", "Scanning IP Blocks")]);
const T_AITM_DHCP: Technique =
    ("T1557", "Adversary-in-the-Middle", &[("T1557.003", "DHCP Spoofing")]);
const T_EXFIL_ALT: Technique = (
    "T1048",
    "Exfiltration Over Alternative Protocol",
    &[("T1048.003", "Exfiltration Over Unencrypted Non-C2 Protocol")],
);

/// What is common to every rule; the type-specific fields are added by the caller.
struct Common {
    key: &'static str,
    name: &'static str,
    description: &'static str,
    severity: Severity,
    threat: Vec<Value>,
    /// Investigation guide body after the heading (Markdown).
    guide: &'static str,
    false_positives: &'static [&'static str],
    references: &'static [&'static str],
    interval: &'static str,
    from: &'static str,
}

const SETUP: &str = "## Setup\n\nRequires wirebeat writing to the `logs-network_traffic.*` and \
`logs-wirebeat.*` data streams with wirebeat's ingest pipeline, which sets `event.ingested` \
(the rule falls back to `@timestamp` when it is missing). Load the index templates first \
(`wirebeat setup --index-management`) so every field the query uses is mapped.";

const SCRIPT_AGENTS_KQL: &str = "user_agent.original:(curl/* or Wget/* or python-requests/* or \
Python-urllib/* or Go-http-client/* or libwww-perl/* or PowerShell/* or *WindowsPowerShell/* or \
okhttp/* or Java/* or aiohttp/* or HTTPie/*)";

const SCRIPT_AGENTS_EQL: &str = "user_agent.original : (\"curl/*\", \"Wget/*\", \
\"python-requests/*\", \"Python-urllib/*\", \"Go-http-client/*\", \"libwww-perl/*\", \
\"PowerShell/*\", \"*WindowsPowerShell/*\", \"okhttp/*\", \"Java/*\", \"aiohttp/*\", \"HTTPie/*\")";

impl Common {
    fn payload(&self, rule_type: &str, language: &str, query: &str) -> Map<String, Value> {
        let mut tags = vec![
            "Domain: Network".to_owned(),
            "Use Case: Network Security Monitoring".to_owned(),
            "Use Case: Threat Detection".to_owned(),
            "Data Source: wirebeat".to_owned(),
            "Resources: Investigation Guide".to_owned(),
        ];
        for t in &self.threat {
            if let Some(name) = t["tactic"]["name"].as_str() {
                tags.push(format!("Tactic: {name}"));
            }
        }
        let note =
            format!("## Triage and analysis\n\n### Investigating {}\n\n{}", self.name, self.guide);
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("rule_id", Value::String(stable_id(&format!("rule:{}", self.key))));
        put("version", json!(1));
        put("name", json!(self.name));
        put("description", json!(self.description));
        put("type", json!(rule_type));
        put("language", json!(language));
        put("query", json!(query));
        put("index", json!(RULE_INDEX));
        put("severity", json!(self.severity.name()));
        put("risk_score", json!(self.severity.risk_score()));
        put("enabled", json!(false));
        put("interval", json!(self.interval));
        put("from", json!(self.from));
        put("to", json!("now"));
        put("timestamp_override", json!("event.ingested"));
        put("max_signals", json!(100));
        put("author", json!(["wirebeat"]));
        put("license", json!("Apache-2.0"));
        put("tags", json!(tags));
        put("threat", Value::Array(self.threat.clone()));
        put("note", json!(note));
        put("setup", json!(SETUP));
        put("false_positives", json!(self.false_positives));
        put("references", json!(self.references));
        m
    }
}

fn query_rule(c: &Common, kql: &str) -> Map<String, Value> {
    c.payload("query", "kuery", kql)
}

fn eql_rule(c: &Common, eql: &str) -> Map<String, Value> {
    c.payload("eql", "eql", eql)
}

/// Threshold: `value` events per `fields` group, and optionally at least `cardinality.1`
/// distinct values of `cardinality.0` in the group.
fn threshold_rule(
    c: &Common,
    kql: &str,
    fields: &[&str],
    value: u32,
    cardinality: Option<(&str, u32)>,
) -> Map<String, Value> {
    let mut m = c.payload("threshold", "kuery", kql);
    let mut t = json!({"field": fields, "value": value});
    if let (Some((f, v)), Some(o)) = (cardinality, t.as_object_mut()) {
        o.insert("cardinality".into(), json!([{"field": f, "value": v}]));
    }
    m.insert("threshold".into(), t);
    m
}

/// New terms: alert the first time a combination of `fields` appears since `history`.
fn new_terms_rule(c: &Common, kql: &str, fields: &[&str], history: &str) -> Map<String, Value> {
    let mut m = c.payload("new_terms", "kuery", kql);
    m.insert("new_terms_fields".into(), json!(fields));
    m.insert("history_window_start".into(), json!(history));
    m
}

fn sensor_alerts() -> Map<String, Value> {
    let c = Common {
        key: "sensor-alert",
        name: "wirebeat Sensor Alert",
        description: "Raises a Security alert for every detection a wirebeat sensor reports \
            (data_stream.dataset wirebeat.alert). The alert takes its name from the sensor's \
            rule.name, and its severity and risk score from the event's event.severity and \
            event.risk_score, so sensor detections are triaged next to every other rule.",
        severity: Severity::Medium,
        threat: vec![threat(C2, &[T_APP_LAYER])],
        guide: "wirebeat sensors run detectors on the packets, flows and transactions they see \
and write each detection as an `event.kind: alert` document. This rule re-raises them in \
Security. The alert's own `threat.*`, `rule.*` and `message` fields say what the sensor saw; the \
MITRE mapping of this rule is only a default.\n\n\
### Possible investigation steps\n\n\
- Read `message`, `rule.name` and `rule.description`, and `observer.name` (the sensor).\n\
- Pivot on `network.community_id` into `logs-network_traffic.*` to see the flow and its \
transactions (DNS, HTTP, TLS) around the alert.\n\
- Check `source.ip` and `destination.ip` against asset inventory and threat intelligence.\n\n\
### False positive analysis\n\n\
- Tune the sensor detector (`wirebeat.detect.<name>`) rather than adding exceptions here.\n\
- Elastic's prebuilt External Alerts rule also raises `event.kind: alert` documents from \
`logs-*`; enable one of the two, not both, to avoid duplicates.\n\n\
### Response and remediation\n\n\
- Follow the response for the underlying detection named in `rule.name`.",
        false_positives: &["Detections the sensor itself raises on benign traffic; tune the \
            sensor detector."],
        references: &["https://www.elastic.co/guide/en/ecs/current/ecs-event.html"],
        interval: "5m",
        from: "now-6m",
    };
    let mut m = query_rule(&c, "event.kind:alert and data_stream.dataset:wirebeat.alert");
    m.insert("rule_name_override".into(), json!("rule.name"));
    m.insert(
        "severity_mapping".into(),
        json!([
            {"field": "event.severity", "operator": "equals", "value": "21", "severity": "low"},
            {"field": "event.severity", "operator": "equals", "value": "47", "severity": "medium"},
            {"field": "event.severity", "operator": "equals", "value": "73", "severity": "high"},
            {"field": "event.severity", "operator": "equals", "value": "99", "severity": "critical"},
        ]),
    );
    m.insert(
        "risk_score_mapping".into(),
        json!([{"field": "event.risk_score", "operator": "equals", "value": ""}]),
    );
    m
}

fn http_raw_ip_script_agent() -> Map<String, Value> {
    let c = Common {
        key: "http-raw-ip-script-agent",
        name: "HTTP Request to a Raw IP Address by a Scripting Tool",
        description: "Identifies HTTP requests whose Host is a literal IP address and whose user \
            agent is a command-line or scripting HTTP client (curl, Wget, PowerShell, Python, Go, \
            Java, ...). Droppers and post-exploitation scripts fetch payloads this way, without \
            a DNS name that could be blocked.",
        severity: Severity::Medium,
        threat: vec![threat(C2, &[T_INGRESS, T_APP_LAYER_WEB])],
        guide:
            "A host name in `url.domain` that starts and ends with a digit (an IPv4 literal) or \
starts with `[` (an IPv6 literal) means the client was given an address, not a name. Together \
with a scripting user agent this is typical of a download cradle.\n\n\
### Possible investigation steps\n\n\
- Review `url.full`, `url.path` and `http.response.mime_type`: was an executable or script \
downloaded (`http.response.body.bytes`)?\n\
- Identify the client host (`source.ip`) and, with endpoint data, the process that made the \
request.\n\
- Look up `destination.ip` in threat intelligence; check other hosts talking to it.\n\n\
### False positive analysis\n\n\
- Administration scripts, health checks and package mirrors addressed by IP. Add exceptions on \
`source.ip` + `destination.ip` pairs after review.\n\n\
### Response and remediation\n\n\
- Block the destination, isolate the client if a payload was fetched, and collect it for \
analysis.",
        false_positives: &["Monitoring probes and configuration-management scripts that address \
            internal servers by IP."],
        references: &["https://attack.mitre.org/techniques/T1105/"],
        interval: "5m",
        from: "now-6m",
    };
    let q = format!(
        "data_stream.dataset:network_traffic.http and \
         ((url.domain:(0* or 1* or 2* or 3* or 4* or 5* or 6* or 7* or 8* or 9*) and \
         url.domain:(*0 or *1 or *2 or *3 or *4 or *5 or *6 or *7 or *8 or *9)) or \
         url.domain:[*) and {SCRIPT_AGENTS_KQL}"
    );
    query_rule(&c, &q)
}

fn dns_nxdomain_burst() -> Map<String, Value> {
    let c = Common {
        key: "dns-nxdomain-burst",
        name: "Burst of NXDOMAIN Responses from One Client",
        description: "Identifies a client receiving many NXDOMAIN answers for many distinct names \
            in a few minutes. Malware using a domain generation algorithm (DGA) tries many \
            generated names until one resolves.",
        severity: Severity::Medium,
        threat: vec![threat(C2, &[T_DGA])],
        guide: "The threshold groups NXDOMAIN transactions by `source.ip` and requires many \
distinct `dns.question.name` values, so a single misconfigured name retried in a loop does not \
trigger.\n\n\
### Possible investigation steps\n\n\
- List the failed names: random-looking labels under few TLDs point to a DGA.\n\
- Check whether a name from the same pattern did resolve (NOERROR) and what the client \
connected to next (see the rule *TLS Session After an NXDOMAIN Burst*).\n\
- Identify the client; with endpoint data, the process making the queries.\n\n\
### False positive analysis\n\n\
- Resolvers and DNS forwarders aggregate many clients: exclude their addresses, or place the \
sensor between clients and resolver.\n\
- Browsers probing for intranet names, and misconfigured search domains, produce bursts of \
similar names.\n\n\
### Response and remediation\n\n\
- Isolate the client if a DGA is confirmed; sinkhole the generated domains.",
        false_positives: &["Recursive resolvers seen as a single client; search-domain \
            misconfiguration."],
        references: &["https://attack.mitre.org/techniques/T1568/002/"],
        interval: "5m",
        from: "now-6m",
    };
    threshold_rule(
        &c,
        "data_stream.dataset:network_traffic.dns and dns.response_code:NXDOMAIN",
        &["source.ip"],
        30,
        Some(("dns.question.name", 20)),
    )
}

fn dns_many_subdomains() -> Map<String, Value> {
    let c = Common {
        key: "dns-many-subdomains",
        name: "Many Distinct DNS Names Under One Domain from One Client",
        description: "Identifies a client querying a very large number of distinct names under \
            one registered domain in a few minutes. DNS tunnels and DNS-based exfiltration \
            encode data in the subdomain labels of a domain the attacker controls.",
        severity: Severity::Medium,
        threat: vec![
            threat(C2, &[T_APP_LAYER_DNS, T_TUNNEL]),
            threat(EXFILTRATION, &[T_EXFIL_ALT]),
        ],
        guide:
            "The threshold groups DNS transactions by client and `dns.question.registered_domain` \
and counts distinct `dns.question.name` values.\n\n\
### Possible investigation steps\n\n\
- Look at the names in Discover or on the *[wirebeat] DNS* dashboard (tunnelling suspects \
table): long, high-entropy labels and TXT/NULL/CNAME query types raise confidence.\n\
- Compare the bytes of these transactions with the client's usual DNS volume.\n\
- Check the registered domain's age and reputation.\n\n\
### False positive analysis\n\n\
- Content delivery networks, anti-virus and telemetry services use many unique names under \
one domain. Add exceptions on `dns.question.registered_domain` after review.\n\n\
### Response and remediation\n\n\
- Block the domain at the resolver, isolate the client and look for the tunnelling tool.",
        false_positives: &["CDN, anti-malware reputation lookups and telemetry services that \
            encode data in DNS names by design."],
        references: &["https://attack.mitre.org/techniques/T1071/004/"],
        interval: "5m",
        from: "now-6m",
    };
    threshold_rule(
        &c,
        "data_stream.dataset:network_traffic.dns and dns.question.registered_domain:* and \
         not dns.question.type:PTR",
        &["source.ip", "dns.question.registered_domain"],
        1,
        Some(("dns.question.name", 150)),
    )
}

fn icmp_sweep() -> Map<String, Value> {
    let c = Common {
        key: "icmp-sweep",
        name: "ICMP Echo Sweep from One Source",
        description: "Identifies one source sending ICMP or ICMPv6 echo requests to many distinct \
            addresses in a few minutes: a ping sweep that maps which hosts are alive.",
        severity: Severity::Low,
        threat: vec![threat(DISCOVERY, &[T_REMOTE_DISCOVERY]), threat(RECON, &[T_SCAN])],
        guide: "Threshold on `source.ip` with the cardinality of `destination.ip` over ICMP echo \
transactions (`icmp.request.type` 8 for ICMPv4, 128 for ICMPv6).\n\n\
### Possible investigation steps\n\n\
- Is the source a known scanner, monitoring system or network management station?\n\
- Which of the swept hosts answered, and did the source connect to them afterwards?\n\
- Look for TCP/UDP port scans from the same source in `network_traffic.flow`.\n\n\
### False positive analysis\n\n\
- Monitoring (Nagios, Zabbix, SNMP pollers) and asset discovery tools sweep by design: add \
their addresses as exceptions.\n\n\
### Response and remediation\n\n\
- Block or isolate an unknown sweeping host and investigate how it got on the network.",
        false_positives: &["Network monitoring and asset discovery systems."],
        references: &["https://attack.mitre.org/techniques/T1018/"],
        interval: "5m",
        from: "now-6m",
    };
    threshold_rule(
        &c,
        "data_stream.dataset:network_traffic.icmp and (icmp.request.type:(8 or 128) or \
         network_traffic.icmp.request.type:(8 or 128))",
        &["source.ip"],
        1,
        Some(("destination.ip", 50)),
    )
}

fn tls_new_ja4_destination() -> Map<String, Value> {
    let c = Common {
        key: "tls-new-ja4-destination",
        name: "New JA4 TLS Client Fingerprint for a Destination",
        description: "Identifies the first TLS session in 14 days from a given client \
            fingerprint (JA4) to a given destination address. Implants and tools bring their \
            own TLS stacks, whose fingerprints differ from the browsers and agents that \
            normally talk to a server.",
        severity: Severity::Low,
        threat: vec![threat(C2, &[T_ENCRYPTED, T_APP_LAYER_WEB])],
        guide: "New-terms rule on the pair (`destination.ip`, `tls.client.ja4`) over outbound TLS \
sessions.\n\n\
### Possible investigation steps\n\n\
- Compare the JA4 with the fingerprints the *[wirebeat] TLS* dashboard shows for the same \
server name (`tls.client.server_name`).\n\
- Check how many clients share the new fingerprint: one host is more suspicious than a fleet-wide \
software update.\n\
- Look up the JA4 in public fingerprint databases.\n\n\
### False positive analysis\n\n\
- Browser and OS updates change fingerprints for every destination at once; new servers appear \
every day. Raise the history window or restrict the query to sensitive destinations if noisy.\n\n\
### Response and remediation\n\n\
- If the fingerprint belongs to a known tool or malware family, isolate the client.",
        false_positives: &["Software updates that change the TLS library; first visits to new \
            services."],
        references: &["https://github.com/FoxIO-LLC/ja4"],
        interval: "10m",
        from: "now-11m",
    };
    new_terms_rule(
        &c,
        "data_stream.dataset:network_traffic.tls and tls.client.ja4:* and \
         network.direction:outbound",
        &["destination.ip", "tls.client.ja4"],
        "now-14d",
    )
}

fn tls_new_ja3_source() -> Map<String, Value> {
    let c = Common {
        key: "tls-new-ja3-source",
        name: "New JA3 TLS Client Fingerprint on a Host",
        description: "Identifies a host using a TLS client fingerprint (JA3) it has not used in \
            the last 14 days. A new TLS stack on a host that otherwise runs the same software \
            every day can be a newly installed implant.",
        severity: Severity::Low,
        threat: vec![threat(C2, &[T_ENCRYPTED])],
        guide: "New-terms rule on the pair (`source.ip`, `tls.client.ja3`).\n\n\
### Possible investigation steps\n\n\
- Which server names (`tls.client.server_name`) did the new fingerprint reach?\n\
- Was software installed or updated on the host at that time (endpoint data, change \
records)?\n\
- Is the JA3 known for malware (`tls.client.ja3` in threat intelligence)?\n\n\
### False positive analysis\n\n\
- Hosts with dynamic addresses (DHCP) look like new hosts; software updates change JA3 \
everywhere at once.\n\n\
### Response and remediation\n\n\
- Identify the process behind the fingerprint and remove unapproved software.",
        false_positives: &["Software installs and updates; DHCP address churn."],
        references: &["https://github.com/salesforce/ja3"],
        interval: "10m",
        from: "now-11m",
    };
    new_terms_rule(
        &c,
        "data_stream.dataset:network_traffic.tls and tls.client.ja3:*",
        &["source.ip", "tls.client.ja3"],
        "now-14d",
    )
}

fn dhcp_new_server() -> Map<String, Value> {
    let c = Common {
        key: "dhcp-new-server",
        name: "New DHCP Server Observed",
        description: "Identifies DHCP offers or acknowledgements from a server identifier not \
            seen in the last 30 days. A rogue DHCP server can hand out an attacker-controlled \
            gateway or DNS server to every client on the segment.",
        severity: Severity::Medium,
        threat: vec![threat(CREDENTIAL_ACCESS, &[T_AITM_DHCP])],
        guide:
            "New-terms rule on `network_traffic.dhcpv4.option.server_identifier` over DHCP OFFER \
and ACK messages.\n\n\
### Possible investigation steps\n\n\
- Compare the new server with the authorised DHCP servers; look at the router \
(`network_traffic.dhcpv4.option.router`) and DNS servers it hands out.\n\
- Find the switch port of the server's MAC address (`source.mac`).\n\
- Check which clients accepted leases from it (ACKs with its server identifier).\n\n\
### False positive analysis\n\n\
- New or replaced DHCP servers, home routers and lab equipment plugged into the network.\n\n\
### Response and remediation\n\n\
- Disconnect a rogue server, enable DHCP snooping, renew the leases of affected clients.",
        false_positives: &["Planned DHCP server changes; lab or consumer equipment."],
        references: &["https://attack.mitre.org/techniques/T1557/003/"],
        interval: "10m",
        from: "now-11m",
    };
    new_terms_rule(
        &c,
        "data_stream.dataset:network_traffic.dhcpv4 and \
         network_traffic.dhcpv4.option.message_type:(offer or ack)",
        &["network_traffic.dhcpv4.option.server_identifier"],
        "now-30d",
    )
}

fn nxdomain_then_tls() -> Map<String, Value> {
    let c = Common {
        key: "eql-nxdomain-burst-then-tls",
        name: "TLS Session After an NXDOMAIN Burst",
        description: "Identifies a client that receives a run of NXDOMAIN answers and then \
            completes a TLS handshake to a server name outside well-known cloud and software \
            vendors, within five minutes. This is how a DGA implant finds the one generated \
            domain its operator registered and connects to it.",
        severity: Severity::High,
        threat: vec![threat(C2, &[T_DGA, T_ENCRYPTED])],
        guide: "EQL sequence by `source.ip`: ten NXDOMAIN transactions, then an established TLS \
session whose `tls.client.server_name` is not under a list of common vendor domains.\n\n\
### Possible investigation steps\n\n\
- Compare the TLS server name with the failed names: same length and alphabet suggest the same \
generator.\n\
- Check the server certificate (`tls.server.x509.*`): fresh, self-signed or free certificates \
are common for C2.\n\
- Check whether other hosts reached the same server name or address.\n\n\
### False positive analysis\n\n\
- Clients with broken search domains produce NXDOMAIN runs before normal browsing. Extend the \
excluded vendor list or add exceptions on the server name.\n\n\
### Response and remediation\n\n\
- Isolate the client, block the server name and address, and hunt for the implant.",
        false_positives: &["Misconfigured DNS search lists followed by ordinary browsing."],
        references: &["https://attack.mitre.org/techniques/T1568/002/"],
        interval: "5m",
        from: "now-9m",
    };
    let q = "sequence by source.ip with maxspan=5m\n  \
        [network where data_stream.dataset == \"network_traffic.dns\" and \
        dns.response_code == \"NXDOMAIN\"] with runs=10\n  \
        [network where data_stream.dataset == \"network_traffic.tls\" and \
        tls.established == true and tls.client.server_name != null and\n    \
        not tls.client.server_name : (\"*.microsoft.com\", \"*.windows.com\", \
        \"*.windowsupdate.com\", \"*.office.com\", \"*.office365.com\", \"*.live.com\", \
        \"*.google.com\", \"*.googleapis.com\", \"*.gstatic.com\", \"*.apple.com\", \
        \"*.icloud.com\", \"*.amazonaws.com\", \"*.cloudfront.net\", \"*.akamaiedge.net\", \
        \"*.cloudflare.com\", \"*.mozilla.org\", \"*.mozilla.com\")]";
    eql_rule(&c, q)
}

fn script_download_then_tls() -> Map<String, Value> {
    let c = Common {
        key: "eql-script-download-then-tls",
        name: "Scripted HTTP Download Followed by TLS to the Same Server",
        description: "Identifies a scripting HTTP client (curl, Wget, PowerShell, Python, ...) \
            downloading from a server over cleartext HTTP, followed within two minutes by a TLS \
            session from the same client to the same server address: a stager fetching its \
            payload, which then calls home over an encrypted channel.",
        severity: Severity::High,
        threat: vec![threat(C2, &[T_INGRESS, T_ENCRYPTED])],
        guide: "EQL sequence by `source.ip` and `destination.ip`: a successful HTTP GET with a \
scripting user agent, then an established TLS session.\n\n\
### Possible investigation steps\n\n\
- Review the downloaded URL (`url.full`) and content type; retrieve the file if possible.\n\
- Review the TLS session: server name, certificate and JA3/JA4 of the client.\n\
- With endpoint data, find the process chain that ran the download.\n\n\
### False positive analysis\n\n\
- Installers that download a bootstrap over HTTP and continue over HTTPS from the same host. \
Add exceptions on the destination after review.\n\n\
### Response and remediation\n\n\
- Isolate the client, block the server, and collect the downloaded payload.",
        false_positives: &["Software installers and package managers using both HTTP and HTTPS \
            on one server."],
        references: &["https://attack.mitre.org/techniques/T1105/"],
        interval: "5m",
        from: "now-7m",
    };
    let q = format!(
        "sequence by source.ip, destination.ip with maxspan=2m\n  \
         [network where data_stream.dataset == \"network_traffic.http\" and \
         http.request.method == \"GET\" and http.response.status_code == 200 and\n    \
         {SCRIPT_AGENTS_EQL}]\n  \
         [network where data_stream.dataset == \"network_traffic.tls\" and \
         tls.established == true]"
    );
    eql_rule(&c, &q)
}

/// The keys wirebeat writes in a rule, whose values are the rule's content (see the module
/// documentation). A unit test checks that every rule uses only these and [`NOT_CONTENT`].
pub const OWNED_KEYS: &[&str] = &[
    "name",
    "description",
    "type",
    "language",
    "query",
    "index",
    "severity",
    "risk_score",
    "interval",
    "from",
    "to",
    "timestamp_override",
    "max_signals",
    "author",
    "license",
    "tags",
    "threat",
    "note",
    "setup",
    "false_positives",
    "references",
    "threshold",
    "new_terms_fields",
    "history_window_start",
    "rule_name_override",
    "severity_mapping",
    "risk_score_mapping",
];

/// Keys of a rule that are not its content: identity, the user's choice to run it, the
/// version counter and the hash itself.
pub const NOT_CONTENT: &[&str] = &["rule_id", "enabled", "version", "meta"];

/// Key under `meta` of the content hash.
pub const HASH_KEY: &str = "wirebeat_content_hash";

/// Canonical JSON of `v`: object keys sorted, null / empty list / empty object values dropped.
fn canonical(v: &Value, out: &mut String) {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            let mut first = true;
            for k in keys {
                let Some(val) = o.get(k) else { continue };
                if empty(val) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(val, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(val, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `sha256:<hex>` of the content of `rule` (its [`OWNED_KEYS`]), as Kibana returns it or as
/// wirebeat sends it.
pub fn content_hash(rule: &Value) -> String {
    use sha2::Digest;
    let mut owned = Map::new();
    for k in OWNED_KEYS {
        if let Some(v) = rule.get(*k) {
            owned.insert((*k).to_owned(), v.clone());
        }
    }
    let mut text = String::new();
    canonical(&Value::Object(owned), &mut text);
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The hash wirebeat stored in an installed rule, if any.
pub fn stored_hash(rule: &Value) -> Option<&str> {
    rule.get("meta")?.get(HASH_KEY)?.as_str()
}

/// Every rule, in a fixed order.
pub fn rules() -> Vec<Value> {
    rules_without_hash()
        .into_iter()
        .map(|mut r| {
            let hash = content_hash(&r);
            if let Some(o) = r.as_object_mut() {
                o.insert("meta".into(), json!({ HASH_KEY: hash }));
            }
            r
        })
        .collect()
}

fn rules_without_hash() -> Vec<Value> {
    [
        sensor_alerts(),
        http_raw_ip_script_agent(),
        dns_nxdomain_burst(),
        dns_many_subdomains(),
        icmp_sweep(),
        tls_new_ja4_destination(),
        tls_new_ja3_source(),
        dhcp_new_server(),
        nxdomain_then_tls(),
        script_download_then_tls(),
    ]
    .into_iter()
    .map(Value::Object)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_and_risk_score_bands_agree() {
        for s in [Severity::Low, Severity::Medium, Severity::High, Severity::Critical] {
            assert_eq!(Severity::of_risk_score(u64::from(s.risk_score())), Some(s));
        }
        assert_eq!(Severity::of_risk_score(101), None);
    }

    #[test]
    fn every_key_is_content_or_named_as_not_content() {
        for r in rules() {
            for k in r.as_object().unwrap().keys() {
                assert!(
                    OWNED_KEYS.contains(&k.as_str()) || NOT_CONTENT.contains(&k.as_str()),
                    "{k} of {}",
                    r["name"]
                );
            }
            assert_eq!(r["enabled"], false);
            assert_eq!(stored_hash(&r), Some(content_hash(&r).as_str()));
        }
    }

    #[test]
    fn the_hash_sees_content_not_what_kibana_adds_or_the_users_toggle() {
        let r = rules().remove(2);
        let h = content_hash(&r);
        let mut kibana = r.clone();
        let o = kibana.as_object_mut().unwrap();
        o.insert("enabled".into(), json!(true));
        o.insert("severity_mapping".into(), json!([]));
        o.insert("exceptions_list".into(), json!([{"id": "x"}]));
        o.insert("revision".into(), json!(3));
        o.insert("id".into(), json!("8d3c"));
        assert_eq!(content_hash(&kibana), h);
        kibana["threshold"]["value"] = json!(1000);
        assert_ne!(content_hash(&kibana), h);
        let mut edited = r;
        edited["tags"].as_array_mut().unwrap().push(json!("mine"));
        assert_ne!(content_hash(&edited), h);
    }

    #[test]
    fn subtechnique_urls_use_a_slash() {
        let t = threat(C2, &[T_DGA]);
        assert_eq!(
            t["technique"][0]["subtechnique"][0]["reference"],
            "https://attack.mitre.org/techniques/T1568/002/"
        );
        assert_eq!(t["tactic"]["reference"], "https://attack.mitre.org/tactics/TA0011/");
    }
}
