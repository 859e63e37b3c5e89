//! wirebeat's own log, through the binary: ECS lines use only ECS field names (checked against
//! `ecs_flat.yml`) or the documented `wirebeat.log.*`; text lines carry no ANSI codes off a
//! terminal (and do on one); hot-path warnings are rate-limited with a count of what was held
//! back; SIGHUP's `logging.level` handler swaps the level live; and no secret of the
//! configuration is ever written — every line of stdout and stderr and every file a run leaves
//! is searched for known secrets, in the plain, base64 and `Authorization` forms.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;
mod es_server;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

fn capture() -> PathBuf {
    corpus().join("pcaps/zeek-wikipedia.pcap")
}

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Field names of ECS (`ecs_flat.yml`: one unindented `name:` line per field).
fn ecs_names() -> BTreeSet<String> {
    let text = std::fs::read_to_string(shared().join("ecs/ecs_flat.yml")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && l.ends_with(':'))
        .map(|l| l.trim_end_matches(':').trim_matches('\'').trim_matches('"').to_owned())
        .collect()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The JSON log lines of a stderr (other lines are the CLI's own messages and the summary).
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON log line {l:?}: {e}")))
        .collect()
}

/// A `read` of the capture to an unreachable Kafka broker that gives up quickly: it logs
/// connection errors (librdkafka's own lines), delivery timeouts and drops.
fn read_to_dead_kafka(extra: &[&str]) -> Output {
    let hosts = format!("output.kafka.hosts=[\"127.0.0.1:{}\"]", closed_port());
    let mut c = wirebeat();
    c.args(["read", "--no-progress", "-E", &hosts]).args([
        "-E",
        "output.kafka.timeout=1s",
        "-E",
        "output.kafka.max_retries=1",
    ]);
    for e in extra {
        c.args(["-E", e]);
    }
    c.arg(capture()).output().unwrap()
}

#[test]
fn ecs_log_lines_use_only_ecs_fields_and_the_documented_custom_place() {
    require_shared!();
    let names = ecs_names();
    assert!(names.contains("log.level") && names.contains("@timestamp"), "ecs_flat.yml read");
    let out = read_to_dead_kafka(&["logging.format=ecs", "logging.level=debug"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\u{1b}'), "ANSI codes in the ECS log:\n{stderr}");
    let lines = json_lines(&stderr);
    assert!(lines.len() >= 3, "too few log lines:\n{stderr}");
    let mut loggers = BTreeSet::new();
    for l in &lines {
        let obj = l.as_object().unwrap();
        for (k, v) in obj {
            assert!(
                names.contains(k) || k.starts_with("wirebeat.log."),
                "{k} is neither an ECS field nor under wirebeat.log.*: {l}"
            );
            assert!(!v.is_object(), "flat dotted keys only: {k} in {l}");
        }
        for k in ["@timestamp", "log.level", "message", "ecs.version", "log.logger"] {
            assert!(obj.contains_key(k), "{k} missing: {l}");
        }
        assert_eq!(l["service.name"], "wirebeat");
        assert_eq!(l["event.dataset"], "wirebeat.log");
        assert_eq!(
            l["ecs.version"].as_str(),
            Some(std::fs::read_to_string(shared().join("ecs/VERSION")).unwrap().trim())
        );
        let level = l["log.level"].as_str().unwrap();
        assert!(["error", "warn", "info", "debug", "trace"].contains(&level), "{l}");
        loggers.insert(l["log.logger"].as_str().unwrap().to_owned());
    }
    // Our own lines and librdkafka's (through rdkafka's tracing) are both ECS.
    assert!(loggers.iter().any(|t| t.starts_with("wirebeat::")), "{loggers:?}");
    assert!(loggers.iter().any(|t| t.contains("rdkafka")), "{loggers:?}");
    let dropped = lines
        .iter()
        .find(|l| l["message"].as_str().is_some_and(|m| m.contains("dropped after max_retries")))
        .unwrap_or_else(|| panic!("no drop warning:\n{stderr}"));
    assert_eq!(dropped["log.level"], "warn");
    assert!(dropped["wirebeat.log.events"].as_u64().unwrap() > 0, "{dropped}");
    assert_eq!(dropped["log.origin.file.name"], "src/pipeline/output.rs");
}

#[test]
fn text_log_has_no_ansi_codes_off_a_terminal_and_colours_on_one() {
    require_shared!();
    let out = read_to_dead_kafka(&["logging.level=debug"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" WARN "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI codes with stderr a pipe:\n{stderr}");
    assert!(json_lines(&stderr).is_empty(), "text format wrote JSON:\n{stderr}");

    // On a terminal (util-linux `script` gives the process one), the same run has colours.
    let has_script = std::process::Command::new("script").arg("--version").output().is_ok();
    if !has_script {
        skipped("`script` (util-linux) not installed: the terminal half is not checked");
        return;
    }
    let hosts = format!("output.kafka.hosts=[\\\"127.0.0.1:{}\\\"]", closed_port());
    let cmd = format!(
        "{} read --no-progress -E \"{hosts}\" -E output.kafka.timeout=1s \
         -E output.kafka.max_retries=1 {}",
        env!("CARGO_BIN_EXE_wirebeat"),
        capture().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("WIREBEAT_LOG")
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("\u{1b}["), "no colours on a terminal:\n{tty}");
}

#[test]
fn sighup_handler_swaps_the_level_live() {
    // In this test process: the one global subscriber, with the level read from a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wirebeat.yml");
    std::fs::write(&file, "logging.level: info\n").unwrap();
    let cfg = wirebeat::config::load(Some(&file), &[]).unwrap();
    let path = file.clone();
    let reread = move || {
        wirebeat::config::load(Some(&path), &[])
            .map(|s| s.logging.level.clone())
            .map_err(|e| e.to_string())
    };
    std::env::remove_var("WIREBEAT_LOG");
    wirebeat::logging::init(&cfg.logging, "9.4.0", Box::new(reread));
    assert!(tracing::enabled!(tracing::Level::INFO));
    assert!(!tracing::enabled!(tracing::Level::DEBUG));
    assert!(!tracing_log::log::log_enabled!(tracing_log::log::Level::Debug));

    let mine = |all: Vec<(String, wirebeat::reload::Outcome)>| {
        all.into_iter().find(|(n, _)| n == "logging.level").map(|(_, o)| o).unwrap()
    };
    std::fs::write(&file, "logging.level: debug\n").unwrap();
    assert_eq!(mine(wirebeat::reload::reload_all()), Ok("info → debug".to_owned()));
    assert!(tracing::enabled!(tracing::Level::DEBUG), "the new level is in force");
    // Also for records of the `log` crate (rustls, ureq), which reach tracing through a bridge.
    assert!(tracing_log::log::log_enabled!(tracing_log::log::Level::Debug));

    // A broken file keeps the level in force and says why.
    std::fs::write(&file, "logging.level: loud\n").unwrap();
    let e = mine(wirebeat::reload::reload_all()).unwrap_err();
    assert!(e.starts_with("kept debug: ") && e.contains("logging.level"), "{e}");
    assert!(tracing::enabled!(tracing::Level::DEBUG));

    std::fs::write(&file, "logging:\n  level: error\n").unwrap();
    assert_eq!(mine(wirebeat::reload::reload_all()), Ok("debug → error".to_owned()));
    assert!(!tracing::enabled!(tracing::Level::WARN));
}

#[test]
fn rate_limited_warnings_say_how_many_were_suppressed() {
    require_shared!();
    // A spool with many damaged records: recovery warns once per record, from one call site.
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let spool_arg = format!("queue.disk.path={}", spool.display());
    let out = read_to_dead_kafka(&[&spool_arg, "wirebeat.shutdown_timeout=2s"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (_, open) = spool_records(&spool);
    assert!(open.len() > 20, "the spool keeps the events: {}", open.len());

    // Damage every second record's payload (its checksum then fails).
    let mut damaged = 0;
    for entry in std::fs::read_dir(&spool).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_str().unwrap().starts_with("segment-") {
            continue;
        }
        let mut b = std::fs::read(&path).unwrap();
        let (mut off, mut i) = (8, 0);
        while off + 8 <= b.len() {
            let len = u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as usize;
            if off + 8 + len > b.len() {
                break;
            }
            if i % 2 == 1 {
                b[off + 8 + len - 2] ^= 0x20;
                damaged += 1;
            }
            off += 8 + len;
            i += 1;
        }
        std::fs::write(&path, b).unwrap();
    }
    assert!(damaged > 10, "{damaged}");

    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = wirebeat()
        .args(["read", "--no-progress", "-E", &spool_arg])
        .args(["-E", &format!("output.file.path={}", out_dir.display())])
        .arg(capture())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let per_record: Vec<&str> =
        stderr.lines().filter(|l| l.contains("spool record damaged")).collect();
    let burst = wirebeat::logging::ratelimit::BURST as usize;
    assert_eq!(per_record.len(), burst, "{stderr}");
    // "suppressed K similar messages", with the call site of the damaged-record line.
    let said: u64 = stderr
        .lines()
        .filter(|l| l.contains("src/queue/spool.rs"))
        .filter_map(|l| {
            let (_, rest) = l.split_once("suppressed ")?;
            let (k, rest) = rest.split_once(' ')?;
            rest.starts_with("similar messages").then(|| k.parse::<u64>().ok())?
        })
        .sum();
    assert!(summary_has(&stderr, &format!("corrupt={damaged}")), "{stderr}");
    assert_eq!(
        said as usize + burst,
        damaged,
        "every damaged record written or counted:\n{stderr}"
    );
}

fn summary_has(stderr: &str, what: &str) -> bool {
    stderr.lines().any(|l| l.starts_with("wirebeat summary ") && l.contains(what))
}

// ---- secrets ---------------------------------------------------------------------------------

const KAFKA_PASSWORD: &str = "kafka-Pw-7f3a91c2";
const ES_API_KEY: &str = "esid42:es-ApiKey-5be81d07";
const ES_PASSWORD: &str = "es-Pw-c0ffee99";
const KIBANA_PASSWORD: &str = "kib-Pw-d15ea5e0";

/// Every way a secret could show: as written, base64 (an API key header, a Basic header with
/// its user), and the parts of an `id:key` API key.
fn secret_forms() -> Vec<String> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut forms = vec![
        KAFKA_PASSWORD.to_owned(),
        ES_API_KEY.to_owned(),
        "es-ApiKey-5be81d07".to_owned(),
        ES_PASSWORD.to_owned(),
        KIBANA_PASSWORD.to_owned(),
        b64(ES_API_KEY),
        b64(&format!("elastic:{ES_PASSWORD}")),
        b64(&format!("kibana:{KIBANA_PASSWORD}")),
    ];
    // Base64 of a secret inside a longer string starts at any of three alignments.
    for s in [ES_PASSWORD, KIBANA_PASSWORD, KAFKA_PASSWORD] {
        for pad in ["", "x", "xx"] {
            let enc = b64(&format!("{pad}{s}"));
            forms.push(enc[4..enc.len() - 4].to_owned());
        }
    }
    forms
}

/// Fails if any output of `what` holds a secret in any form.
fn assert_no_secret(what: &str, out: &Output, files_under: &Path) {
    let mut texts = vec![("stdout+stderr".to_owned(), text(out))];
    let mut stack = vec![files_under.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "wirebeat.yml") {
                let bytes = std::fs::read(&p).unwrap();
                texts.push((p.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    for (place, t) in &texts {
        for s in secret_forms() {
            assert!(!t.contains(&s), "{what}: {place} contains the secret form {s:?}:\n{t}");
        }
    }
}

/// The port in a config's `hosts: ["127.0.0.1:PORT"]`.
fn kafka_port(yaml: &str) -> u16 {
    let at = yaml.find("127.0.0.1:").unwrap() + "127.0.0.1:".len();
    yaml[at..].split('"').next().unwrap().parse().unwrap()
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let out = wirebeat().current_dir(dir).args(args).env("WIREBEAT_LOG", "trace").output().unwrap();
    assert!(!text(&out).contains("panicked"), "{args:?}: {}", text(&out));
    out
}

#[test]
fn known_secrets_are_never_written_by_any_command() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spool = d.join("spool");
    let es = es_server::EsServer::start();
    // The server wants other credentials: every request is answered 401.
    es.state.lock().unwrap().require_auth = Some("Basic b3RoZXI6b3RoZXI=".into());
    let common = format!(
        "queue.disk.path: {spool}\nwirebeat.shutdown_timeout: 2s\n\
         setup.kibana:\n  host: {url}\n  username: kibana\n  password: {KIBANA_PASSWORD}\n  timeout: 2s\n",
        spool = spool.display(),
        url = es.url(),
    );
    let kafka = format!(
        "output.kafka:\n  hosts: [\"127.0.0.1:{port}\"]\n  username: wb\n  password: {KAFKA_PASSWORD}\n  \
         sasl: {{mechanism: SCRAM-SHA-512}}\n  timeout: 1s\n  max_retries: 1\n{common}",
        port = closed_port()
    );
    let es_key = format!(
        "output.elasticsearch:\n  hosts: [\"{url}\"]\n  api_key: \"{ES_API_KEY}\"\n  \
         dead_letter_file: {dl}\n{common}",
        url = es.url(),
        dl = d.join("dead.ndjson").display()
    );
    let es_basic = format!(
        "output.elasticsearch:\n  hosts: [\"{url}\"]\n  username: elastic\n  password: {ES_PASSWORD}\n{common}",
        url = es.url()
    );
    // A real SASL handshake (Tansu refuses the mechanism): librdkafka's authentication errors.
    let tansu = common::kafka::tansu_bin().map(common::kafka::Tansu::start);
    let sasl = tansu.as_ref().map(|t| {
        kafka.replace(
            &format!("127.0.0.1:{}\"]", kafka_port(&kafka)),
            &format!("{}\"]", t.bootstrap()),
        )
    });
    if sasl.is_none() {
        skipped("tansu is not installed: the SASL handshake case is not run");
    }
    let mut configs =
        vec![("kafka", kafka.clone()), ("es_api_key", es_key), ("es_basic", es_basic)];
    configs.extend(sasl.map(|y| ("kafka_sasl_handshake", y)));
    let pcap = capture();
    let pcap = pcap.to_str().unwrap();
    let mut ran = 0;
    for (name, yaml) in &configs {
        let file = d.join("wirebeat.yml");
        std::fs::write(&file, yaml).unwrap();
        let f = file.to_str().unwrap();
        for format in ["text", "ecs"] {
            let fmt = format!("logging.format={format}");
            let base = ["-c", f, "-E", &fmt, "-E", "logging.level=debug"];
            let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
                head.iter().chain(base.iter()).chain(tail.iter()).map(|s| s.to_string()).collect()
            };
            for args in [
                with(&["test", "config", "-v"], &[]),
                with(&["test", "output"], &[]),
                with(&["read", "--no-progress"], &[pcap]),
                with(&["setup", "--dashboards"], &[]),
            ] {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = run_in(d, &args);
                assert_no_secret(&format!("{name} {format} {args:?}"), &out, d);
                if *name == "kafka_sasl_handshake" && args[0] == "read" {
                    assert!(text(&out).contains("SASL"), "no SASL exchange:\n{}", text(&out));
                }
                if args[..2] == ["test", "config"] {
                    assert!(text(&out).contains("<redacted>"), "{}", text(&out));
                }
                ran += 1;
            }
        }
    }
    assert_eq!(ran, 8 * configs.len());
    // The server did see the real credentials (the test would pass vacuously otherwise).
    let seen: Vec<String> =
        es.requests().iter().filter_map(|r| r.header("authorization").map(str::to_owned)).collect();
    assert!(seen.iter().any(|h| h.starts_with("ApiKey ")), "{seen:?}");
    assert!(seen.iter().any(|h| h.starts_with("Basic ")), "{seen:?}");

    // Credentials in an Elasticsearch URL are refused without being repeated.
    let out = run_in(
        d,
        &[
            "test",
            "config",
            "-E",
            &format!("output.elasticsearch.hosts=[\"http://elastic:{ES_PASSWORD}@127.0.0.1:9\"]"),
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("credentials in the URL"), "{}", text(&out));
    assert!(!text(&out).contains(ES_PASSWORD), "{}", text(&out));
}
