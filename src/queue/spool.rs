//! The disk spool: events survive a restart, a crash and SIGKILL until the output confirms them.
//!
//! # On-disk format (version 1)
//!
//! A spool is one directory (`queue.disk.path`) holding:
//!
//! - `lock` — an empty file locked (flock) by the process using the spool; a second wirebeat
//!   on the same directory refuses to start.
//! - `segment-<id>.wbq` — segments, `<id>` a zero-padded 20-digit decimal that grows by one per
//!   segment. Each starts with the 8-byte magic `WBSPOOL1` and holds records back to back:
//!
//!   | bytes | content |
//!   |---|---|
//!   | 4 | payload length `n`, u32 little-endian |
//!   | 4 | CRC-32 (IEEE, as zlib) of the payload, u32 little-endian |
//!   | n | payload |
//!
//!   Payload: 1 byte dataset length `d`, `d` bytes dataset (`network_traffic.flow`, …), 2 bytes
//!   key length `k` (u16 little-endian; `0xFFFF` = no key), `k` bytes key (the Community ID),
//!   then the event's JSON document (the rest of the payload).
//!   A segment is closed when the next record would take it past `queue.disk.segment_size`;
//!   records are never split across segments.
//! - `ack` — the acknowledged offset, one text line `wirebeat-spool-ack 1 <segment id> <byte
//!   offset>\n`: every record before that position (in that segment and in all lower-numbered
//!   ones) has a final outcome. It is replaced atomically (written to `ack.tmp`, then renamed).
//!   Segments wholly before it are deleted.
//!
//! # Recovery
//!
//! At start the spool reads `ack` (none: the oldest segment's first record), deletes segments
//! before it, and checks every record after it. Three kinds of damage are told apart, logged and
//! counted, and none of them loses a record that can still be read:
//!
//! - a *torn tail*: the segment ends inside its last record (the process died while writing);
//!   that record is cut off the file (`spool_torn_records`, warning);
//! - a *corrupt record*: its length is impossible, its checksum does not match, or its payload
//!   does not decode, and a valid record follows it (found by scanning forward for a length,
//!   checksum and payload that agree). The damaged bytes are skipped, the records after them
//!   are kept (the segment is rewritten without the damaged bytes, its acknowledged prefix
//!   untouched), `spool_corrupt_records` counts each damaged stretch, and an error names the
//!   segment, the offset and the bytes lost. Damage with nothing valid after it ends the
//!   segment's readable part the same way;
//! - an *acknowledgement beyond the data*: `ack` names a position past the end of its segment,
//!   or a segment newer than any on disk. The data cannot have been delivered from there, so the
//!   acknowledgement is not trusted: the records of that segment (all of them, when it names a
//!   missing newer one) are sent again (`spool_ack_beyond_data`, warning). Duplicates are the
//!   at-least-once side of the contract; losing the records would not be.
//!
//! Every intact record after the acknowledged offset is sent again (`spool_replayed`): those
//! the output had already received before the stop reach the consumer twice, which is the
//! at-least-once contract (Elasticsearch sees them as 409 duplicates through the deterministic
//! `_id`; Kafka consumers can deduplicate on the same id). New records always go to a new
//! segment.
//!
//! # Durability
//!
//! Records reach the kernel (`write`) at the end of every pushed batch, before the consumer can
//! take them, which is what SIGKILL needs. With `queue.disk.fsync: true` each batch and each
//! acknowledgement is also `fsync`ed, which a power loss needs.

use super::{DiskConfig, QueueError, WhenFull};
use crate::ecs::EncodedEvent;
use crate::stats::Counters;
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"WBSPOOL1";
const HEADER: u64 = MAGIC.len() as u64;
const RECORD_HEAD: u64 = 8;
/// Largest payload a record may claim; anything larger is damage.
const MAX_PAYLOAD: u32 = 1 << 30;

