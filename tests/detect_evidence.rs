//! `wirebeat.detect.evidence`, `wirebeat.detect.alerts_only` and the alert counts by rule, end
//! to end through the real pipeline (workers, queue thread, output) with a test detector
//! registered through `PipelineSettings::detectors` (the sensor's own detectors are tested in
//! their own files): a generated SYN scan among other traffic must leave a pcap that holds the
//! scan's packets — every one, byte for byte, and nothing else.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;
use common::traffic::*;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wirebeat::detect::{alert, obs, Alert, Detector, Endpoint, Mitre, PacketObs, Rule, Severity};
use wirebeat::ecs::EncodedEvent;
use wirebeat::pipeline::{context, Drain, Pipeline, PipelineSettings};
use wirebeat::sink::{Outcome, Output, OutputError};
use wirebeat::stats::Counters;

static PROBES: Rule = Rule {
    id: "wirebeat-test-probes",
    name: "Test SYN probes",
    action: "test",
    description: "A source sent SYNs to many ports of one host.",
    category: "Test",
    version: "1",
    reference: "https://example.invalid/",
    tactic: alert::TACTIC_DISCOVERY,
    technique: Mitre { id: "T1046", name: "Network Service Discovery" },
    subtechnique: None,
};

/// Alerts once per (source, target) on the `ports`-th distinct port probed with a bare SYN.
struct Probes {
    ports: usize,
    seen: std::collections::HashMap<(IpAddr, IpAddr), (i64, BTreeSet<u16>)>,
}

impl Detector for Probes {
    fn name(&self) -> &'static str {
        "test"
    }
    fn packet(&mut self, p: &PacketObs, alerts: &mut Vec<Alert>) {
        if p.proto != obs::PROTO_TCP || p.tcp_flags != SYN {
            return;
        }
        let (first, ports) = self.seen.entry((p.src, p.dst)).or_insert((p.ts_ns, BTreeSet::new()));
        if ports.insert(p.dport) && ports.len() == self.ports {
            alerts.push(
                Alert::new(&PROBES, Severity::Medium, *first, p.ts_ns)
                    .source(Endpoint::ip(p.src))
                    .destination(Endpoint::ip(p.dst))
                    .transport("tcp")
                    .fact("ports", ports.len() as u64)
                    .message(format!("{} probed {} ports of {}", p.src, ports.len(), p.dst)),
            );
        }
    }
}

/// Keeps every event it is given.
struct Keep(Arc<Mutex<Vec<serde_json::Value>>>);

impl Output for Keep {
    fn name(&self) -> &'static str {
        "keep"
    }
    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        let mut v = self.0.lock().unwrap();
        v.extend(batch.iter().map(|e| serde_json::from_slice(&e.json).unwrap()));
        Ok(vec![Outcome::Delivered; batch.len()])
    }
    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

struct Run {
    events: Vec<serde_json::Value>,
    counters: Arc<Counters>,
}

/// The pipeline over `pcap` with the test detector (alert on the 20th port).
fn run(pcap: &Path, overrides: &[String]) -> Run {
    run_in(pcap, overrides, true)
}

/// `ordered: false` is live capture's mode (events as they come, the engine ticked per part).
fn run_in(pcap: &Path, overrides: &[String], ordered: bool) -> Run {
    let cfg = wirebeat::config::load(None, overrides).unwrap();
    let counters = Arc::new(Counters::default());
    let queue = Arc::new(wirebeat::queue::Queue::open(&cfg.queue, counters.clone()).unwrap());
    let mut settings = PipelineSettings::from_settings(&cfg, ordered);
    settings.detectors = Some(Arc::new(|| {
        vec![Box::new(Probes { ports: 20, seen: Default::default() }) as Box<dyn Detector>]
    }));
    let kept = Arc::new(Mutex::new(Vec::new()));
    let mut p = Pipeline::start(
        settings,
        context(&cfg),
        Box::new(Keep(kept.clone())),
        queue,
        counters.clone(),
        Drain::default(),
    );
    let mut f = wirebeat::capture::file::CaptureFile::open(pcap).unwrap();
    while let Some(fr) = f.next_frame().unwrap() {
        p.push(fr.ts_ns, fr.wire_len, fr.linktype, fr.data);
    }
    let result = p.finish();
    let events = std::mem::take(&mut *kept.lock().unwrap());
    assert!(result.output_error.is_none(), "{:?}", result.output_error);
    Run { events, counters }
}

