//! Bad configurations, table-driven, through the real binary: each row is a configuration (a
//! file, `-E` overrides or flags) that `test config`, `read` or `run` must refuse with ONE line
//! on stderr that names the key (or the file), the exit code of the CLI contract (2 for a usage
//! error such as a malformed `-E`, 1 for every other configuration or runtime error), and no
//! panic or abort. The first rows are the values that passed `test config` and then crashed
//! `run` (issue #15): `workers=20000` aborted, `channel_batches=1000000000` ran out of memory,
//! `channel_batches=18446744073709551615` panicked.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What the configuration file of a row is (`{cfg}` in its arguments).
enum Input {
    /// No file; the row's arguments say everything.
    None,
    /// A YAML file with this text.
    Yaml(&'static str),
    /// A file with these bytes (not text).
    Bytes(&'static [u8]),
    /// A directory where the file should be.
    Dir,
    /// A file that cannot be opened for reading (skipped when running as root, who can).
    Unreadable,
    /// A path where nothing is.
    Missing,
}

struct Case {
    name: &'static str,
    input: Input,
    /// Arguments; `{cfg}` is the configuration path, `{pcap}` a capture that reads fine.
    args: &'static [&'static str],
    code: i32,
    /// Texts the one stderr line must contain (the key, the value, the range, the line).
    expect: &'static [&'static str],
}

const TEST: &[&str] = &["test", "config", "-c", "{cfg}"];
const READ: &[&str] = &["read", "--no-progress", "-c", "{cfg}", "{pcap}"];
const RUN: &[&str] = &["run", "-c", "{cfg}", "-i", "doesnotexist0"];

