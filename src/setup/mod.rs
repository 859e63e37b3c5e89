//! `wirebeat setup` and `wirebeat export`: install (or print) the Elastic content.
//!
//! Order, as Elasticsearch and Kibana need it: lifecycle policy → component templates → index
//! templates → ingest pipelines (Elasticsearch, from [`crate::content::es_requests_with`]), then
//! data view and dashboards → detection rules (Kibana import APIs, from [`crate::kibana`]).
//! The first failure stops the run with the server's own reason.
//!
//! Elasticsearch: the connection is `output.elasticsearch.*` (as Beats do; it may be
//! `enabled: false` when events go to Kafka). `GET /_ilm/status` decides between the ILM policy
//! and data stream lifecycle (clusters without ILM, e.g. serverless). Each object is read first
//! (`GET`): when the installed one carries the same `version` (templates and pipelines) or
//! contains every value wirebeat would write (the lifecycle policy), it is left alone, so a
//! second run changes nothing; otherwise it is written with `PUT`. Index templates must also
//! carry the configured `priority` (`setup.template.priority`). After the index templates,
//! `GET /_index_template` tells which template each of wirebeat's streams
//! (`logs-<dataset>-<wirebeat.namespace>`) would take (the matching one of highest priority):
//! a stream another template governs (Fleet's Network Packet Capture integration at 200 over
//! wirebeat's default 150) gets one line saying so and which wirebeat fields its mappings lack,
//! and is counted in the summary; see [`crate::content::templates`] for the rule.
//!
//! Kibana: `setup.kibana.*`. Saved objects go through
//! `POST /api/saved_objects/_import?overwrite=true` (multipart, a file part whose name ends in
//! `.ndjson`, header `kbn-xsrf`); it answers HTTP 200 even when objects fail, so `success` and
//! `errors[]` are checked, not only the status. Ids are deterministic, so importing again with
//! `overwrite` replaces each object by itself. Detection rules go one by one through
//! `/api/detection_engine/rules` ([`rules_step`]): created disabled unless
//! `setup.kibana.rules.enabled` (`--enable-rules`), updated only when the installed rule is
//! wirebeat's unmodified previous version (its content hash equals the one wirebeat stored in
//! `meta`; see [`crate::kibana::rules`]), never changing its enabled state, and left alone when
//! someone edited it in Kibana.

use crate::content::{self, Lifecycle};
use crate::sink::elasticsearch::client::{Client, Reply};
use crate::sink::elasticsearch::{self as es};
use crate::units::{Duration, Invalid, Tls};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `setup`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kibana: KibanaConfig,
    pub template: TemplateConfig,
}

/// `setup.template`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TemplateConfig {
    /// Priority of both index templates: 150 (below Fleet's Network Packet Capture templates,
    /// which then govern the streams they match) or above 200 (wirebeat's govern them); never
    /// 200 and never 100 or less. See [`crate::content::templates`].
    pub priority: u32,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig { priority: content::templates::DEFAULT_PRIORITY }
    }
}

/// `setup.kibana`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KibanaConfig {
    /// `http(s)://host:port[/base path]`; without a port, 5601.
    pub host: String,
    /// Kibana space (empty: the default space).
    pub space_id: String,
    pub api_key: Option<crate::units::Secret>,
    pub username: Option<String>,
    pub password: Option<crate::units::Secret>,
    pub ssl: Tls,
    pub timeout: Duration,
    pub rules: RulesConfig,
}

/// `setup.kibana.rules`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Create wirebeat's detection rules enabled (default: disabled; `setup --enable-rules`).
    /// Rules already in Kibana keep the state their users gave them.
    pub enabled: bool,
}

impl Default for KibanaConfig {
    fn default() -> Self {
        KibanaConfig {
            host: "localhost:5601".into(),
            space_id: String::new(),
            api_key: None,
            username: None,
            password: None,
            ssl: Tls::default(),
            timeout: Duration::from_secs(90),
            rules: RulesConfig::default(),
        }
    }
}

