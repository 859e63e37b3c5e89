//! Golden files: the whole NDJSON output of `wirebeat read` for chosen corpus captures is
//! compared with the committed `tests/golden/<capture>.ndjson`. Times come from packets and
//! `agent.id` is fixed; the fields that depend on the machine (host name, `host.*`, version) are
//! masked.
//!
//! `UPDATE_GOLDEN=1 cargo test --test golden` re-blesses the files after a deliberate change.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CAPTURES: &[&str] = &[
    "zeek-wikipedia.pcap",
    "zeek-http-pipelined-requests.pcap",
    "zeek-tls-chrome-34-google.pcap",
    "zeek-dhcp-dhcp.pcap",
    "sv-detect-itype-prefilter-icmpv4-ping.pcap",
    "zeek-tunnels-vxlan-encapsulated-http.pcap",
    "tcpdump-dns_tcp.pcap",
    "zeek-ipv6-fragmented-dns.pcap",
    "zeek-vlan-collisions.pcap",
    "zeek-mysql-mysql.pcap",
    "amqp/rabbitmq.pcap",
    "thrift/compact-framed.pcap",
    "zeek-postgresql-psql-insert-fail-drop-fail.pcap",
    "mongodb/mongodb.pcap",
    "cassandra/cassandra.pcap",
    "zeek-redis-pubsub.pcap",
    "memcache/memcache-tcp.pcap",
    "sv-nfs4-01.pcap",
    "sv-sip-sdp.pcap",
    "sv-krb5-request-frag-log-krb5-frag.pcap",
    "zeek-ssh-ssh_kex_curve25519.pcap",
    "zeek-tls-smtp-starttls.pcap",
    "zeek-pop3-pop3.pcap",
    "sv-tcp-async-01.pcap",
    "sv-quic-frag-unordered.pcap",
    "zeek-rdp-rdp-to-ssl.pcap",
    "zeek-ftp-ipv4.pcap",
    "sv-smb2-named-pipe-unicode.pcap",
];

/// Ports of the committed fixtures' servers, added to the defaults.
const FIXTURE_PORTS: &str = "wirebeat.protocols.memcache.ports=[11211,11311]";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Replaces the values that depend on the machine or the build.
fn normalize(mut v: Value) -> Value {
    // The sensor's host (`wirebeat.host_metadata`): names, addresses, OS of this machine.
    if let Some(host) = v.get_mut("host") {
        *host = Value::String("<masked>".into());
    }
    for path in
        ["observer.hostname", "observer.name", "observer.version", "agent.name", "agent.version"]
    {
        let mut cur = &mut v;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, p) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                if let Some(obj) = cur.as_object_mut() {
                    if obj.contains_key(*p) {
                        obj.insert((*p).to_owned(), Value::String("<masked>".into()));
                    }
                }
            } else {
                match cur.get_mut(*p) {
                    Some(next) => cur = next,
                    None => break,
                }
            }
        }
    }
    v
}

fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&p, x, out);
            }
        }
        _ => out.push((prefix.to_owned(), v.to_string())),
    }
}

/// A readable account of how two documents differ: one line per differing field.
fn field_diff(want: &Value, got: &Value) -> Vec<String> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    leaves("", want, &mut a);
    leaves("", got, &mut b);
    let a: std::collections::BTreeMap<_, _> = a.into_iter().collect();
    let b: std::collections::BTreeMap<_, _> = b.into_iter().collect();
    let mut out = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => out.push(format!("  - {k}: {v}")),
            Some(w) if w != v => out.push(format!("  ~ {k}: {v} -> {w}")),
            _ => {}
        }
    }
    for (k, v) in &b {
        if !a.contains_key(k) {
            out.push(format!("  + {k}: {v}"));
        }
    }
    out
}

#[test]
fn whole_output_matches_golden_files() {
    require_shared!();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    std::fs::create_dir_all(golden_dir()).unwrap();
    let mut failures = Vec::new();
    for name in CAPTURES {
        // A name with a folder is a fixture under tests/data, else a corpus capture.
        let pcap = if name.contains('/') {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
        } else {
            corpus().join("pcaps").join(name)
        };
        let (out, events) = read(&[&pcap], &["wirebeat.workers=2", FIXTURE_PORTS]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let got: Vec<Value> = events.into_iter().map(normalize).collect();
        let path = golden_dir().join(format!("{}.ndjson", name.replace('/', "-")));
        if update {
            let text: String = got.iter().map(|v| format!("{v}\n")).collect();
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let want: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut report = Vec::new();
        if want.len() != got.len() {
            report.push(format!("  {} events expected, {} written", want.len(), got.len()));
        }
        for (i, (w, g)) in want.iter().zip(got.iter()).enumerate() {
            let d = field_diff(w, g);
            if !d.is_empty() {
                report.push(format!(" event {} ({}):", i + 1, w["event"]["dataset"]));
                report.extend(d.into_iter().take(20));
            }
            if report.len() > 60 {
                break;
            }
        }
        if !report.is_empty() {
            failures.push(format!("{name}:\n{}", report.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "output differs from tests/golden (UPDATE_GOLDEN=1 re-blesses after a deliberate change):\n{}",
        failures.join("\n")
    );
}