fn cases() -> Vec<Case> {
    use Input::*;
    let mut v = vec![
        // The three crashes of issue #15, through each command that loads a configuration.
        Case {
            name: "workers=20000 (aborted run)",
            input: None,
            args: &["test", "config", "-E", "wirebeat.workers=20000"],
            code: 1,
            expect: &["-E wirebeat.workers=20000", "wirebeat.workers", "between 0 and 1024", "20000"],
        },
        Case {
            name: "channel_batches=1e9 (out of memory)",
            input: None,
            args: &["test", "config", "-E", "wirebeat.channel_batches=1000000000"],
            code: 1,
            expect: &["wirebeat.channel_batches", "between 1 and 256", "1000000000"],
        },
        Case {
            name: "channel_batches=u64::MAX (capacity panic)",
            input: None,
            args: &["test", "config", "-E", "wirebeat.channel_batches=18446744073709551615"],
            code: 1,
            expect: &["wirebeat.channel_batches", "18446744073709551615"],
        },
        Case {
            name: "channel_batches=u64::MAX in read",
            input: None,
            args: &["read", "-E", "wirebeat.channel_batches=18446744073709551615", "{pcap}"],
            code: 1,
            expect: &["wirebeat.channel_batches", "18446744073709551615"],
        },
        Case {
            name: "workers=20000 in run",
            input: None,
            args: &["run", "-E", "wirebeat.workers=20000", "-i", "lo"],
            code: 1,
            expect: &["wirebeat.workers", "20000"],
        },
        Case {
            name: "channel_batches=1e9 in run",
            input: Yaml("wirebeat:\n  channel_batches: 1000000000\n"),
            args: RUN,
            code: 1,
            expect: &["line 2", "wirebeat.channel_batches", "1000000000"],
        },
        Case {
            name: "workers × channel_batches",
            input: Yaml("wirebeat:\n  workers: 1024\n  channel_batches: 256\n"),
            args: TEST,
            code: 1,
            expect: &["line 3", "wirebeat.channel_batches", "workers × channel_batches", "65536"],
        },
        // Keys and types.
        Case {
            name: "unknown key",
            input: Yaml("wirebeat:\n  flows:\n    timout: 10s\n"),
            args: TEST,
            code: 1,
            expect: &["line 3", "unknown key", "wirebeat.flows.timout"],
        },
        Case {
            name: "wrong type",
            input: Yaml("wirebeat.workers: two\n"),
            args: READ,
            code: 1,
            expect: &["line 1", "wirebeat.workers", "invalid type"],
        },
        Case {
            name: "wrong type of a duration",
            input: Yaml("wirebeat.flows.period: [1]\n"),
            args: TEST,
            code: 1,
            expect: &["line 1", "wirebeat.flows.period"],
        },
        // The file itself.
        Case {
            name: "missing file",
            input: Missing,
            args: TEST,
            code: 1,
            expect: &["cannot read config file", "no-such.yml"],
        },
        Case {
            name: "file is a directory",
            input: Dir,
            args: TEST,
            code: 1,
            expect: &["cannot read config file", "a-directory"],
        },
        Case {
            name: "unreadable file",
            input: Unreadable,
            args: TEST,
            code: 1,
            expect: &["cannot read config file", "unreadable.yml"],
        },
        Case {
            name: "not text",
            input: Bytes(b"name: \xff\xfe\n"),
            args: READ,
            code: 1,
            expect: &["cannot read config file", "bytes.yml"],
        },
        Case {
            name: "YAML syntax",
            input: Yaml("wirebeat:\n  workers: [1\n"),
            args: TEST,
            code: 1,
            expect: &["YAML syntax error", "line"],
        },
        // `-E` and `${VAR}`.
        Case {
            name: "-E without =",
            input: None,
            args: &["test", "config", "-E", "wirebeat.workers"],
            code: 2,
            expect: &["invalid -E argument", "wirebeat.workers", "key=value"],
        },
        Case {
            name: "-E with an empty key part",
            input: None,
            args: &["read", "-E", "wirebeat..workers=2", "{pcap}"],
            code: 2,
            expect: &["invalid -E argument", "wirebeat..workers=2"],
        },
        Case {
            name: "-E unknown key",
            input: None,
            args: &["test", "config", "-E", "wirebeat.nokey=1"],
            code: 1,
            expect: &["-E wirebeat.nokey=1", "unknown key", "wirebeat.nokey"],
        },
        Case {
            name: "-E bad value",
            input: None,
            args: &["test", "config", "-E", "wirebeat.flows.timeout=10x"],
            code: 1,
            expect: &["-E wirebeat.flows.timeout=10x", "wirebeat.flows.timeout", "unit"],
        },
        Case {
            name: "-E out of range over a file",
            input: Yaml("wirebeat.workers: 2\n"),
            args: &["test", "config", "-c", "{cfg}", "-E", "wirebeat.workers=5000"],
            code: 1,
            expect: &["-E wirebeat.workers=5000", "wirebeat.workers", "5000"],
        },
        Case {
            name: "unset ${VAR}",
            input: Yaml("name: sensor\nwirebeat.namespace: ${WIREBEAT_TEST_UNSET_VAR}\n"),
            args: TEST,
            code: 1,
            expect: &["line 2", "WIREBEAT_TEST_UNSET_VAR", "not set"],
        },
        Case {
            name: "malformed ${",
            input: Yaml("name: ${oops\n"),
            args: TEST,
            code: 1,
            expect: &["line 1", "unterminated"],
        },
        Case {
            name: "${VAR} giving an out-of-range number",
            input: Yaml("wirebeat.workers: ${WIREBEAT_TEST_WORKERS:99999}\n"),
            args: TEST,
            code: 1,
            expect: &["line 1", "wirebeat.workers", "99999"],
        },
        // Capture: BPF and interfaces.
        Case {
            name: "bad BPF filter in the file",
            input: Yaml("wirebeat.interfaces:\n  - name: lo\n    bpf_filter: 'tcp port((('\n"),
            args: TEST,
            code: 1,
            expect: &["line 3", "wirebeat.interfaces[0].bpf_filter", "BPF", "tcp port((("],
        },
        Case {
            name: "bad BPF filter in run",
            input: Yaml("wirebeat.interfaces:\n  - name: lo\n    bpf_filter: 'tcp port((('\n"),
            args: &["run", "-c", "{cfg}"],
            code: 1,
            expect: &["wirebeat.interfaces[0].bpf_filter", "BPF"],
        },
        Case {
            name: "bad BPF filter with -f",
            input: None,
            args: &["run", "-i", "lo", "-f", "tcp port((("],
            code: 1,
            expect: &["wirebeat.interfaces[0].bpf_filter", "BPF", "tcp port((("],
        },
        Case {
            name: "missing interface",
            input: None,
            args: &["run", "-i", "doesnotexist0"],
            code: 1,
            expect: &["doesnotexist0", "no such interface"],
        },
        Case {
            name: "run without an interface",
            input: None,
            args: &["run"],
            code: 2,
            expect: &["interface"],
        },
        // Outputs.
        Case {
            name: "two outputs",
            input: Yaml(
                "output.elasticsearch:\n  hosts: [\"http://127.0.0.1:9200\"]\noutput.file:\n  path: /tmp\n",
            ),
            args: TEST,
            code: 1,
            expect: &["output.elasticsearch and output.file", "enable exactly one"],
        },
        Case {
            name: "console and file",
            input: Yaml("output.console: {}\noutput.file: {path: /tmp}\n"),
            args: READ,
            code: 1,
            expect: &["output.console and output.file"],
        },
        Case {
            name: "missing Elasticsearch CA file",
            input: Yaml(
                "output.elasticsearch:\n  hosts: [\"https://127.0.0.1:9200\"]\n  ssl:\n    \
                 certificate_authorities: [/nonexistent/ca.pem]\n",
            ),
            args: TEST,
            code: 1,
            expect: &[
                "line 4",
                "output.elasticsearch.ssl.certificate_authorities",
                "/nonexistent/ca.pem",
            ],
        },
        Case {
            name: "missing Kafka CA file",
            input: Yaml(
                "output.kafka:\n  hosts: [\"127.0.0.1:9092\"]\n  ssl:\n    \
                 certificate_authorities: [/nonexistent/ca.pem]\n",
            ),
            args: READ,
            code: 1,
            expect: &["output.kafka.ssl", "/nonexistent/ca.pem"],
        },
        Case {
            name: "Kibana CA that is no certificate",
            input: None,
            args: &["test", "config", "-E", "setup.kibana.ssl.certificate_authorities=[/etc/hostname]"],
            code: 1,
            expect: &["setup.kibana.ssl.certificate_authorities", "/etc/hostname"],
        },
        // Processors: the condition or option at fault, with its line.
        Case {
            name: "processor with an unknown condition",
            input: Yaml(
                "processors:\n  - drop_event:\n      when:\n        equal:\n          network.protocol: dns\n",
            ),
            args: TEST,
            code: 1,
            expect: &["line 4", "processors[0].drop_event.when.equal", "unknown condition \"equal\"", "equals, contains"],
        },
        Case {
            name: "processor with a bad regular expression",
            input: Yaml(
                "processors:\n  - add_tags: {tags: [x]}\n  - drop_event:\n      when:\n        regexp:\n          url.path: \"([\"\n",
            ),
            args: READ,
            code: 1,
            expect: &["line 6", "processors[1].drop_event.when.regexp.url.path", "invalid regular expression"],
        },
        Case {
            name: "processor with a bad network",
            input: None,
            args: &["test", "config", "-E", "processors=[{drop_event: {when: {network: {source.ip: privat}}}}]"],
            code: 1,
            expect: &["-E processors=", "processors[0].drop_event.when.network.source.ip", "\"privat\""],
        },
        Case {
            name: "unknown processor",
            input: Yaml("processors:\n  - drop_events: {}\n"),
            args: TEST,
            code: 1,
            expect: &["line 2", "processors[0]", "drop_events", "drop_event, drop_fields, add_fields, add_tags"],
        },
        Case {
            name: "processor option typo",
            input: Yaml("processors:\n  - drop_fields:\n      fields: [dns.id]\n      ignore_mising: true\n"),
            args: TEST,
            code: 1,
            expect: &["line 4", "processors[0].drop_fields.ignore_mising", "ignore_missing"],
        },
        Case {
            name: "range on a string",
            input: Yaml("processors:\n  - drop_event.when.range:\n      http.response.status_code.gte: high\n"),
            args: TEST,
            code: 1,
            expect: &["line 3", "processors[0].drop_event.when.range.http.response.status_code.gte", "expected a number"],
        },
        Case {
            name: "empty host name",
            input: Yaml("wirebeat.host_metadata.name: \"\"\n"),
            args: TEST,
            code: 1,
            expect: &["line 1", "wirebeat.host_metadata.name", "must not be empty"],
        },
        Case {
            name: "unknown direction mode",
            input: Yaml("wirebeat:\n  network_direction: ingress\n"),
            args: TEST,
            code: 1,
            expect: &["line 2", "wirebeat.network_direction", "\"ingress\"", "perimeter, observer"],
        },
    ];
    v.extend(ranges());
    v
}