const SCANNER: &str = "10.0.0.5";
const TARGET: &str = "10.0.0.9";

/// Background UDP between other hosts, 100 µs apart.
fn background(g: &mut Gen, n: usize) {
    for i in 0..n {
        let a = ip(&format!("10.9.{}.{}", (i / 200) % 200, i % 200 + 1));
        g.udp(a, 5000, ip("10.9.255.1"), 7000, b"background").advance(100_000);
    }
}

/// A packet of the pair before the scan, 30 probes answered by RST (`middle` background
/// datagrams after the 20th: the alert's probe and the last ten are epochs apart), traffic of
/// the scanner and of the target with others during the scan, and a late probe after the
/// follow window. Returns the capture and the frames the evidence must hold, in order.
fn scan_capture(dir: &Path, middle: usize) -> (PathBuf, Vec<Vec<u8>>) {
    let (s, t) = (ip(SCANNER), ip(TARGET));
    let mut g = Gen::new(1_700_000_000);
    g.udp(s, 999, t, 999, b"before the window").advance(S);
    let mut want = Vec::new();
    for port in 1..=30u16 {
        if port == 21 {
            background(&mut g, middle);
        }
        let from = g.len();
        g.tcp(s, 40000, t, port, SYN, 1, 0, &[]).advance(MS);
        g.tcp(t, port, s, 40000, RST | ACK, 0, 2, &[]).advance(MS);
        want.push(from);
        want.push(from + 1);
        // Others talking to both ends: not evidence of this alert.
        g.udp(s, 53000, ip("10.0.0.77"), 53, b"scanner elsewhere").advance(MS);
        g.udp(ip("10.0.0.50"), 123, t, 123, b"target elsewhere").advance(MS);
    }
    // 30 s later: past the alert's end plus `follow` (10 s).
    g.advance(30 * S).tcp(s, 40000, t, 31, SYN, 1, 0, &[]);
    let pcap = dir.join("scan.pcap");
    g.write(&pcap);
    let frames = frames_of(&pcap);
    (pcap, want.into_iter().map(|i| frames[i].1.clone()).collect())
}

/// (timestamp ns, bytes) of every frame of a pcap, read with libpcap.
fn frames_of(path: &Path) -> Vec<(i64, Vec<u8>)> {
    let mut c =
        pcap::Capture::from_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Ok(p) = c.next_packet() {
        let ts = p.header.ts.tv_sec * 1_000_000_000 + p.header.ts.tv_usec;
        out.push((ts, p.data.to_vec()));
    }
    out
}

fn overrides(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "wirebeat.workers=2".to_owned(),
        "wirebeat.detect.evidence.enabled=true".to_owned(),
        format!("wirebeat.detect.evidence.path={}", dir.join("evidence").display()),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn alerts(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events.iter().filter(|e| e["event"]["kind"] == "alert").collect()
}

fn check_evidence(before: usize, ordered: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, want) = scan_capture(dir.path(), before);
    let r = run_in(&pcap, &overrides(dir.path(), &[]), ordered);
    assert_eq!(r.counters.get(&r.counters.dropped_channel_full), 0);
    let alerts = alerts(&r.events);
    assert_eq!(alerts.len(), 1, "{:#?}", alerts);
    let path = alerts[0]["wirebeat"]["alert"]["evidence"]["path"].as_str().unwrap();
    assert!(path.starts_with(&dir.path().join("evidence").display().to_string()), "{path}");
    let got = frames_of(Path::new(path));
    let got_bytes: Vec<Vec<u8>> = got.iter().map(|(_, b)| b.clone()).collect();
    assert_eq!(got_bytes.len(), want.len(), "frames in {path}");
    assert!(got_bytes == want, "the evidence holds the 30 probes and their RSTs, nothing else");
    assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "in capture order");
    let c = &r.counters;
    assert_eq!(c.get(&c.evidence_files), 1);
    assert_eq!(c.get(&c.evidence_frames_written), 60);
    assert_eq!(c.get(&c.evidence_errors), 0);
    let by_rule = r.counters.snapshot_consistent().alerts_by_rule;
    assert_eq!(by_rule.into_iter().collect::<Vec<_>>(), vec![("Test SYN probes".to_owned(), 1)]);
    // tshark agrees on what the file holds.
    let out = std::process::Command::new("tshark")
        .args(["-r", path, "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.flags.str"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 60, "{text}");
            for l in &lines {
                let f: Vec<&str> = l.split('\t').collect();
                let pair = (f[0], f[1]);
                assert!(pair == (SCANNER, TARGET) || pair == (TARGET, SCANNER), "{l}");
            }
        }
        _ => common::skipped("tshark not usable: the pcap was checked with libpcap only"),
    }
}

