use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn compiled(text: &str, format: Format, kind: Kind) -> (ListData, Parsed) {
    let p = parse(text, format, kind, None).unwrap();
    let (bad, first_bad, skipped) = (p.bad, p.first_bad.clone(), p.skipped);
    let d = ListData::compile("test", Severity::High, p, usize::MAX);
    (d, Parsed { entries: Vec::new(), bad, first_bad, skipped })
}

#[test]
fn plain_lists_take_every_kind_and_count_bad_lines() {
    let text = "# a comment\n\
                203.0.113.7\n\
                198.51.100.0/24   # a network\n\
                2001:db8::/32\n\
                evil.example.\n\
                http://Bad.Example:80/gate.php?id=1\n\
                e7d705a3286e19ea42f587b344ee6865\n\
                t13d1516h2_8daaf6152771_b0da82dd1658\n\
                AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01\n\
                not a thing!\n\
                \n\
                300.1.2.3/99\n";
    let (d, p) = compiled(text, Format::Plain, Kind::Auto);
    assert_eq!(p.bad, 2, "{:?}", p.first_bad);
    assert!(p.first_bad.as_deref().unwrap().starts_with("line 10:"), "{:?}", p.first_bad);
    assert_eq!(d.len(), 8);
    assert_eq!(d.ip(ip("203.0.113.7")).unwrap().value.as_ref(), "203.0.113.7");
    assert_eq!(d.ip(ip("198.51.100.200")).unwrap().value.as_ref(), "198.51.100.0/24");
    assert_eq!(d.ip(ip("2001:db8::1")).unwrap().value.as_ref(), "2001:db8::/32");
    assert!(d.ip(ip("198.51.101.1")).is_none());
    assert!(d.ip(ip("2001:db9::1")).is_none());
    let (m, listed) = d.domain("a.b.evil.example").unwrap();
    assert_eq!((m.value.as_ref(), listed), ("evil.example", "evil.example"));
    assert!(d.domain("notevil.example").is_none());
    assert!(d.domain("example").is_none());
    assert!(d.string(Kind::Url, "bad.example/gate.php?id=1").is_some());
    assert!(d.string(Kind::Ja3, "e7d705a3286e19ea42f587b344ee6865").is_some());
    assert!(d.string(Kind::Ja4, "t13d1516h2_8daaf6152771_b0da82dd1658").is_some());
    assert!(d.string(Kind::CertSha1, "ABCDEF0123456789ABCDEF0123456789ABCDEF01").is_some());
}

#[test]
fn ports_are_dropped_and_scheme_less_urls_recognised() {
    let (d, p) = compiled(
        "192.0.2.1:443\n[2001:db8::1]:8443\nevil.example/gate.php\nnot an indicator!\n",
        Format::Plain,
        Kind::Auto,
    );
    assert_eq!((d.len(), p.bad), (3, 1), "{:?}", p.first_bad);
    assert!(d.ip(ip("192.0.2.1")).is_some());
    assert!(d.ip(ip("2001:db8::1")).is_some());
    assert!(d.string(Kind::Url, "evil.example/gate.php").is_some());
    // 2001:db8::1 alone is an address, not address and port.
    let (d, _) = compiled("2001:db8::1\n", Format::Plain, Kind::Auto);
    assert!(d.ip(ip("2001:db8::1")).is_some());
}

#[test]
fn a_typed_list_refuses_other_shapes() {
    let (d, p) = compiled("1.2.3.4\nevil.example\n", Format::Plain, Kind::Ip);
    assert_eq!((d.len(), p.bad), (1, 1));
    assert!(p.first_bad.unwrap().contains("not an IP address"));
}

#[test]
fn longest_prefix_wins() {
    let text = "10.0.0.0/8\n10.1.0.0/16\n";
    let (d, _) = compiled(text, Format::Plain, Kind::Ip);
    assert_eq!(d.ip(ip("10.1.2.3")).unwrap().value.as_ref(), "10.1.0.0/16");
    assert_eq!(d.ip(ip("10.2.2.3")).unwrap().value.as_ref(), "10.0.0.0/8");
}

