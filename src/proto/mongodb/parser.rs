//! Pure parser of the MongoDB wire protocol: the 16-byte header (length, requestID,
//! responseTo, opCode, little-endian) framing every message, and the body of each opcode:
//! OP_MSG (flag bits, section kind 0 body and kind 1 document sequences, optional CRC-32C),
//! the legacy OP_QUERY / OP_REPLY / OP_INSERT / OP_UPDATE / OP_DELETE / OP_GET_MORE /
//! OP_KILL_CURSORS, and OP_COMPRESSED (noop and zlib bodies are opened; snappy and zstd are
//! named, not decoded). Documents stay borrowed ([`bson::Doc`]).

use super::bson::{self, Doc};
use crate::bytes::{ParseError, View};

pub const OP_REPLY: i32 = 1;
pub const OP_UPDATE: i32 = 2001;
pub const OP_INSERT: i32 = 2002;
pub const OP_QUERY: i32 = 2004;
pub const OP_GET_MORE: i32 = 2005;
pub const OP_DELETE: i32 = 2006;
pub const OP_KILL_CURSORS: i32 = 2007;
pub const OP_COMPRESSED: i32 = 2012;
pub const OP_MSG: i32 = 2013;

/// OP_MSG flag bits.
pub const CHECKSUM_PRESENT: u32 = 1;
pub const MORE_TO_COME: u32 = 2;

/// Largest message a server accepts (`maxMessageSizeBytes`, 48 000 000).
pub const MAX_MESSAGE_BYTES: usize = 48_000_000;

/// Documents of one OP_MSG document sequence or one legacy message listed at most; more are
/// counted.
pub const MAX_DOCS: usize = 1000;

/// The message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub length: usize,
    pub request_id: i32,
    pub response_to: i32,
    pub op: i32,
}

/// Name of an opcode as the specification spells it.
pub fn op_name(op: i32) -> &'static str {
    match op {
        OP_REPLY => "OP_REPLY",
        OP_UPDATE => "OP_UPDATE",
        OP_INSERT => "OP_INSERT",
        2003 => "OP_RESERVED",
        OP_QUERY => "OP_QUERY",
        OP_GET_MORE => "OP_GET_MORE",
        OP_DELETE => "OP_DELETE",
        OP_KILL_CURSORS => "OP_KILL_CURSORS",
        OP_COMPRESSED => "OP_COMPRESSED",
        OP_MSG => "OP_MSG",
        _ => "unknown",
    }
}

fn known_op(op: i32) -> bool {
    matches!(op, 1 | 2001..=2007 | 2010 | 2011 | 2012 | 2013)
}

/// The header at the start of `buf`: `Incomplete` below 16 bytes; `Malformed` when the length
/// is below 16 or above [`MAX_MESSAGE_BYTES`], or the opcode is not one of the protocol's.
pub fn header(buf: &[u8]) -> Result<Header, ParseError> {
    let v = View(buf);
    let (Some(len), Some(rid), Some(to), Some(op)) =
        (v.u32_le(0), v.u32_le(4), v.u32_le(8), v.u32_le(12))
    else {
        return Err(ParseError::Incomplete);
    };
    let length = len as usize;
    if !(16..=MAX_MESSAGE_BYTES).contains(&length) {
        return Err(ParseError::Malformed("message length out of range"));
    }
    if !known_op(op as i32) {
        return Err(ParseError::Malformed("unknown opcode"));
    }
    Ok(Header { length, request_id: rid as i32, response_to: to as i32, op: op as i32 })
}

/// One whole message at the start of `buf`: its header, its body (after the header) and its
/// length. Every proper prefix of a message is `Incomplete`.
#[cfg(test)]
pub fn frame(buf: &[u8]) -> Result<(Header, &[u8]), ParseError> {
    let h = header(buf)?;
    let m = buf.get(..h.length).ok_or(ParseError::Incomplete)?;
    Ok((h, m.get(16..).unwrap_or_default()))
}

/// Compressors of OP_COMPRESSED by id.
pub fn compressor_name(id: u8) -> &'static str {
    match id {
        0 => "noop",
        1 => "snappy",
        2 => "zlib",
        3 => "zstd",
        _ => "unknown",
    }
}

/// A kind 1 section: identifier (`documents`, `updates`, `deletes`) and documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence<'a> {
    pub identifier: String,
    pub docs: Vec<Doc<'a>>,
    /// Documents past [`MAX_DOCS`].
    pub more: usize,
}

