use super::*;

#[test]
fn requests_come_in_dependency_order() {
    let kinds: Vec<String> = es_requests().iter().map(Request::export_path).collect();
    let rank = |p: &str| {
        ["ilm/", "component_templates/", "index_templates/", "ingest/"]
            .iter()
            .position(|k| p.starts_with(k))
            .unwrap()
    };
    let ranks: Vec<usize> = kinds.iter().map(|p| rank(p)).collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted, "{kinds:?}");
    assert_eq!(ranks.first(), Some(&0));
    assert!(kinds.contains(&"ingest/wirebeat-geoip.json".to_owned()));
    // The sub-pipeline is installed before the pipeline that calls it.
    let geo = kinds.iter().position(|k| k == "ingest/wirebeat-geoip.json");
    let main = kinds.iter().position(|k| k == "ingest/wirebeat.json");
    assert!(geo < main);
}

#[test]
fn data_stream_lifecycle_replaces_ilm() {
    let reqs = es_requests_with(Lifecycle::DataStream);
    assert!(reqs.iter().all(|r| !r.path.starts_with("/_ilm/")));
    let lc = reqs.iter().find(|r| r.path.ends_with("/wirebeat@lifecycle")).unwrap();
    assert_eq!(lc.body["template"]["lifecycle"]["data_retention"], "30d");
    assert!(lc.body["template"].get("settings").is_none());
    let ilm = es_requests();
    let lc = ilm.iter().find(|r| r.path.ends_with("/wirebeat@lifecycle")).unwrap();
    assert_eq!(lc.body["template"]["settings"]["index"]["lifecycle"]["name"], ILM_POLICY);
}

#[test]
fn datasets_cover_every_stream_wirebeat_writes() {
    let ds = datasets();
    assert_eq!(DATASET_ALERT, crate::detect::alert::DATASET_ALERT);
    for d in ["network_traffic.flow", "network_traffic.dns", "wirebeat.alert", "wirebeat.health"] {
        assert!(ds.contains(&d), "{d} in {ds:?}");
    }
    // Every dataset falls under one of the index templates.
    for d in &ds {
        let stream = format!("logs-{d}-default");
        let prefix = |t: &templates::IndexTemplate| t.pattern.trim_end_matches("*-*").to_owned();
        assert!(
            templates::INDEX_TEMPLATES.iter().any(|t| stream.starts_with(&prefix(t))),
            "{stream}"
        );
    }
    let dns = dataset_fields("network_traffic.dns");
    assert!(dns.iter().any(|f| f.starts_with("dns.")), "{dns:?}");
    assert!(dataset_fields("wirebeat.alert").is_empty());
}
