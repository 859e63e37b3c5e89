//! `queue`: the memory queue's bounds, or the disk spool's place and size, and their checks.

use crate::units::ByteSize;
use serde::{Deserialize, Serialize};

/// What a full queue does with new events.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait until the output frees room (backpressure into the pipeline).
    #[default]
    Block,
    /// Drop the events that do not fit, and count them.
    DropNewest,
}

/// `queue`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub mem: MemConfig,
    /// The disk spool; when present (and enabled) it replaces the memory queue.
    pub disk: Option<DiskConfig>,
}

/// `queue.mem`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MemConfig {
    /// Most events held (including those being sent).
    pub events: usize,
    /// Most bytes of serialized events held.
    pub bytes: ByteSize,
    pub when_full: WhenFull,
}

impl Default for MemConfig {
    fn default() -> Self {
        MemConfig { events: 65_536, bytes: ByteSize(64 << 20), when_full: WhenFull::Block }
    }
}

/// `queue.disk`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiskConfig {
    pub enabled: bool,
    /// Directory of the spool (created if missing; one wirebeat process at a time).
    pub path: String,
    /// Most bytes on disk, all segments together.
    pub max_size: ByteSize,
    /// Size at which a segment is closed and a new one started.
    pub segment_size: ByteSize,
    pub when_full: WhenFull,
    /// fsync each written batch and every acknowledgement (survives power loss, not only
    /// SIGKILL; slower).
    pub fsync: bool,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            enabled: true,
            path: "/var/lib/wirebeat/spool".into(),
            max_size: ByteSize(1 << 30),
            segment_size: ByteSize(64 << 20),
            when_full: WhenFull::Block,
            fsync: false,
        }
    }
}

/// Most `queue.mem.events`: each held event costs its JSON plus about a hundred bytes of
/// bookkeeping; sixteen million of them is a memory queue that belongs on disk.
pub const MAX_MEM_EVENTS: usize = 1 << 24;

/// Most `queue.mem.bytes`: larger memory queues belong on disk (`queue.disk`), where a crash
/// does not lose them.
pub const MAX_MEM_BYTES: u64 = 64 << 30;

/// Largest `queue.disk.segment_size`: recovery reads a segment whole into memory, and a record
/// (at most 1 GiB) never spans two segments.
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;

/// Largest `queue.disk.max_size`: a guard against a unit typo (`1PB`), beyond any disk a sensor
/// spools to.
pub const MAX_DISK_SIZE: u64 = 1 << 44;

impl Config {
    /// Problems with the `queue` section, each naming its key.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.mem.events == 0 {
            errs.push("queue.mem.events: must be greater than 0".into());
        } else if self.mem.events > MAX_MEM_EVENTS {
            errs.push(format!(
                "queue.mem.events: must be between 1 and {MAX_MEM_EVENTS}, got {}",
                self.mem.events
            ));
        }
        if self.mem.bytes.0 < 1024 {
            errs.push("queue.mem.bytes: must be at least 1KiB".into());
        } else if self.mem.bytes.0 > MAX_MEM_BYTES {
            errs.push(format!(
                "queue.mem.bytes: must be between 1KiB and {}, got {} (use queue.disk for more)",
                ByteSize(MAX_MEM_BYTES),
                self.mem.bytes
            ));
        }
        if let Some(d) = self.disk.as_ref().filter(|d| d.enabled) {
            if d.path.trim().is_empty() {
                errs.push("queue.disk.path: must not be empty".into());
            }
            if d.segment_size.0 < 4096 {
                errs.push("queue.disk.segment_size: must be at least 4KiB".into());
            } else if d.segment_size.0 > MAX_SEGMENT_SIZE {
                errs.push(format!(
                    "queue.disk.segment_size: must be between 4KiB and {}, got {}",
                    ByteSize(MAX_SEGMENT_SIZE),
                    d.segment_size
                ));
            }
            if d.max_size.0 > MAX_DISK_SIZE {
                errs.push(format!(
                    "queue.disk.max_size: must be at most {}, got {}",
                    ByteSize(MAX_DISK_SIZE),
                    d.max_size
                ));
            }
            if d.max_size.0 < d.segment_size.0.saturating_mul(2) {
                errs.push(
                    "queue.disk.max_size: must be at least twice queue.disk.segment_size \
                     (space is freed a whole segment at a time)"
                        .into(),
                );
            }
        }
        errs
    }
}
