//! Capture files: a streaming reader for classic pcap (all magics and the old "modified" record
//! header variants) and pcapng (several sections, both byte orders, several interfaces with
//! different link types).
//!
//! Written for throughput and for hostile input:
//! - one big read buffer (`input`); a [`Frame`] borrows its bytes straight from that buffer, so
//!   there is no copy and no allocation per frame;
//! - every length in the file is bounds-checked before use and every field is read through
//!   [`crate::bytes::View`]: nothing is indexed unchecked and nothing panics on any input;
//! - a damaged or cut-short record ends the file: [`CaptureFile::next_frame`] returns
//!   [`CaptureFileError::Damaged`] once (with the file offset of the bad record) and `Ok(None)`
//!   afterwards, after every good frame before it has been delivered.
//!
//! Behaviour follows Wireshark 4.0's reader (tshark is the reference the corpus truth was made
//! with) where it matters for the frames delivered: records with more than 262,144 captured bytes
//! are damage; the classic pcap record-header variants are guessed as Wireshark does (`pcap`);
//! a fraction-of-second field >= 1 s carries into the seconds. The formats live in `pcap` and
//! `pcapng`; this file recognises the magic and hands out frames.
//!
//! Hand-written rather than the `pcap-file` crate: see the [`capture`](super) module doc.

mod input;
mod pcap;
mod pcapng;

use crate::bytes::{Endian, View};
use input::Input;
use pcap::{Magic, PcapState, Variant};
use pcapng::NgState;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Largest captured length accepted for one frame (Wireshark's limit for network link types).
pub const MAX_CAPLEN: u32 = 262_144;

/// Mask applied to the link-type field of a classic pcap header (drops the FCS-length bits).
pub const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Original length on the wire (as recorded; may be smaller than `data.len()` in
    /// damaged or crafted files).
    pub wire_len: u32,
    /// LINKTYPE_ number of the frame's interface (raw pcap value masked with 0x03FF_FFFF).
    pub linktype: u32,
    /// pcapng interface id within its section; 0 for classic pcap.
    pub iface: u32,
    /// Captured bytes (caplen = data.len()).
    pub data: &'a [u8],
}

/// Errors of [`CaptureFile`].
#[derive(Debug, thiserror::Error)]
pub enum CaptureFileError {
    /// The file could not be opened.
    #[error("cannot open capture file {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    /// Reading failed (the file itself may be fine).
    #[error("error reading capture file: {0}")]
    Io(#[from] io::Error),
    /// Bad magic: not a pcap or pcapng file.
    #[error(
        "{name} is not a capture file: it starts with {first_bytes}; expected pcap \
         (magic a1b2c3d4, a1b23c4d or a1b2cd34, either byte order) or pcapng (0a0d0d0a)"
    )]
    NotACapture { name: String, first_bytes: String },
    /// A capture in a form this reader does not handle (compressed, unknown pcapng version).
    #[error("{name}: unsupported capture file: {reason}")]
    Unsupported { name: String, reason: String },
    /// A damaged or cut-short record; `offset` is the file offset where that record starts.
    #[error("damaged capture file at byte offset {offset}: {reason}")]
    Damaged { offset: u64, reason: String },
}

fn damaged(offset: u64, reason: impl Into<String>) -> CaptureFileError {
    CaptureFileError::Damaged { offset, reason: reason.into() }
}

/// "3c 21 44 4f ... ("<!DO...")" for error messages.
fn describe_bytes(b: &[u8]) -> String {
    if b.is_empty() {
        return "nothing (the file is empty)".to_string();
    }
    let shown = b.get(..b.len().min(16)).unwrap_or(b);
    let hex: Vec<String> = shown.iter().map(|x| format!("{x:02x}")).collect();
    let text: String = shown
        .iter()
        .map(|&c| if c.is_ascii_graphic() || c == b' ' { c as char } else { '.' })
        .collect();
    format!("bytes {} (\"{}\")", hex.join(" "), text)
}

/// The format being read, with its own state.
enum Fmt {
    Pcap(PcapState),
    Ng(NgState),
}

