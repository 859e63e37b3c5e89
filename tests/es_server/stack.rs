//! The setup APIs of the test server, as Elasticsearch and Kibana document them:
//!
//! - Elasticsearch: `GET /_ilm/status` (410 `api_not_available_exception` when `no_ilm`), `PUT`
//!   and `GET` of `/_ilm/policy/N`, `/_component_template/N`, `/_index_template/N`,
//!   `/_ingest/pipeline/N` with the answer shapes of the real APIs; an index template naming a
//!   component template that does not exist (and is not in its
//!   `ignore_missing_component_templates`) is refused (400 `invalid_index_template_exception`),
//!   as Elasticsearch does, so the order of the requests matters.
//! - Index template resolution as Elasticsearch does it: a `PUT /_index_template/N` whose patterns
//!   overlap those of another index template of the *same* priority is refused with
//!   Elasticsearch's 400 `illegal_argument_exception` ("… that have the same priority [P],
//!   multiple index templates may not match during index creation, please use a different
//!   priority"); `GET /_index_template` lists every one (and `GET /_index_template/a*` the
//!   matching names); a new data stream (`PUT /_data_stream/N`, or the first `_bulk` `create`
//!   into a `logs-*` target) takes the matching template of highest priority, which
//!   `GET /_data_stream/N` reports in `template`, as Elasticsearch does.
//! - Kibana: `GET /api/status`; `POST /api/saved_objects/_import` and
//!   `POST /api/detection_engine/rules/_import`: header `kbn-xsrf` required, multipart body with
//!   a `file` part whose filename ends in `.ndjson` (else 400 "Invalid file extension"); saved
//!   objects whose references resolve neither in the file nor in Kibana fail with
//!   `missing_references` inside a 200 answer; `overwrite=false` gives `conflict` errors for
//!   existing ids. `fail_next_import` makes the next import answer 200 with `success: false`.
//! - Kibana's rules API, `/api/detection_engine/rules` (header `kbn-xsrf` on writes): `GET
//!   ?rule_id=` (404 `rule_id: "X" not found`), `POST` (create; 409 `rule_id: "X" already
//!   exists`; 400 when `name`, `description`, `risk_score`, `severity` or `type` is missing),
//!   `PUT` (replace) and `PATCH` (merge) by `rule_id`. Rules are kept as Kibana answers them:
//!   its own fields (`id`, `created_at`, `updated_at`, `updated_by`, `revision`, `immutable`,
//!   `rule_source`) and the defaults of what was not given (`enabled` true, `version` 1, empty
//!   `exceptions_list`, `actions`, `severity_mapping`, …). `revision` counts updates that change
//!   more than `enabled`; `version` goes up by one when an update does not give it.

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
    /// rule_id → rule (as Kibana answers it, through the rules API).
    pub rules: BTreeMap<String, Value>,
    /// Accepted writes through the rules API (POST, PUT, PATCH).
    pub rule_writes: u32,
    /// The next import answers 200 with these errors and `success: false`.
    pub fail_next_import: Option<Vec<Value>>,
    /// Data stream → the index template it was created from (None: no template matched).
    pub data_streams: BTreeMap<String, Option<String>>,
}

/// Whether some index name matches both wildcard patterns (`*`: any run of characters), as
/// Elasticsearch's automaton intersection decides template overlap.
pub fn patterns_overlap(a: &[u8], b: &[u8]) -> bool {
    match (a.first(), b.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            patterns_overlap(&a[1..], b) || (!b.is_empty() && patterns_overlap(a, &b[1..]))
        }
        (_, Some(b'*')) => {
            patterns_overlap(a, &b[1..]) || (!a.is_empty() && patterns_overlap(&a[1..], b))
        }
        (Some(x), Some(y)) => x == y && patterns_overlap(&a[1..], &b[1..]),
        _ => false,
    }
}

/// Whether `name` matches the wildcard pattern.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    !name.contains('*') && patterns_overlap(pattern.as_bytes(), name.as_bytes())
}

