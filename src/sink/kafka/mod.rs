//! Kafka output (librdkafka through the `rdkafka` crate, vendored and statically linked).
//!
//! # Messages
//!
//! Every event is one Kafka message:
//!
//! - **value**: one ECS JSON document, UTF-8, no trailing newline — byte for byte the line the
//!   console and file outputs write. An event larger than `max_message_bytes` is replaced by a
//!   trimmed document (`@timestamp`, `event`, `data_stream`, `source`, `destination`,
//!   `network.community_id`/`transport`/`type`/`protocol`/`direction`, `observer`, `agent`,
//!   `ecs`, `tags: [..., "wirebeat_trimmed"]`, `wirebeat.original_bytes`; if that is still too
//!   large, a few identifying subfields of each), or rejected with a reason if even that is.
//! - **key**: the flow's Community ID (`1:…`, UTF-8), so all events of a conversation go to one
//!   partition and keep their order; no key for events without one or with `key: none`.
//! - **headers**: `dataset` (the `data_stream.dataset`, e.g. `network_traffic.flow`) and
//!   `wirebeat_version`.
//! - **topic**: `topic`, by default `wirebeat`; `%{[data_stream.dataset]}` in it gives one topic
//!   per dataset.
//!
//! Logstash reads them with
//!
//! ```text
//! input {
//!   kafka {
//!     bootstrap_servers => "broker:9092"
//!     topics => ["wirebeat"]            # or topics_pattern => "wirebeat-.*"
//!     codec => json                     # the value is the whole event
//!     decorate_events => extended       # key and headers in [@metadata][kafka]
//!   }
//! }
//! ```
//!
//! # Delivery
//!
//! `send` enqueues every event of the batch on a librdkafka `BaseProducer` and polls until each
//! has its delivery report (a sequence number travels with each message as its opaque). A full
//! local queue (`QueueFull`) is backpressure: poll and enqueue again. Errors are classified in
//! [`classify`](classify::classify): transient ones become `Outcome::Retry` (the pipeline backs
//! off and resends), permanent ones `Outcome::Rejected` with the reason, and a fatal error of the
//! idempotent producer rebuilds the producer and retries. An event without a report within
//! `timeout` + 10 s is retried (at least once, never lost). While no broker is reachable every
//! event comes back as `Retry` after `timeout`; the pipeline resends it `max_retries` times
//! (default 3, like Beats) and then drops it (`dropped_retries_exhausted`), unless
//! `max_retries` is negative or a disk spool holds the events: then it waits until a broker is
//! back.

pub mod classify;
pub mod config;
pub mod topic;
pub mod trim;

pub use config::Config;

use crate::ecs::EncodedEvent;
use crate::shutdown::Shutdown;
use crate::sink::{Outcome, Output, OutputError};
use classify::{classify, Class};
use config::KeyMode;
use crossbeam_channel::{Receiver, Sender};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use topic::TopicTemplate;

const NAME: &str = "kafka";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// How long one poll for delivery reports waits (it always waits this long).
const POLL: Duration = Duration::from_millis(2);
/// Extra wait for delivery reports beyond `timeout`, for librdkafka's own bookkeeping.
const REPORT_GRACE: Duration = Duration::from_secs(10);

fn fatal(message: impl Into<String>) -> OutputError {
    OutputError::Fatal { output: NAME, message: message.into() }
}

type Report = (usize, Result<(), KafkaError>);

/// Receives librdkafka's callbacks (on the thread that polls, i.e. inside `send`).
struct Context {
    reports: Sender<Report>,
    fatal: Arc<AtomicBool>,
}

impl ClientContext for Context {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal) {
            self.fatal.store(true, Ordering::Relaxed);
            crate::logging::error_limited!(output = NAME, %error, reason, "fatal producer error; rebuilding");
        } else {
            // librdkafka's own log line (target `librdkafka`) already says this.
            tracing::debug!(output = NAME, %error, reason, "librdkafka error");
        }
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let result = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.clone()),
        };
        // The receiver lives as long as the producer; nothing to do if it is gone.
        let _ = self.reports.send((seq, result));
    }
}

pub struct KafkaOutput {
    cfg: Config,
    client: ClientConfig,
    producer: BaseProducer<Context>,
    reports: Receiver<Report>,
    fatal: Arc<AtomicBool>,
    topic: TopicTemplate,
    /// Sequence number of the next message; reports of earlier batches are ignored.
    seq: usize,
    /// Requested when the run's drain is over: `send` stops waiting for reports and room.
    drain_over: Shutdown,
    /// One "trimmed" warning a second, not one per event.
    throttle: crate::sink::throttle::Throttle,
}

