//! HTTP transactions against tshark's truth: for every corpus capture where tshark saw HTTP,
//! every request (method, Host, URI, User-Agent) and every response status tshark reported must
//! be in wirebeat's `network_traffic.http` events, compared as multisets per capture. A
//! request+response pair in one event covers both tshark messages; interim 1xx responses count
//! through `http.response.interim_status_codes`. wirebeat messages tshark did not report are
//! differences too.
//!
//! Known differences are listed per capture, with the reason, in `tests/http-differences.txt`.
//! The list may only shrink: a listed capture that now agrees fails the test.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (method, host, uri, user agent) of a request, or the status of a response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Request { method: String, host: Option<String>, uri: String, user_agent: Option<String> },
    Response(u64),
}

fn strs(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// Where tshark found a message. Only `Tcp` is wirebeat's job: SSDP is HTTP over UDP
/// (HTTPU), the others are copies of packets (quoted in an ICMP error, sampled by sFlow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Tcp,
    Ssdp,
    IcmpQuote,
    Sflow,
}

fn scope(protocols: &str) -> Scope {
    let layers: Vec<&str> = protocols.split(':').collect();
    if layers.contains(&"ssdp") {
        Scope::Ssdp
    } else if layers.contains(&"icmp") || layers.contains(&"icmpv6") {
        Scope::IcmpQuote
    } else if layers.contains(&"sflow") {
        Scope::Sflow
    } else {
        Scope::Tcp
    }
}

/// tshark's HTTP messages of a capture with where it found them.
fn truth(capture: &str) -> Vec<(Msg, Scope)> {
    let path = shared().join("corpus/truth").join(format!("{capture}.jsonl"));
    let text = std::fs::read_to_string(path).expect("truth file");
    let mut out = Vec::new();
    for line in text.lines() {
        let p: Value = serde_json::from_str(line).unwrap();
        let Some(h) = p.get("http") else { continue };
        let sc = scope(p.get("protocols").and_then(Value::as_str).unwrap_or_default());
        let (methods, uris) = (strs(h, "method"), strs(h, "uri"));
        let (hosts, agents) = (strs(h, "host"), strs(h, "user_agent"));
        // One request per frame is the rule; with several, fields are matched by position
        // only when every request has them.
        let pick = |v: &Vec<String>, i: usize| {
            if v.len() == methods.len() {
                v.get(i).cloned()
            } else {
                None
            }
        };
        for (i, m) in methods.iter().enumerate() {
            let msg = Msg::Request {
                method: m.clone(),
                host: pick(&hosts, i),
                uri: uris.get(i).cloned().unwrap_or_default(),
                user_agent: pick(&agents, i),
            };
            out.push((msg, sc));
        }
        for st in h.get("status").and_then(Value::as_array).into_iter().flatten() {
            out.push((Msg::Response(st.as_u64().unwrap_or(0)), sc));
        }
    }
    out
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    let s = |e: &Value, k: &str| get(e, k).and_then(Value::as_str).map(str::to_owned);
    for e in events {
        if get(e, "event.dataset").and_then(Value::as_str) != Some("network_traffic.http") {
            continue;
        }
        if let Some(method) = s(e, "http.request.method") {
            out.push(Msg::Request {
                method,
                host: get(e, "http.request.headers")
                    .and_then(|h| h.get("host"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                uri: s(e, "url.original").unwrap_or_default(),
                user_agent: s(e, "user_agent.original"),
            });
        }
        for c in get(e, "http.response.interim_status_codes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(Msg::Response(c.as_u64().unwrap()));
        }
        if let Some(c) = get(e, "http.response.status_code").and_then(Value::as_u64) {
            out.push(Msg::Response(c));
        }
    }
    out
}

fn multiset(v: Vec<Msg>) -> BTreeMap<Msg, usize> {
    let mut m = BTreeMap::new();
    for x in v {
        *m.entry(x).or_default() += 1;
    }
    m
}

type Diff = Vec<(usize, Msg)>;

/// (missing in wirebeat, extra in wirebeat), with counts.
fn diff(want: &BTreeMap<Msg, usize>, got: &BTreeMap<Msg, usize>) -> (Diff, Diff) {
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for (m, n) in want {
        let g = got.get(m).copied().unwrap_or(0);
        if g < *n {
            missing.push((n - g, m.clone()));
        }
    }
    for (m, n) in got {
        let w = want.get(m).copied().unwrap_or(0);
        if w < *n {
            extra.push((n - w, m.clone()));
        }
    }
    (missing, extra)
}

fn known_differences() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http-differences.txt"),
    )
    .expect("tests/http-differences.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (f, why) = l.split_once('\t').unwrap_or((l, ""));
            (f.trim().to_owned(), why.trim().to_owned())
        })
        .collect()
}