/// Reader bookkeeping shared by both formats.
#[derive(Default)]
struct Counters {
    /// Bytes of the record last delivered (or being skipped), consumed at the next call.
    pending: u64,
    /// File offset of that record.
    pending_off: u64,
    frames: u64,
    skipped_blocks: u64,
}

/// Where a frame sits in the read buffer (`start` is an index into it, see
/// [`Input::bytes_at`]).
struct Meta {
    start: usize,
    len: usize,
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    iface: u32,
}

enum Step {
    Frame(Meta),
    /// A non-packet block was processed (pcapng).
    Again,
    /// The next block is a packet block (pcapng pre-scan only).
    AtPacket,
    End,
}

/// Skips the rest of the record delivered last (its bytes stay valid until this call).
fn settle_pending(input: &mut Input, st: &mut Counters) -> Result<(), CaptureFileError> {
    if st.pending > 0 {
        let n = st.pending;
        st.pending = 0;
        if !input.skip(n)? {
            return Err(damaged(
                st.pending_off,
                format!("the file ends inside a {n}-byte block (cut short)"),
            ));
        }
    }
    Ok(())
}

/// A pcap or pcapng capture file, read front to back.
pub struct CaptureFile {
    name: String,
    input: Input,
    fmt: Fmt,
    st: Counters,
    done: bool,
    /// An error met while pre-reading pcapng header blocks at open time, reported by the first
    /// `next_frame` call.
    deferred: Option<CaptureFileError>,
}

impl fmt::Debug for CaptureFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureFile")
            .field("name", &self.name)
            .field("format", &self.format())
            .field("linktypes", &self.linktypes())
            .field("frames_read", &self.st.frames)
            .field("bytes_read", &self.bytes_read())
            .finish()
    }
}