/// Longest `setup.kibana.timeout`, as the Elasticsearch output's request timeout (the same
/// client): the clock adds it to the present, and an hour is an outage, not a slow answer.
pub const MAX_KIBANA_TIMEOUT: Duration = Duration::from_secs(3600);

impl Config {
    /// Pure checks of `setup` (keys relative to it). Kibana is reached with the Elasticsearch
    /// output's client, so its `ssl` settings are those that client honours.
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(why) = content::templates::priority_problem(self.template.priority) {
            return Err(Invalid::new("template.priority", why));
        }
        if let Some(key) = self.kibana.ssl.unsupported(es::TLS_SUPPORT) {
            return Err(Invalid::new(
                format!("kibana.ssl.{key}"),
                "not supported by the Kibana client",
            ));
        }
        Invalid::duration_in(
            "kibana.timeout",
            self.kibana.timeout,
            Duration(std::time::Duration::from_millis(1))..=MAX_KIBANA_TIMEOUT,
            None,
        )
    }
}

/// Which parts to install; all when none is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    pub index_management: bool,
    pub pipelines: bool,
    pub dashboards: bool,
    pub rules: bool,
}

impl Parts {
    fn or_all(self) -> Parts {
        if self == Parts::default() {
            Parts { index_management: true, pipelines: true, dashboards: true, rules: true }
        } else {
            self
        }
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Elasticsearch,
    Kibana,
}

/// One request of the setup.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub target: Target,
    pub method: &'static str,
    pub path: String,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    /// A multipart upload of one NDJSON file.
    Ndjson {
        filename: &'static str,
        text: String,
    },
    /// Detection rules, one request each through the rules API (see [`rules_step`]); `enabled`
    /// is what a rule setup creates gets.
    Rules {
        rules: Vec<Value>,
        enabled: bool,
    },
}

fn is_index_management(path: &str) -> bool {
    ["/_ilm/", "/_component_template/", "/_index_template/"].iter().any(|p| path.starts_with(p))
}

/// Every request of the setup, in order.
pub fn plan(parts: Parts, lifecycle: Lifecycle, cfg: &Config) -> Vec<Step> {
    let parts = parts.or_all();
    let space_id = cfg.kibana.space_id.as_str();
    let mut steps: Vec<Step> =
        content::es_requests_for(lifecycle, cfg.template.priority)
            .into_iter()
            .filter(|r| {
                if is_index_management(&r.path) {
                    parts.index_management
                } else {
                    parts.pipelines
                }
            })
            .map(|r| Step {
                target: Target::Elasticsearch,
                method: r.method,
                path: r.path,
                body: Body::Json(r.body),
            })
            .collect();
    let space = if space_id.is_empty() { String::new() } else { format!("/s/{space_id}") };
    if parts.dashboards {
        steps.push(Step {
            target: Target::Kibana,
            method: "POST",
            path: format!("{space}/api/saved_objects/_import?overwrite=true"),
            body: Body::Ndjson {
                filename: "wirebeat-saved-objects.ndjson",
                text: crate::kibana::saved_objects_ndjson(),
            },
        });
    }
    if parts.rules {
        steps.push(Step {
            target: Target::Kibana,
            method: "POST",
            path: format!("{space}/api/detection_engine/rules"),
            body: Body::Rules { rules: crate::kibana::rules(), enabled: cfg.kibana.rules.enabled },
        });
    }
    steps
}

