//! Every field wirebeat emits over the whole corpus is an ECS field of a matching type
//! (../shared/ecs/ecs_flat.yml) or on the explicit custom-field list (`wirebeat::ecs::fields`).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn ecs_types() -> BTreeMap<String, (String, bool)> {
    let text = std::fs::read_to_string(shared().join("ecs/ecs_flat.yml")).unwrap();
    let y: wirebeat::yaml::Value = wirebeat::yaml::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for (k, v) in y.as_mapping().unwrap() {
        let ty = v.get("type").and_then(|t| t.as_str()).unwrap_or("").to_owned();
        let array = v
            .get("normalize")
            .and_then(|n| n.as_sequence())
            .is_some_and(|s| s.iter().any(|x| x.as_str() == Some("array")));
        out.insert(k.as_str().unwrap().to_owned(), (ty, array));
    }
    out
}

fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&p, x, out);
            }
        }
        _ => out.push((prefix.to_owned(), v.clone())),
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(|x| type_ok(ty, x)),
        Value::Null => true,
        _ => match ty {
            "keyword" | "constant_keyword" | "wildcard" | "match_only_text" | "text" => {
                v.is_string()
            }
            "long" | "integer" | "short" | "byte" | "unsigned_long" => v.is_u64() || v.is_i64(),
            "float" | "double" | "scaled_float" | "half_float" => v.is_number(),
            "boolean" => v.is_boolean(),
            "ip" => v.as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()),
            "date" => {
                v.as_str().is_some_and(|s| s.len() >= 20 && s.ends_with('Z') && &s[4..5] == "-")
            }
            "object" | "flattened" | "nested" => true,
            _ => false,
        },
    }
}

#[test]
fn every_emitted_field_is_ecs_or_listed_custom() {
    require_shared!();
    let ecs = ecs_types();
    let custom: BTreeMap<&str, &str> =
        wirebeat::ecs::fields::custom_fields().into_iter().map(|(n, t, _)| (n, t)).collect();
    let (out, events) = read(&[&corpus().join("pcaps")], &[]);
    assert!(
        events.len() > 1000,
        "events: {} {}",
        events.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = BTreeSet::new();
    let mut problems = BTreeSet::new();
    for e in &events {
        let mut l = Vec::new();
        leaves("", e, &mut l);
        for (path, v) in l {
            seen.insert(path.clone());
            // Leaves under an ECS object field (labels.*) are free-form.
            if path.starts_with("labels.") {
                continue;
            }
            // Leaves under a custom `flattened`/`object` field (HTTP header maps) are free-form.
            if custom.iter().any(|(n, t)| {
                matches!(*t, "flattened" | "object") && path.starts_with(&format!("{n}."))
            }) {
                continue;
            }
            if let Some((ty, array)) = ecs.get(&path) {
                if !type_ok(ty, &v) {
                    problems.insert(format!("{path}: ECS type {ty}, value {v}"));
                }
                if *array && !v.is_array() {
                    problems.insert(format!("{path}: ECS wants an array, value {v}"));
                }
            } else if let Some(ty) = custom.get(path.as_str()) {
                if !type_ok(ty, &v) {
                    problems.insert(format!("{path}: custom type {ty}, value {v}"));
                }
            } else {
                problems.insert(format!("{path}: neither ECS nor a listed custom field"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.into_iter().collect::<Vec<_>>().join("\n"));
    // The allowed values of the categorisation fields.
    for e in &events {
        for (k, allowed) in [
            ("event.kind", &["event", "alert", "metric", "state", "signal", "pipeline_error"][..]),
            ("event.category", &["network", "intrusion_detection", "web"][..]),
            (
                "event.type",
                &["connection", "end", "protocol", "info", "start", "denied", "allowed"][..],
            ),
            ("network.direction", &["inbound", "outbound", "internal", "external", "unknown"][..]),
        ] {
            let v = get(e, k).unwrap_or_else(|| panic!("{k} missing in {e}"));
            let vals: Vec<&Value> =
                if let Value::Array(a) = v { a.iter().collect() } else { vec![v] };
            for x in vals {
                assert!(allowed.contains(&x.as_str().unwrap()), "{k}: {x}");
            }
        }
    }
}
