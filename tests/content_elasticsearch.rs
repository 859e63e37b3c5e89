//! Elasticsearch and Logstash content (`wirebeat::content`, `elasticsearch/`, `logstash/`,
//! `docker-compose.yml`):
//! - the checked-in files are the generated ones (`UPDATE_CONTENT=1` rewrites them);
//! - every ECS field in the templates is in ECS 9.4 with the same type and parameters, every
//!   custom one is on wirebeat's custom-field list;
//! - every field emitted over the whole corpus is mapped with a compatible type;
//! - every field Elastic's prebuilt network rules read (`tests/data/prebuilt-rule-fields.txt`)
//!   is mapped, and produced by wirebeat unless the fixture says why not;
//! - request bodies validate against the Elasticsearch 8.17 OpenAPI specification (Python
//!   `jsonschema`), ingest pipelines against `estceque`, the Logstash pipeline parses with
//!   `logstash-pipeline-parser` (and broken copies of each are rejected);
//! - docker-compose.yml parses and every path it mounts or builds exists.
//!
//! The Python validators are in `tests/content/es_*.py`. Without Python or a module the test
//! prints why it skips, and fails instead when the `CI` environment variable is set.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use wirebeat::content::{self, fields, Lifecycle, Request};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const DSL_LIFECYCLE_FILE: &str = "elasticsearch/data_stream_lifecycle/wirebeat@lifecycle.json";
/// Directories whose `*.json` files are all generated.
const GENERATED_DIRS: &[&str] = &[
    "elasticsearch/ilm",
    "elasticsearch/component_templates",
    "elasticsearch/index_templates",
    "elasticsearch/ingest",
    "elasticsearch/data_stream_lifecycle",
];

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

/// Every generated file: path relative to the repository → content.
fn generated_files() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in content::es_requests() {
        out.insert(format!("elasticsearch/{}", r.export_path()), pretty(&r.body));
    }
    let dsl = dsl_lifecycle_request();
    out.insert(DSL_LIFECYCLE_FILE.to_owned(), pretty(&dsl.body));
    out.insert("logstash/wirebeat.conf".to_owned(), content::logstash_pipeline());
    out.insert("logstash/pipelines.yml".to_owned(), content::logstash_pipelines_yml());
    out
}

fn dsl_lifecycle_request() -> Request {
    content::es_requests_with(Lifecycle::DataStream)
        .into_iter()
        .find(|r| r.path.ends_with("/wirebeat@lifecycle"))
        .unwrap()
}

