//! Console output: NDJSON on stdout, one event a line (the default output).
//!
//! Each batch is flushed to stdout before its events count as delivered, so a live `run`
//! shows events as they are made and a killed process has written everything it acknowledged.

use super::{Outcome, Output, OutputError};
use crate::ecs::EncodedEvent;
use std::io::Write;

pub struct ConsoleOutput {
    out: std::io::BufWriter<std::io::Stdout>,
    pretty: bool,
}

impl ConsoleOutput {
    pub fn new(pretty: bool) -> Self {
        ConsoleOutput { out: std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()), pretty }
    }
}

fn io(source: std::io::Error) -> OutputError {
    OutputError::Io { output: "console", source }
}

impl Output for ConsoleOutput {
    fn name(&self) -> &'static str {
        "console"
    }

    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        for ev in batch {
            if self.pretty {
                let v: serde_json::Value = serde_json::from_slice(&ev.json).map_err(|e| {
                    OutputError::Fatal { output: "console", message: e.to_string() }
                })?;
                serde_json::to_writer_pretty(&mut self.out, &v)
                    .map_err(|e| io(std::io::Error::other(e)))?;
            } else {
                self.out.write_all(&ev.json).map_err(io)?;
            }
            self.out.write_all(b"\n").map_err(io)?;
        }
        self.out.flush().map_err(io)?;
        Ok(vec![Outcome::Delivered; batch.len()])
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(io)
    }
}
