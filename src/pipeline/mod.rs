//! The pipeline: capture thread → N workers (sharded by flow hash) → one output thread.
//!
//! Ownership: the capture side (the thread calling [`Pipeline::push`]) owns the per-worker batch
//! buffers; each worker owns its decoder (with its fragment cache), its flow table and its event
//! encoder, so the per-packet path takes no lock; the output thread owns the sink.
//!
//! Determinism: frames are cut into *epochs* (every [`EPOCH_FRAMES`] frames, or on a live tick).
//! Every worker receives one batch per epoch (possibly empty) that carries the pipeline's packet
//! clock (`now`, the largest timestamp seen); the worker processes it, advances its timers to
//! `now`, and returns that epoch's events. In ordered mode (`read`) the output thread writes
//! epoch by epoch, worker by worker, so the same input and worker count give byte-identical
//! output on every run. Live capture writes events as they come.
//!
//! Limits: each worker channel holds `channel_batches` batches. `read` blocks when it is full
//! (backpressure, nothing lost); live capture drops the frames instead and counts them in
//! `dropped_channel_full`.

use crate::decode::{shard_hash, Decoder, FrameRef, TunnelPorts};
use crate::ecs::{EncodedEvent, EventContext, FlowEncoder};
use crate::flow::app::AppLayer;
use crate::flow::{Emit, FlowSettings, FlowTable};
use crate::proto::Registry;
use crate::queue::{Queue, Taken};
use crate::sink::{Outcome, Output, OutputStats};
use crate::stats::Counters;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Frames per epoch, across all workers.
pub const EPOCH_FRAMES: usize = 8192;
/// Events the queue thread collects before a push into the queue (outputs take their own batch
/// sizes from the queue, `Output::max_batch`).
const OUTPUT_BATCH: usize = 2048;

#[derive(Debug, Clone, Copy)]
struct FrameMeta {
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    off: usize,
    len: usize,
}

/// One worker's share of an epoch.
#[derive(Default)]
struct FrameBatch {
    epoch: u64,
    now_ns: i64,
    last: bool,
    data: Vec<u8>,
    frames: Vec<FrameMeta>,
}

struct WorkerOut {
    worker: usize,
    epoch: u64,
    events: Vec<EncodedEvent>,
}

#[derive(Clone)]
pub struct PipelineSettings {
    pub workers: usize,
    pub flows: FlowSettings,
    pub flows_enabled: bool,
    pub tunnels: TunnelPorts,
    pub defrag: crate::decode::config::Defrag,
    pub channel_batches: usize,
    /// Ordered, lossless mode for capture files; live mode drops on full channels.
    pub ordered: bool,
    /// Application protocols (None: flows only).
    pub registry: Option<Arc<Registry>>,
}

impl PipelineSettings {
    /// From the validated settings: nothing is resolved again here.
    pub fn from_settings(s: &crate::config::Settings, ordered: bool) -> Self {
        PipelineSettings {
            registry: s.registry.clone(),
            workers: s.workers,
            flows: s.flows.clone(),
            flows_enabled: s.wirebeat.flows.enabled,
            tunnels: (&s.wirebeat.tunnels).into(),
            defrag: s.wirebeat.defrag.clone(),
            channel_batches: s.wirebeat.channel_batches.max(2),
            ordered,
        }
    }
}

/// How the run ended, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct RunResult {
    /// The output failed for good (its message).
    pub output_error: Option<String>,
}

pub struct Pipeline {
    senders: Vec<Sender<FrameBatch>>,
    batches: Vec<FrameBatch>,
    recycle: Receiver<FrameBatch>,
    epoch: u64,
    in_epoch: usize,
    wire_bytes_in_epoch: u64,
    now_ns: i64,
    ordered: bool,
    workers: Vec<JoinHandle<()>>,
    feeder: Option<JoinHandle<()>>,
    output: Option<JoinHandle<RunResult>>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    /// Set by the output thread when the output failed for good: stop capturing.
    pub output_failed: Arc<AtomicBool>,
}

