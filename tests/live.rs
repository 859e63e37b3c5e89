//! Live capture, end to end: corpus captures are replayed with tcpreplay into one end of a veth
//! pair inside a private network namespace while `wirebeat run` captures on the other end; after
//! SIGTERM its final flows must be the flows `wirebeat read` finds in the same captures.
//!
//! Needs root, `ip` and `tcpreplay`; without them the tests print why and pass. All traffic
//! stays inside the namespace, which is deleted afterwards (also when a test fails).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Ethernet captures (link type 1) replayed into the veth: TCP, UDP (IPv4, IPv6, fragments),
/// a VXLAN tunnel with jumbo frames, and the same TCP flow on three VLANs.
const CAPTURES: &[&str] = &[
    "zeek-http-pipelined-requests.pcap",
    "zeek-dns-edns-ecs.pcap",
    "zeek-tunnels-vxlan-encapsulated-http.pcap",
    "zeek-vlan-collisions.pcap",
];

/// Largest frame of the captures above is 9100 bytes; veth drops frames over its MTU.
const MTU: &str = "9500";

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

/// Why these tests cannot run here, if they cannot.
fn unsupported() -> Option<String> {
    let uid = Command::new("id").arg("-u").output();
    match uid {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => {}
        Ok(o) => {
            return Some(format!("not root (uid {})", String::from_utf8_lossy(&o.stdout).trim()))
        }
        Err(e) => return Some(format!("cannot run `id -u`: {e}")),
    }
    for tool in ["ip", "tcpreplay"] {
        let found = Command::new("which")
            .arg(tool)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` not found"));
        }
    }
    None
}

fn run_ok(args: &[&str]) -> Result<Output, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace; `Err` is the reason to skip.
    fn create() -> Result<Netns, String> {
        let name =
            format!("wbtest-{}-{}", std::process::id(), NEXT_NS.fetch_add(1, Ordering::SeqCst));
        run_ok(&["ip", "netns", "add", &name])?;
        let ns = Netns { name };
        // No IPv6 autoconfiguration: the kernel would send its own packets (DAD, MLD, RS).
        // Without it, expect extra ICMPv6 flows in the live output.
        if let Err(e) = ns.exec(&[
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]) {
            eprintln!("warning: IPv6 stays enabled in {}: {e}", ns.name);
        }
        Ok(ns)
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    fn exec(&self, args: &[&str]) -> Result<Output, String> {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run_ok(&full)
    }

    /// veth pair wbA (replay side) / wbB (capture side), both up, no addresses.
    fn add_veth(&self) {
        self.exec(&[
            "ip", "link", "add", "wbA", "mtu", MTU, "type", "veth", "peer", "name", "wbB", "mtu",
            MTU,
        ])
        .unwrap();
        for dev in ["wbA", "wbB"] {
            self.exec(&["ip", "link", "set", dev, "up"]).unwrap();
        }
    }

    /// `wirebeat` inside the namespace, with the agent id and log settings of `common::wirebeat`.
    fn wirebeat(&self) -> Command {
        let mut c = self.cmd(env!("CARGO_BIN_EXE_wirebeat"));
        c.env("WIREBEAT_AGENT_ID", "00000000-0000-5000-8000-000000000000");
        c.env_remove("WIREBEAT_LOG");
        c.env("WIREBEAT_ALL_COUNTERS", "1");
        c
    }

    fn replay(&self, pcap: &Path) {
        let out =
            self.exec(&["tcpreplay", "-i", "wbA", "--topspeed", pcap.to_str().unwrap()]).unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let failed = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Failed packets:"))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert_eq!(
            failed,
            Some(0),
            "tcpreplay of {} did not send every packet:\n{text}",
            pcap.display()
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = run_ok(&["ip", "netns", "del", &self.name]) {
            eprintln!("cleanup: {e}");
        }
    }
}

/// A running `wirebeat run`, killed on drop if still running.
struct Daemon {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Daemon {
    fn start(mut cmd: Command, dir: &Path) -> Daemon {
        let stdout = dir.join("stdout.ndjson");
        let stderr = dir.join("stderr.txt");
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let child = cmd.spawn().expect("start wirebeat run");
        let mut d = Daemon { child, stdout, stderr };
        // `capturing` is logged once every interface is open: frames from then on are kept.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let err = std::fs::read_to_string(&d.stderr).unwrap_or_default();
            if err.contains("capturing") {
                break;
            }
            if let Some(status) = d.child.try_wait().unwrap() {
                panic!("wirebeat run exited early ({status}):\n{err}");
            }
            assert!(
                Instant::now() < deadline,
                "wirebeat run did not start capturing within 10 s:\n{err}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// SIGTERM, then waits (at most 20 s) for the exit.
    fn stop(mut self) -> Finished {
        let pid = self.child.id().to_string();
        run_ok(&["kill", "-TERM", &pid]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "wirebeat run still running 20 s after SIGTERM (killed):\n{}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Finished {
            code: status.code(),
            stdout: std::fs::read_to_string(&self.stdout).unwrap(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Direction-less flow key: (iana number, lower endpoint, higher endpoint, VLAN ids).
type Tuple = (String, (String, Option<u64>), (String, Option<u64>), String);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Count {
    packets: u64,
    bytes: u64,
    events: u64,
}

/// Packets and bytes per flow, summed over the final flow events.
fn flows(events: &[Value]) -> BTreeMap<Tuple, Count> {
    let mut out: BTreeMap<Tuple, Count> = BTreeMap::new();
    for e in events {
        if get(e, "event.dataset").and_then(Value::as_str) != Some("network_traffic.flow")
            || get(e, "flow.final").and_then(Value::as_bool) != Some(true)
        {
            continue;
        }
        let s = |k: &str| {
            get(e, k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default()
        };
        let port = |k: &str| get(e, k).and_then(Value::as_u64);
        let a = (s("source.ip"), port("source.port"));
        let b = (s("destination.ip"), port("destination.port"));
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let vlan = get(e, "network.vlan").map(Value::to_string).unwrap_or_default();
        let c = out.entry((s("network.iana_number"), a, b, vlan)).or_default();
        c.packets += get(e, "network.packets").and_then(Value::as_u64).unwrap();
        c.bytes += get(e, "network.bytes").and_then(Value::as_u64).unwrap();
        c.events += 1;
    }
    out
}

fn parse(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Differences between two flow tables (packets and bytes; not the number of events, which
/// differs when `read` splits a flow at an idle timeout of the capture's own clock).
fn differences(
    want: &BTreeMap<Tuple, Count>,
    got: &BTreeMap<Tuple, Count>,
    got_name: &str,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for (t, w) in want {
        match got.get(t) {
            None => diffs.push(format!("missing from {got_name}: {t:?} {w:?}")),
            Some(g) if (g.packets, g.bytes) != (w.packets, w.bytes) => {
                diffs.push(format!("{t:?}: read {w:?}, {got_name} {g:?}"))
            }
            _ => {}
        }
    }
    for (t, g) in got.iter().filter(|(t, _)| !want.contains_key(*t)) {
        diffs.push(format!("only in {got_name}: {t:?} {g:?}"));
    }
    diffs
}

fn assert_same_flows(want: &BTreeMap<Tuple, Count>, got: &BTreeMap<Tuple, Count>, what: &str) {
    let diffs = differences(want, got, what);
    let table = |m: &BTreeMap<Tuple, Count>| {
        m.iter()
            .map(|(t, c)| format!("  {t:?} packets={} bytes={}", c.packets, c.bytes))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        diffs.is_empty(),
        "{what}: {} differences with `wirebeat read`:\n{}\n--- read ({} flows):\n{}\n--- {what} ({} flows):\n{}",
        diffs.len(),
        diffs.join("\n"),
        want.len(),
        table(want),
        got.len(),
        table(got)
    );
}

fn corpus(name: &str) -> PathBuf {
    let p = common::corpus().join("pcaps").join(name);
    let summary = std::fs::read_to_string(
        common::corpus().join("truth").join(format!("{name}.summary.json")),
    )
    .unwrap();
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        summary["linktypes"],
        serde_json::json!([1]),
        "{name}: tcpreplay onto a veth needs Ethernet"
    );
    p
}

/// Flows `wirebeat read` finds in the captures, checked to be a meaningful reference.
fn reference(pcaps: &[&Path]) -> BTreeMap<Tuple, Count> {
    let (out, events) = read(pcaps, &["wirebeat.workers=2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "wirebeat read: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = flows(&events);
    assert!(!want.is_empty(), "wirebeat read found no flows in {pcaps:?}");
    want
}

/// Starts `wirebeat run -i wbB` in `ns`, replays `pcaps`, stops it with SIGTERM.
fn capture(ns: &Netns, dir: &Path, pcaps: &[&Path], extra: &[&str]) -> Finished {
    let mut cmd = ns.wirebeat();
    cmd.args(["run", "-i", "wbB", "-E", "wirebeat.workers=2"]).args(extra);
    let daemon = Daemon::start(cmd, dir);
    std::thread::sleep(Duration::from_millis(300));
    for p in pcaps {
        ns.replay(p);
    }
    std::thread::sleep(Duration::from_secs(1));
    let done = daemon.stop();
    assert!(!done.stderr.contains("panicked"), "wirebeat run panicked:\n{}", done.stderr);
    assert_eq!(done.code, Some(0), "wirebeat run exit code after SIGTERM:\n{}", done.stderr);
    assert!(
        done.stderr.contains("wirebeat summary capture: read="),
        "no summary:\n{}",
        done.stderr
    );
    done
}

/// Namespace with the veth pair, or the reason to skip.
fn setup(test: &str) -> Option<Netns> {
    if let Some(why) = unsupported() {
        eprintln!("{test}: skipped: {why}");
        return None;
    }
    match Netns::create() {
        Ok(ns) => {
            ns.add_veth();
            Some(ns)
        }
        Err(e) => {
            eprintln!("{test}: skipped: cannot create a network namespace: {e}");
            None
        }
    }
}

#[test]
fn live_flows_match_read() {
    flows_match_read("live_flows_match_read", &[]);
}

/// The same through wirebeat's own TPACKET_V3 rings: two sockets in a fanout group (one per
/// worker), VLAN tags the kernel took out put back, the same flows.
#[test]
fn live_af_packet_fanout_flows_match_read() {
    flows_match_read("live_af_packet_fanout_flows_match_read", &["--type", "af_packet"]);
}

fn flows_match_read(test: &str, extra: &[&str]) {
    require_shared!();
    let Some(ns) = setup(test) else {
        return;
    };
    let paths: Vec<PathBuf> = CAPTURES.iter().map(|c| corpus(c)).collect();
    let pcaps: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let want = reference(&pcaps);
    // The reference covers what this test is about: TCP, UDP, a tunnel and VLANs.
    for proto in ["6", "17"] {
        assert!(
            want.keys().any(|t| t.0 == proto),
            "no flow with iana number {proto} in the reference"
        );
    }
    assert!(want.keys().filter(|t| !t.3.is_empty()).count() >= 2, "no VLAN flows in the reference");

    let dir = tempfile::tempdir().unwrap();
    let done = capture(&ns, dir.path(), &pcaps, extra);
    if !extra.is_empty() {
        // Two sockets, each with its counters (`wirebeat.workers=2` in `capture`).
        assert!(
            done.stderr.matches("fanout socket counters").count() == 2,
            "no counters of two fanout sockets:\n{}",
            done.stderr
        );
    }
    let events = parse(&done.stdout);
    let got = flows(&events);
    // The final sensor-health event counts every captured frame.
    let health = events
        .iter()
        .rfind(|e| get(e, "event.dataset").and_then(Value::as_str) == Some("wirebeat.health"))
        .expect("a wirebeat.health event at the end of run");
    let received = get(health, "wirebeat.stats.packets_received").and_then(Value::as_u64);
    let packets: u64 = want.values().map(|c| c.packets).sum();
    assert!(received.unwrap() >= packets, "health {received:?} < {packets} packets in flows");
    if differences(&want, &got, "live").is_empty() {
        eprintln!("live {extra:?}: {} flows match `wirebeat read`", got.len());
    } else {
        eprintln!("wirebeat run stderr:\n{}", done.stderr);
    }
    assert_same_flows(&want, &got, "live");
}

#[test]
fn live_dump_reads_back_the_same_flows() {
    require_shared!();
    let Some(ns) = setup("live_dump_reads_back_the_same_flows") else {
        return;
    };
    let pcap = corpus("zeek-dns-edns-ecs.pcap");
    let want = reference(&[&pcap]);

    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join(format!("wbtest-{}.pcapng", std::process::id()));
    let done = capture(&ns, dir.path(), &[&pcap], &["--dump", dump.to_str().unwrap()]);
    assert_same_flows(&want, &flows(&parse(&done.stdout)), "live (with --dump)");

    assert!(dump.is_file(), "no dump file {}", dump.display());
    let (out, events) = read(&[&dump], &["wirebeat.workers=2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "wirebeat read of the dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_flows(&want, &flows(&events), "read of the dump");
}

/// Non-empty stderr lines.
fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A missing interface is reported before any privilege is needed: runs without root too.
#[test]
fn live_unknown_interface_is_one_error_line() {
    let out =
        wirebeat().args(["run", "-i", "no-such-iface0"]).stdin(Stdio::null()).output().unwrap();
    let err = lines(&out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err:#?}");
    assert_eq!(err.len(), 1, "expected one stderr line: {err:#?}");
    assert!(err[0].contains("no-such-iface0"), "stderr: {err:#?}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
}

#[test]
fn live_bad_bpf_filter_is_one_error_line() {
    let Some(ns) = setup("live_bad_bpf_filter_is_one_error_line") else {
        return;
    };
    // A namespace's own loopback starts down, and libpcap will not open a down device.
    ns.exec(&["ip", "link", "set", "lo", "up"]).unwrap();
    let out = ns
        .wirebeat()
        .args(["run", "-i", "lo", "-f", "not a filter((("])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = lines(&out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err:#?}");
    assert_eq!(err.len(), 1, "expected one stderr line: {err:#?}");
    assert!(err[0].contains("BPF"), "stderr: {err:#?}");
    assert!(err[0].contains("not a filter((("), "stderr: {err:#?}");
}

/// `type: af_packet` compiles the filter with libpcap and attaches it to every fanout socket:
/// the kernel keeps TCP out of the rings (`not tcp` keeps the non-first fragments of the DNS
/// answers, which `udp` would not match, as in tcpdump).
#[test]
fn live_af_packet_bpf_filter_runs_in_the_kernel() {
    require_shared!();
    let Some(ns) = setup("live_af_packet_bpf_filter_runs_in_the_kernel") else {
        return;
    };
    let paths = [corpus("zeek-http-pipelined-requests.pcap"), corpus("zeek-dns-edns-ecs.pcap")];
    let pcaps: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let all = reference(&pcaps);
    assert!(all.keys().any(|t| t.0 == "6"), "no TCP flow in the reference");
    let want: BTreeMap<Tuple, Count> = all.into_iter().filter(|(t, _)| t.0 != "6").collect();
    assert!(want.keys().any(|t| t.0 == "17"), "no UDP flow in the reference");
    let dir = tempfile::tempdir().unwrap();
    let done = capture(&ns, dir.path(), &pcaps, &["--type", "af_packet", "-f", "not tcp"]);
    let got = flows(&parse(&done.stdout));
    assert_same_flows(&want, &got, "af_packet with filter `not tcp`");
    let read = summary_value(&done.stderr, "read");
    let packets: u64 = want.values().map(|c| c.packets).sum();
    let tcp: u64 =
        reference(&pcaps).iter().filter(|(t, _)| t.0 == "6").map(|(_, c)| c.packets).sum();
    // Frames without a flow (ARP) may be read too; not one TCP frame.
    assert!(read >= packets && read < packets + tcp, "read {read}, non-TCP {packets}, TCP {tcp}");
}

/// A number from the summary lines: `name=N`.
fn summary_value(stderr: &str, name: &str) -> u64 {
    summary_number(stderr, name)
}

#[test]
fn live_sigkill_with_file_output_and_spool_loses_nothing_acknowledged() {
    require_shared!();
    let Some(ns) = setup("live_sigkill_with_file_output_and_spool_loses_nothing_acknowledged")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let spool = dir.path().join("spool");
    let args = [
        "-E".to_owned(),
        format!("output.file.path={}", out_dir.display()),
        "-E".to_owned(),
        "output.file.filename=events.ndjson".to_owned(),
        "-E".to_owned(),
        format!("queue.disk.path={}", spool.display()),
        "-E".to_owned(),
        "wirebeat.flows.period=1s".to_owned(),
    ];
    let file = out_dir.join("events.ndjson");
    let start = |dir: &Path| {
        let mut cmd = ns.wirebeat();
        cmd.args(["run", "-i", "wbB", "-E", "wirebeat.workers=2"]).args(&args);
        Daemon::start(cmd, dir)
    };
    let run1 = dir.path().join("run1");
    std::fs::create_dir_all(&run1).unwrap();
    let mut daemon = start(&run1);
    // Live traffic until the spool has acknowledged events to the file for a while.
    let pcaps: Vec<PathBuf> = CAPTURES.iter().map(|c| corpus(c)).collect();
    let t0 = Instant::now();
    let mut rounds = 0;
    while t0.elapsed() < Duration::from_secs(4) || !spool.join("ack").exists() {
        assert!(t0.elapsed() < Duration::from_secs(60), "no acknowledgement in 60 s");
        for p in &pcaps {
            ns.replay(p);
        }
        rounds += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    daemon.child.kill().unwrap(); // SIGKILL, to the child this test spawned
    daemon.child.wait().unwrap();
    let written = std::fs::read_to_string(&file).unwrap_or_default();
    let (acked, open) = spool_records(&spool);
    assert!(!acked.is_empty(), "nothing acknowledged after {rounds} replays");
    let in_file = multiset(written.lines().map(str::to_owned));
    let missing: Vec<&String> = acked.iter().filter(|d| !in_file.contains_key(*d)).collect();
    assert!(missing.is_empty(), "{} acknowledged events not in the file", missing.len());

    // Restart on the same spool and file: the unacknowledged events are replayed.
    let run2 = dir.path().join("run2");
    std::fs::create_dir_all(&run2).unwrap();
    let second = start(&run2);
    std::thread::sleep(Duration::from_millis(500));
    let done = second.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(summary_value(&done.stderr, "replayed"), open.len() as u64, "{}", done.stderr);
    let after = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<String> = after.lines().map(str::to_owned).collect();
    let all = multiset(lines.iter().cloned());
    let lost: Vec<&String> = acked.iter().chain(&open).filter(|d| !all.contains_key(*d)).collect();
    assert!(lost.is_empty(), "{} spooled events are in neither run's output", lost.len());
    let dups: u64 = all.values().map(|&n| n - 1).sum();
    eprintln!(
        "{rounds} replays; at the kill {} events acknowledged and in the file, {} replayed; \
         {} lines in the file, {dups} duplicates",
        acked.len(),
        open.len(),
        lines.len()
    );
}

/// `n` Ethernet/IPv4/UDP frames of 128 bytes from 64 source ports, as a pcap file.
fn burst_pcap(path: &Path, n: usize) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..n {
        let mut f = Vec::with_capacity(128);
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let total = 128 - 14;
        let mut ip = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&[10, 9, 0, 1, 10, 9, 0, 2]);
        let sum = ip.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum::<u32>();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        let udp_len = (total - 20) as u16;
        f.extend_from_slice(&(40_000 + (i % 64) as u16).to_be_bytes());
        f.extend_from_slice(&9999u16.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.resize(128, 0x5a);
        b.extend_from_slice(&(i as u32 / 1000).to_le_bytes());
        b.extend_from_slice(&((i as u32 % 1000) * 1000).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&f);
    }
    std::fs::write(path, b).unwrap();
}

/// tcpdump's kernel drops for one replay of `pcap` into wbA, captured on wbB.
fn tcpdump_drops(ns: &Netns, dir: &Path, pcap: &Path) -> (u64, u64) {
    let err = dir.join("tcpdump.txt");
    let mut child = ns
        .cmd("tcpdump")
        .args(["-i", "wbB", "-n", "-w", "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&err).unwrap_or_default().contains("listening on") {
        assert!(t0.elapsed() < Duration::from_secs(10), "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    ns.replay(pcap);
    std::thread::sleep(Duration::from_secs(1));
    run_ok(&["kill", "-INT", &child.id().to_string()]).unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&err).unwrap();
    let count = |what: &str| -> u64 {
        text.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {what:?} in tcpdump's output: {text}"))
    };
    (count("packets captured"), count("dropped by kernel"))
}

#[test]
fn live_burst_defaults_drop_no_more_than_tcpdump() {
    burst_drops_no_more_than_tcpdump("live_burst_defaults_drop_no_more_than_tcpdump", &[]);
}

#[test]
fn live_burst_af_packet_drops_no_more_than_tcpdump() {
    burst_drops_no_more_than_tcpdump(
        "live_burst_af_packet_drops_no_more_than_tcpdump",
        &["--type", "af_packet"],
    );
}

fn burst_drops_no_more_than_tcpdump(test: &str, extra: &[&str]) {
    let Some(ns) = setup(test) else {
        return;
    };
    let have_tcpdump =
        Command::new("which").arg("tcpdump").output().is_ok_and(|o| o.status.success());
    if !have_tcpdump {
        eprintln!("{test}: skipped: no tcpdump");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("burst.pcap");
    const N: u64 = 10_000;
    burst_pcap(&pcap, N as usize);
    let (captured, tcpdump) = tcpdump_drops(&ns, dir.path(), &pcap);
    // wirebeat with its defaults (only the interface given) on the same burst.
    let mut cmd = ns.wirebeat();
    cmd.args(["run", "-i", "wbB"]).args(extra);
    let daemon = Daemon::start(cmd, dir.path());
    std::thread::sleep(Duration::from_millis(300));
    ns.replay(&pcap);
    std::thread::sleep(Duration::from_secs(1));
    let done = daemon.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let kernel = summary_value(&done.stderr, "kernel");
    let read = summary_value(&done.stderr, "read");
    eprintln!(
        "burst of {N} {extra:?}: tcpdump captured {captured}, dropped {tcpdump}; wirebeat read {read}, \
         kernel drops {kernel}, channel_full {}",
        summary_value(&done.stderr, "channel_full")
    );
    assert!(kernel <= tcpdump, "wirebeat lost {kernel} frames to the kernel, tcpdump {tcpdump}");
    if tcpdump == 0 {
        assert_eq!(read, N, "every frame read: {}", done.stderr);
    }
}

#[test]
fn live_kafka_unreachable_starts_and_stops_within_the_drain_limit() {
    require_shared!();
    let Some(ns) = setup("live_kafka_unreachable_starts_and_stops_within_the_drain_limit") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = ns.wirebeat();
    cmd.args(["run", "-i", "wbB"])
        .args(["-E", &format!("output.kafka.hosts=[\"127.0.0.1:{port}\"]")])
        .args(["-E", "output.kafka.max_retries=-1", "-E", "wirebeat.shutdown_timeout=2s"]);
    let daemon = Daemon::start(cmd, dir.path());
    ns.replay(&corpus(CAPTURES[0]));
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    let done = daemon.stop();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "stop took {took:?}: {}", done.stderr);
    assert!(done.stderr.contains("stopping: delivering"), "{}", done.stderr);
    assert!(done.stderr.contains("to kafka (up to 2s)"), "{}", done.stderr);
    // The final flows could not be delivered: counted lost, exit 1.
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(done.stderr.contains("events are lost"), "{}", done.stderr);
}

#[test]
fn live_elasticsearch_unreachable_with_a_spool_starts_capturing_and_says_so() {
    require_shared!();
    let Some(ns) =
        setup("live_elasticsearch_unreachable_with_a_spool_starts_capturing_and_says_so")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let es = format!("http://127.0.0.1:{port}");
    let mut cmd = ns.wirebeat();
    cmd.args(["run", "-i", "wbB", "-E", &format!("output.elasticsearch.hosts=[\"{es}\"]")])
        .args(["-E", &format!("queue.disk.path={}", spool.display())])
        .args(["-E", "wirebeat.shutdown_timeout=1s"]);
    let daemon = Daemon::start(cmd, dir.path());
    ns.replay(&corpus(CAPTURES[0]));
    std::thread::sleep(Duration::from_millis(500));
    let done = daemon.stop();
    let warn = done.stderr.lines().find(|l| l.contains("starting anyway")).unwrap_or_else(|| {
        panic!("no warning: {}", done.stderr);
    });
    assert!(warn.contains(&es) && warn.contains(&spool.display().to_string()), "{warn}");
    assert!(summary_value(&done.stderr, "read") > 0, "{}", done.stderr);
    // The events wait in the spool: nothing lost, exit 0.
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("stay in the spool"), "{}", done.stderr);

    // Without a spool the reason is one line and the exit code 1.
    let out = ns
        .wirebeat()
        .args(["run", "-i", "wbB", "-E", &format!("output.elasticsearch.hosts=[\"{es}\"]")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // (The namespace's loopback is down: "network is unreachable" rather than refused.)
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot connect") && stderr.contains(&es), "{stderr}");
}
