//! `logging.format: ecs`: one ECS JSON document a line on standard error, in the shape of
//! Elastic's ecs-logging libraries (flat dotted keys, `@timestamp`, `log.level` and `message`
//! first), so Filebeat or the Elastic Agent reads it with `ndjson` and `expand_keys`.
//!
//! Fields of every line: `@timestamp` (UTC, nanoseconds), `log.level` (lowercase), `message`,
//! `ecs.version`, `service.name: wirebeat`, `service.version`, `event.dataset: wirebeat.log`,
//! `process.pid`, `log.logger` (the tracing target, e.g. `wirebeat::sink::kafka` or
//! `librdkafka`), `log.origin.file.name` and `log.origin.file.line` when known. A field named
//! `error` becomes `error.message` (with its `source()` chain when recorded as an error), and
//! `error.type` is its Rust type when it can be told (`std::io::Error`) or the value of an
//! explicit `error.type` field. Every other field of the event goes under `wirebeat.log.<name>`
//! with its JSON type (number, boolean, string), so a call site's fields can never collide with
//! an ECS field of another type. Spans are not written (wirebeat's log has none).
//!
//! Hand-written rather than the `tracing-ecs` crate: that crate writes every event field at the
//! top level (outside ECS, free to collide with it), has no `ecs.version`, `service.*` or
//! `error.*`, pulls in `chrono`, and panics on a poisoned lock.

use std::fmt::Write as _;
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

/// `event.dataset` of wirebeat's own log.
pub const DATASET: &str = "wirebeat.log";

/// Where the fields of an event that are not ECS go.
pub const FIELD_PREFIX: &str = "wirebeat.log.";

/// What every line of this process carries besides the event.
#[derive(Debug, Clone)]
pub struct Service {
    pub ecs_version: &'static str,
    pub version: &'static str,
    pub pid: u32,
}

/// A `tracing_subscriber` layer that writes each event as one ECS line to `writer`.
pub struct EcsLayer<W> {
    service: Service,
    writer: W,
}

impl<W> EcsLayer<W> {
    pub fn new(service: Service, writer: W) -> Self {
        EcsLayer { service, writer }
    }
}

impl<S, W> Layer<S> for EcsLayer<W>
where
    S: Subscriber,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let line = format_event(event, &self.service, now_ns());
        // One write per line: lines of different threads do not interleave.
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

fn now_ns() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// The line of one event at `ts_ns` (nanoseconds since the epoch), newline included.
pub fn format_event(event: &Event<'_>, service: &Service, ts_ns: i64) -> String {
    // Events from the `log` crate (rustls, through tracing-log) carry their real target and
    // place in `log.*` fields; the normalized metadata has them.
    let normalized = event.normalized_metadata();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    let mut v = Fields::default();
    event.record(&mut v);

    let mut out = String::with_capacity(256);
    out.push('{');
    key_value(&mut out, "@timestamp", &crate::time::rfc3339(ts_ns));
    key_value(&mut out, "log.level", level_name(meta.level()));
    key_value(&mut out, "message", v.message.as_deref().unwrap_or(""));
    key_value(&mut out, "ecs.version", service.ecs_version);
    key_value(&mut out, "service.name", "wirebeat");
    key_value(&mut out, "service.version", service.version);
    key_value(&mut out, "event.dataset", DATASET);
    key_raw(&mut out, "process.pid", &service.pid.to_string());
    key_value(&mut out, "log.logger", meta.target());
    if let Some(file) = meta.file() {
        key_value(&mut out, "log.origin.file.name", file);
    }
    if let Some(line) = meta.line() {
        key_raw(&mut out, "log.origin.file.line", &line.to_string());
    }
    if let Some(m) = &v.error_message {
        key_value(&mut out, "error.message", m);
    }
    if let Some(t) = &v.error_type {
        key_value(&mut out, "error.type", t);
    }
    for (name, json) in &v.other {
        key_raw(&mut out, &format!("{FIELD_PREFIX}{name}"), json);
    }
    out.push_str("}\n");
    out
}

fn key_value(out: &mut String, key: &str, value: &str) {
    key_raw(out, key, &json_string(value));
}

fn key_raw(out: &mut String, key: &str, json: &str) {
    if !out.ends_with('{') {
        out.push(',');
    }
    out.push_str(&json_string(key));
    out.push(':');
    out.push_str(json);
}

fn json_string(s: &str) -> String {
    // Serializing a str cannot fail; the fallback keeps the line valid JSON regardless.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The event's fields, sorted into ECS places.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    error_message: Option<String>,
    error_type: Option<String>,
    /// (name, JSON value), in the order the call site wrote them.
    other: Vec<(String, String)>,
}