impl Pipeline {
    pub fn start(
        settings: PipelineSettings,
        ctx: Arc<EventContext>,
        output: Box<dyn Output>,
        queue: Arc<Queue>,
        counters: Arc<Counters>,
    ) -> Pipeline {
        let n = settings.workers.max(1);
        let (out_tx, out_rx) = bounded::<WorkerOut>(n * settings.channel_batches);
        let (recycle_tx, recycle_rx) = bounded::<FrameBatch>(n * settings.channel_batches + n);
        let mut senders = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<FrameBatch>(settings.channel_batches);
            senders.push(tx);
            let worker = Worker::new(id, n, &settings, ctx.clone(), counters.clone());
            let out_tx = out_tx.clone();
            let recycle_tx = recycle_tx.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("wirebeat-worker-{id}"))
                    .spawn(move || worker.run(rx, out_tx, recycle_tx))
                    .unwrap_or_else(|e| panic!("cannot start worker thread: {e}")),
            );
        }
        drop(out_tx);
        let failed = Arc::new(AtomicBool::new(false));
        let feeder = {
            let ordered = settings.ordered;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("wirebeat-queue".into())
                .spawn(move || feed_loop(out_rx, n, ordered, queue))
                .unwrap_or_else(|e| panic!("cannot start queue thread: {e}"))
        };
        let output = {
            let counters = counters.clone();
            let failed = failed.clone();
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("wirebeat-output".into())
                .spawn(move || send_loop(output, queue, counters, failed))
                .unwrap_or_else(|e| panic!("cannot start output thread: {e}"))
        };
        Pipeline {
            senders,
            batches: (0..n).map(|_| FrameBatch::default()).collect(),
            recycle: recycle_rx,
            epoch: 0,
            in_epoch: 0,
            wire_bytes_in_epoch: 0,
            now_ns: i64::MIN,
            ordered: settings.ordered,
            workers,
            feeder: Some(feeder),
            output: Some(output),
            queue,
            counters,
            output_failed: failed,
        }
    }

    /// Puts an event of the sensor itself (health) straight into the queue.
    pub fn publish(&self, ev: EncodedEvent) {
        self.queue.push(vec![ev]);
    }

    /// The pipeline's packet clock: the largest timestamp seen so far.
    pub fn now_ns(&self) -> i64 {
        self.now_ns
    }

    /// Queues one frame (copied) for its worker.
    pub fn push(&mut self, ts_ns: i64, wire_len: u32, linktype: u32, data: &[u8]) {
        let n = self.senders.len();
        let w = if n == 1 { 0 } else { (shard_hash(linktype, data) % n as u64) as usize };
        let b = &mut self.batches[w];
        let off = b.data.len();
        b.data.extend_from_slice(data);
        b.frames.push(FrameMeta { ts_ns, wire_len, linktype, off, len: data.len() });
        self.now_ns = self.now_ns.max(ts_ns);
        self.wire_bytes_in_epoch += u64::from(wire_len);
        self.in_epoch += 1;
        if self.in_epoch >= EPOCH_FRAMES {
            self.dispatch(false);
        }
    }

    /// Ends the current epoch now (live capture: called on a timer so idle flows expire).
    /// `now_ns` may move the clock forward when no packets arrive.
    pub fn tick(&mut self, now_ns: i64) {
        self.now_ns = self.now_ns.max(now_ns);
        self.dispatch(false);
    }

    fn dispatch(&mut self, last: bool) {
        let now = if self.now_ns == i64::MIN { 0 } else { self.now_ns };
        for (w, tx) in self.senders.iter().enumerate() {
            let fresh = self.recycle.try_recv().unwrap_or_default();
            let mut batch = std::mem::replace(&mut self.batches[w], fresh);
            batch.epoch = self.epoch;
            batch.now_ns = now;
            batch.last = last;
            if self.ordered || last {
                // Lossless: wait for the worker (backpressure into the reader).
                if tx.send(batch).is_err() {
                    tracing::error!(worker = w, "worker stopped unexpectedly");
                }
            } else {
                match tx.try_send(batch) {
                    Ok(()) => {}
                    Err(TrySendError::Full(b)) => {
                        Counters::add(&self.counters.dropped_channel_full, b.frames.len() as u64);
                    }
                    Err(TrySendError::Disconnected(_)) => {
                        tracing::error!(worker = w, "worker stopped unexpectedly");
                    }
                }
            }
        }
        // Frame counts are published once per epoch, not per frame.
        Counters::add(&self.counters.frames_read, self.in_epoch as u64);
        Counters::add(&self.counters.wire_bytes_read, self.wire_bytes_in_epoch);
        self.epoch += 1;
        self.in_epoch = 0;
        self.wire_bytes_in_epoch = 0;
    }

    /// Flushes every flow as final, waits until the output has every event, and stops.
    pub fn finish(mut self) -> RunResult {
        self.dispatch(true);
        self.senders.clear();
        for w in self.workers.drain(..) {
            if w.join().is_err() {
                tracing::error!("a worker thread panicked");
            }
        }
        if self.feeder.take().map(|f| f.join()).is_some_and(|r| r.is_err()) {
            tracing::error!("the queue thread panicked");
        }
        match self.output.take().map(|o| o.join()) {
            Some(Ok(r)) => r,
            _ => RunResult { output_error: Some("output thread panicked".into()) },
        }
    }
}

