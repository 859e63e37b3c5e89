//! Component templates and the two composable index templates.
//!
//! | index template | pattern | priority |
//! |---|---|---|
//! | `wirebeat-logs-network_traffic` | `logs-network_traffic.*-*` | 150 (`setup.template.priority`) |
//! | `wirebeat-logs-wirebeat` | `logs-wirebeat.*-*` | 150 (`setup.template.priority`) |
//!
//! **Priorities: coexistence with Fleet.** A new data stream takes the one matching index
//! template of highest priority; Elasticsearch refuses a template whose patterns overlap another
//! one of *equal* priority. The neighbours are Elasticsearch's built-in `logs` template
//! (`logs-*-*`, priority 100) and the templates Fleet's Network Packet Capture integration
//! installs for the streams it writes, `logs-network_traffic.<proto>` (`logs-network_traffic.
//! <proto>-*`, priority 200). The rule: **wirebeat never silently takes over a stream Elastic's
//! own integration manages.** The default, [`DEFAULT_PRIORITY`] 150, is above `logs` (so
//! wirebeat's mappings and default pipeline apply at all) and below Fleet's 200: where the
//! integration is installed, its templates govern its `network_traffic.<proto>` streams (wirebeat's
//! documents then get Fleet's mappings and pipeline: fields Fleet does not map are mapped
//! dynamically, and wirebeat's pipeline does not run), and wirebeat's templates govern every
//! other stream (datasets the integration lacks, every namespace it has no template for, and all
//! of `logs-wirebeat.*`). `wirebeat setup` reads the installed templates and says which of
//! wirebeat's streams another template governs, and which fields its mappings lack.
//! Overriding Fleet is a conscious choice: `setup.template.priority: 250` (any value above 200);
//! exactly 200 is a configuration error (Elasticsearch would refuse the overlap), and so is 100 or
//! less (the built-in `logs` template would win or collide). Both index templates use the same
//! priority so that one rule covers both.
//!
//! Both index templates compose, in order (later ones override earlier ones):
//! `wirebeat@lifecycle` (ILM policy or data stream lifecycle), `wirebeat@settings`,
//! `wirebeat-ecs@mappings`, `wirebeat-fields@mappings` and `wirebeat@custom`, the user's
//! overrides, which wirebeat never installs (`ignore_missing_component_templates`).

use super::fields::Field;
use super::{Lifecycle, CONTENT_VERSION, ILM_POLICY, PIPELINE};
use serde_json::{json, Map, Value};

pub const LIFECYCLE_COMPONENT: &str = "wirebeat@lifecycle";
pub const SETTINGS_COMPONENT: &str = "wirebeat@settings";
pub const ECS_MAPPINGS_COMPONENT: &str = "wirebeat-ecs@mappings";
pub const FIELD_MAPPINGS_COMPONENT: &str = "wirebeat-fields@mappings";
/// The user's own component template (not installed by wirebeat; may be missing).
pub const CUSTOM_COMPONENT: &str = "wirebeat@custom";

/// Default priority of both index templates (see the module documentation).
pub const DEFAULT_PRIORITY: u32 = 150;
/// Priority of Elasticsearch's built-in `logs` template (`logs-*-*`).
pub const LOGS_BUILTIN_PRIORITY: u32 = 100;
/// Priority of the templates of Fleet's Network Packet Capture integration
/// (`logs-network_traffic.<proto>`).
pub const FLEET_PRIORITY: u32 = 200;
/// A priority that overrides Fleet's templates (the value the documentation suggests).
pub const OVERRIDE_PRIORITY: u32 = 250;

/// Why `priority` cannot be the index templates' priority, if it cannot.
pub fn priority_problem(priority: u32) -> Option<String> {
    if priority <= LOGS_BUILTIN_PRIORITY {
        Some(format!(
            "must be above {LOGS_BUILTIN_PRIORITY}, the priority of Elasticsearch's built-in \
             `logs` template (logs-*-*), or wirebeat's templates never apply; got {priority}"
        ))
    } else if priority == FLEET_PRIORITY {
        Some(format!(
            "must not be {FLEET_PRIORITY}, the priority of Fleet's Network Packet Capture \
             templates (logs-network_traffic.<proto>-*): Elasticsearch refuses overlapping \
             templates of equal priority. Use {DEFAULT_PRIORITY} (Fleet's templates govern \
             the streams they match) or {OVERRIDE_PRIORITY} (wirebeat's govern them)"
        ))
    } else {
        None
    }
}

/// Retention of the data stream lifecycle (clusters without ILM) and of the ILM delete phase.
pub const RETENTION: &str = "30d";

