//! Processors with conditions, Packetbeat-style: the top-level `processors:` list of
//! `wirebeat.yml`, applied in order to every event before it reaches the queue.
//!
//! ```yaml
//! processors:
//!   - drop_event:
//!       when: {equals: {network.protocol: dns, dns.question.name: example.com}}
//!   - drop_fields: {fields: [http.request.headers], ignore_missing: true}
//!   - add_fields: {target: site, fields: {name: paris, rack: 7}}
//!   - add_tags: {tags: [span], when: {network: {source.ip: private}}}
//! ```
//!
//! Every processor takes an optional `when` condition; `drop_event` without one drops every
//! event. Conditions (as in Beats): `equals` (strings, numbers, booleans; a list field matches
//! when one element does), `contains` (substring of a string or of one element of a list of
//! strings), `regexp` (Rust `regex` syntax, unanchored like Beats'), `network` (CIDRs, single
//! addresses or the names of `internal_networks`, plus `public` and `unspecified`; a list is
//! any of them), `has_fields`, `range` (`gt`, `gte`, `lt`, `lte` on numbers), `and`, `or`,
//! `not`. A condition mapping names several fields: all must match (as in Beats).
//!
//! Cost: none without processors (the pipeline holds no chain). With them, each event's JSON is
//! parsed once; it is written again only when a processor changed it (then its keys come out
//! sorted, which Elasticsearch and Kafka consumers do not mind). `add_fields` and `add_tags`
//! overwrite / extend what is there; `drop_fields` never drops `@timestamp` (refused when
//! configured) and removes objects it leaves empty.
//!
//! A leaf module: it works on the event's bytes; the configuration's names of networks come
//! in from the caller ([`Chain::compile`]), the counting is the pipeline's.

mod condition;
#[cfg(test)]
mod tests;

use condition::Condition;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use condition::Named;

/// One entry of `processors:`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Processor {
    DropEvent(DropEvent),
    DropFields(DropFields),
    AddFields(AddFields),
    AddTags(AddTags),
}

/// `drop_event`: the event is not written (counted in `events_dropped_processor`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DropEvent {
    pub when: Option<Value>,
}

/// `drop_fields`: removes the fields (dotted names; a whole object by its name).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DropFields {
    pub fields: Vec<String>,
    /// A field the event does not have is not counted in `processor_field_errors`.
    pub ignore_missing: bool,
    pub when: Option<Value>,
}

/// `add_fields`: puts `fields` under `target` (default `fields`, as in Beats; `""`: the
/// event's root), overwriting values that are there.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AddFields {
    pub target: Option<String>,
    pub fields: Map<String, Value>,
    pub when: Option<Value>,
}

/// `add_tags`: appends `tags` (those not there yet) to the list at `target` (default `tags`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AddTags {
    pub tags: Vec<String>,
    pub target: Option<String>,
    pub when: Option<Value>,
}

/// A configuration error: the dotted key below `processors[i]` and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid { key: key.into(), message: message.into() }
    }
}

/// What the chain did to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// A `drop_event` matched: the event is not written.
    pub dropped: bool,
    /// Fields `drop_fields` was asked to drop that the event did not have (without
    /// `ignore_missing`).
    pub missing_fields: u64,
}

enum Action {
    Drop,
    DropFields { fields: Vec<String>, ignore_missing: bool },
    AddFields { target: Vec<String>, fields: Map<String, Value> },
    AddTags { target: Vec<String>, tags: Vec<String> },
}

struct Step {
    when: Option<Condition>,
    action: Action,
}

/// The compiled `processors:` list.
pub struct Chain {
    steps: Vec<Step>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chain({} processors)", self.steps.len())
    }
}

/// A dotted target (`""`: the root).
fn target_path(t: &str) -> Vec<String> {
    if t.is_empty() {
        Vec::new()
    } else {
        t.split('.').map(str::to_owned).collect()
    }
}

