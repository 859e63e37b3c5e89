//! Classic pcap: the file header, the record-header variants, and one record at a time.
//!
//! The variant heuristics are Wireshark 4.0's (tshark made the corpus truth): for the standard
//! magic the record header is guessed among standard, Red Hat "ss990417" (8 extra bytes) and
//! Nokia (4 extra bytes) from the first two records' "figure of merit"; for the "modified" magic
//! (0xa1b2cd34) between ss991029 (8 extra bytes) and ss990915 (12 extra bytes). Versions before
//! 2.3 store the two length fields the other way round (2.3 files exist with both orders, decided
//! per record). A record with more than [`MAX_CAPLEN`] captured bytes is damage.

use super::input::Input;
use super::{damaged, CaptureFileError, Meta, Step, LINKTYPE_MASK, MAX_CAPLEN};
use super::{settle_pending, Counters};
use crate::bytes::{Endian, View};

/// Record-header layouts of classic pcap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
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
pub(super) enum Magic {
    Standard,
    Nsec,
    Modified,
}

/// What the file header decided, for every record after it.
pub(super) struct PcapState {
    order: Endian,
    pub magic: Magic,
    pub variant: Variant,
    swap: LenSwap,
    pub linktype: u32,
    pub snaplen: u32,
}

/// Record header fields (lengths already un-swapped).
struct RecHdr {
    ts_sec: u32,
    ts_frac: u32,
    incl: u32,
    orig: u32,
}

fn rec_hdr(b: &[u8], off: usize, order: Endian, swap: LenSwap) -> Option<RecHdr> {
    let ts_sec = View(b).u32_in(off, order)?;
    let ts_frac = View(b).u32_in(off + 4, order)?;
    let mut incl = View(b).u32_in(off + 8, order)?;
    let mut orig = View(b).u32_in(off + 12, order)?;
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
fn try_variant(b: &[u8], v: Variant, order: Endian, swap: LenSwap, snaplen: u32) -> u32 {
    let hl = v.hdr_len();
    let Some(r1) = rec_hdr(b, 0, order, swap).filter(|_| b.len() >= hl) else {
        return 0; // end of file: nothing contradicts this variant
    };
    let m = rec_merit(&r1, snaplen);
    if m != 0 {
        return m;
    }
    let off2 = hl + r1.incl as usize;
    match rec_hdr(b, off2, order, swap).filter(|_| b.len() >= off2 + hl) {
        Some(r2) => rec_merit(&r2, snaplen),
        None => 0,
    }
}

fn choose_variant(
    b: &[u8],
    candidates: &[Variant],
    order: Endian,
    swap: LenSwap,
    snaplen: u32,
) -> Variant {
    let mut best = (u32::MAX, Variant::Standard);
    for &v in candidates {
        let m = try_variant(b, v, order, swap, snaplen);
        if m == 0 {
            return v;
        }
        if m < best.0 {
            best = (m, v);
        }
    }
    best.1
}

/// Reads the 24-byte file header (after the magic was recognised) and settles the record-header
/// variant from the first two records, which the buffer holds (no seek needed).
pub(super) fn open(
    input: &mut Input,
    order: Endian,
    magic: Magic,
) -> Result<PcapState, CaptureFileError> {
    if !input.fill(24)? {
        return Err(damaged(
            0,
            format!("pcap file header cut short ({} of 24 bytes)", input.avail()),
        ));
    }
    let h = View(input.data());
    let major = h.u16_in(4, order).unwrap_or(0);
    let minor = h.u16_in(6, order).unwrap_or(0);
    let snaplen = h.u32_in(16, order).unwrap_or(0);
    let network = h.u32_in(20, order).unwrap_or(0);
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
            input.fill(2 * 28 + MAX_CAPLEN as usize)?;
            let candidates: &[Variant] = if magic == Magic::Standard {
                &[Variant::Standard, Variant::Ss990417, Variant::Nokia]
            } else {
                &[Variant::Ss991029, Variant::Ss990915]
            };
            choose_variant(input.data(), candidates, order, swap, snaplen)
        }
    };
    Ok(PcapState { order, magic, variant, swap, linktype: network & LINKTYPE_MASK, snaplen })
}

pub(super) fn next(
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
    let Some(h) = rec_hdr(input.data(), 0, p.order, p.swap) else {
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
        start: input.pos() + hl,
        len: h.incl as usize,
        ts_ns,
        wire_len: h.orig,
        linktype: p.linktype,
        iface: 0,
    }))
}
