//! The stats endpoint and the counters' reconciliation, end to end.
//!
//! While `wirebeat read` (fed through a FIFO, so the test decides when it pauses) and a live
//! `wirebeat run` (libpcap on the loopback of a network namespace this test creates) are
//! running, `/stats` must report counters that add up — frames received = decoded + dropped by
//! cause + frames still in the pipeline; events built (+ replayed) = final outcomes + queued +
//! in transit − awaiting acknowledgement — computed here from the raw counter tree, not from the
//! endpoint's own `reconcile` section (which must agree). `/metrics` must parse with Python's
//! `prometheus_client` (`SKIPPED` when the module is missing). Over every corpus capture, the
//! counters at the end of a read reconcile with nothing left in the pipeline.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A number at a dotted path of the `/stats` counter tree.
fn n(stats: &Value, path: &str) -> u64 {
    get(&stats["stats"], path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no counter {path} in {stats}"))
}

/// Asserts both identities on one `/stats` answer; returns (frames received, events built).
fn assert_adds_up(stats: &Value, when: &str) -> (u64, u64) {
    assert_eq!(stats["consistent"], true, "{when}: snapshot disturbed: {stats}");
    let received = n(stats, "packets_received");
    let outcomes = [
        "decoded",
        "non_ip",
        "dropped.malformed",
        "dropped.unsupported_linktype",
        "dropped.tunnel_too_deep",
        "dropped.fragment_lost",
        "dropped.channel_full",
        "dropped.unprocessed",
    ];
    let decided: u64 = outcomes.iter().map(|p| n(stats, p)).sum();
    let pending = n(stats, "frames_in_flight") + n(stats, "fragment_frames_pending");
    assert_eq!(
        received,
        decided + pending,
        "{when}: frames received {received} != outcomes {decided} + in the pipeline {pending}: \
         {}",
        stats["stats"]
    );
    let built = n(stats, "events.built") + n(stats, "spool.replayed");
    let settled: u64 = [
        "output.acked",
        "output.rejected",
        "dropped.queue_full",
        "dropped.output_failed",
        "dropped.shutdown",
        "dropped.retries_exhausted",
        "dropped.spool_error",
    ]
    .iter()
    .map(|p| n(stats, p))
    .sum();
    let queued = n(stats, "queue.depth");
    let transit = n(stats, "events.in_transit");
    let awaiting = n(stats, "output.pending_ack");
    assert_eq!(
        built + awaiting,
        settled + queued + transit,
        "{when}: events built {built} + awaiting ack {awaiting} != outcomes {settled} + queued \
         {queued} + in transit {transit}: {}",
        stats["stats"]
    );
    // The endpoint's own reconciliation says the same.
    assert_eq!(stats["reconcile"]["frames"]["balanced"], true, "{when}: {stats}");
    assert_eq!(stats["reconcile"]["events"]["balanced"], true, "{when}: {stats}");
    assert_eq!(stats["reconcile"]["frames"]["received"], received);
    (received, n(stats, "events.built"))
}

/// Fetches `/stats` and `/metrics` from `127.0.0.1:port` with Python (inside `netns` when
/// given) and parses the metrics with `prometheus_client`. `Err`: why it could not run.
const FETCH: &str = r#"
import sys, json, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
stats = json.loads(urllib.request.urlopen(base + "/stats", timeout=10).read())
text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print(json.dumps({"stats": stats, "metrics": "missing"}))
    sys.exit(0)
families = {}
for f in text_string_to_metric_families(text):
    families[f.name] = {"type": f.type,
                        "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps({"stats": stats, "metrics": "ok", "families": families}))
"#;

fn fetch(netns: Option<&str>, port: u16) -> Value {
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "python3"]);
            c
        }
        None => Command::new("python3"),
    };
    let out = c.args(["-c", FETCH, &port.to_string()]).output().expect("python3");
    assert!(out.status.success(), "fetch failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks the `/metrics` families parsed by `prometheus_client` against a `/stats` taken
/// just before; prints SKIPPED when the module is missing.
fn check_metrics(got: &Value) {
    if got["metrics"] == "missing" {
        skipped("Python module prometheus_client not installed (pip install prometheus_client)");
        return;
    }
    let fam = &got["families"];
    let sample = |family: &str, name: &str| -> f64 {
        fam[family]["samples"]
            .as_array()
            .unwrap_or_else(|| panic!("no family {family}"))
            .iter()
            .find(|s| s[0] == name)
            .and_then(|s| s[2].as_f64())
            .unwrap_or_else(|| panic!("no sample {name} in {}", fam[family]))
    };
    assert_eq!(fam["wirebeat_frames_read"]["type"], "counter");
    let read = sample("wirebeat_frames_read", "wirebeat_frames_read_total");
    assert!(read >= got["stats"]["stats"]["packets_received"].as_f64().unwrap());
    assert_eq!(fam["wirebeat_queue_events"]["type"], "gauge");
    assert_eq!(fam["wirebeat_events"]["type"], "counter");
    assert_eq!(fam["wirebeat_alerts"]["type"], "counter");
    let h = &fam["wirebeat_capture_to_ack_seconds"];
    assert_eq!(h["type"], "histogram", "{fam}");
    let samples = h["samples"].as_array().unwrap();
    let inf = samples
        .iter()
        .find(|s| s[0] == "wirebeat_capture_to_ack_seconds_bucket" && s[1]["le"] == "+Inf")
        .expect("+Inf bucket");
    let count = sample("wirebeat_capture_to_ack_seconds", "wirebeat_capture_to_ack_seconds_count");
    assert_eq!(inf[2].as_f64(), Some(count));
    assert!(samples.iter().any(|s| s[0] == "wirebeat_capture_to_ack_seconds_sum"));
    // Buckets are cumulative.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|s| s[0] == "wirebeat_capture_to_ack_seconds_bucket")
        .map(|s| s[2].as_f64().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    for datasets in fam["wirebeat_events"]["samples"].as_array().unwrap() {
        assert!(datasets[1]["dataset"].is_string(), "{datasets}");
    }
}

/// A free TCP port on the loopback (of this namespace).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn have(tool: &str) -> bool {
    Command::new("which").arg(tool).output().is_ok_and(|o| o.status.success())
}

/// pcap file header, Ethernet, microseconds.
fn pcap_header() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b
}