/// The request as Kibana Dev Tools (Elasticsearch) or a curl user (Kibana) reads it.
pub fn render(step: &Step) -> String {
    match &step.body {
        Body::Json(v) => {
            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
            format!("{} {}\n{pretty}\n", step.method, step.path)
        }
        Body::Ndjson { filename, text } => format!(
            "{} {} (multipart file {filename}, {} objects, header kbn-xsrf)\n{text}",
            step.method,
            step.path,
            text.lines().count()
        ),
        Body::Rules { rules, enabled } => {
            let rules: Vec<Value> = rules.iter().map(|r| with_enabled(r, *enabled)).collect();
            format!(
                "{} {} ({} rules, one request each, header kbn-xsrf: GET {}?rule_id=<id> first; \
                 created when absent (enabled: {enabled}), updated with PATCH when it is \
                 wirebeat's unmodified version (its enabled state kept), left alone when edited \
                 in Kibana)\n{}",
                step.method,
                step.path,
                rules.len(),
                step.path,
                crate::kibana::to_ndjson(&rules)
            )
        }
    }
}

/// The Elasticsearch requests of `steps` as one JSON array of `{"method", "path", "body"}`, in
/// installation order (`export --format json`); each `body` is exactly what is PUT.
pub fn render_json(steps: &[Step]) -> String {
    let list: Vec<Value> = steps
        .iter()
        .filter_map(|s| match &s.body {
            Body::Json(b) => {
                Some(serde_json::json!({"method": s.method, "path": s.path, "body": b}))
            }
            _ => None,
        })
        .collect();
    serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_default() + "\n"
}

/// `'text'` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Writes the body of every Elasticsearch request of `steps` to `dir/<kind>/<name>.json` (the
/// layout of the checked-in `elasticsearch/`, see [`content::Request::export_path`]) and
/// returns a shell script of the `curl -X PUT` commands that install them in order.
pub fn export_files(steps: &[Step], dir: &std::path::Path) -> Result<String, String> {
    let mut script = String::from(
        "#!/bin/sh\n# Installs wirebeat's Elasticsearch content, in order. ES_URL defaults to \
         http://localhost:9200;\n# CURL_OPTS adds credentials, e.g. \
         CURL_OPTS='-u elastic:changeme' or CURL_OPTS='-H \"Authorization: ApiKey ...\"'.\n\
         set -e\nES_URL=\"${ES_URL:-http://localhost:9200}\"\n",
    );
    for s in steps {
        let Body::Json(body) = &s.body else { continue };
        let req = content::Request { method: s.method, path: s.path.clone(), body: body.clone() };
        let file = dir.join(req.export_path());
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(body).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        script.push_str(&format!(
            "curl -fsS $CURL_OPTS -X {} \"$ES_URL{}\" -H 'Content-Type: application/json' \
             --data-binary {}\n",
            s.method,
            s.path,
            shell_quote(&format!("@{}", file.display()))
        ));
    }
    Ok(script)
}

const BOUNDARY: &str = "wirebeat-setup-5f1c2a0b9e";

fn multipart(filename: &str, text: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/ndjson\r\n\r\n{text}\r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes()
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Installed,
    Unchanged,
    Imported(u64),
    Rules(RuleCounts),
    /// `--check`: this step would write (nothing was sent).
    WouldChange,
}

/// What the rules step did, rule by rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Edited in Kibana since wirebeat installed them (or installed without wirebeat's hash
    /// and different from its content): left as they are.
    pub kept_edited: u64,
}

fn with_enabled(rule: &Value, enabled: bool) -> Value {
    let mut r = rule.clone();
    if let Some(o) = r.as_object_mut() {
        o.insert("enabled".into(), Value::Bool(enabled));
    }
    r
}

/// Whether `want` is contained in `have` (objects: every key of `want`, recursively).
pub fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => {
            w.iter().all(|(k, wv)| h.get(k).is_some_and(|hv| contains(hv, wv)))
        }
        (Value::Array(h), Value::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        (Value::Number(h), Value::Number(w)) => h.as_f64() == w.as_f64(),
        // Elasticsearch gives settings back as strings ("1" for 1, "true" for true).
        (Value::String(h), Value::Number(_) | Value::Bool(_)) => {
            serde_json::from_str::<Value>(h).is_ok_and(|v| contains(&v, want))
        }
        _ => have == want,
    }
}