impl Fields {
    fn put(&mut self, field: &Field, json: String, text: impl FnOnce() -> String) {
        match field.name() {
            "message" => self.message = Some(text()),
            "error" | "error.message" => self.error_message = Some(text()),
            "error.type" => self.error_type = Some(text()),
            // tracing-log's copies of the log record's metadata (used through
            // `normalized_metadata`).
            n if n.starts_with("log.") => {}
            n => self.other.push((n.to_owned(), json)),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        self.put(field, json_string(&text), || text.clone());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, json_string(value), || value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string(), || value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string(), || value.to_string());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those become strings.
        let json =
            if value.is_finite() { value.to_string() } else { json_string(&value.to_string()) };
        self.put(field, json, || value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string(), || value.to_string());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            let _ = write!(text, ": {s}");
            source = s.source();
        }
        if matches!(field.name(), "error" | "error.message") && self.error_type.is_none() {
            self.error_type = error_type(value);
        }
        self.put(field, json_string(&text), || text.clone());
    }
}

/// The Rust type of an error, for the types wirebeat's log records as errors.
fn error_type(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return Some(format!("std::io::Error({:?})", io.kind()));
    }
    if e.is::<rdkafka::error::KafkaError>() {
        return Some("rdkafka::error::KafkaError".to_owned());
    }
    if e.is::<serde_json::Error>() {
        return Some("serde_json::Error".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// Lines written by an [`EcsLayer`] in a scoped subscriber.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn service() -> Service {
        Service { ecs_version: "9.4.0", version: "0.1.0", pid: 42 }
    }

    fn lines_of(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let buf = Buffer::default();
        let sub = tracing_subscriber::registry().with(EcsLayer::new(service(), buf.clone()));
        tracing::subscriber::with_default(sub, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'));
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn a_line_has_the_ecs_base_fields_first() {
        let lines = lines_of(|| tracing::info!("capturing on {} interfaces", 2));
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l["message"], "capturing on 2 interfaces");
        assert_eq!(l["log.level"], "info");
        assert_eq!(l["ecs.version"], "9.4.0");
        assert_eq!(l["service.name"], "wirebeat");
        assert_eq!(l["event.dataset"], DATASET);
        assert_eq!(l["process.pid"], 42);
        assert_eq!(l["log.logger"], "wirebeat::logging::ecs::tests");
        assert_eq!(l["log.origin.file.name"], "src/logging/ecs.rs");
        assert!(l["log.origin.file.line"].as_u64().unwrap() > 0);
        let ts = l["@timestamp"].as_str().unwrap();
        assert!(ts.len() == 30 && ts.ends_with('Z') && ts.starts_with("20"), "{ts}");
        let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        assert!(keys.contains(&&"@timestamp".to_owned()));
    }

    #[test]
    fn the_first_keys_are_timestamp_level_message_in_that_order() {
        let buf = Buffer::default();
        let sub = tracing_subscriber::registry().with(EcsLayer::new(service(), buf.clone()));
        tracing::subscriber::with_default(sub, || tracing::warn!(n = 1, "x"));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("{\"@timestamp\":\""), "{text}");
        let level = text.find("\"log.level\"").unwrap();
        let message = text.find("\"message\"").unwrap();
        assert!(level < message && message < text.find("\"ecs.version\"").unwrap(), "{text}");
    }

    #[test]
    fn error_fields_go_to_error_and_the_rest_under_wirebeat_log() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let lines = lines_of(|| {
            tracing::warn!(
                error = &io as &(dyn std::error::Error + 'static),
                events = 7u64,
                ok = true,
                ratio = 0.5,
                output = "kafka",
                "send failed"
            );
            tracing::error!(error = %"disk full", "spool write failed");
            tracing::error!(error.type = "Custom", error = "x", "typed");
        });
        let l = &lines[0];
        assert_eq!(l["error.message"], "refused");
        assert_eq!(l["error.type"], "std::io::Error(ConnectionRefused)");
        assert_eq!(l["wirebeat.log.events"], 7);
        assert_eq!(l["wirebeat.log.ok"], true);
        assert_eq!(l["wirebeat.log.ratio"], 0.5);
        assert_eq!(l["wirebeat.log.output"], "kafka");
        assert!(l.get("events").is_none() && l.get("error").is_none());
        assert_eq!(lines[1]["error.message"], "disk full");
        assert!(lines[1].get("error.type").is_none(), "a Display value has no known type");
        assert_eq!(lines[2]["error.type"], "Custom");
        assert_eq!(lines[2]["error.message"], "x");
    }

    #[test]
    fn text_that_needs_escaping_stays_one_valid_line() {
        let lines = lines_of(|| {
            tracing::warn!(reason = "a \"quoted\"\nsecond line\u{1b}[31m", "tab\there");
            tracing::warn!(bad = f64::NAN, "nan");
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["wirebeat.log.reason"], "a \"quoted\"\nsecond line\u{1b}[31m");
        assert_eq!(lines[0]["message"], "tab\there");
        assert_eq!(lines[1]["wirebeat.log.bad"], "NaN");
    }

    #[test]
    fn an_error_source_chain_is_part_of_the_message() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("cannot open spool")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("permission denied"));
        let lines = lines_of(|| {
            tracing::error!(error = &e as &(dyn std::error::Error + 'static), "x");
        });
        assert_eq!(lines[0]["error.message"], "cannot open spool: permission denied");
    }
}
