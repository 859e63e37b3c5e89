use super::*;
use crate::detect::{Alert, Endpoint, Mitre, Rule, Severity};

static RULE: Rule = Rule {
    id: "wirebeat-test-evidence",
    name: "Test evidence",
    action: "test",
    description: "Test.",
    category: "Test",
    version: "1",
    reference: "https://example.invalid/",
    tactic: crate::detect::alert::TACTIC_DISCOVERY,
    technique: Mitre { id: "T1046", name: "Network Service Discovery" },
    subtechnique: None,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfg(dir: &Path) -> Config {
    Config {
        enabled: true,
        path: dir.display().to_string(),
        ring_bytes: ByteSize(8192),
        ring_address_bytes: ByteSize(4096),
        max_file_bytes: ByteSize(4096),
        max_bytes: ByteSize(1 << 20),
        ..Config::default()
    }
}

fn frame(ring: &mut Ring, ts: i64, src: &str, dst: &str, len: usize) {
    ring.frame(ts, len as u32, 1, &vec![0u8; len], Some((ip(src), ip(dst))));
}

#[test]
fn defaults_are_off_and_validation_names_the_key() {
    let c = Config::default();
    assert!(!c.enabled);
    assert!(c.validate().is_ok());
    let bad = Config { ring_address_bytes: ByteSize(64 << 20), ..Config::default() };
    assert!(bad.validate().unwrap_err().key.contains("ring_address_bytes"));
    let bad = Config { max_files: 0, ..Config::default() };
    assert!(bad.validate().unwrap_err().key.contains("max_files"));
    let bad = Config { path: " ".into(), ..Config::default() };
    assert!(bad.validate().unwrap_err().key.contains("path"));
}

#[test]
fn a_request_takes_both_directions_of_its_pair_within_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let counters = Arc::new(Counters::default());
    let ev = Evidence::new(&cfg(dir.path()), 1, counters.clone()).unwrap();
    let mut ring = ev.ring();
    frame(&mut ring, 5, "10.0.0.1", "10.0.0.2", 60); // before the window
    frame(&mut ring, 10, "10.0.0.1", "10.0.0.2", 60);
    frame(&mut ring, 11, "10.0.0.2", "10.0.0.1", 60);
    frame(&mut ring, 12, "10.0.0.1", "10.0.0.3", 60); // another pair
    let mut a = Alert::new(&RULE, Severity::Low, 10, 20)
        .source(Endpoint::ip(ip("10.0.0.1")))
        .destination(Endpoint::ip(ip("10.0.0.2")));
    ev.attach(&mut a, 20);
    let path = a.evidence.clone().unwrap();
    ring.begin_batch();
    frame(&mut ring, 13, "10.0.0.2", "10.0.0.1", 60); // followed
    ring.end_batch();
    ring.park();
    ev.close();
    assert_eq!(counters.get(&counters.evidence_frames_written), 3);
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len, FILE_HEADER + 3 * (RECORD_HEADER + 60));
}

#[test]
fn the_ring_keeps_a_share_per_source_and_files_stop_at_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let counters = Arc::new(Counters::default());
    let ev = Evidence::new(&cfg(dir.path()), 1, counters.clone()).unwrap();
    let mut ring = ev.ring();
    // 1000 + 64 bytes each: a source holds 3 (4096), the ring 7 (8192).
    for i in 0..5 {
        frame(&mut ring, i, "10.0.0.1", "10.0.0.9", 1000);
    }
    assert_eq!(counters.get(&counters.evidence_frames_not_kept), 2);
    for i in 5..10 {
        frame(&mut ring, i, &format!("10.0.1.{i}"), "10.0.0.9", 1000);
    }
    assert!(ring.bytes <= 8192 && ring.frames.len() == 7, "{} {}", ring.bytes, ring.frames.len());
    // The alert's address is in every frame: the file (4096 bytes: 24 + 4 × 1016) takes 4.
    let mut a = Alert::new(&RULE, Severity::Low, 0, 10).source(Endpoint::ip(ip("10.0.0.9")));
    ev.attach(&mut a, 10);
    ring.begin_batch();
    ring.park();
    ev.close();
    assert_eq!(counters.get(&counters.evidence_frames_written), 4);
    assert_eq!(counters.get(&counters.evidence_frames_refused), 3);
    assert!(std::fs::metadata(a.evidence.unwrap()).unwrap().len() <= 4096);
}