/// The installed object from a `GET` answer, in the shape of the `PUT` body.
fn installed(path: &str, body: &Value) -> Option<Value> {
    let name = path.rsplit('/').next()?;
    if path.starts_with("/_ilm/policy/") {
        return Some(serde_json::json!({"policy": body.get(name)?.get("policy")?}));
    }
    // Templates come back as a list of {name, <kind>} entries.
    let listed = [
        ("/_component_template/", "component_templates", "component_template"),
        ("/_index_template/", "index_templates", "index_template"),
    ];
    if let Some((_, list, item)) = listed.iter().find(|(p, _, _)| path.starts_with(p)) {
        return body
            .get(list)?
            .as_array()?
            .iter()
            .find_map(|t| (t.get("name")?.as_str()? == name).then(|| t.get(*item).cloned())?);
    }
    if path.starts_with("/_ingest/pipeline/") {
        return body.get(name).cloned();
    }
    None
}

/// Same `version` (and, for index templates, the same `priority`: `setup.template.priority`
/// may change without the content changing), or else containment.
fn up_to_date(have: &Value, want: &Value) -> bool {
    match (have.get("version"), want.get("version")) {
        (Some(h), Some(w)) => h == w && have.get("priority") == want.get("priority"),
        _ => contains(have, want),
    }
}

/// Whether `name` matches the index pattern `pattern` (`*`: any run of characters).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while j < n.len() {
        match p.get(i) {
            Some(b'*') => {
                star = Some(i);
                mark = j;
                i += 1;
            }
            Some(c) if *c == n[j] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some(st) => {
                    i = st + 1;
                    mark += 1;
                    j = mark;
                }
                None => return false,
            },
        }
    }
    p.get(i..).is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

/// An installed index template: (name, priority, body).
type Installed = (String, u64, Value);

/// Whether one of the `index_patterns` of the index template `body` matches `stream`.
fn template_matches(body: &Value, stream: &str) -> bool {
    body.get("index_patterns")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().filter_map(Value::as_str).any(|p| glob_match(p, stream)))
}

/// The template a new data stream `stream` would take: the matching one of highest priority.
pub fn resolve<'a>(templates: &'a [Installed], stream: &str) -> Option<&'a Installed> {
    templates
        .iter()
        .filter(|(_, _, b)| template_matches(b, stream))
        .max_by_key(|(_, prio, _)| *prio)
}

/// Whether the dotted `field` is mapped in a `properties` tree (or under a `flattened` field).
fn mapped(properties: &Value, field: &str) -> bool {
    let mut node = properties;
    let mut parts = field.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(next) = node.get(part) else { return false };
        if parts.peek().is_none() {
            return true;
        }
        match next.get("type").and_then(Value::as_str) {
            Some("flattened") => return true,
            None | Some("object") | Some("nested") => {}
            Some(_) => return false,
        }
        match next.get("properties") {
            Some(p) => node = p,
            None => return false,
        }
    }
    false
}