struct Worker {
    id: usize,
    decoder: Decoder,
    flows: FlowTable,
    flows_enabled: bool,
    encoder: FlowEncoder,
    ctx: Arc<EventContext>,
    counters: Arc<Counters>,
}

impl Worker {
    fn new(
        id: usize,
        n: usize,
        s: &PipelineSettings,
        ctx: Arc<EventContext>,
        counters: Arc<Counters>,
    ) -> Self {
        let defrag_capacity = (s.defrag.max_datagrams / n).max(16);
        Worker {
            id,
            decoder: Decoder::new(s.tunnels.clone(), Some(&s.defrag), defrag_capacity),
            flows: match &s.registry {
                Some(r) => FlowTable::new(s.flows.clone()).with_app(AppLayer::new(r.clone())),
                None => FlowTable::new(s.flows.clone()),
            },
            flows_enabled: s.flows_enabled,
            encoder: FlowEncoder::new(ctx.clone(), id),
            ctx,
            counters,
        }
    }

    fn run(
        mut self,
        rx: Receiver<FrameBatch>,
        out: Sender<WorkerOut>,
        recycle: Sender<FrameBatch>,
    ) {
        for mut batch in rx {
            let mut events = Vec::new();
            self.process(&batch, &mut events);
            let epoch = batch.epoch;
            batch.data.clear();
            batch.frames.clear();
            let _ = recycle.try_send(batch);
            if out.send(WorkerOut { worker: self.id, epoch, events }).is_err() {
                return;
            }
        }
    }

    fn process(&mut self, batch: &FrameBatch, events: &mut Vec<EncodedEvent>) {
        let Worker { decoder, flows, encoder, flows_enabled, ctx, .. } = self;
        let enabled = *flows_enabled;
        let mut emit = |e: Emit<'_>| match e {
            Emit::Flow(r) => {
                if enabled {
                    events.push(encoder.encode(&r));
                }
            }
            Emit::Txn(f, t) => events.push(crate::ecs::txn::encode(ctx, f, &t)),
        };
        for m in &batch.frames {
            let Some(data) = batch.data.get(m.off..m.off + m.len) else {
                continue;
            };
            let frame =
                FrameRef { ts_ns: m.ts_ns, wire_len: m.wire_len, linktype: m.linktype, data };
            decoder.decode(&frame, &mut |p| flows.update(p, &mut emit));
        }
        decoder.tick(batch.now_ns, &mut |p| flows.update(p, &mut emit));
        flows.tick(batch.now_ns, &mut emit);
        if batch.last {
            decoder.flush(&mut |p| flows.update(p, &mut emit));
            flows.flush(batch.now_ns, &mut emit);
        }
        self.counters.add_decode(&self.decoder.stats);
        self.decoder.stats = Default::default();
        self.counters.add_flows(&self.flows.stats);
        self.flows.stats = Default::default();
        if let Some(app) = self.flows.app.as_mut() {
            self.counters.add_app(&app.stats);
            app.stats = Default::default();
        }
    }
}

