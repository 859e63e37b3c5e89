//! Outputs. A sink takes batches of serialized events, sends them, and classifies each event's
//! outcome; only a confirmed delivery lets the pipeline forget an event.
//!
//! The trait is shaped for the network outputs (Kafka, Elasticsearch) too: `send` blocks until
//! every event of the batch has an outcome, `Retry` means "try again later" (the pipeline backs
//! off and resends, which is backpressure), `Rejected` is final for that event (counted and
//! written to the dead-letter file by outputs that have one), and `Err` means the output itself
//! is unusable (stdout closed, disk gone).

pub mod config;
pub mod console;
pub mod elasticsearch;
pub mod file;
pub mod kafka;
pub mod throttle;

pub use config::Selected;

use crate::ecs::EncodedEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Retry(String),
    Rejected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{output}: {message}")]
    Fatal { output: &'static str, message: String },
    #[error("{output}: {source}")]
    Io {
        output: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What an output counts itself (totals since it was opened).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputStats {
    /// Events the destination already had (Elasticsearch 409): delivered before, not again.
    pub duplicates: u64,
    /// Rejected events written to the output's dead-letter file.
    pub dead_lettered: u64,
    /// Sends repeated inside the output (per-item retries) before an outcome was returned.
    pub retried: u64,
}

pub trait Output: Send {
    fn name(&self) -> &'static str;
    /// Sends a batch; one outcome per event, in order.
    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError>;
    /// Makes everything sent so far durable/visible.
    fn flush(&mut self) -> Result<(), OutputError>;
    /// Most events the pipeline hands to one `send`.
    fn max_batch(&self) -> usize {
        2048
    }
    /// The output's own counters.
    fn stats(&self) -> OutputStats {
        OutputStats::default()
    }
    /// The run's *drain over* signal (`crate::shutdown`): an output that waits inside `send`
    /// (its own retries, delivery reports) stops waiting once it is requested and answers
    /// `Retry` for what is left.
    fn watch_shutdown(&mut self, _drain_over: &crate::shutdown::Shutdown) {}
    /// How many times the pipeline resends an event this output answered `Retry` before it
    /// drops it (`dropped_retries_exhausted`); `None`: until it is delivered. The pipeline
    /// ignores the limit when a disk spool holds the events (`queue.disk`).
    fn max_retries(&self) -> Option<u32> {
        None
    }
}

/// `max_retries` as configured (Beats semantics): a negative value retries forever.
pub fn retry_limit(max_retries: i64) -> Option<u32> {
    u32::try_from(max_retries).ok()
}

/// The file output in front of a queue: it `fsync`s every batch when a spool holds the events.
fn open_file(f: &config::FileOutput, spool: Option<&str>) -> Result<file::FileOutput, OutputError> {
    let mut out = file::FileOutput::open(f)?;
    out.sync_each_batch(spool.is_some());
    Ok(out)
}

/// The output the configuration selects (console when none is enabled).
pub fn from_config(out: &config::Output) -> Result<Box<dyn Output>, OutputError> {
    open(&out.selected())
}

/// Opens the output that validation selected.
pub fn open(selected: &Selected) -> Result<Box<dyn Output>, OutputError> {
    open_with(selected, None)
}

/// Opens the output in front of a queue; `spool` is the disk spool's path when one holds the
/// events. With a spool the file output `fsync`s every batch before it reports it delivered
/// (the spool forgets what is acknowledged), and an Elasticsearch that cannot be reached at
/// start is a warning, not an error: the events wait in the spool.
pub fn open_with(selected: &Selected, spool: Option<&str>) -> Result<Box<dyn Output>, OutputError> {
    match selected {
        Selected::Kafka(k) => kafka::open(k),
        Selected::Elasticsearch(e) => elasticsearch::open_with(e, spool),
        Selected::File(f) => Ok(Box::new(open_file(f, spool)?)),
        Selected::Console { pretty } => Ok(Box::new(console::ConsoleOutput::new(*pretty))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_output_fsyncs_each_batch_only_in_front_of_a_spool() {
        let dir = tempfile::tempdir().unwrap();
        let f = config::FileOutput {
            enabled: true,
            path: dir.path().display().to_string(),
            ..config::FileOutput::default()
        };
        assert!(open_file(&f, Some("/var/lib/wirebeat/spool")).unwrap().syncs_each_batch());
        assert!(!open_file(&f, None).unwrap().syncs_each_batch());
        assert_eq!(retry_limit(3), Some(3));
        assert_eq!(retry_limit(0), Some(0));
        assert_eq!(retry_limit(-1), None);
    }
}