/// What `setup` learns about the streams wirebeat writes once its templates are installed:
/// one line per stream that another template governs (or that wirebeat's take over from a
/// Fleet template), and how many streams another template governs.
/// `planned` are wirebeat's index templates as this run writes them (they replace the installed
/// ones of the same name, so `--check` sees what the setup would make).
fn coexistence(
    c: &Client,
    planned: &[Installed],
    priority: u32,
    namespace: &str,
) -> Result<(Vec<String>, usize), String> {
    let get = |path: &str| -> Result<Option<Value>, String> {
        let r = c.request(0, "GET", path, None).map_err(|t| t.message)?;
        match r.status {
            200 => Ok(Some(serde_json::from_slice(&r.body).unwrap_or(Value::Null))),
            404 => Ok(None),
            _ => Err(format!("GET {path}: {}", reason(&r))),
        }
    };
    let all = get("/_index_template")?.unwrap_or(Value::Null);
    let mut templates: Vec<Installed> = all
        .get("index_templates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_owned();
            let body = t.get("index_template")?.clone();
            let prio = body.get("priority").and_then(Value::as_u64).unwrap_or(0);
            Some((name, prio, body))
        })
        .filter(|(n, _, _)| !planned.iter().any(|p| &p.0 == n))
        .collect();
    templates.extend(planned.iter().cloned());
    let ours: Vec<&str> = content::templates::INDEX_TEMPLATES.iter().map(|t| t.name).collect();
    let mut lines = Vec::new();
    let mut elsewhere = 0;
    for dataset in content::datasets() {
        let stream = format!("logs-{dataset}-{namespace}");
        let Some(our) =
            content::templates::INDEX_TEMPLATES.iter().find(|t| glob_match(t.pattern, &stream))
        else {
            continue;
        };
        let Some((winner, wprio, wbody)) = resolve(&templates, &stream) else {
            lines.push(format!("{stream}: no index template matches it (not even wirebeat's)"));
            elsewhere += 1;
            continue;
        };
        if ours.contains(&winner.as_str()) {
            // wirebeat's governs; say so when it overrides another non-builtin template.
            let others: Vec<String> = templates
                .iter()
                .filter(|(n, p, b)| {
                    !ours.contains(&n.as_str())
                        && *p > u64::from(content::templates::LOGS_BUILTIN_PRIORITY)
                        && template_matches(b, &stream)
                })
                .map(|(n, p, _)| format!("{n} (priority {p})"))
                .collect();
            if !others.is_empty() {
                lines.push(format!(
                    "{stream}: wirebeat's {winner} (priority {wprio}) overrides {}: their mappings \
                     and default pipeline do not apply to this stream",
                    others.join(", ")
                ));
            }
            continue;
        }
        elsewhere += 1;
        let mut trees: Vec<Value> = Vec::new();
        if let Some(p) = wbody.pointer("/template/mappings/properties") {
            trees.push(p.clone());
        }
        for comp in wbody.get("composed_of").and_then(Value::as_array).into_iter().flatten() {
            let Some(comp) = comp.as_str() else { continue };
            let Some(v) = get(&format!("/_component_template/{comp}"))? else { continue };
            for t in v.get("component_templates").and_then(Value::as_array).into_iter().flatten() {
                if let Some(p) = t.pointer("/component_template/template/mappings/properties") {
                    trees.push(p.clone());
                }
            }
        }
        let fields = content::dataset_fields(dataset);
        let missing: Vec<&String> =
            fields.iter().filter(|f| !trees.iter().any(|t| mapped(t, f))).collect();
        let gap = if fields.is_empty() {
            String::new()
        } else if missing.is_empty() {
            format!(" Its mappings have all {} of wirebeat's custom fields there.", fields.len())
        } else {
            let shown: Vec<&str> = missing.iter().take(5).map(|s| s.as_str()).collect();
            format!(
                " Its mappings lack {} of the {} custom fields wirebeat writes there ({}{}): \
                 Elasticsearch maps those dynamically or leaves them unmapped.",
                missing.len(),
                fields.len(),
                shown.join(", "),
                if missing.len() > shown.len() { ", …" } else { "" }
            )
        };
        lines.push(format!(
            "{stream}: governed by index template {winner} (priority {wprio}), not by wirebeat's \
             {} (priority {priority}); its settings and default pipeline apply instead of \
             wirebeat's (no event.ingested, GeoIP or ASN from wirebeat's pipeline).{gap} To let \
             wirebeat's template govern it, set setup.template.priority above {wprio} (e.g. {}).",
            our.name,
            (wprio + 50).max(u64::from(content::templates::OVERRIDE_PRIORITY))
        ));
    }
    Ok((lines, elsewhere))
}

