//! PostgreSQL against tshark: for every corpus capture with PostgreSQL traffic (by name) and
//! every committed fixture (`tests/data/pgsql/*.pcap`), tshark is run at test time (`-T ek`)
//! and each message it decodes that wirebeat reports is compared, as multisets per capture:
//! the SQL text of a simple Query or a Parse, the tag of a CommandComplete, the SQLSTATE of an
//! ErrorResponse. wirebeat reports them as `network_traffic.pgsql.query` (once per `Query` or
//! `Parse` in `request_messages`), `command_tag` and `error_code`.
//!
//! Known differences are listed per capture, with the reason, in `tests/pgsql-differences.txt`;
//! the list may only shrink. Without tshark the test prints a SKIPPED line.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Query(String),
    Tag(String),
    Error(String),
}

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

/// The PostgreSQL captures: corpus files named for it, then the fixtures.
fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = corpus_pcaps()
        .into_iter()
        .filter(|p| {
            let n = capture_name(p).to_ascii_lowercase();
            n.contains("pgsql") || n.contains("postgres")
        })
        .collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pgsql");
    let mut f: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    f.retain(|p| p.extension().is_some_and(|x| x == "pcap"));
    f.sort();
    v.extend(f);
    v
}

fn truth(pcap: &Path) -> Vec<Msg> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-d", "tcp.port==54329,pgsql", "-Y", "pgsql", "-T", "ek"])
        .output()
        .expect("run tshark");
    let mut msgs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        let Some(layer) = v.get("layers").and_then(|l| l.get("pgsql")) else { continue };
        let items: Vec<&Value> = match layer {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for m in items {
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
            match s("pgsql_pgsql_type").as_deref() {
                Some("Simple query" | "Parse") => {
                    msgs.push(Msg::Query(s("pgsql_pgsql_query").unwrap_or_default()))
                }
                Some("Command completion") => {
                    msgs.push(Msg::Tag(s("pgsql_pgsql_tag").unwrap_or_default()))
                }
                Some("Error") => msgs.push(Msg::Error(s("pgsql_pgsql_code").unwrap_or_default())),
                _ => {}
            }
        }
    }
    msgs
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.pgsql") {
        let p = get(e, "network_traffic.pgsql").unwrap();
        let query = p.get("query").and_then(Value::as_str).unwrap_or_default();
        for r in p.get("request_messages").and_then(Value::as_array).into_iter().flatten() {
            if matches!(r.as_str(), Some("Query" | "Parse")) {
                out.push(Msg::Query(query.to_owned()));
            }
        }
        for t in p.get("command_tag").and_then(Value::as_array).into_iter().flatten() {
            out.push(Msg::Tag(t.as_str().unwrap().to_owned()));
        }
        if let Some(c) = p.get("error_code").and_then(Value::as_str) {
            out.push(Msg::Error(c.to_owned()));
        }
    }
    out
}

const DIFFERENCES: &str = "tests/pgsql-differences.txt";

#[test]
fn pgsql_matches_tshark() {
    require_shared!();
    if !tshark_present() {
        skipped("tshark not found");
        return;
    }
    let mut differences = Differences::load(DIFFERENCES);
    let captures = captures();
    assert!(captures.len() >= 14, "only {} PostgreSQL captures", captures.len());
    let (mut total, mut matched, mut events_total) = (0u64, 0u64, 0usize);
    for pcap in &captures {
        let name = capture_name(pcap);
        let (out, events) = read(&[pcap], &["wirebeat.protocols.pgsql.ports=[5432,54329]"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        assert_eq!(out.status.code(), Some(0), "{name}: exit code\n{stderr}");
        events_total += of_dataset(&events, "network_traffic.pgsql").len();
        let want = multiset(truth(pcap));
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = multiset_diff(&want, &got);
        let n: u64 = want.values().sum();
        total += n;
        matched += n - missing.iter().map(|(k, _)| k).sum::<u64>();
        let mut lines: Vec<String> =
            missing.iter().map(|(k, m)| format!("missing {k}x {m:?}")).collect();
        lines.extend(extra.iter().map(|(k, m)| format!("extra {k}x {m:?}")));
        differences.record_lines(&name, &lines, 3);
    }
    eprintln!(
        "{} captures: tshark messages {total}, matched by wirebeat {matched}; {events_total} \
         wirebeat pgsql events",
        captures.len()
    );
    assert!(total >= 100, "only {total} tshark messages");
    differences.check("PostgreSQL differs");
}

/// The differences file names only PostgreSQL captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a PostgreSQL capture");
}

/// Elastic's rule `execution_postgresql_copy_program_command` selects
/// `network_traffic.pgsql.query` matching `*COPY*` and `*PROGRAM*`: the fixture's
/// `COPY … TO PROGRAM` is one such event, from the login's user, and the other queries are not.
#[test]
fn copy_program_is_visible_to_the_prebuilt_rule() {
    let pcap =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pgsql/pgsql-scram-session.pcap");
    let (out, events) = read(&[&pcap], &["wirebeat.protocols.pgsql.ports=[5432,54329]"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hits: Vec<&Value> = of_dataset(&events, "network_traffic.pgsql")
        .into_iter()
        .filter(|e| {
            let q = get(e, "network_traffic.pgsql.query").and_then(Value::as_str).unwrap_or("");
            q.contains("COPY") && q.contains("PROGRAM")
        })
        .collect();
    assert_eq!(hits.len(), 1, "one COPY … TO PROGRAM");
    let e = hits[0];
    assert_eq!(get(e, "method").and_then(Value::as_str), Some("COPY"));
    assert_eq!(get(e, "user.name").and_then(Value::as_str), Some("postgres"));
    assert_eq!(
        get(e, "network_traffic.pgsql.command_tag").and_then(|v| v.get(0)).and_then(Value::as_str),
        Some("COPY 1")
    );
}

/// The refused md5/SCRAM logins of the fixture (ErrorResponse 28P01) reach the brute-force
/// detector as parser-seen failures: with `min_failures` lowered to 3, one failed-logins alert
/// counting the 4 refusals and the 1 success; with the default 20, none.
#[test]
fn refused_logins_feed_brute_force_detection() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pgsql/pgsql-md5-logins.pcap");
    let ports = "wirebeat.protocols.pgsql.ports=[5432,54329]";
    let mut c = wirebeat();
    c.args(["read", "--no-progress", "--alerts-only", "-E", ports]);
    c.args(["-E", "wirebeat.detect.brute_force.thresholds.min_failures=3"]).arg(&pcap);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let a = one_alert(&alerts, "wirebeat-brute_force-failed-logins");
    assert_eq!(alert_fact(a, "failed"), 4);
    assert_eq!(alert_fact(a, "succeeded"), 1);
    assert_eq!(a["wirebeat"]["alert"]["facts"]["protocol"], "pgsql");

    let (out, events) = read(&[&pcap], &[ports, "wirebeat.detect.enabled=true"]);
    assert!(out.status.success());
    assert!(events.iter().all(|e| !is_dataset(e, "wirebeat.alert")), "4 < 20 failures");
    let refused = of_dataset(&events, "network_traffic.pgsql")
        .into_iter()
        .filter(|e| get(e, "error.code").and_then(Value::as_str) == Some("28P01"))
        .count();
    assert_eq!(refused, 4);
}
