//! Elasticsearch output: `create` actions over the `_bulk` API into data streams.
//!
//! **Client choice.** The `elasticsearch` crate publishes only pre-releases (9.1.0-alpha.1) and
//! is async (tokio + reqwest + hyper); the output thread is blocking, `_bulk` is one endpoint
//! whose NDJSON body and per-item answers we handle ourselves anyway, and the crate has no way
//! to pin a CA by its SHA-256 fingerprint (`ssl.ca_trusted_fingerprint`). So this module is a
//! thin blocking client over the documented HTTP API: `ureq` 2 with rustls (`client.rs`),
//! gzip via flate2, and the request shapes checked against Elasticsearch's OpenAPI
//! (`../shared/elasticsearch-spec`, see `tests/elasticsearch.rs`).
//!
//! **Delivery.** Every document is sent as `create` into its data stream
//! (`logs-<dataset>-<namespace>`; data streams accept only `create`) with a deterministic `_id`
//! (128 bits of the SHA-256 of its bytes), so a resend of something already indexed answers 409,
//! which counts as delivered (a duplicate, counted in [`ElasticsearchOutput::duplicates`]).
//! Per item: 2xx and 409 → `Delivered`; 429/5xx → resent inside `send` with exponential backoff
//! and jitter up to `max_retries`, then `Retry` (which the pipeline resends up to `max_retries`
//! times more before it drops the event, unless a disk spool holds it or it is negative); other 4xx → the dead-letter file (the document
//! plus status, error type and reason) and `Rejected`. Per request: 413 → the batch is split in
//! halves (a single document that is still too large is dead-lettered and rejected); no answer,
//! 429 or 5xx → retried with backoff, failing over to the next host (a failing host rests for a
//! backoff period), then `Retry` for the batch; 401/403 → `Err` (the output cannot work).
//! The classification lives in `retry.rs`, apart from the IO.
//!
//! **Health check.** `open` asks every host `GET /`; it fails with one line naming the problem
//! (connection refused, TLS error, 401, version below 8) when no host is usable.

mod bulk;
pub mod client;
mod config;
mod retry;

pub use crate::units::VerificationMode;
pub use config::{Backoff, Config, TLS_SUPPORT};

use crate::backoff::Jitter;
use crate::ecs::EncodedEvent;
use crate::shutdown::Shutdown;
use crate::sink::{Outcome, Output, OutputError};
use client::Client;
use retry::{ItemClass, RequestClass};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

const NAME: &str = "elasticsearch";

fn fatal(message: String) -> OutputError {
    OutputError::Fatal { output: NAME, message }
}

/// Opens the output: validates, checks the cluster (`GET /`), opens the dead-letter file.
pub fn open(cfg: &Config) -> Result<Box<dyn Output>, OutputError> {
    open_with(cfg, None)
}

/// As [`open`]; with `spool` (the disk spool's path) a cluster that cannot be reached is a
/// warning naming the output and the spool, and the run starts: events wait in the spool.
pub fn open_with(cfg: &Config, spool: Option<&str>) -> Result<Box<dyn Output>, OutputError> {
    Ok(Box::new(ElasticsearchOutput::connect_with(cfg, spool)?))
}

/// `wirebeat test output`: one line per host, `Err` when any host is unusable.
pub fn test_connection(cfg: &Config) -> Result<String, String> {
    cfg.validate()?;
    let mut client = Client::new(cfg)?;
    let mut lines = Vec::new();
    let mut failed = false;
    for h in 0..client.host_count() {
        match check_host(&mut client, h) {
            Ok(l) => lines.push(format!("{l}: OK")),
            Err(e) => {
                failed = true;
                lines.push(e);
            }
        }
    }
    if failed {
        Err(lines.join("\n"))
    } else {
        Ok(lines.join("\n"))
    }
}

/// `GET /` on one host: "URL: Elasticsearch 8.17.0 (cluster NAME)" or the problem.
fn check_host(client: &mut Client, h: usize) -> Result<String, String> {
    let base = client.base(h).to_owned();
    let r = client.request(h, "GET", "/", None).map_err(|t| t.message)?;
    match r.status {
        200 => {}
        401 => {
            return Err(format!(
                "authentication failed at {base} (HTTP 401): check api_key or username/password"
            ))
        }
        403 => {
            return Err(format!(
                "not authorized at {base} (HTTP 403): the user or API key lacks privileges"
            ))
        }
        s => return Err(format!("{base} answered {}", bulk::request_error(s, &r.body))),
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|_| format!("{base} does not look like Elasticsearch (GET / is not JSON)"))?;
    let number = v
        .pointer("/version/number")
        .and_then(|n| n.as_str())
        .ok_or_else(|| format!("{base} does not look like Elasticsearch (no version.number)"))?;
    let major: u32 = number.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 8 {
        return Err(format!(
            "{base} runs Elasticsearch {number}, which is not supported (8.0 or later is needed)"
        ));
    }
    let cluster = v.get("cluster_name").and_then(|c| c.as_str()).unwrap_or("?");
    Ok(format!("{base}: Elasticsearch {number} (cluster {cluster})"))
}

