//! `wirebeat.detect.evidence` (off by default): the packets behind an alert, written as a pcap
//! file that the alert names in `wirebeat.alert.evidence.path`.
//!
//! The hand-off. Alerts are raised by the engine in the queue thread, after the workers have
//! processed the packets; only the workers hold the frames. So:
//! - every worker keeps a [`Ring`] of its recent frames (`ring_bytes` per worker; one source
//!   address may hold at most `ring_address_bytes` of it, so a flood cannot push everything
//!   else out: its further frames are not kept, counted in `evidence_frames_not_kept`);
//! - the engine, admitting an alert, names its file (rotating the directory first) and posts a
//!   [`Request`] — the alert's source and destination address, its window from `event.start`
//!   to `event.end` + `follow` — to the list shared by the workers ([`Evidence::attach`]);
//! - each worker, at the start of its next batch, writes the frames of its ring that match the
//!   request (both directions between the two addresses; any frame to or from the address when
//!   the alert names one), and then appends the matching frames it processes until the packet
//!   clock passes the end of the window. A worker that stopped parks its ring in the shared
//!   state, where the engine serves requests posted after (the alerts of the last epoch of a
//!   `read`). Each (request, worker) pair is served exactly once, under one lock.
//!
//! What is and is not guaranteed. The file holds only frames between the alert's endpoints
//! within its window, each at most once. It holds every such frame only when the ring still
//! had it when the request arrived: frames older than the ring (or not kept because their
//! source held its share) are gone; a fragment is kept as the frame that completed its
//! datagram; frames of another link type than the file's are skipped. Frames of one
//! conversation come from one worker in capture order; an alert naming only a source may mix
//! workers' frames out of time order. A file stops growing at `max_file_bytes`, the directory
//! at `max_bytes` (frames refused, counted in `evidence_frames_refused`); before a new file is
//! made, the oldest are deleted while there are `max_files` or too little room for a full new
//! one (counted in `evidence_files_deleted`). The files are flushed after every batch and
//! complete when the run ends.

use crate::capture::dump::PcapWriter;
use crate::stats::Counters;
use crate::units::{ByteSize, Duration, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// Directory of the evidence files (created when needed).
    pub path: String,
    /// Most bytes of evidence files in `path`, all files together.
    pub max_bytes: ByteSize,
    /// Most evidence files in `path`; the oldest are deleted first.
    pub max_files: usize,
    /// Most bytes of one file.
    pub max_file_bytes: ByteSize,
    /// Recent frames each worker keeps for the alerts to come.
    pub ring_bytes: ByteSize,
    /// Most of a worker's ring one source address may hold.
    pub ring_address_bytes: ByteSize,
    /// How long after the alert's window the endpoints' packets are still appended (packet
    /// time).
    pub follow: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: false,
            path: "/var/lib/wirebeat/evidence".into(),
            max_bytes: ByteSize(1 << 30),
            max_files: 1000,
            max_file_bytes: ByteSize(16 << 20),
            ring_bytes: ByteSize(32 << 20),
            ring_address_bytes: ByteSize(4 << 20),
            follow: Duration::from_secs(10),
        }
    }
}

/// Largest ring per worker and largest file.
const MAX_SIZE: u64 = 1 << 40;

impl Config {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.path.trim().is_empty() {
            return Err(Invalid::new("path", "must name a directory"));
        }
        Invalid::in_range("max_files", self.max_files, 1..=1_000_000)?;
        for (key, v) in [
            ("max_bytes", self.max_bytes),
            ("max_file_bytes", self.max_file_bytes),
            ("ring_bytes", self.ring_bytes),
            ("ring_address_bytes", self.ring_address_bytes),
        ] {
            Invalid::in_range(key, v.0, 4096..=MAX_SIZE)?;
        }
        if self.max_file_bytes.0 > self.max_bytes.0 {
            return Err(Invalid::new("max_file_bytes", "must not exceed max_bytes"));
        }
        if self.ring_address_bytes.0 > self.ring_bytes.0 {
            return Err(Invalid::new("ring_address_bytes", "must not exceed ring_bytes"));
        }
        Invalid::duration_in(
            "follow",
            self.follow,
            Duration::from_secs(0)..=Duration::from_secs(3600),
            None,
        )
    }
}

/// Bytes of a pcap file header and of a record header.
const FILE_HEADER: u64 = 24;
const RECORD_HEADER: u64 = 16;
/// Link type of a file made before any frame was seen (Ethernet).
const LINKTYPE_ETHERNET: u32 = 1;

