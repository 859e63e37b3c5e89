//! `wirebeat setup` against the test server (tests/es_server: Elasticsearch's template, ILM and
//! ingest APIs and Kibana's import APIs with their documented answers): the documented requests
//! in the documented order, errors inside 200 answers reported, a second run changes nothing.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;
mod es_server;

use common::*;
use es_server::EsServer;
use serde_json::{json, Value};
use std::process::Output;

fn setup(es: &str, kibana: &str, extra: &[&str]) -> Output {
    let mut c = wirebeat();
    c.arg("setup");
    for o in [
        "output.elasticsearch.enabled=false".to_owned(),
        format!("output.elasticsearch.hosts=[\"{es}\"]"),
        format!("setup.kibana.host={kibana}"),
    ] {
        c.arg("-E").arg(o);
    }
    c.args(extra);
    c.output().unwrap()
}

/// The requests `--dry-run` prints: (method, path, JSON body or NDJSON text).
fn dry_run(extra: &[&str]) -> Vec<(String, String, String)> {
    let out = wirebeat().arg("setup").arg("--dry-run").args(extra).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut steps: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let mut words = line.split(' ');
        match (words.next(), words.next()) {
            (Some(m @ ("PUT" | "POST")), Some(p)) if p.starts_with('/') => {
                steps.push((m.to_owned(), p.to_owned(), String::new()));
            }
            _ => {
                let last = steps.last_mut().unwrap();
                last.2.push_str(line);
                last.2.push('\n');
            }
        }
    }
    steps
}

fn es_writes(es: &EsServer) -> Vec<(String, String, Value)> {
    es.requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| (r.method, r.path, serde_json::from_slice(&r.body).unwrap()))
        .collect()
}

