//! File output: NDJSON, or CSV of chosen fields, with rotation by size.
//!
//! Rotation: when the current file reaches `rotate_every_kb`, it is renamed `<name>.1` (older
//! ones shift up to `<name>.<number_of_files - 1>`, the oldest is deleted) and a new file starts.
//! A CSV file starts with a header line.
//!
//! Delivered means written: every batch is handed to the kernel (`write`) before `send`
//! reports its events delivered, so a SIGKILL cannot lose what the queue or spool was told is
//! done; with [`FileOutput::sync_each_batch`] (used with the disk spool) it is also `fsync`ed,
//! which a power loss needs.

use super::config::{FileFormat, FileOutput as FileConfig};
use super::{Outcome, Output, OutputError};
use crate::ecs::EncodedEvent;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

pub struct FileOutput {
    dir: PathBuf,
    name: String,
    format: FileFormat,
    fields: Vec<String>,
    rotate_bytes: u64,
    keep: usize,
    out: BufWriter<File>,
    written: u64,
    /// `fsync` every batch before reporting it delivered.
    sync: bool,
}

fn io(source: std::io::Error) -> OutputError {
    OutputError::Io { output: "file", source }
}

impl FileOutput {
    pub fn open(c: &FileConfig) -> Result<Self, OutputError> {
        let dir = PathBuf::from(&c.path);
        std::fs::create_dir_all(&dir).map_err(|e| OutputError::Fatal {
            output: "file",
            message: format!("cannot create directory {}: {e}", dir.display()),
        })?;
        let path = dir.join(&c.filename);
        let (out, written) = Self::open_file(&path)?;
        let mut me = FileOutput {
            dir,
            name: c.filename.clone(),
            format: c.format,
            fields: c.csv_fields.clone(),
            rotate_bytes: c.rotate_every_kb.max(1) * 1024,
            keep: c.number_of_files.max(1),
            out,
            written,
            sync: false,
        };
        if written == 0 {
            me.write_header()?;
        }
        Ok(me)
    }

    fn open_file(path: &std::path::Path) -> Result<(BufWriter<File>, u64), OutputError> {
        let f = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
            OutputError::Fatal {
                output: "file",
                message: format!("cannot open {}: {e}", path.display()),
            }
        })?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((BufWriter::with_capacity(1 << 20, f), len))
    }

    /// Makes every delivered batch reach the disk (`fsync`), not only the kernel.
    pub fn sync_each_batch(&mut self, on: bool) {
        self.sync = on;
    }

    pub fn syncs_each_batch(&self) -> bool {
        self.sync
    }

    /// Hands the buffered bytes to the kernel, and to the disk when `sync` is on.
    fn commit(&mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(io)?;
        if self.sync {
            self.out.get_ref().sync_data().map_err(io)?;
        }
        Ok(())
    }

    fn write_header(&mut self) -> Result<(), OutputError> {
        if self.format == FileFormat::Csv {
            let line: Vec<String> = self.fields.iter().map(|f| csv_quote(f)).collect();
            let line = line.join(",") + "\n";
            self.out.write_all(line.as_bytes()).map_err(io)?;
            self.written += line.len() as u64;
        }
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), OutputError> {
        self.commit()?;
        let base = self.dir.join(&self.name);
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", base.display()));
        if self.keep <= 1 {
            std::fs::remove_file(&base).map_err(io)?;
        } else {
            let _ = std::fs::remove_file(numbered(self.keep - 1));
            for n in (1..self.keep - 1).rev() {
                let from = numbered(n);
                if from.exists() {
                    std::fs::rename(&from, numbered(n + 1)).map_err(io)?;
                }
            }
            std::fs::rename(&base, numbered(1)).map_err(io)?;
        }
        let (out, written) = Self::open_file(&base)?;
        self.out = out;
        self.written = written;
        self.write_header()
    }

    fn csv_line(&self, ev: &EncodedEvent) -> Result<Vec<u8>, OutputError> {
        let v: serde_json::Value = serde_json::from_slice(&ev.json)
            .map_err(|e| OutputError::Fatal { output: "file", message: e.to_string() })?;
        let cells: Vec<String> =
            self.fields.iter().map(|f| csv_quote(&cell(lookup(&v, f)))).collect();
        Ok((cells.join(",") + "\n").into_bytes())
    }
}