#[test]
fn csv_by_header_name_with_metadata_and_quotes() {
    let text = "first_seen,indicator,description\n\
                2024-01-17 07:44:46,203.0.113.9,\"Dridex, tier 1\"\n\
                2024-01-18,\"evil.example\",\n\
                2024-01-19,,nothing\n\
                x,\"unclosed,\n";
    let (d, p) = compiled(text, Format::Csv, Kind::Auto);
    assert_eq!(d.len(), 2);
    assert_eq!(p.bad, 2);
    let m = d.ip(ip("203.0.113.9")).unwrap();
    assert_eq!(m.first_seen.as_deref(), Some("2024-01-17T07:44:46.000000000Z"));
    assert_eq!(m.description.as_deref(), Some("Dridex, tier 1"));
    // A column named explicitly.
    let p = parse("a,b\nx,1.2.3.4\n", Format::Csv, Kind::Auto, Some("B")).unwrap();
    assert_eq!(p.entries.len(), 1);
    let p = parse("a,b\nx,1.2.3.4\n", Format::Csv, Kind::Auto, Some("c")).unwrap();
    assert_eq!((p.entries.len(), p.bad), (0, 1));
}

#[test]
fn abusech_feodo_sslbl_urlhaus_and_threatfox_layouts() {
    let feodo = "################\n# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n#\n\
                 # \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
                 \"2021-01-17 07:44:46\",\"51.178.161.32\",\"4643\",\"online\",\"2024-01-10\",\"Dridex\"\n\
                 \"2021-01-18 07:44:46\",\"not-an-ip\",\"443\",\"offline\",\"\",\"QakBot\"\n\
                 # Number of entries: 2\n";
    let (d, p) = compiled(feodo, Format::Abusech, Kind::Auto);
    assert_eq!((d.len(), p.bad), (1, 1));
    let m = d.ip(ip("51.178.161.32")).unwrap();
    assert_eq!(m.description.as_deref(), Some("Dridex"));
    assert_eq!(m.last_seen.as_deref(), Some("2024-01-10T00:00:00.000000000Z"));

    let ja3 = "# ja3_md5,Firstseen,Lastseen,Listingreason\n\
               b386946a5a44d1ddcc843bc75336dfce,2017-07-14 18:08:15,2019-07-27 20:42:54,Dridex\n";
    let (d, _) = compiled(ja3, Format::Abusech, Kind::Auto);
    assert_eq!(
        d.string(Kind::Ja3, "b386946a5a44d1ddcc843bc75336dfce").unwrap().description.as_deref(),
        Some("Dridex")
    );

    let certs = "# Listingdate,SHA1,Listingreason\n\
                 2024-02-01 10:00:00,1a2b3c4d5e6f70811a2b3c4d5e6f70811a2b3c4d,AsyncRAT C&C\n";
    let (d, _) = compiled(certs, Format::Abusech, Kind::Auto);
    assert!(d.string(Kind::CertSha1, "1A2B3C4D5E6F70811A2B3C4D5E6F70811A2B3C4D").is_some());

    let urlhaus = "################\n# abuse.ch URLhaus Database Dump (CSV)\n#\n\
                   # id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
                   \"2766453\",\"2024-02-08 13:46:06\",\"http://192.0.2.10:8080/Mozi.m\",\"online\",\"2024-02-08 13:46:06\",\"malware_download\",\"elf,Mozi\",\"https://urlhaus.abuse.ch/url/2766453/\",\"lrz_urlhaus\"\n";
    let (d, _) = compiled(urlhaus, Format::Abusech, Kind::Auto);
    let m = d.string(Kind::Url, "192.0.2.10:8080/Mozi.m").unwrap();
    assert_eq!(m.reference.as_deref(), Some("https://urlhaus.abuse.ch/url/2766453/"));
    assert_eq!(m.description.as_deref(), Some("malware_download"));

    let threatfox = "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\"\n\
                     \"2024-03-01 00:00:00\",\"1\",\"192.0.2.77:443\",\"ip:port\",\"botnet_cc\"\n\
                     \"2024-03-01 00:00:00\",\"2\",\"c2.example\",\"domain\",\"botnet_cc\"\n\
                     \"2024-03-01 00:00:00\",\"3\",\"d41d8cd98f00b204e9800998ecf8427e\",\"md5_hash\",\"payload\"\n";
    let (d, p) = compiled(threatfox, Format::Abusech, Kind::Auto);
    assert_eq!((d.len(), p.skipped, p.bad), (2, 1, 0));
    assert!(d.ip(ip("192.0.2.77")).is_some());
    assert!(d.domain("c2.example").is_some());

    let (d, p) = compiled("1.2.3.4,5\n", Format::Abusech, Kind::Auto);
    assert_eq!((d.len(), p.bad), (0, 1));
}