/// The body of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    Msg {
        flags: u32,
        body: Option<Doc<'a>>,
        sequences: Vec<Sequence<'a>>,
        /// The checksum field, when `checksumPresent`.
        checksum: Option<u32>,
    },
    Query {
        flags: u32,
        collection: String,
        skip: i32,
        ret: i32,
        query: Doc<'a>,
        fields: Option<Doc<'a>>,
    },
    Reply {
        flags: u32,
        cursor_id: i64,
        starting_from: i32,
        number_returned: i32,
        docs: Vec<Doc<'a>>,
    },
    Insert {
        collection: String,
        docs: Vec<Doc<'a>>,
    },
    Update {
        collection: String,
        flags: u32,
        selector: Doc<'a>,
        update: Doc<'a>,
    },
    Delete {
        collection: String,
        flags: u32,
        selector: Doc<'a>,
    },
    GetMore {
        collection: String,
        number_to_return: i32,
        cursor_id: i64,
    },
    KillCursors {
        cursor_ids: Vec<i64>,
    },
    /// OP_COMPRESSED: the original opcode, the compressor id and the compressed bytes.
    Compressed {
        original_op: i32,
        uncompressed_size: usize,
        compressor: u8,
        data: &'a [u8],
    },
    /// Deprecated opcodes (OP_RESERVED, OP_COMMAND, OP_COMMANDREPLY): header only.
    Other,
}

fn bad(e: bson::Bad) -> ParseError {
    ParseError::Malformed(e.0)
}

fn cstring(b: &[u8], at: usize) -> Result<(String, usize), ParseError> {
    let rest = b.get(at..).ok_or(ParseError::Malformed("body too short"))?;
    let end = rest.iter().position(|&c| c == 0).ok_or(ParseError::Malformed("unterminated name"))?;
    let s = String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned();
    Ok((s, at + end + 1))
}

fn short() -> ParseError {
    ParseError::Malformed("body too short")
}

/// Documents filling `b` from `at` to the end, up to [`MAX_DOCS`] (and how many more).
fn docs(b: &[u8], mut at: usize) -> Result<(Vec<Doc<'_>>, usize), ParseError> {
    let (mut out, mut more) = (Vec::new(), 0);
    while at < b.len() {
        let (d, n) = bson::doc(b.get(at..).unwrap_or_default()).map_err(bad)?;
        if out.len() < MAX_DOCS {
            out.push(d);
        } else {
            more += 1;
        }
        at += n;
    }
    Ok((out, more))
}

