//! The registry's invariants, over whatever protocols it lists (no test names one protocol, so
//! adding or removing one stays a folder and a line).

use super::*;

#[test]
fn each_config_section_is_named_after_its_descriptor() {
    let sections = serde_json::to_value(Protocols::default()).unwrap();
    let keys: Vec<&str> = sections.as_object().unwrap().keys().map(String::as_str).collect();
    let mut names: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
    names.sort_unstable();
    // serde_json's map sorts its keys.
    assert_eq!(keys, names, "wirebeat.protocols.<name> must be the descriptor's name");
}

#[test]
fn descriptors_agree_with_their_defaults_and_fields() {
    let cfg = Protocols::default();
    for (p, (_, ports)) in PROTOCOLS.iter().zip(cfg.settings()) {
        assert_eq!(ports, p.default_ports, "{}: Config::default ports", p.name);
        // The integration's data stream: `network_traffic.<name>`, or a longer name it chose
        // (memcache's is `memcached`).
        let stream = p.dataset.strip_prefix("network_traffic.").unwrap_or_default();
        assert!(stream.starts_with(p.name), "{}: dataset {}", p.name, p.dataset);
        assert!(!p.transports.is_empty(), "{}: no transport", p.name);
        for (field, _, description) in p.custom_fields {
            let own = field.starts_with(&format!("{}.", p.name))
                || field.starts_with(&format!("network_traffic.{stream}."));
            assert!(own, "{}: custom field {field} outside its namespace", p.name);
            assert!(!description.is_empty(), "{field}: no description");
        }
    }
}

#[test]
fn default_registry_builds_and_content_lists_follow_the_descriptors() {
    let r = Registry::new(&Protocols::default(), Limits::default()).unwrap();
    assert!(r.any_enabled());
    let shipped: Vec<&str> = PROTOCOLS.iter().filter(|p| p.in_content).map(|p| p.dataset).collect();
    assert_eq!(content_datasets().collect::<Vec<_>>(), shipped);
    let fields = custom_fields();
    for p in PROTOCOLS {
        for f in p.custom_fields {
            assert_eq!(fields.contains(f), p.in_content, "{}", f.0);
        }
    }
}
