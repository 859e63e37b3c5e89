use super::*;
use serde_json::json;

#[test]
fn plan_follows_the_documented_order() {
    let steps = plan(Parts::default(), Lifecycle::Ilm, &Config::default());
    let kinds: Vec<&str> = steps
        .iter()
        .map(|s| {
            let p = s.path.as_str();
            if p.starts_with("/_ilm/") {
                "ilm"
            } else if p.starts_with("/_component_template/") {
                "component"
            } else if p.starts_with("/_index_template/") {
                "index"
            } else if p.starts_with("/_ingest/") {
                "ingest"
            } else if p.contains("saved_objects") {
                "saved_objects"
            } else {
                "rules"
            }
        })
        .collect();
    let mut dedup = kinds.clone();
    dedup.dedup();
    assert_eq!(dedup, ["ilm", "component", "index", "ingest", "saved_objects", "rules"]);
    let mut soc = Config::default();
    soc.kibana.space_id = "soc".into();
    let only = plan(Parts { rules: true, ..Parts::default() }, Lifecycle::Ilm, &soc);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].path, "/s/soc/api/detection_engine/rules");
    let no_ilm = plan(Parts::default(), Lifecycle::DataStream, &Config::default());
    assert!(no_ilm.iter().all(|s| !s.path.starts_with("/_ilm/")));
}

#[test]
fn containment_ignores_what_elasticsearch_adds() {
    let want = json!({"template": {"settings": {"index": {"number_of_shards": 1}}}, "a": [1]});
    let have = json!({"template": {"settings": {"index": {"number_of_shards": "1", "x": 2}}},
                      "a": [1], "extra": true});
    assert!(contains(&have, &want));
    assert!(!contains(&json!({"a": [1, 2]}), &json!({"a": [1]})));
    assert!(!contains(&json!({"template": {}}), &want));
}

#[test]
fn kibana_host_gets_its_default_port() {
    let k = KibanaConfig { host: "kibana.example".into(), ..KibanaConfig::default() };
    assert_eq!(kibana_client(&k).unwrap().base(0), "http://kibana.example:5601");
    let k = KibanaConfig { host: "https://k:443/kb/".into(), ..KibanaConfig::default() };
    assert_eq!(kibana_client(&k).unwrap().base(0), "https://k:443/kb");
}

#[test]
fn wildcard_patterns_match_as_elasticsearch_does() {
    assert!(glob_match("logs-network_traffic.*-*", "logs-network_traffic.dns-default"));
    assert!(glob_match("logs-*-*", "logs-wirebeat.alert-default"));
    assert!(!glob_match("logs-network_traffic.dns-*", "logs-network_traffic.mysql-default"));
    assert!(!glob_match("logs-*-*", "logs-nodash"));
    assert!(glob_match("*", ""));
    assert!(glob_match("a*b*c", "aXbYbZc"));
    assert!(!glob_match("a*b*c", "aXbYbZ"));
}

#[test]
fn the_matching_template_of_highest_priority_governs() {
    let t = |n: &str, p: u64, pat: &str| (n.to_owned(), p, json!({"index_patterns": [pat]}));
    let all = vec![
        t("logs", 100, "logs-*-*"),
        t("wirebeat-logs-network_traffic", 150, "logs-network_traffic.*-*"),
        t("logs-network_traffic.dns", 200, "logs-network_traffic.dns-*"),
    ];
    let win = |s: &str| resolve(&all, s).map(|w| w.0.as_str());
    assert_eq!(win("logs-network_traffic.dns-default"), Some("logs-network_traffic.dns"));
    assert_eq!(win("logs-network_traffic.http-default"), Some("wirebeat-logs-network_traffic"));
    assert_eq!(win("logs-other-default"), Some("logs"));
    assert_eq!(win("metrics-x-default"), None);
}

#[test]
fn fields_are_found_in_nested_properties() {
    let p = json!({"dns": {"properties": {"flags": {"properties": {"authoritative": {"type": "boolean"}}},
                   "id": {"type": "keyword"}, "opt": {"type": "flattened"}}}});
    assert!(mapped(&p, "dns.flags.authoritative"));
    assert!(mapped(&p, "dns.opt.udp_size"));
    assert!(!mapped(&p, "dns.id.x"));
    assert!(!mapped(&p, "dns.answers_count"));
}

#[test]
fn template_priority_200_is_refused() {
    let mut c = Config::default();
    assert!(c.validate().is_ok());
    c.template.priority = 200;
    let e = c.validate().unwrap_err();
    assert_eq!(e.key, "template.priority");
    c.template.priority = 250;
    assert!(c.validate().is_ok());
}
