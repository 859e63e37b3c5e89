//! The setup APIs of the test server, as Elasticsearch and Kibana document them:
//!
//! - Elasticsearch: `GET /_ilm/status` (410 `api_not_available_exception` when `no_ilm`), `PUT`
//!   and `GET` of `/_ilm/policy/N`, `/_component_template/N`, `/_index_template/N`,
//!   `/_ingest/pipeline/N` with the answer shapes of the real APIs; an index template naming a
//!   component template that does not exist (and is not in its
//!   `ignore_missing_component_templates`) is refused (400 `invalid_index_template_exception`),
//!   as Elasticsearch does, so the order of the requests matters.
//! - Kibana: `GET /api/status`; `POST /api/saved_objects/_import` and
//!   `POST /api/detection_engine/rules/_import`: header `kbn-xsrf` required, multipart body with
//!   a `file` part whose filename ends in `.ndjson` (else 400 "Invalid file extension"); saved
//!   objects whose references resolve neither in the file nor in Kibana fail with
//!   `missing_references` inside a 200 answer; `overwrite=false` gives `conflict` errors for
//!   existing ids. `fail_next_import` makes the next import answer 200 with `success: false`.

use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Stack {
    pub no_ilm: bool,
    /// Path → body of every installed Elasticsearch object.
    pub installed: BTreeMap<String, Value>,
    /// PUTs that were accepted (each one changes the cluster).
    pub writes: u32,
    /// (type, id) → saved object.
    pub objects: BTreeMap<(String, String), Value>,
    /// rule_id → rule.
    pub rules: BTreeMap<String, Value>,
    /// The next import answers 200 with these errors and `success: false`.
    pub fail_next_import: Option<Vec<Value>>,
}

fn error(status: u16, kind: &str, reason: &str) -> (u16, Value) {
    (status, json!({"error": {"type": kind, "reason": reason}, "status": status}))
}

const KINDS: [&str; 4] =
    ["/_ilm/policy/", "/_component_template/", "/_index_template/", "/_ingest/pipeline/"];

pub fn handle(
    st: &mut super::State,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Value) {
    let route = path.split('?').next().unwrap_or("");
    let query = path.split_once('?').map(|x| x.1).unwrap_or("");
    let s = &mut st.stack;
    if route == "/_ilm/status" && method == "GET" {
        if s.no_ilm {
            return error(410, "api_not_available_exception", "[/_ilm/status] is unavailable");
        }
        return (200, json!({"operation_mode": "RUNNING"}));
    }
    if let Some(kind) = KINDS.iter().find(|k| route.starts_with(**k)) {
        let name = &route[kind.len()..];
        return match method {
            "PUT" => put(s, kind, name, route, body),
            "GET" => match s.installed.get(route) {
                None => error(404, "resource_not_found_exception", &format!("{name} not found")),
                Some(b) => (200, shaped(kind, name, b)),
            },
            _ => error(405, "method_not_allowed", method),
        };
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    // `/s/<space>/api/...` is the same API in a space.
    let kibana_route = match route.strip_prefix("/s/") {
        Some(r) => r.find('/').map_or(route, |i| &r[i..]),
        None => route,
    };
    match (method, kibana_route) {
        ("GET", "/api/status") => (
            200,
            json!({"version": {"number": "8.19.0"}, "status": {"overall": {"level": "available"}}}),
        ),
        ("POST", "/api/saved_objects/_import" | "/api/detection_engine/rules/_import") => {
            if header("kbn-xsrf").is_none() {
                return (
                    400,
                    json!({"statusCode": 400, "error": "Bad Request",
                    "message": "Request must contain a kbn-xsrf header."}),
                );
            }
            let ctype = header("content-type").unwrap_or("");
            let (filename, text) = match multipart_file(ctype, body) {
                Ok(x) => x,
                Err(m) => {
                    return (400, json!({"statusCode": 400, "error": "Bad Request", "message": m}))
                }
            };
            if !filename.ends_with(".ndjson") {
                let ext = filename.rsplit('.').next().unwrap_or("");
                return (
                    400,
                    json!({"statusCode": 400, "error": "Bad Request",
                    "message": format!("Invalid file extension .{ext}")}),
                );
            }
            let overwrite = query.split('&').any(|q| q == "overwrite=true");
            if kibana_route.contains("saved_objects") {
                import_objects(s, &text, overwrite)
            } else {
                import_rules(s, &text, overwrite)
            }
        }
        _ => error(404, "resource_not_found_exception", "no handler"),
    }
}

fn put(s: &mut Stack, kind: &str, name: &str, route: &str, body: &[u8]) -> (u16, Value) {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return error(400, "x_content_parse_exception", &e.to_string()),
    };
    if kind == "/_index_template/" {
        let missing: Vec<String> = v["composed_of"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .filter(|c| !s.installed.contains_key(&format!("/_component_template/{c}")))
            .filter(|c| {
                !v["ignore_missing_component_templates"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(c)))
            })
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return error(
                400,
                "invalid_index_template_exception",
                &format!("index_template [{name}] invalid, cause [index template [{name}] specifies component templates {missing:?} that do not exist]"),
            );
        }
    }
    s.installed.insert(route.to_owned(), v);
    s.writes += 1;
    (200, json!({"acknowledged": true}))
}

