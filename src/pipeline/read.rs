//! `wirebeat read`: capture files through the pipeline in ordered, lossless mode.
//!
//! Files are read one after the other into one pipeline (flows span files); a file that is not
//! a capture is reported and skipped, a file damaged part-way keeps the frames before the damage.
//! The loop stops early on the stop token (checked between files and every 65 536 frames) or
//! when the output failed; [`Pipeline::finish`] then drains within `wirebeat.shutdown_timeout`.

use super::{Pipeline, RunResult};
use crate::capture::file::{CaptureFile, CaptureFileError};
use crate::config::Settings;
use crate::shutdown::Shutdown;
use crate::stats::Counters;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How a `read` ended.
pub struct ReadOutcome {
    pub counters: Arc<Counters>,
    pub result: RunResult,
    /// Files that could not be read as captures.
    pub unreadable: Vec<String>,
}

/// Reads `inputs` (files, or directories of capture files). `complain` gets the one-line
/// problems the user must see as they happen (a file that cannot be read). `Err` is a failure
/// before any frame was read.
pub fn read(
    cfg: &Settings,
    inputs: &[PathBuf],
    progress: bool,
    stop: &Shutdown,
    complain: &mut dyn FnMut(&str),
) -> Result<ReadOutcome, String> {
    let files = expand_inputs(inputs);
    if files.is_empty() {
        return Err("no capture files found in the given paths".into());
    }
    let (mut pipeline, counters) = super::open(cfg, true, stop)?;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut unreadable: Vec<String> = Vec::new();
    let mut done_bytes = 0u64;
    for path in &files {
        if stop.is_requested() || pipeline.output_failed.load(Ordering::Relaxed) {
            break;
        }
        match read_file(path, &mut pipeline, stop, bar.as_ref(), done_bytes) {
            Ok(()) => {}
            Err(FileProblem::Unreadable(msg)) => {
                complain(&msg);
                Counters::add(&counters.capture_file_errors, 1);
                unreadable.push(path.display().to_string());
            }
            Err(FileProblem::Damaged(msg)) => {
                // What was read before the damage is kept and delivered.
                tracing::warn!("{msg}");
                Counters::add(&counters.capture_file_errors, 1);
            }
        }
        done_bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let result = pipeline.finish();
    Ok(ReadOutcome { counters, result, unreadable })
}

/// Capture files named on the command line, directories expanded, in packet-time order: by
/// the time of each file's first packet (ties and unreadable files keep their order, files
/// without packets first). One packet clock runs through a read, so a file older than the one
/// before it would go back in time: its transactions and the detectors' windows would be
/// judged by the other file's clock. Rotated captures of one session stay in sequence. Inputs
/// that are not regular files (a FIFO, a device) keep the order given.
fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let paths = expand_paths(inputs);
    // A pipe or a device can be read once only: with one among the inputs, the order is kept.
    if paths.len() < 2 || !paths.iter().all(|p| p.is_file()) {
        return paths;
    }
    let mut files: Vec<(Option<i64>, PathBuf)> =
        paths.into_iter().map(|p| (first_packet_ns(&p), p)).collect();
    files.sort_by_key(|(ts, _)| ts.unwrap_or(i64::MIN));
    files.into_iter().map(|(_, p)| p).collect()
}

/// Time of a capture's first packet; `None` when it has none or cannot be read (the read
/// itself then reports why).
fn first_packet_ns(path: &Path) -> Option<i64> {
    let mut file = CaptureFile::open(path).ok()?;
    file.next_frame().ok().flatten().map(|f| f.ts_ns)
}

/// Files as given, directories expanded (sorted by name).
fn expand_paths(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.retain(|e| {
                let n = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
                e.is_file()
                    && [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
                        .iter()
                        .any(|x| n.ends_with(x))
            });
            entries.sort();
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    out
}

enum FileProblem {
    Unreadable(String),
    Damaged(String),
}

fn read_file(
    path: &Path,
    pipeline: &mut Pipeline,
    stop: &Shutdown,
    bar: Option<&indicatif::ProgressBar>,
    done_before: u64,
) -> Result<(), FileProblem> {
    let mut file = CaptureFile::open(path)
        .map_err(|e| FileProblem::Unreadable(format!("{}: {e}", path.display())))?;
    let mut n: u64 = 0;
    loop {
        match file.next_frame() {
            Ok(Some(f)) => {
                pipeline.push(f.ts_ns, f.wire_len, f.linktype, f.data);
                n += 1;
                if n.is_multiple_of(65_536) {
                    if let Some(b) = bar {
                        b.set_position(done_before + file.bytes_read());
                    }
                    if stop.is_requested() {
                        return Ok(());
                    }
                }
            }
            Ok(None) => return Ok(()),
            Err(e @ CaptureFileError::Damaged { .. }) => {
                return Err(FileProblem::Damaged(format!(
                    "{}: {e}; kept the {n} frames before it",
                    path.display()
                )))
            }
            Err(e) => return Err(FileProblem::Damaged(format!("{}: {e}", path.display()))),
        }
    }
}
