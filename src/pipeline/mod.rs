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
//! `dropped_channel_full`. Events leave a worker in parts of at most [`WORKER_PART`] as they
//! are made, on a channel of its own holding [`WORKER_PARTS`] parts, so a sweep that ends
//! 100,000 flows is never encoded whole in memory before the queue sees it: the worker waits
//! for the queue thread, which waits for the queue (`queue.mem` bounds the peak). In ordered
//! mode the queue thread reads the workers' channels in turn (epoch by epoch, worker by
//! worker), which keeps the output order without buffering other workers' parts.
//!
//! Stopping ([`Drain`], `crate::shutdown`): the run's *stop* token (a signal, or
//! [`Pipeline::finish`] at the end of the input) ends capture and starts the final drain: every
//! flow is reported final and the queue is emptied into the output. A watchdog thread gives that
//! drain `wirebeat.shutdown_timeout`; when it passes it requests the pipeline's *drain over*
//! token and abandons the queue: retry backoffs end at once, workers finish their current batch
//! and skip the rest, the spool keeps what is left for the next start, a memory queue counts it
//! in `dropped_shutdown`, and `finish` returns even if the output is stuck in a send.
//!
//! The capture loops that drive a pipeline live beside it (`read.rs` for capture files,
//! `live.rs` for interfaces) rather than in the CLI: they own the order of stop, final tick and
//! drain, which is the pipeline's contract, and the CLI only maps their outcome to an exit code.

mod clock;
pub mod live;
mod output;
pub mod read;

use crate::decode::{shard_hash, Decoder, FrameRef, TunnelPorts};
use crate::detect::evidence::{Evidence, Ring};
use crate::detect::{DetectEngine, Observer};
use crate::ecs::{EncodedEvent, EventContext, FlowEncoder};
use crate::flow::app::AppLayer;
use crate::flow::{Emit, FlowSettings, FlowTable};
use crate::proto::Registry;
use crate::queue::Queue;
use crate::shutdown::Shutdown;
use crate::sink::Output;
use crate::stats::Counters;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Frames per epoch, across all workers.
pub const EPOCH_FRAMES: usize = 8192;
/// Events the queue thread collects before a push into the queue (outputs take their own batch
/// sizes from the queue, `Output::max_batch`).
const OUTPUT_BATCH: usize = 2048;
/// Events a worker hands out at once, as soon as it has made them.
const WORKER_PART: usize = 1024;
/// Parts each worker's output channel holds before the worker waits.
const WORKER_PARTS: usize = 4;

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
    /// Wall-clock time the epoch's first frame was read (ns since the epoch; the latency
    /// histogram's start: see [`Queue::push_built`]).
    read_ns: i64,
    last: bool,
    data: Vec<u8>,
    frames: Vec<FrameMeta>,
}

/// A part of a worker's events of one epoch; `last` ends the epoch.
struct WorkerOut {
    last: bool,
    /// The epoch's packet clock (on the last part).
    now_ns: i64,
    events: Vec<EncodedEvent>,
    /// What the detectors need of this part's packets, flows and transactions.
    obs: Vec<crate::detect::Obs>,
    /// When the frames that made them were read ([`FrameBatch::read_ns`]).
    read_ns: i64,
}

/// Where a worker puts its events: handed out every [`WORKER_PART`] events.
struct Outbox<'a> {
    tx: &'a Sender<WorkerOut>,
    events: Vec<EncodedEvent>,
    now_ns: i64,
    /// The queue thread is gone.
    closed: bool,
    read_ns: i64,
    counters: &'a Counters,
}

impl Outbox<'_> {
    fn push(&mut self, ev: EncodedEvent, observer: &mut Observer) {
        self.events.push(ev);
        if self.events.len() >= WORKER_PART {
            self.send(false, observer);
        }
    }

    fn send(&mut self, last: bool, observer: &mut Observer) {
        let events = std::mem::take(&mut self.events);
        if self.closed {
            return;
        }
        // Built and in transit until the queue thread puts them in the queue.
        let n = events.len() as u64;
        if n > 0 {
            count_datasets(self.counters, &events);
            let c = self.counters;
            let _s = c.section();
            Counters::add(&c.events_built, n);
            Counters::add(&c.events_in_transit, n);
        }
        let out = WorkerOut {
            last,
            now_ns: self.now_ns,
            events,
            obs: observer.take(),
            read_ns: self.read_ns,
        };
        if self.tx.send(out).is_err() {
            self.closed = true;
            if n > 0 {
                // The queue thread is gone (it panicked): these were never built for anyone.
                let c = self.counters;
                let _s = c.section();
                Counters::sub(&c.events_built, n);
                Counters::sub(&c.events_in_transit, n);
            }
        }
    }
}