/// One evidence file.
struct Slot {
    path: PathBuf,
    bytes: AtomicU64,
    /// `None` once closed (deleted by rotation, or the run ended).
    writer: Mutex<Option<PcapWriter<BufWriter<File>>>>,
}

/// What the frames of an alert are: its endpoints and window.
pub struct Request {
    id: u64,
    a: IpAddr,
    b: Option<IpAddr>,
    from_ns: i64,
    until_ns: i64,
    slot: Arc<Slot>,
    /// Workers (running or parked) that served it; pruned when all have and the window passed.
    served: AtomicUsize,
}

impl Request {
    fn matches(&self, f: &Frame) -> bool {
        (f.ts_ns >= self.from_ns && f.ts_ns <= self.until_ns)
            && match self.b {
                Some(b) => (f.src == self.a && f.dst == b) || (f.src == b && f.dst == self.a),
                None => f.src == self.a || f.dst == self.a,
            }
    }
}

struct Frame {
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    src: IpAddr,
    dst: IpAddr,
    data: Box<[u8]>,
}

struct State {
    requests: Vec<Arc<Request>>,
    parked: Vec<Ring>,
    /// Files of this directory, oldest first (those found at start, then this run's).
    files: VecDeque<Arc<Slot>>,
    next_id: u64,
    /// The directory was looked at (created, its files listed).
    scanned: bool,
}

/// The evidence of one pipeline, shared by the engine and the workers.
pub struct Evidence {
    cfg: Config,
    workers: usize,
    state: Mutex<State>,
    /// Bumped by every request: workers look at the list only when it moved.
    generation: AtomicU64,
    /// Bytes of every file in `files`.
    total_bytes: AtomicU64,
    /// The link type of the latest frame (for a new file's header).
    linktype: AtomicU32,
    counters: Arc<Counters>,
}

