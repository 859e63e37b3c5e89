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
    let mut out = Vec::new();
    for p in truth_lines(capture) {
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
    for e in of_dataset(events, "network_traffic.http") {
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

const DIFFERENCES: &str = "tests/http-differences.txt";

/// Reasons starting with this mark captures whose only differences are messages outside
/// wirebeat's scope (SSDP over UDP, packets quoted in ICMP errors or sampled by sFlow); their
/// TCP messages must still match exactly.
const OUT_OF_SCOPE: &str = "out of scope:";

#[test]
fn http_matches_tshark_truth() {
    require_shared!();
    let mut differences = Differences::load(DIFFERENCES);
    let captures = captures_with_app("http");
    assert!(captures.len() >= 40, "only {} HTTP captures", captures.len());
    let (mut total_want, mut total_missing, mut total_out) = (0, 0, 0);
    for name in &captures {
        let events = read_capture_ok(name, &["wirebeat.workers=2"]);
        let all = truth(name);
        let outside = all.iter().filter(|(_, s)| *s != Scope::Tcp).count();
        let want = multiset(all.into_iter().filter(|(_, s)| *s == Scope::Tcp).map(|(m, _)| m));
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = multiset_diff(&want, &got);
        total_want += want.values().sum::<u64>();
        total_missing += missing.iter().map(|(n, _)| n).sum::<u64>();
        total_out += outside;
        let differs = !missing.is_empty() || !extra.is_empty();
        if std::env::var_os("HTTP_DIFF_VERBOSE").is_some() && differs {
            eprintln!("{name}:\n  missing {missing:#?}\n  extra {extra:#?}");
        }
        let reason = differences.known.get(name).map(String::as_str);
        let listed_out_of_scope = reason.is_some_and(|r| r.starts_with(OUT_OF_SCOPE));
        if differs && (reason.is_none() || listed_out_of_scope) {
            differences.unexpected.push(format!(
                "{name}: {} missing, {} extra; first missing: {:?}; first extra: {:?}",
                missing.len(),
                extra.len(),
                missing.first().map(|(_, m)| m),
                extra.first().map(|(_, m)| m),
            ));
        } else if !differs && outside > 0 && !listed_out_of_scope {
            differences.unexpected.push(format!(
                "{name}: {outside} tshark messages outside wirebeat's scope (SSDP, ICMP quotes, \
                 sFlow): list it with a reason starting with {OUT_OF_SCOPE:?}"
            ));
        } else if reason.is_some() && !differs && (outside == 0 || !listed_out_of_scope) {
            differences.fixed.push(name.clone());
        }
    }
    eprintln!(
        "{} captures: tshark TCP messages {total_want}, found in wirebeat {}; \
         {total_out} messages outside wirebeat's scope",
        captures.len(),
        total_want - total_missing
    );
    differences.check("HTTP differs");
}

/// The differences file names only HTTP captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    Differences::load(DIFFERENCES)
        .check_well_formed(&captures_with_app("http"), "a corpus capture with HTTP");
}
