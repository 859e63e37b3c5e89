//! Pure TLS framing: record headers and whole records, handshake messages inside reassembled
//! handshake bytes, and the content probe. Bytes in, values out, through `crate::bytes`.

use crate::bytes::{Cursor, ParseError};

/// Largest record a peer may send (2^14 + 2048, RFC 5246 6.2.3); longer ones are flagged.
pub(super) const MAX_RECORD: usize = 16384 + 2048;
/// Alerts, anomaly flags and certificates kept per session.
pub(super) const MAX_ALERTS: usize = 16;
pub(super) const MAX_ANOMALIES: usize = 16;
pub(super) const MAX_CERTS: usize = 16;
/// Handshake message types of the IANA registry that can appear in plaintext.
pub(super) const KNOWN_HANDSHAKE_TYPES: &[u8] =
    &[0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 67, 254];

/// Content check for flows on other ports: a handshake record (0x16 0x03 0x00..=0x04) with a
/// plausible length holding a ClientHello or ServerHello, or an SSLv2 ClientHello.
pub fn looks_like_tls(b: &[u8]) -> bool {
    match b {
        [0x16, 0x03, minor, rest @ ..] if *minor <= 4 => match rest {
            [h, l, typ, ..] => {
                let len = usize::from(u16::from_be_bytes([*h, *l]));
                (4..=MAX_RECORD).contains(&len) && matches!(typ, 1 | 2)
            }
            [h, l] => (4..=MAX_RECORD).contains(&usize::from(u16::from_be_bytes([*h, *l]))),
            _ => true,
        },
        [h0, h1, 1, major, minor, ..] if h0 & 0x80 != 0 => {
            let len = (usize::from(h0 & 0x7f) << 8) | usize::from(*h1);
            len >= 9 && matches!((major, minor), (0, 2) | (3, 0..=4))
        }
        _ => false,
    }
}

/// The header of the record at the start of `buf`: (content type, body length). Content types
/// 20..=24 (ChangeCipherSpec, Alert, Handshake, ApplicationData, Heartbeat) and major version 3.
pub fn record_header(buf: &[u8]) -> Result<(u8, usize), ParseError> {
    let Ok((_, hdr)) = tls_parser::parse_tls_record_header(buf) else {
        return Err(match buf {
            [ct, ..] if !(20..=24).contains(ct) => ParseError::Malformed("record type"),
            [_, major, ..] if *major != 3 => ParseError::Malformed("record version"),
            _ => ParseError::Incomplete,
        });
    };
    if !(20..=24).contains(&hdr.record_type.0) {
        return Err(ParseError::Malformed("record type"));
    }
    if hdr.version.0 >> 8 != 3 {
        return Err(ParseError::Malformed("record version"));
    }
    Ok((hdr.record_type.0, usize::from(hdr.len)))
}

/// One whole record at the start of `buf`: (content type, body, bytes used).
pub fn parse_record(buf: &[u8]) -> Result<(u8, &[u8], usize), ParseError> {
    let (ct, len) = record_header(buf)?;
    let body = buf.get(5..5 + len).ok_or(ParseError::Incomplete)?;
    Ok((ct, body, 5 + len))
}

/// One whole handshake message at the start of reassembled handshake bytes:
/// (type, body, bytes used).
pub fn parse_handshake(buf: &[u8]) -> Result<(u8, &[u8], usize), ParseError> {
    let mut r = Cursor::new(buf);
    let (Some(typ), Some(len)) = (r.u8(), r.u24()) else { return Err(ParseError::Incomplete) };
    let body = r.take(len as usize).ok_or(ParseError::Incomplete)?;
    Ok((typ, body, 4 + len as usize))
}
