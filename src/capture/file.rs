//! Capture files: a streaming reader for classic pcap (all magics and the old "modified" record
//! header variants) and pcapng (several sections, both byte orders, several interfaces with
//! different link types).
//!
//! Written for throughput and for hostile input:
//! - one big read buffer (1 MiB, grown only when a single record needs more); a [`Frame`] borrows
//!   its bytes straight from that buffer, so there is no copy and no allocation per frame;
//! - every length in the file is bounds-checked before use, nothing is indexed unchecked and
//!   nothing panics on any input;
//! - a damaged or cut-short record ends the file: [`CaptureFile::next_frame`] returns
//!   [`CaptureFileError::Damaged`] once (with the file offset of the bad record) and `Ok(None)`
//!   afterwards, after every good frame before it has been delivered.
//!
//! Behaviour follows Wireshark 4.0's reader (tshark is the reference the corpus truth was made
//! with) where it matters for the frames delivered: records with more than 262,144 captured bytes
//! are damage; for the standard pcap magic the record-header variant (standard, Red Hat
//! "ss990417" with 8 extra bytes, Nokia with 4 extra bytes) is guessed from the first two
//! records, for the "modified" magic (0xa1b2cd34) between ss991029 (8 extra bytes) and ss990915
//! (12 extra bytes); pcap versions before 2.4 get their swapped length fields fixed; a
//! fraction-of-second field >= 1 s carries into the seconds.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Largest captured length accepted for one frame (Wireshark's limit for network link types).
pub const MAX_CAPLEN: u32 = 262_144;

/// Mask applied to the link-type field of a classic pcap header (drops the FCS-length bits).
pub const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

const READ_BUF: usize = 1 << 20;
/// An Interface Description Block longer than this is treated as damage.
const MAX_IDB_LEN: u32 = 1 << 20;
/// A packet block longer than this (i.e. with megabytes of options next to at most 256 KiB of
/// data) is treated as damage. Packet blocks are buffered whole, so that a block cut short or
/// with a wrong trailing length is reported before its frame would be delivered.
const MAX_PACKET_BLOCK: u32 = 16 << 20;
const NS_PER_S: i128 = 1_000_000_000;

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 1;
const BT_PB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;

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

// ------------------------------------------------------------------------------------------
// byte helpers (never panic)

#[inline]
fn u16_at(b: &[u8], off: usize, be: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(if be { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) })
}