fn record(out: &mut Vec<u8>, ts_us: u64, frame: &[u8]) {
    out.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(frame);
}

/// An Ethernet/IPv4/UDP frame; `frag`: (id, more fragments) of a first fragment.
fn udp_frame(sport: u16, frag: Option<u16>) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total: u16 = 20 + 8 + 32;
    let (id, flags) = match frag {
        Some(id) => (id, 0x20u8), // more fragments, offset 0
        None => (0, 0x40),        // don't fragment
    };
    let mut ip = vec![0x45, 0, (total >> 8) as u8, total as u8];
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&[flags, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2]);
    let sum = ip.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&9999u16.to_be_bytes());
    f.extend_from_slice(&40u16.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.resize(14 + total as usize, 0x5a);
    f
}

/// ARP (not IP) and an IPv4 header cut short (malformed).
fn arp_frame() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.resize(60, 0);
    f
}

fn malformed_frame() -> Vec<u8> {
    vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x4f, 0, 0]
}

/// Frames `from..to` of the read test's stream: mostly UDP on 200 flows, every 50th a first
/// fragment that never completes, every 97th ARP, every 193rd malformed; 10 ms apart.
fn frames(from: u64, to: u64) -> Vec<u8> {
    let mut b = Vec::new();
    for i in from..to {
        let f = if i % 193 == 0 {
            malformed_frame()
        } else if i % 97 == 0 {
            arp_frame()
        } else if i % 50 == 0 {
            udp_frame(30_000, Some(i as u16))
        } else {
            udp_frame(40_000 + (i % 200) as u16, None)
        };
        record(&mut b, 1_700_000_000_000_000 + i * 10_000, &f);
    }
    b
}

