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
}

/// The output the configuration selects (console when none is enabled).
pub fn from_config(out: &config::Output) -> Result<Box<dyn Output>, OutputError> {
    open(&out.selected())
}

/// Opens the output that validation selected.
pub fn open(selected: &Selected) -> Result<Box<dyn Output>, OutputError> {
    match selected {
        Selected::Kafka(k) => kafka::open(k),
        Selected::Elasticsearch(e) => elasticsearch::open(e),
        Selected::File(f) => Ok(Box::new(file::FileOutput::open(f)?)),
        Selected::Console { pretty } => Ok(Box::new(console::ConsoleOutput::new(*pretty))),
    }
}