#[test]
fn setup_sends_the_documented_requests_in_order() {
    let es = EsServer::start();
    let kb = EsServer::start();
    let out = setup(&es.url(), &kb.url(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    let planned = dry_run(&[]);
    let planned_es: Vec<(String, String, Value)> = planned
        .iter()
        .filter(|s| s.0 == "PUT")
        .map(|s| (s.0.clone(), s.1.clone(), serde_json::from_str(&s.2).unwrap()))
        .collect();
    assert!(planned_es.len() >= 6);
    assert_eq!(es_writes(&es), planned_es, "Elasticsearch got exactly the planned requests");
    // Lifecycle → component templates → index templates → ingest pipelines.
    let rank = |p: &str| {
        ["/_ilm/", "/_component_template/", "/_index_template/", "/_ingest/"]
            .iter()
            .position(|k| p.starts_with(k))
            .unwrap()
    };
    let ranks: Vec<usize> = planned_es.iter().map(|s| rank(&s.1)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert_eq!(ranks.first(), Some(&0));

    // Kibana: the saved objects import (kbn-xsrf, an .ndjson file part), then one rule creation
    // per rule through the rules API, each after a GET that found none.
    let posts: Vec<_> = kb.requests().into_iter().filter(|r| r.method == "POST").collect();
    let rules = std::fs::read_to_string("kibana/rules.ndjson").unwrap();
    assert_eq!(posts.len(), 1 + rules.lines().count());
    assert!(posts[0].path.starts_with("/api/saved_objects/_import?overwrite=true"));
    for r in &posts[1..] {
        assert_eq!(r.path, "/api/detection_engine/rules");
    }
    for r in &posts {
        assert!(r.header("kbn-xsrf").is_some());
        assert_eq!(r.status, 200);
    }
    let gets = kb.requests().into_iter().filter(|r| r.path.contains("rules?rule_id=")).count();
    assert_eq!(gets, rules.lines().count());
    let st = kb.state.lock().unwrap();
    let objects = std::fs::read_to_string("kibana/saved_objects.ndjson").unwrap();
    assert_eq!(st.stack.objects.len(), objects.lines().count());
    assert_eq!(st.stack.rules.len(), rules.lines().count());
    assert!(st.stack.rules.values().all(|r| r["enabled"] == false), "created disabled");
    assert!(stdout.contains("setup complete"), "{stdout}");
}

#[test]
fn a_second_run_changes_nothing() {
    let es = EsServer::start();
    let kb = EsServer::start();
    assert!(setup(&es.url(), &kb.url(), &[]).status.success());
    let writes = es.state.lock().unwrap().stack.writes;
    let installed = es.state.lock().unwrap().stack.installed.clone();
    let objects = kb.state.lock().unwrap().stack.objects.clone();
    let rules = kb.state.lock().unwrap().stack.rules.clone();
    let out = setup(&es.url(), &kb.url(), &[]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(es.state.lock().unwrap().stack.writes, writes, "no PUT on the second run\n{stdout}");
    assert_eq!(es.state.lock().unwrap().stack.installed, installed);
    assert!(stdout.matches(": unchanged").count() >= 6, "{stdout}");
    assert_eq!(kb.state.lock().unwrap().stack.objects, objects);
    assert_eq!(kb.state.lock().unwrap().stack.rules, rules);
    // A changed object is written again.
    es.state
        .lock()
        .unwrap()
        .stack
        .installed
        .insert("/_ingest/pipeline/wirebeat".into(), json!({"version": 0, "processors": []}));
    assert!(setup(&es.url(), &kb.url(), &["--pipelines"]).status.success());
    assert_eq!(es.state.lock().unwrap().stack.writes, writes + 1);
}

#[test]
fn an_error_inside_a_200_answer_fails_the_setup() {
    let es = EsServer::start();
    let kb = EsServer::start();
    kb.state.lock().unwrap().stack.fail_next_import = Some(vec![json!({
        "id": "some-dashboard", "type": "dashboard", "title": "x",
        "error": {"type": "unknown", "message": "lens attributes could not be migrated"}
    })]);
    let out = setup(&es.url(), &kb.url(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("200 answer") && stderr.contains("some-dashboard"), "{stderr}");
    assert!(stderr.contains("lens attributes could not be migrated"), "{stderr}");
    // Stopped at the first failure: the rules were not sent.
    let posts = kb.requests().into_iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1);
}

#[test]
fn a_cluster_without_ilm_gets_data_stream_lifecycle() {
    let es = EsServer::start();
    es.state.lock().unwrap().stack.no_ilm = true;
    let kb = EsServer::start();
    let out = setup(&es.url(), &kb.url(), &["--index-management"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let writes = es_writes(&es);
    assert!(writes.iter().all(|w| !w.1.starts_with("/_ilm/")));
    assert!(writes.iter().any(|w| w.2.to_string().contains("data_retention")));
    assert!(kb.requests().is_empty(), "only the chosen part");
    let planned: Vec<String> =
        dry_run(&["--index-management", "--no-ilm"]).into_iter().map(|s| s.1).collect();
    assert_eq!(writes.iter().map(|w| w.1.clone()).collect::<Vec<_>>(), planned);
}

#[test]
fn dry_run_and_unreachable_hosts() {
    let es = EsServer::start();
    let out = wirebeat()
        .args(["setup", "--dry-run", "-E"])
        .arg(format!("output.elasticsearch.hosts=[\"{}\"]", es.url()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(es.requests().is_empty(), "a dry run sends nothing");
    let port = es_server::closed_port();
    let out = setup(&format!("http://127.0.0.1:{port}"), "http://127.0.0.1:9", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("setup failed") && stderr.contains(&port.to_string()), "{stderr}");
}

#[test]
fn export_prints_installable_content() {
    let out = wirebeat().args(["export", "dashboards"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, std::fs::read_to_string("kibana/saved_objects.ndjson").unwrap());
    let out = wirebeat().args(["export", "rules"]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read_to_string("kibana/rules.ndjson").unwrap()
    );
    let out = wirebeat().args(["export", "logstash"]).output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("kafka"));
    let out = wirebeat().args(["export", "template"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("PUT /_ilm/policy/"), "{text}");
    assert!(!text.contains("/_ingest/"));
    let out = wirebeat().args(["export", "nonsense"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// What Fleet's Network Packet Capture integration installs for one dataset (its real names and
/// priority; a few of its mappings), plus Elasticsearch's built-in `logs` template.
fn install_fleet_template(es: &EsServer, dataset: &str, priority: u64) {
    let mut st = es.state.lock().unwrap();
    let installed = &mut st.stack.installed;
    installed.insert(
        "/_index_template/logs".into(),
        json!({"index_patterns": ["logs-*-*"], "priority": 100, "data_stream": {},
               "composed_of": [], "_meta": {"managed": true}}),
    );
    installed.insert(
        format!("/_component_template/logs-{dataset}@package"),
        json!({"template": {"mappings": {"properties": {
            "dns": {"properties": {"id": {"type": "keyword"},
                                   "question": {"properties": {"name": {"type": "keyword"}}}}}
        }}}, "_meta": {"managed_by": "fleet", "package": {"name": "network_traffic"}}}),
    );
    installed.insert(
        format!("/_index_template/logs-{dataset}"),
        json!({"index_patterns": [format!("logs-{dataset}-*")], "priority": priority,
               "data_stream": {},
               "composed_of": [format!("logs-{dataset}@package"), format!("logs-{dataset}@custom")],
               "ignore_missing_component_templates": [format!("logs-{dataset}@custom")],
               "_meta": {"managed_by": "fleet", "managed": true,
                         "package": {"name": "network_traffic"}}}),
    );
}

/// Creates the data stream and returns the template Elasticsearch took for it.
fn new_stream_template(es: &EsServer, name: &str) -> String {
    let url = format!("{}/_data_stream/{name}", es.url());
    ureq::put(&url).call().unwrap();
    let v: Value =
        serde_json::from_str(&ureq::get(&url).call().unwrap().into_string().unwrap()).unwrap();
    v["data_streams"][0]["template"].as_str().unwrap().to_owned()
}

#[test]
fn fleet_templates_govern_their_streams_by_default() {
    let es = EsServer::start();
    install_fleet_template(&es, "network_traffic.dns", 200);
    let out = setup(&es.url(), "http://127.0.0.1:9", &["--index-management"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let priorities: Vec<Value> = es_writes(&es)
        .into_iter()
        .filter(|w| w.1.starts_with("/_index_template/"))
        .map(|w| w.2["priority"].clone())
        .collect();
    assert_eq!(priorities, [json!(150), json!(150)]);
    // Setup says which stream Fleet's template governs, and what its mappings lack.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("logs-network_traffic.dns-default: governed by"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("logs-network_traffic.dns (priority 200)"), "{line}");
    assert!(line.contains("wirebeat-logs-network_traffic (priority 150)"), "{line}");
    assert!(line.contains("lack") && line.contains("dns.flags."), "{line}");
    assert!(line.contains("setup.template.priority"), "{line}");
    assert_eq!(stdout.matches(": governed by").count(), 1, "{stdout}");
    assert!(stdout.contains("1 of wirebeat's data streams governed by another"), "{stdout}");
    // Elasticsearch's resolution: the matching template of highest priority.
    assert_eq!(
        new_stream_template(&es, "logs-network_traffic.dns-default"),
        "logs-network_traffic.dns"
    );
    assert_eq!(
        new_stream_template(&es, "logs-network_traffic.mysql-default"),
        "wirebeat-logs-network_traffic"
    );
    assert_eq!(
        new_stream_template(&es, "logs-network_traffic.http-default"),
        "wirebeat-logs-network_traffic"
    );
    assert_eq!(new_stream_template(&es, "logs-wirebeat.alert-default"), "wirebeat-logs-wirebeat");
    assert_eq!(new_stream_template(&es, "logs-something-default"), "logs");
}

#[test]
fn a_priority_above_fleets_overrides_it_consciously() {
    let es = EsServer::start();
    install_fleet_template(&es, "network_traffic.dns", 200);
    let out = setup(
        &es.url(),
        "http://127.0.0.1:9",
        &["--index-management", "-E", "setup.template.priority=250"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains(": governed by"), "{stdout}");
    assert!(
        stdout.contains(
            "logs-network_traffic.dns-default: wirebeat's wirebeat-logs-network_traffic \
             (priority 250) overrides logs-network_traffic.dns (priority 200)"
        ),
        "{stdout}"
    );
    assert_eq!(
        new_stream_template(&es, "logs-network_traffic.dns-default"),
        "wirebeat-logs-network_traffic"
    );
    // Back to the default: the installed templates are rewritten (same version, other priority).
    let writes = es.state.lock().unwrap().stack.writes;
    assert!(setup(&es.url(), "http://127.0.0.1:9", &["--index-management"]).status.success());
    assert_eq!(es.state.lock().unwrap().stack.writes, writes + 2);
}

#[test]
fn priority_200_is_a_configuration_error_and_an_equal_priority_is_refused() {
    let es = EsServer::start();
    let out = setup(&es.url(), "http://127.0.0.1:9", &["-E", "setup.template.priority=200"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("setup.template.priority") && stderr.contains("200"), "{stderr}");
    assert!(es.requests().is_empty(), "nothing sent");
    let out = setup(&es.url(), "http://127.0.0.1:9", &["-E", "setup.template.priority=100"]);
    assert_eq!(out.status.code(), Some(1));
    // A template of the same priority overlapping ours: Elasticsearch's refusal, reported.
    install_fleet_template(&es, "network_traffic.dns", 150);
    let out = setup(&es.url(), "http://127.0.0.1:9", &["--index-management"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "index template [wirebeat-logs-network_traffic] has index patterns \
             [logs-network_traffic.*-*] matching patterns from existing templates \
             [logs-network_traffic.dns] with patterns (logs-network_traffic.dns => \
             [logs-network_traffic.dns-*]) that have the same priority [150]"
        ),
        "{stderr}"
    );
}

fn rule_ids() -> Vec<String> {
    wirebeat::kibana::rules().iter().map(|r| r["rule_id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn rules_are_created_disabled_and_edits_in_kibana_are_kept() {
    use wirebeat::kibana::rules::content_hash;
    let kb = EsServer::start();
    let rules_only = |extra: &[&str]| {
        let mut args = vec!["--rules"];
        args.extend_from_slice(extra);
        let out = setup("http://127.0.0.1:9", &kb.url(), &args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let n = rule_ids().len();
    let out = rules_only(&[]);
    assert!(
        out.contains(&format!("rules: {n} created, 0 updated, 0 unchanged, 0 edited")),
        "{out}"
    );
    assert!(kb.state.lock().unwrap().stack.rules.values().all(|r| r["enabled"] == false));
    let out = rules_only(&[]);
    assert!(out.contains(&format!("rules: 0 created, 0 updated, {n} unchanged")), "{out}");
    assert_eq!(kb.state.lock().unwrap().stack.rule_writes as usize, n, "no write on a second run");

    // What users and an older wirebeat did in Kibana.
    let ids = rule_ids();
    {
        let mut st = kb.state.lock().unwrap();
        let rules = &mut st.stack.rules;
        // 0: enabled by its user.
        rules.get_mut(&ids[0]).unwrap()["enabled"] = json!(true);
        // 1: its query edited.
        let r = rules.get_mut(&ids[1]).unwrap();
        r["query"] = json!("data_stream.dataset:network_traffic.http and not source.ip:10.0.0.1");
        r["revision"] = json!(2);
        // 2: an exception list added (not content wirebeat owns).
        rules.get_mut(&ids[2]).unwrap()["exceptions_list"] =
            json!([{"id": "x", "list_id": "fp", "type": "detection", "namespace_type": "single"}]);
        // 3: wirebeat's previous version (another description, the hash of that content),
        // enabled by its user.
        let r = rules.get_mut(&ids[3]).unwrap();
        r["description"] = json!("An older description.");
        r["meta"]["wirebeat_content_hash"] = json!(content_hash(r));
        r["enabled"] = json!(true);
        // 4: installed without wirebeat's hash (by hand), different content.
        let r = rules.get_mut(&ids[4]).unwrap();
        r.as_object_mut().unwrap().remove("meta");
        r["severity"] = json!("critical");
    }
    let before = kb.state.lock().unwrap().stack.rules.clone();
    let writes = kb.state.lock().unwrap().stack.rule_writes;
    let out = rules_only(&["--enable-rules"]);
    assert!(out.contains("rules: 0 created, 1 updated, 7 unchanged, 2 edited in Kibana"), "{out}");
    assert!(out.contains("2 detection rules edited in Kibana left as they are"), "{out}");
    let after = kb.state.lock().unwrap().stack.rules.clone();
    let name = |i: usize| before[&ids[i]]["name"].as_str().unwrap().to_owned();
    for i in [1, 4] {
        assert!(
            out.contains(&format!("rule {:?} ({}): edited in Kibana", name(i), ids[i])),
            "{out}"
        );
        assert_eq!(after[&ids[i]], before[&ids[i]], "an edited rule is not touched");
    }
    for i in [0, 2] {
        assert_eq!(after[&ids[i]], before[&ids[i]], "the toggle and the exceptions are kept");
    }
    // The previous version is brought up to date, keeping its user's enabled choice.
    let wanted = &wirebeat::kibana::rules()[3];
    let updated = &after[&ids[3]];
    assert_eq!(updated["description"], wanted["description"]);
    assert_eq!(updated["enabled"], true);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["meta"], wanted["meta"]);
    assert_eq!(content_hash(updated), content_hash(wanted));
    assert_eq!(kb.state.lock().unwrap().stack.rule_writes, writes + 1);
    let patch = kb.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    assert!(body.get("enabled").is_none(), "an update never sends enabled");
    assert!(patch.header("kbn-xsrf").is_some());
    // The next run: the updated rule is unchanged, the edited ones still kept.
    let out = rules_only(&[]);
    assert!(out.contains("rules: 0 created, 0 updated, 8 unchanged, 2 edited"), "{out}");
}

#[test]
fn rules_are_created_enabled_only_when_asked() {
    for how in [&["--enable-rules"][..], &["-E", "setup.kibana.rules.enabled=true"][..]] {
        let kb = EsServer::start();
        let mut args = vec!["--rules"];
        args.extend_from_slice(how);
        let out = setup("http://127.0.0.1:9", &kb.url(), &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let st = kb.state.lock().unwrap();
        assert_eq!(st.stack.rules.len(), rule_ids().len());
        assert!(st.stack.rules.values().all(|r| r["enabled"] == true), "{how:?}");
    }
    // The dry run says what it would do, with the state rules are created in.
    let planned = dry_run(&["--rules"]);
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].1, "/api/detection_engine/rules");
    assert!(planned[0].2.lines().all(|l| l.contains("\"enabled\":false")), "{}", planned[0].2);
}

#[test]
fn check_says_what_would_change_and_writes_nothing() {
    let es = EsServer::start();
    let kb = EsServer::start();
    install_fleet_template(&es, "network_traffic.dns", 200);
    let out = setup(&es.url(), &kb.url(), &["--check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let planned = dry_run(&[]).len();
    assert!(
        stdout.contains(&format!("setup check: {planned} of {planned} steps would change")),
        "{stdout}"
    );
    assert!(
        stdout.contains("PUT /_index_template/wirebeat-logs-wirebeat: would be written"),
        "{stdout}"
    );
    assert!(stdout.contains("rules: 10 would be created"), "{stdout}");
    // The templates as the setup would install them: Fleet's governs its stream.
    assert!(stdout.contains("logs-network_traffic.dns-default: governed by"), "{stdout}");
    assert!(es.requests().iter().all(|r| r.method == "GET"), "nothing written to Elasticsearch");
    assert!(kb.requests().iter().all(|r| r.method == "GET"), "nothing written to Kibana");
    // After a setup: only the saved objects import (always an overwrite) would write.
    assert!(setup(&es.url(), &kb.url(), &[]).status.success());
    let writes = es.state.lock().unwrap().stack.writes;
    es.state
        .lock()
        .unwrap()
        .stack
        .installed
        .insert("/_ingest/pipeline/wirebeat".into(), json!({"version": 0, "processors": []}));
    let out = setup(&es.url(), &kb.url(), &["--check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("PUT /_ingest/pipeline/wirebeat: would be written"), "{stdout}");
    assert!(stdout.contains("PUT /_ingest/pipeline/wirebeat-geoip: unchanged"), "{stdout}");
    assert!(stdout.contains("rules: 0 would be created, 0 updated, 10 unchanged"), "{stdout}");
    assert!(stdout.contains(&format!("setup check: 2 of {planned} steps")), "{stdout}");
    assert_eq!(es.state.lock().unwrap().stack.writes, writes);
}