/// A dotted path in a JSON document (nested objects, or a literal dotted key).
fn lookup<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    if let Some(x) = v.get(path) {
        return Some(x);
    }
    let (head, rest) = path.split_once('.')?;
    // Try the longest literal prefix first is unnecessary for our documents: they nest.
    lookup(v.get(head)?, rest)
}

fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => {
            a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join("|")
        }
        Some(other) => other.to_string(),
    }
}

fn csv_quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Output for FileOutput {
    fn name(&self) -> &'static str {
        "file"
    }

    fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
        for ev in batch {
            if self.written >= self.rotate_bytes {
                self.rotate()?;
            }
            let n = match self.format {
                FileFormat::Ndjson => {
                    self.out.write_all(&ev.json).map_err(io)?;
                    self.out.write_all(b"\n").map_err(io)?;
                    ev.json.len() + 1
                }
                FileFormat::Csv => {
                    let line = self.csv_line(ev)?;
                    self.out.write_all(&line).map_err(io)?;
                    line.len()
                }
            };
            self.written += n as u64;
        }
        self.commit()?;
        Ok(vec![Outcome::Delivered; batch.len()])
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> EncodedEvent {
        EncodedEvent { dataset: "network_traffic.flow", key: None, json: s.as_bytes().to_vec() }
    }

    #[test]
    fn rotates_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = FileConfig {
            path: dir.path().display().to_string(),
            filename: "out.ndjson".into(),
            rotate_every_kb: 1,
            number_of_files: 3,
            ..FileConfig::default()
        };
        let mut out = FileOutput::open(&cfg).unwrap();
        let line = format!("{{\"n\":\"{}\"}}", "x".repeat(200));
        for _ in 0..30 {
            out.send(&[ev(&line)]).unwrap();
        }
        out.flush().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["out.ndjson", "out.ndjson.1", "out.ndjson.2"]);
        let size = std::fs::metadata(dir.path().join("out.ndjson.1")).unwrap().len();
        assert!((1024..1024 + 300).contains(&size), "rotated file size {size}");
    }

    #[test]
    fn a_delivered_batch_is_in_the_file_before_flush() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = FileConfig {
            path: dir.path().display().to_string(),
            filename: "out.ndjson".into(),
            ..FileConfig::default()
        };
        let mut out = FileOutput::open(&cfg).unwrap();
        out.sync_each_batch(true);
        let outcomes = out.send(&[ev(r#"{"n":1}"#), ev(r#"{"n":2}"#)]).unwrap();
        assert_eq!(outcomes, vec![Outcome::Delivered; 2]);
        // Read through another handle, as a reader after a SIGKILL would: no flush() yet.
        let text = std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n");
    }

    #[test]
    fn csv_columns_from_dotted_fields() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = FileConfig {
            path: dir.path().display().to_string(),
            filename: "f.csv".into(),
            format: FileFormat::Csv,
            csv_fields: vec!["source.ip".into(), "network.bytes".into(), "tags".into()],
            ..FileConfig::default()
        };
        let mut out = FileOutput::open(&cfg).unwrap();
        out.send(&[ev(
            r#"{"source":{"ip":"10.0.0.1"},"network":{"bytes":42},"tags":["a","b,c"]}"#,
        )])
        .unwrap();
        out.flush().unwrap();
        let text = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
        assert_eq!(text, "source.ip,network.bytes,tags\n10.0.0.1,42,\"a|b,c\"\n");
    }
}