fn shaped(kind: &str, name: &str, body: &Value) -> Value {
    match kind {
        "/_ilm/policy/" => json!({name: {"version": 1, "modified_date": "2026-11-22T00:00:00Z",
                                         "policy": body["policy"]}}),
        "/_component_template/" => {
            json!({"component_templates": [{"name": name, "component_template": body}]})
        }
        "/_index_template/" => json!({"index_templates": [{"name": name, "index_template": body}]}),
        _ => json!({name: body}),
    }
}

/// The `file` part of a multipart/form-data body: (filename, text).
fn multipart_file(ctype: &str, body: &[u8]) -> Result<(String, String), String> {
    let boundary = ctype
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .ok_or("[request body.file]: expected value of type [Stream] but got [undefined]")?;
    let text = String::from_utf8_lossy(body);
    let delim = format!("--{boundary}");
    for part in text.split(delim.as_str()) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else { continue };
        if !head.contains("name=\"file\"") {
            continue;
        }
        let filename = head
            .split("filename=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_owned();
        let content = content.strip_suffix("\r\n").unwrap_or(content).to_owned();
        return Ok((filename, content));
    }
    Err("[request body.file]: expected value of type [Stream] but got [undefined]".into())
}

fn take_failure(s: &mut Stack) -> Option<(u16, Value)> {
    let errors = s.fail_next_import.take()?;
    Some((200, json!({"success": false, "successCount": 0, "success_count": 0, "errors": errors})))
}

fn import_objects(s: &mut Stack, text: &str, overwrite: bool) -> (u16, Value) {
    if let Some(a) = take_failure(s) {
        return a;
    }
    let objects: Vec<Value> =
        match text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect() {
            Ok(v) => v,
            Err(e) => {
                return (
                    400,
                    json!({"statusCode": 400, "message": format!("Unexpected token: {e}")}),
                )
            }
        };
    let in_file: Vec<(String, String)> = objects
        .iter()
        .map(|o| {
            (o["type"].as_str().unwrap_or("").to_owned(), o["id"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let mut errors = Vec::new();
    let mut results = Vec::new();
    for o in &objects {
        let key = (
            o["type"].as_str().unwrap_or("").to_owned(),
            o["id"].as_str().unwrap_or("").to_owned(),
        );
        let missing: Vec<Value> = o["references"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| {
                let k = (
                    r["type"].as_str().unwrap_or("").to_owned(),
                    r["id"].as_str().unwrap_or("").to_owned(),
                );
                !in_file.contains(&k) && !s.objects.contains_key(&k)
            })
            .map(|r| json!({"type": r["type"], "id": r["id"]}))
            .collect();
        let title = o["attributes"]["title"].clone();
        if !missing.is_empty() {
            errors.push(json!({"id": key.1, "type": key.0, "title": title,
                "error": {"type": "missing_references", "references": missing}}));
        } else if s.objects.contains_key(&key) && !overwrite {
            errors.push(
                json!({"id": key.1, "type": key.0, "title": title, "error": {"type": "conflict"}}),
            );
        } else {
            s.objects.insert(key.clone(), o.clone());
            results.push(json!({"type": key.0, "id": key.1, "meta": {"title": title}}));
        }
    }
    (
        200,
        json!({"success": errors.is_empty(), "successCount": results.len(),
                 "successResults": results, "errors": errors, "warnings": []}),
    )
}

fn import_rules(s: &mut Stack, text: &str, overwrite: bool) -> (u16, Value) {
    if let Some(a) = take_failure(s) {
        return a;
    }
    let mut errors = Vec::new();
    let mut ok = 0;
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let r: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                errors.push(json!({"rule_id": "(unknown)", "error": {"status_code": 400, "message": e.to_string()}}));
                continue;
            }
        };
        let id = r["rule_id"].as_str().unwrap_or("").to_owned();
        if id.is_empty() || r.get("version").is_none() {
            errors.push(json!({"rule_id": id, "error": {"status_code": 400,
                "message": "rule_id and version are required"}}));
        } else if s.rules.contains_key(&id) && !overwrite {
            errors.push(json!({"rule_id": id, "error": {"status_code": 409,
                "message": format!("rule_id: \"{id}\" already exists")}}));
        } else {
            s.rules.insert(id, r);
            ok += 1;
        }
    }
    (
        200,
        json!({"success": errors.is_empty(), "success_count": ok, "rules_count": count,
                 "errors": errors, "exceptions_success": true, "exceptions_success_count": 0,
                 "exceptions_errors": []}),
    )
}