pub struct Spool {
    dir: PathBuf,
    _lock: File,
    max_size: u64,
    segment_size: u64,
    when_full: WhenFull,
    fsync: bool,
    /// Segment id → size in bytes, for every segment on disk.
    segments: BTreeMap<u64, u64>,
    w_id: u64,
    w: BufWriter<File>,
    /// Reading position: the next record not yet taken.
    r_id: u64,
    r_off: u64,
    reader: Option<(u64, BufReader<File>)>,
    /// Taken, not acknowledged: (segment, offset after the record, JSON bytes).
    in_flight: VecDeque<(u64, u64, u64)>,
    in_flight_bytes: u64,
    unread: u64,
    unread_bytes: u64,
}

fn err(dir: &Path, message: impl Into<String>) -> QueueError {
    QueueError::Spool { path: dir.display().to_string(), message: message.into() }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("segment-{id:020}.wbq"))
}

/// Encodes one record (head + payload).
pub fn encode(ev: &EncodedEvent) -> Vec<u8> {
    let dataset = &ev.dataset.as_bytes()[..ev.dataset.len().min(255)];
    let key = ev.key.as_deref().map(str::as_bytes).filter(|k| k.len() < 0xFFFF);
    let mut payload = Vec::with_capacity(3 + dataset.len() + 64 + ev.json.len());
    payload.push(dataset.len() as u8);
    payload.extend_from_slice(dataset);
    match key {
        Some(k) => {
            payload.extend_from_slice(&(k.len() as u16).to_le_bytes());
            payload.extend_from_slice(k);
        }
        None => payload.extend_from_slice(&0xFFFFu16.to_le_bytes()),
    }
    payload.extend_from_slice(&ev.json);
    let mut rec = Vec::with_capacity(payload.len() + 8);
    rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    rec.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    rec.extend_from_slice(&payload);
    rec
}

/// Decodes a payload (after its CRC was checked).
pub fn decode(payload: &[u8]) -> Option<EncodedEvent> {
    let d = usize::from(*payload.first()?);
    let dataset = std::str::from_utf8(payload.get(1..1 + d)?).ok()?;
    let kl = payload.get(1 + d..3 + d)?;
    let kl = u16::from_le_bytes([kl[0], kl[1]]);
    let mut at = 3 + d;
    let key = if kl == 0xFFFF {
        None
    } else {
        let k = std::str::from_utf8(payload.get(at..at + usize::from(kl))?).ok()?;
        at += usize::from(kl);
        Some(k.into())
    };
    Some(EncodedEvent { dataset: intern(dataset), key, json: payload.get(at..)?.to_vec() })
}