/// A composable index template wirebeat installs.
#[derive(Debug, Clone, Copy)]
pub struct IndexTemplate {
    pub name: &'static str,
    pub pattern: &'static str,
    pub description: &'static str,
}

/// The two index templates: Packetbeat-compatible datasets and wirebeat's own.
pub const INDEX_TEMPLATES: &[IndexTemplate] = &[
    IndexTemplate {
        name: "wirebeat-logs-network_traffic",
        pattern: "logs-network_traffic.*-*",
        description: "wirebeat flows and transactions: network_traffic.flow, dns, http, tls, \
                      icmp, dhcpv4",
    },
    IndexTemplate {
        name: "wirebeat-logs-wirebeat",
        pattern: "logs-wirebeat.*-*",
        description: "wirebeat's own datasets: wirebeat.alert (detections) and wirebeat.health \
                      (sensor health metrics)",
    },
];

fn meta(description: &str) -> Value {
    json!({ "managed_by": "wirebeat", "managed": true, "description": description })
}

/// The `properties` tree of `fields`, and the conflicts found (a name that is a leaf in one
/// field and an object path in another). The first field of a conflicting pair is kept.
pub fn properties(fields: &[Field]) -> (Map<String, Value>, Vec<String>) {
    let mut root = Map::new();
    let mut conflicts = Vec::new();
    for f in fields {
        let parts: Vec<&str> = f.name.split('.').collect();
        insert(&mut root, &parts, f.mapping(), &f.name, &mut conflicts);
    }
    (root, conflicts)
}

fn is_object_type(t: Option<&str>) -> bool {
    matches!(t, None | Some("object") | Some("nested"))
}