impl CaptureFile {
    /// Opens a capture file and reads its header.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureFileError> {
        let f = File::open(path).map_err(|source| CaptureFileError::Open {
            path: path.display().to_string(),
            source,
        })?;
        CaptureFile::from_reader(Box::new(f), path.display().to_string())
    }

    /// Reads a capture from any byte stream (a pipe, stdin, memory); `name` is for messages.
    pub fn from_reader(
        r: Box<dyn Read + Send>,
        name: String,
    ) -> Result<CaptureFile, CaptureFileError> {
        let mut input = Input::new(r);
        input.fill(4)?;
        let head = input.data();
        let magic: [u8; 4] = match View(head).array(0) {
            Some(m) => m,
            None => {
                return Err(CaptureFileError::NotACapture {
                    name,
                    first_bytes: describe_bytes(head),
                })
            }
        };
        let pcap = |order: Endian, magic: Magic| Some((order, magic));
        let kind = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => pcap(Endian::Little, Magic::Standard),
            [0xa1, 0xb2, 0xc3, 0xd4] => pcap(Endian::Big, Magic::Standard),
            [0x4d, 0x3c, 0xb2, 0xa1] => pcap(Endian::Little, Magic::Nsec),
            [0xa1, 0xb2, 0x3c, 0x4d] => pcap(Endian::Big, Magic::Nsec),
            [0x34, 0xcd, 0xb2, 0xa1] => pcap(Endian::Little, Magic::Modified),
            [0xa1, 0xb2, 0xcd, 0x34] => pcap(Endian::Big, Magic::Modified),
            [0x0a, 0x0d, 0x0d, 0x0a] => None,
            _ => {
                let compressed = match magic {
                    [0x1f, 0x8b, _, _] => Some("gzip"),
                    [b'B', b'Z', b'h', _] => Some("bzip2"),
                    [0xfd, b'7', b'z', b'X'] => Some("xz"),
                    [0x28, 0xb5, 0x2f, 0xfd] => Some("zstd"),
                    _ => None,
                };
                if let Some(c) = compressed {
                    return Err(CaptureFileError::Unsupported {
                        name,
                        reason: format!("the file is {c}-compressed; decompress it first"),
                    });
                }
                return Err(CaptureFileError::NotACapture {
                    name,
                    first_bytes: describe_bytes(head),
                });
            }
        };
        let mut st = Counters::default();
        let (fmt, deferred) = match kind {
            Some((order, magic)) => (Fmt::Pcap(pcap::open(&mut input, order, magic)?), None),
            None => {
                let (ng, deferred) = pcapng::open(&mut input, &mut st, &name)?;
                (Fmt::Ng(ng), deferred)
            }
        };
        Ok(CaptureFile { name, input, fmt, st, done: false, deferred })
    }

    /// Next frame; `Ok(None)` at the clean end of the file. A damaged or cut-short record ends
    /// the file: `Err(CaptureFileError::Damaged{..})` once, then `Ok(None)` afterwards (any other
    /// error, e.g. I/O, also ends it).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureFileError> {
        if self.done {
            return Ok(None);
        }
        if let Some(e) = self.deferred.take() {
            self.done = true;
            return Err(e);
        }
        let step = match &mut self.fmt {
            Fmt::Pcap(p) => pcap::next(p, &mut self.input, &mut self.st),
            Fmt::Ng(ng) => loop {
                match pcapng::next(ng, &mut self.input, &mut self.st, false) {
                    Ok(Step::Again) => continue,
                    other => break other,
                }
            },
        };
        match step {
            Ok(Step::Frame(m)) => {
                self.st.frames += 1;
                let data = self.input.bytes_at(m.start, m.len);
                Ok(Some(Frame {
                    ts_ns: m.ts_ns,
                    wire_len: m.wire_len,
                    linktype: m.linktype,
                    iface: m.iface,
                    data,
                }))
            }
            Ok(_) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// "pcap", "pcap-nsec", "pcap-modified" (magic 0xa1b2cd34) or "pcapng".
    pub fn format(&self) -> &'static str {
        match &self.fmt {
            Fmt::Pcap(p) => match p.magic {
                Magic::Standard => "pcap",
                Magic::Nsec => "pcap-nsec",
                Magic::Modified => "pcap-modified",
            },
            Fmt::Ng(_) => "pcapng",
        }
    }

    /// Link type per interface seen so far: one for classic pcap; for pcapng one per Interface
    /// Description Block read so far, all sections, in file order (the header blocks before the
    /// first packet are read at open).
    pub fn linktypes(&self) -> Vec<u32> {
        match &self.fmt {
            Fmt::Pcap(p) => vec![p.linktype],
            Fmt::Ng(ng) => ng.all_linktypes.clone(),
        }
    }

    /// Bytes of the file consumed so far (for progress bars).
    pub fn bytes_read(&self) -> u64 {
        self.input.offset() + self.st.pending
    }

    /// Snapshot length: the pcap header's, or the first pcapng interface's (0 = none yet /
    /// unlimited).
    pub fn snaplen(&self) -> u32 {
        match &self.fmt {
            Fmt::Pcap(p) => p.snaplen,
            Fmt::Ng(ng) => ng.first_snaplen.unwrap_or(0),
        }
    }

    /// The name given at open.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.st.frames
    }

    /// pcapng packet blocks skipped because they name an interface not defined in their
    /// section (0 for classic pcap).
    pub fn skipped_blocks(&self) -> u64 {
        self.st.skipped_blocks
    }

    /// pcapng blocks of other types (name resolution, statistics, custom, ...) passed over.
    pub fn other_blocks(&self) -> u64 {
        match &self.fmt {
            Fmt::Pcap(_) => 0,
            Fmt::Ng(ng) => ng.other_blocks,
        }
    }

    /// pcapng sections seen so far (1 for classic pcap).
    pub fn sections(&self) -> u32 {
        match &self.fmt {
            Fmt::Pcap(_) => 1,
            Fmt::Ng(ng) => ng.sections,
        }
    }

    /// Record-header variant of a classic pcap file ("standard", "nsec", "ss990417",
    /// "ss990915", "ss991029", "nokia"); `None` for pcapng.
    pub fn pcap_variant(&self) -> Option<&'static str> {
        match &self.fmt {
            Fmt::Pcap(p) => Some(match p.variant {
                Variant::Standard => "standard",
                Variant::Nsec => "nsec",
                Variant::Ss990417 => "ss990417",
                Variant::Ss990915 => "ss990915",
                Variant::Ss991029 => "ss991029",
                Variant::Nokia => "nokia",
            }),
            Fmt::Ng(_) => None,
        }
    }
}

#[cfg(test)]
mod tests;
