//! The pipeline's stop and drain against a fake output.

use super::*;
use crate::sink::{Outcome, OutputError};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Answers `Retry` for every event.
struct AlwaysRetry;

impl Output for AlwaysRetry {
    fn name(&self) -> &'static str {
        "always_retry"
    }
    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        Ok(batch.iter().map(|_| Outcome::Retry("busy".into())).collect())
    }
    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// Counts what it is given, delivers everything.
struct Sink(Arc<std::sync::atomic::AtomicU64>);

impl Output for Sink {
    fn name(&self) -> &'static str {
        "sink"
    }
    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        self.0.fetch_add(batch.len() as u64, Ordering::SeqCst);
        Ok(vec![Outcome::Delivered; batch.len()])
    }
    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

fn run_demo(output: Box<dyn Output>, limit: Option<Duration>) -> (RunResult, Arc<Counters>) {
    let cfg = crate::config::Settings::new(crate::config::Config::default()).unwrap();
    let counters = Arc::new(Counters::default());
    let queue = Arc::new(Queue::open(&cfg.queue, counters.clone()).unwrap());
    let drain = Drain { stop: Shutdown::new(), limit };
    let mut p = Pipeline::start(
        PipelineSettings::from_settings(&cfg, true),
        context(&cfg),
        output,
        queue,
        counters.clone(),
        drain,
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/demo.pcap");
    let mut f = crate::capture::file::CaptureFile::open(&path).unwrap();
    while let Some(fr) = f.next_frame().unwrap() {
        p.push(fr.ts_ns, fr.wire_len, fr.linktype, fr.data);
    }
    (p.finish(), counters)
}

#[test]
fn finish_with_a_working_output_delivers_everything() {
    let got = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (r, c) = run_demo(Box::new(Sink(got.clone())), Some(Duration::from_secs(30)));
    assert!(r.output_error.is_none());
    assert_eq!(r.drain_cut, None);
    let n = got.load(Ordering::SeqCst);
    assert!(n > 0);
    assert_eq!(c.get(&c.events_acked), n);
    assert_eq!(c.get(&c.dropped_shutdown), 0);
}

#[test]
fn finish_honours_the_drain_limit_and_counts_the_memory_queue_lost() {
    let start = Instant::now();
    let (r, c) = run_demo(Box::new(AlwaysRetry), Some(Duration::from_millis(300)));
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    let cut = r.drain_cut.expect("the drain was cut");
    assert_eq!(cut.in_spool, 0);
    assert!(cut.lost > 0);
    assert_eq!(c.get(&c.dropped_shutdown), cut.lost);
    assert_eq!(c.get(&c.events_acked), 0);
    assert!(r.output_error.is_none());
}

/// Delivers one event per send, slowly: a backlog that takes longer than the drain limit but
/// keeps moving.
struct Slow(Arc<std::sync::atomic::AtomicU64>);

impl Output for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }
    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        std::thread::sleep(Duration::from_millis(20));
        self.0.fetch_add(batch.len() as u64, Ordering::SeqCst);
        Ok(vec![Outcome::Delivered; batch.len()])
    }
    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn max_batch(&self) -> usize {
        1
    }
}

// Regression (issue 15 review): at the end of `read`'s input the drain limit cut off a slow but
// working output (a SYN flood into a file on a loaded machine lost 70,976 events). It now
// counts time without progress.
#[test]
fn at_the_end_of_input_a_slow_output_that_keeps_delivering_is_not_cut_off() {
    let got = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let (r, c) = run_demo(Box::new(Slow(got.clone())), Some(Duration::from_millis(200)));
    let n = got.load(Ordering::SeqCst);
    assert!(start.elapsed() > Duration::from_millis(400), "the backlog outlasts the limit");
    assert_eq!(r.drain_cut, None, "{n} delivered");
    assert_eq!(c.get(&c.dropped_shutdown), 0);
    assert_eq!(c.get(&c.events_acked), n);
}

/// An Ethernet/IPv4/UDP frame from 10.1.x.y:port to 10.0.0.1:9999, no payload.
fn udp_frame(i: u32) -> Vec<u8> {
    let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
    let src = [10, 1, (i >> 8) as u8, i as u8];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&(1024 + (i >> 16) as u16).to_be_bytes());
    f.extend_from_slice(&[0x27, 0x0f, 0, 8, 0, 0]);
    f
}

// Regression (issue 15): the final reports of a burst of flows were built in memory whole
// before the queue saw any; now they leave the worker in parts as they are made.
#[test]
fn a_burst_of_final_reports_leaves_the_worker_in_bounded_parts() {
    let cfg = crate::config::Settings::new(crate::config::Config::default()).unwrap();
    let settings = PipelineSettings::from_settings(&cfg, true);
    let worker = Worker::new(0, 1, &settings, context(&cfg), Arc::new(Counters::default()));
    let flows = 10_000u32;
    let mut batch = FrameBatch { last: true, now_ns: 1_000, ..FrameBatch::default() };
    for i in 0..flows {
        let f = udp_frame(i);
        let off = batch.data.len();
        batch.data.extend_from_slice(&f);
        batch.frames.push(FrameMeta { ts_ns: 1_000, wire_len: 42, linktype: 1, off, len: f.len() });
    }
    let (tx, rx) = bounded::<FrameBatch>(1);
    let (out_tx, out_rx) = bounded::<WorkerOut>(WORKER_PARTS);
    let (recycle_tx, _recycle_rx) = bounded::<FrameBatch>(1);
    tx.send(batch).unwrap();
    drop(tx);
    let handle = std::thread::spawn(move || worker.run(rx, out_tx, recycle_tx));
    let (mut parts, mut events, mut largest) = (0, 0, 0);
    for part in out_rx.iter() {
        parts += 1;
        events += part.events.len();
        largest = largest.max(part.events.len());
    }
    handle.join().unwrap();
    assert_eq!(events, flows as usize, "one final report per flow");
    assert!(largest <= WORKER_PART, "a part of {largest} events");
    assert!(parts > flows as usize / WORKER_PART, "{parts} parts");
}