/// Counts events by dataset (one lock per dataset run, not per event).
fn count_datasets(c: &Counters, events: &[EncodedEvent]) {
    let mut i = 0;
    while let Some(first) = events.get(i) {
        let run = events[i..].iter().take_while(|e| e.dataset == first.dataset).count();
        c.count_events(first.dataset, run as u64);
        i += run;
    }
}

impl Outbox<'_> {}

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
    /// `wirebeat.detect`.
    pub detect: crate::detect::config::Detect,
    /// Detectors to run instead of those `detect` enables (tests and embedders); `None`: the
    /// configured ones.
    pub detectors: Option<DetectorFactory>,
    /// `processors` (None: none configured, no event is parsed again).
    pub processors: Option<Arc<crate::processors::Chain>>,
}

/// Makes the detectors of a pipeline (see [`PipelineSettings::detectors`]).
pub type DetectorFactory = Arc<dyn Fn() -> Vec<Box<dyn crate::detect::Detector>> + Send + Sync>;

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
            detect: s.wirebeat.detect.clone(),
            detectors: None,
            processors: s.processors.clone(),
        }
    }
}

/// How the run ended, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct RunResult {
    /// The output failed for good (its message).
    pub output_error: Option<String>,
    /// The drain limit passed with events undelivered.
    pub drain_cut: Option<DrainCut>,
}

/// What the drain limit left undelivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainCut {
    /// Events that stay in the disk spool, sent at the next start.
    pub in_spool: u64,
    /// Events lost (`dropped_shutdown`): a memory queue's, or what did not fit in the spool.
    pub lost: u64,
}

/// How a pipeline stops.
#[derive(Debug, Clone, Default)]
pub struct Drain {
    /// The run's stop token (SIGINT/SIGTERM; [`Pipeline::finish`] requests it too).
    pub stop: Shutdown,
    /// Longest time from the stop to the end of the final drain (`wirebeat.shutdown_timeout`);
    /// `None` waits as long as it takes.
    pub limit: Option<Duration>,
}

/// After the drain limit, how long `finish` still waits for a send in progress to return.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

pub struct Pipeline {
    senders: Vec<Sender<FrameBatch>>,
    batches: Vec<FrameBatch>,
    recycle: Receiver<FrameBatch>,
    epoch: u64,
    in_epoch: usize,
    wire_bytes_in_epoch: u64,
    /// Wall-clock read time of the epoch's first frame.
    epoch_read_ns: i64,
    clock: clock::PacketClock,
    ordered: bool,
    workers: Vec<JoinHandle<()>>,
    feeder: Option<JoinHandle<()>>,
    /// The output thread and the channel its result comes on (so `finish` can stop waiting).
    output: Option<(JoinHandle<()>, Receiver<RunResult>)>,
    watchdog: Option<JoinHandle<()>>,
    stop: Shutdown,
    /// Requested by the watchdog when the drain limit passed.
    drain_over: Shutdown,
    /// Requested when `finish` is done: releases the watchdog.
    done: Shutdown,
    /// Set by `finish` before it requests the stop itself: the input ended (no signal came).
    end_of_input: Arc<AtomicBool>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    /// Set by the output thread when the output failed for good: stop capturing.
    pub output_failed: Arc<AtomicBool>,
    /// The stats endpoint (`http.enabled`), serving this run's counters until it ends.
    http: Option<crate::stats::http::Server>,
    /// `processors`, for the sensor's own events ([`Pipeline::publish`]).
    processors: Option<Arc<crate::processors::Chain>>,
}