/// The reason in an Elasticsearch or Kibana error answer.
fn reason(r: &Reply) -> String {
    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let e = v.get("error");
    let ty = e.and_then(|e| e.get("type")).and_then(Value::as_str);
    let why = e
        .and_then(|e| e.get("reason"))
        .or_else(|| v.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&r.body).chars().take(300).collect());
    match ty {
        Some(t) => format!("HTTP {} {t}: {why}", r.status),
        None => format!("HTTP {}: {why}", r.status),
    }
}

fn kibana_client(k: &KibanaConfig) -> Result<Client, String> {
    let host = k.host.trim().trim_end_matches('/');
    let (scheme, rest) = match host.split_once("://") {
        Some((s, r)) => (s, r),
        None => ("http", host),
    };
    let (hostport, base) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{p}")),
        None => (rest, String::new()),
    };
    let hostport =
        if hostport.contains(':') { hostport.to_owned() } else { format!("{hostport}:5601") };
    let cfg = es::Config {
        hosts: vec![format!("{scheme}://{hostport}{base}")],
        api_key: k.api_key.clone(),
        username: k.username.clone(),
        password: k.password.clone(),
        ssl: k.ssl.clone(),
        compression_level: 0,
        timeout: k.timeout,
        ..es::Config::default()
    };
    Client::new(&cfg).map_err(|e| format!("setup.kibana: {e}"))
}

/// What a setup run did.
#[derive(Debug, Default)]
pub struct Report {
    pub steps: Vec<(Step, Done)>,
    /// wirebeat streams that another index template governs (see [`coexistence`]).
    pub governed_elsewhere: usize,
}

impl Report {
    /// The rules step's counts, when it ran.
    pub fn rules(&self) -> Option<&RuleCounts> {
        self.steps.iter().find_map(|(_, d)| match d {
            Done::Rules(r) => Some(r),
            _ => None,
        })
    }
}