#[test]
fn misp_csv_export_respects_to_ids_and_types() {
    let text = "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category\n\
        \"5f0c\",\"12\",\"Network activity\",\"ip-dst\",\"203.0.113.50\",\"C2\",\"1\",\"20240115\",\"\",\"\",\"\",\"\",\"\"\n\
        \"5f0d\",\"12\",\"Network activity\",\"ip-dst|port\",\"203.0.113.51|8443\",\"\",\"1\",\"20240115\",\"\",\"\",\"\",\"\",\"\"\n\
        \"5f0e\",\"12\",\"Network activity\",\"domain\",\"misp.example\",\"\",\"0\",\"20240115\",\"\",\"\",\"\",\"\",\"\"\n\
        \"5f0f\",\"12\",\"Payload delivery\",\"sha256\",\"aa\",\"\",\"1\",\"20240115\",\"\",\"\",\"\",\"\",\"\"\n\
        \"5f10\",\"12\",\"Network activity\",\"ja3-fingerprint-md5\",\"zz\",\"\",\"1\",\"20240115\",\"\",\"\",\"\",\"\",\"\"\n";
    let (d, p) = compiled(text, Format::MispCsv, Kind::Auto);
    assert_eq!((d.len(), p.skipped, p.bad), (2, 2, 1), "{:?}", p.first_bad);
    let m = d.ip(ip("203.0.113.50")).unwrap();
    assert_eq!(m.first_seen.as_deref(), Some("2024-01-15T00:00:00.000000000Z"));
    assert_eq!(m.description.as_deref(), Some("C2"));
    assert!(d.ip(ip("203.0.113.51")).is_some());
    assert!(d.domain("misp.example").is_none(), "to_ids 0 is not for detection");
}

#[test]
fn misp_json_events_objects_and_attribute_searches() {
    let event = r#"{"Event": {"info": "Campaign X", "Attribute": [
        {"type": "domain", "value": "misp-json.example", "to_ids": true, "timestamp": "1705276800"},
        {"type": "url", "value": "https://misp-json.example/x", "to_ids": true, "comment": "stage 2"},
        {"type": "text", "value": "note", "to_ids": false}
      ], "Object": [{"name": "x509", "Attribute": [
        {"type": "x509-fingerprint-sha256", "value": "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11", "to_ids": "1"},
        {"type": "ip-dst"}
      ]}]}}"#;
    let (d, p) = compiled(event, Format::MispJson, Kind::Auto);
    assert_eq!((d.len(), p.skipped, p.bad), (3, 1, 1));
    let (m, _) = d.domain("www.misp-json.example").unwrap();
    assert_eq!(m.description.as_deref(), Some("Campaign X"));
    assert_eq!(m.first_seen.as_deref(), Some("2024-01-15T00:00:00.000000000Z"));
    let m = d.string(Kind::Url, "misp-json.example/x").unwrap();
    assert_eq!(m.description.as_deref(), Some("stage 2"));
    assert!(d.string(Kind::CertSha256, &"AA11".repeat(16)).is_some());

    let search = r#"{"response": {"Attribute": [{"type": "ip-src", "value": "192.0.2.99"}]}}"#;
    let (d, _) = compiled(search, Format::MispJson, Kind::Auto);
    assert!(d.ip(ip("192.0.2.99")).is_some());
    // Only IPs wanted: the rest is skipped, not bad.
    let (d, p) = compiled(event, Format::MispJson, Kind::Ip);
    assert_eq!((d.len(), p.skipped), (0, 4));

    assert!(parse("{not json", Format::MispJson, Kind::Auto, None).is_err());
    assert!(parse("{\"Event\": {}}", Format::MispJson, Kind::Auto, None).is_err());
}

#[test]
fn dates_normalise_to_rfc3339_or_are_dropped() {
    assert_eq!(date("2024-01-17").as_deref(), Some("2024-01-17T00:00:00.000000000Z"));
    assert_eq!(date("2024-01-17 07:44:46").as_deref(), Some("2024-01-17T07:44:46.000000000Z"));
    assert_eq!(date("2024-01-17T07:44:46.123Z").as_deref(), Some("2024-01-17T07:44:46.000000000Z"));
    assert_eq!(
        date("2024-01-17T09:44:46+02:00").as_deref(),
        Some("2024-01-17T07:44:46.000000000Z")
    );
    assert_eq!(date("20240117").as_deref(), Some("2024-01-17T00:00:00.000000000Z"));
    assert_eq!(date("1705476286").as_deref(), Some("2024-01-17T07:24:46.000000000Z"));
    for bad in ["", "yesterday", "2024-13-01", "2024-01-17 7:44", "12", "2024-01-17T07:44:46 PST"] {
        assert_eq!(date(bad), None, "{bad:?}");
    }
}