impl Pipeline {
    pub fn start(
        settings: PipelineSettings,
        ctx: Arc<EventContext>,
        mut output: Box<dyn Output>,
        queue: Arc<Queue>,
        counters: Arc<Counters>,
        drain: Drain,
    ) -> Pipeline {
        let n = settings.workers.max(1);
        let drain_over = Shutdown::new();
        let done = Shutdown::new();
        let mut out_rxs = Vec::with_capacity(n);
        let (recycle_tx, recycle_rx) = bounded::<FrameBatch>(n * settings.channel_batches + n);
        let mut senders = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        // Threat-intel lists, shared by the workers (watched for changes in live capture).
        let intel = crate::detect::intel::Intel::start(&settings.detect, !settings.ordered);
        let engine = match &settings.detectors {
            Some(make) => {
                Some(DetectEngine::new(make(), settings.detect.suppress_window.as_nanos()))
            }
            None => DetectEngine::from_config(&settings.detect),
        };
        let evidence = engine
            .as_ref()
            .and_then(|_| Evidence::new(&settings.detect.evidence, n, counters.clone()));
        for id in 0..n {
            let (tx, rx) = bounded::<FrameBatch>(settings.channel_batches);
            senders.push(tx);
            let mut worker = Worker::new(id, n, &settings, ctx.clone(), counters.clone());
            worker.drain_over = drain_over.clone();
            // The workers observe for the one engine built above (not one engine each).
            worker.detect = Observer::new(engine.is_some());
            worker.intel = intel.as_ref().map(crate::detect::intel::Intel::matcher);
            worker.evidence = evidence.as_ref().map(|e| e.ring());
            let (out_tx, out_rx) = bounded::<WorkerOut>(WORKER_PARTS);
            out_rxs.push(out_rx);
            let recycle_tx = recycle_tx.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("wirebeat-worker-{id}"))
                    .spawn(move || worker.run(rx, out_tx, recycle_tx))
                    .unwrap_or_else(|e| panic!("cannot start worker thread: {e}")),
            );
        }
        let failed = Arc::new(AtomicBool::new(false));
        let feeder = {
            let ordered = settings.ordered;
            let queue = queue.clone();
            let counters = counters.clone();
            let detect = engine.map(|engine| Detection {
                engine,
                ctx: ctx.clone(),
                counters: counters.clone(),
                evidence,
                now_ns: i64::MIN,
                processors: settings.processors.clone(),
            });
            std::thread::Builder::new()
                .name("wirebeat-queue".into())
                .spawn(move || feed_loop(out_rxs, ordered, queue, detect))
                .unwrap_or_else(|e| panic!("cannot start queue thread: {e}"))
        };
        output.watch_shutdown(&drain_over);
        let output = {
            let counters = counters.clone();
            let failed = failed.clone();
            let queue = queue.clone();
            let drain_over = drain_over.clone();
            let (tx, rx) = bounded::<RunResult>(1);
            let handle = std::thread::Builder::new()
                .name("wirebeat-output".into())
                .spawn(move || {
                    let r = output::send_loop(output, queue, counters, failed, drain_over);
                    let _ = tx.send(r);
                })
                .unwrap_or_else(|e| panic!("cannot start output thread: {e}"));
            (handle, rx)
        };
        let end_of_input = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let (stop, done, drain_over) = (drain.stop.clone(), done.clone(), drain_over.clone());
            let (queue, counters, eoi) = (queue.clone(), counters.clone(), end_of_input.clone());
            std::thread::Builder::new()
                .name("wirebeat-drain".into())
                .spawn(move || {
                    let tokens = DrainTokens { stop: &stop, done: &done, drain_over: &drain_over };
                    watch_drain(tokens, drain.limit, &queue, &counters, &eoi)
                })
                .unwrap_or_else(|e| panic!("cannot start drain watchdog thread: {e}"))
        };
        Pipeline {
            senders,
            batches: (0..n).map(|_| FrameBatch::default()).collect(),
            recycle: recycle_rx,
            epoch: 0,
            in_epoch: 0,
            wire_bytes_in_epoch: 0,
            epoch_read_ns: 0,
            clock: clock::PacketClock::default(),
            ordered: settings.ordered,
            workers,
            feeder: Some(feeder),
            output: Some(output),
            watchdog: Some(watchdog),
            stop: drain.stop,
            drain_over,
            done,
            end_of_input,
            queue,
            counters,
            output_failed: failed,
            http: None,
            processors: settings.processors.clone(),
        }
    }

    /// Puts an event of the sensor itself (health) straight into the queue (no capture time:
    /// not in the latency histogram).
    pub fn publish(&self, mut ev: EncodedEvent) {
        let c = &self.counters;
        if let Some(p) = &self.processors {
            let o = p.apply(&mut ev.json);
            Counters::add(&c.processor_field_errors, o.missing_fields);
            if o.dropped {
                Counters::add(&c.events_dropped_processor, 1);
                return;
            }
        }
        c.count_events(ev.dataset, 1);
        {
            let _s = c.section();
            Counters::add(&c.events_built, 1);
            Counters::add(&c.events_in_transit, 1);
        }
        self.queue.push_built(vec![ev], &[(0, 1)]);
    }

    /// The pipeline's packet clock: the largest timestamp seen so far.
    pub fn now_ns(&self) -> i64 {
        self.clock.now_ns()
    }

    /// Queues one frame (copied) for its worker.
    pub fn push(&mut self, ts_ns: i64, wire_len: u32, linktype: u32, data: &[u8]) {
        let n = self.senders.len();
        let w = if n == 1 { 0 } else { (shard_hash(linktype, data) % n as u64) as usize };
        if self.in_epoch == 0 {
            // One clock read per epoch, at the capture boundary, for the latency histogram.
            self.epoch_read_ns = crate::stats::wall_clock_ns();
        }
        let b = &mut self.batches[w];
        let off = b.data.len();
        b.data.extend_from_slice(data);
        b.frames.push(FrameMeta { ts_ns, wire_len, linktype, off, len: data.len() });
        if !self.clock.observe(ts_ns) {
            Counters::add(&self.counters.clock_jumps_ignored, 1);
        }
        self.wire_bytes_in_epoch += u64::from(wire_len);
        self.in_epoch += 1;
        if self.in_epoch >= EPOCH_FRAMES {
            self.dispatch(false);
        }
    }

    /// Ends the current epoch now (live capture: called on a timer so idle flows expire).
    /// `now_ns` may move the clock forward when no packets arrive.
    pub fn tick(&mut self, now_ns: i64) {
        self.clock.advance(now_ns);
        self.dispatch(false);
    }

    fn dispatch(&mut self, last: bool) {
        let now = match self.clock.now_ns() {
            i64::MIN => 0,
            n => n,
        };
        let read_ns =
            if self.in_epoch == 0 { crate::stats::wall_clock_ns() } else { self.epoch_read_ns };
        let c = &self.counters;
        for (w, tx) in self.senders.iter().enumerate() {
            let fresh = self.recycle.try_recv().unwrap_or_default();
            let mut batch = std::mem::replace(&mut self.batches[w], fresh);
            batch.epoch = self.epoch;
            batch.now_ns = now;
            batch.last = last;
            batch.read_ns = read_ns;
            // Frame counts are published once per batch, not per frame: read and in flight
            // before the send, so the worker never takes out what was not put in.
            let n = batch.frames.len() as u64;
            {
                let _s = c.section();
                Counters::add(&c.frames_read, n);
                Counters::add(&c.frames_in_flight, n);
            }
            let refused = if self.ordered || last {
                // Lossless: wait for the worker (backpressure into the reader).
                tx.send(batch).is_err()
            } else {
                match tx.try_send(batch) {
                    Ok(()) => false,
                    Err(TrySendError::Full(_)) => {
                        let _s = c.section();
                        Counters::sub(&c.frames_in_flight, n);
                        Counters::add(&c.dropped_channel_full, n);
                        false
                    }
                    Err(TrySendError::Disconnected(_)) => true,
                }
            };
            if refused {
                tracing::error!(worker = w, "worker stopped unexpectedly");
                let _s = c.section();
                Counters::sub(&c.frames_in_flight, n);
                Counters::add(&c.dropped_unprocessed, n);
            }
        }
        Counters::add(&self.counters.wire_bytes_read, self.wire_bytes_in_epoch);
        self.epoch += 1;
        self.in_epoch = 0;
        self.wire_bytes_in_epoch = 0;
    }

    /// Flushes every flow as final, waits until the output has every event (at most the drain
    /// limit after the stop), and stops.
    pub fn finish(mut self) -> RunResult {
        // The end of the input is a stop too. If no signal came first, the drain limit counts
        // time without progress from here (a large backlog to a slow output is not cut off).
        if !self.stop.is_requested() {
            self.end_of_input.store(true, Ordering::SeqCst);
        }
        self.stop.request();
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
        let mut result = self.output_result();
        // Counts of rate-limited warnings still held back go out before the summary.
        crate::logging::ratelimit::flush();
        self.done.request();
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
        if self.drain_over.is_requested() {
            let c = &self.counters;
            let mut in_spool = c.get(&c.queue_events);
            if !self.queue.durable() {
                // A batch still in a send whose fate is unknown counts as lost (except what of
                // it already has an outcome); the memory queue forgets it.
                let _s = c.section();
                let settled = c.get(&c.events_pending_ack);
                Counters::add(&c.dropped_shutdown, in_spool.saturating_sub(settled));
                Counters::set(&c.queue_events, 0);
                Counters::set(&c.queue_bytes, 0);
                Counters::set(&c.events_pending_ack, 0);
                in_spool = 0;
            }
            let lost = c.get(&c.dropped_shutdown);
            if in_spool + lost > 0 {
                result.drain_cut = Some(DrainCut { in_spool, lost });
            }
        }
        result
    }

    /// The output thread's result; after the drain limit, at most [`OUTPUT_GRACE`] more.
    fn output_result(&mut self) -> RunResult {
        let Some((handle, rx)) = self.output.take() else {
            return RunResult::default();
        };
        let got = crossbeam_channel::select! {
            recv(rx) -> r => r.map_err(|_| RecvTimeoutError::Disconnected),
            recv(self.drain_over.receiver()) -> _ => rx.recv_timeout(OUTPUT_GRACE),
        };
        match got {
            Ok(r) => {
                let _ = handle.join();
                r
            }
            Err(RecvTimeoutError::Timeout) => {
                // Left running: the process ends right after, and the spool is safe against
                // being stopped at any point.
                tracing::warn!(
                    "the output did not return within {OUTPUT_GRACE:?} after the drain limit; \
                     not waiting for it"
                );
                RunResult::default()
            }
            Err(RecvTimeoutError::Disconnected) => RunResult {
                output_error: Some("output thread panicked".into()),
                ..Default::default()
            },
        }
    }
}