/// Opens the output.
pub fn open(cfg: &Config) -> Result<Box<dyn Output>, OutputError> {
    Ok(Box::new(KafkaOutput::open(cfg)?))
}

/// `wirebeat test output`: a metadata request to the bootstrap brokers, waiting at most
/// `min(timeout, 10s)`; names the brokers and topics it sees, or why none answered.
pub fn test_connection(cfg: &Config) -> Result<String, String> {
    cfg.validate()?;
    let mut client = ClientConfig::new();
    for (k, v) in cfg.properties()? {
        client.set(k, v);
    }
    let producer: BaseProducer<rdkafka::producer::DefaultProducerContext> =
        client.create().map_err(|e| format!("kafka: cannot create the producer: {e}"))?;
    let wait = cfg.timeout.0.min(Duration::from_secs(10));
    let hosts = cfg.hosts.join(",");
    let md = producer
        .client()
        .fetch_metadata(None, wait)
        .map_err(|e| format!("kafka: no broker of {hosts} answered a metadata request: {e}"))?;
    let brokers: Vec<String> =
        md.brokers().iter().map(|b| format!("{}:{} (id {})", b.host(), b.port(), b.id())).collect();
    if brokers.is_empty() {
        return Err(format!("kafka: {hosts} answered with no brokers"));
    }
    Ok(format!("kafka: {hosts}: OK, brokers {}; {} topics", brokers.join(", "), md.topics().len()))
}

/// The outcome a failed delivery or enqueue gives its event.
fn outcome_of(err: &KafkaError, fatal: &mut bool) -> Outcome {
    match classify(err) {
        Class::Retry => Outcome::Retry(err.to_string()),
        Class::Reject => Outcome::Rejected(err.to_string()),
        Class::Fatal => {
            *fatal = true;
            Outcome::Retry(err.to_string())
        }
    }
}

impl KafkaOutput {
    pub fn open(cfg: &Config) -> Result<Self, OutputError> {
        cfg.validate().map_err(fatal)?;
        let mut client = ClientConfig::new();
        for (k, v) in cfg.properties().map_err(fatal)? {
            client.set(k, v);
        }
        let topic = TopicTemplate::parse(&cfg.topic).map_err(fatal)?;
        let fatal_flag = Arc::new(AtomicBool::new(false));
        let (producer, reports) = Self::producer(&client, &fatal_flag)?;
        Ok(KafkaOutput {
            cfg: cfg.clone(),
            client,
            producer,
            reports,
            fatal: fatal_flag,
            topic,
            seq: 0,
            drain_over: Shutdown::new(),
            throttle: Default::default(),
        })
    }

    fn producer(
        client: &ClientConfig,
        fatal_flag: &Arc<AtomicBool>,
    ) -> Result<(BaseProducer<Context>, Receiver<Report>), OutputError> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let ctx = Context { reports: tx, fatal: fatal_flag.clone() };
        let producer = client
            .create_with_context(ctx)
            .map_err(|e| fatal(format!("cannot create the producer: {e}")))?;
        Ok((producer, rx))
    }

    /// Replaces a producer that hit a fatal error (idempotence state lost).
    fn rebuild(&mut self) -> Result<(), OutputError> {
        use rdkafka::producer::PurgeConfig;
        self.producer.purge(PurgeConfig::default().queue().inflight());
        self.producer.poll(POLL);
        self.fatal.store(false, Ordering::Relaxed);
        let (producer, reports) = Self::producer(&self.client, &self.fatal)?;
        self.producer = producer;
        self.reports = reports;
        tracing::warn!(output = NAME, "producer rebuilt after a fatal error");
        Ok(())
    }
}

/// Moves the reports received so far into `out`; true when one was a fatal producer error.
fn collect(
    reports: &Receiver<Report>,
    base: usize,
    out: &mut [Option<Outcome>],
    pending: &mut usize,
) -> bool {
    let mut fatal = false;
    for (seq, result) in reports.try_iter() {
        let idx = seq.wrapping_sub(base);
        let Some(slot) = out.get_mut(idx) else { continue };
        if slot.is_some() {
            continue;
        }
        *slot = Some(match result {
            Ok(()) => Outcome::Delivered,
            Err(e) => outcome_of(&e, &mut fatal),
        });
        *pending -= 1;
    }
    fatal
}

