//! Oversize events: an event whose JSON is larger than `max_message_bytes` is replaced by a
//! smaller document that still says what happened between whom and when, tagged
//! `wirebeat_trimmed` with the original size in `wirebeat.original_bytes`. Nothing is dropped
//! silently: if even the trimmed document is too large the event is rejected with a reason.

use serde_json::{Map, Value};

pub const TRIM_TAG: &str = "wirebeat_trimmed";

/// Top-level fields kept whole.
const KEEP: &[&str] =
    &["@timestamp", "event", "data_stream", "source", "destination", "observer", "agent", "ecs"];
/// `network.*` fields kept.
const KEEP_NETWORK: &[&str] = &["community_id", "transport", "type", "protocol", "direction"];

/// Fields kept by the smallest form, used when the first one is still too large.
const MINIMAL: &[(&str, &[&str])] = &[
    ("@timestamp", &[]),
    ("event", &["dataset", "kind", "category", "type", "start", "end", "duration"]),
    ("data_stream", &[]),
    ("source", &["ip", "port"]),
    ("destination", &["ip", "port"]),
    ("network", &["community_id", "transport"]),
    ("observer", &["hostname", "name"]),
    ("agent", &["id", "name"]),
];

/// The trimmed replacement of `json`, at most `max` bytes.
pub fn trim(json: &[u8], dataset: &str, max: usize) -> Result<Vec<u8>, String> {
    let original: Map<String, Value> = match serde_json::from_slice(json) {
        Ok(Value::Object(m)) => m,
        _ => {
            let mut m = Map::new();
            m.insert("data_stream".into(), serde_json::json!({ "dataset": dataset }));
            m.insert("event".into(), serde_json::json!({ "dataset": dataset }));
            m
        }
    };
    let mut keep: Vec<(&str, &[&str])> = KEEP.iter().map(|k| (*k, &[][..])).collect();
    keep.push(("network", KEEP_NETWORK));
    let mut last = 0;
    for fields in [keep.as_slice(), MINIMAL] {
        let bytes = serde_json::to_vec(&Value::Object(pick(&original, fields, json.len())))
            .map_err(|e| e.to_string())?;
        if bytes.len() <= max {
            return Ok(bytes);
        }
        last = bytes.len();
    }
    Err(format!(
        "event of {} bytes is larger than max_message_bytes ({max}) even when trimmed to {last} \
         bytes",
        json.len()
    ))
}

/// The chosen fields (all of an object when no subfields are named), the tags plus
/// [`TRIM_TAG`], and the original size.
fn pick(
    original: &Map<String, Value>,
    fields: &[(&str, &[&str])],
    size: usize,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, sub) in fields {
        let Some(v) = original.get(*key) else { continue };
        match (v, sub.is_empty()) {
            (_, true) => {
                out.insert((*key).to_owned(), v.clone());
            }
            (Value::Object(o), false) => {
                let kept: Map<String, Value> = sub
                    .iter()
                    .filter_map(|k| o.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                    .collect();
                if !kept.is_empty() {
                    out.insert((*key).to_owned(), Value::Object(kept));
                }
            }
            _ => {}
        }
    }
    let mut tags: Vec<Value> = match original.get("tags") {
        Some(Value::Array(a)) => a.iter().filter(|t| t.is_string()).cloned().collect(),
        _ => Vec::new(),
    };
    tags.push(Value::String(TRIM_TAG.into()));
    out.insert("tags".into(), Value::Array(tags));
    out.insert("wirebeat".into(), serde_json::json!({ "original_bytes": size }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_identity_fields_and_tags_the_event() {
        let big = "x".repeat(5000);
        let doc = serde_json::json!({
            "@timestamp": "2024-01-01T00:00:00.000Z",
            "event": {"dataset": "network_traffic.http", "kind": "event"},
            "data_stream": {"dataset": "network_traffic.http", "type": "logs"},
            "source": {"ip": "10.0.0.1", "port": 1234},
            "destination": {"ip": "10.0.0.2", "port": 80},
            "network": {"community_id": "1:abc", "transport": "tcp", "bytes": 10},
            "observer": {"hostname": "h"},
            "agent": {"type": "wirebeat"},
            "tags": ["mine"],
            "http": {"response": {"body": {"content": big}}},
        });
        let json = serde_json::to_vec(&doc).unwrap();
        let out = trim(&json, "network_traffic.http", 2000).unwrap();
        assert!(out.len() <= 2000);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["@timestamp"], doc["@timestamp"]);
        assert_eq!(v["event"], doc["event"]);
        assert_eq!(v["data_stream"], doc["data_stream"]);
        assert_eq!(v["source"], doc["source"]);
        assert_eq!(v["destination"], doc["destination"]);
        assert_eq!(v["observer"], doc["observer"]);
        assert_eq!(v["agent"], doc["agent"]);
        assert_eq!(v["network"], serde_json::json!({"community_id": "1:abc", "transport": "tcp"}));
        assert_eq!(v["tags"], serde_json::json!(["mine", "wirebeat_trimmed"]));
        assert_eq!(v["wirebeat"]["original_bytes"], json.len());
        assert!(v.get("http").is_none());
    }

    #[test]
    fn unparsable_input_still_gives_a_document() {
        let out = trim(b"not json", "network_traffic.flow", 1000).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["data_stream"]["dataset"], "network_traffic.flow");
        assert_eq!(v["tags"], serde_json::json!(["wirebeat_trimmed"]));
        assert_eq!(v["wirebeat"]["original_bytes"], 8);
    }

    #[test]
    fn falls_back_to_the_minimal_form() {
        let doc = serde_json::json!({
            "@timestamp": "2024-01-01T00:00:00.000Z",
            "event": {"dataset": "network_traffic.flow", "reason": "r".repeat(900)},
            "source": {"ip": "10.0.0.1", "port": 1, "mac": "m".repeat(300)},
            "network": {"community_id": "1:abc"},
            "payload": "p".repeat(3000),
        });
        let json = serde_json::to_vec(&doc).unwrap();
        let out = trim(&json, "network_traffic.flow", 1000).unwrap();
        assert!(out.len() <= 1000);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["event"], serde_json::json!({"dataset": "network_traffic.flow"}));
        assert_eq!(v["source"], serde_json::json!({"ip": "10.0.0.1", "port": 1}));
        assert_eq!(v["network"]["community_id"], "1:abc");
        assert_eq!(v["tags"], serde_json::json!(["wirebeat_trimmed"]));
    }

    #[test]
    fn too_large_even_trimmed_is_an_error() {
        let doc = serde_json::json!({"source": {"ip": "x".repeat(3000)}});
        let json = serde_json::to_vec(&doc).unwrap();
        let err = trim(&json, "network_traffic.flow", 1000).unwrap_err();
        assert!(err.contains("even when trimmed"), "{err}");
    }
}