impl Drop for Pipeline {
    /// Releases the drain watchdog of a pipeline dropped without [`Pipeline::finish`].
    fn drop(&mut self) {
        self.done.request();
    }
}

/// What the process's signal handler says about the run in progress: where events go, what is
/// queued, and what an abort leaves behind. A process runs one pipeline at a time and signals
/// are process-wide, so this is one global, set by [`open`].
#[derive(Clone)]
pub struct RunInfo {
    pub counters: Arc<Counters>,
    /// The output's name (`Output::name`).
    pub output: &'static str,
    /// The disk spool's path, when one holds the events.
    pub spool: Option<String>,
    /// The drain limit (`wirebeat.shutdown_timeout`; `None`: no limit).
    pub limit: Option<Duration>,
}

static CURRENT: std::sync::Mutex<Option<RunInfo>> = std::sync::Mutex::new(None);

/// The run [`open`] started last, if any.
pub fn current_run() -> Option<RunInfo> {
    CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Opens the output and the queue the configuration asks for and starts a pipeline on them,
/// stopped by `stop` and drained within `wirebeat.shutdown_timeout`.
pub fn open(
    cfg: &crate::config::Settings,
    ordered: bool,
    stop: &Shutdown,
) -> Result<(Pipeline, Arc<Counters>), String> {
    let counters = Arc::new(Counters::default());
    // The queue first: whether a disk spool holds the events decides how the output opens.
    let queue = Queue::open(&cfg.queue, counters.clone()).map_err(|e| e.to_string())?;
    let spool = cfg.queue.disk.as_ref().filter(|_| queue.durable()).map(|d| d.path.as_str());
    let output = crate::sink::open_with(&cfg.sink, spool).map_err(|e| e.to_string())?;
    let settings = PipelineSettings::from_settings(cfg, ordered);
    let limit = cfg.wirebeat.shutdown_timeout.0;
    let drain = Drain { stop: stop.clone(), limit: (!limit.is_zero()).then_some(limit) };
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some(RunInfo {
        counters: counters.clone(),
        output: output.name(),
        spool: spool.map(str::to_owned),
        limit: drain.limit,
    });
    let http = if cfg.http.enabled {
        Some(crate::stats::http::Server::start(&cfg.http, counters.clone())?)
    } else {
        None
    };
    let mut pipeline =
        Pipeline::start(settings, context(cfg), output, Arc::new(queue), counters.clone(), drain);
    pipeline.http = http;
    Ok((pipeline, counters))
}

/// What every event of this sensor says about it (observer, agent, host, namespace, tags,
/// labels, the direction's point of view).
pub fn context(cfg: &crate::config::Settings) -> Arc<EventContext> {
    let w = &cfg.wirebeat;
    let ctx = EventContext::plain(
        cfg.name.as_deref(),
        std::env::var("WIREBEAT_AGENT_ID").ok().as_deref(),
        &w.namespace,
        cfg.internal_networks.clone(),
        cfg.tags.clone(),
        cfg.fields.clone(),
    );
    Arc::new(ctx.with_host(&w.host_metadata, w.network_direction))
}

impl DrainCut {
    /// One line for the user: how many events were not delivered, and where they are.
    pub fn describe(&self, cfg: &crate::config::Config) -> String {
        let mut parts = Vec::new();
        if self.in_spool > 0 {
            let path = cfg.queue.disk.as_ref().map(|d| d.path.as_str()).unwrap_or("");
            parts.push(format!(
                "{} events stay in the spool {path} and are sent at the next start",
                self.in_spool
            ));
        }
        if self.lost > 0 {
            parts.push(format!("{} events are lost (dropped shutdown)", self.lost));
        }
        format!(
            "drain limit (wirebeat.shutdown_timeout: {}) reached before every event was \
             delivered: {}",
            cfg.wirebeat.shutdown_timeout,
            parts.join("; ")
        )
    }
}

struct DrainTokens<'a> {
    stop: &'a Shutdown,
    done: &'a Shutdown,
    drain_over: &'a Shutdown,
}

