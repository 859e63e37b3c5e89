//! Pure QUIC parsing (RFC 9000 sections 12.4, 16, 17 and 19; RFC 9369 section 3.2): one packet
//! of a datagram (long headers with their Length, so coalesced packets split; a short header
//! takes the rest of the datagram), variable-length integers, and the frames of a decrypted
//! Initial or Handshake payload. `Incomplete` (the bytes stop early) is never `Malformed`.

use super::crypto::{known_version, V2};
use crate::bytes::ParseError;

const CUT: ParseError = ParseError::Incomplete;

/// A variable-length integer at `at`: its value and the bytes it took.
pub fn varint(b: &[u8], at: usize) -> Result<(u64, usize), ParseError> {
    let first = *b.get(at).ok_or(CUT)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(at..at + len).ok_or(CUT)?;
    let mut v = u64::from(first & 0x3f);
    for x in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(*x);
    }
    Ok((v, len))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// The long packet type from the two type bits of the first byte (v2 permutes them).
pub fn long_type(version: u32, bits: u8) -> LongType {
    let v1 = [LongType::Initial, LongType::ZeroRtt, LongType::Handshake, LongType::Retry];
    let v2 = [LongType::Retry, LongType::Initial, LongType::ZeroRtt, LongType::Handshake];
    let table = if version == V2 { v2 } else { v1 };
    table[usize::from(bits & 3)]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// Initial, 0-RTT or Handshake: packet number at `pn_offset`, the packet ends at `len`.
    Protected { kind: LongType, token: &'a [u8], pn_offset: usize },
    /// Retry: the token (without the 16-byte integrity tag).
    Retry { token: &'a [u8] },
    /// Version Negotiation: the versions the server offers.
    VersionNegotiation(Vec<u32>),
    /// A version whose packet layout is not known: the rest of the datagram.
    UnknownVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongHeader<'a> {
    pub version: u32,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    pub kind: Kind<'a>,
    /// Bytes of the packet (from its first byte).
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    Long(LongHeader<'a>),
    /// A short-header (1-RTT) packet: the rest of the datagram.
    Short,
}

fn cid(b: &[u8], at: usize) -> Result<(&[u8], usize), ParseError> {
    let n = usize::from(*b.get(at).ok_or(CUT)?);
    if n > 20 {
        return Err(ParseError::Malformed("connection ID longer than 20 bytes"));
    }
    Ok((b.get(at + 1..at + 1 + n).ok_or(CUT)?, at + 1 + n))
}

/// The first packet of `b` (a datagram or what follows a coalesced packet).
pub fn parse_packet(b: &[u8]) -> Result<Packet<'_>, ParseError> {
    let b0 = *b.first().ok_or(CUT)?;
    if b0 & 0x80 == 0 {
        return Ok(Packet::Short);
    }
    let version = u32::from_be_bytes(b.get(1..5).ok_or(CUT)?.try_into().map_err(|_| CUT)?);
    let (dcid, at) = cid(b, 5)?;
    if version == 0 {
        // Version Negotiation: the connection IDs are up to 255 bytes in any version.
        let scid_len = usize::from(*b.get(at).ok_or(CUT)?);
        let scid = b.get(at + 1..at + 1 + scid_len).ok_or(CUT)?;
        let list = b.get(at + 1 + scid_len..).unwrap_or_default();
        if list.is_empty() {
            return Err(CUT);
        }
        if list.len() % 4 != 0 {
            return Err(ParseError::Malformed("version negotiation list not a multiple of 4"));
        }
        let versions = list
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        return Ok(Packet::Long(LongHeader {
            version,
            dcid,
            scid,
            kind: Kind::VersionNegotiation(versions),
            len: b.len(),
        }));
    }
    let (scid, at) = cid(b, at)?;
    if !known_version(version) {
        return Ok(Packet::Long(LongHeader {
            version,
            dcid,
            scid,
            kind: Kind::UnknownVersion,
            len: b.len(),
        }));
    }
    if b0 & 0x40 == 0 {
        return Err(ParseError::Malformed("fixed bit not set"));
    }
    let kind = long_type(version, b0 >> 4);
    if kind == LongType::Retry {
        if b.len() < at + 16 {
            return Err(CUT);
        }
        let token = b.get(at..b.len() - 16).unwrap_or_default();
        return Ok(Packet::Long(LongHeader {
            version,
            dcid,
            scid,
            kind: Kind::Retry { token },
            len: b.len(),
        }));
    }
    let (mut at, mut token) = (at, &b[..0]);
    if kind == LongType::Initial {
        let (n, used) = varint(b, at)?;
        let n = usize::try_from(n).map_err(|_| ParseError::Malformed("token length"))?;
        token = b.get(at + used..(at + used).saturating_add(n)).ok_or(CUT)?;
        at += used + n;
    }
    let (length, used) = varint(b, at)?;
    let pn_offset = at + used;
    let length = usize::try_from(length).map_err(|_| ParseError::Malformed("packet length"))?;
    let len = pn_offset.checked_add(length).ok_or(ParseError::Malformed("packet length"))?;
    if length < 20 {
        return Err(ParseError::Malformed("packet shorter than the protection needs"));
    }
    if b.len() < len {
        return Err(CUT);
    }
    Ok(Packet::Long(LongHeader {
        version,
        dcid,
        scid,
        kind: Kind::Protected { kind, token, pn_offset },
        len,
    }))
}

/// Version, DCID and SCID of a client Initial whose bytes stop early (a capture's snap length):
/// enough to derive the keys of the server's Initial.
pub fn initial_prefix(b: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    let b0 = *b.first()?;
    let version = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?);
    if b0 & 0xc0 != 0xc0 || !known_version(version) {
        return None;
    }
    if long_type(version, b0 >> 4) != LongType::Initial {
        return None;
    }
    let (dcid, at) = cid(b, 5).ok()?;
    let (scid, _) = cid(b, at).ok()?;
    Some((version, dcid, scid))
}

/// A frame of an Initial or Handshake payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    Padding,
    Ping,
    Ack { largest: u64 },
    Crypto { offset: u64, data: &'a [u8] },
    ConnectionClose { code: u64, application: bool, reason: &'a [u8] },
}

/// The frames of a decrypted Initial or Handshake payload (only the types allowed there,
/// RFC 9000 table 3); any other type is malformed.
pub fn parse_frames(b: &[u8]) -> Result<Vec<Frame<'_>>, ParseError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let (t, used) = varint(b, at)?;
        at += used;
        match t {
            0x00 => {
                // A run of padding is one frame.
                while b.get(at) == Some(&0) {
                    at += 1;
                }
                out.push(Frame::Padding);
            }
            0x01 => out.push(Frame::Ping),
            0x02 | 0x03 => {
                let mut v = [0u64; 4];
                for x in &mut v {
                    let (n, used) = varint(b, at)?;
                    *x = n;
                    at += used;
                }
                let [largest, _delay, ranges, _first] = v;
                for _ in 0..ranges.saturating_mul(2) {
                    let (_, used) = varint(b, at)?;
                    at += used;
                }
                if t == 0x03 {
                    for _ in 0..3 {
                        let (_, used) = varint(b, at)?;
                        at += used;
                    }
                }
                out.push(Frame::Ack { largest });
            }
            0x06 => {
                let (offset, used) = varint(b, at)?;
                at += used;
                let (len, used) = varint(b, at)?;
                at += used;
                let len = usize::try_from(len).map_err(|_| ParseError::Malformed("crypto"))?;
                let data = b.get(at..at.saturating_add(len)).ok_or(CUT)?;
                at += len;
                out.push(Frame::Crypto { offset, data });
            }
            0x1c | 0x1d => {
                let (code, used) = varint(b, at)?;
                at += used;
                if t == 0x1c {
                    let (_, used) = varint(b, at)?;
                    at += used;
                }
                let (len, used) = varint(b, at)?;
                at += used;
                let len = usize::try_from(len).map_err(|_| ParseError::Malformed("reason"))?;
                let reason = b.get(at..at.saturating_add(len)).ok_or(CUT)?;
                at += len;
                out.push(Frame::ConnectionClose { code, application: t == 0x1d, reason });
            }
            _ => return Err(ParseError::Malformed("frame type not allowed in Initial/Handshake")),
        }
    }
    Ok(out)
}

/// Content probe: a long-header Initial of a known version (its fixed bit set and connection
/// IDs of at most 20 bytes) from the client, or a Version Negotiation from the server.
pub fn probe(dir: super::super::Dir, b: &[u8]) -> bool {
    let Some(&b0) = b.first() else { return false };
    let Some(version) = b.get(1..5).and_then(|v| v.try_into().ok()).map(u32::from_be_bytes) else {
        return false;
    };
    if b0 & 0x80 == 0 {
        return false;
    }
    match parse_packet(b) {
        Ok(Packet::Long(h)) => match h.kind {
            Kind::Protected { kind: LongType::Initial, .. } => {
                dir == super::super::Dir::ToServer && b.len() >= 1200 && known_version(version)
            }
            Kind::VersionNegotiation(v) => dir == super::super::Dir::ToClient && !v.is_empty(),
            _ => false,
        },
        _ => false,
    }
}