#[test]
fn checked_in_content_is_generated() {
    let files = generated_files();
    let update = std::env::var_os("UPDATE_CONTENT").is_some();
    let mut stale = Vec::new();
    for dir in GENERATED_DIRS {
        let Ok(entries) = std::fs::read_dir(repo().join(dir)) else { continue };
        for e in entries {
            let rel = format!("{dir}/{}", e.unwrap().file_name().to_string_lossy());
            if rel.ends_with(".json") && !files.contains_key(&rel) {
                stale.push(rel);
            }
        }
    }
    if update {
        for rel in &stale {
            std::fs::remove_file(repo().join(rel)).unwrap();
        }
        for (rel, text) in &files {
            let path = repo().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        eprintln!("UPDATE_CONTENT: wrote {} files, removed {:?}", files.len(), stale);
        return;
    }
    let mut differ = Vec::new();
    for (rel, text) in &files {
        match std::fs::read_to_string(repo().join(rel)) {
            Ok(old) if old == *text => {}
            Ok(_) => differ.push(format!("{rel}: differs")),
            Err(_) => differ.push(format!("{rel}: missing")),
        }
    }
    differ.extend(stale.iter().map(|s| format!("{s}: not generated any more")));
    assert!(
        differ.is_empty(),
        "checked-in content is not what the code generates (run \
         `UPDATE_CONTENT=1 cargo test --test content_elasticsearch`):\n{}",
        differ.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Mappings

/// A mapped leaf: its mapping object.
type Flat = BTreeMap<String, Value>;

/// The mappings of the component templates, merged in the index template's `composed_of` order
/// and flattened to dotted paths (objects with properties are recorded too).
fn flat_mappings() -> Flat {
    let reqs = content::es_requests();
    let comps: BTreeMap<String, &Value> = reqs
        .iter()
        .filter_map(|r| {
            r.path.strip_prefix("/_component_template/").map(|n| (n.to_owned(), &r.body))
        })
        .collect();
    let tmpl = reqs.iter().find(|r| r.path.starts_with("/_index_template/")).unwrap();
    let mut flat = Flat::new();
    for name in tmpl.body["composed_of"].as_array().unwrap() {
        let Some(body) = comps.get(name.as_str().unwrap()) else { continue };
        if let Some(props) = body["template"]["mappings"]["properties"].as_object() {
            flatten("", props, &mut flat);
        }
    }
    flat
}

fn flatten(prefix: &str, props: &serde_json::Map<String, Value>, out: &mut Flat) {
    for (k, v) in props {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if let Some(p) = v.get("properties").and_then(Value::as_object) {
            let mut obj = v.clone();
            obj.as_object_mut().unwrap().remove("properties");
            if obj.get("type").is_some() {
                out.insert(path.clone(), obj);
            }
            flatten(&path, p, out);
        } else {
            out.insert(path, v.clone());
        }
    }
}

fn ecs_flat() -> BTreeMap<String, wirebeat::yaml::Value> {
    let text = std::fs::read_to_string(shared().join("ecs/ecs_flat.yml")).unwrap();
    wirebeat::yaml::from_str(&text).unwrap()
}

#[test]
fn templates_map_ecs_fields_as_ecs_does_and_custom_fields_as_listed() {
    require_shared!();
    let ecs = ecs_flat();
    let flat = flat_mappings();
    let all = fields::all();
    let custom: BTreeMap<&str, &str> = wirebeat::ecs::fields::custom_fields()
        .into_iter()
        .chain(wirebeat::proto::dhcpv4::CUSTOM_FIELDS_NOT_IN_CORPUS.iter().copied())
        .map(|(n, t, _)| (n, t))
        .collect();
    let mut problems = Vec::new();
    for f in &all {
        // The template maps exactly the field's own mapping.
        match flat.get(&f.name) {
            Some(m) if *m == f.mapping() => {}
            other => {
                problems.push(format!("{}: template has {other:?}, want {}", f.name, f.mapping()))
            }
        }
        if f.custom {
            if ecs.contains_key(&f.name) {
                problems.push(format!("{}: listed as custom but ECS defines it", f.name));
            }
            if custom.get(f.name.as_str()) != Some(&f.es_type.as_str()) {
                problems
                    .push(format!("{}: custom {} not on the custom-field list", f.name, f.es_type));
            }
            continue;
        }
        let Some(e) = ecs.get(&f.name) else {
            problems.push(format!("{}: not in ecs_flat.yml", f.name));
            continue;
        };
        let s = |k: &str| e.get(k).and_then(wirebeat::yaml::Value::as_str).map(str::to_owned);
        if s("type").as_deref() != Some(f.es_type.as_str()) {
            problems.push(format!("{}: ECS type {:?}, mapped {}", f.name, s("type"), f.es_type));
        }
        let ia = e.get("ignore_above").and_then(wirebeat::yaml::Value::as_u64).map(|n| n as u32);
        if ia != f.ignore_above {
            problems
                .push(format!("{}: ECS ignore_above {ia:?}, mapped {:?}", f.name, f.ignore_above));
        }
        let mf: Vec<(String, String)> = e
            .get("multi_fields")
            .and_then(wirebeat::yaml::Value::as_sequence)
            .map(|s| {
                s.iter()
                    .map(|m| {
                        let g = |k: &str| m.get(k).and_then(wirebeat::yaml::Value::as_str).unwrap();
                        (g("name").to_owned(), g("type").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        if mf != f.multi_fields {
            problems
                .push(format!("{}: ECS multi_fields {mf:?}, mapped {:?}", f.name, f.multi_fields));
        }
        let indexed = e.get("index").and_then(wirebeat::yaml::Value::as_bool).unwrap_or(true);
        if indexed != f.indexed {
            problems.push(format!("{}: ECS index {indexed}, mapped {}", f.name, f.indexed));
        }
    }
    // Every custom field of wirebeat is mapped (unless ECS defines it: then the ECS mapping).
    let names: BTreeSet<&str> = all.iter().map(|f| f.name.as_str()).collect();
    for n in custom.keys() {
        if !names.contains(n) {
            problems.push(format!("{n}: custom field not mapped"));
        }
    }
    // Nothing is mapped that is not on the list (a mapped path is a field or an object on the
    // way to one).
    for path in flat.keys() {
        if !names.contains(path.as_str()) {
            problems.push(format!("{path}: mapped but not in content::fields::all()"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(all.len() > 400, "{} fields", all.len());
}

#[test]
fn index_templates_are_consistent() {
    let reqs = content::es_requests();
    let names = |prefix: &str| -> BTreeSet<String> {
        reqs.iter().filter_map(|r| r.path.strip_prefix(prefix).map(str::to_owned)).collect()
    };
    let comps = names("/_component_template/");
    let pipelines = names("/_ingest/pipeline/");
    let policies = names("/_ilm/policy/");
    let templates: Vec<&Request> =
        reqs.iter().filter(|r| r.path.starts_with("/_index_template/")).collect();
    let patterns: BTreeSet<&str> = templates
        .iter()
        .flat_map(|t| t.body["index_patterns"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(patterns, BTreeSet::from(["logs-network_traffic.*-*", "logs-wirebeat.*-*"]));
    for t in &templates {
        let b = &t.body;
        let prio = b["priority"].as_u64().unwrap();
        assert!(prio > 100 && prio != 200, "{}: priority {prio}", t.path);
        assert_eq!(b["data_stream"], json!({}), "{}", t.path);
        let ignorable: BTreeSet<&str> = b["ignore_missing_component_templates"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap()).collect())
            .unwrap_or_default();
        for c in b["composed_of"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            assert!(comps.contains(c) || ignorable.contains(c), "{}: {c} not installed", t.path);
        }
        assert!(!ignorable.iter().any(|c| comps.contains(*c)), "ignorable but installed");
    }
    let by_name = |n: &str| {
        reqs.iter().find(|r| r.path == format!("/_component_template/{n}")).unwrap().body.clone()
    };
    let settings = by_name("wirebeat@settings");
    let pipeline = settings["template"]["settings"]["index"]["default_pipeline"].as_str().unwrap();
    assert!(pipelines.contains(pipeline), "default pipeline {pipeline} is not installed");
    let lc = by_name("wirebeat@lifecycle");
    let policy = lc["template"]["settings"]["index"]["lifecycle"]["name"].as_str().unwrap();
    assert!(policies.contains(policy), "ILM policy {policy} is not installed");
    // Pipelines call only installed pipelines (or optional ones).
    for r in reqs.iter().filter(|r| r.path.starts_with("/_ingest/pipeline/")) {
        for p in r.body["processors"].as_array().unwrap() {
            if let Some(call) = p.get("pipeline") {
                let name = call["name"].as_str().unwrap();
                let optional = call["ignore_missing_pipeline"] == json!(true);
                assert!(optional || pipelines.contains(name), "{}: calls {name}", r.path);
            }
        }
    }
    // The health counters are long by a dynamic template tried before strings_as_keyword.
    let dt =
        by_name("wirebeat-fields@mappings")["template"]["mappings"]["dynamic_templates"].clone();
    let first = &dt[0]["wirebeat_stats"];
    assert_eq!(first["path_match"], "wirebeat.stats.*");
    assert_eq!(first["mapping"]["type"], "long");
    // Only a create-friendly template: ILM delete after rollover, DSL with the same retention.
    let ilm = &reqs[0].body["policy"]["phases"];
    assert!(ilm["hot"]["actions"]["rollover"].is_object());
    assert!(ilm["delete"]["actions"]["delete"].is_object());
    assert_eq!(dsl_lifecycle_request().body["template"]["lifecycle"]["data_retention"], "30d");
}

// ---------------------------------------------------------------------------------------------
// The corpus

struct Corpus {
    /// Default configuration.
    default: Vec<Value>,
    /// HTTP bodies and all headers captured.
    options: Vec<Value>,
}

const OPTION_OVERRIDES: &[&str] = &[
    "wirebeat.protocols.http.include_body_for=[text, application]",
    "wirebeat.protocols.http.send_all_headers=true",
];

/// The whole corpus, read once per test binary for each configuration.
fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let dir = common::corpus().join("pcaps");
        let (out, default) = read(&[&dir], &[]);
        assert!(default.len() > 1000, "{}", String::from_utf8_lossy(&out.stderr));
        let (_, options) = read(&[&dir], OPTION_OVERRIDES);
        assert!(options.len() > 1000);
        Corpus { default, options }
    })
}

/// Leaves of an event, walking into objects inside arrays: (path, scalar value).
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&p, x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| leaves(prefix, x, out)),
        Value::Null => {}
        _ => out.push((prefix.to_owned(), v.clone())),
    }
}

/// Whether a JSON scalar is accepted by a field of Elasticsearch type `ty`.
fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "keyword" | "constant_keyword" | "wildcard" | "match_only_text" | "text" => v.is_string(),
        "long" | "integer" | "short" | "byte" | "unsigned_long" => v.is_u64() || v.is_i64(),
        "float" | "double" | "scaled_float" | "half_float" => v.is_number(),
        "boolean" => v.is_boolean(),
        "ip" => v.as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()),
        "date" => v.as_str().is_some_and(|s| s.len() >= 20 && s.ends_with('Z') && &s[4..5] == "-"),
        _ => false,
    }
}

/// How a leaf path is mapped: `Ok(description)` or `Err(problem)`.
fn mapped(flat: &Flat, path: &str, v: Option<&Value>) -> Result<String, String> {
    if let Some(m) = flat.get(path) {
        let ty = m["type"].as_str().unwrap_or("object");
        return match v {
            Some(v) if !type_ok(ty, v) && !matches!(ty, "object" | "flattened") => {
                Err(format!("{path}: mapped {ty}, value {v}"))
            }
            _ => Ok(ty.to_owned()),
        };
    }
    // Under a flattened field (header maps) or an object field (record lists): free-form
    // children, which dynamic mapping handles (strings_as_keyword, numbers long).
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('.') {
        if let Some(m) = flat.get(parent) {
            return match m["type"].as_str() {
                Some("flattened") => Ok("under flattened".into()),
                Some("object") if m.get("dynamic").is_none() => Ok("dynamic under object".into()),
                t => Err(format!("{path}: parent {parent} is mapped {t:?}")),
            };
        }
        p = parent;
    }
    if path.starts_with("wirebeat.stats.") {
        return Ok("dynamic template wirebeat_stats".into());
    }
    Err(format!("{path}: not mapped"))
}

#[test]
fn every_emitted_field_is_mapped() {
    require_shared!();
    let flat = flat_mappings();
    let c = corpus();
    let mut seen = BTreeSet::new();
    let mut problems = BTreeSet::new();
    for e in c.default.iter().chain(&c.options) {
        let mut l = Vec::new();
        leaves("", e, &mut l);
        for (path, v) in l {
            if let Err(p) = mapped(&flat, &path, Some(&v)) {
                problems.insert(p);
            }
            seen.insert(path);
        }
    }
    assert!(problems.is_empty(), "{}", problems.into_iter().collect::<Vec<_>>().join("\n"));
    assert!(seen.len() > 300, "{} distinct fields", seen.len());
    // The check can fail: an unmapped path and a wrong type are reported.
    assert!(mapped(&flat, "no.such.field", None).is_err());
    assert!(mapped(&flat, "source.ip", Some(&json!("not an ip"))).is_err());
    assert!(mapped(&flat, "http.request.headers.x-anything", Some(&json!("v"))).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Fields read by Elastic's prebuilt rules

#[derive(Debug)]
struct RuleField {
    line: usize,
    field: String,
    protocol: String,
    status: String,
    reason: String,
}

fn rule_fields() -> Vec<RuleField> {
    let path = repo().join("tests/data/prebuilt-rule-fields.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "line {}: want field, protocol, status: {line:?}", i + 1);
        let (status, reason) = match cols[2].split_once(':') {
            Some((s, r)) => (s.trim().to_owned(), r.trim().to_owned()),
            None => (cols[2].trim().to_owned(), String::new()),
        };
        out.push(RuleField {
            line: i + 1,
            field: cols[0].to_owned(),
            protocol: cols[1].to_owned(),
            status,
            reason,
        });
    }
    out
}

/// Fields (leaf paths) present in events of `network_traffic.<protocol>`.
fn produced(events: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in events {
        let Some(ds) = get(e, "data_stream.dataset").and_then(Value::as_str) else { continue };
        let proto = ds.strip_prefix("network_traffic.").unwrap_or(ds).to_owned();
        let mut l = Vec::new();
        leaves("", e, &mut l);
        let set = out.entry(proto).or_default();
        set.extend(l.into_iter().map(|(p, _)| p));
    }
    out
}

/// Fields the ingest pipelines set: `field` of set/append, `target_field` of any processor.
fn ingest_targets() -> Vec<String> {
    let mut out = Vec::new();
    for r in content::es_requests().iter().filter(|r| r.path.starts_with("/_ingest/")) {
        for p in r.body["processors"].as_array().unwrap() {
            for (name, opts) in p.as_object().unwrap() {
                if matches!(name.as_str(), "set" | "append") {
                    out.push(opts["field"].as_str().unwrap().to_owned());
                }
                if let Some(t) = opts.get("target_field").and_then(Value::as_str) {
                    out.push(t.to_owned());
                }
            }
        }
    }
    out
}

#[test]
fn prebuilt_rule_fields_are_mapped_and_produced() {
    require_shared!();
    let flat = flat_mappings();
    let c = corpus();
    let default = produced(&c.default);
    let options = produced(&c.options);
    let targets = ingest_targets();
    let ecs = ecs_flat();
    let custom: BTreeSet<&str> =
        wirebeat::ecs::fields::custom_fields().into_iter().map(|(n, _, _)| n).collect();
    let fixture = rule_fields();
    assert!(fixture.len() >= 80, "only {} fixture lines", fixture.len());
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for f in &fixture {
        let at = format!("line {} ({} {})", f.line, f.field, f.protocol);
        if !seen.insert((f.field.clone(), f.protocol.clone())) {
            problems.push(format!("{at}: listed twice"));
        }
        if !["flow", "dns", "http", "tls", "icmp", "dhcpv4", "nfs", "sip"]
            .contains(&f.protocol.as_str())
        {
            problems.push(format!("{at}: unknown protocol"));
        }
        let in_default = default.get(&f.protocol).is_some_and(|s| s.contains(&f.field));
        let in_options = options.get(&f.protocol).is_some_and(|s| s.contains(&f.field));
        let is_mapped = mapped(&flat, &f.field, None).is_ok();
        if f.status != "unmapped" && !is_mapped {
            problems.push(format!("{at}: not mapped by the index templates"));
        }
        let needs_reason = f.status != "emitted";
        if needs_reason && f.reason.len() < 10 {
            problems.push(format!("{at}: status {} needs a reason", f.status));
        }
        match f.status.as_str() {
            "emitted" if !in_default => {
                problems.push(format!("{at}: no corpus event of that dataset has it"))
            }
            "emitted" => {}
            "option" if in_default => problems.push(format!("{at}: emitted by default now")),
            "option" if !in_options => {
                problems.push(format!("{at}: not produced with {OPTION_OVERRIDES:?}"))
            }
            "option" => {}
            "ingest" => {
                let set =
                    targets.iter().any(|t| f.field == *t || f.field.starts_with(&format!("{t}.")));
                if !set {
                    problems.push(format!("{at}: no ingest processor sets it"));
                }
            }
            "absent" if in_default || in_options => {
                problems.push(format!("{at}: listed absent but the corpus has it"))
            }
            "absent" => {}
            "unmapped" => {
                if is_mapped || ecs.contains_key(&f.field) || custom.contains(f.field.as_str()) {
                    problems.push(format!("{at}: unmapped, but ECS/custom/mapped: list it"));
                }
                if in_default || in_options {
                    problems.push(format!("{at}: listed unmapped but the corpus has it"));
                }
            }
            s => problems.push(format!("{at}: unknown status {s:?}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Python validators

/// Runs `tests/content/<script>`; `None` (with the reason printed) when Python or a module is
/// missing, which fails the test instead when `CI` is set.
fn python(script: &str, args: &[&Path]) -> Option<Value> {
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/content").join(script)).args(args);
    let skip = |why: String| {
        assert!(std::env::var_os("CI").is_none(), "{script}: {why} (CI is set: not skipping)");
        skipped(&format!("{script}: {why}"));
        None
    };
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return skip(format!("cannot run python3: {e}")),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) {
        return skip(stderr.trim().to_owned());
    }
    assert!(out.status.success(), "{script} failed: {stderr}");
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn kind(r: &Request) -> &'static str {
    if r.path.starts_with("/_ilm/policy/") {
        "ilm_policy"
    } else if r.path.starts_with("/_component_template/") {
        "component_template"
    } else if r.path.starts_with("/_index_template/") {
        "index_template"
    } else {
        "ingest_pipeline"
    }
}

/// A broken copy of a body: `f` edits it.
fn broken(name: &str, kind: &str, mut body: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut body);
    json!({ "name": format!("BROKEN {name}"), "kind": kind, "body": body })
}

#[test]
fn bodies_validate_against_the_openapi_spec() {
    require_shared!();
    let mut reqs = content::es_requests();
    reqs.push(dsl_lifecycle_request());
    let mut bodies: Vec<Value> =
        reqs.iter().map(|r| json!({ "name": r.path, "kind": kind(r), "body": r.body })).collect();
    let body = |p: &str| reqs.iter().find(|r| r.path == p).unwrap().body.clone();
    let tmpl = body("/_index_template/wirebeat-logs-wirebeat");
    let comp = body("/_component_template/wirebeat@settings");
    let ilm = body("/_ilm/policy/wirebeat");
    let ecs = body("/_component_template/wirebeat-ecs@mappings");
    let pipe = body("/_ingest/pipeline/wirebeat-geoip");
    let good = bodies.len();
    bodies.extend([
        broken("priority as a string", "index_template", tmpl.clone(), |b| {
            b["priority"] = json!("high")
        }),
        broken("data_stream.hidden not a boolean", "index_template", tmpl.clone(), |b| {
            b["data_stream"] = json!({"hidden": "no"})
        }),
        broken("misspelled top-level key", "index_template", tmpl, |b| {
            b["composed_off"] = b["composed_of"].clone()
        }),
        broken("component without template", "component_template", comp.clone(), |b| {
            b.as_object_mut().unwrap().remove("template");
        }),
        broken("misspelled template key", "component_template", comp, |b| {
            b["template"]["setings"] = json!({})
        }),
        broken("unknown field type", "component_template", ecs.clone(), |b| {
            b["template"]["mappings"]["properties"]["dns"]["properties"]["id"]["type"] =
                json!("keywrod")
        }),
        broken("misspelled mapping parameter", "component_template", ecs, |b| {
            b["template"]["mappings"]["properties"]["dns"]["properties"]["id"]["ignore_abov"] =
                json!(1024)
        }),
        broken("phases not an object", "ilm_policy", ilm, |b| b["policy"]["phases"] = json!("hot")),
        broken("two processors in one", "ingest_pipeline", pipe.clone(), |b| {
            b["processors"][0]["rename"] = json!({"field": "a", "target_field": "b"})
        }),
        broken("geoip without field", "ingest_pipeline", pipe.clone(), |b| {
            b["processors"][0]["geoip"].as_object_mut().unwrap().remove("field");
        }),
        broken("misspelled geoip option", "ingest_pipeline", pipe, |b| {
            let g = b["processors"][0]["geoip"].as_object_mut().unwrap();
            let v = g.remove("target_field").unwrap();
            g.insert("target_feild".into(), v);
        }),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bodies.json");
    std::fs::write(&file, serde_json::to_vec(&bodies).unwrap()).unwrap();
    let spec = shared().join("elasticsearch-spec/elasticsearch-openapi-8.17.json");
    let Some(result) = python("es_validate_spec.py", &[&spec, &file]) else { return };
    let result = result.as_array().unwrap();
    assert_eq!(result.len(), bodies.len());
    for (i, r) in result.iter().enumerate() {
        let errors = r["errors"].as_array().unwrap();
        if i < good {
            assert!(errors.is_empty(), "{}: {errors:#?}", r["name"]);
        } else {
            assert!(!errors.is_empty(), "{} was accepted", r["name"]);
        }
    }
}

#[test]
fn ingest_pipelines_validate_with_estceque() {
    let reqs = content::es_requests();
    let mut pipelines: Vec<Value> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/_ingest/pipeline/"))
        .map(|r| json!({ "name": r.path, "body": r.body }))
        .collect();
    let good = pipelines.len();
    let main = reqs.iter().find(|r| r.path == "/_ingest/pipeline/wirebeat").unwrap().body.clone();
    let mut b1 = main.clone();
    b1["processors"][0]["set"]["fieldd"] = json!("x");
    let mut b2 = main.clone();
    b2["processors"].as_array_mut().unwrap().push(json!({"no_such_processor": {"field": "a"}}));
    let mut b3 = main;
    b3["on_failure"][0]["set"]["override"] = json!("sometimes");
    for (n, b) in [("misspelled option", b1), ("unknown processor", b2), ("bad on_failure", b3)] {
        pipelines.push(json!({ "name": format!("BROKEN {n}"), "body": b }));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipelines.json");
    std::fs::write(&file, serde_json::to_vec(&pipelines).unwrap()).unwrap();
    let Some(result) = python("es_validate_ingest.py", &[&file]) else { return };
    for (i, r) in result.as_array().unwrap().iter().enumerate() {
        let errors = r["errors"].as_array().unwrap();
        if i < good {
            assert!(errors.is_empty(), "{}: {errors:#?}", r["name"]);
        } else {
            assert!(!errors.is_empty(), "{} was accepted", r["name"]);
        }
    }
}

#[test]
fn logstash_pipeline_parses_and_routes_by_data_stream() {
    let dir = tempfile::tempdir().unwrap();
    let good = repo().join("logstash/wirebeat.conf");
    let conf = content::logstash_pipeline();
    // Broken copies: an unbalanced brace, an unterminated string, `=` for `=>`. (The parser
    // forgives a missing brace at the very end of the file, so that is not one of them.)
    let generated = dir.path().join("generated.conf");
    std::fs::write(&generated, &conf).unwrap();
    let mut args = vec![good, generated];
    for (name, from, to) in [
        ("unbalanced", "filter {", "filter {{"),
        ("unterminated", "\"create\"", "\"create"),
        ("operator", "data_stream => \"true\"", "data_stream = \"true\""),
    ] {
        assert!(conf.contains(from), "{from}");
        let path = dir.path().join(format!("{name}.conf"));
        std::fs::write(&path, conf.replacen(from, to, 1)).unwrap();
        args.push(path);
    }
    let args: Vec<&Path> = args.iter().map(PathBuf::as_path).collect();
    let Some(result) = python("es_parse_logstash.py", &args) else { return };
    let r = result.as_array().unwrap();
    assert_eq!(r[0]["ok"], true, "{}", r[0]["error"]);
    assert_eq!(r[1]["ok"], true, "{}", r[1]["error"]);
    for b in &r[2..] {
        assert_eq!(b["ok"], false, "{} parsed", b["file"]);
    }
    let plugins = r[1]["plugins"].as_array().unwrap();
    let find = |section: &str, name: &str| -> &Value {
        let p = plugins.iter().find(|p| p["section"] == section && p["name"] == name);
        &p.unwrap_or_else(|| panic!("no {section} {name} in {plugins:#?}"))["settings"]
    };
    let kafka = find("input", "kafka");
    assert_eq!(kafka["codec"], "json");
    assert_eq!(kafka["decorate_events"], "extended");
    assert!(kafka["group_id"].is_string() && kafka["bootstrap_servers"].is_string());
    assert!(kafka["topics_pattern"].is_string() || kafka["topics"].is_array());
    // No second copy of the message in event.original.
    assert_eq!(find("input.kafka.codec", "json")["ecs_compatibility"], "disabled");
    let es = find("output", "elasticsearch");
    assert_eq!(es["data_stream"], "true");
    assert_eq!(es["action"], "create");
    assert_eq!(es["manage_template"], false);
    for forbidden in ["index", "document_id", "ilm_enabled", "template", "template_name"] {
        assert!(es.get(forbidden).is_none(), "{forbidden} is forbidden with data_stream");
    }
    // pipelines.yml: the pipeline, with its dead letter queue.
    let yml: wirebeat::yaml::Value =
        wirebeat::yaml::from_str(&content::logstash_pipelines_yml()).unwrap();
    let p = &yml.as_sequence().unwrap()[0];
    assert_eq!(p["pipeline.id"].as_str(), Some("wirebeat"));
    assert!(p["path.config"].as_str().unwrap().ends_with("/wirebeat.conf"));
    assert_eq!(p["dead_letter_queue.enable"].as_bool(), Some(true));
    assert_eq!(p["queue.type"].as_str(), Some("persisted"));
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

#[test]
fn docker_compose_parses_and_its_paths_exist() {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let y: wirebeat::yaml::Value = wirebeat::yaml::from_str(&text).unwrap();
    let services = y["services"].as_mapping().unwrap();
    let names: BTreeSet<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    for s in ["elasticsearch", "kibana", "kafka", "logstash", "wirebeat", "setup"] {
        assert!(names.contains(s), "service {s} missing");
    }
    let mut problems = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let host = v.as_str().unwrap().split(':').next().unwrap();
            if host.starts_with('.') && !repo().join(host).exists() {
                problems.push(format!("{name}: mounts {host}, which does not exist"));
            }
        }
        if let Some(build) = svc.get("build") {
            let ctx = build["context"].as_str().unwrap_or(".");
            let file = build["dockerfile"].as_str().unwrap_or("Dockerfile");
            let dockerfile = repo().join(ctx).join(file);
            if !dockerfile.exists() {
                problems.push(format!("{name}: no {}", dockerfile.display()));
                continue;
            }
            // Every COPY source (not from another stage) exists in the build context.
            for line in std::fs::read_to_string(&dockerfile).unwrap().lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                if words.first() != Some(&"COPY") || words.iter().any(|w| w.starts_with("--from")) {
                    continue;
                }
                let srcs: Vec<&&str> =
                    words[1..words.len() - 1].iter().filter(|w| !w.starts_with("--")).collect();
                for src in srcs {
                    if !repo().join(ctx).join(src).exists() {
                        problems.push(format!("{name}: COPY {src}: not in the build context"));
                    }
                }
            }
        }
        for dep in svc["depends_on"].as_mapping().into_iter().flat_map(|m| m.keys()) {
            if !names.contains(dep.as_str().unwrap()) {
                problems.push(format!("{name}: depends on unknown service {dep:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let svc = |n: &str| &services[n];
    let image = |n: &str| svc(n)["image"].as_str().unwrap_or("").to_owned();
    assert!(image("elasticsearch").contains("elasticsearch:8."), "{}", image("elasticsearch"));
    assert!(image("kafka").starts_with("apache/kafka"), "{}", image("kafka"));
    assert!(image("logstash").contains("logstash:8."), "{}", image("logstash"));
    let wb = svc("wirebeat");
    assert_eq!(wb["network_mode"].as_str(), Some("host"));
    let caps: BTreeSet<&str> =
        wb["cap_add"].as_sequence().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(caps.contains("NET_RAW") && caps.contains("NET_ADMIN"), "{caps:?}");
    let cmd = |n: &str| -> String {
        match &svc(n)["command"] {
            wirebeat::yaml::Value::Sequence(s) => {
                s.iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>().join(" ")
            }
            v => v.as_str().unwrap_or("").to_owned(),
        }
    };
    assert!(cmd("setup").starts_with("setup"), "{}", cmd("setup"));
    assert!(cmd("setup").contains("output.elasticsearch.hosts"));
    assert!(cmd("setup").contains("setup.kibana.host"));
    assert!(cmd("wirebeat").contains("output.kafka"), "{}", cmd("wirebeat"));
    let ls: Vec<&str> = svc("logstash")["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(ls.iter().any(|v| v.starts_with("./logstash/wirebeat.conf:")), "{ls:?}");
    assert!(ls.iter().any(|v| v.starts_with("./logstash/pipelines.yml:")), "{ls:?}");
}
