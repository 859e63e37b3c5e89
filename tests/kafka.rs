//! Kafka output: librdkafka's mock cluster (delivery, keys and headers, fault injection through
//! the pipeline's retry path) and a real broker (Tansu) for exact round trips.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::kafka::*;
use common::*;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wirebeat::ecs::EncodedEvent;
use wirebeat::sink::kafka::{self, Config};
use wirebeat::sink::{Outcome, Output};

fn capture() -> PathBuf {
    corpus().join("pcaps/zeek-wikipedia.pcap")
}

/// Events as the pipeline hands them to the output, rebuilt from console lines.
fn encoded(lines: &[String]) -> Vec<EncodedEvent> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let dataset = get(&v, "data_stream.dataset").unwrap().as_str().unwrap().to_owned();
            let key = get(&v, "network.community_id").and_then(|k| k.as_str()).map(Box::from);
            EncodedEvent {
                dataset: Box::leak(dataset.into_boxed_str()),
                key,
                json: l.clone().into(),
            }
        })
        .collect()
}

/// `written=N of M` and `rejected=R` from the summary's delivery line.
fn written(stderr: &str) -> (u64, u64, u64) {
    let s = stderr.split(" written=").nth(1).unwrap_or_else(|| panic!("{stderr}"));
    let nums: Vec<u64> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|x| !x.is_empty())
        .take(2)
        .map(|x| x.parse().unwrap())
        .collect();
    (nums[0], nums[1], summary_number(stderr, "rejected"))
}

fn mock(
    brokers: i32,
    topic: &str,
    partitions: i32,
) -> MockCluster<'static, DefaultProducerContext> {
    let m = MockCluster::new(brokers).unwrap();
    m.create_topic(topic, partitions, 1).unwrap();
    m
}

fn cfg(bootstrap: &str, topic: &str) -> Config {
    Config {
        hosts: bootstrap.split(',').map(str::to_owned).collect(),
        topic: topic.into(),
        ..Config::default()
    }
}

/// The pipeline's loop: resend `Retry` events until each is delivered; returns how many sends
/// came back as `Retry` and the rejected reasons.
fn deliver_all(out: &mut dyn Output, events: &[EncodedEvent]) -> (usize, Vec<String>) {
    let start = Instant::now();
    let mut todo = events.to_vec();
    let (mut retried, mut rejected) = (0, Vec::new());
    while !todo.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{} events never delivered",
            todo.len()
        );
        let outcomes = out.send(&todo).unwrap();
        assert_eq!(outcomes.len(), todo.len());
        let mut next = Vec::new();
        for (ev, o) in todo.into_iter().zip(outcomes) {
            match o {
                Outcome::Delivered => {}
                Outcome::Retry(_) => next.push(ev),
                Outcome::Rejected(r) => rejected.push(r),
            }
        }
        retried += next.len();
        if !next.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
        todo = next;
    }
    out.flush().unwrap();
    (retried, rejected)
}

