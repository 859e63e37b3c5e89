//! Clean shutdown with the Kafka output, through the binary.
//!
//! - SIGTERM during a live `run` (capturing UDP datagrams the test sends on loopback `lo`,
//!   BPF-filtered to the test's own port) delivers everything: the broker (Tansu, counted
//!   exactly) holds every event the run published, and its final flow reports account for
//!   every datagram sent. The same against librdkafka's mock cluster, counted by the producer's
//!   acknowledgements (consuming back from the mock loses messages; see DESIGN.md).
//! - With the broker gone, SIGTERM ends the run within `wirebeat.shutdown_timeout` plus a small
//!   margin, says what it did, and leaves the undelivered events in the disk spool (read back
//!   independently with `common::spool_records`); a second run against a restarted broker
//!   delivers them.
//! - `read` honours the same limit, and spools what it could not deliver.
//!
//! Live capture needs root; without it (or without Tansu for the exact counts) a test prints
//! `SKIPPED` with the reason. Traffic goes only to 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::kafka::*;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Flows (source sockets) and datagrams per flow the test sends.
const FLOWS: usize = 60;
const DATAGRAMS: usize = 5;

/// Margin over `wirebeat.shutdown_timeout` for the process to end (the output thread's grace,
/// process exit, a loaded machine).
const MARGIN: Duration = Duration::from_secs(6);

fn root() -> Result<(), String> {
    let out = Command::new("id").arg("-u").output().map_err(|e| format!("id -u: {e}"))?;
    let uid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if uid == "0" {
        Ok(())
    } else {
        Err(format!("live capture on lo needs root (uid {uid})"))
    }
}

/// A `wirebeat run` on `lo`, its output in files under `dir`; killed on drop if still running.
struct Run {
    child: Child,
    stderr: PathBuf,
}

struct Done {
    code: Option<i32>,
    stderr: String,
    /// From SIGTERM to exit.
    took: Duration,
}

