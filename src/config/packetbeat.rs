//! `wirebeat export config --from-packetbeat FILE`: a `packetbeat.yml` as the equivalent
//! `wirebeat.yml`, with a comment line for every setting that could not be carried over
//! (README "Migrating from Packetbeat" has the table).
//!
//! Two passes. The mapping: the sections both programs have (`name`, `tags`, `fields`, the
//! interface, `internal_networks`, flows, the protocol list, outputs, `processors`, `queue.mem`,
//! `setup.kibana`, `logging.level`, `http`) move to their wirebeat places, renamed where the
//! names differ; known Packetbeat-only settings get their reason. Then the result is loaded as
//! wirebeat would load it, and every key it refuses (unknown to this build, or a value it does
//! not accept) is taken out into a comment with the reason, until it loads. So a protocol
//! section this build does not have (`wirebeat.protocols.mysql` before that parser exists) is a
//! comment, not a failure, and becomes a setting once the build has it.

use crate::yaml::{self, Mapping, Value};

/// At most this many keys are taken out by the second pass (each costs one load).
const MAX_REFUSED: usize = 256;

/// Why Packetbeat settings that have no wirebeat place do not carry over.
const NOT_CARRIED: &[(&str, &str)] = &[
    ("packetbeat.interfaces.type", "wirebeat captures with pcap or af_packet"),
    ("packetbeat.interfaces.with_vlans", "wirebeat decodes VLAN tags on every interface"),
    ("packetbeat.interfaces.auto_promisc_mode", "see wirebeat.interfaces[].promiscuous"),
    ("packetbeat.interfaces.poll_default_route", "name the interface"),
    (
        "packetbeat.interfaces.fanout_group",
        "wirebeat makes its own fanout group per interface (wirebeat.interfaces[].fanout)",
    ),
    ("packetbeat.procs", "wirebeat is a passive network sensor: no process monitoring"),
    ("packetbeat.ignore_outgoing", "not supported"),
    ("packetbeat.shutdown_timeout", "see wirebeat.shutdown_timeout (the drain limit)"),
    ("fields_under_root", "wirebeat writes fields under labels.*"),
    ("send_request", "wirebeat does not write the raw request text"),
    ("send_response", "wirebeat does not write the raw response text"),
    ("transaction_timeout", "one timeout for every protocol: wirebeat.streams.transaction_timeout"),
    ("send_certificates", "certificates are always parsed into tls.*.x509"),
    ("include_detailed_fields", "tls.detailed.* is always written"),
    ("fingerprints", "JA3, JA3S, JA4 and certificate hashes are always written"),
    (
        "max_message_size",
        "see wirebeat.protocols.http.max_body_bytes and wirebeat.streams.max_buffer_bytes",
    ),
    ("real_ip_header", "not supported"),
    ("hide_keywords", "not supported"),
    ("redact_authorization", "Authorization headers are redacted by default (redact_headers)"),
    ("decode_body", "not supported"),
    ("keep_null", "not supported"),
    ("index", "protocol events go to the network_traffic.<protocol> data streams"),
];

fn reason_for(key: &str) -> Option<&'static str> {
    NOT_CARRIED.iter().find(|(k, _)| *k == key).map(|(_, r)| *r)
}

/// Splits dotted keys (`output.kafka.hosts: …`) into nested mappings, merged with the nested
/// spelling.
fn nest(v: Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut out = Value::Mapping(Mapping::new());
            for (k, val) in m.iter() {
                let key = scalar_text(k);
                let mut path: Vec<&str> = key.split('.').collect();
                if path.iter().any(|p| p.is_empty()) {
                    path = vec![key.as_str()];
                }
                merge_at(&mut out, &path, nest(val.clone()));
            }
            out
        }
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(nest).collect()),
        other => other,
    }
}