fn http_captures() -> Vec<String> {
    let mut v = Vec::new();
    for pcap in corpus_pcaps() {
        let name = pcap.file_name().unwrap().to_str().unwrap().to_owned();
        let summary = shared().join("corpus/truth").join(format!("{name}.summary.json"));
        let Ok(text) = std::fs::read_to_string(summary) else { continue };
        let s: Value = serde_json::from_str(&text).unwrap();
        if get(&s, "app_counts.http").and_then(Value::as_u64).unwrap_or(0) > 0 {
            v.push(name);
        }
    }
    v
}

/// Reasons starting with this mark captures whose only differences are messages outside
/// wirebeat's scope (SSDP over UDP, packets quoted in ICMP errors or sampled by sFlow); their
/// TCP messages must still match exactly.
const OUT_OF_SCOPE: &str = "out of scope:";

#[test]
fn http_matches_tshark_truth() {
    let known = known_differences();
    let captures = http_captures();
    assert!(captures.len() >= 40, "only {} HTTP captures", captures.len());
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let (mut total_want, mut total_missing, mut total_out) = (0, 0, 0);
    for name in &captures {
        let pcap = shared().join("corpus/pcaps").join(name);
        let (out, events) = read(&[&pcap], &["wirebeat.workers=2"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        assert_eq!(out.status.code(), Some(0), "{name}: exit code\n{stderr}");
        let all = truth(name);
        let outside = all.iter().filter(|(_, s)| *s != Scope::Tcp).count();
        let want =
            multiset(all.into_iter().filter(|(_, s)| *s == Scope::Tcp).map(|(m, _)| m).collect());
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = diff(&want, &got);
        total_want += want.values().sum::<usize>();
        total_missing += missing.iter().map(|(n, _)| n).sum::<usize>();
        total_out += outside;
        let differs = !missing.is_empty() || !extra.is_empty();
        if std::env::var_os("HTTP_DIFF_VERBOSE").is_some() && differs {
            eprintln!("{name}:\n  missing {missing:#?}\n  extra {extra:#?}");
        }
        let reason = known.get(name).map(String::as_str);
        let listed_out_of_scope = reason.is_some_and(|r| r.starts_with(OUT_OF_SCOPE));
        if differs && (reason.is_none() || listed_out_of_scope) {
            unexpected.push(format!(
                "{name}: {} missing, {} extra; first missing: {:?}; first extra: {:?}",
                missing.len(),
                extra.len(),
                missing.first().map(|(_, m)| m),
                extra.first().map(|(_, m)| m),
            ));
        } else if !differs && outside > 0 && !listed_out_of_scope {
            unexpected.push(format!(
                "{name}: {outside} tshark messages outside wirebeat's scope (SSDP, ICMP quotes, \
                 sFlow): list it with a reason starting with {OUT_OF_SCOPE:?}"
            ));
        } else if reason.is_some() && !differs && (outside == 0 || !listed_out_of_scope) {
            fixed.push(name.clone());
        }
    }
    eprintln!(
        "{} captures: tshark TCP messages {total_want}, found in wirebeat {}; \
         {total_out} messages outside wirebeat's scope",
        captures.len(),
        total_want - total_missing
    );
    assert!(
        unexpected.is_empty(),
        "HTTP differs from tshark (fix, or list in tests/http-differences.txt with the reason):\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these captures now agree: remove them from tests/http-differences.txt:\n{}",
        fixed.join("\n")
    );
}

/// The differences file names only HTTP captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    let names: BTreeSet<String> = http_captures().into_iter().collect();
    for (f, why) in known_differences() {
        assert!(names.contains(&f), "{f} is not a corpus capture with HTTP");
        assert!(why.len() > 10, "{f}: give a reason");
    }
}