/// One row per range: a value just past the bound the machine can honour.
fn ranges() -> Vec<Case> {
    let row =
        |name, yaml, expect| Case { name, input: Input::Yaml(yaml), args: TEST, code: 1, expect };
    vec![
        row("workers", "wirebeat.workers: 1025\n", &["line 1", "wirebeat.workers", "1025"]),
        row("channel_batches 0", "wirebeat.channel_batches: 0\n", &["wirebeat.channel_batches", "got 0"]),
        row("health_period", "wirebeat.health_period: 10ms\n", &["wirebeat.health_period", "10ms", "0s"]),
        row("shutdown_timeout", "wirebeat.shutdown_timeout: 1000h\n", &["wirebeat.shutdown_timeout", "1000h"]),
        row("flows.period", "wirebeat.flows.period: 1ms\n", &["wirebeat.flows.period", "1ms"]),
        row("flows.timeout", "wirebeat.flows.timeout: 9999h\n", &["wirebeat.flows.timeout", "9999h"]),
        row("flows.udp_timeout", "wirebeat.flows.udp_timeout: 9999h\n", &["wirebeat.flows.udp_timeout"]),
        row("flows.max_flows", "wirebeat.flows.max_flows: 1000000000\n", &["wirebeat.flows.max_flows", "10000000"]),
        row("defrag.timeout", "wirebeat.defrag.timeout: 2h\n", &["wirebeat.defrag.timeout", "2h"]),
        row("defrag.max_datagrams", "wirebeat.defrag.max_datagrams: 100000000\n", &["wirebeat.defrag.max_datagrams", "100000000"]),
        row("defrag.max_datagram_bytes", "wirebeat.defrag.max_datagram_bytes: 1000000\n", &["wirebeat.defrag.max_datagram_bytes", "65575"]),
        row("tunnels port 0", "wirebeat.tunnels.vxlan_ports: [4789, 0]\n", &["wirebeat.tunnels.vxlan_ports[1]", "got 0"]),
        row("protocol port 0", "wirebeat.protocols.dns.ports: [0]\n", &["wirebeat.protocols.dns.ports[0]", "got 0"]),
        row("protocol port 65536", "wirebeat.protocols.dns.ports: [65536]\n", &["wirebeat.protocols.dns.ports[0]", "65536"]),
        row("http.max_headers", "wirebeat.protocols.http.max_headers: 1000000\n", &["wirebeat.protocols.http.max_headers", "1000000"]),
        row("http.max_body_bytes", "wirebeat.protocols.http.max_body_bytes: 1000000000\n", &["wirebeat.protocols.http.max_body_bytes"]),
        row("streams.max_buffer_bytes", "wirebeat.streams.max_buffer_bytes: 1000000000\n", &["wirebeat.streams.max_buffer_bytes", "1000000000"]),
        row("streams.max_out_of_order_bytes", "wirebeat.streams.max_out_of_order_bytes: 1000000000\n", &["wirebeat.streams.max_out_of_order_bytes"]),
        row("streams.max_pending_transactions", "wirebeat.streams.max_pending_transactions: 10000000\n", &["wirebeat.streams.max_pending_transactions"]),
        row("streams.transaction_timeout", "wirebeat.streams.transaction_timeout: 2h\n", &["wirebeat.streams.transaction_timeout"]),
        row("snaplen", "wirebeat.interfaces:\n  - name: lo\n    snaplen: 10\n", &["line 3", "wirebeat.interfaces[0].snaplen", "64 and 262144"]),
        row("buffer_size_mb", "wirebeat.interfaces:\n  - name: lo\n    buffer_size_mb: 4096\n", &["line 3", "wirebeat.interfaces[0].buffer_size_mb", "2047", "4096"]),
        row("queue.mem.events", "queue.mem.events: 1000000000\n", &["queue.mem.events", "1000000000"]),
        row("queue.mem.bytes", "queue.mem.bytes: 1TiB\n", &["queue.mem.bytes", "64GiB", "1TiB"]),
        row("queue.disk.segment_size", "queue.disk:\n  path: /tmp/x\n  segment_size: 2GiB\n  max_size: 10GiB\n", &["line 3", "queue.disk.segment_size", "1GiB", "2GiB"]),
        row("queue.disk.max_size", "queue.disk:\n  path: /tmp/x\n  max_size: 100TiB\n", &["line 3", "queue.disk.max_size", "16TiB"]),
        row("file.rotate_every_kb", "output.file:\n  path: /tmp\n  rotate_every_kb: 1000000000000000000\n", &["line 3", "output.file.rotate_every_kb"]),
        row("file.number_of_files", "output.file:\n  path: /tmp\n  number_of_files: 100000\n", &["line 3", "output.file.number_of_files", "1024"]),
        row("kafka.bulk_max_size", "output.kafka:\n  hosts: [\"127.0.0.1:9092\"]\n  bulk_max_size: 0\n", &["line 3", "output.kafka.bulk_max_size"]),
        row("kafka.queue_max_events", "output.kafka:\n  hosts: [\"127.0.0.1:9092\"]\n  queue_max_events: 1000000000\n", &["line 3", "output.kafka.queue_max_events"]),
        row("kafka host port", "output.kafka:\n  hosts: [\"127.0.0.1:0\"]\n", &["line 2", "output.kafka.hosts"]),
        row("kafka.timeout", "output.kafka:\n  hosts: [\"127.0.0.1:9092\"]\n  timeout: 100h\n", &["line 3", "output.kafka.timeout"]),
        row("elasticsearch.bulk_max_size", "output.elasticsearch:\n  hosts: [\"http://127.0.0.1:9200\"]\n  bulk_max_size: 1000000\n", &["line 3", "output.elasticsearch.bulk_max_size", "100000"]),
        row("elasticsearch.bulk_max_bytes", "output.elasticsearch:\n  hosts: [\"http://127.0.0.1:9200\"]\n  bulk_max_bytes: 1GiB\n", &["line 3", "output.elasticsearch.bulk_max_bytes"]),
        row("elasticsearch.timeout", "output.elasticsearch:\n  hosts: [\"http://127.0.0.1:9200\"]\n  timeout: 2h\n", &["line 3", "output.elasticsearch.timeout", "2h"]),
        row("elasticsearch.backoff.max", "output.elasticsearch:\n  hosts: [\"http://127.0.0.1:9200\"]\n  backoff.max: 2h\n", &["line 3", "output.elasticsearch.backoff.max"]),
        row("elasticsearch.compression_level", "output.elasticsearch:\n  hosts: [\"http://127.0.0.1:9200\"]\n  compression_level: 10\n", &["line 3", "output.elasticsearch.compression_level", "10"]),
        row("kibana.timeout", "setup.kibana.timeout: 0s\n", &["line 1", "setup.kibana.timeout", "0s"]),
    ]
}

