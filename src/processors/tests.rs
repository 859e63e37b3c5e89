use super::*;
use serde_json::json;

fn named(name: &str) -> Option<Vec<ipnet::IpNet>> {
    match name {
        "private" => Some(vec!["10.0.0.0/8".parse().unwrap(), "192.168.0.0/16".parse().unwrap()]),
        "loopback" => Some(vec!["127.0.0.0/8".parse().unwrap()]),
        _ => None,
    }
}

/// The chain of a YAML `processors:` list.
fn chain(yaml: &str) -> Result<Option<Chain>, Invalid> {
    let list: Vec<Processor> = crate::yaml::from_str(yaml).unwrap();
    Chain::compile(&list, &named)
}

fn event() -> Value {
    json!({
        "@timestamp": "2024-01-01T00:00:00.000Z",
        "event": {"dataset": "network_traffic.http", "duration": 1500},
        "network": {"protocol": "http", "transport": "tcp"},
        "source": {"ip": "10.1.2.3", "port": 51000},
        "destination": {"ip": "93.184.216.34", "port": 80},
        "http": {"response": {"status_code": 404}, "request": {"method": "GET"}},
        "url": {"path": "/admin/login.php"},
        "tags": ["a"],
        "labels": {"site.name": "paris"},
        "related": {"ip": ["10.1.2.3", "93.184.216.34"]}
    })
}

/// Runs `yaml` on the event: `None` when dropped, else the event after the chain.
fn run(yaml: &str, ev: &Value) -> Option<Value> {
    let c = chain(yaml).unwrap().unwrap();
    let mut bytes = serde_json::to_vec(ev).unwrap();
    let out = c.apply(&mut bytes);
    (!out.dropped).then(|| serde_json::from_slice(&bytes).unwrap())
}

fn dropped(when: &str) -> bool {
    run(&format!("- drop_event:\n    when: {when}\n"), &event()).is_none()
}

#[test]
fn conditions_match_as_in_beats() {
    for (when, want) in [
        ("{equals: {network.protocol: http}}", true),
        ("{equals: {network.protocol: dns}}", false),
        ("{equals: {http.response.status_code: 404}}", true),
        ("{equals: {http.response.status_code: \"404\"}}", false),
        ("{equals: {network.protocol: http, source.port: 51000}}", true),
        ("{equals: {network.protocol: http, source.port: 1}}", false),
        ("{equals: {tags: a}}", true),
        ("{equals: {nothing: a}}", false),
        ("{contains: {url.path: admin}}", true),
        ("{contains: {url.path: Admin}}", false),
        ("{contains: {related.ip: \"93.184\"}}", true),
        ("{regexp: {url.path: '\\.php$'}}", true),
        ("{regexp: {url.path: '^/login'}}", false),
        ("{network: {source.ip: private}}", true),
        ("{network: {destination.ip: private}}", false),
        ("{network: {destination.ip: public}}", true),
        ("{network: {source.ip: public}}", false),
        ("{network: {destination.ip: [loopback, 93.184.216.0/24]}}", true),
        ("{network: {destination.ip: 93.184.216.34}}", true),
        ("{network: {related.ip: 10.0.0.0/8}}", true),
        ("{network: {url.path: private}}", false),
        ("{has_fields: [http.request.method, url.path]}", true),
        ("{has_fields: [http.request.method, dns.id]}", false),
        ("{has_fields: [labels.site.name]}", true),
        ("{range: {http.response.status_code: {gte: 400, lt: 500}}}", true),
        ("{range: {http.response.status_code.gte: 500}}", false),
        ("{range: {event.duration: {gt: 1000}}}", true),
        ("{range: {url.path: {gt: 1}}}", false),
        ("{and: [{equals: {network.protocol: http}}, {contains: {url.path: admin}}]}", true),
        ("{and: [{equals: {network.protocol: http}}, {contains: {url.path: x}}]}", false),
        ("{or: [{equals: {network.protocol: dns}}, {contains: {url.path: admin}}]}", true),
        ("{or: [{equals: {network.protocol: dns}}, {contains: {url.path: x}}]}", false),
        ("{not: {equals: {network.protocol: dns}}}", true),
        ("{not: {not: {equals: {network.protocol: dns}}}}", false),
    ] {
        assert_eq!(dropped(when), want, "{when}");
    }
    // Without a condition every event is dropped.
    assert!(run("- drop_event: {}\n", &event()).is_none());
}

#[test]
fn fields_and_tags_are_changed() {
    let yaml = "\
- drop_fields: {fields: [http.request, url.path, labels.site.name], ignore_missing: true}
- add_fields: {target: site, fields: {name: paris, rack: 7, geo: {zone: a}}}
- add_fields: {target: '', fields: {service: {name: web}}}
- add_fields: {fields: {owner: ops}}
- add_tags: {tags: [span, a]}
- add_tags: {tags: [x], target: wirebeat.marks, when: {equals: {network.protocol: dns}}}
";
    let got = run(yaml, &event()).unwrap();
    assert!(got["http"].get("request").is_none());
    assert_eq!(got["http"]["response"]["status_code"], 404);
    // Objects left empty go.
    assert!(got.get("url").is_none() && got.get("labels").is_none(), "{got}");
    assert_eq!(got["site"], json!({"name": "paris", "rack": 7, "geo": {"zone": "a"}}));
    assert_eq!(got["service"]["name"], "web");
    assert_eq!(got["fields"]["owner"], "ops");
    assert_eq!(got["tags"], json!(["a", "span"]));
    assert!(got.get("wirebeat").is_none());
    assert_eq!(got["@timestamp"], "2024-01-01T00:00:00.000Z");
    // add_fields merges into an object that is there and replaces scalars.
    let got =
        run("- add_fields: {target: network, fields: {transport: udp, name: lan}}\n", &event())
            .unwrap();
    assert_eq!(got["network"], json!({"protocol": "http", "transport": "udp", "name": "lan"}));
}