fn merge_at(node: &mut Value, path: &[&str], val: Value) {
    let Some((first, rest)) = path.split_first() else {
        match (node, val) {
            (Value::Mapping(dst), Value::Mapping(src)) => {
                for (k, v) in src.iter() {
                    let slot = dst.entry(Value::String(scalar_text(k)));
                    merge_at(slot, &[], v.clone());
                }
            }
            (node, val) => *node = val,
        }
        return;
    };
    if !node.is_mapping() {
        *node = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(m) = node {
        let slot = m.entry(Value::String((*first).to_owned()));
        merge_at(slot, rest, val);
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => yaml::to_string(other).trim().to_owned(),
    }
}

fn get<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// The conversion as it goes: the wirebeat tree and the comments.
struct Out {
    root: Mapping,
    notes: Vec<String>,
}

impl Out {
    fn set(&mut self, path: &[&str], v: Value) {
        let mut node = Value::Mapping(std::mem::take(&mut self.root));
        merge_at(&mut node, path, v);
        if let Value::Mapping(m) = node {
            self.root = m;
        }
    }

    fn note(&mut self, key: &str, why: &str) {
        self.notes.push(format!("{key}: {why}"));
    }

    /// Every key of `section` (a mapping at `from`) not in `handled`: a note, with its reason.
    fn rest(&mut self, from: &str, section: &Value, handled: &[&str]) {
        let Some(m) = section.as_mapping() else { return };
        for (k, _) in m.iter() {
            let k = scalar_text(k);
            if handled.contains(&k.as_str()) {
                continue;
            }
            let full = format!("{from}.{k}");
            let why =
                reason_for(&full).or_else(|| reason_for(&k)).unwrap_or("no wirebeat equivalent");
            self.note(&full, why);
        }
    }
}

/// Beats' log levels as wirebeat's.
fn log_level(level: &str) -> &str {
    match level {
        "warning" => "warn",
        "critical" => "error",
        other => other,
    }
}

/// The `wirebeat.yml` equivalent of the Packetbeat configuration `text` (named `source` in
/// the header). An error only when `text` is not YAML.
pub fn from_packetbeat(text: &str, source: &str) -> Result<String, String> {
    let root = yaml::parse(text).map_err(|e| format!("{source}: {e}"))?;
    let mut doc = root.to_value().map_err(|e| format!("{source}: {e}"))?;
    doc.apply_merge().map_err(|e| format!("{source}: {e}"))?;
    let doc = nest(doc);
    let mut out = Out { root: Mapping::new(), notes: Vec::new() };
    if !doc.is_mapping() && !doc.is_null() {
        out.note("(document)", "not a mapping of settings");
    }
    let top: Vec<String> =
        doc.as_mapping().map(|m| m.keys().map(scalar_text).collect()).unwrap_or_default();
    for key in &top {
        let Some(v) = doc.get(key) else { continue };
        match key.as_str() {
            "name" | "tags" | "fields" => out.set(&[key], v.clone()),
            "packetbeat" => packetbeat(&mut out, v),
            "processors" => processors(&mut out, v),
            "output" => outputs(&mut out, v),
            "logging" => {
                if let Some(l) = v.get("level") {
                    let level = log_level(&scalar_text(l)).to_owned();
                    out.set(&["logging", "level"], Value::String(level));
                }
                out.rest("logging", v, &["level"]);
            }
            "queue" => {
                if let Some(e) = get(v, "mem.events") {
                    out.set(&["queue", "mem", "events"], e.clone());
                }
                if let Some(mem) = v.get("mem") {
                    out.rest("queue.mem", mem, &["events"]);
                }
                out.rest("queue", v, &["mem"]);
            }
            "setup" => {
                if let Some(k) = v.get("kibana") {
                    out.set(&["setup", "kibana"], k.clone());
                }
                out.rest("setup", v, &["kibana"]);
            }
            "http" => out.set(&["http"], v.clone()),
            other => {
                let why = reason_for(other).unwrap_or("no wirebeat equivalent");
                out.note(other, why);
            }
        }
    }
    refuse_until_valid(&mut out);
    Ok(render(&out, source))
}

fn packetbeat(out: &mut Out, pb: &Value) {
    if let Some(i) = pb.get("interfaces") {
        let mut iface = Mapping::new();
        match i.get("device") {
            Some(d @ Value::String(_)) => iface.insert(Value::String("name".into()), d.clone()),
            Some(Value::Number(n)) => out.note(
                "packetbeat.interfaces.device",
                &format!("device number {n}: name the interface (wirebeat devices lists them)"),
            ),
            _ => {}
        }
        for k in ["snaplen", "bpf_filter", "buffer_size_mb"] {
            if let Some(v) = i.get(k) {
                iface.insert(Value::String(k.into()), v.clone());
            }
        }
        // Packetbeat's af_packet and pcap are wirebeat's; pf_ring is not.
        let mut typed = false;
        if let Some(t @ Value::String(s)) = i.get("type") {
            if s == "af_packet" || s == "pcap" {
                iface.insert(Value::String("type".into()), t.clone());
                typed = true;
            }
        }
        if !iface.is_empty() {
            out.set(&["wirebeat", "interfaces"], Value::Sequence(vec![Value::Mapping(iface)]));
        }
        if let Some(n) = i.get("internal_networks") {
            out.set(&["wirebeat", "internal_networks"], n.clone());
        }
        let done = ["device", "snaplen", "bpf_filter", "buffer_size_mb", "internal_networks"];
        let done: Vec<&str> = done.iter().copied().chain(typed.then_some("type")).collect();
        out.rest("packetbeat.interfaces", i, &done);
    }
    if let Some(f) = pb.get("flows") {
        for k in ["enabled", "timeout", "period"] {
            let Some(v) = f.get(k) else { continue };
            // Packetbeat's `period: -1s` turns periodic reports off: wirebeat's `0s`.
            let v = match (k, scalar_text(v).as_str()) {
                ("period", p) if p.starts_with('-') => Value::String("0s".into()),
                _ => v.clone(),
            };
            out.set(&["wirebeat", "flows", k], v);
        }
        out.rest("packetbeat.flows", f, &["enabled", "timeout", "period"]);
    }
    if let Some(list) = pb.get("protocols") {
        protocols(out, list);
    }
    out.rest("packetbeat", pb, &["interfaces", "flows", "protocols"]);
}

/// `packetbeat.protocols`: a list of `{type: …}` (or, in old files, a mapping by name).
fn protocols(out: &mut Out, list: &Value) {
    let entries: Vec<(String, Value)> = match list {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item.get("type") {
                Some(t) => Some((scalar_text(t), item.clone())),
                None => {
                    out.note(&format!("packetbeat.protocols[{i}]"), "no type");
                    None
                }
            })
            .collect(),
        Value::Mapping(m) => m.iter().map(|(k, v)| (scalar_text(k), v.clone())).collect(),
        _ => Vec::new(),
    };
    for (name, item) in entries {
        let Some(m) = item.as_mapping() else { continue };
        let mut section = Mapping::new();
        for (k, v) in m.iter() {
            let k = scalar_text(k);
            if k == "type" {
                continue;
            }
            match reason_for(&k) {
                Some(why) => out.note(&format!("packetbeat.protocols.{name}.{k}"), why),
                None => section.insert(Value::String(k), v.clone()),
            }
        }
        if section.is_empty() {
            section.insert(Value::String("enabled".into()), Value::Bool(true));
        }
        out.set(&["wirebeat", "protocols", &name], Value::Mapping(section));
    }
}