#[test]
fn an_alert_in_the_last_epoch_gets_the_packets_of_its_flows_from_the_parked_rings() {
    check_evidence(0, true);
}

#[test]
fn an_alert_mid_run_gets_the_ring_then_the_packets_that_follow() {
    // 60,000 background frames (6 s) after the 20th probe: the alert is posted while the
    // workers run, seven epochs before the last ten probes, which are appended as processed.
    check_evidence(60_000, true);
}

#[test]
fn evidence_in_live_mode_where_the_engine_runs_as_parts_arrive() {
    check_evidence(60_000, false);
}

#[test]
fn the_ring_bounds_what_is_kept_and_the_directory_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = scan_capture(dir.path(), 0);
    // A share of 4 KiB per source: the scanner's early probes fill it, later ones are not
    // kept in the ring (they reach the file only as followed frames, after the alert).
    let r =
        run(&pcap, &overrides(dir.path(), &["wirebeat.detect.evidence.ring_address_bytes=4KiB"]));
    let path =
        alerts(&r.events)[0]["wirebeat"]["alert"]["evidence"]["path"].as_str().unwrap().to_owned();
    let n = frames_of(Path::new(&path)).len();
    let c = &r.counters;
    assert!(c.get(&c.evidence_frames_not_kept) > 0);
    assert!(n < 60 && n > 0, "{n} frames");
    // Two more runs into the same directory with max_files 2: the first file is deleted.
    for deleted in [0, 1] {
        let r = run(&pcap, &overrides(dir.path(), &["wirebeat.detect.evidence.max_files=2"]));
        let c = &r.counters;
        assert_eq!(c.get(&c.evidence_files), 1);
        assert_eq!(c.get(&c.evidence_files_deleted), deleted);
    }
    // The oldest (the ring-limited one) was deleted; its name was free again for the last
    // run's file, which holds all 60 frames.
    assert_eq!(frames_of(Path::new(&path)).len(), 60, "{path} was rotated away and reused");
    let left = std::fs::read_dir(dir.path().join("evidence")).unwrap().count();
    assert_eq!(left, 2);
}

#[test]
fn alerts_only_writes_the_alerts_and_counts_what_it_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = scan_capture(dir.path(), 0);
    let all = run(&pcap, &["wirebeat.workers=2".to_owned()]);
    let only = run(
        &pcap,
        &["wirebeat.workers=2".to_owned(), "wirebeat.detect.alerts_only=true".to_owned()],
    );
    assert_eq!(alerts(&all.events).len(), 1);
    assert!(all.events.len() > 30, "flows are written by default");
    assert_eq!(only.events.len(), 1, "{:#?}", only.events);
    assert_eq!(only.events[0]["event"]["kind"], "alert");
    assert!(only.events[0]["wirebeat"]["alert"].get("evidence").is_none(), "evidence is off");
    let (a, o) = (&all.counters, &only.counters);
    // Same flows tracked; what was not written is counted under its own name, not dropped.
    assert_eq!(o.get(&o.flows_created), a.get(&a.flows_created));
    assert_eq!(o.get(&o.events_filtered_alerts_only) + 1, a.get(&a.events_published));
    assert_eq!(o.get(&o.events_published), 1);
    assert_eq!(o.get(&o.events_acked), 1);
}

#[test]
fn alerts_only_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = scan_capture(dir.path(), 0);
    let (out, events) = common::read(&[&pcap], &[]);
    assert!(out.status.success());
    assert!(events.iter().any(|e| e["event"]["dataset"] == "network_traffic.flow"));
    let out = common::wirebeat()
        .args(["read", "--no-progress", "--alerts-only"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for l in stdout.lines() {
        let e: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(e["event"]["kind"], "alert", "{l}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(common::summary_number(&err, "not_written_alerts_only") > 0, "{err}");
    let out = common::wirebeat()
        .args(["read", "--no-progress", "--alerts-only", "-E", "wirebeat.detect.enabled=false"])
        .arg(&pcap)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("alerts_only"), "{err}");
}