impl Chain {
    /// Compiles `list` (regexes, networks, ranges checked); `None` when it is empty. `named`
    /// resolves network names (`private`, …). Errors name the key below `processors`, e.g.
    /// `[0].drop_event.when.regexp.url.path`.
    pub fn compile(list: &[Processor], named: Named<'_>) -> Result<Option<Chain>, Invalid> {
        let mut steps = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            let at = |name: &str| format!("[{i}].{name}");
            let cond = |when: &Option<Value>, name: &str| -> Result<Option<Condition>, Invalid> {
                when.as_ref()
                    .map(|w| Condition::compile(w, &format!("{}.when", at(name)), named))
                    .transpose()
            };
            let step = match p {
                Processor::DropEvent(d) => {
                    Step { when: cond(&d.when, "drop_event")?, action: Action::Drop }
                }
                Processor::DropFields(d) => {
                    if d.fields.is_empty() {
                        return Err(Invalid::new(
                            format!("{}.fields", at("drop_fields")),
                            "needs at least one field",
                        ));
                    }
                    for (n, f) in d.fields.iter().enumerate() {
                        if f.is_empty() || f == "@timestamp" {
                            return Err(Invalid::new(
                                format!("{}.fields[{n}]", at("drop_fields")),
                                format!("{f:?} cannot be dropped"),
                            ));
                        }
                    }
                    Step {
                        when: cond(&d.when, "drop_fields")?,
                        action: Action::DropFields {
                            fields: d.fields.clone(),
                            ignore_missing: d.ignore_missing,
                        },
                    }
                }
                Processor::AddFields(a) => {
                    if a.fields.is_empty() {
                        return Err(Invalid::new(
                            format!("{}.fields", at("add_fields")),
                            "needs at least one field",
                        ));
                    }
                    let target = target_path(a.target.as_deref().unwrap_or("fields"));
                    if target.first().is_some_and(|t| t == "@timestamp")
                        || (target.is_empty() && a.fields.contains_key("@timestamp"))
                    {
                        return Err(Invalid::new(
                            format!("{}.fields", at("add_fields")),
                            "@timestamp cannot be replaced",
                        ));
                    }
                    Step {
                        when: cond(&a.when, "add_fields")?,
                        action: Action::AddFields { target, fields: a.fields.clone() },
                    }
                }
                Processor::AddTags(a) => {
                    if a.tags.is_empty() {
                        return Err(Invalid::new(
                            format!("{}.tags", at("add_tags")),
                            "needs at least one tag",
                        ));
                    }
                    let target = target_path(a.target.as_deref().unwrap_or("tags"));
                    if target.is_empty() {
                        return Err(Invalid::new(
                            format!("{}.target", at("add_tags")),
                            "must name a field (default: tags)",
                        ));
                    }
                    Step {
                        when: cond(&a.when, "add_tags")?,
                        action: Action::AddTags { target, tags: a.tags.clone() },
                    }
                }
            };
            steps.push(step);
        }
        Ok((!steps.is_empty()).then_some(Chain { steps }))
    }

    /// Runs the chain on one event's JSON (rewritten in place when a processor changed it).
    /// An event that is not a JSON object is left alone.
    pub fn apply(&self, json: &mut Vec<u8>) -> Outcome {
        let mut out = Outcome::default();
        let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(json) else {
            return out;
        };
        let mut changed = false;
        for step in &self.steps {
            if let Some(c) = &step.when {
                if !c.matches(&doc) {
                    continue;
                }
            }
            match &step.action {
                Action::Drop => {
                    out.dropped = true;
                    return out;
                }
                Action::DropFields { fields, ignore_missing } => {
                    for f in fields {
                        if remove(&mut doc, f) {
                            changed = true;
                        } else if !ignore_missing {
                            out.missing_fields += 1;
                        }
                    }
                }
                Action::AddFields { target, fields } => {
                    let slot = slot_at(&mut doc, target);
                    for (k, v) in fields {
                        merge(slot, k, v.clone());
                    }
                    changed = true;
                }
                Action::AddTags { target, tags } => {
                    let Some((last, parents)) = target.split_last() else { continue };
                    let parent = slot_at(&mut doc, parents);
                    let list = parent.entry(last.clone()).or_insert_with(|| Value::Array(vec![]));
                    if !list.is_array() {
                        // A scalar there becomes the first element of the list.
                        let old = std::mem::take(list);
                        *list = Value::Array(if old.is_null() { vec![] } else { vec![old] });
                    }
                    if let Value::Array(items) = list {
                        for t in tags {
                            if !items.iter().any(|x| x.as_str() == Some(t)) {
                                items.push(Value::String(t.clone()));
                            }
                        }
                    }
                    changed = true;
                }
            }
        }
        if changed {
            if let Ok(bytes) = serde_json::to_vec(&Value::Object(doc)) {
                *json = bytes;
            }
        }
        out
    }
}

/// The object at `path` below `doc`, made (replacing what is not an object) where missing.
fn slot_at<'a>(doc: &'a mut Map<String, Value>, path: &[String]) -> &'a mut Map<String, Value> {
    let mut cur = doc;
    for seg in path {
        let next = cur.entry(seg.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(m) = next else { unreachable!("made an object just above") };
        cur = m;
    }
    cur
}

/// Sets `key` in `m`: objects merge key by key, anything else replaces.
fn merge(m: &mut Map<String, Value>, key: &str, v: Value) {
    match (m.get_mut(key), v) {
        (Some(Value::Object(dst)), Value::Object(src)) => {
            for (k, x) in src {
                merge(dst, &k, x);
            }
        }
        (_, v) => {
            m.insert(key.to_owned(), v);
        }
    }
}

/// Removes the dotted field `path` (nested objects, or a key with dots in it); objects left
/// empty go too. Whether there was one.
fn remove(m: &mut Map<String, Value>, path: &str) -> bool {
    if m.remove(path).is_some() {
        return true;
    }
    for (i, _) in path.match_indices('.') {
        let (head, rest) = (&path[..i], &path[i + 1..]);
        if let Some(Value::Object(child)) = m.get_mut(head) {
            if remove(child, rest) {
                if child.is_empty() {
                    m.remove(head);
                }
                return true;
            }
        }
    }
    false
}

/// The value of the dotted field `path` (nested objects, or a key with dots in it).
pub(crate) fn lookup<'a>(m: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = m.get(path) {
        return Some(v);
    }
    for (i, _) in path.match_indices('.') {
        if let Some(Value::Object(child)) = m.get(&path[..i]) {
            if let Some(v) = lookup(child, &path[i + 1..]) {
                return Some(v);
            }
        }
    }
    None
}
