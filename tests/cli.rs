//! Command-line behaviour: usage and configuration errors, unreadable inputs, determinism.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use std::io::Write;

fn run_args(args: &[&str]) -> (Option<i32>, String, String) {
    let out = wirebeat().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".yml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    lines[0]
}

#[test]
fn unknown_key_names_key_and_line() {
    let f = config_file("wirebeat:\n  flows:\n    timout: 10s\n");
    let (code, _, err) = run_args(&["test", "config", "-c", f.path().to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let line = one_line(&err);
    assert!(line.contains("wirebeat.flows.timout") && line.contains("line 3"), "{line}");
    assert!(!err.contains("panicked"));
}

#[test]
fn wrong_type_names_key() {
    let f = config_file("wirebeat.workers: two\n");
    let (code, _, err) = run_args(&["read", "-c", f.path().to_str().unwrap(), "x.pcap"]);
    assert_eq!(code, Some(1));
    let line = one_line(&err);
    assert!(line.contains("wirebeat.workers") && line.contains("line 1"), "{line}");
}

#[test]
fn bad_override_is_a_usage_error() {
    let (code, _, err) = run_args(&["test", "config", "-E", "wirebeat.workers"]);
    assert_eq!(code, Some(2));
    assert!(one_line(&err).contains("wirebeat.workers"), "{err}");
}

#[test]
fn bad_bpf_filter_is_reported() {
    let f = config_file("wirebeat.interfaces:\n  - name: lo\n    bpf_filter: 'tcp port ((('\n");
    let (code, _, err) = run_args(&["test", "config", "-c", f.path().to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let line = one_line(&err);
    assert!(line.contains("BPF") && line.contains("tcp port ((("), "{line}");
}

#[test]
fn missing_interface_is_reported() {
    let (code, _, err) = run_args(&["run", "-i", "no-such-iface0"]);
    assert_eq!(code, Some(1), "{err}");
    let line = one_line(&err);
    assert!(line.contains("no-such-iface0"), "{line}");
}

#[test]
fn run_without_interface_is_a_usage_error() {
    let (code, _, err) = run_args(&["run"]);
    assert_eq!(code, Some(2));
    assert!(one_line(&err).contains("-i"), "{err}");
}

#[test]
fn unknown_subcommand_exits_2() {
    let (code, _, _) = run_args(&["frobnicate"]);
    assert_eq!(code, Some(2));
}

#[test]
fn not_a_capture_file_exits_1_but_reads_the_others() {
    require_shared!();
    let junk = config_file("this is not a capture file at all\n");
    let good = corpus().join("pcaps/zeek-web.pcap");
    let (code, out, err) =
        run_args(&["read", "--no-progress", junk.path().to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(junk.path().to_str().unwrap()), "{err}");
    assert!(out.lines().count() >= 1, "events of the good file are still written");
}

#[test]
fn damaged_capture_keeps_frames_before_the_damage() {
    require_shared!();
    let f = corpus().join("pcaps/sv-smtp-to-comma-10.7.29.101_49898-178.63.41.150_25.pcap");
    let (code, out, err) = run_args(&["read", "--no-progress", f.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(summary_number(&err, "read"), 18, "{err}");
    assert_eq!(summary_number(&err, "capture_file_errors"), 1, "{err}");
    assert!(!out.is_empty());
}

/// Same input, same worker count: byte-identical output. Across worker counts: the same events
/// (flow.id embeds the worker, so it is masked).
#[test]
fn read_is_deterministic() {
    require_shared!();
    let dir = corpus().join("pcaps");
    let files: Vec<_> = [
        "zeek-wikipedia.pcap",
        "zeek-http-pipelined-requests.pcap",
        "zeek-ipv6-fragmented-dns.pcap",
        "tcpdump-geneve.pcap",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let (a, ea) = read(&refs, &["wirebeat.workers=2", "wirebeat.flows.period=1s"]);
    let (b, _) = read(&refs, &["wirebeat.workers=2", "wirebeat.flows.period=1s"]);
    assert!(a.status.success());
    assert!(ea.len() > 40, "events: {}", ea.len());
    assert_eq!(a.stdout, b.stdout, "two runs differ");
    let (_, e1) = read(&refs, &["wirebeat.workers=1", "wirebeat.flows.period=1s"]);
    let norm = |evs: &[serde_json::Value]| {
        let mut v: Vec<String> = evs
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e["flow"]["id"] = serde_json::Value::Null;
                e.to_string()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(norm(&ea), norm(&e1), "1 and 2 workers give different events");
}

#[test]
fn file_output_writes_csv() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let f = corpus().join("pcaps/zeek-web.pcap");
    let path = format!("output.file.path={}", dir.path().display());
    let (out, _) =
        read(&[&f], &[&path, "output.file.format=csv", "output.file.filename=flows.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "file output must not print events");
    let text = std::fs::read_to_string(dir.path().join("flows.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "@timestamp,event.dataset,network.transport,source.ip,source.port,destination.ip,destination.port,network.packets,network.bytes,network.community_id"
    );
    let rows: Vec<&str> = lines.collect();
    let flows = rows.iter().filter(|r| r.contains(",network_traffic.flow,tcp,")).count();
    let http = rows.iter().filter(|r| r.contains(",network_traffic.http,tcp,")).count();
    assert_eq!((flows, http, rows.len()), (2, 1, 3), "{text}");
}

/// The disk spool (tiny, so pushes wait for room) gives the same output as the memory queue, and
/// leaves nothing to replay.
#[test]
fn spool_gives_the_same_output_as_the_memory_queue() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let pcap = corpus().join("pcaps/zeek-wikipedia.pcap");
    let (mem, _) = read(&[&pcap], &[]);
    let spool = format!("queue.disk.path={}", dir.path().join("spool").display());
    let opts = [spool.as_str(), "queue.disk.segment_size=8KiB", "queue.disk.max_size=16KiB"];
    let (disk, events) = read(&[&pcap], &opts);
    assert!(mem.status.success() && disk.status.success());
    assert!(events.len() > 50);
    assert!(mem.stdout == disk.stdout, "spool changed the output");
    let stderr = String::from_utf8_lossy(&disk.stderr);
    assert!(!stderr.contains("blocked=0"), "a 16 KiB spool must have made pushes wait: {stderr}");
    let (again, _) = read(&[&pcap], &opts);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("replayed=0"), "{stderr}");
}

/// `kill -SIG PID` for the child this test spawned (never by name: others run wirebeat too).
fn signal(child: &std::process::Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Collects a child's stderr lines as they come.
fn stderr_lines(child: &mut std::process::Child) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::BufRead;
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let err = child.stderr.take().unwrap();
    let l = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            l.lock().unwrap().push(line);
        }
    });
    lines
}

fn wait_for_line(lines: &std::sync::Mutex<Vec<String>>, what: &str, limit: std::time::Duration) {
    let start = std::time::Instant::now();
    while !lines.lock().unwrap().iter().any(|l| l.contains(what)) {
        assert!(start.elapsed() < limit, "no {what:?} line: {:?}", lines.lock().unwrap());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn first_signal_says_what_it_waits_for_second_aborts_with_the_summary() {
    require_shared!();
    signals_then_abort(None);
}

#[test]
fn abort_with_a_spool_says_how_many_events_stay_in_it() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    signals_then_abort(Some(&dir.path().join("spool")));
}

/// `read` into an output that never answers; SIGTERM, then SIGINT. `spool`: with `queue.disk`.
fn signals_then_abort(spool: Option<&std::path::Path>) {
    let pcap = shared().join("corpus/pcaps/zeek-wikipedia.pcap");
    let n = console_lines(&pcap).len();
    // An output that never answers (a closed port, retried without limit), and a long drain
    // limit: only the second signal ends the run.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = wirebeat()
        .args(["read", "--no-progress"])
        .args(["-E", &format!("output.kafka.hosts=[\"127.0.0.1:{port}\"]")])
        .args(["-E", "output.kafka.max_retries=-1", "-E", "wirebeat.shutdown_timeout=5m"])
        .args(
            spool
                .map(|p| format!("queue.disk.path={}", p.display()))
                .iter()
                .flat_map(|o| ["-E", o]),
        )
        .arg(&pcap)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    // The capture is read at once; then the drain waits for the output.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(child.try_wait().unwrap().is_none(), "{:?}", lines.lock().unwrap());
    signal(&child, "TERM");
    wait_for_line(&lines, "stopping:", std::time::Duration::from_secs(10));
    let stopping = lines.lock().unwrap().iter().find(|l| l.contains("stopping:")).cloned();
    let stopping = stopping.unwrap();
    assert!(
        stopping.contains(&format!("delivering {n} queued events"))
            && stopping.contains("to kafka (up to 5m)")
            && stopping.contains("Ctrl-C again"),
        "{stopping}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the first signal does not abort");
    signal(&child, "INT");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "still running");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let all = lines.lock().unwrap().join("\n");
    assert!(all.contains("wirebeat summary capture: read="), "{all}");
    let left = match spool {
        Some(p) => format!("aborted: {n} events stay in the spool {}", p.display()),
        None => format!("aborted: {n} queued events are lost"),
    };
    assert!(all.contains(&left), "{all}");
}