/// Events with a final outcome so far (delivered, refused or dropped by the output thread):
/// while it grows, the drain is making progress.
fn settled(c: &Counters) -> u64 {
    [&c.events_acked, &c.events_rejected, &c.dropped_retries_exhausted, &c.dropped_output_failed]
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .sum()
}

/// The drain limit. After a stop by signal: waits `limit` for `done`. After the end of the
/// input: waits as long as events keep being settled, and gives up after `limit` without one.
/// Giving up ends the drain (`drain_over`) and abandons the queue, which also frees a capture
/// thread blocked on a full queue.
fn watch_drain(
    t: DrainTokens<'_>,
    limit: Option<Duration>,
    queue: &Queue,
    counters: &Counters,
    end_of_input: &AtomicBool,
) {
    crossbeam_channel::select! {
        recv(t.stop.receiver()) -> _ => {},
        recv(t.done.receiver()) -> _ => return,
    }
    let Some(limit) = limit else { return };
    let patient = end_of_input.load(Ordering::SeqCst);
    let mut seen = settled(counters);
    loop {
        if t.done.wait_timeout(limit) {
            return;
        }
        let now = settled(counters);
        if !patient || now == seen {
            break;
        }
        seen = now;
    }
    if patient {
        tracing::warn!(limit = ?limit, "no event delivered for wirebeat.shutdown_timeout after \
            the end of the input: giving up");
    } else {
        tracing::warn!(limit = ?limit, "drain limit (wirebeat.shutdown_timeout) reached: giving up");
    }
    t.drain_over.request();
    queue.abandon();
}

