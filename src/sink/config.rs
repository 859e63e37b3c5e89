//! `output`: which sink events go to, with the console and file sections (Kafka's and
//! Elasticsearch's live beside their sinks). Validation is pure and names keys relative to
//! `output`; it also decides the one output that is used ([`Output::selected`]).

use super::{elasticsearch, kafka};
use crate::units::Invalid;
use serde::{Deserialize, Serialize};

/// Outputs: exactly one may be enabled; none means console.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    pub console: Option<ConsoleOutput>,
    pub file: Option<FileOutput>,
    pub kafka: Option<kafka::Config>,
    pub elasticsearch: Option<elasticsearch::Config>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleOutput {
    pub enabled: bool,
    /// Indented JSON (for people, not for pipelines).
    pub pretty: bool,
}

impl Default for ConsoleOutput {
    fn default() -> Self {
        ConsoleOutput { enabled: true, pretty: false }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Ndjson,
    Csv,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FileOutput {
    pub enabled: bool,
    /// Directory the files are written to.
    pub path: String,
    /// Base file name; rotated files get `.1`, `.2`, … appended.
    pub filename: String,
    pub format: FileFormat,
    /// Dotted ECS field names that make the CSV columns (CSV only).
    pub csv_fields: Vec<String>,
    /// Rotate when the current file reaches this many KiB.
    pub rotate_every_kb: u64,
    /// Files kept, the current one included.
    pub number_of_files: usize,
}

impl Default for FileOutput {
    fn default() -> Self {
        FileOutput {
            enabled: true,
            path: ".".into(),
            filename: "wirebeat.ndjson".into(),
            format: FileFormat::Ndjson,
            csv_fields: vec![
                "@timestamp".into(),
                "event.dataset".into(),
                "network.transport".into(),
                "source.ip".into(),
                "source.port".into(),
                "destination.ip".into(),
                "destination.port".into(),
                "network.packets".into(),
                "network.bytes".into(),
                "network.community_id".into(),
            ],
            rotate_every_kb: 10 * 1024,
            number_of_files: 7,
        }
    }
}

/// Largest `output.file.rotate_every_kb` (1 TiB).
pub const MAX_ROTATE_EVERY_KB: u64 = 1 << 30;

/// Most `output.file.number_of_files`.
pub const MAX_NUMBER_OF_FILES: usize = 1024;

impl FileOutput {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.path.trim().is_empty() {
            return Err(Invalid::new("path", "must not be empty"));
        }
        if self.filename.trim().is_empty() {
            return Err(Invalid::new("filename", "must not be empty"));
        }
        if self.format == FileFormat::Csv && self.csv_fields.is_empty() {
            return Err(Invalid::new(
                "csv_fields",
                "must list at least one field when output.file.format is csv",
            ));
        }
        Invalid::positive("rotate_every_kb", self.rotate_every_kb > 0)?;
        // In bytes it must fit a u64 (1 TiB per file is far past any rotation worth having).
        Invalid::in_range("rotate_every_kb", self.rotate_every_kb, 1..=MAX_ROTATE_EVERY_KB)?;
        if self.number_of_files < 1 {
            return Err(Invalid::new("number_of_files", "must be at least 1"));
        }
        // Every rotation renames each kept file once.
        Invalid::in_range("number_of_files", self.number_of_files, 1..=MAX_NUMBER_OF_FILES)
    }
}

/// A message of Kafka's or Elasticsearch's checks, which starts with its full dotted key
/// (`output.kafka.hosts: …`), as an error on that key (so the loader finds its line).
fn keyed(section: &str, message: String) -> Invalid {
    let split = message.strip_prefix("output.").and_then(|rest| rest.split_once(": "));
    match split {
        Some((key, m)) if key.starts_with(section) && !key.contains(' ') => Invalid::new(key, m),
        _ => Invalid::new(section, message),
    }
}

/// The output events go to, as validation chose it.
#[derive(Debug, Clone, PartialEq)]
pub enum Selected {
    Console { pretty: bool },
    File(FileOutput),
    Kafka(kafka::Config),
    Elasticsearch(elasticsearch::Config),
}

impl Output {
    /// The enabled output (console when none is). Call on a validated section: with several
    /// enabled the first of Kafka, Elasticsearch, file wins.
    pub fn selected(&self) -> Selected {
        if let Some(k) = self.kafka.as_ref().filter(|k| k.enabled) {
            return Selected::Kafka(k.clone());
        }
        if let Some(e) = self.elasticsearch.as_ref().filter(|e| e.enabled) {
            return Selected::Elasticsearch(e.clone());
        }
        if let Some(f) = self.file.as_ref().filter(|f| f.enabled) {
            return Selected::File(f.clone());
        }
        Selected::Console { pretty: self.console.as_ref().is_some_and(|c| c.pretty) }
    }

    /// Checks the enabled outputs and that at most one is enabled; returns the one to use.
    pub fn validate(&self) -> Result<Selected, Invalid> {
        let console = self.console.as_ref().is_some_and(|c| c.enabled);
        // Settings a client cannot honour are refused even in a disabled section, as an
        // unknown key is.
        let kafka_tls = self.kafka.as_ref().and_then(|k| k.ssl.as_ref());
        if let Some(key) = kafka_tls.and_then(|t| t.unsupported(kafka::config::TLS_SUPPORT)) {
            return Err(Invalid::new(
                format!("kafka.ssl.{key}"),
                "not supported by the Kafka output",
            ));
        }
        let es_tls = self.elasticsearch.as_ref().map(|e| &e.ssl);
        if let Some(key) = es_tls.and_then(|t| t.unsupported(elasticsearch::TLS_SUPPORT)) {
            return Err(Invalid::new(
                format!("elasticsearch.ssl.{key}"),
                "not supported by the Elasticsearch client",
            ));
        }
        if let Some(k) = self.kafka.as_ref().filter(|k| k.enabled) {
            k.validate().map_err(|m| keyed("kafka", m))?;
        }
        if let Some(e) = self.elasticsearch.as_ref().filter(|e| e.enabled) {
            e.validate().map_err(|m| keyed("elasticsearch", m))?;
        }
        let network: Vec<&str> = [
            ("output.kafka", self.kafka.as_ref().is_some_and(|k| k.enabled)),
            ("output.elasticsearch", self.elasticsearch.as_ref().is_some_and(|e| e.enabled)),
            ("output.file", self.file.as_ref().is_some_and(|f| f.enabled)),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect();
        if network.len() > 1
            || (console && !network.is_empty() && !network.contains(&"output.file"))
        {
            let mut all = network.clone();
            if console {
                all.insert(0, "output.console");
            }
            return Err(Invalid::new(
                "",
                format!("{} are enabled; enable exactly one output", all.join(" and ")),
            ));
        }
        if let Some(file) = self.file.as_ref().filter(|f| f.enabled) {
            if console {
                return Err(Invalid::new(
                    "",
                    "output.console and output.file are both enabled; enable only one \
                     (set output.console.enabled: false, or remove output.file)",
                ));
            }
            file.validate().map_err(|e| e.under("file"))?;
        }
        Ok(self.selected())
    }
}