impl Run {
    /// Starts capturing UDP to `port` on lo with the given `-E` settings; returns once it says
    /// `capturing`.
    fn start(dir: &Path, port: u16, settings: &[String]) -> Run {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let stderr = dir.join(format!("stderr-{n}.txt"));
        let mut c = wirebeat();
        c.args(["run", "-i", "lo", "-f", &format!("udp and port {port}")]).args([
            "-E",
            "wirebeat.flows.period=0s",
            "-E",
            "wirebeat.workers=2",
        ]);
        for s in settings {
            c.args(["-E", s]);
        }
        let child = c
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout.ndjson")).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut r = Run { child, stderr };
        let start = Instant::now();
        loop {
            let err = std::fs::read_to_string(&r.stderr).unwrap_or_default();
            if err.contains("capturing") {
                break;
            }
            if let Some(s) = r.child.try_wait().unwrap() {
                panic!("wirebeat run exited early ({s}):\n{err}");
            }
            assert!(start.elapsed() < Duration::from_secs(15), "not capturing after 15 s:\n{err}");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    /// SIGTERM, then waits up to `limit` for the exit.
    fn stop(mut self, limit: Duration) -> Done {
        let pid = self.child.id().to_string();
        let t0 = Instant::now();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still running {limit:?} after SIGTERM (killed):\n{}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = t0.elapsed();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{stderr}");
        Done { code: status.code(), stderr, took }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A bound UDP port on 127.0.0.1 (so the datagrams are received, not answered with ICMP).
fn receiver() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    (s, port)
}

/// [`FLOWS`] sockets, [`DATAGRAMS`] datagrams each, to `port`; returns the datagrams sent.
fn send_traffic(port: u16, rx: &UdpSocket) -> usize {
    rx.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    let mut sent = 0;
    for f in 0..FLOWS {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        for d in 0..DATAGRAMS {
            s.send_to(
                format!("wirebeat shutdown test flow {f} datagram {d}").as_bytes(),
                ("127.0.0.1", port),
            )
            .unwrap();
            sent += 1;
        }
        let mut buf = [0u8; 128];
        while rx.recv(&mut buf).is_ok() {}
    }
    sent
}

/// `name=N` from the summary lines.
fn summary_value(stderr: &str, name: &str) -> u64 {
    summary_number(stderr, name)
}

/// `written=N of M` from the summary's delivery line.
fn written(stderr: &str) -> (u64, u64) {
    let text = summary_lines(stderr);
    let s = text.split(" written=").nth(1).unwrap_or_else(|| panic!("{stderr}"));
    let mut nums = s.split(|c: char| !c.is_ascii_digit()).filter(|x| !x.is_empty());
    (nums.next().unwrap().parse().unwrap(), nums.next().unwrap().parse().unwrap())
}

/// Datagrams to `port` counted in the final flow reports among `docs`.
fn packets_to(docs: &[String], port: u16) -> u64 {
    docs.iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter(|v| is_dataset(v, "network_traffic.flow"))
        .filter(|v| get(v, "flow.final") == Some(&Value::Bool(true)))
        .filter(|v| {
            let p = Some(&Value::from(port));
            get(v, "destination.port") == p || get(v, "source.port") == p
        })
        .map(|v| get(&v, "network.packets").and_then(Value::as_u64).unwrap_or(0))
        .sum()
}

fn kafka_settings(bootstrap: &str, topic: &str) -> Vec<String> {
    vec![format!("output.kafka.hosts=[\"{bootstrap}\"]"), format!("output.kafka.topic={topic}")]
}

fn values(
    got: Vec<(Option<String>, std::collections::BTreeMap<String, String>, String)>,
) -> Vec<String> {
    got.into_iter().map(|(_, _, v)| v).collect()
}

#[test]
fn sigterm_during_run_delivers_every_event_to_the_broker() {
    if let Err(why) = root() {
        skipped(&why);
        return;
    }
    let Some(bin) = tansu_bin() else {
        skipped("tansu is not installed (/root/.cargo/bin/tansu or on PATH)");
        return;
    };
    let broker = Tansu::start(bin);
    broker.create_topic("shutdown", 3);
    let dir = tempfile::tempdir().unwrap();
    let (rx, port) = receiver();
    let run = Run::start(dir.path(), port, &kafka_settings(&broker.bootstrap(), "shutdown"));
    let sent = send_traffic(port, &rx);
    std::thread::sleep(Duration::from_millis(500));
    let done = run.stop(Duration::from_secs(40));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("stopping: delivering"), "says what it does:\n{}", done.stderr);
    let (acked, published) = written(&done.stderr);
    assert_eq!(acked, published, "every published event acknowledged:\n{}", done.stderr);
    assert!(published >= FLOWS as u64, "{}", done.stderr);

    // The broker holds exactly what was acknowledged, each once, and the final flow reports
    // count every datagram sent.
    let got = values(consume(
        &broker.bootstrap(),
        "shutdown",
        3,
        published as usize + 1,
        Duration::from_secs(15),
    ));
    assert_eq!(got.len() as u64, published, "messages on the broker");
    let distinct: BTreeSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), got.len(), "no duplicates");
    assert_eq!(packets_to(&got, port), sent as u64, "datagrams in the final flows at the broker");
    eprintln!("run: {sent} datagrams, {published} events delivered; stop took {:?}", done.took);
}