/// Runs the setup; `log` gets one line per step. Errors name the step and the server's reason.
/// `namespace` is `wirebeat.namespace` (the streams whose governing template is reported).
/// `check` (`setup --check`): only read, and say what a setup would change.
pub fn run(
    es_cfg: &es::Config,
    cfg: &Config,
    namespace: &str,
    parts: Parts,
    check: bool,
    log: &mut dyn FnMut(&str),
) -> Result<Report, String> {
    let kibana = &cfg.kibana;
    let parts_all = parts.or_all();
    let mut report = Report::default();
    let mut lifecycle = Lifecycle::Ilm;
    let es_client = if parts_all.index_management || parts_all.pipelines {
        if es_cfg.hosts.is_empty() {
            return Err("output.elasticsearch.hosts: setup needs the Elasticsearch hosts".into());
        }
        let line = es::test_connection(es_cfg).map_err(|e| format!("elasticsearch: {e}"))?;
        log(&line);
        let c = Client::new(es_cfg).map_err(|e| format!("output.elasticsearch.{e}"))?;
        let r = c.request(0, "GET", "/_ilm/status", None).map_err(|t| t.message)?;
        if !(200..300).contains(&r.status) {
            lifecycle = Lifecycle::DataStream;
            log("no ILM on this cluster: data stream lifecycle (data_retention) instead");
        }
        Some(c)
    } else {
        None
    };
    let mut kb_client = None;
    // After the index templates: which template governs each of wirebeat's streams.
    let mut check_templates = parts_all.index_management;
    let planned = plan(parts, lifecycle, cfg);
    let ours: Vec<Installed> = planned
        .iter()
        .filter_map(|s| {
            let name = s.path.strip_prefix("/_index_template/")?;
            let Body::Json(b) = &s.body else { return None };
            Some((name.to_owned(), b.get("priority")?.as_u64()?, b.clone()))
        })
        .collect();
    let mut steps = planned.into_iter().peekable();
    while let Some(step) = steps.next() {
        let outcome = match step.target {
            Target::Elasticsearch => {
                let Some(c) = es_client.as_ref() else { continue };
                es_step(c, &step, check)?
            }
            Target::Kibana => {
                if kb_client.is_none() {
                    let c = kibana_client(kibana)?;
                    let r = c.request(0, "GET", "/api/status", None).map_err(|t| t.message)?;
                    if r.status != 200 {
                        return Err(format!("kibana {}: {}", c.base(0), reason(&r)));
                    }
                    log(&format!("{}: Kibana OK", c.base(0)));
                    kb_client = Some(c);
                }
                let Some(c) = kb_client.as_ref() else { continue };
                match &step.body {
                    Body::Rules { rules, enabled } => {
                        Done::Rules(rules_step(c, &step.path, rules, *enabled, check, log)?)
                    }
                    // An import with overwrite always rewrites the objects.
                    _ if check => Done::WouldChange,
                    _ => kibana_step(c, &step)?,
                }
            }
        };
        log(&format!(
            "{} {}: {}",
            step.method,
            step.path,
            match &outcome {
                Done::Installed => "installed".to_owned(),
                Done::Unchanged => "unchanged".to_owned(),
                Done::Imported(n) => format!("{n} imported"),
                Done::WouldChange => "would be written".to_owned(),
                Done::Rules(r) if check => format!(
                    "rules: {} would be created, {} updated, {} unchanged, {} edited in Kibana \
                     and left as they are",
                    r.created, r.updated, r.unchanged, r.kept_edited
                ),
                Done::Rules(r) => format!(
                    "rules: {} created, {} updated, {} unchanged, {} edited in Kibana and left \
                     as they are",
                    r.created, r.updated, r.unchanged, r.kept_edited
                ),
            }
        ));
        let was_template = step.path.starts_with("/_index_template/");
        report.steps.push((step, outcome));
        let next_is_template =
            steps.peek().is_some_and(|s| s.path.starts_with("/_index_template/"));
        if check_templates && was_template && !next_is_template {
            check_templates = false;
            if let Some(c) = es_client.as_ref() {
                let (lines, elsewhere) = coexistence(c, &ours, cfg.template.priority, namespace)?;
                for l in &lines {
                    log(l);
                }
                report.governed_elsewhere = elsewhere;
            }
        }
    }
    Ok(report)
}

fn es_step(c: &Client, step: &Step, check: bool) -> Result<Done, String> {
    let Body::Json(want) = &step.body else { return Err("internal: body".into()) };
    let r = c.request(0, "GET", &step.path, None).map_err(|t| t.message)?;
    if r.status == 200 {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if installed(&step.path, &body).is_some_and(|have| up_to_date(&have, want)) {
            return Ok(Done::Unchanged);
        }
    } else if r.status != 404 {
        return Err(format!("GET {}: {}", step.path, reason(&r)));
    }
    if check {
        return Ok(Done::WouldChange);
    }
    let bytes = serde_json::to_vec(want).map_err(|e| e.to_string())?;
    let r = c
        .request(0, step.method, &step.path, Some((&bytes, "application/json")))
        .map_err(|t| format!("{} {}: {}", step.method, step.path, t.message))?;
    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    if !(200..300).contains(&r.status) || v.get("acknowledged") == Some(&Value::Bool(false)) {
        return Err(format!("{} {}: {}", step.method, step.path, reason(&r)));
    }
    Ok(Done::Installed)
}