/// Polls `/stats` until `ready` holds (20 s at most), asserting the identities every time.
fn poll_until(netns: Option<&str>, port: u16, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let got = fetch(netns, port);
        assert_adds_up(&got["stats"], what);
        if ready(&got["stats"]) {
            return got;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{what}: never ready: {got}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn stats_add_up_during_read_and_metrics_parse() {
    if !have("python3") || !have("mkfifo") {
        skipped("python3 or mkfifo not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.pcap");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let port = free_port();
    let child = wirebeat()
        .args(["read", "--no-progress", "-E", "http.enabled=true"])
        .args(["-E", &format!("http.port={port}"), "-E", "wirebeat.workers=2"])
        .arg(&fifo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    // Three epochs of 8192 frames and a part: the part waits in the reader until more comes.
    const FIRST: u64 = 3 * 8192 + 1000;
    const ALL: u64 = 40_000;
    w.write_all(&pcap_header()).unwrap();
    w.write_all(&frames(0, FIRST)).unwrap();
    w.flush().unwrap();
    let got = poll_until(None, port, "read, paused", |s| {
        n(s, "packets_received") >= 3 * 8192 && n(s, "frames_in_flight") == 0
    });
    let s = &got["stats"];
    // Fragments of the last 30 s of packet time are held, accounted as pending; drops by cause.
    assert!(n(s, "fragment_frames_pending") > 0, "{s}");
    assert!(n(s, "non_ip") > 0 && n(s, "dropped.malformed") > 0, "{s}");
    assert!(n(s, "events.built") > 0, "periodic flow reports were made: {s}");
    check_metrics(&got);
    w.write_all(&frames(FIRST, ALL)).unwrap();
    drop(w);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The summary at the end: every frame has an outcome, every event was written.
    let read = summary_number(&stderr, "read");
    assert_eq!(read, ALL, "{stderr}");
    let decoded = summary_number(&stderr, "decoded");
    let non_ip = summary_number(&stderr, "non_ip");
    let malformed = summary_number(&stderr, "malformed");
    assert_eq!(non_ip, (0..ALL).filter(|i| i % 97 == 0 && i % 193 != 0).count() as u64);
    assert_eq!(malformed, (0..ALL).filter(|i| i % 193 == 0).count() as u64);
    assert_eq!(decoded + non_ip + malformed, read, "{stderr}");
    assert_eq!(summary_number(&stderr, "built"), summary_number(&stderr, "written"), "{stderr}");
}

/// A namespace of this test with its loopback up (MTU 1500 so large datagrams fragment);
/// deleted on drop.
struct Netns(String);

impl Netns {
    fn create() -> Result<Netns, String> {
        let uid = Command::new("id").arg("-u").output().map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root".into());
        }
        if !have("ip") || !have("python3") {
            return Err("`ip` or python3 not found".into());
        }
        let name = format!("wbstats-{}", std::process::id());
        let ok = |args: &[&str]| Command::new("ip").args(args).status().is_ok_and(|s| s.success());
        if !ok(&["netns", "add", &name]) {
            return Err(format!("cannot create network namespace {name}"));
        }
        let ns = Netns(name);
        if !ok(&["-n", &ns.0, "link", "set", "lo", "mtu", "1500", "up"]) {
            return Err("cannot bring up the namespace's loopback".into());
        }
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Sends UDP datagrams inside `ns` on its loopback: `count` of 100 bytes and `count / 10` of
/// 4000 bytes (fragmented at MTU 1500).
fn udp_traffic(ns: &str, count: u32) {
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         for i in range({count}):\n    s.sendto(b'x' * 100, ('127.0.0.1', 9000 + i % 50))\n\
         \x20   if i % 10 == 0: s.sendto(b'y' * 4000, ('127.0.0.1', 8999))\n"
    );
    let st = Command::new("ip").args(["netns", "exec", ns, "python3", "-c", &script]).status();
    assert!(st.unwrap().success());
}

#[test]
fn stats_add_up_during_a_live_run_and_metrics_parse() {
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(why) => {
            skipped(&why);
            return;
        }
    };
    let port = 5066;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_wirebeat")])
        .env("WIREBEAT_AGENT_ID", "00000000-0000-5000-8000-000000000000")
        .env("WIREBEAT_ALL_COUNTERS", "1")
        .env_remove("WIREBEAT_LOG")
        .args(["run", "-i", "lo", "-E", "http.enabled=true", "-E", "wirebeat.workers=2"])
        .args(["-E", "output.console.enabled=false", "-E", "output.file.enabled=true"])
        .args(["-E", &format!("output.file.path={}", dir.path().display())])
        .args(["-E", "wirebeat.health_period=1s", "-E", "wirebeat.flows.period=1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let mut child = KillOnDrop(Some(child));
    // Up when the endpoint answers.
    let start = Instant::now();
    let first = loop {
        let probe = Command::new("ip")
            .args(["netns", "exec", &ns.0, "python3", "-c"])
            .arg(format!(
                "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/stats', \
                 timeout=2)"
            ))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        if probe.success() {
            break fetch(Some(&ns.0), port);
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the stats endpoint never answered");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_adds_up(&first["stats"], "run, at start");
    udp_traffic(&ns.0, 3000);
    let got = poll_until(Some(&ns.0), port, "run, after traffic", |s| {
        // (Received frames may still sit in the workers' channels on a loaded machine: wait
        // for the reassembled datagrams too.)
        n(s, "packets_received") >= 3000
            && n(s, "reassembled") > 0
            && n(s, "output.acked") > 0
            && s["latency_seconds"]["count"].as_u64().unwrap() > 0
    });
    check_metrics(&got);
    let s = &got["stats"];
    assert!(n(s, "reassembled") > 0, "fragmented datagrams reassembled: {s}");
    // Capture-to-acknowledgement latency of events still in memory: well under a minute here.
    let lat = &s["latency_seconds"];
    let sum = lat["sum"].as_f64().unwrap();
    assert!(sum / lat["count"].as_f64().unwrap() < 60.0, "{lat}");
    assert!(
        got["stats"]["events_by_dataset"]["wirebeat.health"].as_u64().unwrap_or(0) > 0,
        "health events counted by dataset: {}",
        got["stats"]["events_by_dataset"]
    );
    // More traffic while polling: every answer adds up.
    let traffic = {
        let ns = ns.0.clone();
        std::thread::spawn(move || udp_traffic(&ns, 5000))
    };
    for i in 0..10 {
        assert_adds_up(&fetch(Some(&ns.0), port)["stats"], &format!("run, under load #{i}"));
    }
    traffic.join().unwrap();
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let out = child.0.take().unwrap().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let read = summary_number(&stderr, "read");
    let outcomes: u64 = ["decoded", "non_ip", "malformed", "unsupported_linktype"]
        .iter()
        .chain(&["tunnel_too_deep", "fragment_lost", "channel_full", "unprocessed"])
        .map(|k| summary_number(&stderr, k))
        .sum();
    assert_eq!(read, outcomes, "{stderr}");
    assert!(read >= 8000, "{stderr}");
    assert_eq!(summary_number(&stderr, "built"), summary_number(&stderr, "written"), "{stderr}");
}

/// Kills the child if the test fails before it ends it.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every corpus capture read in-process: at the end nothing is left in the pipeline and both
/// identities hold, with every frame's outcome named.
#[test]
fn counters_reconcile_over_every_corpus_capture() {
    require_shared!();
    let out_dir = tempfile::tempdir().unwrap();
    let overrides: Vec<String> = [
        "output.console.enabled=false".to_owned(),
        "output.file.enabled=true".to_owned(),
        format!("output.file.path={}", out_dir.path().display()),
        "wirebeat.workers=2".to_owned(),
    ]
    .into();
    let cfg = wirebeat::config::load(None, &overrides).unwrap();
    let mut checked = 0;
    let mut total = 0;
    for pcap in corpus_pcaps() {
        let stop = wirebeat::shutdown::Shutdown::new();
        let files: Vec<PathBuf> = vec![pcap.clone()];
        let Ok(out) = wirebeat::pipeline::read::read(&cfg, &files, false, &stop, &mut |_| {})
        else {
            continue;
        };
        let s = out.counters.snapshot_consistent();
        let name = capture_name(&pcap);
        assert!(s.consistent, "{name}");
        let f = s.frames();
        assert!(f.balanced(), "{name}: {f:?}");
        assert!(f.in_pipeline.iter().all(|(_, v)| *v == 0), "{name}: left over {f:?}");
        let e = s.events();
        assert!(e.balanced(), "{name}: {e:?}");
        assert_eq!((e.queued, e.in_transit, e.pending_ack), (0, 0, 0), "{name}: {e:?}");
        // And the tree the endpoint serves says the same.
        assert_adds_up(&s.to_json(), &name);
        total += f.received;
        checked += 1;
    }
    eprintln!("counters reconcile over {checked} captures ({total} frames)");
    assert!(checked > 100, "only {checked} captures read");
}
