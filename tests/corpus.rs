//! Every capture of the shared corpus against tshark's ground truth: no panic, the same set of
//! TCP/UDP 5-tuples, and the same packet and byte counts per flow.
//!
//! Known differences are listed per file, with the reason, in `tests/corpus-differences.txt`.
//! The list may only shrink: a listed file that now agrees fails the test until it is removed.
//!
//! The same pass checks the detectors (issue 10): the attack captures listed in
//! `tests/detect-corpus-expected.txt` raise the rules listed there, and no other capture raises
//! any alert unless the pair is listed, with its reason, in `tests/detect-corpus-exceptions.txt`.
//! That file may only shrink: [`MAX_DETECT_EXCEPTIONS`] caps it, and a listed pair that no
//! longer fires fails until it is removed.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Undirected tuple: (proto, (ip, port), (ip, port)) with the smaller endpoint first.
type Tuple = (u8, (String, u16), (String, u16));

fn tuple(proto: u8, a: (String, u16), b: (String, u16)) -> Tuple {
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Count {
    packets: u64,
    bytes: u64,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_owned)
}
fn n(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(|x| x.as_u64())
}

/// Per-flow counts from tshark's per-packet truth (inner tuple for tunnels; fragments attributed
/// to the datagram they complete; unfinished fragment trains have no ports and are left out).
fn truth_counts(capture: &str) -> BTreeMap<Tuple, Count> {
    let mut counts: BTreeMap<Tuple, Count> = BTreeMap::new();
    // Fragments waiting for the frame that completes their datagram: (src, dst, proto).
    let mut held: HashMap<(String, String, u64, Option<u64>), Count> = HashMap::new();
    for p in truth_lines(capture) {
        if p.get("ip_version").is_none_or(Value::is_null) {
            continue;
        }
        let len = n(&p, "len").unwrap_or(0);
        let outer_proto = n(&p, "ip_proto").unwrap_or(0);
        let inner = p.get("inner").filter(|_| !matches!(outer_proto, 1 | 58));
        let layer = inner.unwrap_or(&p);
        let proto = n(layer, "ip_proto").unwrap_or(0);
        let (src, dst) =
            (s(layer, "src_ip").unwrap_or_default(), s(layer, "dst_ip").unwrap_or_default());
        let ports = (n(layer, "src_port"), n(layer, "dst_port"));
        // IPv6 fragments carry their datagram id in the truth; IPv4 ones do not.
        let frag_key = (
            s(&p, "src_ip").unwrap_or_default(),
            s(&p, "dst_ip").unwrap_or_default(),
            outer_proto,
            p.get("frag").and_then(|f| n(f, "id")),
        );
        match ports {
            (Some(sp), Some(dp)) if matches!(proto, 6 | 17) => {
                let mut c = Count { packets: 1, bytes: len };
                if let Some(h) = held.remove(&frag_key) {
                    c.packets += h.packets;
                    c.bytes += h.bytes;
                }
                let e = counts
                    .entry(tuple(proto as u8, (src, sp as u16), (dst, dp as u16)))
                    .or_default();
                e.packets += c.packets;
                e.bytes += c.bytes;
            }
            _ if p.get("frag").is_some() && inner.is_none() => {
                let h = held.entry(frag_key).or_default();
                h.packets += 1;
                h.bytes += len;
            }
            _ => {}
        }
    }
    counts
}

fn wirebeat_counts(events: &[Value]) -> BTreeMap<Tuple, Count> {
    let mut counts: BTreeMap<Tuple, Count> = BTreeMap::new();
    for e in events {
        if get(e, "event.dataset").and_then(Value::as_str) != Some("network_traffic.flow")
            || get(e, "flow.final").and_then(Value::as_bool) != Some(true)
        {
            continue;
        }
        let proto: u8 =
            get(e, "network.iana_number").and_then(Value::as_str).unwrap().parse().unwrap();
        let (Some(sp), Some(dp)) = (get(e, "source.port"), get(e, "destination.port")) else {
            continue;
        };
        if !matches!(proto, 6 | 17) {
            continue;
        }
        let ip = |k: &str| get(e, k).and_then(Value::as_str).unwrap().to_owned();
        let t = tuple(
            proto,
            (ip("source.ip"), sp.as_u64().unwrap() as u16),
            (ip("destination.ip"), dp.as_u64().unwrap() as u16),
        );
        let c = counts.entry(t).or_default();
        c.packets += get(e, "network.packets").and_then(Value::as_u64).unwrap();
        c.bytes += get(e, "network.bytes").and_then(Value::as_u64).unwrap();
    }
    counts
}

const DIFFERENCES: &str = "tests/corpus-differences.txt";

/// Alerts on non-attack corpus captures accepted with a reason; lower this when the file shrinks.
const MAX_DETECT_EXCEPTIONS: usize = 1;
const DETECT_EXPECTED: &str = "tests/detect-corpus-expected.txt";
const DETECT_EXCEPTIONS: &str = "tests/detect-corpus-exceptions.txt";

