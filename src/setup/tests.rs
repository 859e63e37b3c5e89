use super::*;
use serde_json::json;

#[test]
fn plan_follows_the_documented_order() {
    let steps = plan(Parts::default(), Lifecycle::Ilm, "");
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
    let only = plan(Parts { rules: true, ..Parts::default() }, Lifecycle::Ilm, "soc");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].path, "/s/soc/api/detection_engine/rules/_import?overwrite=true");
    let no_ilm = plan(Parts::default(), Lifecycle::DataStream, "");
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