/// The processors wirebeat has are kept as written; the others are notes.
fn processors(out: &mut Out, list: &Value) {
    const KEPT: &[&str] = &["drop_event", "drop_fields", "add_fields", "add_tags"];
    let Some(items) = list.as_sequence() else { return };
    let mut kept = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let name =
            p.as_mapping().and_then(|m| m.keys().next()).map(scalar_text).unwrap_or_default();
        if KEPT.contains(&name.as_str()) {
            kept.push(p.clone());
            continue;
        }
        let why = match name.as_str() {
            "add_host_metadata" => "host.* is written by wirebeat.host_metadata (on by default)",
            _ => "no such processor in wirebeat",
        };
        out.note(&format!("processors[{i}] ({name})"), why);
    }
    if !kept.is_empty() {
        out.set(&["processors"], Value::Sequence(kept));
    }
}

fn outputs(out: &mut Out, o: &Value) {
    let Some(m) = o.as_mapping() else { return };
    for (k, v) in m.iter() {
        let name = scalar_text(k);
        match name.as_str() {
            "kafka" | "elasticsearch" | "file" | "console" => {
                out.set(&["output", &name], v.clone());
            }
            other => out.note(&format!("output.{other}"), "no such output in wirebeat"),
        }
    }
}

/// Loads the result as wirebeat would; every key refused goes into a note, until it loads.
fn refuse_until_valid(out: &mut Out) {
    for _ in 0..MAX_REFUSED {
        let text = yaml::to_string(&Value::Mapping(out.root.clone()));
        let err = match super::load_str(&text, "wirebeat.yml", &[], &|_| None) {
            Ok(_) => return,
            Err(e) => e,
        };
        let Some(key) = err.key().filter(|k| !k.is_empty()).map(str::to_owned) else {
            out.note("(whole file)", &format!("does not load: {err}"));
            return;
        };
        let why = match &err {
            super::ConfigError::UnknownKey { .. } if key.starts_with("wirebeat.protocols.") => {
                let rest = &key["wirebeat.protocols.".len()..];
                if rest.contains('.') {
                    "no such option in this wirebeat's protocol".to_owned()
                } else {
                    "this wirebeat build has no such protocol yet".to_owned()
                }
            }
            super::ConfigError::UnknownKey { .. } => "no such setting in wirebeat".to_owned(),
            other => {
                let full = other.to_string();
                let msg = full.split_once(&format!("{key}: ")).map(|(_, m)| m).unwrap_or(&full);
                format!("not accepted: {msg}")
            }
        };
        let last = key.rsplit('.').next().unwrap_or(&key);
        let shown = if super::validate::SECRET_KEYS.contains(&last) {
            super::validate::REDACTED.to_owned()
        } else {
            flow(value_at(&out.root, &key).unwrap_or(&Value::Null))
        };
        if !remove(&mut out.root, &key) {
            out.note(&key, &format!("does not load: {err}"));
            return;
        }
        out.note(&key, &format!("{why} (was: {shown})"));
    }
}