/// Dataset names read back from disk, as the `&'static str` events carry (a handful per run).
fn intern(s: &str) -> &'static str {
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<std::collections::BTreeSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&x) = seen.get(s) {
        return x;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// Result of reading one record at a position.
enum Read1 {
    Record {
        payload: Vec<u8>,
        next: u64,
    },
    /// Nothing more in this segment.
    End,
    /// Cut short: the segment ends inside the record.
    Torn,
    /// A record whose length or checksum is wrong.
    Corrupt(&'static str),
}

/// A record head: (payload length, CRC-32).
fn split_head(h: [u8; 8]) -> (u32, u32) {
    (u32::from_le_bytes([h[0], h[1], h[2], h[3]]), u32::from_le_bytes([h[4], h[5], h[6], h[7]]))
}

fn head_at(data: &[u8], off: u64) -> Option<(u32, u32)> {
    let at = usize::try_from(off).ok()?;
    data.get(at..at.checked_add(8)?)?.try_into().ok().map(split_head)
}

/// What a length field says with `room` bytes after the head: the record fits, it is cut short
/// (torn), or no record can have that length (corrupt).
fn judge_len(len: u32, room: u64) -> Result<(), Read1> {
    if !(3..=MAX_PAYLOAD).contains(&len) {
        return Err(Read1::Corrupt("impossible length"));
    }
    if room < u64::from(len) {
        return Err(Read1::Torn);
    }
    Ok(())
}

/// The record at `off` of a segment held in memory (recovery).
fn record_at(data: &[u8], off: u64) -> Read1 {
    let size = data.len() as u64;
    if off >= size {
        return Read1::End;
    }
    let Some((len, crc)) = head_at(data, off) else { return Read1::Torn };
    let start = off + RECORD_HEAD;
    if let Err(damage) = judge_len(len, size - start) {
        return damage;
    }
    let end = start + u64::from(len);
    let payload = &data[start as usize..end as usize];
    if crc32fast::hash(payload) != crc {
        return Read1::Corrupt("checksum mismatch");
    }
    Read1::Record { payload: payload.to_vec(), next: end }
}

/// The record at `off` of an open segment (reading path; recovery has checked the segment).
fn read_record(r: &mut impl Read, off: u64, size: u64) -> std::io::Result<Read1> {
    if off >= size {
        return Ok(Read1::End);
    }
    if size - off < RECORD_HEAD {
        return Ok(Read1::Torn);
    }
    let mut head = [0u8; 8];
    r.read_exact(&mut head)?;
    let (len, crc) = split_head(head);
    if let Err(damage) = judge_len(len, size - off - RECORD_HEAD) {
        return Ok(damage);
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if crc32fast::hash(&payload) != crc {
        return Ok(Read1::Corrupt("checksum mismatch"));
    }
    Ok(Read1::Record { payload, next: off + RECORD_HEAD + u64::from(len) })
}

/// The first offset at or after `from` where a whole valid record starts (length in range,
/// checksum matching, payload decoding), if any.
fn resync(data: &[u8], from: u64) -> Option<u64> {
    let size = data.len() as u64;
    let mut off = from;
    while off + RECORD_HEAD + 3 <= size {
        if let Some((len, crc)) = head_at(data, off) {
            let end = off + RECORD_HEAD + u64::from(len);
            if judge_len(len, size - off - RECORD_HEAD).is_ok() {
                let payload = &data[(off + RECORD_HEAD) as usize..end as usize];
                // Cheap checks before the checksum: a dataset name of printable ASCII.
                let d = usize::from(payload[0]);
                let plausible = d > 0
                    && payload.get(1..1 + d).is_some_and(|s| s.iter().all(u8::is_ascii_graphic));
                if plausible && crc32fast::hash(payload) == crc && decode(payload).is_some() {
                    return Some(off);
                }
            }
        }
        off += 1;
    }
    None
}

/// Whether the acknowledged position lies within the data: `Err(Some(bytes))` when it is past
/// the end of its segment (which holds `bytes`), `Err(None)` when it names a segment newer than
/// every one on disk.
fn check_ack(segments: &BTreeMap<u64, u64>, a_id: u64, a_off: u64) -> Result<(), Option<u64>> {
    match segments.get(&a_id) {
        Some(&size) if a_off > size => Err(Some(size)),
        Some(_) => Ok(()),
        None if segments.keys().next_back().is_some_and(|&last| last < a_id) => Err(None),
        None => Ok(()),
    }
}

fn read_ack(dir: &Path) -> Result<Option<(u64, u64)>, QueueError> {
    let text = match std::fs::read_to_string(dir.join("ack")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(dir, format!("cannot read ack: {e}"))),
    };
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        ["wirebeat-spool-ack", "1", seg, off] => match (seg.parse(), off.parse()) {
            (Ok(s), Ok(o)) => Ok(Some((s, o))),
            _ => Err(err(dir, format!("ack file is damaged: {text:?}"))),
        },
        _ => Err(err(dir, format!("ack file is damaged or of another version: {text:?}"))),
    }
}

impl Spool {
    /// Opens (creating or recovering) the spool directory.
    pub fn open(cfg: &DiskConfig, counters: &Counters) -> Result<Spool, QueueError> {
        let dir = PathBuf::from(&cfg.path);
        std::fs::create_dir_all(&dir).map_err(|e| err(&dir, format!("cannot create: {e}")))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(|e| err(&dir, format!("cannot open lock file: {e}")))?;
        if lock.try_lock().is_err() {
            return Err(err(&dir, "in use by another wirebeat process (lock file is held)"));
        }
        let mut segments = BTreeMap::new();
        let listing =
            std::fs::read_dir(&dir).map_err(|e| err(&dir, format!("cannot list: {e}")))?;
        for entry in listing.flatten() {
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_prefix("segment-"))
                .and_then(|n| n.strip_suffix(".wbq"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            segments.insert(id, size);
        }
        let first = segments.keys().next().copied();
        let ack = read_ack(&dir)?;
        let (a_id, a_off) = ack.unwrap_or((first.unwrap_or(0), HEADER));
        let (a_id, a_off) = match check_ack(&segments, a_id, a_off) {
            Ok(()) => (a_id, a_off),
            Err(held) => {
                Counters::add(&counters.spool_ack_beyond_data, 1);
                let (id, off) = match held {
                    Some(_) => (a_id, HEADER),
                    None => (first.unwrap_or(a_id), HEADER),
                };
                tracing::warn!(
                    path = %dir.display(),
                    ack_segment = a_id,
                    ack_offset = a_off,
                    segment_bytes = held,
                    "spool acknowledgement points past the data; its records are sent again \
                     instead of being trusted as delivered"
                );
                (id, off)
            }
        };
        // Segments wholly acknowledged.
        let old: Vec<u64> = segments.range(..a_id).map(|(&id, _)| id).collect();
        for id in old {
            let _ = std::fs::remove_file(segment_path(&dir, id));
            segments.remove(&id);
        }
        let mut unread = 0u64;
        let mut unread_bytes = 0u64;
        let ids: Vec<u64> = segments.keys().copied().collect();
        for id in ids {
            let start = if id == a_id { a_off.max(HEADER) } else { HEADER };
            let (good_end, n, bytes) = Self::recover_segment(&dir, id, start, counters)?;
            segments.insert(id, good_end);
            unread += n;
            unread_bytes += bytes;
        }
        let w_id = segments.keys().next_back().map_or(a_id + 1, |&m| m + 1);
        let w = Self::create_segment(&dir, w_id)?;
        segments.insert(w_id, HEADER);
        let r_id = segments.range(a_id..).next().map_or(w_id, |(&id, _)| id);
        let r_off = if r_id == a_id { a_off.max(HEADER) } else { HEADER };
        if unread > 0 {
            tracing::info!(
                events = unread,
                path = %dir.display(),
                "spool: events not confirmed before the last stop are sent again"
            );
            Counters::add(&counters.spool_replayed, unread);
        }
        Ok(Spool {
            dir,
            _lock: lock,
            max_size: cfg.max_size.0,
            segment_size: cfg.segment_size.0,
            when_full: cfg.when_full,
            fsync: cfg.fsync,
            segments,
            w_id,
            w,
            r_id,
            r_off,
            reader: None,
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            unread,
            unread_bytes,
        })
    }

    /// Checks one segment from `start`: cuts a torn tail, skips corrupt stretches and keeps the
    /// valid records after them (see "Recovery" above). Returns (readable end, records, JSON
    /// bytes).
    fn recover_segment(
        dir: &Path,
        id: u64,
        start: u64,
        counters: &Counters,
    ) -> Result<(u64, u64, u64), QueueError> {
        let path = segment_path(dir, id);
        let io = |e: std::io::Error| err(dir, format!("{}: {e}", path.display()));
        let data = std::fs::read(&path).map_err(io)?;
        let size = data.len() as u64;
        if size < HEADER || &data[..HEADER as usize] != MAGIC {
            tracing::error!(segment = %path.display(), "spool segment without a valid header, ignored");
            Counters::add(&counters.spool_corrupt_records, 1);
            let file = OpenOptions::new().write(true).open(&path).map_err(io)?;
            file.set_len(HEADER.min(size)).map_err(io)?;
            return Ok((HEADER.min(size), 0, 0));
        }
        let start = start.clamp(HEADER, size);
        // Byte ranges of the valid records after `start`, in order.
        let mut kept: Vec<std::ops::Range<usize>> = Vec::new();
        let (mut n, mut bytes) = (0u64, 0u64);
        let mut skipped = false;
        let mut off = start;
        loop {
            let damage = match record_at(&data, off) {
                Read1::Record { payload, next } => match decode(&payload) {
                    Some(ev) => {
                        n += 1;
                        bytes += ev.json.len() as u64;
                        kept.push(off as usize..next as usize);
                        off = next;
                        continue;
                    }
                    None => "payload does not decode",
                },
                Read1::End => break,
                Read1::Torn => "cut short",
                Read1::Corrupt(why) => why,
            };
            match resync(&data, off + 1) {
                Some(next_good) => {
                    Counters::add(&counters.spool_corrupt_records, 1);
                    crate::logging::error_limited!(segment = %path.display(), offset = off,
                        lost_bytes = next_good - off, damage,
                        "spool record damaged; skipped, the records after it are kept");
                    skipped = true;
                    off = next_good;
                }
                None if damage == "cut short" => {
                    Counters::add(&counters.spool_torn_records, 1);
                    tracing::warn!(segment = %path.display(), offset = off,
                        "spool record cut short by a stop while writing; removed");
                    break;
                }
                None => {
                    Counters::add(&counters.spool_corrupt_records, 1);
                    tracing::error!(segment = %path.display(), offset = off,
                        lost_bytes = size - off, damage,
                        "spool record damaged and nothing valid after it; rest of segment cut");
                    break;
                }
            }
        }
        let good_end = start + kept.iter().map(|r| r.len() as u64).sum::<u64>();
        if skipped {
            // Rewrite: the acknowledged prefix unchanged (so `ack` stays valid), then the kept
            // records back to back; replaced atomically.
            let tmp = path.with_extension("wbq.tmp");
            let mut out = Vec::with_capacity(good_end as usize);
            out.extend_from_slice(&data[..start as usize]);
            for r in &kept {
                out.extend_from_slice(&data[r.clone()]);
            }
            let mut f = File::create(&tmp).map_err(io)?;
            f.write_all(&out).map_err(io)?;
            f.sync_data().map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
        } else if good_end < size {
            let file = OpenOptions::new().write(true).open(&path).map_err(io)?;
            file.set_len(good_end).map_err(io)?;
        }
        Ok((good_end, n, bytes))
    }

    fn create_segment(dir: &Path, id: u64) -> Result<BufWriter<File>, QueueError> {
        let path = segment_path(dir, id);
        let mut f = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| err(dir, format!("cannot create {}: {e}", path.display())))?;
        f.write_all(MAGIC).map_err(|e| err(dir, format!("{}: {e}", path.display())))?;
        Ok(BufWriter::with_capacity(1 << 16, f))
    }

    pub fn when_full(&self) -> WhenFull {
        self.when_full
    }

    /// Bytes on disk, all segments.
    pub fn disk_bytes(&self) -> u64 {
        self.segments.values().sum()
    }

    /// Events held (waiting or being sent).
    pub fn events(&self) -> u64 {
        self.unread + self.in_flight.len() as u64
    }

    /// JSON bytes of the events held.
    pub fn event_bytes(&self) -> u64 {
        self.unread_bytes + self.in_flight_bytes
    }

    pub fn fits(&self, ev: &EncodedEvent) -> bool {
        let rec = RECORD_HEAD + 3 + ev.dataset.len() as u64 + ev.json.len() as u64 + 64;
        self.events() == 0 || self.disk_bytes() + rec <= self.max_size
    }

    pub fn append(&mut self, ev: &EncodedEvent) -> Result<(), QueueError> {
        let rec = encode(ev);
        let size = self.segments.get(&self.w_id).copied().unwrap_or(HEADER);
        if size > HEADER && size + rec.len() as u64 > self.segment_size {
            self.sync_writer()?;
            self.w_id += 1;
            self.w = Self::create_segment(&self.dir, self.w_id)?;
            self.segments.insert(self.w_id, HEADER);
        }
        self.w.write_all(&rec).map_err(|e| err(&self.dir, format!("write: {e}")))?;
        *self.segments.entry(self.w_id).or_insert(HEADER) += rec.len() as u64;
        self.unread += 1;
        self.unread_bytes += ev.json.len() as u64;
        Ok(())
    }

    fn sync_writer(&mut self) -> Result<(), QueueError> {
        self.w.flush().map_err(|e| err(&self.dir, format!("write: {e}")))?;
        if self.fsync {
            self.w.get_ref().sync_data().map_err(|e| err(&self.dir, format!("fsync: {e}")))?;
        }
        Ok(())
    }

    /// Hands what was appended to the kernel (and to the disk with `fsync`).
    pub fn flush(&mut self) -> Result<(), QueueError> {
        self.sync_writer()
    }

    /// Reads up to `max` records after the reading position.
    pub fn take(&mut self, max: usize) -> Result<Vec<EncodedEvent>, QueueError> {
        let mut out = Vec::new();
        while out.len() < max && self.unread > 0 {
            let size = self.segments.get(&self.r_id).copied().unwrap_or(0);
            if self.r_off >= size {
                // This segment is done; records continue in the next one.
                match self.segments.range(self.r_id + 1..).next() {
                    Some((&next, _)) => {
                        self.r_id = next;
                        self.r_off = HEADER;
                        self.reader = None;
                        continue;
                    }
                    None => {
                        return Err(err(&self.dir, "spool counts records it cannot find"));
                    }
                }
            }
            if self.reader.as_ref().is_none_or(|(id, _)| *id != self.r_id) {
                let path = segment_path(&self.dir, self.r_id);
                let mut f = File::open(&path)
                    .map_err(|e| err(&self.dir, format!("{}: {e}", path.display())))?;
                f.seek(SeekFrom::Start(self.r_off))
                    .map_err(|e| err(&self.dir, format!("{}: {e}", path.display())))?;
                self.reader = Some((self.r_id, BufReader::with_capacity(1 << 16, f)));
            }
            let Some((_, r)) = self.reader.as_mut() else { continue };
            let got = read_record(r, self.r_off, size);
            match got {
                Ok(Read1::Record { payload, next }) => {
                    self.r_off = next;
                    self.unread -= 1;
                    match decode(&payload) {
                        Some(ev) => {
                            let b = ev.json.len() as u64;
                            self.unread_bytes = self.unread_bytes.saturating_sub(b);
                            self.in_flight_bytes += b;
                            self.in_flight.push_back((self.r_id, next, b));
                            out.push(ev);
                        }
                        None => {
                            // Checksummed but not decodable: only a bug could write that. It is
                            // skipped; the next acknowledgement moves past it.
                            crate::logging::error_limited!(
                                segment = self.r_id,
                                offset = self.r_off,
                                "spool record cannot be decoded; skipped"
                            );
                        }
                    }
                }
                Ok(_) | Err(_) => {
                    self.reader = None;
                    let what = match got {
                        Err(e) => e.to_string(),
                        _ => "damaged record".into(),
                    };
                    return Err(err(
                        &self.dir,
                        format!("segment {} offset {}: {what}", self.r_id, self.r_off),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The oldest `n` taken records have a final outcome.
    pub fn ack(&mut self, n: usize) -> Result<(), QueueError> {
        let mut last = None;
        for _ in 0..n {
            if let Some((seg, off, b)) = self.in_flight.pop_front() {
                self.in_flight_bytes -= b;
                last = Some((seg, off));
            }
        }
        let Some((a_id, a_off)) = last else { return Ok(()) };
        let tmp = self.dir.join("ack.tmp");
        let line = format!("wirebeat-spool-ack 1 {a_id} {a_off}\n");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(line.as_bytes())?;
            if self.fsync {
                f.sync_data()?;
            }
            std::fs::rename(&tmp, self.dir.join("ack"))
        };
        write().map_err(|e| err(&self.dir, format!("cannot save ack: {e}")))?;
        // Free whole segments: those before the acknowledged one, and that one too when it is
        // read to its end and no longer written.
        let done: Vec<u64> = self
            .segments
            .iter()
            .filter(|&(&id, &size)| {
                id < a_id || (id == a_id && a_off >= size && id < self.w_id && id != self.r_id)
            })
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            let _ = std::fs::remove_file(segment_path(&self.dir, id));
            self.segments.remove(&id);
        }
        Ok(())
    }
}