/// Key is the value's community_id, headers name the dataset and the version.
fn check_message(key: &Option<String>, headers: &BTreeMap<String, String>, value: &str) {
    let v: serde_json::Value = serde_json::from_str(value).unwrap();
    let cid = get(&v, "network.community_id").and_then(|c| c.as_str()).map(str::to_owned);
    assert_eq!(key, &cid, "key of {value}");
    let dataset = get(&v, "data_stream.dataset").unwrap().as_str().unwrap();
    assert_eq!(headers.get("dataset").map(String::as_str), Some(dataset));
    assert_eq!(
        headers.get("wirebeat_version").map(String::as_str),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn mock_cluster_binary_acknowledges_every_event() {
    require_shared!();
    let lines = console_lines(&capture());
    assert!(lines.len() > 10);
    let m = mock(3, "wirebeat", 3);
    let hosts =
        format!("output.kafka.hosts={:?}", m.bootstrap_servers().split(',').collect::<Vec<_>>());
    let (out, stdout_events) = read(&[&capture()], &[&hosts]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout_events.is_empty(), "events went to stdout");
    let n = lines.len() as u64;
    assert_eq!(written(&stderr), (n, n, 0), "{stderr}");
    assert!(stderr.contains(&format!(" written={n} of {n}; rejected=0;")));
}

#[test]
fn mock_cluster_library_keys_and_headers() {
    require_shared!();
    let lines = console_lines(&capture());
    let events = encoded(&lines);
    let m = mock(3, "lib", 4);
    let bootstrap = m.bootstrap_servers();
    let mut out = kafka::open(&cfg(&bootstrap, "lib")).unwrap();
    let outcomes = out.send(&events).unwrap();
    assert_eq!(outcomes, vec![Outcome::Delivered; events.len()]);
    out.flush().unwrap();

    // The mock's fetch path loses some messages (librdkafka's mock, not the producer): every
    // message read back must be one we sent with the right key and headers, and most must come.
    let got = consume(&bootstrap, "lib", 4, events.len(), Duration::from_secs(15));
    eprintln!("consumed {} of {} from the mock", got.len(), events.len());
    assert!(got.len() * 10 >= events.len() * 7, "consumed only {}", got.len());
    for (key, headers, value) in &got {
        assert!(lines.contains(value), "unknown value {value}");
        check_message(key, headers, value);
    }
    assert!(got.iter().any(|(k, _, _)| k.is_some()));

    // An oversize event is trimmed and delivered, not dropped.
    let mut small = cfg(&bootstrap, "lib");
    small.max_message_bytes = 1000;
    let mut out = kafka::open(&small).unwrap();
    let big: Vec<EncodedEvent> = events.iter().filter(|e| e.json.len() > 1000).cloned().collect();
    assert!(!big.is_empty());
    assert_eq!(out.send(&big).unwrap(), vec![Outcome::Delivered; big.len()]);
}

#[test]
fn mock_cluster_topic_per_dataset_and_no_key() {
    require_shared!();
    let events = encoded(&console_lines(&capture()));
    let m = MockCluster::new(1).unwrap();
    let mut datasets: Vec<&str> = events.iter().map(|e| e.dataset).collect();
    datasets.sort();
    datasets.dedup();
    for d in &datasets {
        m.create_topic(&format!("wb-{d}"), 1, 1).unwrap();
    }
    let bootstrap = m.bootstrap_servers();
    let mut c = cfg(&bootstrap, "wb-%{[data_stream.dataset]}");
    c.key = kafka::config::KeyMode::None;
    c.compression = kafka::config::Compression::Zstd;
    let mut out = kafka::open(&c).unwrap();
    assert_eq!(out.send(&events).unwrap(), vec![Outcome::Delivered; events.len()]);
    let d = datasets[0];
    let want = events.iter().filter(|e| e.dataset == d).count();
    let got = consume(&bootstrap, &format!("wb-{d}"), 1, want, Duration::from_secs(10));
    assert!(!got.is_empty());
    for (key, headers, value) in got {
        assert_eq!(key, None);
        assert_eq!(headers["dataset"], d);
        assert!(value.contains(&format!("\"dataset\":\"{d}\"")));
    }
}

#[test]
fn mock_cluster_brokers_down_then_up_retries_until_delivered() {
    require_shared!();
    let events = encoded(&console_lines(&capture()));
    let m = mock(3, "faults", 3);
    let mut c = cfg(&m.bootstrap_servers(), "faults");
    c.timeout = "1500ms".parse().unwrap();
    let mut out = kafka::open(&c).unwrap();
    // Warm up (metadata, producer id) so the outage hits produce requests.
    assert_eq!(out.send(&events[..5]).unwrap(), vec![Outcome::Delivered; 5]);

    for b in 1..=3 {
        m.broker_down(b).unwrap();
    }
    let outcomes = out.send(&events).unwrap();
    let retry = outcomes.iter().filter(|o| matches!(o, Outcome::Retry(_))).count();
    assert_eq!(retry, events.len(), "{outcomes:?}");
    for b in 1..=3 {
        m.broker_up(b).unwrap();
    }
    let (retried, rejected) = deliver_all(&mut *out, &events);
    assert!(rejected.is_empty(), "{rejected:?}");
    eprintln!("after the outage: {retried} resends");
}

#[test]
fn mock_cluster_request_errors_and_leader_changes_lose_nothing() {
    require_shared!();
    use RDKafkaRespErr::*;
    let events = encoded(&console_lines(&capture()));
    let m = mock(3, "leaders", 3);
    let mut c = cfg(&m.bootstrap_servers(), "leaders");
    c.timeout = "1s".parse().unwrap();
    c.linger = "0ms".parse().unwrap();
    c.bulk_max_size = 8;
    let mut out = kafka::open(&c).unwrap();
    assert_eq!(out.send(&events[..3]).unwrap(), vec![Outcome::Delivered; 3]);

    // More transient errors than librdkafka retries within `timeout`: the events come back as
    // Retry and the pipeline's loop delivers them.
    m.request_errors(RDKafkaApiKey::Produce, &[RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS; 40]);
    let (retried, rejected) = deliver_all(&mut *out, &events);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(retried > 0, "the errors did not reach the retry path");
    m.clear_request_errors(RDKafkaApiKey::Produce);

    let mut total_retried = 0;
    for round in 0..6 {
        m.request_errors(
            RDKafkaApiKey::Produce,
            &[
                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            ],
        );
        for p in 0..3 {
            m.partition_leader("leaders", p, Some((p + round) % 3 + 1)).unwrap();
        }
        let (retried, rejected) = deliver_all(&mut *out, &events);
        assert!(rejected.is_empty(), "round {round}: {rejected:?}");
        total_retried += retried;
    }
    eprintln!("sustained errors: {retried} resends; 6 leader-change rounds: {total_retried}");
}

#[test]
fn mock_cluster_permanent_error_is_rejected_with_reason() {
    require_shared!();
    let events = encoded(&console_lines(&capture()));
    let m = mock(1, "perm", 1);
    let mut c = cfg(&m.bootstrap_servers(), "perm");
    c.linger = "50ms".parse().unwrap();
    let mut out = kafka::open(&c).unwrap();
    assert_eq!(out.send(&events[..2]).unwrap(), vec![Outcome::Delivered; 2]);
    m.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    let outcomes = out.send(&events).unwrap();
    assert_eq!(outcomes.len(), events.len());
    let rejected: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| if let Outcome::Rejected(r) = o { Some(r) } else { None })
        .collect();
    assert!(!rejected.is_empty(), "{outcomes:?}");
    assert!(rejected.iter().all(|r| r.contains("uthoriz")), "{rejected:?}");
    // The others are delivered (directly or after a retry): each event has one final outcome.
    let rest: Vec<EncodedEvent> = events
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o, Outcome::Retry(_)))
        .map(|(e, _)| e.clone())
        .collect();
    let (_, again) = deliver_all(&mut *out, &rest);
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn bad_config_is_an_error_at_open() {
    let err = kafka::open(&cfg("nohost", "t")).err().unwrap().to_string();
    assert!(err.contains("output.kafka.hosts"), "{err}");
    let mut c = cfg("127.0.0.1:9", "t");
    c.topic = "bad topic".into();
    let err = kafka::open(&c).err().unwrap().to_string();
    assert!(err.contains("output.kafka.topic"), "{err}");
}