#[inline]
fn u32_at(b: &[u8], off: usize, be: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if be { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
}

#[inline]
fn u64_at(b: &[u8], off: usize, be: bool) -> Option<u64> {
    let a: [u8; 8] = b.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(if be { u64::from_be_bytes(a) } else { u64::from_le_bytes(a) })
}

#[inline]
fn pad4(n: u32) -> u64 {
    (u64::from(n) + 3) & !3
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
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

// ------------------------------------------------------------------------------------------
// buffered input with look-ahead

struct Input {
    r: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Next unconsumed byte.
    pos: usize,
    /// End of valid data.
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl Input {
    fn new(r: Box<dyn Read + Send>) -> Input {
        Input { r, buf: vec![0; READ_BUF], pos: 0, end: 0, base: 0, eof: false }
    }

    #[inline]
    fn avail(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    #[inline]
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The buffered, unconsumed bytes.
    #[inline]
    fn data(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or(&[])
    }

    /// Makes at least `n` bytes available; `Ok(false)` if the input ends first (whatever was
    /// there stays available).
    #[inline]
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.avail() >= n {
            Ok(true)
        } else {
            self.fill_slow(n)
        }
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<bool> {
        // Not enough room behind `pos`: move the unconsumed bytes to the front.
        if self.pos > 0 && self.pos.saturating_add(n) > self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.avail() < n {
            if self.eof {
                return Ok(false);
            }
            if self.end >= self.buf.len() {
                // Full of unconsumed data: grow geometrically, only as data actually arrives
                // (a bogus huge length in a tiny file never allocates much).
                let new_len = self.buf.len().max(4096).saturating_mul(2);
                self.buf.resize(new_len, 0);
            }
            let Some(tail) = self.buf.get_mut(self.end..) else {
                return Ok(false);
            };
            let room = tail.len();
            match self.r.read(tail) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k.min(room),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Consumes `n` bytes that are known to be buffered.
    #[inline]
    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.end);
    }

    /// Skips `n` bytes, buffered or not; `Ok(false)` if the input ends first.
    fn skip(&mut self, n: u64) -> io::Result<bool> {
        let avail = self.avail() as u64;
        if n <= avail {
            self.pos += n as usize;
            return Ok(true);
        }
        let mut left = n - avail;
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        while left > 0 {
            if self.eof {
                return Ok(false);
            }
            let room = self.buf.len();
            match self.r.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    let k = k.min(room) as u64;
                    if k <= left {
                        self.base += k;
                        left -= k;
                    } else {
                        self.end = k as usize;
                        self.pos = left as usize;
                        left = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

// ------------------------------------------------------------------------------------------
// format state

/// Record-header layouts of classic pcap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// 16-byte header, microseconds.
    Standard,
    /// 16-byte header, nanoseconds.
    Nsec,
    /// Red Hat 6.1 patch (standard magic): 24-byte header.
    Ss990417,
    /// SuSE 6.3 patch (modified magic): 28-byte header.
    Ss990915,
    /// Kuznetsov's patch (modified magic): 24-byte header.
    Ss991029,
    /// Nokia IPSO (standard magic): 20-byte header.
    Nokia,
}

impl Variant {
    fn hdr_len(self) -> usize {
        match self {
            Variant::Standard | Variant::Nsec => 16,
            Variant::Ss990417 | Variant::Ss991029 => 24,
            Variant::Ss990915 => 28,
            Variant::Nokia => 20,
        }
    }
}

/// pcap before 2.3 stored orig_len before incl_len; 2.3 files exist with both orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LenSwap {
    No,
    Yes,
    Maybe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Magic {
    Standard,
    Nsec,
    Modified,
}

struct PcapState {
    be: bool,
    magic: Magic,
    variant: Variant,
    swap: LenSwap,
    linktype: u32,
    snaplen: u32,
}

/// Record header fields (lengths already un-swapped).
struct RecHdr {
    ts_sec: u32,
    ts_frac: u32,
    incl: u32,
    orig: u32,
}

fn rec_hdr(b: &[u8], off: usize, be: bool, swap: LenSwap) -> Option<RecHdr> {
    let ts_sec = u32_at(b, off, be)?;
    let ts_frac = u32_at(b, off + 4, be)?;
    let mut incl = u32_at(b, off + 8, be)?;
    let mut orig = u32_at(b, off + 12, be)?;
    if swap == LenSwap::Yes || (swap == LenSwap::Maybe && incl > orig) {
        std::mem::swap(&mut incl, &mut orig);
    }
    Some(RecHdr { ts_sec, ts_frac, incl, orig })
}

/// Wireshark's "figure of merit" of one record header: 0 = plausible.
fn rec_merit(h: &RecHdr, snaplen: u32) -> u32 {
    u32::from(h.ts_frac >= 1_000_000)
        + u32::from(h.incl > MAX_CAPLEN)
        + u32::from(h.orig > 128 * 1024 * 1024)
        + u32::from(h.incl > snaplen)
        + u32::from(h.incl > h.orig)
}

/// Tries a record-header variant on the first two records (as Wireshark 4.0 does).
fn try_variant(b: &[u8], v: Variant, be: bool, swap: LenSwap, snaplen: u32) -> u32 {
    let hl = v.hdr_len();
    let Some(r1) = rec_hdr(b, 0, be, swap).filter(|_| b.len() >= hl) else {
        return 0; // end of file: nothing contradicts this variant
    };
    let m = rec_merit(&r1, snaplen);
    if m != 0 {
        return m;
    }
    let off2 = hl + r1.incl as usize;
    match rec_hdr(b, off2, be, swap).filter(|_| b.len() >= off2 + hl) {
        Some(r2) => rec_merit(&r2, snaplen),
        None => 0,
    }
}

fn choose_variant(
    b: &[u8],
    candidates: &[Variant],
    be: bool,
    swap: LenSwap,
    snaplen: u32,
) -> Variant {
    let mut best = (u32::MAX, Variant::Standard);
    for &v in candidates {
        let m = try_variant(b, v, be, swap, snaplen);
        if m == 0 {
            return v;
        }
        if m < best.0 {
            best = (m, v);
        }
    }
    best.1
}

/// Timestamp conversion of one pcapng interface.
#[derive(Debug, Clone, Copy)]
struct TsConv {
    /// Nanoseconds per unit when that is an integer (resolution 10^-k, k <= 9), else 0.
    mul: u64,
    /// Units per second.
    units: u64,
    /// if_tsoffset, seconds.
    offset_s: i64,
}

impl TsConv {
    const MICROS: TsConv = TsConv { mul: 1000, units: 1_000_000, offset_s: 0 };

    /// From an if_tsresol byte; `None` if the resolution cannot be represented (Wireshark
    /// rejects those too).
    fn from_tsresol(v: u8) -> Option<TsConv> {
        if v & 0x80 == 0 {
            let units = 10u64.checked_pow(u32::from(v))?;
            let mul = if v <= 9 { 10u64.pow(9 - u32::from(v)) } else { 0 };
            Some(TsConv { mul, units, offset_s: 0 })
        } else {
            let k = u32::from(v & 0x7f);
            let units = 1u64.checked_shl(k).filter(|_| k < 64)?;
            Some(TsConv { mul: if k == 0 { 1_000_000_000 } else { 0 }, units, offset_s: 0 })
        }
    }

    #[inline]
    fn to_ns(self, ts: u64) -> i64 {
        let ns = if self.mul != 0 {
            i128::from(ts) * i128::from(self.mul)
        } else {
            let u = i128::from(self.units.max(1));
            let t = i128::from(ts);
            (t / u) * NS_PER_S + (t % u) * NS_PER_S / u
        };
        if self.offset_s == 0 {
            clamp_i64(ns)
        } else {
            clamp_i64(ns + i128::from(self.offset_s) * NS_PER_S)
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    snaplen: u32,
    ts: TsConv,
}

struct NgState {
    be: bool,
    /// Interfaces of the current section.
    ifaces: Vec<Iface>,
    /// Link type of every IDB seen so far, all sections, in file order.
    all_linktypes: Vec<u32>,
    first_snaplen: Option<u32>,
    sections: u32,
    other_blocks: u64,
}

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

/// Where a frame sits in the read buffer.
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

fn pcap_next(
    p: &PcapState,
    input: &mut Input,
    st: &mut Counters,
) -> Result<Step, CaptureFileError> {
    settle_pending(input, st)?;
    let off = input.offset();
    let hl = p.variant.hdr_len();
    if !input.fill(hl)? {
        let have = input.avail();
        if have == 0 {
            return Ok(Step::End);
        }
        return Err(damaged(
            off,
            format!("the file ends inside a record header ({have} of {hl} bytes; cut short)"),
        ));
    }
    let Some(h) = rec_hdr(input.data(), 0, p.be, p.swap) else {
        return Err(damaged(off, "unreadable record header"));
    };
    if h.incl > MAX_CAPLEN {
        return Err(damaged(
            off,
            format!(
                "record header claims a {}-byte packet, more than the maximum of {MAX_CAPLEN} \
                 (original length {})",
                h.incl, h.orig
            ),
        ));
    }
    let total = hl + h.incl as usize;
    if !input.fill(total)? {
        let have = input.avail().saturating_sub(hl);
        return Err(damaged(
            off,
            format!(
                "the file ends inside a packet ({have} of {} bytes of data; cut short)",
                h.incl
            ),
        ));
    }
    let frac_ns =
        if p.variant == Variant::Nsec { i64::from(h.ts_frac) } else { i64::from(h.ts_frac) * 1000 };
    let ts_ns = i64::from(h.ts_sec) * 1_000_000_000 + frac_ns;
    st.pending = total as u64;
    st.pending_off = off;
    Ok(Step::Frame(Meta {
        start: input.pos + hl,
        len: h.incl as usize,
        ts_ns,
        wire_len: h.orig,
        linktype: p.linktype,
        iface: 0,
    }))
}

/// Parses an IDB held whole in `b` (block header included).
fn parse_idb(b: &[u8], blen: usize, be: bool) -> Result<Iface, String> {
    let linktype = u16_at(b, 8, be).ok_or("short interface description block")?;
    let snaplen = u32_at(b, 12, be).ok_or("short interface description block")?;
    let mut ts = TsConv::MICROS;
    let mut offset_s = 0i64;
    let opts = b.get(16..blen.saturating_sub(4)).unwrap_or(&[]);
    let mut o = 0usize;
    while let (Some(code), Some(len)) = (u16_at(opts, o, be), u16_at(opts, o + 2, be)) {
        if code == 0 {
            break;
        }
        let len = usize::from(len);
        let Some(val) = opts.get(o + 4..o + 4 + len) else {
            break; // option runs past the block: ignore the rest of the options
        };
        match (code, len) {
            (9, 1) => {
                let v = val.first().copied().unwrap_or(6);
                ts = TsConv::from_tsresol(v).ok_or_else(|| {
                    format!("interface has an unusable if_tsresol value {v:#04x}")
                })?;
            }
            (14, 8) => offset_s = u64_at(val, 0, be).map(|x| x as i64).unwrap_or(0),
            _ => {}
        }
        o += 4 + ((len + 3) & !3);
    }
    ts.offset_s = offset_s;
    Ok(Iface { linktype: u32::from(linktype), snaplen, ts })
}

fn ng_next(
    ng: &mut NgState,
    input: &mut Input,
    st: &mut Counters,
    prescan: bool,
) -> Result<Step, CaptureFileError> {
    settle_pending(input, st)?;
    let off = input.offset();
    if !input.fill(8)? {
        let have = input.avail();
        if have == 0 {
            return Ok(Step::End);
        }
        return Err(damaged(
            off,
            format!("the file ends inside a block header ({have} of 8 bytes; cut short)"),
        ));
    }
    let raw_type = u32_at(input.data(), 0, false).unwrap_or(0);
    if raw_type == BT_SHB {
        if !input.fill(12)? {
            return Err(damaged(off, "the file ends inside a section header (cut short)"));
        }
        match input.data().get(8..12) {
            Some([0x4d, 0x3c, 0x2b, 0x1a]) => ng.be = false,
            Some([0x1a, 0x2b, 0x3c, 0x4d]) => ng.be = true,
            _ => return Err(damaged(off, "section header with an unknown byte-order magic")),
        }
    }
    let be = ng.be;
    let btype = u32_at(input.data(), 0, be).unwrap_or(0);
    let blen = u32_at(input.data(), 4, be).unwrap_or(0);
    if blen < 12 || blen & 3 != 0 {
        return Err(damaged(
            off,
            format!(
                "block of type {btype:#x} has length {blen} (less than 12 or not a multiple of 4)"
            ),
        ));
    }
    st.pending_off = off;
    match btype {
        BT_SHB => {
            if blen < 28 {
                return Err(damaged(off, format!("section header of {blen} bytes, less than 28")));
            }
            if !input.fill(16)? {
                return Err(damaged(off, "the file ends inside a section header (cut short)"));
            }
            let major = u16_at(input.data(), 12, be).unwrap_or(0);
            let minor = u16_at(input.data(), 14, be).unwrap_or(0);
            if major != 1 {
                return Err(damaged(
                    off,
                    format!("section header of unsupported pcapng version {major}.{minor}"),
                ));
            }
            ng.ifaces.clear();
            ng.sections += 1;
            st.pending = u64::from(blen);
            Ok(Step::Again)
        }
        BT_IDB => {
            if blen < 20 {
                return Err(damaged(
                    off,
                    format!("interface description block of {blen} bytes, less than 20"),
                ));
            }
            if blen > MAX_IDB_LEN {
                return Err(damaged(
                    off,
                    format!("interface description block of {blen} bytes is implausibly large"),
                ));
            }
            let n = blen as usize;
            if !input.fill(n)? {
                return Err(damaged(
                    off,
                    "the file ends inside an interface description block (cut short)",
                ));
            }
            let b = input.data();
            check_trailer(b, n, blen, be, off)?;
            let iface = parse_idb(b, n, be).map_err(|r| damaged(off, r))?;
            ng.all_linktypes.push(iface.linktype);
            ng.first_snaplen.get_or_insert(iface.snaplen);
            ng.ifaces.push(iface);
            st.pending = u64::from(blen);
            Ok(Step::Again)
        }
        BT_EPB | BT_PB => {
            if prescan {
                return Ok(Step::AtPacket);
            }
            if blen < 32 {
                return Err(damaged(off, format!("packet block of {blen} bytes, less than 32")));
            }
            if !input.fill(28)? {
                return Err(damaged(off, "the file ends inside a packet block header (cut short)"));
            }
            let b = input.data();
            let iface_id = if btype == BT_EPB {
                u32_at(b, 8, be).unwrap_or(0)
            } else {
                u32::from(u16_at(b, 8, be).unwrap_or(0))
            };
            let ts_hi = u32_at(b, 12, be).unwrap_or(0);
            let ts_lo = u32_at(b, 16, be).unwrap_or(0);
            let caplen = u32_at(b, 20, be).unwrap_or(0);
            let wire_len = u32_at(b, 24, be).unwrap_or(0);
            if caplen > MAX_CAPLEN {
                return Err(damaged(
                    off,
                    format!("packet block claims {caplen} captured bytes, more than the maximum of {MAX_CAPLEN}"),
                ));
            }
            if 28 + pad4(caplen) + 4 > u64::from(blen) {
                return Err(damaged(
                    off,
                    format!("packet block of {blen} bytes is too small for {caplen} bytes of packet data"),
                ));
            }
            packet_block(
                ng,
                input,
                st,
                off,
                blen,
                iface_id,
                28,
                caplen,
                wire_len,
                Some((ts_hi, ts_lo)),
            )
        }
        BT_SPB => {
            if prescan {
                return Ok(Step::AtPacket);
            }
            if blen < 16 {
                return Err(damaged(
                    off,
                    format!("simple packet block of {blen} bytes, less than 16"),
                ));
            }
            if !input.fill(12)? {
                return Err(damaged(off, "the file ends inside a simple packet block (cut short)"));
            }
            let wire_len = u32_at(input.data(), 8, be).unwrap_or(0);
            let Some(i0) = ng.ifaces.first() else {
                st.skipped_blocks += 1;
                st.pending = u64::from(blen);
                return Ok(Step::Again);
            };
            let caplen = if i0.snaplen != 0 { wire_len.min(i0.snaplen) } else { wire_len };
            if caplen > MAX_CAPLEN {
                return Err(damaged(
                    off,
                    format!("simple packet block implies {caplen} captured bytes, more than the maximum of {MAX_CAPLEN}"),
                ));
            }
            if 12 + pad4(caplen) + 4 > u64::from(blen) {
                return Err(damaged(
                    off,
                    format!("simple packet block of {blen} bytes is too small for {caplen} bytes of packet data"),
                ));
            }
            packet_block(ng, input, st, off, blen, 0, 12, caplen, wire_len, None)
        }
        _ => {
            ng.other_blocks += 1;
            st.pending = u64::from(blen);
            Ok(Step::Again)
        }
    }
}

fn check_trailer(
    b: &[u8],
    n: usize,
    blen: u32,
    be: bool,
    off: u64,
) -> Result<(), CaptureFileError> {
    let tail = u32_at(b, n.saturating_sub(4), be).unwrap_or(0);
    if tail != blen {
        return Err(damaged(
            off,
            format!("block length fields disagree ({blen} at the start, {tail} at the end)"),
        ));
    }
    Ok(())
}

/// Common part of EPB/PB/SPB once the fixed header has been validated.
#[allow(clippy::too_many_arguments)]
fn packet_block(
    ng: &NgState,
    input: &mut Input,
    st: &mut Counters,
    off: u64,
    blen: u32,
    iface_id: u32,
    data_off: usize,
    caplen: u32,
    wire_len: u32,
    ts: Option<(u32, u32)>,
) -> Result<Step, CaptureFileError> {
    if blen > MAX_PACKET_BLOCK {
        return Err(damaged(
            off,
            format!(
                "packet block of {blen} bytes is implausibly large ({caplen} bytes of packet data)"
            ),
        ));
    }
    let need = blen as usize;
    if !input.fill(need)? {
        return Err(damaged(
            off,
            format!("the file ends inside a {blen}-byte packet block (cut short)"),
        ));
    }
    check_trailer(input.data(), need, blen, ng.be, off)?;
    st.pending = u64::from(blen);
    let Some(iface) = ng.ifaces.get(iface_id as usize) else {
        st.skipped_blocks += 1;
        return Ok(Step::Again);
    };
    let ts_ns = match ts {
        Some((hi, lo)) => iface.ts.to_ns((u64::from(hi) << 32) | u64::from(lo)),
        None => 0,
    };
    Ok(Step::Frame(Meta {
        start: input.pos + data_off,
        len: caplen as usize,
        ts_ns,
        wire_len,
        linktype: iface.linktype,
        iface: iface_id,
    }))
}

// ------------------------------------------------------------------------------------------
// the reader

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
        let magic: [u8; 4] = match head.get(..4).and_then(|m| m.try_into().ok()) {
            Some(m) => m,
            None => {
                return Err(CaptureFileError::NotACapture {
                    name,
                    first_bytes: describe_bytes(head),
                })
            }
        };
        let pcap = |be: bool, magic: Magic| Some((be, magic));
        let kind = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, Magic::Standard),
            [0xa1, 0xb2, 0xc3, 0xd4] => pcap(true, Magic::Standard),
            [0x4d, 0x3c, 0xb2, 0xa1] => pcap(false, Magic::Nsec),
            [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, Magic::Nsec),
            [0x34, 0xcd, 0xb2, 0xa1] => pcap(false, Magic::Modified),
            [0xa1, 0xb2, 0xcd, 0x34] => pcap(true, Magic::Modified),
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
        match kind {
            Some((be, magic)) => CaptureFile::open_pcap(input, name, be, magic),
            None => CaptureFile::open_pcapng(input, name),
        }
    }

    fn open_pcap(
        mut input: Input,
        name: String,
        be: bool,
        magic: Magic,
    ) -> Result<CaptureFile, CaptureFileError> {
        if !input.fill(24)? {
            return Err(damaged(
                0,
                format!("pcap file header cut short ({} of 24 bytes)", input.avail()),
            ));
        }
        let h = input.data();
        let major = u16_at(h, 4, be).unwrap_or(0);
        let minor = u16_at(h, 6, be).unwrap_or(0);
        let snaplen = u32_at(h, 16, be).unwrap_or(0);
        let network = u32_at(h, 20, be).unwrap_or(0);
        let swap = match (major, minor) {
            (2, m) if m < 3 => LenSwap::Yes,
            (2, 3) => LenSwap::Maybe,
            (543, _) => LenSwap::Yes,
            _ => LenSwap::No,
        };
        input.consume(24);
        let variant = match magic {
            Magic::Nsec => Variant::Nsec,
            Magic::Standard if swap != LenSwap::No => Variant::Standard,
            Magic::Standard | Magic::Modified => {
                // Look at the first two records (the buffer holds them; no seek needed).
                input.fill(2 * 28 + MAX_CAPLEN as usize)?;
                let candidates: &[Variant] = if magic == Magic::Standard {
                    &[Variant::Standard, Variant::Ss990417, Variant::Nokia]
                } else {
                    &[Variant::Ss991029, Variant::Ss990915]
                };
                choose_variant(input.data(), candidates, be, swap, snaplen)
            }
        };
        Ok(CaptureFile {
            name,
            input,
            fmt: Fmt::Pcap(PcapState {
                be,
                magic,
                variant,
                swap,
                linktype: network & LINKTYPE_MASK,
                snaplen,
            }),
            st: Counters::default(),
            done: false,
            deferred: None,
        })
    }

    fn open_pcapng(mut input: Input, name: String) -> Result<CaptureFile, CaptureFileError> {
        if !input.fill(12)? {
            return Err(damaged(0, "pcapng section header cut short"));
        }
        let be = match input.data().get(8..12) {
            Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
            Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
            _ => {
                return Err(CaptureFileError::NotACapture {
                    first_bytes: describe_bytes(input.data()),
                    name,
                })
            }
        };
        if input.fill(16)? {
            let major = u16_at(input.data(), 12, be).unwrap_or(0);
            let minor = u16_at(input.data(), 14, be).unwrap_or(0);
            if major != 1 {
                return Err(CaptureFileError::Unsupported {
                    name,
                    reason: format!("pcapng version {major}.{minor} (only 1.x is defined)"),
                });
            }
        }
        let mut cf = CaptureFile {
            name,
            input,
            fmt: Fmt::Ng(NgState {
                be,
                ifaces: Vec::new(),
                all_linktypes: Vec::new(),
                first_snaplen: None,
                sections: 0,
                other_blocks: 0,
            }),
            st: Counters::default(),
            done: false,
            deferred: None,
        };
        // Read the header blocks up to the first packet, so linktypes()/snaplen() are known
        // right after open. Errors are reported by the first next_frame().
        if let Fmt::Ng(ng) = &mut cf.fmt {
            loop {
                match ng_next(ng, &mut cf.input, &mut cf.st, true) {
                    Ok(Step::Again) => continue,
                    Ok(_) => break,
                    Err(CaptureFileError::Io(e)) => return Err(CaptureFileError::Io(e)),
                    Err(e) => {
                        cf.deferred = Some(e);
                        break;
                    }
                }
            }
        }
        Ok(cf)
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
            Fmt::Pcap(p) => pcap_next(p, &mut self.input, &mut self.st),
            Fmt::Ng(ng) => loop {
                match ng_next(ng, &mut self.input, &mut self.st, false) {
                    Ok(Step::Again) => continue,
                    other => break other,
                }
            },
        };
        match step {
            Ok(Step::Frame(m)) => {
                self.st.frames += 1;
                let data =
                    self.input.buf.get(m.start..m.start.saturating_add(m.len)).unwrap_or(&[]);
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
mod tests {
    use super::*;
    use serde_json::Value;
    use std::io::Cursor;
    use std::path::PathBuf;

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

    fn open_mem(bytes: Vec<u8>) -> Result<CaptureFile, CaptureFileError> {
        CaptureFile::from_reader(Box::new(Cursor::new(bytes)), "mem".to_string())
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Rec {
        ts_ns: i64,
        wire_len: u32,
        caplen: u32,
        linktype: u32,
        iface: u32,
        first: u8,
    }

    /// All frames, then the error that ended the file (if any). Asserts Ok(None) after it.
    fn drain(cf: &mut CaptureFile) -> (Vec<Rec>, Option<CaptureFileError>) {
        let mut out = Vec::new();
        let mut err = None;
        loop {
            match cf.next_frame() {
                Ok(Some(f)) => out.push(Rec {
                    ts_ns: f.ts_ns,
                    wire_len: f.wire_len,
                    caplen: f.data.len() as u32,
                    linktype: f.linktype,
                    iface: f.iface,
                    first: f.data.first().copied().unwrap_or(0),
                }),
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        for _ in 0..3 {
            assert!(matches!(cf.next_frame(), Ok(None)), "reader must stay ended");
        }
        (out, err)
    }

    fn tshark_ts_ns(s: &str) -> Option<i128> {
        let (sec, frac) = s.split_once('.')?;
        Some(sec.parse::<i128>().ok()? * 1_000_000_000 + frac.parse::<i128>().ok()?)
    }

    fn ts_string(ns: i64) -> String {
        format!("{}.{:09}", ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
    }

    // ---------------------------------------------------------------- builders

    fn pcap_file(
        magic: u32,
        be: bool,
        linktype: u32,
        recs: &[(u32, u32, u32, &[u8])],
        extra: usize,
    ) -> Vec<u8> {
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        let w16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        let mut v = Vec::new();
        w32(&mut v, magic);
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        for &(sec, frac, orig, data) in recs {
            w32(&mut v, sec);
            w32(&mut v, frac);
            w32(&mut v, data.len() as u32);
            w32(&mut v, orig);
            // plausible modified-header fields: ifindex 2, protocol 0x0800, pkt_type 0, pad
            if extra >= 8 {
                w32(&mut v, 2);
                w16(&mut v, 0x0800);
                v.extend_from_slice(&[0, 0]);
            }
            v.extend(std::iter::repeat_n(0, extra.saturating_sub(8)));
            v.extend_from_slice(data);
        }
        v
    }

    struct Ng {
        be: bool,
        v: Vec<u8>,
    }

    impl Ng {
        fn new(be: bool) -> Ng {
            let mut n = Ng { be, v: Vec::new() };
            n.shb(be);
            n
        }
        fn u32b(&self, x: u32) -> [u8; 4] {
            if self.be {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        }
        fn u16b(&self, x: u16) -> [u8; 2] {
            if self.be {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        }
        fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
            let total = 12 + ((body.len() + 3) & !3);
            let (t, l) = (self.u32b(btype), self.u32b(total as u32));
            self.v.extend_from_slice(&t);
            self.v.extend_from_slice(&l);
            self.v.extend_from_slice(body);
            self.v.resize(self.v.len() + (((body.len() + 3) & !3) - body.len()), 0);
            self.v.extend_from_slice(&l);
            self
        }
        fn shb(&mut self, be: bool) -> &mut Self {
            self.be = be;
            let mut b = Vec::new();
            b.extend_from_slice(&self.u32b(0x1A2B_3C4D));
            b.extend_from_slice(&self.u16b(1));
            b.extend_from_slice(&self.u16b(0));
            b.extend_from_slice(&[0xff; 8]);
            self.block(BT_SHB, &b)
        }
        fn idb(
            &mut self,
            linktype: u16,
            snaplen: u32,
            tsresol: Option<u8>,
            tsoffset: Option<i64>,
        ) -> &mut Self {
            let mut b = Vec::new();
            b.extend_from_slice(&self.u16b(linktype));
            b.extend_from_slice(&self.u16b(0));
            b.extend_from_slice(&self.u32b(snaplen));
            // a comment option first, to exercise option walking
            b.extend_from_slice(&self.u16b(1));
            b.extend_from_slice(&self.u16b(5));
            b.extend_from_slice(b"hello\0\0\0");
            if let Some(r) = tsresol {
                b.extend_from_slice(&self.u16b(9));
                b.extend_from_slice(&self.u16b(1));
                b.extend_from_slice(&[r, 0, 0, 0]);
            }
            if let Some(o) = tsoffset {
                b.extend_from_slice(&self.u16b(14));
                b.extend_from_slice(&self.u16b(8));
                let o = if self.be { o.to_be_bytes() } else { o.to_le_bytes() };
                b.extend_from_slice(&o);
            }
            b.extend_from_slice(&[0, 0, 0, 0]);
            self.block(BT_IDB, &b)
        }
        fn epb(&mut self, iface: u32, ts: u64, wire: u32, data: &[u8]) -> &mut Self {
            let mut b = Vec::new();
            b.extend_from_slice(&self.u32b(iface));
            b.extend_from_slice(&self.u32b((ts >> 32) as u32));
            b.extend_from_slice(&self.u32b(ts as u32));
            b.extend_from_slice(&self.u32b(data.len() as u32));
            b.extend_from_slice(&self.u32b(wire));
            b.extend_from_slice(data);
            b.resize((b.len() + 3) & !3, 0);
            // an epb_flags option
            b.extend_from_slice(&self.u16b(2));
            b.extend_from_slice(&self.u16b(4));
            b.extend_from_slice(&self.u32b(1));
            b.extend_from_slice(&[0, 0, 0, 0]);
            self.block(BT_EPB, &b)
        }
        fn pb(&mut self, iface: u16, ts: u64, wire: u32, data: &[u8]) -> &mut Self {
            let mut b = Vec::new();
            b.extend_from_slice(&self.u16b(iface));
            b.extend_from_slice(&self.u16b(0));
            b.extend_from_slice(&self.u32b((ts >> 32) as u32));
            b.extend_from_slice(&self.u32b(ts as u32));
            b.extend_from_slice(&self.u32b(data.len() as u32));
            b.extend_from_slice(&self.u32b(wire));
            b.extend_from_slice(data);
            self.block(BT_PB, &b)
        }
        fn spb(&mut self, wire: u32, data: &[u8]) -> &mut Self {
            let mut b = Vec::new();
            b.extend_from_slice(&self.u32b(wire));
            b.extend_from_slice(data);
            self.block(BT_SPB, &b)
        }
        fn bytes(&self) -> Vec<u8> {
            self.v.clone()
        }
    }

    // ---------------------------------------------------------------- classic pcap

    #[test]
    fn pcap_all_magics() {
        let d1: &[u8] = &[0x11; 60];
        let d2: &[u8] = &[0x22; 1514];
        let recs: &[(u32, u32, u32, &[u8])] =
            &[(1_335_203_348, 428_004, 60, d1), (1_335_203_349, 999_999, 9000, d2)];
        for (magic, be, name, frac_ns) in [
            (0xa1b2_c3d4u32, false, "pcap", 1000i64),
            (0xa1b2_c3d4, true, "pcap", 1000),
            (0xa1b2_3c4d, false, "pcap-nsec", 1),
            (0xa1b2_3c4d, true, "pcap-nsec", 1),
        ] {
            let mut cf = open_mem(pcap_file(magic, be, 0x1000_0001, recs, 0)).expect("open");
            assert_eq!(cf.format(), name);
            assert_eq!(cf.linktypes(), vec![1]);
            assert_eq!(cf.snaplen(), 65535);
            let (got, err) = drain(&mut cf);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].ts_ns, 1_335_203_348_000_000_000 + 428_004 * frac_ns);
            assert_eq!((got[0].wire_len, got[0].caplen, got[0].first), (60, 60, 0x11));
            assert_eq!(got[1].ts_ns, 1_335_203_349_000_000_000 + 999_999 * frac_ns);
            assert_eq!((got[1].wire_len, got[1].caplen, got[1].first), (9000, 1514, 0x22));
            assert_eq!(cf.bytes_read(), 24 + 16 * 2 + 60 + 1514);
        }
    }

    #[test]
    fn pcap_modified_magic() {
        let d: &[u8] = &[0x45; 40];
        let t = 1_600_000_000;
        let recs: &[(u32, u32, u32, &[u8])] =
            &[(t, 5, 40, d), (t + 1, 6, 40, d), (t + 2, 7, 40, d)];
        for be in [false, true] {
            let mut cf = open_mem(pcap_file(0xa1b2_cd34, be, 1, recs, 8)).expect("open");
            assert_eq!(cf.format(), "pcap-modified");
            assert_eq!(cf.pcap_variant(), Some("ss991029"));
            let (got, err) = drain(&mut cf);
            assert!(err.is_none());
            assert_eq!(got.len(), 3);
            assert_eq!(got[2].ts_ns, 1_600_000_002_000_007_000);
            assert!(got.iter().all(|r| r.caplen == 40 && r.first == 0x45));
        }
        // SuSE 6.3 flavour: 12 extra bytes (told apart by the implausible second record header
        // the 8-byte reading gives)
        let mut cf = open_mem(pcap_file(0xa1b2_cd34, false, 1, recs, 12)).expect("open");
        assert_eq!(cf.pcap_variant(), Some("ss990915"));
        let (got, err) = drain(&mut cf);
        assert!(err.is_none());
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn pcap_damaged_and_cut_short() {
        let d: &[u8] = &[1; 100];
        let good = pcap_file(0xa1b2_c3d4, false, 1, &[(1, 0, 100, d), (2, 0, 100, d)], 0);
        // every truncation: clean end at record boundaries, Damaged elsewhere
        for cut in 24..good.len() {
            let mut cf = open_mem(good[..cut].to_vec()).expect("open");
            let (got, err) = drain(&mut cf);
            let boundary = cut == 24 || cut == 140;
            assert_eq!(err.is_some(), !boundary, "cut at {cut}");
            assert_eq!(got.len(), usize::from(cut >= 140));
            if let Some(CaptureFileError::Damaged { offset, .. }) = err {
                assert_eq!(offset, if cut < 140 { 24 } else { 140 });
            }
        }
        // an oversized third record (the first two decide the record-header variant, as in
        // Wireshark, so damage there can make another variant look better)
        let t = 1_600_000_000;
        let mut bad =
            pcap_file(0xa1b2_c3d4, false, 1, &[(t, 0, 100, d), (t, 1, 100, d), (t, 2, 100, d)], 0);
        bad[256 + 8..256 + 12].copy_from_slice(&300_000u32.to_le_bytes());
        let mut cf = open_mem(bad).expect("open");
        assert_eq!(cf.pcap_variant(), Some("standard"));
        let (got, err) = drain(&mut cf);
        assert_eq!(got.len(), 2);
        match err {
            Some(CaptureFileError::Damaged { offset, reason }) => {
                assert_eq!(offset, 256);
                assert!(reason.contains("300000"), "{reason}");
            }
            other => panic!("expected Damaged, got {other:?}"),
        }
        // header cut short
        assert!(matches!(
            open_mem(good[..10].to_vec()),
            Err(CaptureFileError::Damaged { offset: 0, .. })
        ));
    }

    #[test]
    fn not_a_capture() {
        match open_mem(b"<!DOCTYPE html><html>".to_vec()) {
            Err(e @ CaptureFileError::NotACapture { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("3c 21 44 4f")
                        && msg.contains("<!DOCTYPE")
                        && msg.contains("pcapng"),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(open_mem(Vec::new()), Err(CaptureFileError::NotACapture { .. })));
        assert!(matches!(
            open_mem(vec![0x1f, 0x8b, 8, 0, 0]),
            Err(CaptureFileError::Unsupported { .. })
        ));
        assert!(matches!(
            CaptureFile::open(Path::new("/nonexistent/x.pcap")),
            Err(CaptureFileError::Open { .. })
        ));
    }

    // ---------------------------------------------------------------- pcapng

    #[test]
    fn pcapng_sections_interfaces_and_block_types() {
        let mut ng = Ng::new(false);
        ng.idb(1, 0, None, None) // usec
            .idb(113, 0, Some(9), Some(-10)) // nsec, offset -10 s
            .block(4, &[0, 0, 0, 0]) // NRB: skipped
            .epb(0, 1_700_000_000_123_456, 80, &[0xaa; 60])
            .epb(1, 1_700_000_000_123_456_789, 70, &[0xbb; 70])
            .epb(5, 0, 10, &[0; 10]) // undefined interface: skipped
            .block(5, &[0; 20]) // ISB
            .pb(0, 1_000_001, 33, &[0xcc; 33])
            .shb(true) // second section, big-endian: interface ids restart
            .spb(44, &[0xdd; 44]) // before any IDB: skipped
            .idb(101, 16, Some(0x80 | 20), Some(1)) // 2^-20 s, +1 s
            .epb(0, 3 << 20 | 1 << 19, 40, &[0xee; 16])
            .spb(44, &[0xdd; 44]) // caplen = snaplen 16
            .epb(1, 0, 1, &[0]); // iface 1 was in section 1 only: skipped
        let mut cf = open_mem(ng.bytes()).expect("open");
        assert_eq!(cf.format(), "pcapng");
        assert_eq!(cf.linktypes(), vec![1, 113], "IDBs before the first packet are read at open");
        assert_eq!(cf.snaplen(), 0);
        let (got, err) = drain(&mut cf);
        assert!(err.is_none(), "{err:?}");
        let want = [
            (1_700_000_000_123_456_000i64, 80u32, 60u32, 1u32, 0u32, 0xaau8),
            (1_700_000_000_123_456_789 - 10_000_000_000, 70, 70, 113, 1, 0xbb),
            (1_000_001_000, 33, 33, 1, 0, 0xcc),
            (4_500_000_000, 40, 16, 101, 0, 0xee),
            (0, 44, 16, 101, 0, 0xdd),
        ];
        let got: Vec<_> = got
            .iter()
            .map(|r| (r.ts_ns, r.wire_len, r.caplen, r.linktype, r.iface, r.first))
            .collect();
        assert_eq!(got, want);
        assert_eq!(cf.skipped_blocks(), 3);
        assert_eq!(cf.other_blocks(), 2);
        assert_eq!(cf.sections(), 2);
        assert_eq!(cf.linktypes(), vec![1, 113, 101]);
        assert_eq!(cf.bytes_read(), ng.v.len() as u64);
    }

    #[test]
    fn pcapng_tsresol_variants() {
        for (resol, ts, want) in [
            (0u8, 5u64, 5_000_000_000i64),
            (3, 1_234, 1_234_000_000),
            (12, 1_000_000_000_001_999, 1_000_000_000_001),
            (19, 10_000_000_000_000_000_000, 1_000_000_000),
            (0x80, 2, 2_000_000_000),
            (0x80 | 1, 3, 1_500_000_000),
            (0x80 | 40, 1 << 40, 1_000_000_000),
            (0x80 | 63, u64::MAX, 1_999_999_999),
        ] {
            let mut ng = Ng::new(false);
            ng.idb(1, 0, Some(resol), None).epb(0, ts, 1, &[1]);
            let mut cf = open_mem(ng.bytes()).expect("open");
            let (got, err) = drain(&mut cf);
            assert!(err.is_none(), "resol {resol:#x}: {err:?}");
            assert_eq!(got[0].ts_ns, want, "resol {resol:#x}");
        }
        // unusable resolution = damaged (as in Wireshark)
        let mut ng = Ng::new(false);
        ng.idb(1, 0, Some(20), None).epb(0, 1, 1, &[1]);
        let mut cf = open_mem(ng.bytes()).expect("open");
        assert!(
            matches!(drain(&mut cf), (v, Some(CaptureFileError::Damaged { .. })) if v.is_empty())
        );
    }

    #[test]
    fn pcapng_bad_block_lengths() {
        let mut ng = Ng::new(false);
        let shb_end = ng.v.len();
        ng.idb(1, 0, None, None);
        let idb_end = ng.v.len();
        ng.epb(0, 1, 4, &[1, 2, 3, 4]);
        let good = ng.bytes();
        let epb2 = good.len();
        ng.epb(0, 2, 4, &[5, 6, 7, 8]);
        let two = ng.bytes();
        for (len, what) in [
            (8u32, "< 12"),
            (30, "not multiple of 4"),
            (1 << 30, "past EOF"),
            (16, "too small for data"),
        ] {
            let mut v = two.clone();
            v[epb2 + 4..epb2 + 8].copy_from_slice(&len.to_le_bytes());
            let mut cf = open_mem(v).expect("open");
            let (got, err) = drain(&mut cf);
            assert_eq!(got.len(), 1, "{what}");
            match err {
                Some(CaptureFileError::Damaged { offset, .. }) => {
                    assert_eq!(offset, epb2 as u64, "{what}")
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        // trailing length mismatch
        let mut v = two.clone();
        let n = v.len();
        v[n - 4..].copy_from_slice(&12345u32.to_le_bytes());
        let (got, err) = drain(&mut open_mem(v).expect("open"));
        assert_eq!(got.len(), 1);
        assert!(matches!(err, Some(CaptureFileError::Damaged { .. })));
        // every truncation of a two-packet file
        for cut in 0..two.len() {
            let Ok(mut cf) = open_mem(two[..cut].to_vec()) else {
                assert!(cut < 12);
                continue;
            };
            let (got, err) = drain(&mut cf);
            let clean = [shb_end, idb_end, epb2].contains(&cut);
            assert_eq!(err.is_none(), clean, "cut at {cut}: {err:?}");
            assert_eq!(got.len(), usize::from(cut >= epb2), "cut at {cut}");
        }
        // bad byte-order magic
        let mut v = good.clone();
        v[8] = 0;
        assert!(matches!(open_mem(v), Err(CaptureFileError::NotACapture { .. })));
    }

    // ---------------------------------------------------------------- no panics

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Reads everything; counts frames. Must terminate and not panic.
    fn exercise(bytes: Vec<u8>) -> usize {
        let Ok(mut cf) = open_mem(bytes) else {
            return 0;
        };
        let _ = (cf.format(), cf.linktypes(), cf.snaplen());
        let mut n = 0;
        while let Ok(Some(f)) = cf.next_frame() {
            n += 1;
            let _ = f.data.iter().fold(0u8, |a, b| a ^ b);
            assert!(n < 1_000_000, "runaway");
        }
        assert!(matches!(cf.next_frame(), Ok(None)));
        n
    }

    #[test]
    fn fuzz_no_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let d: &[u8] = &[7; 50];
        let mut seeds: Vec<Vec<u8>> = vec![
            pcap_file(0xa1b2_c3d4, false, 1, &[(1, 2, 50, d), (3, 4, 60, d), (5, 6, 50, d)], 0),
            pcap_file(0xa1b2_3c4d, true, 1, &[(1, 2, 50, d), (3, 4, 60, d)], 0),
            pcap_file(0xa1b2_cd34, false, 1, &[(1, 2, 50, d), (3, 4, 60, d)], 8),
        ];
        let mut ng = Ng::new(false);
        ng.idb(1, 0, Some(9), Some(5))
            .epb(0, 1, 50, d)
            .spb(50, d)
            .pb(0, 3, 50, d)
            .shb(true)
            .idb(113, 20, Some(0x85), None)
            .epb(0, 9, 50, d);
        seeds.push(ng.bytes());
        // real captures too, when the corpus is there (small ones only)
        if let Ok(rd) = std::fs::read_dir(PathBuf::from(CORPUS).join("pcaps")) {
            let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            files.sort();
            for p in files {
                if let Ok(b) = std::fs::read(&p) {
                    if b.len() < 4096 {
                        seeds.push(b);
                    }
                }
            }
        }
        let magics: [&[u8]; 4] = [
            &[0xd4, 0xc3, 0xb2, 0xa1],
            &[0x4d, 0x3c, 0xb2, 0xa1],
            &[0xa1, 0xb2, 0xcd, 0x34],
            &[0x0a, 0x0d, 0x0d, 0x0a],
        ];
        for round in 0..4000 {
            let mut v = match round % 3 {
                0 => {
                    // random bytes behind a valid magic
                    let mut v = magics[rng.below(4)].to_vec();
                    if v[0] == 0x0a {
                        v.extend_from_slice(&[28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0]);
                    }
                    let n = rng.below(300);
                    v.extend((0..n).map(|_| rng.next() as u8));
                    v
                }
                _ => {
                    // mutate a seed: flip bytes, overwrite words with extreme values, truncate
                    let mut v = seeds[rng.below(seeds.len())].clone();
                    for _ in 0..1 + rng.below(6) {
                        if v.is_empty() {
                            break;
                        }
                        let i = rng.below(v.len());
                        match rng.below(3) {
                            0 => v[i] ^= 1 << rng.below(8),
                            1 => v[i] = rng.next() as u8,
                            _ => {
                                let w = [0u32, 0xffff_ffff, 0x8000_0000, 12, 13, 0x0004_0000]
                                    [rng.below(6)];
                                for (k, b) in w.to_le_bytes().iter().enumerate() {
                                    if let Some(x) = v.get_mut(i + k) {
                                        *x = *b;
                                    }
                                }
                            }
                        }
                    }
                    if rng.below(3) == 0 {
                        let n = rng.below(v.len() + 1);
                        v.truncate(n);
                    }
                    v
                }
            };
            if round % 97 == 0 {
                v.truncate(rng.below(40));
            }
            exercise(v);
        }
    }

    /// A reader that returns data in tiny random pieces and is interrupted now and then.
    struct Dribble(Vec<u8>, usize, XorShift);
    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.2.below(7) == 0 {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "x"));
            }
            let n = (1 + self.2.below(13)).min(buf.len()).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn short_reads_give_same_frames() {
        let d: &[u8] = &[3; 77];
        let mut ng = Ng::new(false);
        ng.idb(1, 0, None, None);
        for i in 0..200u64 {
            ng.epb(0, i, 77, &d[..(i % 77) as usize]).block(0x0BAD, &[0; 40]);
        }
        let bytes = ng.bytes();
        let (a, ea) = drain(&mut open_mem(bytes.clone()).expect("open"));
        let mut cf =
            CaptureFile::from_reader(Box::new(Dribble(bytes, 0, XorShift(42))), "dribble".into())
                .expect("open");
        let (b, eb) = drain(&mut cf);
        assert!(ea.is_none() && eb.is_none());
        assert_eq!(a.len(), 200);
        assert_eq!(a, b);
    }

    // ---------------------------------------------------------------- corpus vs tshark

    fn read_truth(name: &str) -> Option<(Vec<Value>, Value)> {
        let dir = PathBuf::from(CORPUS).join("truth");
        let jsonl = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).ok()?;
        let summary = std::fs::read_to_string(dir.join(format!("{name}.summary.json"))).ok()?;
        let frames = jsonl
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).expect("truth line"))
            .collect();
        Some((frames, serde_json::from_str(&summary).expect("summary")))
    }

    fn check_frame(name: &str, i: usize, got: &Rec, want: &Value, problems: &mut Vec<String>) {
        let ts = want["ts"].as_str().unwrap_or("");
        // tshark prints seconds and nanoseconds unnormalised ("1701999731.1011041000" for a
        // microsecond field of 1011041): compare the instant. A negative string comes from a
        // (fuzzed) fraction overflowing tshark's 32-bit nanosecond counter: nothing to compare.
        if !ts.starts_with('-') && tshark_ts_ns(ts) != Some(i128::from(got.ts_ns)) {
            problems.push(format!("{name} frame {}: ts {} != {ts}", i + 1, ts_string(got.ts_ns)));
        }
        if Some(u64::from(got.wire_len)) != want["len"].as_u64()
            || Some(u64::from(got.caplen)) != want["caplen"].as_u64()
        {
            problems.push(format!(
                "{name} frame {}: len/caplen {}/{} != {}/{}",
                i + 1,
                got.wire_len,
                got.caplen,
                want["len"],
                want["caplen"]
            ));
        }
        if Some(u64::from(got.iface)) != want["iface"].as_u64()
            || Some(u64::from(got.linktype)) != want["linktype"].as_u64()
        {
            problems.push(format!(
                "{name} frame {}: iface/linktype {}/{} != {}/{}",
                i + 1,
                got.iface,
                got.linktype,
                want["iface"],
                want["linktype"]
            ));
        }
    }

    #[test]
    fn corpus_matches_tshark() {
        let dir = PathBuf::from(CORPUS).join("pcaps");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            // the shared corpus is not part of this repository; nothing to compare against
            return;
        };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        let mut problems = Vec::new();
        let (mut n_files, mut n_frames, mut n_damaged) = (0, 0, 0);
        for path in &files {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            let Some((truth, summary)) = read_truth(&name) else {
                continue;
            };
            n_files += 1;
            let mut cf = match CaptureFile::open(path) {
                Ok(cf) => cf,
                Err(e) => {
                    problems.push(format!("{name}: open failed: {e}"));
                    continue;
                }
            };
            if summary["format"].as_str() != Some(cf.format()) {
                problems.push(format!("{name}: format {} != {}", cf.format(), summary["format"]));
            }
            let (got, err) = drain(&mut cf);
            n_frames += got.len();
            let stderr = summary["tshark_stderr"].as_str().unwrap_or("");
            let tshark_damaged = summary["error"].as_bool() == Some(true)
                && (stderr.contains("damaged") || stderr.contains("cut short"));
            if tshark_damaged {
                n_damaged += 1;
                if !matches!(err, Some(CaptureFileError::Damaged { .. })) {
                    problems.push(format!("{name}: tshark says damaged, we got {err:?}"));
                }
                if got.len() < truth.len() {
                    problems.push(format!(
                        "{name}: {} frames before the damage, tshark {}",
                        got.len(),
                        truth.len()
                    ));
                }
            } else {
                if let Some(e) = &err {
                    problems.push(format!("{name}: unexpected error {e}"));
                }
                // tshark gives up on link types it does not know (0 frames); we read them
                let unsupported = summary["error"].as_bool() == Some(true);
                if !unsupported && got.len() != truth.len() {
                    problems.push(format!("{name}: {} frames, tshark {}", got.len(), truth.len()));
                }
                let lts: Vec<u64> = cf.linktypes().iter().map(|&l| u64::from(l)).collect();
                let want_lts: Vec<u64> = summary["linktypes"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                if lts != want_lts {
                    problems.push(format!("{name}: linktypes {lts:?} != {want_lts:?}"));
                }
                if summary["snaplen"].as_u64() != Some(u64::from(cf.snaplen())) {
                    problems.push(format!(
                        "{name}: snaplen {} != {}",
                        cf.snaplen(),
                        summary["snaplen"]
                    ));
                }
            }
            // every frame tshark printed: timestamp, lengths; interface and link type too
            for (i, want) in truth.iter().enumerate() {
                if let Some(g) = got.get(i) {
                    check_frame(&name, i, g, want, &mut problems);
                }
            }
            if let (Some(first), Some(last)) = (truth.first(), truth.last()) {
                if summary["first_ts"] != first["ts"] || summary["last_ts"] != last["ts"] {
                    problems.push(format!("{name}: summary first/last ts disagree with the jsonl"));
                }
            }
        }
        assert!(n_files > 0 || files.is_empty(), "no truth files found");
        assert!(
            problems.is_empty(),
            "{} problems over {n_files} files ({n_frames} frames, {n_damaged} damaged):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
}
