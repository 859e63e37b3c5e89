//! Kibana content (`kibana/`): the checked-in files equal what `wirebeat::kibana` generates,
//! and they follow the saved-object and detection-rule formats of
//! ../shared/docs/elastic-content.md (a) and (b).
//!
//! - Saved objects: structure, ids, references (top level and by-value Lens panels with the
//!   `<panelIndex>:` prefix rule), `*JSON` strings, grid, version stamps, and every field a
//!   visualization uses is mapped with a type that fits the operation.
//! - Rules: Elastic's draft-04 rule schemas for 8.19 and 9.x (tests/content/kibana_rules.py),
//!   KQL/EQL parsing (kibana-ql, eql), rule_ids unique and not Elastic prebuilt ones,
//!   severity/risk score bands, MITRE ids and URLs, and every field a rule reads is mapped.
//! - Mutated copies (dangling reference, severity "urgent", ...) are rejected, so the checks
//!   are shown to work.
//!
//! `UPDATE_CONTENT=1 cargo test --test content_kibana` rewrites the checked-in files.
//!
//! The Python checks need `jsonschema`, `kibana-ql` and `eql`; without them the tests that use
//! them print why they were skipped, and fail instead when `CI` is set.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::{shared, skipped};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use wirebeat::kibana;

// ---------------------------------------------------------------------------------------------
// The one place that decides which fields exist.