/// `<capture> <rule.id>  # reason` lines (`#` starts a comment line too).
fn alert_pairs(file: &str) -> BTreeMap<(String, String), String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let (pair, why) = line.split_once('#').unwrap_or((line, ""));
        let mut it = pair.split_whitespace();
        let (Some(cap), Some(rule)) = (it.next(), it.next()) else {
            assert!(
                pair.trim().is_empty(),
                "{file}:{}: expected `<capture> <rule.id>  # reason`",
                i + 1
            );
            continue;
        };
        assert!(why.trim().len() > 10, "{file}:{}: give a reason after `#`", i + 1);
        out.insert((cap.to_owned(), rule.to_owned()), why.trim().to_owned());
    }
    out
}

/// The rule ids of the alert events among `events`.
fn alert_rules(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| is_dataset(e, "wirebeat.alert"))
        .filter_map(|e| get(e, "rule.id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Captures whose header no reader can use: `read` must exit 1 with a clear message.
const UNREADABLE: &[&str] = &[];

#[test]
fn corpus_flows_match_tshark_truth() {
    require_shared!();
    let mut differences = Differences::load(DIFFERENCES);
    let mut compared = 0;
    let expected = alert_pairs(DETECT_EXPECTED);
    let exceptions = alert_pairs(DETECT_EXCEPTIONS);
    let mut fired: BTreeSet<(String, String)> = BTreeSet::new();
    for pcap in corpus_pcaps() {
        let name = capture_name(&pcap);
        let (out, events) = read_capture(&name, &["wirebeat.workers=2"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        if UNREADABLE.contains(&name.as_str()) {
            assert_eq!(code, Some(1), "{name}: unreadable file must exit 1\n{stderr}");
            continue;
        }
        assert_eq!(code, Some(0), "{name}: exit code\n{stderr}");
        fired.extend(alert_rules(&events).into_iter().map(|r| (name.clone(), r)));
        let want = truth_counts(&name);
        let got = wirebeat_counts(&events);
        compared += 1;
        let mut diffs = Vec::new();
        for (t, w) in &want {
            match got.get(t) {
                None => diffs.push(format!("missing {t:?} {w:?}")),
                Some(g) if g != w => diffs.push(format!("{t:?}: truth {w:?}, wirebeat {g:?}")),
                _ => {}
            }
        }
        for t in got.keys().filter(|t| !want.contains_key(*t)) {
            diffs.push(format!("extra {t:?} {:?}", got[t]));
        }
        differences.record(&name, !diffs.is_empty(), || {
            format!(
                "{name}: {} differences, first: {}",
                diffs.len(),
                diffs[..diffs.len().min(3)].join("; ")
            )
        });
    }
    assert!(compared > 250, "only {compared} captures compared");
    differences.check("flows differ");
    check_alerts(&fired, &expected, &exceptions);
}

fn check_alerts(
    fired: &BTreeSet<(String, String)>,
    expected: &BTreeMap<(String, String), String>,
    exceptions: &BTreeMap<(String, String), String>,
) {
    let show = |v: Vec<&(String, String)>| {
        v.iter().map(|(c, r)| format!("{c} {r}")).collect::<Vec<_>>().join("\n")
    };
    let unexpected: Vec<_> = fired
        .iter()
        .filter(|p| !expected.contains_key(*p) && !exceptions.contains_key(*p))
        .collect();
    assert!(
        unexpected.is_empty(),
        "alerts on corpus captures (fix the detector, or list with the reason in \
         {DETECT_EXCEPTIONS}):\n{}",
        show(unexpected)
    );
    let missing: Vec<_> = expected.keys().filter(|p| !fired.contains(*p)).collect();
    assert!(missing.is_empty(), "attack captures that no longer alert:\n{}", show(missing));
    let stale: Vec<_> = exceptions.keys().filter(|p| !fired.contains(*p)).collect();
    assert!(stale.is_empty(), "no longer fire: remove from {DETECT_EXCEPTIONS}:\n{}", show(stale));
    assert!(
        exceptions.len() <= MAX_DETECT_EXCEPTIONS,
        "{DETECT_EXCEPTIONS} may only shrink: {} entries, at most {MAX_DETECT_EXCEPTIONS}",
        exceptions.len()
    );
}

/// The differences file names only corpus captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = corpus_pcaps().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a corpus capture");
    for file in [DETECT_EXPECTED, DETECT_EXCEPTIONS] {
        for (cap, rule) in alert_pairs(file).keys() {
            assert!(names.contains(cap), "{file}: {cap} is not a corpus capture");
            assert!(rule.starts_with("wirebeat-"), "{file}: {rule} is not a wirebeat rule id");
        }
    }
}