/// A value on one line, in YAML's flow style (`{ports: [6379]}`).
fn flow(v: &Value) -> String {
    match v {
        Value::Mapping(m) => {
            let items: Vec<String> =
                m.iter().map(|(k, v)| format!("{}: {}", scalar_text(k), flow(v))).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Sequence(s) => {
            format!("[{}]", s.iter().map(flow).collect::<Vec<_>>().join(", "))
        }
        Value::String(s) if s.is_empty() => "\"\"".to_owned(),
        other => scalar_text(other).replace('\n', " "),
    }
}

fn segments(key: &str) -> Vec<Result<String, usize>> {
    super::source::parse_path(key)
        .into_iter()
        .map(|s| match s {
            super::source::Seg::Key(k) => Ok(k),
            super::source::Seg::Index(i) => Err(i),
        })
        .collect()
}

fn value_at<'v>(root: &'v Mapping, key: &str) -> Option<&'v Value> {
    let mut cur: Option<&Value> = None;
    for (n, seg) in segments(key).into_iter().enumerate() {
        cur = match (n, seg, cur) {
            (0, Ok(k), _) => root.get(&k),
            (_, Ok(k), Some(v)) => v.get(&k),
            (_, Err(i), Some(Value::Sequence(s))) => s.get(i),
            _ => None,
        };
    }
    cur
}

/// Removes `key` (a displayed path); mappings and lists left empty go too.
fn remove(root: &mut Mapping, key: &str) -> bool {
    fn go(v: &mut Value, segs: &[Result<String, usize>]) -> bool {
        let Some((first, rest)) = segs.split_first() else { return false };
        match (v, first) {
            (Value::Mapping(m), Ok(k)) => {
                if rest.is_empty() {
                    let before = m.len();
                    m.retain(|kk, _| kk.as_str() != Some(k.as_str()));
                    return m.len() != before;
                }
                let Some(child) = m.get_mut(k) else { return false };
                let done = go(child, rest);
                if done && is_empty(child) {
                    m.retain(|kk, _| kk.as_str() != Some(k.as_str()));
                }
                done
            }
            (Value::Sequence(s), Err(i)) => {
                if rest.is_empty() {
                    if *i < s.len() {
                        s.remove(*i);
                        return true;
                    }
                    return false;
                }
                let Some(child) = s.get_mut(*i) else { return false };
                let done = go(child, rest);
                if done && is_empty(child) {
                    s.remove(*i);
                }
                done
            }
            _ => false,
        }
    }
    fn is_empty(v: &Value) -> bool {
        matches!(v, Value::Mapping(m) if m.is_empty())
            || matches!(v, Value::Sequence(s) if s.is_empty())
    }
    let mut node = Value::Mapping(std::mem::take(root));
    let done = go(&mut node, &segments(key));
    if let Value::Mapping(m) = node {
        *root = m;
    }
    done
}

