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