struct Worker {
    decoder: Decoder,
    flows: FlowTable,
    flows_enabled: bool,
    encoder: FlowEncoder,
    /// What the detectors need of this worker's packets, flows and transactions.
    detect: Observer,
    /// Threat-intel matching of this worker's packets and events (`wirebeat.detect.intel`).
    intel: Option<crate::detect::intel::Matcher>,
    ctx: Arc<EventContext>,
    counters: Arc<Counters>,
    /// Once requested, batches are passed through unprocessed: the drain is over.
    drain_over: Shutdown,
    /// The defragmenter's held frames as last published (`fragment_frames_pending`).
    pending_published: u64,
    /// `wirebeat.detect.alerts_only`: flows and transactions are tracked, not written.
    alerts_only: bool,
    /// `wirebeat.detect.evidence`: this worker's recent frames.
    evidence: Option<Ring>,
    /// `processors`, run on each event this worker makes.
    processors: Option<Arc<crate::processors::Chain>>,
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
            decoder: Decoder::new(s.tunnels.clone(), Some(&s.defrag), defrag_capacity),
            flows: match &s.registry {
                Some(r) => FlowTable::new(s.flows.clone()).with_app(AppLayer::new(r.clone())),
                None => FlowTable::new(s.flows.clone()),
            },
            flows_enabled: s.flows_enabled,
            encoder: FlowEncoder::new(ctx.clone(), id),
            // Set by `Pipeline::start` once it knows whether an engine runs.
            detect: Observer::new(false),
            intel: None,
            ctx,
            counters,
            drain_over: Shutdown::new(),
            pending_published: 0,
            alerts_only: s.detect.enabled && s.detect.alerts_only,
            evidence: None,
            processors: s.processors.clone(),
        }
    }

    fn run(
        mut self,
        rx: Receiver<FrameBatch>,
        out: Sender<WorkerOut>,
        recycle: Sender<FrameBatch>,
    ) {
        let counters = self.counters.clone();
        for mut batch in rx {
            let mut outbox = Outbox {
                tx: &out,
                events: Vec::new(),
                now_ns: batch.now_ns,
                closed: false,
                read_ns: batch.read_ns,
                counters: &counters,
            };
            // After the drain limit the worker finishes the batch it has and skips the rest
            // (still answering each epoch, so the queue thread is not left waiting), except the
            // last: its final flow reports are counted lost or kept in the spool, not forgotten.
            if batch.last || !self.drain_over.is_requested() {
                if let Some(ring) = self.evidence.as_mut() {
                    ring.begin_batch();
                }
                self.process(&batch, &mut outbox);
                if let Some(ring) = self.evidence.as_mut() {
                    ring.end_batch();
                }
            } else {
                let n = batch.frames.len() as u64;
                let _s = counters.section();
                Counters::sub(&counters.frames_in_flight, n);
                Counters::add(&counters.dropped_unprocessed, n);
            }
            batch.data.clear();
            batch.frames.clear();
            let _ = recycle.try_send(batch);
            outbox.send(true, &mut self.detect);
            if outbox.closed {
                break;
            }
        }
        // Requests for alerts still to come are served from the parked ring.
        if let Some(ring) = self.evidence.take() {
            ring.park();
        }
    }

    fn process(&mut self, batch: &FrameBatch, events: &mut Outbox<'_>) {
        let Worker { decoder, flows, encoder, flows_enabled, detect, intel, ctx, evidence, .. } =
            self;
        let (enabled, intel, alerts_only) = (*flows_enabled, intel.as_ref(), self.alerts_only);
        let processors = self.processors.as_deref();
        let mut filtered = 0u64;
        // Events a `drop_event` processor dropped, and fields `drop_fields` did not find.
        let (mut dropped, mut missing) = (0u64, 0u64);
        // The processors (if any), then out.
        let mut out = |mut ev: EncodedEvent, detect: &mut Observer| {
            if let Some(p) = processors {
                let o = p.apply(&mut ev.json);
                missing += o.missing_fields;
                if o.dropped {
                    dropped += 1;
                    return;
                }
            }
            events.push(ev, detect);
        };
        // Flow reports and transactions go to the detectors, then out as events (with
        // `alerts_only`, not even encoded: counted instead; intel matches still alert).
        let mut emit = |e: Emit<'_>, detect: &mut Observer| match e {
            Emit::Flow(r) => {
                detect.flow(&r);
                if enabled && alerts_only {
                    filtered += 1;
                } else if enabled {
                    let threat = intel.and_then(|i| i.flow(&r));
                    out(encoder.encode_with(&r, threat.as_ref()), detect);
                }
            }
            Emit::Txn(f, t) => {
                detect.transaction(f, &t);
                let threat = intel.and_then(|i| i.transaction(f, &t, detect));
                if alerts_only {
                    filtered += 1;
                } else {
                    out(crate::ecs::txn::encode_with(ctx, f, &t, threat.as_ref()), detect);
                }
            }
        };
        // The addresses the current frame decoded to, for the evidence ring.
        let mut addrs = None;
        // Every decoded packet: the detectors, then the flow table.
        macro_rules! packet {
            () => {
                &mut |p: &crate::decode::Packet<'_>| {
                    addrs = Some((p.src, p.dst));
                    detect.packet(p);
                    if let Some(i) = intel {
                        i.packet(p, detect);
                    }
                    flows.update(p, &mut |e| emit(e, detect));
                }
            };
        }
        let mut unreadable = 0u64;
        for m in &batch.frames {
            let Some(data) = batch.data.get(m.off..m.off + m.len) else {
                unreadable += 1; // cannot happen: push stored it there
                continue;
            };
            let frame =
                FrameRef { ts_ns: m.ts_ns, wire_len: m.wire_len, linktype: m.linktype, data };
            decoder.decode(&frame, packet!());
            if let Some(ring) = evidence.as_mut() {
                ring.frame(m.ts_ns, m.wire_len, m.linktype, data, addrs.take());
            }
        }
        decoder.tick(batch.now_ns, packet!());
        flows.tick(batch.now_ns, &mut |e| emit(e, detect));
        if batch.last {
            decoder.flush(packet!());
            flows.flush(batch.now_ns, &mut |e| emit(e, detect));
        }
        Counters::add(&self.counters.events_filtered_alerts_only, filtered);
        Counters::add(&self.counters.events_dropped_processor, dropped);
        Counters::add(&self.counters.processor_field_errors, missing);
        // The batch's frames leave `frames_in_flight` for their outcomes (or the
        // defragmenter's held frames) in one section, so snapshots always add up.
        let c = &self.counters;
        let _s = c.section();
        Counters::sub(&c.frames_in_flight, batch.frames.len() as u64);
        Counters::add(&c.malformed, unreadable);
        let pending = self.decoder.frames_pending();
        if pending >= self.pending_published {
            Counters::add(&c.fragment_frames_pending, pending - self.pending_published);
        } else {
            Counters::sub(&c.fragment_frames_pending, self.pending_published - pending);
        }
        self.pending_published = pending;
        c.publish(&self.decoder.stats);
        self.decoder.stats = Default::default();
        self.counters.publish(&self.flows.stats);
        self.flows.stats = Default::default();
        if let Some(app) = self.flows.app.as_mut() {
            self.counters.publish(&app.stats);
            app.stats = Default::default();
        }
    }
}