fn render(out: &Out, source: &str) -> String {
    let mut text = format!(
        "# wirebeat.yml converted from {source} by `wirebeat export config --from-packetbeat`.\n\
         # Settings not listed here keep wirebeat's defaults (packaging/wirebeat.yml shows them).\n"
    );
    if out.root.is_empty() {
        text.push_str("{}\n");
    } else {
        text.push_str(&yaml::to_string(&Value::Mapping(out.root.clone())));
    }
    if !out.notes.is_empty() {
        text.push_str("\n# Not carried over from ");
        text.push_str(source);
        text.push_str(":\n");
        for n in &out.notes {
            text.push_str("# ");
            text.push_str(&n.replace('\n', " "));
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKETBEAT: &str = "\
name: edge-1
tags: [dmz]
fields: {env: prod}
fields_under_root: true
packetbeat.interfaces.device: eth1
packetbeat.interfaces.type: af_packet
packetbeat.interfaces.snaplen: 1514
packetbeat.interfaces.bpf_filter: \"not port 22\"
packetbeat.interfaces.internal_networks: [private, 198.51.100.0/24]
packetbeat.flows:
  timeout: 45s
  period: -1s
packetbeat.protocols:
- type: icmp
  enabled: true
- type: dns
  ports: [53]
  include_authorities: false
  send_request: true
- type: http
  ports: [80, 8080]
  send_headers: [host, user-agent]
  include_body_for: [application/json]
  transaction_timeout: 5s
- type: tls
  ports: [443, 8443]
  send_certificates: true
- type: mysql
  ports: [3306]
- type: sip
  ports: [5060]
  parse_authorization: true
packetbeat.procs.enabled: false
processors:
  - add_host_metadata: {netinfo.enabled: true}
  - drop_event:
      when.equals.network.protocol: dns
  - add_cloud_metadata: ~
output.kafka:
  hosts: [\"k1:9092\", \"k2:9092\"]
  topic: packetbeat
  partition.round_robin: {reachable_only: false}
  compression: gzip
  required_acks: 1
logging.level: warning
logging.to_files: true
queue.mem.events: 4096
queue.mem.flush.min_events: 512
setup.kibana.host: \"kibana:5601\"
monitoring.enabled: false
";

    #[test]
    fn converts_and_notes_what_does_not_carry_over() {
        let text = from_packetbeat(PACKETBEAT, "packetbeat.yml").unwrap();
        // The result loads as a wirebeat configuration.
        let s = crate::config::load_str(&text, "out.yml", &[], &|_| None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(s.name.as_deref(), Some("edge-1"));
        assert_eq!(s.tags, vec!["dmz".to_string()]);
        assert_eq!(s.fields.get("env").map(String::as_str), Some("prod"));
        let w = &s.wirebeat;
        assert_eq!(w.interfaces.len(), 1);
        assert_eq!(w.interfaces[0].name, "eth1");
        assert_eq!(w.interfaces[0].snaplen, 1514);
        assert_eq!(w.interfaces[0].bpf_filter, "not port 22");
        assert_eq!(w.interfaces[0].kind, crate::capture::config::CaptureType::AfPacket);
        assert_eq!(w.internal_networks, vec!["private".to_string(), "198.51.100.0/24".into()]);
        assert_eq!(w.flows.timeout, crate::units::Duration::from_secs(45));
        assert_eq!(w.flows.period, crate::units::Duration::from_secs(0));
        assert_eq!(w.protocols.dns.ports, vec![53]);
        assert!(!w.protocols.dns.include_authorities);
        assert_eq!(w.protocols.http.ports, vec![80, 8080]);
        assert_eq!(w.protocols.http.send_headers, vec!["host".to_string(), "user-agent".into()]);
        assert_eq!(w.protocols.http.include_body_for, vec!["application/json".to_string()]);
        assert_eq!(w.protocols.tls.ports, vec![443, 8443]);
        assert!(w.protocols.icmp.enabled);
        assert_eq!(s.config().processors.len(), 1);
        let k = s.output.kafka.as_ref().unwrap();
        assert_eq!(k.hosts, vec!["k1:9092".to_string(), "k2:9092".into()]);
        assert_eq!(k.topic, "packetbeat");
        assert_eq!(k.required_acks, 1);
        assert_eq!(s.logging.level, "warn");
        assert_eq!(s.queue.mem.events, 4096);
        assert_eq!(s.setup.kibana.host, "kibana:5601");
        // One comment line per setting left behind, with its reason.
        let notes: Vec<&str> =
            text.lines().skip_while(|l| !l.starts_with("# Not carried over")).skip(1).collect();
        for want in [
            "# fields_under_root: wirebeat writes fields under labels.*",
            "# packetbeat.protocols.dns.send_request: wirebeat does not write the raw request text",
            "# packetbeat.protocols.http.transaction_timeout: one timeout for every protocol",
            "# packetbeat.protocols.tls.send_certificates: certificates are always parsed",
            "# packetbeat.procs: wirebeat is a passive network sensor",
            "# processors[0] (add_host_metadata): host.* is written by wirebeat.host_metadata",
            "# processors[2] (add_cloud_metadata): no such processor in wirebeat",
            "# logging.to_files: no wirebeat equivalent",
            "# queue.mem.flush: no wirebeat equivalent",
            "# monitoring: no wirebeat equivalent",
            "# output.kafka.partition: no such setting in wirebeat (was: {round_robin: {reachable_only: false}})",
        ] {
            assert!(notes.iter().any(|n| n.starts_with(want)), "no {want:?} in\n{text}");
        }
        // Protocols this build does not parse are notes naming their section and settings.
        for name in ["mysql", "sip"] {
            let want = format!(
                "# wirebeat.protocols.{name}: this wirebeat build has no such protocol yet (was: "
            );
            let present = crate::config::load_str(
                &format!("wirebeat.protocols.{name}.enabled: true\n"),
                "t.yml",
                &[],
                &|_| None,
            )
            .is_ok();
            assert_eq!(notes.iter().any(|n| n.starts_with(&want)), !present, "{text}");
        }
        assert!(notes.iter().all(|n| n.starts_with("# ")), "{text}");
    }

    #[test]
    fn empty_and_broken_inputs() {
        let text = from_packetbeat("", "p.yml").unwrap();
        assert!(crate::config::load_str(&text, "out.yml", &[], &|_| None).is_ok(), "{text}");
        assert!(!text.contains("Not carried over"));
        assert!(from_packetbeat("a: [\n", "p.yml").unwrap_err().starts_with("p.yml: "));
        let text = from_packetbeat("- 1\n- 2\n", "p.yml").unwrap();
        assert!(text.contains("# (document): not a mapping of settings"), "{text}");
        // A value wirebeat refuses is a note with the reason, the rest carries over.
        let text = from_packetbeat(
            "packetbeat.interfaces: {device: any, snaplen: 10}\npacketbeat.flows.timeout: 5s\n",
            "p.yml",
        )
        .unwrap();
        let s = crate::config::load_str(&text, "out.yml", &[], &|_| None).unwrap();
        assert_eq!(s.wirebeat.flows.timeout, crate::units::Duration::from_secs(5));
        assert_eq!(s.wirebeat.interfaces[0].name, "any");
        assert!(text.contains("# wirebeat.interfaces[0].snaplen: not accepted: "), "{text}");
        let text = from_packetbeat("packetbeat.interfaces.device: 0\n", "p.yml").unwrap();
        assert!(text.contains("# packetbeat.interfaces.device: device number 0"), "{text}");
    }
}
