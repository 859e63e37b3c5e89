//! pcapng: sections in either byte order, interfaces with their own link type, snapshot length
//! and timestamp resolution, and the three packet block types (EPB, PB, SPB).
//!
//! Several sections and, within one, interfaces of different link types are kept apart: a frame
//! carries its interface's link type, so one file may mix Ethernet and SLL. A packet block is
//! buffered whole, so one cut short or with a wrong trailing length is reported before its frame
//! would be delivered; blocks of other types are skipped unread. Packet blocks naming an
//! interface not defined in their section are skipped and counted. Timestamp conversion follows
//! if_tsresol (powers of 10 and of 2) and if_tsoffset; resolutions Wireshark rejects are damage.

use super::input::Input;
use super::MAX_CAPLEN;
use super::{damaged, describe_bytes, settle_pending, CaptureFileError, Counters, Meta, Step};
use crate::bytes::{Endian, View};

/// An Interface Description Block longer than this is treated as damage.
const MAX_IDB_LEN: u32 = 1 << 20;
/// A packet block longer than this (i.e. with megabytes of options next to at most 256 KiB of
/// data) is treated as damage. Packet blocks are buffered whole, so that a block cut short or
/// with a wrong trailing length is reported before its frame would be delivered.
const MAX_PACKET_BLOCK: u32 = 16 << 20;
const NS_PER_S: i128 = 1_000_000_000;

pub(super) const BT_SHB: u32 = 0x0A0D_0D0A;
pub(super) const BT_IDB: u32 = 1;
pub(super) const BT_PB: u32 = 2;
pub(super) const BT_SPB: u32 = 3;
pub(super) const BT_EPB: u32 = 6;

#[inline]
fn pad4(n: u32) -> u64 {
    (u64::from(n) + 3) & !3
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

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

pub(super) struct NgState {
    order: Endian,
    /// Interfaces of the current section.
    ifaces: Vec<Iface>,
    /// Link type of every IDB seen so far, all sections, in file order.
    pub all_linktypes: Vec<u32>,
    pub first_snaplen: Option<u32>,
    pub sections: u32,
    pub other_blocks: u64,
}

/// Checks the Section Header Block's byte-order magic and version, then reads the header blocks
/// up to the first packet, so the link types and snapshot length are known right after open.
/// An error in those blocks (other than I/O) is returned beside the state, for the first
/// `next_frame` to report (opening itself succeeds).
pub(super) fn open(
    input: &mut Input,
    st: &mut Counters,
    name: &str,
) -> Result<(NgState, Option<CaptureFileError>), CaptureFileError> {
    if !input.fill(12)? {
        return Err(damaged(0, "pcapng section header cut short"));
    }
    let order = match View(input.data()).array::<4>(8) {
        Some([0x4d, 0x3c, 0x2b, 0x1a]) => Endian::Little,
        Some([0x1a, 0x2b, 0x3c, 0x4d]) => Endian::Big,
        _ => {
            return Err(CaptureFileError::NotACapture {
                first_bytes: describe_bytes(input.data()),
                name: name.to_string(),
            })
        }
    };
    if input.fill(16)? {
        let major = View(input.data()).u16_in(12, order).unwrap_or(0);
        let minor = View(input.data()).u16_in(14, order).unwrap_or(0);
        if major != 1 {
            return Err(CaptureFileError::Unsupported {
                name: name.to_string(),
                reason: format!("pcapng version {major}.{minor} (only 1.x is defined)"),
            });
        }
    }
    let mut ng = NgState {
        order,
        ifaces: Vec::new(),
        all_linktypes: Vec::new(),
        first_snaplen: None,
        sections: 0,
        other_blocks: 0,
    };
    loop {
        match next(&mut ng, input, st, true) {
            Ok(Step::Again) => continue,
            Ok(_) => return Ok((ng, None)),
            Err(CaptureFileError::Io(e)) => return Err(CaptureFileError::Io(e)),
            Err(e) => return Ok((ng, Some(e))),
        }
    }
}

/// Parses an IDB held whole in `b` (block header included).
fn parse_idb(b: &[u8], blen: usize, order: Endian) -> Result<Iface, String> {
    let linktype = View(b).u16_in(8, order).ok_or("short interface description block")?;
    let snaplen = View(b).u32_in(12, order).ok_or("short interface description block")?;
    let mut ts = TsConv::MICROS;
    let mut offset_s = 0i64;
    let opts = b.get(16..blen.saturating_sub(4)).unwrap_or(&[]);
    let mut o = 0usize;
    while let (Some(code), Some(len)) =
        (View(opts).u16_in(o, order), View(opts).u16_in(o + 2, order))
    {
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
            (14, 8) => offset_s = View(val).u64_in(0, order).map(|x| x as i64).unwrap_or(0),
            _ => {}
        }
        o += 4 + ((len + 3) & !3);
    }
    ts.offset_s = offset_s;
    Ok(Iface { linktype: u32::from(linktype), snaplen, ts })
}

pub(super) fn next(
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
    let raw_type = View(input.data()).u32_le(0).unwrap_or(0);
    if raw_type == BT_SHB {
        if !input.fill(12)? {
            return Err(damaged(off, "the file ends inside a section header (cut short)"));
        }
        match View(input.data()).array::<4>(8) {
            Some([0x4d, 0x3c, 0x2b, 0x1a]) => ng.order = Endian::Little,
            Some([0x1a, 0x2b, 0x3c, 0x4d]) => ng.order = Endian::Big,
            _ => return Err(damaged(off, "section header with an unknown byte-order magic")),
        }
    }
    let order = ng.order;
    let btype = View(input.data()).u32_in(0, order).unwrap_or(0);
    let blen = View(input.data()).u32_in(4, order).unwrap_or(0);
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
            let major = View(input.data()).u16_in(12, order).unwrap_or(0);
            let minor = View(input.data()).u16_in(14, order).unwrap_or(0);
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
            check_trailer(b, n, blen, order, off)?;
            let iface = parse_idb(b, n, order).map_err(|r| damaged(off, r))?;
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
                View(b).u32_in(8, order).unwrap_or(0)
            } else {
                u32::from(View(b).u16_in(8, order).unwrap_or(0))
            };
            let ts_hi = View(b).u32_in(12, order).unwrap_or(0);
            let ts_lo = View(b).u32_in(16, order).unwrap_or(0);
            let caplen = View(b).u32_in(20, order).unwrap_or(0);
            let wire_len = View(b).u32_in(24, order).unwrap_or(0);
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
            let wire_len = View(input.data()).u32_in(8, order).unwrap_or(0);
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
    order: Endian,
    off: u64,
) -> Result<(), CaptureFileError> {
    let tail = View(b).u32_in(n.saturating_sub(4), order).unwrap_or(0);
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
    check_trailer(input.data(), need, blen, ng.order, off)?;
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
        start: input.pos() + data_off,
        len: caplen as usize,
        ts_ns,
        wire_len,
        linktype: iface.linktype,
        iface: iface_id,
    }))
}