/// The detection engine beside the queue thread: observations in, alert events out.
struct Detection {
    engine: DetectEngine,
    ctx: Arc<EventContext>,
    counters: Arc<Counters>,
    /// `wirebeat.detect.evidence`: alerts get their pcap file, the workers its frames.
    evidence: Option<Arc<Evidence>>,
    /// The engine's packet clock.
    now_ns: i64,
    /// `processors`, run on each alert.
    processors: Option<Arc<crate::processors::Chain>>,
}

impl Detection {
    fn observe(&mut self, part: &mut WorkerOut) {
        for o in part.obs.drain(..) {
            self.engine.observe(o);
        }
    }

    /// Ticks the engine to `now_ns`; its alerts as events.
    fn tick(&mut self, now_ns: i64) -> Vec<EncodedEvent> {
        self.engine.tick(now_ns);
        self.now_ns = self.now_ns.max(now_ns);
        self.alerts()
    }

    /// The engine's alerts as events (each with its evidence file when evidence is on),
    /// counted by rule and as built and in transit (like a worker's events) until the queue
    /// takes them.
    fn alerts(&mut self) -> Vec<EncodedEvent> {
        let mut alerts = self.engine.take_alerts();
        if alerts.is_empty() {
            return Vec::new();
        }
        let c = &self.counters;
        for a in &mut alerts {
            if let Some(e) = &self.evidence {
                e.attach(a, self.now_ns);
            }
            c.count_alert(a.rule.name);
        }
        let mut events: Vec<EncodedEvent> = alerts.iter().map(|a| a.encode(&self.ctx)).collect();
        if let Some(p) = &self.processors {
            let before = events.len() as u64;
            events.retain_mut(|ev| {
                let o = p.apply(&mut ev.json);
                Counters::add(&c.processor_field_errors, o.missing_fields);
                !o.dropped
            });
            Counters::add(&c.events_dropped_processor, before - events.len() as u64);
        }
        let n = events.len() as u64;
        c.count_events(crate::detect::DATASET_ALERT, n);
        {
            let _s = c.section();
            Counters::add(&c.events_built, n);
            Counters::add(&c.events_in_transit, n);
        }
        events
    }
}