/// The body (`b`: the message after its header) of an opcode.
pub fn body(op: i32, b: &[u8]) -> Result<Body<'_>, ParseError> {
    let v = View(b);
    match op {
        OP_MSG => {
            let flags = v.u32_le(0).ok_or_else(short)?;
            let (sections, checksum) = if flags & CHECKSUM_PRESENT != 0 {
                let end = b.len().checked_sub(4).filter(|e| *e >= 4).ok_or_else(short)?;
                (b.get(4..end).unwrap_or_default(), v.u32_le(end))
            } else {
                (b.get(4..).unwrap_or_default(), None)
            };
            let (mut body, mut sequences, mut at) = (None, Vec::new(), 0);
            while at < sections.len() {
                let kind = View(sections).u8(at).unwrap_or(0xFF);
                let rest = sections.get(at + 1..).unwrap_or_default();
                match kind {
                    0 => {
                        let (d, n) = bson::doc(rest).map_err(bad)?;
                        if body.is_some() {
                            return Err(ParseError::Malformed("two body sections"));
                        }
                        body = Some(d);
                        at += 1 + n;
                    }
                    1 => {
                        let size = View(rest).u32_le(0).ok_or_else(short)? as usize;
                        let sec = rest.get(..size).filter(|_| size >= 5).ok_or_else(short)?;
                        let (identifier, p) = cstring(sec, 4)?;
                        let (docs, more) = docs(sec, p)?;
                        sequences.push(Sequence { identifier, docs, more });
                        at += 1 + size;
                    }
                    _ => return Err(ParseError::Malformed("unknown section kind")),
                }
            }
            if body.is_none() {
                return Err(ParseError::Malformed("OP_MSG without a body section"));
            }
            Ok(Body::Msg { flags, body, sequences, checksum })
        }
        OP_QUERY => {
            let flags = v.u32_le(0).ok_or_else(short)?;
            let (collection, p) = cstring(b, 4)?;
            let skip = v.u32_le(p).ok_or_else(short)? as i32;
            let ret = v.u32_le(p + 4).ok_or_else(short)? as i32;
            let (query, n) = bson::doc(b.get(p + 8..).unwrap_or_default()).map_err(bad)?;
            let rest = b.get(p + 8 + n..).unwrap_or_default();
            let fields = if rest.is_empty() {
                None
            } else {
                Some(bson::doc(rest).map_err(bad)?.0)
            };
            Ok(Body::Query { flags, collection, skip, ret, query, fields })
        }
        OP_REPLY => {
            let flags = v.u32_le(0).ok_or_else(short)?;
            let cursor_id = v.u64_le(4).ok_or_else(short)? as i64;
            let starting_from = v.u32_le(12).ok_or_else(short)? as i32;
            let number_returned = v.u32_le(16).ok_or_else(short)? as i32;
            let (docs, _) = docs(b, 20)?;
            Ok(Body::Reply { flags, cursor_id, starting_from, number_returned, docs })
        }
        OP_INSERT => {
            v.u32_le(0).ok_or_else(short)?;
            let (collection, p) = cstring(b, 4)?;
            let (docs, _) = docs(b, p)?;
            Ok(Body::Insert { collection, docs })
        }
        OP_UPDATE => {
            let (collection, p) = cstring(b, 4)?;
            let flags = v.u32_le(p).ok_or_else(short)?;
            let (selector, n) = bson::doc(b.get(p + 4..).unwrap_or_default()).map_err(bad)?;
            let (update, _) = bson::doc(b.get(p + 4 + n..).unwrap_or_default()).map_err(bad)?;
            Ok(Body::Update { collection, flags, selector, update })
        }
        OP_DELETE => {
            let (collection, p) = cstring(b, 4)?;
            let flags = v.u32_le(p).ok_or_else(short)?;
            let (selector, _) = bson::doc(b.get(p + 4..).unwrap_or_default()).map_err(bad)?;
            Ok(Body::Delete { collection, flags, selector })
        }
        OP_GET_MORE => {
            let (collection, p) = cstring(b, 4)?;
            let number_to_return = v.u32_le(p).ok_or_else(short)? as i32;
            let cursor_id = v.u64_le(p + 4).ok_or_else(short)? as i64;
            Ok(Body::GetMore { collection, number_to_return, cursor_id })
        }
        OP_KILL_CURSORS => {
            let n = v.u32_le(4).ok_or_else(short)? as usize;
            let ids = (0..n.min(MAX_DOCS))
                .map_while(|i| v.u64_le(8 + 8 * i).map(|c| c as i64))
                .collect::<Vec<_>>();
            if ids.len() < n.min(MAX_DOCS) {
                return Err(short());
            }
            Ok(Body::KillCursors { cursor_ids: ids })
        }
        OP_COMPRESSED => {
            let original_op = v.u32_le(0).ok_or_else(short)? as i32;
            let uncompressed_size = v.u32_le(4).ok_or_else(short)? as usize;
            let compressor = v.u8(8).ok_or_else(short)?;
            if original_op == OP_COMPRESSED || !known_op(original_op) {
                return Err(ParseError::Malformed("OP_COMPRESSED of an unknown opcode"));
            }
            Ok(Body::Compressed {
                original_op,
                uncompressed_size,
                compressor,
                data: b.get(9..).unwrap_or_default(),
            })
        }
        _ => Ok(Body::Other),
    }
}

/// The bytes of the uncompressed message body of an OP_COMPRESSED, for noop and zlib, when
/// `uncompressed_size` is at most `max` and the data inflates to exactly it; `None` for the
/// compressors wirebeat does not decode (snappy, zstd) or a size over `max`; `Err` when the
/// data does not inflate to the announced size.
pub fn decompress(
    compressor: u8,
    data: &[u8],
    uncompressed_size: usize,
    max: usize,
) -> Option<Result<Vec<u8>, ParseError>> {
    if uncompressed_size > max {
        return None;
    }
    match compressor {
        0 => Some(if data.len() == uncompressed_size {
            Ok(data.to_vec())
        } else {
            Err(ParseError::Malformed("noop compressed size differs"))
        }),
        2 => {
            use std::io::Read as _;
            let mut out = Vec::with_capacity(uncompressed_size.min(1 << 16));
            let limit = uncompressed_size as u64 + 1;
            let r = flate2::read::ZlibDecoder::new(data).take(limit).read_to_end(&mut out);
            Some(match r {
                Ok(n) if n == uncompressed_size => Ok(out),
                _ => Err(ParseError::Malformed("zlib data does not inflate to its size")),
            })
        }
        _ => None,
    }
}

/// CRC-32C (Castagnoli) of `data`, the OP_MSG checksum.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
        }
    }
    !c
}

/// Content probe: a plausible header whose length fits, with a request opcode (OP_MSG,
/// OP_QUERY) and `responseTo` 0, or OP_COMPRESSED.
pub fn probe(b: &[u8]) -> bool {
    match header(b) {
        Ok(h) => h.response_to == 0 && matches!(h.op, OP_MSG | OP_QUERY | OP_COMPRESSED) && h.length >= 21,
        Err(_) => false,
    }
}