/// Percent-encoding for a query parameter value.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Prepared {
    index: String,
    id: String,
    action: Vec<u8>,
}

/// What became of one `_bulk` request after its whole-request retries.
enum Answer {
    Items(Vec<bulk::ItemResult>),
    TooLarge,
    Failed(String),
    Rejected(u16, String),
}

pub struct ElasticsearchOutput {
    client: Client,
    bulk_path: String,
    index: Option<String>,
    bulk_max_size: usize,
    bulk_max_bytes: usize,
    max_retries: u32,
    /// The pipeline's resends (`Output::max_retries`).
    retry_limit: Option<u32>,
    backoff: Backoff,
    dead_letter: Option<(PathBuf, BufWriter<File>)>,
    jitter: Jitter,
    /// Requested when the run's drain is over: the waits between attempts end at once.
    drain_over: Shutdown,
    duplicates: u64,
    reported_duplicates: u64,
    dead_lettered: u64,
    retried: u64,
}

impl ElasticsearchOutput {
    /// Validates, checks the cluster and opens the dead-letter file.
    pub fn connect(cfg: &Config) -> Result<Self, OutputError> {
        Self::connect_with(cfg, None)
    }

    /// As [`connect`](Self::connect); with a spool no usable host is only a warning.
    pub fn connect_with(cfg: &Config, spool: Option<&str>) -> Result<Self, OutputError> {
        cfg.validate().map_err(fatal)?;
        let mut client = Client::new(cfg).map_err(fatal)?;
        let mut problems = Vec::new();
        let mut usable = false;
        for h in 0..client.host_count() {
            match check_host(&mut client, h) {
                Ok(line) => {
                    usable = true;
                    tracing::info!("connected to {line}");
                }
                Err(e) => {
                    client.mark_down(h);
                    problems.push(e);
                }
            }
        }
        match (usable, spool) {
            (true, _) => {
                for p in &problems {
                    tracing::warn!("{p}; using the other hosts");
                }
            }
            (false, None) => return Err(fatal(problems.join("; "))),
            (false, Some(path)) => {
                // Authentication and version problems do not fix themselves, but a cluster
                // that boots after the sensor does: capture now, deliver when it is up.
                let problem = problems.join("; ");
                tracing::warn!(
                    output = NAME,
                    spool = path,
                    "{problem}; starting anyway: events wait in the disk spool {path} until \
                     elasticsearch can be reached"
                );
            }
        }
        let dead_letter = match &cfg.dead_letter_file {
            None => None,
            Some(path) => {
                let path = PathBuf::from(path);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        fatal(format!("dead_letter_file: cannot create {}: {e}", dir.display()))
                    })?;
                }
                let f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(
                    |e| fatal(format!("dead_letter_file: cannot open {}: {e}", path.display())),
                )?;
                Some((path, BufWriter::new(f)))
            }
        };
        let bulk_path = match &cfg.pipeline {
            Some(p) => format!("/_bulk?pipeline={}", query_escape(p)),
            None => "/_bulk".to_owned(),
        };
        Ok(ElasticsearchOutput {
            client,
            bulk_path,
            index: cfg.index.clone(),
            bulk_max_size: cfg.bulk_max_size,
            bulk_max_bytes: cfg.bulk_max_bytes,
            // Retrying forever is the pipeline's part; each send still resends this often.
            max_retries: u32::try_from(cfg.max_retries).unwrap_or(3),
            retry_limit: crate::sink::retry_limit(cfg.max_retries),
            backoff: cfg.backoff.clone(),
            dead_letter,
            jitter: Jitter::new(),
            drain_over: Shutdown::new(),
            duplicates: 0,
            reported_duplicates: 0,
            dead_lettered: 0,
            retried: 0,
        })
    }

    /// Documents Elasticsearch already had (409 on `create`), counted as delivered.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Documents written to the dead-letter file.
    pub fn dead_lettered(&self) -> u64 {
        self.dead_lettered
    }

    /// Waits before the attempt after `attempt` (the shared policy from `backoff.init` to
    /// `backoff.max`, spread by equal jitter); false when the drain is over: give up now.
    fn sleep(&mut self, attempt: u32) -> bool {
        let unit = self.jitter.unit();
        let policy = crate::backoff::Backoff::new(self.backoff.init.0, self.backoff.max.0);
        let wait = crate::backoff::equal_jitter(policy.delay(attempt), unit);
        crate::backoff::sleep(wait, &self.drain_over)
    }

    /// Records a refused document and gives its `Rejected` reason.
    fn reject(
        &mut self,
        ev: &EncodedEvent,
        p: &Prepared,
        status: u16,
        error_type: &str,
        reason: &str,
    ) -> Result<Outcome, OutputError> {
        let text = if error_type.is_empty() {
            format!("HTTP {status}: {reason}")
        } else {
            format!("HTTP {status} {error_type}: {reason}")
        };
        if let Some((path, w)) = self.dead_letter.as_mut() {
            let head = serde_json::json!({
                "index": p.index,
                "_id": p.id,
                "status": status,
                "error_type": error_type,
                "reason": reason,
            })
            .to_string();
            let mut line = head.into_bytes();
            line.pop(); // the closing brace: the document goes in raw
            line.extend_from_slice(b",\"document\":");
            if serde_json::from_slice::<serde::de::IgnoredAny>(&ev.json).is_ok() {
                line.extend_from_slice(&ev.json);
            } else {
                let s = serde_json::Value::String(String::from_utf8_lossy(&ev.json).into_owned());
                line.extend_from_slice(s.to_string().as_bytes());
            }
            line.extend_from_slice(b"}\n");
            w.write_all(&line).map_err(|e| {
                fatal(format!("dead_letter_file {}: cannot write: {e}", path.display()))
            })?;
            self.dead_lettered += 1;
        } else {
            // The pipeline warns (rate-limited) with the reason; this adds where it went.
            tracing::debug!(index = %p.index, id = %p.id, reason = %text, "document refused");
        }
        Ok(Outcome::Rejected(text))
    }

    fn body(&self, batch: &[EncodedEvent], prep: &[Prepared], todo: &[usize]) -> Vec<u8> {
        let len: usize = todo
            .iter()
            .filter_map(|&i| Some(bulk::entry_len(&prep.get(i)?.action, &batch.get(i)?.json)))
            .sum();
        let mut body = Vec::with_capacity(len);
        for &i in todo {
            if let (Some(p), Some(ev)) = (prep.get(i), batch.get(i)) {
                body.extend_from_slice(&p.action);
                body.extend_from_slice(&ev.json);
                body.push(b'\n');
            }
        }
        body
    }

    /// One `_bulk` request with its whole-request retries and host failover.
    fn bulk(&mut self, body: &[u8]) -> Result<Answer, OutputError> {
        let mut attempt = 0u32;
        loop {
            let mut last = String::from("no host answered");
            for h in self.client.order() {
                let reply = match self.client.request(
                    h,
                    "POST",
                    &self.bulk_path,
                    Some((body, "application/x-ndjson")),
                ) {
                    Ok(r) => r,
                    Err(t) => {
                        crate::logging::warn_limited!("elasticsearch: {}", t.message);
                        self.client.mark_down(h);
                        last = t.message;
                        continue;
                    }
                };
                let why = || {
                    format!(
                        "{}: {}",
                        self.client.base(h),
                        bulk::request_error(reply.status, &reply.body)
                    )
                };
                match retry::classify_request(reply.status) {
                    RequestClass::Items => {
                        self.client.mark_up(h);
                        match bulk::parse_response(&reply.body) {
                            Ok(items) => return Ok(Answer::Items(items)),
                            Err(e) => {
                                last = format!("{}: {e}", self.client.base(h));
                                break;
                            }
                        }
                    }
                    RequestClass::TooLarge => return Ok(Answer::TooLarge),
                    RequestClass::Fatal => {
                        return Err(fatal(format!(
                            "{} (check api_key or username/password and privileges)",
                            why()
                        )))
                    }
                    RequestClass::Reject => return Ok(Answer::Rejected(reply.status, why())),
                    RequestClass::Retry { failover } => {
                        last = why();
                        crate::logging::warn_limited!("elasticsearch bulk request failed: {last}");
                        if failover {
                            self.client.mark_down(h);
                            continue;
                        }
                        break;
                    }
                }
            }
            if attempt >= self.max_retries || !self.sleep(attempt) {
                return Ok(Answer::Failed(last));
            }
            attempt += 1;
        }
    }

    /// Sends the events `todo` (indices into `batch`) until each has an outcome in `out`.
    fn submit(
        &mut self,
        batch: &[EncodedEvent],
        prep: &[Prepared],
        todo: &[usize],
        out: &mut [Option<Outcome>],
    ) -> Result<(), OutputError> {
        let mut todo = todo.to_vec();
        let mut round = 0u32;
        while !todo.is_empty() {
            let body = self.body(batch, prep, &todo);
            match self.bulk(&body)? {
                Answer::Items(items) => {
                    let mut again = Vec::new();
                    let mut last = String::new();
                    for (k, &i) in todo.iter().enumerate() {
                        let (Some(ev), Some(p)) = (batch.get(i), prep.get(i)) else {
                            continue;
                        };
                        let outcome = match items.get(k) {
                            None => {
                                last = "missing from the _bulk response".into();
                                again.push(i);
                                continue;
                            }
                            Some(it) => match retry::classify_item(it.status) {
                                ItemClass::Indexed => Outcome::Delivered,
                                ItemClass::Duplicate => {
                                    self.duplicates += 1;
                                    Outcome::Delivered
                                }
                                ItemClass::Retry => {
                                    last = format!(
                                        "HTTP {} {}: {}",
                                        it.status, it.error_type, it.reason
                                    );
                                    again.push(i);
                                    continue;
                                }
                                ItemClass::Reject => {
                                    self.reject(ev, p, it.status, &it.error_type, &it.reason)?
                                }
                            },
                        };
                        if let Some(o) = out.get_mut(i) {
                            *o = Some(outcome);
                        }
                    }
                    if !again.is_empty() {
                        if round >= self.max_retries || !self.sleep(round) {
                            for &i in &again {
                                if let Some(o) = out.get_mut(i) {
                                    *o = Some(Outcome::Retry(last.clone()));
                                }
                            }
                            return Ok(());
                        }
                        self.retried += again.len() as u64;
                        round += 1;
                    }
                    todo = again;
                }
                Answer::TooLarge => {
                    if let [i] = todo[..] {
                        if let (Some(ev), Some(p)) = (batch.get(i), prep.get(i)) {
                            let reason = format!(
                                "a _bulk request with only this document ({} bytes) is over the \
                                 cluster's http.max_content_length",
                                ev.json.len()
                            );
                            let o = self.reject(ev, p, 413, "request_entity_too_large", &reason)?;
                            if let Some(slot) = out.get_mut(i) {
                                *slot = Some(o);
                            }
                        }
                    } else {
                        let (a, b) = todo.split_at(todo.len() / 2);
                        tracing::info!(
                            events = todo.len(),
                            "_bulk request too large (413): splitting"
                        );
                        self.submit(batch, prep, a, out)?;
                        self.submit(batch, prep, b, out)?;
                    }
                    return Ok(());
                }
                Answer::Failed(reason) => {
                    for &i in &todo {
                        if let Some(o) = out.get_mut(i) {
                            *o = Some(Outcome::Retry(reason.clone()));
                        }
                    }
                    return Ok(());
                }
                Answer::Rejected(status, reason) => {
                    for &i in &todo {
                        if let (Some(ev), Some(p)) = (batch.get(i), prep.get(i)) {
                            let o = self.reject(ev, p, status, "", &reason)?;
                            if let Some(slot) = out.get_mut(i) {
                                *slot = Some(o);
                            }
                        }
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl Output for ElasticsearchOutput {
    fn name(&self) -> &'static str {
        NAME
    }

    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        let prep: Vec<Prepared> = batch
            .iter()
            .map(|ev| {
                let index = bulk::target(self.index.as_deref(), ev);
                let id = bulk::doc_id(&ev.json);
                let action = bulk::action_line(&index, &id);
                Prepared { index, id, action }
            })
            .collect();
        let mut out: Vec<Option<Outcome>> = vec![None; batch.len()];
        let mut chunk: Vec<usize> = Vec::new();
        let mut bytes = 0usize;
        for (i, (ev, p)) in batch.iter().zip(&prep).enumerate() {
            let n = bulk::entry_len(&p.action, &ev.json);
            if !chunk.is_empty()
                && (chunk.len() >= self.bulk_max_size || bytes + n > self.bulk_max_bytes)
            {
                self.submit(batch, &prep, &chunk, &mut out)?;
                chunk.clear();
                bytes = 0;
            }
            chunk.push(i);
            bytes += n;
        }
        if !chunk.is_empty() {
            self.submit(batch, &prep, &chunk, &mut out)?;
        }
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Retry("no outcome from elasticsearch".into())))
            .collect())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if let Some((path, w)) = self.dead_letter.as_mut() {
            w.flush().map_err(|e| {
                fatal(format!("dead_letter_file {}: cannot write: {e}", path.display()))
            })?;
        }
        if self.duplicates > self.reported_duplicates {
            tracing::info!(
                duplicates = self.duplicates,
                "elasticsearch already had some documents (409 on create): counted as delivered"
            );
            self.reported_duplicates = self.duplicates;
        }
        Ok(())
    }

    fn watch_shutdown(&mut self, drain_over: &Shutdown) {
        self.drain_over = drain_over.clone();
    }

    fn max_retries(&self) -> Option<u32> {
        self.retry_limit
    }

    fn stats(&self) -> crate::sink::OutputStats {
        crate::sink::OutputStats {
            duplicates: self.duplicates,
            dead_lettered: self.dead_lettered,
            retried: self.retried,
        }
    }
}

#[cfg(test)]
mod tests;