/// Puts the workers' events into the queue: epoch by epoch and worker by worker in ordered
/// mode, as they come otherwise. Closes the queue when the workers are done.
fn feed_loop(rx: Receiver<WorkerOut>, workers: usize, ordered: bool, queue: Arc<Queue>) {
    let mut pending: BTreeMap<u64, Vec<Option<Vec<EncodedEvent>>>> = BTreeMap::new();
    let mut next_epoch = 0u64;
    let mut buf: Vec<EncodedEvent> = Vec::with_capacity(OUTPUT_BATCH);
    for msg in rx.iter() {
        if !ordered {
            buf.extend(msg.events);
        } else {
            let slot = pending.entry(msg.epoch).or_insert_with(|| vec![None; workers]);
            slot[msg.worker] = Some(msg.events);
            while pending.get(&next_epoch).is_some_and(|s| s.iter().all(Option::is_some)) {
                if let Some(slots) = pending.remove(&next_epoch) {
                    for events in slots.into_iter().flatten() {
                        buf.extend(events);
                    }
                }
                next_epoch += 1;
            }
        }
        if buf.len() >= OUTPUT_BATCH || (!ordered && !buf.is_empty()) {
            queue.push(std::mem::take(&mut buf));
        }
    }
    // Workers are gone: whatever is left (a worker that died leaves a hole) goes out in order.
    for (_, slots) in std::mem::take(&mut pending) {
        for events in slots.into_iter().flatten() {
            buf.extend(events);
        }
    }
    queue.push(buf);
    queue.close();
}

/// Takes batches from the queue, delivers them, and acknowledges them to the queue once every
/// event has a final outcome. Ends when the queue is closed and empty, or the output failed.
fn send_loop(
    mut output: Box<dyn Output>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    failed: Arc<AtomicBool>,
) -> RunResult {
    let mut result = RunResult::default();
    let mut seen = OutputStats::default();
    let max = output.max_batch().max(1);
    loop {
        match queue.take(max, std::time::Duration::from_millis(500)) {
            Taken::Batch(batch) => {
                let n = batch.len();
                Counters::add(&counters.events_published, n as u64);
                let ok = deliver(&mut *output, batch, &counters, &mut result);
                publish_output_stats(&*output, &mut seen, &counters);
                if !ok {
                    failed.store(true, Ordering::Relaxed);
                    queue.abort();
                    return result;
                }
                queue.ack(n);
            }
            Taken::Empty => {}
            Taken::Closed => break,
        }
    }
    if let Err(e) = output.flush() {
        result.output_error = Some(e.to_string());
    }
    publish_output_stats(&*output, &mut seen, &counters);
    result
}

fn publish_output_stats(output: &dyn Output, seen: &mut OutputStats, counters: &Counters) {
    let now = output.stats();
    Counters::add(&counters.events_duplicate, now.duplicates.saturating_sub(seen.duplicates));
    Counters::add(
        &counters.events_dead_lettered,
        now.dead_lettered.saturating_sub(seen.dead_lettered),
    );
    Counters::add(&counters.events_retried, now.retried.saturating_sub(seen.retried));
    *seen = now;
}

/// Sends `batch` until every event has a final outcome; retries back off exponentially.
/// Returns false when the output failed for good.
fn deliver(
    output: &mut dyn Output,
    batch: Vec<EncodedEvent>,
    counters: &Counters,
    result: &mut RunResult,
) -> bool {
    let mut backoff = std::time::Duration::from_millis(100);
    let mut todo = batch;
    while !todo.is_empty() {
        match output.send(&todo) {
            Ok(outcomes) => {
                let mut retry = Vec::new();
                for (ev, outcome) in todo.into_iter().zip(outcomes) {
                    match outcome {
                        Outcome::Delivered => Counters::add(&counters.events_acked, 1),
                        Outcome::Rejected(reason) => {
                            Counters::add(&counters.events_rejected, 1);
                            tracing::warn!(output = output.name(), %reason, "event rejected");
                        }
                        Outcome::Retry(_) => retry.push(ev),
                    }
                }
                if !retry.is_empty() {
                    Counters::add(&counters.events_retried, retry.len() as u64);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
                }
                todo = retry;
            }
            Err(e) => {
                tracing::error!(output = output.name(), error = %e, "output failed");
                result.output_error = Some(e.to_string());
                return false;
            }
        }
    }
    true
}
