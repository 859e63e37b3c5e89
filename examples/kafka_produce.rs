//! Baseline for `bench/kafka.sh`: produce the lines of an NDJSON file to Kafka with rdkafka
//! directly, as wirebeat's Kafka output does (same key, headers and producer settings), and
//! report events/s. It stands in for kcat, whose Debian build links librdkafka 2.0.2.
//!
//!     cargo run --example kafka_produce -- BROKERS TOPIC FILE
#![allow(clippy::print_stdout, clippy::print_stderr)]

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counts {}
impl ProducerContext for Counts {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        let c = if r.is_ok() { &self.ok } else { &self.failed };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// The Community ID of a wirebeat line, found without parsing the JSON.
fn community_id(line: &str) -> Option<&str> {
    let start = line.find("\"community_id\":\"")? + "\"community_id\":\"".len();
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

fn dataset(line: &str) -> &str {
    let Some(start) = line.find("\"dataset\":\"").map(|i| i + "\"dataset\":\"".len()) else {
        return "";
    };
    line[start..].find('"').map(|len| &line[start..start + len]).unwrap_or("")
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, topic, file] = args.as_slice() else {
        return Err("usage: kafka_produce BROKERS TOPIC FILE".into());
    };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let producer: BaseProducer<Counts> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("client.id", "kafka_produce")
        .set("acks", "-1")
        .set("enable.idempotence", "true")
        .set("partitioner", "consistent_random")
        .set("batch.num.messages", "2048")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create_with_context(Counts::default())
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    for line in &lines {
        let headers = OwnedHeaders::new_with_capacity(2)
            .insert(Header { key: "dataset", value: Some(dataset(line)) })
            .insert(Header { key: "wirebeat_version", value: Some(env!("CARGO_PKG_VERSION")) });
        let mut record: BaseRecord<'_, str, str> =
            BaseRecord::to(topic).payload(*line).headers(headers);
        if let Some(k) = community_id(line) {
            record = record.key(k);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(format!("produce: {e}")),
            }
        }
    }
    let ctx = producer.context();
    let n = lines.len() as u64;
    while ctx.ok.load(Ordering::Relaxed) + ctx.failed.load(Ordering::Relaxed) < n {
        if start.elapsed() > Duration::from_secs(120) {
            return Err("no delivery reports within 120 s".into());
        }
        producer.poll(Duration::from_millis(1));
    }
    let secs = start.elapsed().as_secs_f64();
    let (ok, failed) = (ctx.ok.load(Ordering::Relaxed), ctx.failed.load(Ordering::Relaxed));
    println!(
        "produced={} delivered={ok} failed={failed} seconds={secs:.3} events_per_s={:.0}",
        lines.len(),
        ok as f64 / secs
    );
    if ok != lines.len() as u64 {
        return Err(format!("only {ok} of {} delivered", lines.len()));
    }
    Ok(())
}