#[test]
fn missing_fields_are_counted_unless_ignored() {
    let c = chain("- drop_fields: {fields: [dns.id, url.path, nope]}\n").unwrap().unwrap();
    let mut bytes = serde_json::to_vec(&event()).unwrap();
    assert_eq!(c.apply(&mut bytes), Outcome { dropped: false, missing_fields: 2 });
    let c = chain("- drop_fields: {fields: [dns.id], ignore_missing: true}\n").unwrap().unwrap();
    let before = serde_json::to_vec(&event()).unwrap();
    let mut bytes = before.clone();
    assert_eq!(c.apply(&mut bytes), Outcome::default());
    // Nothing changed: the bytes are the event's own.
    assert_eq!(bytes, before);
    // An event that is not JSON is left as it is.
    let mut junk = b"not json".to_vec();
    assert_eq!(c.apply(&mut junk), Outcome::default());
    assert_eq!(junk, b"not json");
}

#[test]
fn no_processors_no_chain() {
    assert!(chain("[]").unwrap().is_none());
}

#[test]
fn configuration_errors_name_the_key() {
    for (yaml, key, message) in [
        ("- drop_event: {when: {equal: {a: 1}}}", "[0].drop_event.when.equal", "unknown condition \"equal\" (expected one of: equals, contains, regexp, network, has_fields, range, and, or, not)"),
        ("- drop_event: {when: {equals: {a: 1}, contains: {b: c}}}", "[0].drop_event.when", "one condition per mapping, got contains, equals (combine them with and/or)"),
        ("- drop_event: {when: {}}", "[0].drop_event.when", "empty condition (expected one of: equals, contains, regexp, network, has_fields, range, and, or, not)"),
        ("- drop_event: {when: equals}", "[0].drop_event.when", "a condition is a mapping like {equals: {field: value}}, not a string"),
        ("- add_tags: {tags: [x]}\n- drop_event: {when: {regexp: {url.path: '(['}}}", "[1].drop_event.when.regexp.url.path", "invalid regular expression \"([\": error: unclosed character class"),
        ("- drop_event: {when: {network: {source.ip: privat}}}", "[0].drop_event.when.network.source.ip", "\"privat\" is neither a CIDR, an address nor one of: private, loopback, link_local, unique_local, multicast, unicast, public, unspecified"),
        ("- drop_event: {when: {range: {a: {gte: x}}}}", "[0].drop_event.when.range.a.gte", "expected a number, not a string"),
        ("- drop_event: {when: {range: {a: 3}}}", "[0].drop_event.when.range.a", "expected a mapping of gt, gte, lt, lte to numbers"),
        ("- drop_event: {when: {equals: {a: [1]}}}", "[0].drop_event.when.equals.a", "equals takes a string, number or boolean, not a list"),
        ("- drop_event: {when: {has_fields: a}}", "[0].drop_event.when.has_fields", "expected a non-empty list of field names"),
        ("- drop_event: {when: {and: []}}", "[0].drop_event.when.and", "expected a non-empty list of conditions"),
        ("- drop_event: {when: {or: [{equals: {a: 1}}, {nope: 1}]}}", "[0].drop_event.when.or[1].nope", "unknown condition \"nope\" (expected one of: equals, contains, regexp, network, has_fields, range, and, or, not)"),
        ("- drop_fields: {fields: []}", "[0].drop_fields.fields", "needs at least one field"),
        ("- drop_fields: {fields: [a, '@timestamp']}", "[0].drop_fields.fields[1]", "\"@timestamp\" cannot be dropped"),
        ("- add_fields: {fields: {}}", "[0].add_fields.fields", "needs at least one field"),
        ("- add_fields: {target: '', fields: {'@timestamp': x}}", "[0].add_fields.fields", "@timestamp cannot be replaced"),
        ("- add_tags: {tags: []}", "[0].add_tags.tags", "needs at least one tag"),
        ("- add_tags: {tags: [a], target: ''}", "[0].add_tags.target", "must name a field (default: tags)"),
    ] {
        let err = chain(yaml).unwrap_err();
        assert_eq!((err.key.as_str(), err.message.as_str()), (key, message), "{yaml}");
    }
    let deep = format!(
        "- drop_event: {{when: {}{{has_fields: [a]}}{}}}",
        "{not: ".repeat(40),
        "}".repeat(40)
    );
    assert!(chain(&deep).unwrap_err().message.contains("nested deeper than 32 levels"));
}