impl Evidence {
    /// `None` when evidence is off.
    pub fn new(cfg: &Config, workers: usize, counters: Arc<Counters>) -> Option<Arc<Self>> {
        cfg.enabled.then(|| {
            Arc::new(Evidence {
                cfg: cfg.clone(),
                workers: workers.max(1),
                state: Mutex::new(State {
                    requests: Vec::new(),
                    parked: Vec::new(),
                    files: VecDeque::new(),
                    next_id: 1,
                    scanned: false,
                }),
                generation: AtomicU64::new(0),
                total_bytes: AtomicU64::new(0),
                linktype: AtomicU32::new(u32::MAX),
                counters,
            })
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A worker's ring.
    pub fn ring(self: &Arc<Self>) -> Ring {
        Ring {
            shared: self.clone(),
            frames: VecDeque::new(),
            bytes: 0,
            per_source: rustc_hash::FxHashMap::default(),
            served_upto: 0,
            generation: 0,
            active: Vec::new(),
            clock_ns: i64::MIN,
        }
    }

    /// Names the evidence file of `alert` (in `alert.evidence`) and asks the workers for its
    /// frames. `now_ns`: the engine's packet clock (to forget requests whose window passed).
    pub fn attach(&self, alert: &mut super::Alert, now_ns: i64) {
        let ends = (alert.source.map(|e| e.ip), alert.destination.map(|e| e.ip));
        let (a, b) = match ends {
            (Some(s), d) => (s, d),
            (None, Some(d)) => (d, None),
            (None, None) => return,
        };
        let mut st = self.lock();
        let Some(slot) = self.new_file(&mut st, alert) else { return };
        alert.evidence = Some(slot.path.display().to_string());
        let id = st.next_id;
        st.next_id += 1;
        let req = Arc::new(Request {
            id,
            a,
            b,
            from_ns: alert.start_ns,
            until_ns: alert.end_ns.saturating_add(self.cfg.follow.as_nanos()),
            slot,
            served: AtomicUsize::new(0),
        });
        // Workers that stopped already are served from their parked rings now.
        let mut parked = std::mem::take(&mut st.parked);
        for r in &mut parked {
            r.serve(&req);
            r.served_upto = id;
        }
        st.parked = parked;
        st.requests.push(req);
        let n = self.workers;
        st.requests.retain(|r| r.served.load(Ordering::Relaxed) < n || r.until_ns >= now_ns);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Rotates the directory and creates the alert's file.
    fn new_file(&self, st: &mut State, alert: &super::Alert) -> Option<Arc<Slot>> {
        let dir = Path::new(&self.cfg.path);
        if !st.scanned {
            st.scanned = true;
            if let Err(e) = std::fs::create_dir_all(dir) {
                self.error(&format!("cannot create the evidence directory {}: {e}", dir.display()));
                return None;
            }
            self.scan(st, dir);
        }
        let budget = self.cfg.max_bytes.0.saturating_sub(self.cfg.max_file_bytes.0);
        while st.files.len() >= self.cfg.max_files
            || (!st.files.is_empty() && self.total_bytes.load(Ordering::Relaxed) > budget)
        {
            let Some(old) = st.files.pop_front() else { break };
            self.delete(&old);
        }
        // Rule ids start with `wirebeat-`, which is what `scan` looks for.
        let stem = format!("{}-{}", alert.rule.id, alert.end_ns);
        let linktype = match self.linktype.load(Ordering::Relaxed) {
            u32::MAX => LINKTYPE_ETHERNET,
            l => l,
        };
        for n in 0..1000u32 {
            let path = dir.join(format!("{stem}-{n}.pcap"));
            let file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    self.error(&format!("cannot create {}: {e}", path.display()));
                    return None;
                }
            };
            let w =
                match PcapWriter::from_writer(BufWriter::with_capacity(1 << 16, file), linktype, 0)
                {
                    Ok(w) => w,
                    Err(e) => {
                        self.error(&format!("cannot write {}: {e}", path.display()));
                        return None;
                    }
                };
            let slot = Arc::new(Slot {
                path,
                bytes: AtomicU64::new(FILE_HEADER),
                writer: Mutex::new(Some(w)),
            });
            self.total_bytes.fetch_add(FILE_HEADER, Ordering::Relaxed);
            Counters::add(&self.counters.evidence_files, 1);
            st.files.push_back(slot.clone());
            return Some(slot);
        }
        self.error(&format!("no free file name for {stem}"));
        None
    }

    /// The evidence files already in the directory, oldest first (a restart keeps rotating
    /// them).
    fn scan(&self, st: &mut State, dir: &Path) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        let mut found: Vec<(std::time::SystemTime, PathBuf, u64)> = rd
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("wirebeat-") && n.ends_with(".pcap")
            })
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, e.path(), m.len()))
            })
            .collect();
        found.sort();
        for (_, path, len) in found {
            self.total_bytes.fetch_add(len, Ordering::Relaxed);
            st.files.push_back(Arc::new(Slot {
                path,
                bytes: AtomicU64::new(len),
                writer: Mutex::new(None),
            }));
        }
    }

    fn delete(&self, slot: &Slot) {
        drop(slot.writer.lock().unwrap_or_else(|p| p.into_inner()).take());
        match std::fs::remove_file(&slot.path) {
            Ok(()) => Counters::add(&self.counters.evidence_files_deleted, 1),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => self.error(&format!("cannot delete {}: {e}", slot.path.display())),
        }
        let len = slot.bytes.swap(0, Ordering::Relaxed);
        let _ = self
            .total_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| Some(t.saturating_sub(len)));
    }

    /// Appends a frame to a request's file within the limits.
    fn write(&self, slot: &Slot, f: &Frame) {
        let mut w = slot.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(writer) = w.as_mut() else { return };
        let len = RECORD_HEADER + f.data.len() as u64;
        if writer.linktype() != f.linktype
            || slot.bytes.load(Ordering::Relaxed) + len > self.cfg.max_file_bytes.0
            || self.total_bytes.load(Ordering::Relaxed) + len > self.cfg.max_bytes.0
        {
            Counters::add(&self.counters.evidence_frames_refused, 1);
            return;
        }
        match writer.write(f.ts_ns, f.wire_len, &f.data) {
            Ok(()) => {
                slot.bytes.fetch_add(len, Ordering::Relaxed);
                self.total_bytes.fetch_add(len, Ordering::Relaxed);
                Counters::add(&self.counters.evidence_frames_written, 1);
            }
            Err(e) => {
                *w = None;
                self.error(&format!("cannot write {}: {e}", slot.path.display()));
            }
        }
    }

    fn flush(&self, slot: &Slot) {
        let mut w = slot.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(Err(e)) = w.as_mut().map(|w| w.flush()) {
            *w = None;
            self.error(&format!("cannot write {}: {e}", slot.path.display()));
        }
    }

    /// End of the run: every file is flushed and closed.
    pub fn close(&self) {
        let mut st = self.lock();
        // The parked rings hold this state: drop them (and the cycle).
        st.parked.clear();
        for slot in &st.files {
            if let Some(w) = slot.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
                if let Err(e) = w.finish() {
                    self.error(&format!("cannot write {}: {e}", slot.path.display()));
                }
            }
        }
    }

    fn error(&self, msg: &str) {
        Counters::add(&self.counters.evidence_errors, 1);
        // Logged at most once per 1000 errors: a full disk must not flood the log.
        if self.counters.get(&self.counters.evidence_errors) % 1000 == 1 {
            tracing::error!("evidence: {msg}");
        }
    }
}