fn insert(
    node: &mut Map<String, Value>,
    path: &[&str],
    mapping: Value,
    name: &str,
    conflicts: &mut Vec<String>,
) {
    let Some((head, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        match node.get_mut(*head) {
            None => {
                node.insert((*head).to_owned(), mapping);
            }
            Some(existing) => {
                // An object path seen before (it has properties): the field may type it as an
                // object; anything else is a conflict.
                let new_type = mapping.get("type").and_then(Value::as_str);
                let old_type = existing.get("type").and_then(Value::as_str);
                let ok = existing.get("properties").is_some()
                    && is_object_type(new_type)
                    && (old_type.is_none() || old_type == new_type);
                match (ok, existing.as_object_mut(), new_type) {
                    (true, Some(obj), Some(t)) => {
                        obj.insert("type".into(), t.into());
                    }
                    (true, _, None) => {}
                    _ => conflicts.push(format!("{name}: already mapped as {existing}")),
                }
            }
        }
        return;
    }
    let child = node.entry((*head).to_owned()).or_insert_with(|| json!({ "properties": {} }));
    if !is_object_type(child.get("type").and_then(Value::as_str)) {
        conflicts.push(format!("{name}: {head} is a leaf field ({child})"));
        return;
    }
    let Some(obj) = child.as_object_mut() else {
        conflicts.push(format!("{name}: {head} is not an object"));
        return;
    };
    let props = obj.entry("properties").or_insert_with(|| json!({}));
    match props.as_object_mut() {
        Some(p) => insert(p, rest, mapping, name, conflicts),
        None => conflicts.push(format!("{name}: properties of {head} is not an object")),
    }
}

/// Dynamic templates, in the order Elasticsearch tries them: the sensor-health counters are
/// `long`, other new strings `keyword` (as Beats and ECS do).
pub fn dynamic_templates() -> Value {
    json!([
        { "wirebeat_stats": {
            "path_match": "wirebeat.stats.*",
            "mapping": { "type": "long" }
        } },
        { "strings_as_keyword": {
            "match_mapping_type": "string",
            "mapping": { "type": "keyword", "ignore_above": 1024 }
        } }
    ])
}

/// Every component template as (name, body), in installation order.
pub fn component_templates(fields: &[Field], lifecycle: Lifecycle) -> Vec<(String, Value)> {
    let (ecs, custom): (Vec<Field>, Vec<Field>) = fields.iter().cloned().partition(|f| !f.custom);
    let (ecs_props, _) = properties(&ecs);
    let (custom_props, _) = properties(&custom);
    let lifecycle_body = match lifecycle {
        Lifecycle::Ilm => json!({
            "template": { "settings": { "index": { "lifecycle": { "name": ILM_POLICY } } } },
            "version": CONTENT_VERSION,
            "_meta": meta("wirebeat data streams are managed by the ILM policy wirebeat")
        }),
        Lifecycle::DataStream => json!({
            "template": { "lifecycle": { "data_retention": RETENTION } },
            "version": CONTENT_VERSION,
            "_meta": meta("wirebeat data streams are managed by the data stream lifecycle \
                           (clusters without ILM)")
        }),
    };
    vec![
        (LIFECYCLE_COMPONENT.to_owned(), lifecycle_body),
        (
            SETTINGS_COMPONENT.to_owned(),
            json!({
                "template": { "settings": { "index": {
                    "codec": "best_compression",
                    "default_pipeline": PIPELINE,
                    "mapping": { "total_fields": { "limit": 10000 } }
                } } },
                "version": CONTENT_VERSION,
                "_meta": meta("wirebeat index settings: compression, field limit, default \
                               ingest pipeline")
            }),
        ),
        (
            ECS_MAPPINGS_COMPONENT.to_owned(),
            json!({
                "template": { "mappings": { "properties": ecs_props } },
                "version": CONTENT_VERSION,
                "_meta": meta("ECS 9.4 fields wirebeat writes or its pipeline adds")
            }),
        ),
        (
            FIELD_MAPPINGS_COMPONENT.to_owned(),
            json!({
                "template": { "mappings": {
                    "date_detection": false,
                    "dynamic_templates": dynamic_templates(),
                    "properties": custom_props
                } },
                "version": CONTENT_VERSION,
                "_meta": meta("wirebeat fields outside ECS (Packetbeat-compatible names, \
                               network_traffic.*) and dynamic templates")
            }),
        ),
    ]
}

/// Every index template as (name, body), at the default priority.
pub fn index_templates() -> Vec<(String, Value)> {
    index_templates_at(DEFAULT_PRIORITY)
}

/// Every index template as (name, body), at `priority`.
pub fn index_templates_at(priority: u32) -> Vec<(String, Value)> {
    INDEX_TEMPLATES
        .iter()
        .map(|t| {
            (
                t.name.to_owned(),
                json!({
                    "index_patterns": [t.pattern],
                    "data_stream": {},
                    "priority": priority,
                    "composed_of": [
                        LIFECYCLE_COMPONENT,
                        SETTINGS_COMPONENT,
                        ECS_MAPPINGS_COMPONENT,
                        FIELD_MAPPINGS_COMPONENT,
                        CUSTOM_COMPONENT
                    ],
                    "ignore_missing_component_templates": [CUSTOM_COMPONENT],
                    "version": CONTENT_VERSION,
                    "_meta": meta(t.description)
                }),
            )
        })
        .collect()
}

/// Mapping conflicts among all fields together (must be empty; a test checks it).
pub fn mapping_conflicts(fields: &[Field]) -> Vec<String> {
    properties(fields).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, es_type: &str) -> Field {
        Field {
            name: name.into(),
            es_type: es_type.into(),
            custom: true,
            ignore_above: None,
            multi_fields: Vec::new(),
            indexed: true,
            description: String::new(),
        }
    }

    #[test]
    fn builds_nested_properties_and_types_objects() {
        let (p, c) = properties(&[
            field("dns.answers", "object"),
            field("dns.answers.ttl", "long"),
            field("dns.id", "keyword"),
        ]);
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(
            Value::Object(p),
            json!({"dns": {"properties": {
                "answers": {"type": "object", "properties": {"ttl": {"type": "long"}}},
                "id": {"type": "keyword"}
            }}})
        );
    }

    #[test]
    fn reports_leaf_and_object_conflicts() {
        let (_, c) = properties(&[field("a.b", "keyword"), field("a.b.c", "long")]);
        assert_eq!(c.len(), 1, "{c:?}");
        let (_, c) = properties(&[field("a.b.c", "long"), field("a.b", "keyword")]);
        assert_eq!(c.len(), 1, "{c:?}");
        let (_, c) = properties(&[field("a.b.c", "long"), field("a.b", "object")]);
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn priority_rules() {
        assert!(priority_problem(DEFAULT_PRIORITY).is_none());
        assert!(priority_problem(OVERRIDE_PRIORITY).is_none());
        assert!(priority_problem(FLEET_PRIORITY).unwrap().contains("equal priority"));
        assert!(priority_problem(LOGS_BUILTIN_PRIORITY).unwrap().contains("logs-*-*"));
        assert!(priority_problem(7).is_some());
        let t = index_templates_at(250);
        assert!(t.iter().all(|(_, b)| b["priority"] == 250));
        assert!(index_templates().iter().all(|(_, b)| b["priority"] == DEFAULT_PRIORITY));
    }

    #[test]
    fn all_fields_map_without_conflict() {
        assert_eq!(mapping_conflicts(&super::super::fields::all()), Vec::<String>::new());
    }
}
