//! The `_bulk` wire format: targets, deterministic ids, NDJSON bodies, item results.

use crate::ecs::EncodedEvent;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The parts of a document the output routes by; the rest of the JSON is skipped.
#[derive(Deserialize, Default)]
struct Head {
    #[serde(default)]
    data_stream: Option<DataStream>,
}

#[derive(Deserialize, Default)]
struct DataStream {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// Where an event goes: `index` when configured (with `%{[data_stream.type]}`,
/// `%{[data_stream.dataset]}` and `%{[data_stream.namespace]}` replaced), else the data stream
/// `<type>-<dataset>-<namespace>` (`logs`, the event's dataset, `default` when absent).
pub fn target(index: Option<&str>, ev: &EncodedEvent) -> String {
    let head: Head = serde_json::from_slice(&ev.json).unwrap_or_default();
    let ds = head.data_stream.unwrap_or_default();
    let kind = ds.kind.filter(|s| !s.is_empty()).unwrap_or_else(|| "logs".into());
    let ns = ds.namespace.filter(|s| !s.is_empty()).unwrap_or_else(|| "default".into());
    match index {
        Some(t) => t
            .replace("%{[data_stream.type]}", &kind)
            .replace("%{[data_stream.dataset]}", ev.dataset)
            .replace("%{[data_stream.namespace]}", &ns),
        None => format!("{kind}-{}-{ns}", ev.dataset),
    }
}

/// A deterministic `_id`: the first 128 bits of the SHA-256 of the document bytes, base64url.
/// A resent document gets the same id, so a retry that Elasticsearch already applied answers
/// 409 instead of indexing a second copy.
pub fn doc_id(json: &[u8]) -> String {
    use base64::Engine;
    let d = Sha256::digest(json);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.get(..16).unwrap_or(&[]))
}

/// `{"create":{"_index":…,"_id":…}}` and a newline.
pub fn action_line(index: &str, id: &str) -> Vec<u8> {
    let mut s = serde_json::json!({ "create": { "_index": index, "_id": id } }).to_string();
    s.push('\n');
    s.into_bytes()
}

/// Bulk body bytes for one event: action line, source line (both newline-terminated).
pub fn entry_len(action: &[u8], json: &[u8]) -> usize {
    action.len() + json.len() + 1
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    items: Vec<std::collections::BTreeMap<String, RawItem>>,
}

#[derive(Deserialize)]
struct RawItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// One item's result, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    pub status: u16,
    pub error_type: String,
    pub reason: String,
}

/// The items of a `_bulk` answer, or why it cannot be read.
pub fn parse_response(body: &[u8]) -> Result<Vec<ItemResult>, String> {
    let r: Response =
        serde_json::from_slice(body).map_err(|e| format!("unreadable _bulk response: {e}"))?;
    Ok(r.items
        .into_iter()
        .map(|m| match m.into_iter().next() {
            Some((_, it)) => {
                let (error_type, reason) =
                    it.error.as_ref().map(describe_error).unwrap_or_default();
                ItemResult { status: it.status, error_type, reason }
            }
            None => ItemResult {
                status: 500,
                error_type: String::new(),
                reason: "empty bulk item".into(),
            },
        })
        .collect())
}

/// (type, "reason (caused by: type: reason)") from an Elasticsearch error object.
pub fn describe_error(e: &serde_json::Value) -> (String, String) {
    if let Some(s) = e.as_str() {
        return (String::new(), s.to_owned());
    }
    let kind = e.get("type").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let mut reason = e.get("reason").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    if let Some(c) = e.get("caused_by") {
        let (ct, cr) = describe_error(c);
        if !ct.is_empty() || !cr.is_empty() {
            reason = format!("{reason} (caused by: {ct}: {cr})");
        }
    }
    (kind, reason)
}

/// A whole-request error body, reduced to one line.
pub fn request_error(status: u16, body: &[u8]) -> String {
    let detail = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").map(describe_error))
        .map(|(t, r)| if t.is_empty() { r } else { format!("{t}: {r}") })
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body.get(..200.min(body.len())).unwrap_or(&[])).into_owned()
        });
    if detail.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", detail.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> EncodedEvent {
        EncodedEvent { dataset: "network_traffic.flow", key: None, json: json.as_bytes().to_vec() }
    }

    #[test]
    fn targets() {
        let e = ev(
            r#"{"a":1,"data_stream":{"type":"logs","dataset":"network_traffic.flow","namespace":"prod"}}"#,
        );
        assert_eq!(target(None, &e), "logs-network_traffic.flow-prod");
        assert_eq!(target(None, &ev("{}")), "logs-network_traffic.flow-default");
        assert_eq!(target(None, &ev("not json")), "logs-network_traffic.flow-default");
        assert_eq!(
            target(Some("wb-%{[data_stream.dataset]}-%{[data_stream.namespace]}"), &e),
            "wb-network_traffic.flow-prod"
        );
        assert_eq!(target(Some("fixed"), &e), "fixed");
    }

    #[test]
    fn ids_are_deterministic() {
        let a = doc_id(b"{\"x\":1}");
        assert_eq!(a, doc_id(b"{\"x\":1}"));
        assert_ne!(a, doc_id(b"{\"x\":2}"));
        assert_eq!(a.len(), 22);
    }

    #[test]
    fn actions() {
        let l = action_line("logs-a-b", "id1");
        assert_eq!(l, b"{\"create\":{\"_id\":\"id1\",\"_index\":\"logs-a-b\"}}\n".to_vec());
    }

    #[test]
    fn responses() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":"x","_id":"1","status":201}},
            {"create":{"_index":"x","_id":"2","status":400,"error":{"type":"document_parsing_exception","reason":"bad","caused_by":{"type":"illegal_argument_exception","reason":"nope"}}}},
            {"create":{"_index":"x","_id":"3","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}}]}"#;
        let items = parse_response(body).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].status, 201);
        assert_eq!(items[1].error_type, "document_parsing_exception");
        assert_eq!(items[1].reason, "bad (caused by: illegal_argument_exception: nope)");
        assert_eq!(items[2].status, 409);
        assert!(parse_response(b"<html>").is_err());
    }

    #[test]
    fn request_errors() {
        let body = br#"{"error":{"type":"security_exception","reason":"missing authentication"},"status":401}"#;
        assert_eq!(
            request_error(401, body),
            "HTTP 401: security_exception: missing authentication"
        );
        assert_eq!(request_error(502, b""), "HTTP 502");
        assert_eq!(request_error(502, b"Bad Gateway"), "HTTP 502: Bad Gateway");
    }
}