/// A worker's recent frames and the requests it is following.
pub struct Ring {
    shared: Arc<Evidence>,
    frames: VecDeque<Frame>,
    bytes: u64,
    per_source: rustc_hash::FxHashMap<IpAddr, u64>,
    /// Requests with ids up to this one were served.
    served_upto: u64,
    generation: u64,
    /// Requests whose window is still open here.
    active: Vec<Arc<Request>>,
    /// Largest frame timestamp seen.
    clock_ns: i64,
}

impl Ring {
    /// Start of a batch: serve the requests posted since the last look.
    pub fn begin_batch(&mut self) {
        let g = self.shared.generation.load(Ordering::Acquire);
        if g != self.generation {
            self.generation = g;
            let shared = self.shared.clone();
            let st = shared.lock();
            self.take_new(&st.requests);
        }
        let now = self.clock_ns;
        self.active.retain(|r| r.until_ns >= now);
    }

    fn take_new(&mut self, requests: &[Arc<Request>]) {
        let upto = self.served_upto;
        for r in requests.iter().filter(|r| r.id > upto) {
            self.serve(r);
            self.served_upto = r.id;
        }
    }

    /// Writes the ring's frames of `r`; follows it while its window is open.
    fn serve(&mut self, r: &Arc<Request>) {
        for f in self.frames.iter().filter(|f| r.matches(f)) {
            self.shared.write(&r.slot, f);
        }
        self.shared.flush(&r.slot);
        r.served.fetch_add(1, Ordering::Relaxed);
        if r.until_ns >= self.clock_ns {
            self.active.push(r.clone());
        }
    }

    /// One frame the worker processed; `addrs`: the innermost (source, destination) it decoded
    /// to (`None`: not an IP packet, or a fragment held for reassembly: not kept).
    pub fn frame(
        &mut self,
        ts_ns: i64,
        wire_len: u32,
        linktype: u32,
        data: &[u8],
        addrs: Option<(IpAddr, IpAddr)>,
    ) {
        let Some((src, dst)) = addrs else { return };
        self.clock_ns = self.clock_ns.max(ts_ns);
        self.shared.linktype.store(linktype, Ordering::Relaxed);
        let f = Frame { ts_ns, wire_len, linktype, src, dst, data: data.into() };
        for r in self.active.iter().filter(|r| r.matches(&f)) {
            self.shared.write(&r.slot, &f);
        }
        let len = data.len() as u64 + 64;
        let cfg = &self.shared.cfg;
        let held = self.per_source.get(&src).copied().unwrap_or(0);
        if held + len > cfg.ring_address_bytes.0 {
            Counters::add(&self.shared.counters.evidence_frames_not_kept, 1);
            return;
        }
        while self.bytes + len > cfg.ring_bytes.0 {
            let Some(old) = self.frames.pop_front() else { break };
            let old_len = old.data.len() as u64 + 64;
            self.bytes -= old_len;
            if let Some(h) = self.per_source.get_mut(&old.src) {
                *h -= old_len;
                if *h == 0 {
                    self.per_source.remove(&old.src);
                }
            }
        }
        *self.per_source.entry(src).or_default() += len;
        self.bytes += len;
        self.frames.push_back(f);
    }

    /// End of a batch: what was appended reaches the files.
    pub fn end_batch(&mut self) {
        for r in &self.active {
            self.shared.flush(&r.slot);
        }
    }

    /// The worker stops: requests it has not seen yet are served, then the ring is handed to
    /// the shared state for the requests still to come.
    pub fn park(mut self) {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        let requests = std::mem::take(&mut st.requests);
        self.take_new(&requests);
        st.requests = requests;
        self.end_batch();
        st.parked.push(self);
    }
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