fn kibana_step(c: &Client, step: &Step) -> Result<Done, String> {
    let Body::Ndjson { filename, text } = &step.body else { return Err("internal: body".into()) };
    let body = multipart(filename, text);
    let ctype = format!("multipart/form-data; boundary={BOUNDARY}");
    let r = c
        .request_with(0, "POST", &step.path, Some((&body, &ctype)), &[("kbn-xsrf", "wirebeat")])
        .map_err(|t| format!("POST {}: {}", step.path, t.message))?;
    if r.status != 200 {
        return Err(format!("POST {}: {}", step.path, reason(&r)));
    }
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("POST {}: answer is not JSON: {e}", step.path))?;
    let errors = v.get("errors").and_then(Value::as_array).cloned().unwrap_or_default();
    let success = v.get("success").and_then(Value::as_bool).unwrap_or(false);
    if !success || !errors.is_empty() {
        let first: Vec<String> = errors
            .iter()
            .take(5)
            .map(|e| {
                let id = e.get("id").or_else(|| e.get("rule_id")).and_then(Value::as_str);
                let why = e
                    .pointer("/error/message")
                    .or_else(|| e.pointer("/error/type"))
                    .and_then(Value::as_str);
                format!("{}: {}", id.unwrap_or("?"), why.unwrap_or("error"))
            })
            .collect();
        return Err(format!(
            "POST {}: Kibana reported {} failed object(s) in a 200 answer: {}",
            step.path,
            errors.len(),
            first.join("; ")
        ));
    }
    let n = v
        .get("successCount")
        .or_else(|| v.get("success_count"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(Done::Imported(n))
}

/// Installs wirebeat's rules one by one through `path` (`/api/detection_engine/rules`):
/// `GET ?rule_id=` each; absent → `POST` (created with `enabled`); present with the content
/// wirebeat would write → unchanged; present with the content wirebeat installed before (its
/// current hash equals the stored `meta` hash) → `PATCH` with wirebeat's keys, never `enabled`
/// (the user's choice) and nothing wirebeat does not own (exceptions, actions stay); otherwise
/// someone edited it: left alone, one line says so, and it is counted.
fn rules_step(
    c: &Client,
    path: &str,
    rules: &[Value],
    enabled: bool,
    check: bool,
    log: &mut dyn FnMut(&str),
) -> Result<RuleCounts, String> {
    use crate::kibana::rules::{content_hash, stored_hash};
    let xsrf = [("kbn-xsrf", "wirebeat")];
    let send = |method: &str, body: &Value| -> Result<(), String> {
        if check {
            return Ok(());
        }
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let r = c
            .request_with(0, method, path, Some((&bytes, "application/json")), &xsrf)
            .map_err(|t| format!("{method} {path}: {}", t.message))?;
        if !(200..300).contains(&r.status) {
            return Err(format!("{method} {path}: {}", reason(&r)));
        }
        Ok(())
    };
    let mut counts = RuleCounts::default();
    for rule in rules {
        let id = rule.get("rule_id").and_then(Value::as_str).unwrap_or_default();
        let name = rule.get("name").and_then(Value::as_str).unwrap_or_default();
        let get = format!("{path}?rule_id={id}");
        let r = c.request(0, "GET", &get, None).map_err(|t| format!("GET {get}: {}", t.message))?;
        if r.status == 404 {
            send("POST", &with_enabled(rule, enabled))?;
            counts.created += 1;
            continue;
        }
        if r.status != 200 {
            return Err(format!("GET {get}: {}", reason(&r)));
        }
        let have: Value = serde_json::from_slice(&r.body)
            .map_err(|e| format!("GET {get}: answer is not JSON: {e}"))?;
        let now = content_hash(&have);
        if now == content_hash(rule) {
            counts.unchanged += 1;
            continue;
        }
        if stored_hash(&have) != Some(now.as_str()) {
            log(&format!(
                "rule {name:?} ({id}): edited in Kibana since wirebeat installed it, left as it \
                 is (revert the edits or delete the rule to get wirebeat's new version)"
            ));
            counts.kept_edited += 1;
            continue;
        }
        let mut patch = rule.clone();
        if let Some(o) = patch.as_object_mut() {
            o.remove("enabled");
            let ours = rule.get("version").and_then(Value::as_u64).unwrap_or(1);
            let theirs = have.get("version").and_then(Value::as_u64).unwrap_or(0);
            o.insert("version".into(), Value::from(ours.max(theirs.saturating_add(1))));
        }
        send("PATCH", &patch)?;
        counts.updated += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests;