#[test]
fn urls_match_in_one_form() {
    assert_eq!(url_key("http://Evil.Example:80/a?b#c").as_deref(), Some("evil.example/a?b"));
    assert_eq!(url_key("https://evil.example:443").as_deref(), Some("evil.example/"));
    assert_eq!(url_key("https://evil.example:8443/x").as_deref(), Some("evil.example:8443/x"));
    assert_eq!(url_key("http://user:pw@evil.example/").as_deref(), Some("evil.example/"));
    assert_eq!(url_key("http:///x"), None);
}

#[test]
fn max_entries_refuses_and_counts() {
    let p = parse("1.1.1.1\n2.2.2.2\n3.3.3.3\n1.1.1.1\n", Format::Plain, Kind::Ip, None).unwrap();
    let d = ListData::compile("l", Severity::Low, p, 2);
    assert_eq!((d.len(), d.refused), (2, 2));
    let p = parse("1.1.1.1\n1.1.1.1\n", Format::Plain, Kind::Ip, None).unwrap();
    let d = ListData::compile("l", Severity::Low, p, 10);
    assert_eq!((d.len(), d.duplicates), (1, 1));
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "\u{feff}#\n\"\n\",,,\n",
        "\u{0}\u{1}\u{2}",
        "# a,b\n\"\"\"\n",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]",
        "{\"Attribute\": [1, \"x\", null, {\"type\": 5}]}",
        "1.2.3.4/\n/24\n::/129\n..\n.a.\n",
    ];
    for text in inputs {
        for f in [Format::Plain, Format::Csv, Format::Abusech, Format::MispCsv, Format::MispJson] {
            let _ = parse(text, f, Kind::Auto, None);
            let _ = parse(text, f, Kind::Domain, Some("a"));
        }
    }
}

#[test]
fn config_checks() {
    let mut c = Config::default();
    assert!(c.validate().is_ok());
    assert!(!c.active(), "no lists: nothing to do");
    c.lists.push(ListConfig { path: "/x/a.txt".into(), ..ListConfig::default() });
    c.lists.push(ListConfig { path: "/y/a.csv".into(), ..ListConfig::default() });
    assert!(c.active());
    let e = c.validate().unwrap_err();
    assert_eq!(e.key, "lists[1].name");
    c.lists[1].name = Some("other".into());
    assert!(c.validate().is_ok());
    c.lists[1].column = Some("ip".into());
    assert_eq!(c.validate().unwrap_err().key, "lists[1].column");
    c.lists[1].column = None;
    c.reload_interval = Duration(std::time::Duration::from_millis(10));
    assert_eq!(c.validate().unwrap_err().key, "reload_interval");
    c.reload_interval = Duration::from_secs(0);
    assert!(c.validate().is_ok());
    c.lists[0].path = " ".into();
    assert_eq!(c.validate().unwrap_err().key, "lists[0].path");
}

fn detect_with(lists: Vec<ListConfig>) -> crate::detect::config::Detect {
    let mut d = crate::detect::config::Detect::default();
    d.intel.lists = lists;
    d.intel.reload_interval = Duration::from_secs(0);
    d
}