#[test]
fn sigterm_during_run_with_the_mock_cluster_acknowledges_every_event() {
    if let Err(why) = root() {
        skipped(&why);
        return;
    }
    let mock = rdkafka::mocking::MockCluster::new(3).unwrap();
    mock.create_topic("shutdown", 3, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (rx, port) = receiver();
    let hosts: Vec<String> = mock.bootstrap_servers().split(',').map(str::to_owned).collect();
    let settings =
        vec![format!("output.kafka.hosts={hosts:?}"), "output.kafka.topic=shutdown".into()];
    let run = Run::start(dir.path(), port, &settings);
    let sent = send_traffic(port, &rx);
    std::thread::sleep(Duration::from_millis(500));
    let done = run.stop(Duration::from_secs(40));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let (acked, published) = written(&done.stderr);
    assert_eq!(acked, published, "{}", done.stderr);
    // One final flow per sending socket at least (plus any health event).
    assert!(published >= FLOWS as u64, "{}", done.stderr);
    assert!(summary_value(&done.stderr, "read") >= sent as u64, "{}", done.stderr);
}

#[test]
fn sigterm_with_the_broker_gone_ends_within_the_drain_limit_and_spools_the_rest() {
    if let Err(why) = root() {
        skipped(&why);
        return;
    }
    let Some(bin) = tansu_bin() else {
        skipped("tansu is not installed (/root/.cargo/bin/tansu or on PATH)");
        return;
    };
    let broker = Tansu::start(bin.clone());
    let port_k = broker.port;
    broker.create_topic("gone", 1);
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let limit = Duration::from_secs(3);
    let mut settings = kafka_settings(&broker.bootstrap(), "gone");
    settings.push(format!("queue.disk.path={}", spool.display()));
    settings.push("wirebeat.shutdown_timeout=3s".into());
    settings.push("output.kafka.timeout=1s".into());
    let (rx, port) = receiver();
    let run = Run::start(dir.path(), port, &settings);
    let sent = send_traffic(port, &rx);
    std::thread::sleep(Duration::from_millis(300));
    drop(broker); // killed: the final flows have nowhere to go
    std::thread::sleep(Duration::from_millis(300));
    let done = run.stop(limit + MARGIN + Duration::from_secs(10));
    eprintln!("stop with the broker gone took {:?} (limit {limit:?})", done.took);
    assert!(done.took <= limit + MARGIN, "took {:?}, limit {limit:?}:\n{}", done.took, done.stderr);
    assert!(done.took >= limit, "gave up before the limit ({:?}):\n{}", done.took, done.stderr);
    assert!(done.stderr.contains("stopping: delivering"), "{}", done.stderr);
    assert!(done.stderr.contains("to kafka (up to 3s)"), "{}", done.stderr);
    // The spool keeps them: nothing lost, exit 0, and it says where they are.
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let (_, open) = spool_records(&spool);
    let queued = summary_value(&done.stderr, "queued");
    assert_eq!(open.len() as u64, queued, "undelivered events in the spool:\n{}", done.stderr);
    assert!(!open.is_empty());
    let line = format!("{} events stay in the spool {}", open.len(), spool.display());
    assert!(done.stderr.contains(&line), "no {line:?}:\n{}", done.stderr);
    assert_eq!(packets_to(&open, port), sent as u64, "every datagram's flow is in the spool");

    // The broker back (same address): the next run sends what the spool kept.
    let broker = Tansu::start_with(bin, port_k, "memory://tansu/", Path::new("."));
    broker.create_topic("gone", 1);
    let (rx2, port2) = receiver();
    let run = Run::start(dir.path(), port2, &settings);
    drop(rx2);
    std::thread::sleep(Duration::from_secs(2));
    let done = run.stop(Duration::from_secs(40));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(summary_value(&done.stderr, "replayed"), open.len() as u64, "{}", done.stderr);
    let got =
        values(consume(&broker.bootstrap(), "gone", 1, open.len() + 1, Duration::from_secs(15)));
    let got: BTreeSet<String> = got.into_iter().collect();
    let missing = open.iter().filter(|d| !got.contains(*d)).count();
    assert_eq!(missing, 0, "spooled events missing at the broker after the restart");
    assert_eq!(packets_to(&got.into_iter().collect::<Vec<_>>(), port), sent as u64);
    let (_, left) = spool_records(&spool);
    assert!(left.is_empty(), "{} events still unacknowledged in the spool", left.len());
}

#[test]
fn read_with_the_broker_gone_ends_within_the_drain_limit_and_spools_the_rest() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let limit = Duration::from_secs(2);
    let t0 = Instant::now();
    let out = wirebeat()
        .args(["read", "--no-progress"])
        .args(["-E", &format!("output.kafka.hosts=[\"127.0.0.1:{dead}\"]")])
        .args(["-E", "output.kafka.timeout=1s", "-E", "wirebeat.shutdown_timeout=2s"])
        .args(["-E", &format!("queue.disk.path={}", spool.display())])
        .arg(corpus().join("pcaps/zeek-wikipedia.pcap"))
        .output()
        .unwrap();
    let took = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("read with the broker gone took {took:?} (limit {limit:?})");
    assert!(took <= limit + MARGIN, "took {took:?}:\n{stderr}");
    // `read` fails when not everything was delivered, and says where the rest is.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let (acked, published) = written(&stderr);
    assert_eq!(acked, 0, "{stderr}");
    let (_, open) = spool_records(&spool);
    assert_eq!(open.len() as u64, published, "{stderr}");
    assert!(stderr.contains(&format!("{published} events stay in the spool")), "{stderr}");
    assert!(stderr.contains("drain limit (wirebeat.shutdown_timeout: 2s)"), "{stderr}");
}