/// Elasticsearch type of `field` in wirebeat's indices, or None when it is not mapped.
///
/// The index templates' field list (`wirebeat::content::fields::all()`, the one list the
/// templates are generated from) and their `wirebeat.stats.*` → long dynamic template: every
/// check below goes through this function.
fn mapped_type(field: &str) -> Option<String> {
    static FIELDS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let fields = FIELDS.get_or_init(|| {
        wirebeat::content::fields::all()
            .into_iter()
            .map(|f| (f.name.to_string(), f.es_type.to_string()))
            .collect()
    });
    if let Some(t) = fields.get(field) {
        return Some(t.clone());
    }
    // The templates' dynamic template maps every `wirebeat.stats.*` counter as long.
    let counter = field.strip_prefix("wirebeat.stats.").is_some_and(|rest| {
        !rest.is_empty()
            && rest.split('.').all(|p| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
    });
    counter.then(|| "long".to_owned())
}

// ---------------------------------------------------------------------------------------------
// Paths, files, Python.

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Elastic prebuilt rule_ids (elastic/detection-rules `rules/network/*.toml` as read with the
/// search tools, plus the External Alerts rule named in elastic-content.md).
fn prebuilt_rule_ids() -> BTreeSet<String> {
    let ids: BTreeSet<String> = read("tests/data/elastic-network-rule-ids.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(ids.len() >= 10, "prebuilt id fixture too small: {}", ids.len());
    for id in &ids {
        assert!(is_uuid(id), "fixture line is not a rule_id: {id:?}");
    }
    ids
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

/// True when the Python validators can run; otherwise explains the skip (or fails under CI).
fn python_ready() -> bool {
    let out = Command::new("python3")
        .args(["-c", "import jsonschema, kibana_ql, eql"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let reason = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().lines().last().unwrap_or("").to_owned(),
        Err(e) => format!("python3 not runnable: {e}"),
    };
    let msg = format!(
        "Python validators unavailable ({reason}); install with \
         `pip install jsonschema kibana-ql eql`"
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    skipped(&msg);
    false
}

fn run_python(script: &str, args: &[&str], stdin: Option<&str>) -> Value {
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/content").join(script)).args(args);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Parses KQL/EQL queries: key → (error, fields, EQL event categories).
/// What the parser says of one query: (error, fields, EQL event categories).
type Parsed = (Option<String>, Vec<String>, Vec<String>);

fn parse_queries(queries: &[(String, &str, String)]) -> BTreeMap<String, Parsed> {
    let input: Vec<Value> = queries
        .iter()
        .map(|(k, lang, q)| json!({"key": k, "language": lang, "query": q}))
        .collect();
    let out = run_python("kibana_queries.py", &[], Some(&Value::Array(input).to_string()));
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
    };
    out.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = r["key"].as_str().unwrap().to_owned();
            let err = r["error"].as_str().map(str::to_owned);
            (key, (err, strings(&r["fields"]), strings(&r["categories"])))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Checked-in files.

fn check_file(rel: &str, generated: &str) {
    let path = repo().join(rel);
    if std::env::var_os("UPDATE_CONTENT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        eprintln!("rewrote {rel}");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != generated {
        let n = on_disk.lines().zip(generated.lines()).take_while(|(a, b)| a == b).count();
        panic!(
            "{rel} differs from what wirebeat::kibana generates (first at line {}); \
             run `UPDATE_CONTENT=1 cargo test --test content_kibana` and commit",
            n + 1
        );
    }
}

#[test]
fn checked_in_files_equal_the_generated_ones() {
    check_file("kibana/saved_objects.ndjson", &kibana::saved_objects_ndjson());
    check_file("kibana/rules.ndjson", &kibana::rules_ndjson());
    // Generation is deterministic.
    assert_eq!(kibana::saved_objects_ndjson(), kibana::saved_objects_ndjson());
    assert_eq!(kibana::rules_ndjson(), kibana::rules_ndjson());
}

// ---------------------------------------------------------------------------------------------
// Saved objects.

/// A KQL query found in a saved object, for the Python parser.
#[derive(Debug, Clone)]
struct KqlUse {
    place: String,
    query: String,
}

/// What the saved-object checks found.
#[derive(Debug, Default)]
struct SavedObjectReport {
    problems: Vec<String>,
    queries: Vec<KqlUse>,
    /// Runtime fields of the data views: name → type.
    runtime: BTreeMap<String, String>,
    dashboards: usize,
    panels: usize,
}

/// Lens data type of an Elasticsearch field type; None when not aggregatable.
fn lens_type(es_type: &str) -> Option<&'static str> {
    Some(match es_type {
        "keyword" | "constant_keyword" | "wildcard" => "string",
        "long" | "integer" | "short" | "byte" | "unsigned_long" | "float" | "double"
        | "half_float" | "scaled_float" => "number",
        "ip" => "ip",
        "date" | "date_nanos" => "date",
        "boolean" => "boolean",
        _ => return None,
    })
}

fn stamp_for(ty: &str) -> Option<&'static str> {
    match ty {
        "index-pattern" => Some(kibana::INDEX_PATTERN_STAMP),
        "lens" => Some(kibana::LENS_STAMP),
        "dashboard" => Some(kibana::DASHBOARD_STAMP),
        _ => None,
    }
}

/// Decodes a `*JSON` string attribute; records a problem when it is not a string of JSON.
fn json_string(v: &Value, what: &str, problems: &mut Vec<String>) -> Option<Value> {
    match v.as_str() {
        Some(s) => match serde_json::from_str(s) {
            Ok(x) => Some(x),
            Err(e) => {
                problems.push(format!("{what}: string is not JSON: {e}"));
                None
            }
        },
        None => {
            problems.push(format!("{what}: must be a JSON-encoded string, found {}", kind(v)));
            None
        }
    }
}

/// A string with something in it.
fn non_empty(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_saved_objects(text: &str) -> SavedObjectReport {
    let mut r = SavedObjectReport::default();
    let mut objects = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => objects.push(v),
            Ok(_) => r.problems.push(format!("line {}: not an object", n + 1)),
            Err(e) => r.problems.push(format!("line {}: not JSON: {e}", n + 1)),
        }
    }
    // Ids and types first: references resolve against them.
    let mut ids = BTreeSet::new();
    for o in &objects {
        let (Some(ty), Some(id)) = (o["type"].as_str(), o["id"].as_str()) else {
            let start: String = o.to_string().chars().take(80).collect();
            r.problems.push(format!("object without type/id: {start}"));
            continue;
        };
        if id.is_empty() || !ids.insert(id.to_owned()) {
            r.problems.push(format!("{ty} {id}: id empty or not unique"));
        }
    }
    let known: BTreeSet<(String, String)> = objects
        .iter()
        .filter_map(|o| Some((o["type"].as_str()?.to_owned(), o["id"].as_str()?.to_owned())))
        .collect();
    // Data views first (their runtime fields are usable by the panels).
    for o in objects.iter().filter(|o| o["type"] == "index-pattern") {
        check_data_view(o, &mut r);
    }
    for o in &objects {
        let ty = o["type"].as_str().unwrap_or("");
        let id = o["id"].as_str().unwrap_or("");
        let what = format!("{ty} {id}");
        // Version stamps.
        match stamp_for(ty) {
            Some(s) if o["typeMigrationVersion"] == s => {}
            Some(s) => r.problems.push(format!(
                "{what}: typeMigrationVersion {} (want {s})",
                o["typeMigrationVersion"]
            )),
            None => r.problems.push(format!("{what}: unexpected saved object type")),
        }
        if o["coreMigrationVersion"] != kibana::CORE_STAMP {
            r.problems.push(format!("{what}: coreMigrationVersion {}", o["coreMigrationVersion"]));
        }
        for k in ["migrationVersion", "version", "namespaces"] {
            if o.get(k).is_some() {
                r.problems.push(format!("{what}: carries `{k}`, which an import file must not"));
            }
        }
        if !o["attributes"].is_object() {
            r.problems.push(format!("{what}: attributes missing"));
        }
        // Top-level references resolve within the file.
        let Some(refs) = o["references"].as_array() else {
            r.problems.push(format!("{what}: references is not an array"));
            continue;
        };
        let mut names = BTreeSet::new();
        for x in refs {
            let (Some(rt), Some(rid), Some(rn)) =
                (x["type"].as_str(), x["id"].as_str(), x["name"].as_str())
            else {
                r.problems.push(format!("{what}: malformed reference {x}"));
                continue;
            };
            if !known.contains(&(rt.to_owned(), rid.to_owned())) {
                r.problems.push(format!("{what}: reference {rn} to {rt} {rid} does not resolve"));
            }
            if !names.insert(rn.to_owned()) {
                r.problems.push(format!("{what}: reference name {rn} repeated"));
            }
        }
        if ty == "dashboard" {
            r.dashboards += 1;
            check_dashboard(o, &what, &mut r);
        }
    }
    if objects.first().is_some_and(|o| o["type"] != "index-pattern") {
        r.problems.push("the data view must come first".to_owned());
    }
    r
}

fn check_data_view(o: &Value, r: &mut SavedObjectReport) {
    let a = &o["attributes"];
    let what = format!("index-pattern {}", o["id"]);
    if a["title"] != kibana::DATA_VIEW_TITLE {
        r.problems.push(format!("{what}: title {}", a["title"]));
    }
    if a["timeFieldName"] != "@timestamp" {
        r.problems.push(format!("{what}: timeFieldName {}", a["timeFieldName"]));
    }
    if !o["references"].as_array().is_some_and(Vec::is_empty) {
        r.problems.push(format!("{what}: a data view has no references"));
    }
    for k in ["fields", "fieldFormatMap", "runtimeFieldMap", "sourceFilters", "fieldAttrs"] {
        let Some(v) = json_string(&a[k], &format!("{what} {k}"), &mut r.problems) else {
            continue;
        };
        if k == "fieldFormatMap" {
            for f in v.as_object().into_iter().flat_map(|m| m.keys()) {
                if mapped_type(f).is_none() {
                    r.problems.push(format!("{what}: field format for unmapped field {f}"));
                }
            }
        }
        if k == "runtimeFieldMap" {
            for (name, def) in v.as_object().into_iter().flatten() {
                let ty = def["type"].as_str().unwrap_or("");
                if !["long", "double", "keyword", "ip", "boolean", "date"].contains(&ty)
                    || !def["script"]["source"].as_str().is_some_and(|s| s.contains("emit("))
                {
                    r.problems.push(format!("{what}: runtime field {name} malformed"));
                }
                if mapped_type(name).is_some() {
                    r.problems.push(format!("{what}: runtime field {name} shadows a mapped field"));
                }
                r.runtime.insert(name.clone(), ty.to_owned());
            }
        }
    }
}

fn check_dashboard(o: &Value, what: &str, r: &mut SavedObjectReport) {
    let a = &o["attributes"];
    if !non_empty(&a["title"]) || a["version"] != 1 {
        r.problems.push(format!("{what}: title or version"));
    }
    if a["timeRestore"] == true && !(a["timeFrom"].is_string() && a["timeTo"].is_string()) {
        r.problems.push(format!("{what}: timeRestore without timeFrom/timeTo"));
    }
    json_string(&a["optionsJSON"], &format!("{what} optionsJSON"), &mut r.problems);
    if let Some(s) = json_string(
        &a["kibanaSavedObjectMeta"]["searchSourceJSON"],
        &format!("{what} searchSourceJSON"),
        &mut r.problems,
    ) {
        if let Some(q) = s["query"]["query"].as_str().filter(|q| !q.is_empty()) {
            r.queries.push(KqlUse { place: format!("{what} query"), query: q.to_owned() });
        }
    }
    let Some(panels) =
        json_string(&a["panelsJSON"], &format!("{what} panelsJSON"), &mut r.problems)
    else {
        return;
    };
    let Some(panels) = panels.as_array() else {
        r.problems.push(format!("{what}: panelsJSON is not an array"));
        return;
    };
    let top: BTreeSet<(String, String, String)> = o["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            Some((
                x["name"].as_str()?.to_owned(),
                x["type"].as_str()?.to_owned(),
                x["id"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut expected_top = BTreeSet::new();
    let mut indices = BTreeSet::new();
    let mut cells: Vec<(String, u64, u64, u64, u64)> = Vec::new();
    for p in panels {
        r.panels += 1;
        let Some(pi) = p["panelIndex"].as_str() else {
            r.problems.push(format!("{what}: panel without panelIndex"));
            continue;
        };
        let pw = format!("{what} panel {pi}");
        if !indices.insert(pi.to_owned()) {
            r.problems.push(format!("{pw}: panelIndex repeated"));
        }
        let g = &p["gridData"];
        let (x, y, w, h) = (g["x"].as_u64(), g["y"].as_u64(), g["w"].as_u64(), g["h"].as_u64());
        match (x, y, w, h) {
            (Some(x), Some(y), Some(w), Some(h))
                if w >= 1 && h >= 1 && x + w <= u64::from(kibana::dashboards::GRID_COLUMNS) =>
            {
                cells.push((pi.to_owned(), x, y, w, h));
            }
            _ => r.problems.push(format!("{pw}: gridData {g} outside the 48-column grid")),
        }
        if g["i"] != pi {
            r.problems.push(format!("{pw}: gridData.i {} is not the panelIndex", g["i"]));
        }
        if p["version"] != kibana::PANEL_VERSION {
            r.problems.push(format!("{pw}: version {}", p["version"]));
        }
        if let Some(ref_name) = p["panelRefName"].as_str() {
            // By reference: `<panelIndex>:<panelRefName>` must be a top-level reference.
            let full = format!("{pi}:{ref_name}");
            if !top.iter().any(|(n, _, _)| *n == full) {
                r.problems.push(format!("{pw}: no top-level reference {full}"));
            }
            expected_top.insert(full);
            continue;
        }
        let attrs = &p["embeddableConfig"]["attributes"];
        if p["type"] != "lens" || attrs["type"] != "lens" {
            r.problems.push(format!("{pw}: not a by-value Lens panel"));
            continue;
        }
        let empty = Vec::new();
        let lens_refs = attrs["references"].as_array().unwrap_or(&empty);
        for x in lens_refs {
            let name = format!("{pi}:{}", x["name"].as_str().unwrap_or(""));
            let key = (
                name.clone(),
                x["type"].as_str().unwrap_or("").to_owned(),
                x["id"].as_str().unwrap_or("").to_owned(),
            );
            if !top.contains(&key) {
                r.problems.push(format!(
                    "{pw}: layer reference {} not copied to the dashboard references as {name}",
                    x["name"]
                ));
            }
            expected_top.insert(name);
        }
        check_lens(attrs, &pw, r);
    }
    for (n, _, _) in &top {
        if !expected_top.contains(n) {
            r.problems.push(format!("{what}: top-level reference {n} belongs to no panel"));
        }
    }
    for (i, a) in cells.iter().enumerate() {
        for b in &cells[i + 1..] {
            let overlap = a.1 < b.1 + b.3 && b.1 < a.1 + a.3 && a.2 < b.2 + b.4 && b.2 < a.2 + a.4;
            if overlap {
                r.problems.push(format!("{what}: panels {} and {} overlap", a.0, b.0));
            }
        }
    }
}

fn check_lens(attrs: &Value, pw: &str, r: &mut SavedObjectReport) {
    let vt = attrs["visualizationType"].as_str().unwrap_or("");
    if !["lnsXY", "lnsPie", "lnsMetric", "lnsDatatable"].contains(&vt) {
        r.problems.push(format!("{pw}: visualizationType {vt:?}"));
    }
    if !non_empty(&attrs["title"]) {
        r.problems.push(format!("{pw}: Lens without a title"));
    }
    let state = &attrs["state"];
    let ref_names: BTreeSet<&str> = attrs["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["type"] == "index-pattern")
        .filter_map(|x| x["name"].as_str())
        .collect();
    if state["query"]["language"] != "kuery" {
        r.problems.push(format!("{pw}: query language {}", state["query"]["language"]));
    }
    if let Some(q) = state["query"]["query"].as_str().filter(|q| !q.is_empty()) {
        r.queries.push(KqlUse { place: format!("{pw} query"), query: q.to_owned() });
    }
    if !state["filters"].is_array() {
        r.problems.push(format!("{pw}: state.filters is not an array"));
    }
    let Some(layers) = state["datasourceStates"]["formBased"]["layers"].as_object() else {
        r.problems.push(format!("{pw}: no formBased layers"));
        return;
    };
    if layers.is_empty() {
        r.problems.push(format!("{pw}: no formBased layers"));
    }
    let mut all_columns: BTreeMap<String, Value> = BTreeMap::new();
    for (lid, layer) in layers {
        let lw = format!("{pw} layer {lid}");
        if !ref_names.contains(kibana::lens::layer_ref_name(lid).as_str()) {
            r.problems.push(format!(
                "{lw}: no data view reference {}",
                kibana::lens::layer_ref_name(lid)
            ));
        }
        let columns = layer["columns"].as_object().cloned().unwrap_or_default();
        let order: BTreeSet<&str> = layer["columnOrder"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let keys: BTreeSet<&str> = columns.keys().map(String::as_str).collect();
        if order != keys {
            r.problems.push(format!("{lw}: columnOrder does not list exactly the columns"));
        }
        for (cid, col) in &columns {
            check_column(col, &columns, &format!("{lw} column {cid}"), r);
            all_columns.insert(cid.clone(), col.clone());
        }
    }
    // Every accessor names a column of the layer it is in.
    let vis = &state["visualization"];
    let mut accessors: Vec<(String, String)> = Vec::new(); // (layerId, columnId)
    let mut push = |layer: &Value, acc: &Value| {
        if let (Some(l), Some(c)) = (layer.as_str(), acc.as_str()) {
            accessors.push((l.to_owned(), c.to_owned()));
        }
    };
    match vt {
        "lnsXY" | "lnsPie" => {
            for l in vis["layers"].as_array().into_iter().flatten() {
                for k in ["accessors", "primaryGroups", "metrics"] {
                    for a in l[k].as_array().into_iter().flatten() {
                        push(&l["layerId"], a);
                    }
                }
                for k in ["xAccessor", "splitAccessor"] {
                    if !l[k].is_null() {
                        push(&l["layerId"], &l[k]);
                    }
                }
            }
        }
        "lnsMetric" => push(&vis["layerId"], &vis["metricAccessor"]),
        "lnsDatatable" => {
            for c in vis["columns"].as_array().into_iter().flatten() {
                push(&vis["layerId"], &c["columnId"]);
            }
        }
        _ => {}
    }
    if accessors.is_empty() {
        r.problems.push(format!("{pw}: the visualization shows no column"));
    }
    for (l, c) in accessors {
        let ok = layers.get(&l).is_some_and(|layer| layer["columns"].get(&c).is_some());
        if !ok {
            r.problems.push(format!("{pw}: accessor {c} is not a column of layer {l}"));
        }
    }
}

fn check_column(
    col: &Value,
    columns: &serde_json::Map<String, Value>,
    cw: &str,
    r: &mut SavedObjectReport,
) {
    let op = col["operationType"].as_str().unwrap_or("");
    let data_type = col["dataType"].as_str().unwrap_or("");
    if let Some(q) = col["filter"]["query"].as_str() {
        r.queries.push(KqlUse { place: format!("{cw} filter"), query: q.to_owned() });
    }
    for f in col["params"]["filters"].as_array().into_iter().flatten() {
        if let Some(q) = f["input"]["query"].as_str() {
            r.queries.push(KqlUse { place: format!("{cw} filters bucket"), query: q.to_owned() });
        }
    }
    for x in col["references"].as_array().into_iter().flatten() {
        if !x.as_str().is_some_and(|id| columns.contains_key(id)) {
            r.problems.push(format!("{cw}: references missing column {x}"));
        }
    }
    if let Some(target) = col["params"]["orderBy"]["columnId"].as_str() {
        match columns.get(target) {
            None => r.problems.push(format!("{cw}: orders by missing column {target}")),
            // Terms are ranked by a sub-aggregation; a reference-based column (counter_rate,
            // differences, cumulative_sum) is a pipeline aggregation and cannot rank them.
            Some(t) if t["references"].is_array() || t["isBucketed"] == true => {
                r.problems.push(format!("{cw}: ranks by column {target}, which cannot rank terms"))
            }
            Some(_) => {}
        }
    }
    let source = col["sourceField"].as_str();
    let needs_field = !matches!(op, "filters" | "counter_rate" | "formula" | "math");
    let Some(field) = source.filter(|_| needs_field) else {
        if needs_field {
            r.problems.push(format!("{cw}: {op} without sourceField"));
        }
        return;
    };
    if op == "count" {
        if field != "___records___" {
            r.problems.push(format!("{cw}: count of {field} (want ___records___)"));
        }
        return;
    }
    let es_type = mapped_type(field).or_else(|| r.runtime.get(field).cloned());
    let Some(es_type) = es_type else {
        r.problems.push(format!("{cw}: field {field} is not mapped"));
        return;
    };
    let lt = lens_type(&es_type);
    let fits = match op {
        "terms" | "unique_count" | "last_value" => {
            lt == Some(data_type) || (op == "unique_count" && lt.is_some() && data_type == "number")
        }
        "date_histogram" => lt == Some("date") && data_type == "date",
        "sum" | "average" | "median" | "percentile" | "standard_deviation" => {
            lt == Some("number") && data_type == "number"
        }
        "min" | "max" => matches!(lt, Some("number") | Some("date")) && lt == Some(data_type),
        _ => {
            r.problems.push(format!("{cw}: unknown operation {op}"));
            return;
        }
    };
    if !fits {
        r.problems
            .push(format!("{cw}: {op} on {field} ({es_type}) does not fit dataType {data_type:?}"));
    }
}

/// Parses every KQL query of the report and checks the fields they use.
fn check_saved_object_queries(report: &SavedObjectReport) -> Vec<String> {
    let queries: Vec<(String, &str, String)> = report
        .queries
        .iter()
        .enumerate()
        .map(|(n, q)| (n.to_string(), "kuery", q.query.clone()))
        .collect();
    let parsed = parse_queries(&queries);
    let mut problems = Vec::new();
    for (n, q) in report.queries.iter().enumerate() {
        let Some((err, fields, _)) = parsed.get(&n.to_string()) else {
            problems.push(format!("{}: not parsed", q.place));
            continue;
        };
        if let Some(e) = err {
            problems.push(format!("{}: KQL {:?} does not parse: {e}", q.place, q.query));
        }
        for f in fields {
            if mapped_type(f).is_none() && !report.runtime.contains_key(f) {
                problems.push(format!("{}: KQL field {f} is not mapped", q.place));
            }
        }
    }
    problems
}

#[test]
fn saved_objects_follow_the_import_format() {
    let text = kibana::saved_objects_ndjson();
    let r = check_saved_objects(&text);
    assert!(r.problems.is_empty(), "{}", r.problems.join("\n"));
    assert_eq!(
        r.dashboards, 8,
        "Overview, Flows, DNS, HTTP, TLS, Databases/caches/messaging, Alerts, Sensor health"
    );
    assert!(r.panels >= 40, "panels: {}", r.panels);
    assert!(r.queries.len() >= 30, "queries found: {}", r.queries.len());
    assert_eq!(r.runtime.len(), kibana::dashboards::RUNTIME_FIELDS.len());
    // Each dashboard title is present once.
    let titles: BTreeSet<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|o| o["type"] == "dashboard")
        .map(|o| o["attributes"]["title"].as_str().unwrap().to_owned())
        .collect();
    for t in ["Overview", "Flows", "DNS", "HTTP", "TLS", "Alerts", "Sensor health"] {
        assert!(titles.contains(&format!("[wirebeat] {t}")), "{t} missing: {titles:?}");
    }
    if python_ready() {
        let problems = check_saved_object_queries(&r);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

// --- mutations of the saved objects -----------------------------------------------------------

fn objects() -> Vec<Value> {
    kibana::saved_objects_ndjson().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ndjson(objects: &[Value]) -> String {
    objects.iter().map(|o| format!("{o}\n")).collect()
}

fn first_dashboard(objects: &mut [Value]) -> &mut Value {
    objects.iter_mut().find(|o| o["type"] == "dashboard").unwrap()
}

/// Applies `f` to the decoded panels of the first dashboard and re-encodes them.
fn edit_panels(objects: &mut [Value], f: impl FnOnce(&mut Vec<Value>)) {
    let d = first_dashboard(objects);
    let mut panels: Vec<Value> =
        serde_json::from_str(d["attributes"]["panelsJSON"].as_str().unwrap()).unwrap();
    f(&mut panels);
    d["attributes"]["panelsJSON"] = Value::String(Value::Array(panels).to_string());
}

fn assert_rejected(text: &str, expect: &str) {
    let r = check_saved_objects(text);
    assert!(
        r.problems.iter().any(|p| p.contains(expect)),
        "mutation not rejected with {expect:?}; problems: {:#?}",
        r.problems
    );
}

#[test]
fn mutated_saved_objects_are_rejected() {
    require_shared!();
    // A dangling top-level reference.
    let mut o = objects();
    first_dashboard(&mut o)["references"][0]["id"] = json!("00000000-0000-5000-8000-000000000000");
    assert_rejected(&ndjson(&o), "does not resolve");

    // A layer reference not copied to the dashboard's references.
    let mut o = objects();
    first_dashboard(&mut o)["references"].as_array_mut().unwrap().remove(0);
    assert_rejected(&ndjson(&o), "not copied to the dashboard references");

    // The prefix rule: a top-level reference without the `<panelIndex>:` prefix.
    let mut o = objects();
    let name = first_dashboard(&mut o)["references"][0]["name"].as_str().unwrap().to_owned();
    let bare = name.split_once(':').unwrap().1.to_owned();
    first_dashboard(&mut o)["references"][0]["name"] = json!(bare);
    assert_rejected(&ndjson(&o), "not copied to the dashboard references");

    // panelsJSON as an object instead of a string.
    let mut o = objects();
    let d = first_dashboard(&mut o);
    let decoded: Value =
        serde_json::from_str(d["attributes"]["panelsJSON"].as_str().unwrap()).unwrap();
    d["attributes"]["panelsJSON"] = decoded;
    assert_rejected(&ndjson(&o), "must be a JSON-encoded string");

    // optionsJSON that is not JSON.
    let mut o = objects();
    first_dashboard(&mut o)["attributes"]["optionsJSON"] = json!("{useMargins: true");
    assert_rejected(&ndjson(&o), "string is not JSON");

    // A panel sticking out of the 48-column grid.
    let mut o = objects();
    edit_panels(&mut o, |p| {
        p[0]["gridData"]["x"] = json!(40);
        p[0]["gridData"]["w"] = json!(12);
    });
    assert_rejected(&ndjson(&o), "outside the 48-column grid");

    // gridData.i different from panelIndex.
    let mut o = objects();
    edit_panels(&mut o, |p| p[1]["gridData"]["i"] = json!("something-else"));
    assert_rejected(&ndjson(&o), "is not the panelIndex");

    // Two panels on the same cells.
    let mut o = objects();
    edit_panels(&mut o, |p| p[1]["gridData"]["x"] = p[0]["gridData"]["x"].clone());
    assert_rejected(&ndjson(&o), "overlap");

    // A visualization on a field nobody maps.
    let mut o = objects();
    edit_panels(&mut o, |p| {
        let layers = p[5]["embeddableConfig"]["attributes"]["state"]["datasourceStates"]
            ["formBased"]["layers"]
            .as_object_mut()
            .unwrap();
        let layer = layers.values_mut().next().unwrap();
        for c in layer["columns"].as_object_mut().unwrap().values_mut() {
            if c["operationType"] == "terms" {
                c["sourceField"] = json!("source.ipaddr");
            }
        }
    });
    assert_rejected(&ndjson(&o), "field source.ipaddr is not mapped");

    // Terms on an IP field declared as a string column.
    let mut o = objects();
    edit_panels(&mut o, |p| {
        let layers = p[5]["embeddableConfig"]["attributes"]["state"]["datasourceStates"]
            ["formBased"]["layers"]
            .as_object_mut()
            .unwrap();
        let layer = layers.values_mut().next().unwrap();
        for c in layer["columns"].as_object_mut().unwrap().values_mut() {
            if c["sourceField"] == "source.ip" {
                c["dataType"] = json!("string");
            }
        }
    });
    assert_rejected(&ndjson(&o), "does not fit dataType");

    // Sum of a keyword.
    let mut o = objects();
    edit_panels(&mut o, |p| {
        let layers = p[1]["embeddableConfig"]["attributes"]["state"]["datasourceStates"]
            ["formBased"]["layers"]
            .as_object_mut()
            .unwrap();
        let layer = layers.values_mut().next().unwrap();
        for c in layer["columns"].as_object_mut().unwrap().values_mut() {
            if c["operationType"] == "sum" {
                c["sourceField"] = json!("network.transport");
            }
        }
    });
    assert_rejected(&ndjson(&o), "does not fit dataType");

    // Terms ranked by a column that cannot rank them (here: itself, a bucket).
    let mut o = objects();
    edit_panels(&mut o, |p| {
        let layers = p[5]["embeddableConfig"]["attributes"]["state"]["datasourceStates"]
            ["formBased"]["layers"]
            .as_object_mut()
            .unwrap();
        let layer = layers.values_mut().next().unwrap();
        let cols = layer["columns"].as_object_mut().unwrap();
        let terms = cols.iter().find(|(_, c)| c["operationType"] == "terms").unwrap().0.clone();
        cols[&terms]["params"]["orderBy"]["columnId"] = json!(terms);
    });
    assert_rejected(&ndjson(&o), "cannot rank terms");

    // An accessor naming no column.
    let mut o = objects();
    edit_panels(&mut o, |p| {
        p[0]["embeddableConfig"]["attributes"]["state"]["visualization"]["metricAccessor"] =
            json!("no-such-column");
    });
    assert_rejected(&ndjson(&o), "is not a column of layer");

    // A stamp newer than the support floor, and a missing one.
    let mut o = objects();
    first_dashboard(&mut o)["typeMigrationVersion"] = json!("10.2.0");
    assert_rejected(&ndjson(&o), "typeMigrationVersion");
    let mut o = objects();
    o[0].as_object_mut().unwrap().remove("typeMigrationVersion");
    assert_rejected(&ndjson(&o), "typeMigrationVersion");

    // Duplicate ids.
    let mut o = objects();
    let id = o[1]["id"].clone();
    o[2]["id"] = id;
    assert_rejected(&ndjson(&o), "not unique");

    // A line that is not JSON.
    assert_rejected(&format!("{}{{\"type\":\n", ndjson(&objects())), "not JSON");
}

#[test]
fn broken_dashboard_queries_are_rejected() {
    if !python_ready() {
        return;
    }
    let base = check_saved_objects(&kibana::saved_objects_ndjson());
    let mut r = SavedObjectReport { runtime: base.runtime.clone(), ..Default::default() };
    r.queries.push(KqlUse { place: "broken".into(), query: "dns.response_code:(NXDOMAIN".into() });
    r.queries.push(KqlUse { place: "unmapped".into(), query: "dns.rcode:NXDOMAIN".into() });
    r.queries.push(KqlUse {
        place: "runtime".into(),
        query: "wirebeat.dns.question.name_length >= 52".into(),
    });
    let problems = check_saved_object_queries(&r);
    assert!(problems.iter().any(|p| p.starts_with("broken: KQL")), "{problems:#?}");
    assert!(
        problems.iter().any(|p| p.contains("KQL field dns.rcode is not mapped")),
        "{problems:#?}"
    );
    assert!(!problems.iter().any(|p| p.starts_with("runtime")), "{problems:#?}");
}

// ---------------------------------------------------------------------------------------------
// Detection rules.

/// MITRE ATT&CK Enterprise tactics (id, name).
const TACTICS: &[(&str, &str)] = &[
    ("TA0043", "Reconnaissance"),
    ("TA0042", "Resource Development"),
    ("TA0001", "Initial Access"),
    ("TA0002", "Execution"),
    ("TA0003", "Persistence"),
    ("TA0004", "Privilege Escalation"),
    ("TA0005", "Defense Evasion"),
    ("TA0006", "Credential Access"),
    ("TA0007", "Discovery"),
    ("TA0008", "Lateral Movement"),
    ("TA0009", "Collection"),
    ("TA0011", "Command and Control"),
    ("TA0010", "Exfiltration"),
    ("TA0040", "Impact"),
];

fn severity_of_risk(score: u64) -> Option<&'static str> {
    match score {
        0..=21 => Some("low"),
        22..=47 => Some("medium"),
        48..=73 => Some("high"),
        74..=100 => Some("critical"),
        _ => None,
    }
}

/// `now-<n><unit>` or `<n><unit>` in seconds.
fn duration_secs(s: &str) -> Option<u64> {
    let s = s.strip_prefix("now-").unwrap_or(s);
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(
        n * match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return None,
        },
    )
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.chars().all(|c| c.is_ascii_digit())
}

fn check_threat(threat: &Value, rw: &str, problems: &mut Vec<String>) {
    let Some(list) = threat.as_array().filter(|l| !l.is_empty()) else {
        problems.push(format!("{rw}: no MITRE threat"));
        return;
    };
    for t in list {
        if t["framework"] != "MITRE ATT&CK" {
            problems.push(format!("{rw}: framework {}", t["framework"]));
        }
        let id = t["tactic"]["id"].as_str().unwrap_or("");
        let name = t["tactic"]["name"].as_str().unwrap_or("");
        if !TACTICS.contains(&(id, name)) {
            problems.push(format!("{rw}: tactic {id} {name:?} is not an ATT&CK tactic"));
        }
        if t["tactic"]["reference"] != format!("https://attack.mitre.org/tactics/{id}/") {
            problems.push(format!("{rw}: tactic URL {}", t["tactic"]["reference"]));
        }
        let Some(techniques) = t["technique"].as_array().filter(|l| !l.is_empty()) else {
            problems.push(format!("{rw}: tactic {id} without technique"));
            continue;
        };
        for te in techniques {
            let tid = te["id"].as_str().unwrap_or("");
            if !(tid.starts_with('T') && digits(&tid[1..], 4) && te["name"].is_string()) {
                problems.push(format!("{rw}: technique id {tid:?}"));
            }
            if te["reference"] != format!("https://attack.mitre.org/techniques/{tid}/") {
                problems.push(format!("{rw}: technique URL {}", te["reference"]));
            }
            for sub in te["subtechnique"].as_array().into_iter().flatten() {
                let sid = sub["id"].as_str().unwrap_or("");
                let ok = sid.split_once('.').is_some_and(|(p, n)| p == tid && digits(n, 3));
                if !ok || !sub["name"].is_string() {
                    problems.push(format!("{rw}: sub-technique id {sid:?} under {tid}"));
                }
                let url = format!("https://attack.mitre.org/techniques/{}/", sid.replace('.', "/"));
                if sub["reference"] != url {
                    problems.push(format!("{rw}: sub-technique URL {}", sub["reference"]));
                }
            }
        }
    }
}

fn check_field(field: &Value, rw: &str, what: &str, problems: &mut Vec<String>) {
    match field.as_str() {
        Some(f) if mapped_type(f).is_some() => {}
        _ => problems.push(format!("{rw}: {what} field {field} is not mapped")),
    }
}

/// Rust-side checks of a rules file (everything but the schemas and the query parsers).
fn check_rules(text: &str, prebuilt: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let rule: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("line {}: not JSON: {e}", n + 1));
                continue;
            }
        };
        let rw = format!("rule {} ({})", n + 1, rule["name"].as_str().unwrap_or("?"));
        let id = rule["rule_id"].as_str().unwrap_or("");
        if !is_uuid(id) {
            problems.push(format!("{rw}: rule_id {id:?} is not a lower-case UUID"));
        }
        if !ids.insert(id.to_owned()) {
            problems.push(format!("{rw}: rule_id {id} not unique"));
        }
        if prebuilt.contains(id) {
            problems.push(format!("{rw}: rule_id {id} is an Elastic prebuilt rule's"));
        }
        if rule["version"] != 1 {
            problems.push(format!("{rw}: version {} (want 1)", rule["version"]));
        }
        for k in ["name", "description", "note", "license", "setup"] {
            if !non_empty(&rule[k]) {
                problems.push(format!("{rw}: {k} missing or empty"));
            }
        }
        if !rule["note"].as_str().is_some_and(|s| s.contains("## Triage and analysis")) {
            problems.push(format!("{rw}: note is not an investigation guide"));
        }
        for k in ["author", "tags", "false_positives"] {
            if !rule[k].as_array().is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
            {
                problems.push(format!("{rw}: {k} missing or empty"));
            }
        }
        // Severity and risk score agree.
        let severity = rule["severity"].as_str().unwrap_or("");
        let banded = rule["risk_score"].as_u64().and_then(severity_of_risk);
        if !["low", "medium", "high", "critical"].contains(&severity) {
            problems.push(format!("{rw}: severity {severity:?} is not a Kibana severity"));
        } else if banded != Some(severity) {
            problems.push(format!(
                "{rw}: risk_score {} is not in the {severity} band",
                rule["risk_score"]
            ));
        }
        for m in rule["severity_mapping"].as_array().into_iter().flatten() {
            let s = m["severity"].as_str().unwrap_or("");
            let v = m["value"].as_str().and_then(|v| v.parse::<u64>().ok());
            if v.and_then(severity_of_risk) != Some(s) {
                problems.push(format!("{rw}: severity_mapping {m} crosses bands"));
            }
            check_field(&m["field"], &rw, "severity_mapping", &mut problems);
        }
        for m in rule["risk_score_mapping"].as_array().into_iter().flatten() {
            check_field(&m["field"], &rw, "risk_score_mapping", &mut problems);
        }
        for k in ["rule_name_override", "timestamp_override"] {
            if !rule[k].is_null() {
                check_field(&rule[k], &rw, k, &mut problems);
            }
        }
        // Data source and schedule.
        let index: Vec<&str> =
            rule["index"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if index != kibana::RULE_INDEX {
            problems.push(format!("{rw}: index {index:?}"));
        }
        let interval = rule["interval"].as_str().and_then(duration_secs);
        let from = rule["from"].as_str().filter(|f| f.starts_with("now-")).and_then(duration_secs);
        match (interval, from) {
            (Some(i), Some(f)) if f > i => {}
            _ => problems.push(format!(
                "{rw}: from {} must reach back beyond interval {}",
                rule["from"], rule["interval"]
            )),
        }
        // Type-specific.
        let ty = rule["type"].as_str().unwrap_or("");
        let language = rule["language"].as_str().unwrap_or("");
        let want_language = match ty {
            "eql" => "eql",
            "query" | "threshold" | "new_terms" => "kuery",
            _ => {
                problems
                    .push(format!("{rw}: type {ty:?} not one of query/eql/threshold/new_terms"));
                ""
            }
        };
        if language != want_language {
            problems.push(format!("{rw}: language {language:?} for type {ty}"));
        }
        if !non_empty(&rule["query"]) {
            problems.push(format!("{rw}: query missing"));
        }
        if ty == "threshold" {
            let t = &rule["threshold"];
            let fields: Vec<&Value> = t["field"].as_array().into_iter().flatten().collect();
            if fields.len() > 3 || t["value"].as_u64().is_none_or(|v| v < 1) {
                problems.push(format!("{rw}: threshold {t}"));
            }
            for f in &fields {
                check_field(f, &rw, "threshold", &mut problems);
            }
            for c in t["cardinality"].as_array().into_iter().flatten() {
                check_field(&c["field"], &rw, "cardinality", &mut problems);
                if fields.contains(&&c["field"]) {
                    problems
                        .push(format!("{rw}: cardinality field {} is also grouped on", c["field"]));
                }
                if c["value"].as_u64().is_none_or(|v| v < 1) {
                    problems.push(format!("{rw}: cardinality value {}", c["value"]));
                }
            }
        }
        if ty == "new_terms" {
            let fields = rule["new_terms_fields"].as_array().cloned().unwrap_or_default();
            if fields.is_empty() || fields.len() > 3 {
                problems.push(format!("{rw}: new_terms_fields {}", rule["new_terms_fields"]));
            }
            for f in &fields {
                check_field(f, &rw, "new_terms", &mut problems);
            }
            let history = rule["history_window_start"].as_str().unwrap_or("");
            if !history.starts_with("now-") || duration_secs(history).is_none() {
                problems.push(format!("{rw}: history_window_start {history:?}"));
            }
        }
        check_threat(&rule["threat"], &rw, &mut problems);
    }
    problems
}

/// Runs the schema/parser validator over a rules file; returns its problems.
fn check_rules_python(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.ndjson");
    std::fs::write(&path, text).unwrap();
    let schemas = shared().join("detection-rules/api_schemas");
    let out = run_python(
        "kibana_rules.py",
        &[schemas.to_str().unwrap(), "8.19,9.4,9.5", path.to_str().unwrap()],
        None,
    );
    let mut problems = Vec::new();
    for r in out.as_array().unwrap() {
        let rw = format!("rule {} ({})", r["line"], r["name"].as_str().unwrap_or("?"));
        for (version, errs) in r["schema_errors"].as_object().into_iter().flatten() {
            for e in errs.as_array().into_iter().flatten() {
                problems.push(format!("{rw}: schema {version}: {}", e.as_str().unwrap_or("")));
            }
        }
        for e in r["errors"].as_array().into_iter().flatten() {
            problems.push(format!("{rw}: {}", e.as_str().unwrap_or("")));
        }
        let q = &r["query"];
        if let Some(e) = q["error"].as_str() {
            problems.push(format!("{rw}: query does not parse: {e}"));
        }
        for f in q["fields"].as_array().into_iter().flatten() {
            check_field(f, &rw, "query", &mut problems);
        }
        for c in q["categories"].as_array().into_iter().flatten() {
            // wirebeat's events carry event.category network (and intrusion_detection).
            if !["network", "intrusion_detection", "any"].contains(&c.as_str().unwrap_or("")) {
                problems.push(format!("{rw}: EQL event category {c} never matches"));
            }
        }
    }
    problems
}

#[test]
fn rules_are_valid_and_complement_elastic() {
    require_shared!();
    let text = kibana::rules_ndjson();
    let problems = check_rules(&text, &prebuilt_rule_ids());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let rules: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!((8..=12).contains(&rules.len()), "{} rules", rules.len());
    let types: BTreeSet<&str> = rules.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(types, BTreeSet::from(["eql", "new_terms", "query", "threshold"]));
    assert!(
        rules.iter().any(|r| r["type"] == "threshold" && r["threshold"]["cardinality"].is_array()),
        "a threshold rule with cardinality"
    );
    assert!(
        rules.iter().any(|r| r["query"]
            .as_str()
            .is_some_and(|q| q.contains("event.kind:alert") && q.contains("wirebeat.alert"))),
        "a rule re-raising the sensor's alerts"
    );
    if python_ready() {
        let problems = check_rules_python(&text);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

// --- mutations of the rules -------------------------------------------------------------------

fn rules_with(index: usize, f: impl FnOnce(&mut Value)) -> String {
    let mut rules: Vec<Value> =
        kibana::rules_ndjson().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    f(&mut rules[index]);
    rules.iter().map(|r| format!("{r}\n")).collect()
}

fn index_of_type(ty: &str) -> usize {
    kibana::rules_ndjson()
        .lines()
        .position(|l| serde_json::from_str::<Value>(l).unwrap()["type"] == ty)
        .unwrap()
}

fn assert_rule_rejected(text: &str, expect: &str) {
    let problems = check_rules(text, &prebuilt_rule_ids());
    assert!(
        problems.iter().any(|p| p.contains(expect)),
        "mutation not rejected with {expect:?}: {problems:#?}"
    );
}

#[test]
fn mutated_rules_are_rejected() {
    let prebuilt = prebuilt_rule_ids();
    assert_rule_rejected(
        &rules_with(0, |r| r["severity"] = json!("urgent")),
        "not a Kibana severity",
    );
    assert_rule_rejected(&rules_with(1, |r| r["risk_score"] = json!(99)), "not in the medium band");
    let elastic = prebuilt.iter().next().unwrap().clone();
    assert_rule_rejected(&rules_with(2, |r| r["rule_id"] = json!(elastic)), "Elastic prebuilt");
    let first_id = serde_json::from_str::<Value>(kibana::rules_ndjson().lines().next().unwrap())
        .unwrap()["rule_id"]
        .clone();
    assert_rule_rejected(&rules_with(3, |r| r["rule_id"] = first_id), "not unique");
    assert_rule_rejected(
        &rules_with(0, |r| {
            r.as_object_mut().unwrap().remove("version");
        }),
        "version null",
    );
    assert_rule_rejected(
        &rules_with(0, |r| {
            r["threat"][0]["tactic"]["reference"] = json!("https://attack.mitre.org/tactic/TA0011")
        }),
        "tactic URL",
    );
    assert_rule_rejected(
        &rules_with(2, |r| r["threat"][0]["tactic"]["name"] = json!("Command & Control")),
        "is not an ATT&CK tactic",
    );
    assert_rule_rejected(
        &rules_with(2, |r| {
            r["threat"][0]["technique"][0]["subtechnique"][0]["reference"] =
                json!("https://attack.mitre.org/techniques/T1568.002/")
        }),
        "sub-technique URL",
    );
    let t = index_of_type("threshold");
    assert_rule_rejected(
        &rules_with(t, |r| r["threshold"]["field"] = json!(["source.ip", "dns.question.name"])),
        "is also grouped on",
    );
    let n = index_of_type("new_terms");
    assert_rule_rejected(
        &rules_with(n, |r| r["new_terms_fields"] = json!(["tls.client.ja5"])),
        "new_terms field \"tls.client.ja5\" is not mapped",
    );
    assert_rule_rejected(
        &rules_with(n, |r| r["interval"] = json!("15m")),
        "must reach back beyond",
    );
    assert_rule_rejected(&rules_with(0, |r| r["index"] = json!(["logs-*"])), "index");
    let e = index_of_type("eql");
    assert_rule_rejected(&rules_with(e, |r| r["language"] = json!("kuery")), "language");
}

#[test]
fn rules_the_schemas_or_parsers_refuse_are_rejected() {
    require_shared!();
    if !python_ready() {
        return;
    }
    let expect = |text: String, what: &str| {
        let problems = check_rules_python(&text);
        assert!(problems.iter().any(|p| p.contains(what)), "{what:?} not found in {problems:#?}");
    };
    expect(rules_with(0, |r| r["severity"] = json!("urgent")), "schema 8.19: severity");
    expect(rules_with(0, |r| r["severity"] = json!("urgent")), "schema 9.4: severity");
    expect(rules_with(0, |r| r["risk_score"] = json!(101)), "schema 9.5: risk_score");
    expect(rules_with(1, |r| r["intreval"] = json!("5m")), "Additional properties");
    expect(rules_with(1, |r| r["interval"] = json!("5 minutes")), "interval");
    expect(
        rules_with(2, |r| {
            r["threat"][0]["technique"][0]["reference"] = json!("https://attack.mitre.org/T1568")
        }),
        "threat/0/technique/0/reference",
    );
    let n = index_of_type("new_terms");
    expect(
        rules_with(n, |r| r["history_window_start"] = json!("7 days ago")),
        "history_window_start",
    );
    expect(
        rules_with(n, |r| r["new_terms_fields"] = json!(["a.b", "c.d", "e.f", "g.h"])),
        "new_terms/value",
    );
    let q = index_of_type("query");
    expect(rules_with(q, |r| r["query"] = json!("event.kind:(alert")), "query does not parse");
    expect(
        rules_with(q, |r| r["query"] = json!("event.kind:alert and rule.nmae:x")),
        "\"rule.nmae\" is not mapped",
    );
    let e = index_of_type("eql");
    expect(
        rules_with(e, |r| r["query"] = json!("sequence by source.ip [network where ]")),
        "query does not parse",
    );
    expect(
        rules_with(e, |r| {
            r["query"] = json!("sequence by source.ip [process where true] [network where true]")
        }),
        "EQL event category",
    );
}