/// Puts the workers' events into the queue: epoch by epoch and worker by worker in ordered
/// mode, as they come otherwise. Runs the detection engine on the workers' observations in the
/// same order (after each epoch's last part it ticks the engine with the epoch's clock), so
/// `read` gives the same alerts on every run. Closes the queue when the workers are done.
fn feed_loop(
    rxs: Vec<Receiver<WorkerOut>>,
    ordered: bool,
    queue: Arc<Queue>,
    mut detect: Option<Detection>,
) {
    let mut buf: Vec<EncodedEvent> = Vec::with_capacity(OUTPUT_BATCH);
    // Read times of `buf`'s events, as runs of (read_ns, count).
    let mut stamps: Vec<(i64, u32)> = Vec::new();
    if ordered {
        // Every worker answers every epoch in ordered mode (batches are sent blocking), so
        // reading each channel up to its epoch's last part keeps the order. A worker that died
        // is skipped from then on.
        let mut alive = vec![true; rxs.len()];
        while alive.iter().any(|a| *a) {
            let mut now_ns = i64::MIN;
            for (w, rx) in rxs.iter().enumerate() {
                while alive[w] {
                    let Ok(mut part) = rx.recv() else {
                        alive[w] = false;
                        break;
                    };
                    if let Some(d) = detect.as_mut() {
                        d.observe(&mut part);
                    }
                    stamps.push((part.read_ns, part.events.len() as u32));
                    buf.extend(part.events);
                    if buf.len() >= OUTPUT_BATCH {
                        queue.push_built(std::mem::take(&mut buf), &stamps);
                        stamps.clear();
                    }
                    if part.last {
                        now_ns = now_ns.max(part.now_ns);
                        break;
                    }
                }
            }
            if let Some(d) = detect.as_mut() {
                let alerts = d.tick(now_ns);
                if !alerts.is_empty() {
                    // Alerts have no read time (not in the latency histogram).
                    stamps.push((0, alerts.len() as u32));
                    buf.extend(alerts);
                }
            }
        }
    } else {
        let mut sel = crossbeam_channel::Select::new();
        for rx in &rxs {
            sel.recv(rx);
        }
        let mut open = rxs.len();
        while open > 0 {
            let op = sel.select();
            let i = op.index();
            match op.recv(&rxs[i]) {
                Ok(mut part) => {
                    let mut alerts = Vec::new();
                    if let Some(d) = detect.as_mut() {
                        d.observe(&mut part);
                        if part.last {
                            alerts = d.tick(part.now_ns);
                        }
                    }
                    if !part.events.is_empty() {
                        let n = part.events.len() as u32;
                        queue.push_built(part.events, &[(part.read_ns, n)]);
                    }
                    if !alerts.is_empty() {
                        let n = alerts.len() as u32;
                        queue.push_built(alerts, &[(0, n)]);
                    }
                }
                Err(_) => {
                    sel.remove(i);
                    open -= 1;
                }
            }
        }
    }
    if let Some(d) = detect.as_mut() {
        d.engine.finish();
        let alerts = d.alerts();
        stamps.push((0, alerts.len() as u32));
        buf.extend(alerts);
        // The evidence files are complete before the last events leave.
        if let Some(e) = &d.evidence {
            e.close();
        }
    }
    queue.push_built(buf, &stamps);
    queue.close();
}

#[cfg(test)]
mod tests;