/// Runs the binary with a time limit (a row that is not refused must not hang the suite).
fn run(args: &[String]) -> (Option<i32>, String) {
    let mut child = common::wirebeat()
        .args(args)
        .env_remove("WIREBEAT_TEST_UNSET_VAR")
        .env_remove("WIREBEAT_TEST_WORKERS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status.and_then(|s| s.code()), err)
}

/// The configuration path of a row, created in `dir`; `None` when the row cannot be made here.
fn prepare(input: &Input, dir: &Path) -> Option<PathBuf> {
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    };
    Some(match input {
        Input::None => dir.join("unused.yml"),
        Input::Yaml(text) => write("wirebeat.yml", text.as_bytes()),
        Input::Bytes(b) => write("bytes.yml", b),
        Input::Missing => dir.join("no-such.yml"),
        Input::Dir => {
            let p = dir.join("a-directory");
            std::fs::create_dir(&p).unwrap();
            p
        }
        Input::Unreadable => {
            use std::os::unix::fs::PermissionsExt;
            let p = write("unreadable.yml", b"name: x\n");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
            // Root reads it anyway: nothing to test then.
            if std::fs::read(&p).is_ok() {
                return None;
            }
            p
        }
    })
}

#[test]
fn bad_configurations_give_one_line_naming_the_key() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/demo.pcap");
    let mut failures = Vec::new();
    let cases = cases();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        let Some(cfg) = prepare(&case.input, dir.path()) else {
            eprintln!("skipped (cannot be set up here): {}", case.name);
            continue;
        };
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| match *a {
                "{cfg}" => cfg.display().to_string(),
                "{pcap}" => pcap.display().to_string(),
                a => a.to_string(),
            })
            .collect();
        let (code, err) = run(&args);
        let mut problems = Vec::new();
        if code != Some(case.code) {
            problems.push(format!("exit code {code:?}, expected {}", case.code));
        }
        if err.contains("panicked") || matches!(code, Some(101 | 134) | None) {
            problems.push("panicked, aborted or hung".into());
        }
        let lines: Vec<&str> = err.lines().collect();
        if lines.len() != 1 {
            problems.push(format!("{} stderr lines, expected 1", lines.len()));
        }
        let line = lines.first().copied().unwrap_or("");
        if !line.starts_with("wirebeat: ") {
            problems.push("the line does not start with \"wirebeat: \"".into());
        }
        for want in case.expect {
            if !line.contains(want) {
                problems.push(format!("no {want:?} in the line"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    args: {args:?}\n    stderr: {err}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The bounds themselves are accepted (the ranges are inclusive and documented as such).
#[test]
fn values_at_the_bounds_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wirebeat.yml");
    std::fs::write(
        &cfg,
        "wirebeat:\n  workers: 256\n  channel_batches: 256\n  health_period: 0s\n  \
         shutdown_timeout: 0s\n  flows.period: 0s\n  flows.max_flows: 10000000\n  \
         defrag.max_datagram_bytes: 65575\n  streams.max_buffer_bytes: 67108864\n  \
         interfaces:\n    - name: lo\n      buffer_size_mb: 2047\n      bpf_filter: tcp port 80\n\
         queue.mem.bytes: 64GiB\nqueue.mem.events: 16777216\n",
    )
    .unwrap();
    let (code, err) =
        run(&["test".into(), "config".into(), "-c".into(), cfg.display().to_string()]);
    assert_eq!(code, Some(0), "{err}");
}