fn patterns(body: &Value) -> Vec<String> {
    body["index_patterns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect()
}

fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl Stack {
    /// Every index template: (name, body).
    pub fn index_templates(&self) -> Vec<(String, Value)> {
        self.installed
            .iter()
            .filter_map(|(p, b)| Some((p.strip_prefix("/_index_template/")?.to_owned(), b.clone())))
            .collect()
    }

    /// The index template a new data stream or index `name` takes: the matching one of
    /// highest priority.
    pub fn resolve(&self, name: &str) -> Option<(String, Value)> {
        self.index_templates()
            .into_iter()
            .filter(|(_, b)| patterns(b).iter().any(|p| pattern_matches(p, name)))
            .max_by_key(|(_, b)| b["priority"].as_u64().unwrap_or(0))
    }

    /// Creates the data stream `name` from its template unless it exists; its template.
    pub fn ensure_data_stream(&mut self, name: &str) -> Option<String> {
        if let Some(t) = self.data_streams.get(name) {
            return t.clone();
        }
        let t = self.resolve(name).map(|(n, _)| n);
        self.data_streams.insert(name.to_owned(), t.clone());
        t
    }
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
    if route == "/_index_template" && method == "GET" {
        return (200, json!({"index_templates": list_templates(s, "*")}));
    }
    if let Some(name) = route.strip_prefix("/_data_stream/") {
        return data_stream(s, method, name);
    }
    if let Some(kind) = KINDS.iter().find(|k| route.starts_with(**k)) {
        let name = &route[kind.len()..];
        if *kind == "/_index_template/" && method == "GET" && name.contains('*') {
            return (200, json!({"index_templates": list_templates(s, name)}));
        }
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
    if kibana_route == "/api/detection_engine/rules" {
        if method != "GET" && header("kbn-xsrf").is_none() {
            return (
                400,
                json!({"statusCode": 400, "error": "Bad Request",
                "message": "Request must contain a kbn-xsrf header."}),
            );
        }
        return rules_api(s, method, query, body);
    }
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

fn rule_error(status: u16, message: String) -> (u16, Value) {
    (status, json!({"status_code": status, "message": message}))
}

/// What Kibana stores and answers for a rule created from `payload`.
fn kibana_rule(payload: &Value, id: &str, revision: u64) -> Value {
    let mut r = json!({
        "enabled": true, "version": 1, "exceptions_list": [], "actions": [],
        "related_integrations": [], "required_fields": [], "severity_mapping": [],
        "risk_score_mapping": [], "references": [], "false_positives": [], "threat": [],
        "tags": [], "author": [], "max_signals": 100, "interval": "5m", "from": "now-6m",
        "to": "now", "setup": "", "output_index": "",
    });
    let o = r.as_object_mut().unwrap();
    for (k, v) in payload.as_object().unwrap() {
        o.insert(k.clone(), v.clone());
    }
    o.insert("id".into(), json!(format!("kb-{id}")));
    o.insert("created_at".into(), json!("2026-12-02T00:00:00.000Z"));
    o.insert("created_by".into(), json!("elastic"));
    o.insert("updated_at".into(), json!(format!("2026-12-02T00:00:{:02}.000Z", revision % 60)));
    o.insert("updated_by".into(), json!("elastic"));
    o.insert("revision".into(), json!(revision));
    o.insert("immutable".into(), json!(false));
    o.insert("rule_source".into(), json!({"type": "internal"}));
    r
}

fn rules_api(s: &mut Stack, method: &str, query: &str, body: &[u8]) -> (u16, Value) {
    let param = query.split('&').find_map(|q| q.strip_prefix("rule_id=")).unwrap_or("");
    if method == "GET" {
        return match s.rules.get(param) {
            Some(r) => (200, r.clone()),
            None => rule_error(404, format!("rule_id: \"{param}\" not found")),
        };
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return (
                400,
                json!({"statusCode": 400, "error": "Bad Request", "message": "[request body]: Expected object"}),
            )
        }
    };
    let id = v["rule_id"].as_str().unwrap_or("").to_owned();
    if id.is_empty() {
        return (
            400,
            json!({"statusCode": 400, "error": "Bad Request",
            "message": "[request body]: either \"id\" or \"rule_id\" must be set"}),
        );
    }
    let required = ["name", "description", "risk_score", "severity", "type"];
    if method != "PATCH" {
        if let Some(k) = required.iter().find(|k| v.get(**k).is_none()) {
            return (
                400,
                json!({"statusCode": 400, "error": "Bad Request",
                "message": format!("[request body]: {k}: Required")}),
            );
        }
    }
    match method {
        "POST" => {
            if s.rules.contains_key(&id) {
                return rule_error(409, format!("rule_id: \"{id}\" already exists"));
            }
            let r = kibana_rule(&v, &id, 1);
            s.rules.insert(id, r.clone());
            s.rule_writes += 1;
            (200, r)
        }
        "PUT" | "PATCH" => {
            let Some(old) = s.rules.get(&id).cloned() else {
                return rule_error(404, format!("rule_id: \"{id}\" not found"));
            };
            let mut merged = if method == "PATCH" {
                let mut m = old.clone();
                for (k, val) in v.as_object().unwrap() {
                    m[k] = val.clone();
                }
                m
            } else {
                v.clone()
            };
            if v.get("version").is_none() {
                merged["version"] = json!(old["version"].as_u64().unwrap_or(1) + 1);
            }
            let only_enabled =
                v.as_object().unwrap().keys().all(|k| k == "enabled" || k == "rule_id");
            let revision = old["revision"].as_u64().unwrap_or(0) + u64::from(!only_enabled);
            let mut r = kibana_rule(&merged, &id, revision);
            r["created_at"] = old["created_at"].clone();
            s.rules.insert(id, r.clone());
            s.rule_writes += 1;
            (200, r)
        }
        _ => error(405, "method_not_allowed", method),
    }
}

fn list_templates(s: &Stack, pattern: &str) -> Vec<Value> {
    s.index_templates()
        .into_iter()
        .filter(|(n, _)| pattern_matches(pattern, n))
        .map(|(n, b)| json!({"name": n, "index_template": b}))
        .collect()
}

fn data_stream(s: &mut Stack, method: &str, name: &str) -> (u16, Value) {
    match method {
        "GET" => match s.data_streams.get(name) {
            Some(t) => (
                200,
                json!({"data_streams": [{"name": name, "template": t,
                    "timestamp_field": {"name": "@timestamp"}, "generation": 1,
                    "status": "GREEN"}]}),
            ),
            None => error(404, "index_not_found_exception", &format!("no such index [{name}]")),
        },
        "PUT" => {
            if s.data_streams.contains_key(name) {
                return error(
                    400,
                    "resource_already_exists_exception",
                    &format!("data_stream [{name}] already exists"),
                );
            }
            match s.resolve(name) {
                Some((t, b)) if b.get("data_stream").is_some() => {
                    s.data_streams.insert(name.to_owned(), Some(t));
                    (200, json!({"acknowledged": true}))
                }
                _ => error(
                    400,
                    "index_template_missing_exception",
                    &format!("no matching index template found for data stream [{name}]"),
                ),
            }
        }
        _ => error(405, "method_not_allowed", method),
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
        let priority = v["priority"].as_u64().unwrap_or(0);
        let mine = patterns(&v);
        let overlaps: Vec<(String, Vec<String>)> = s
            .index_templates()
            .into_iter()
            .filter(|(n, b)| n != name && b["priority"].as_u64().unwrap_or(0) == priority)
            .map(|(n, b)| (n, patterns(&b)))
            .filter(|(_, theirs)| {
                mine.iter()
                    .any(|m| theirs.iter().any(|t| patterns_overlap(m.as_bytes(), t.as_bytes())))
            })
            .collect();
        if !overlaps.is_empty() {
            let names: Vec<String> = overlaps.iter().map(|(n, _)| n.clone()).collect();
            let parts: Vec<String> =
                overlaps.iter().map(|(n, p)| format!("{n} => {}", java_list(p))).collect();
            return error(
                400,
                "illegal_argument_exception",
                &format!(
                    "index template [{name}] has index patterns {} matching patterns from existing \
                     templates [{}] with patterns ({}) that have the same priority [{priority}], \
                     multiple index templates may not match during index creation, please use a \
                     different priority",
                    java_list(&mine),
                    names.join(","),
                    parts.join(",")
                ),
            );
        }
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