#[test]
fn reload_swaps_changed_lists_and_keeps_old_ones_on_failure() {
    let dir = std::env::temp_dir().join(format!("wirebeat-intel-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.txt");
    let b = dir.join("b.json");
    std::fs::write(&a, "203.0.113.1\n").unwrap();
    std::fs::write(&b, r#"{"Attribute": [{"type": "domain", "value": "b.example"}]}"#).unwrap();
    let lists = vec![
        ListConfig { path: a.to_str().unwrap().into(), ..ListConfig::default() },
        ListConfig {
            path: b.to_str().unwrap().into(),
            format: Format::MispJson,
            ..ListConfig::default()
        },
    ];
    let intel = Intel::start(&detect_with(lists), false).unwrap();
    let m = intel.matcher();
    assert_eq!(intel.entries(), 2);
    assert!(intel.reload(false).is_none(), "nothing changed");
    // A change to one file: only it is reloaded, and the matcher sees the new snapshot.
    std::fs::write(&a, "203.0.113.1\n203.0.113.2\n").unwrap();
    let r = intel.reload(false).unwrap().unwrap();
    assert!(r.contains("a (") && r.contains("was 1") && !r.contains("b ("), "{r}");
    assert!(m.snapshot().lists[0].ip(ip("203.0.113.2")).is_some());
    // A broken file keeps the old entries, says why, and is not retried until it changes.
    std::fs::write(&b, "{broken").unwrap();
    let e = intel.reload(false).unwrap().unwrap_err();
    assert!(
        e.contains("b: not a MISP JSON document") && e.contains("keeping its 1 entries"),
        "{e}"
    );
    assert!(m.snapshot().lists[1].domain("b.example").is_some());
    assert!(intel.reload(false).is_none());
    // A missing file: said once, entries kept.
    std::fs::remove_file(&a).unwrap();
    let e = intel.reload(false).unwrap().unwrap_err();
    assert!(e.contains("a: cannot read"), "{e}");
    assert!(intel.reload(false).is_none());
    assert_eq!(intel.entries(), 3);
    // Forced (SIGHUP): every list is tried again.
    let e = intel.reload(true).unwrap().unwrap_err();
    assert!(e.contains("a: cannot read") && e.contains("b: not a MISP"), "{e}");
    std::fs::write(&a, "198.51.100.1\n").unwrap();
    let r = intel.reload(false).unwrap().unwrap();
    assert!(r.contains("2 entries in 2 lists"), "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn max_entries_spans_all_lists() {
    let dir = std::env::temp_dir().join(format!("wirebeat-intel-max-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.txt");
    let b = dir.join("b.txt");
    std::fs::write(&a, "1.1.1.1\n1.1.1.2\n").unwrap();
    std::fs::write(&b, "2.2.2.1\n2.2.2.2\n").unwrap();
    let mut d = detect_with(vec![
        ListConfig { path: a.to_str().unwrap().into(), ..ListConfig::default() },
        ListConfig { path: b.to_str().unwrap().into(), ..ListConfig::default() },
    ]);
    d.intel.max_entries = 3;
    let intel = Intel::start(&d, false).unwrap();
    assert_eq!(intel.entries(), 3);
    let m = intel.matcher();
    let s = m.snapshot();
    assert_eq!((s.lists[0].len(), s.lists[1].len(), s.lists[1].refused), (2, 1, 1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn off_without_lists_or_when_disabled() {
    assert!(Intel::start(&detect_with(Vec::new()), false).is_none());
    let mut d =
        detect_with(vec![ListConfig { path: "/nonexistent".into(), ..ListConfig::default() }]);
    d.intel.enabled = false;
    assert!(Intel::start(&d, false).is_none());
    d.intel.enabled = true;
    // A list whose file is missing starts empty.
    let i = Intel::start(&d, false).unwrap();
    assert_eq!(i.entries(), 0);
}

#[test]
fn enrichment_has_the_ecs_shape() {
    let (d, _) = compiled(
        "# first_seen_utc,dst_ip,malware\n2024-01-17 07:44:46,198.51.100.0/24,Dridex\n",
        Format::Abusech,
        Kind::Auto,
    );
    let meta = d.ip(ip("198.51.100.9")).unwrap();
    let h = Hit { list: &d, meta, field: "destination.ip", atomic: "198.51.100.9".into() };
    let e = h.enrichment(1_705_476_286_000_000_000);
    assert_eq!(
        e,
        json!({
            "indicator": {
                "type": "ipv4-addr", "name": "198.51.100.0/24", "provider": "test",
                "ip": "198.51.100.9", "first_seen": "2024-01-17T07:44:46.000000000Z",
                "description": "Dridex"
            },
            "matched": {
                "atomic": "198.51.100.9", "field": "destination.ip",
                "type": "indicator_match_rule", "occurred": "2024-01-17T07:24:46.000000000Z"
            }
        })
    );
    assert_eq!(
        h.describe(),
        "indicator 198.51.100.0/24 (ip) of threat intel list \"test\" (Dridex; first seen 2024-01-17)"
    );
}

#[test]
fn the_sighup_handler_reloads_everything_and_goes_with_the_run() {
    // Not through `crate::reload::reload_all`: that would run other tests' handlers too.
    let dir = std::env::temp_dir().join(format!("wirebeat-intel-hup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("hup.txt");
    std::fs::write(&a, "203.0.113.1\n").unwrap();
    let d =
        detect_with(vec![ListConfig { path: a.to_str().unwrap().into(), ..ListConfig::default() }]);
    let intel = Intel::start(&d, false).unwrap();
    let weak = Arc::downgrade(&intel.shared);
    // SIGHUP reloads every list, changed or not.
    let r = on_sighup(&weak).unwrap().unwrap();
    assert!(r.starts_with("reloaded hup (") && r.contains("1 entries (ip 1) (was 1)"), "{r}");
    std::fs::write(&a, "203.0.113.1\n203.0.113.9\n").unwrap();
    let r = on_sighup(&weak).unwrap().unwrap();
    assert!(r.contains("2 entries (ip 2) (was 1)"), "{r}");
    assert_eq!(intel.entries(), 2);
    drop(intel);
    assert_eq!(on_sighup(&weak), None, "the run is over: unregister");
    let _ = std::fs::remove_dir_all(&dir);
}