impl Output for KafkaOutput {
    fn name(&self) -> &'static str {
        NAME
    }

    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        if self.fatal.load(Ordering::Relaxed) {
            self.rebuild()?;
        }
        let n = batch.len();
        let base = self.seq;
        self.seq = self.seq.wrapping_add(n);
        let deadline = Instant::now() + self.cfg.timeout.0 + REPORT_GRACE;
        let mut out: Vec<Option<Outcome>> = vec![None; n];
        let mut pending = n;
        let mut fatal_seen = false;
        let max = self.cfg.max_message_bytes;
        let use_key = self.cfg.key == KeyMode::CommunityId;

        for (i, ev) in batch.iter().enumerate() {
            let trimmed;
            let payload: &[u8] = if ev.json.len() > max {
                match trim::trim(&ev.json, ev.dataset, max) {
                    Ok(t) => {
                        if let Some(n) = self.throttle.admit("event trimmed") {
                            let more = crate::sink::throttle::suppressed_note(n);
                            tracing::warn!(
                                output = NAME,
                                bytes = ev.json.len(),
                                max,
                                "event larger than max_message_bytes sent trimmed{more}"
                            );
                        }
                        trimmed = t;
                        &trimmed
                    }
                    Err(reason) => {
                        out[i] = Some(Outcome::Rejected(reason));
                        pending -= 1;
                        continue;
                    }
                }
            } else {
                &ev.json
            };
            let topic = match self.topic.render(ev.dataset) {
                Ok(t) => t,
                Err(reason) => {
                    out[i] = Some(Outcome::Rejected(reason));
                    pending -= 1;
                    continue;
                }
            };
            let headers = OwnedHeaders::new_with_capacity(2)
                .insert(Header { key: "dataset", value: Some(ev.dataset) })
                .insert(Header { key: "wirebeat_version", value: Some(VERSION) });
            let mut record: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(topic, base.wrapping_add(i))
                    .payload(payload)
                    .headers(headers);
            if let (true, Some(key)) = (use_key, ev.key.as_deref()) {
                record = record.key(key.as_bytes());
            }
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // Backpressure: let librdkafka deliver, then enqueue again.
                        if Instant::now() >= deadline || self.drain_over.is_requested() {
                            out[i] = Some(Outcome::Retry("local producer queue full".into()));
                            pending -= 1;
                            break;
                        }
                        record = back;
                        self.producer.poll(POLL);
                        fatal_seen |= collect(&self.reports, base, &mut out, &mut pending);
                    }
                    Err((e, _)) => {
                        out[i] = Some(outcome_of(&e, &mut fatal_seen));
                        pending -= 1;
                        break;
                    }
                }
            }
            if i % 1024 == 1023 {
                self.producer.poll(Duration::ZERO);
                fatal_seen |= collect(&self.reports, base, &mut out, &mut pending);
            }
        }

        while pending > 0 {
            self.producer.poll(POLL);
            fatal_seen |= collect(&self.reports, base, &mut out, &mut pending);
            if pending > 0 && Instant::now() >= deadline {
                crate::logging::warn_limited!(
                    output = NAME,
                    events = pending,
                    "no delivery report in time"
                );
                break;
            }
            if pending > 0 && self.drain_over.is_requested() {
                break;
            }
        }
        if fatal_seen {
            self.fatal.store(true, Ordering::Relaxed);
        }
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Retry("no delivery report in time".into())))
            .collect())
    }

    /// Large batches: librdkafka pipelines the produce requests of one `send`, while `send`
    /// waits for every delivery report before the next batch is taken.
    fn max_batch(&self) -> usize {
        (self.cfg.queue_max_events / 2).clamp(1, 16_384)
    }

    fn watch_shutdown(&mut self, drain_over: &Shutdown) {
        self.drain_over = drain_over.clone();
    }

    fn max_retries(&self) -> Option<u32> {
        crate::sink::retry_limit(self.cfg.max_retries)
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if self.drain_over.is_requested() {
            // What is still in librdkafka's queue was answered `Retry`: it stays in the spool
            // (or was counted lost); waiting `timeout` for it would break the drain limit.
            let _ = self.producer.flush(POLL);
            for _ in self.reports.try_iter() {}
            return Ok(());
        }
        self.producer.flush(self.cfg.timeout.0).map_err(|e| fatal(format!("flush: {e}")))?;
        // Reports of earlier batches that arrive now are not awaited by anyone: drop them.
        for _ in self.reports.try_iter() {}
        Ok(())
    }
}