// ---- Tansu ----------------------------------------------------------------------------------

#[test]
fn tansu_round_trip_is_exact() {
    require_shared!();
    let Some(bin) = tansu_bin() else {
        skipped("tansu is not installed (/root/.cargo/bin/tansu or on PATH)");
        return;
    };
    let broker = Tansu::start(bin);
    broker.create_topic("roundtrip", 3);
    let mut lines = console_lines(&capture());

    let hosts = format!("output.kafka.hosts=[\"{}\"]", broker.bootstrap());
    let (out, _) = read(&[&capture()], &[&hosts, "output.kafka.topic=roundtrip"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let n = lines.len() as u64;
    assert_eq!(written(&stderr), (n, n, 0), "{stderr}");

    // Everything back, plus a little time to see that nothing more comes.
    let got =
        consume(&broker.bootstrap(), "roundtrip", 3, lines.len() + 1, Duration::from_secs(10));
    assert_eq!(got.len(), lines.len(), "message count");
    for (key, headers, value) in &got {
        check_message(key, headers, value);
    }
    let mut values: Vec<String> = got.into_iter().map(|(_, _, v)| v).collect();
    values.sort();
    lines.sort();
    assert!(values == lines, "the values differ from the console output");
}

#[test]
fn tansu_trimmed_event_round_trip() {
    require_shared!();
    let Some(bin) = tansu_bin() else {
        skipped("tansu is not installed (/root/.cargo/bin/tansu or on PATH)");
        return;
    };
    let broker = Tansu::start(bin);
    broker.create_topic("trim", 1);
    let events = encoded(&console_lines(&capture()));
    let big = events.iter().max_by_key(|e| e.json.len()).unwrap().clone();
    let mut c = cfg(&broker.bootstrap(), "trim");
    c.max_message_bytes = 1000;
    assert!(big.json.len() > 1000);
    let mut out = kafka::open(&c).unwrap();
    let (_, rejected) = deliver_all(&mut *out, std::slice::from_ref(&big));
    assert!(rejected.is_empty());
    let got = consume(&broker.bootstrap(), "trim", 1, 1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&got[0].2).unwrap();
    assert!(got[0].2.len() <= 1000);
    assert!(v["tags"].as_array().unwrap().iter().any(|t| t == "wirebeat_trimmed"));
    assert_eq!(v["wirebeat"]["original_bytes"], big.json.len());
    let orig: serde_json::Value = serde_json::from_slice(&big.json).unwrap();
    assert_eq!(v["@timestamp"], orig["@timestamp"]);
    assert_eq!(v["network"]["community_id"], orig["network"]["community_id"]);
    check_message(&got[0].0, &got[0].1, &got[0].2);
}

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn closed_port_drops_after_max_retries_and_fails_the_read() {
    require_shared!();
    let n = console_lines(&capture()).len() as u64;
    let hosts = format!("output.kafka.hosts=[\"127.0.0.1:{}\"]", closed_port());
    let start = Instant::now();
    let (out, _) =
        read(&[&capture()], &[&hosts, "output.kafka.timeout=1s", "output.kafka.max_retries=1"]);
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(60), "took {took:?}: {stderr}");
    assert!(stderr.contains(&format!("retries_exhausted={n}")), "{stderr}");
    assert!(
        stderr.contains(&format!("{n} events were not delivered: {n} dropped after max_retries")),
        "{stderr}"
    );
}

#[test]
fn closed_port_retrying_forever_still_ends_at_the_drain_limit() {
    require_shared!();
    let n = console_lines(&capture()).len();
    let hosts = format!("output.kafka.hosts=[\"127.0.0.1:{}\"]", closed_port());
    let start = Instant::now();
    let (out, _) = read(
        &[&capture()],
        &[&hosts, "output.kafka.max_retries=-1", "wirebeat.shutdown_timeout=2s"],
    );
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < Duration::from_secs(15), "the drain limit is 2 s, took {took:?}: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{n} events are lost")), "{stderr}");
}

#[test]
fn test_output_sends_a_metadata_request() {
    let m = mock(1, "wirebeat", 1);
    let hosts =
        format!("output.kafka.hosts={:?}", m.bootstrap_servers().split(',').collect::<Vec<_>>());
    let out = wirebeat().args(["test", "output", "-E", &hosts]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OK, brokers") && stdout.contains("topics"), "{stdout}");

    let dead = format!("127.0.0.1:{}", closed_port());
    let start = Instant::now();
    let out = wirebeat()
        .args(["test", "output", "-E", &format!("output.kafka.hosts=[\"{dead}\"]")])
        .args(["-E", "output.kafka.timeout=2s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(15));
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.contains(&dead) && last.contains("metadata request"), "{stderr}");
}
