//! Pure parser of Thrift RPC messages: the binary protocol (strict, version 0x8001, and the old
//! non-strict header), the compact protocol (0x82), framed (4-byte length) or unframed. One
//! message from the start of a buffer; "need more bytes" ([`ParseError::Incomplete`]) is never
//! "malformed".
//!
//! Struct fields are walked (skipped) with nesting bounded by the configured depth; values are
//! rendered into short texts (Packetbeat's `thrift.params`, `return_value`, `exceptions`)
//! bounded by [`MAX_TEXT_CHARS`] and [`MAX_RENDERED_ITEMS`] per collection.

use crate::bytes::{Cursor, ParseError};
use std::fmt::Write as _;

/// Characters of one rendered text kept at most (then `…`).
pub const MAX_TEXT_CHARS: usize = 256;
/// Elements of one collection rendered at most (all are still walked).
pub const MAX_RENDERED_ITEMS: usize = 16;
/// Longest method name accepted.
pub const MAX_NAME: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Binary,
    /// The old binary header: name length first, no version.
    BinaryOld,
    Compact,
}

/// How a direction carries messages, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub encoding: Encoding,
    pub framed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Call,
    Reply,
    Exception,
    Oneway,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Call => "CALL",
            Kind::Reply => "REPLY",
            Kind::Exception => "EXCEPTION",
            Kind::Oneway => "ONEWAY",
        }
    }
    fn from(v: u8) -> Option<Kind> {
        match v {
            1 => Some(Kind::Call),
            2 => Some(Kind::Reply),
            3 => Some(Kind::Exception),
            4 => Some(Kind::Oneway),
            _ => None,
        }
    }
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub name: String,
    pub kind: Kind,
    pub seqid: i32,
    /// The struct rendered: `(1: 2, 2: "x")`.
    pub body: String,
    /// Field 0 of a reply, rendered (the return value).
    pub success: Option<String>,
    /// A field with id ≥ 1 of a reply (a declared exception), rendered with its id.
    pub declared_exception: Option<String>,
    /// TApplicationException message (field 1) and type (field 2).
    pub app_message: Option<String>,
    pub app_type: Option<i32>,
}

fn is_name(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(|c| c.is_ascii_graphic())
}

/// The mode of a direction from its first bytes; `Incomplete` when too few, `Malformed` when
/// they are no Thrift message.
pub fn detect(b: &[u8]) -> Result<Mode, ParseError> {
    let strict = |x: &[u8]| x.first() == Some(&0x80) && x.get(1) == Some(&0x01);
    let compact = |x: &[u8]| x.first() == Some(&0x82) && x.get(1).is_some_and(|v| v & 0x1f == 1);
    let mode = |encoding, framed| Ok(Mode { encoding, framed });
    if b.len() < 2 {
        return Err(ParseError::Incomplete);
    }
    if strict(b) {
        return mode(Encoding::Binary, false);
    }
    if compact(b) {
        return mode(Encoding::Compact, false);
    }
    if b.len() < 8 {
        return Err(ParseError::Incomplete);
    }
    let tail = b.get(4..).unwrap_or_default();
    if strict(tail) {
        return mode(Encoding::Binary, true);
    }
    if compact(tail) {
        return mode(Encoding::Compact, true);
    }
    // Old binary: name length, name, type byte; framed: the frame length before that.
    let c = Cursor::new(b);
    let plausible = |at: usize| -> Option<bool> {
        let n = c.whole().get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))?
            as usize;
        if n == 0 || n > MAX_NAME {
            return Some(false);
        }
        let name = b.get(at + 4..at + 4 + n)?;
        let t = b.get(at + 4 + n)?;
        Some(is_name(name) && (1..=4).contains(t))
    };
    match (plausible(0), plausible(4)) {
        (Some(true), _) => mode(Encoding::BinaryOld, false),
        (_, Some(true)) => mode(Encoding::BinaryOld, true),
        (Some(false), Some(false)) => Err(ParseError::Malformed("not a thrift message")),
        _ => Err(ParseError::Incomplete),
    }
}

/// Whether the first bytes of a flow look like a Thrift message (for flows on no known port).
/// Strict binary and compact only (the old header is too weak a signature), and the message
/// header must hold a valid type and a printable method name.
pub fn probe(b: &[u8]) -> bool {
    let Ok(mode) = detect(b) else { return false };
    if mode.encoding == Encoding::BinaryOld {
        return false;
    }
    let mut c = Cursor::new(b.get(if mode.framed { 4 } else { 0 }..).unwrap_or_default());
    let name_len = match mode.encoding {
        Encoding::Compact => {
            let kind = c.u8().and(c.u8()).and_then(|v| Kind::from(v >> 5));
            match (kind, varint(&mut c), varint(&mut c)) {
                (Some(_), Ok(_), Ok(n)) => n as usize,
                _ => return false,
            }
        }
        _ => match (c.u32(), c.u32()) {
            (Some(v), Some(n)) if Kind::from((v & 0xff) as u8).is_some() && v & 0xff00 == 0 => {
                n as usize
            }
            _ => return false,
        },
    };
    let name = c.rest();
    (1..=MAX_NAME).contains(&name_len) && is_name(name.get(..name_len.min(name.len())).unwrap_or(name))
        && !name.is_empty()
}

/// One message from the start of `buf` in `mode`, and the bytes it used. `max_depth` bounds
/// struct nesting (deeper is malformed), `max_frame` the frame length.
pub fn parse(
    buf: &[u8],
    mode: Mode,
    max_depth: usize,
    max_frame: usize,
) -> Result<(Message, usize), ParseError> {
    if mode.framed {
        let mut c = Cursor::new(buf);
        let Some(len) = c.u32() else { return Err(ParseError::Incomplete) };
        let len = len as usize;
        if len == 0 || len > max_frame {
            return Err(ParseError::Malformed("frame length"));
        }
        let Some(frame) = c.take(len) else { return Err(ParseError::Incomplete) };
        return match message(frame, mode.encoding, max_depth) {
            Ok((m, _)) => Ok((m, 4 + len)),
            Err(ParseError::Incomplete) => Err(ParseError::Malformed("message longer than its frame")),
            Err(e) => Err(e),
        };
    }
    message(buf, mode.encoding, max_depth)
}

const INCOMPLETE: ParseError = ParseError::Incomplete;

fn message(buf: &[u8], enc: Encoding, max_depth: usize) -> Result<(Message, usize), ParseError> {
    let mut c = Cursor::new(buf);
    let (name, kind, seqid) = match enc {
        Encoding::Binary => {
            let v = c.u32().ok_or(INCOMPLETE)?;
            if v >> 16 != 0x8001 {
                return Err(ParseError::Malformed("binary version"));
            }
            let kind = Kind::from((v & 0xff) as u8).ok_or(ParseError::Malformed("message type"))?;
            let name = binary_name(&mut c)?;
            (name, kind, c.u32().ok_or(INCOMPLETE)? as i32)
        }
        Encoding::BinaryOld => {
            let name = binary_name(&mut c)?;
            let kind = Kind::from(c.u8().ok_or(INCOMPLETE)?).ok_or(ParseError::Malformed("message type"))?;
            (name, kind, c.u32().ok_or(INCOMPLETE)? as i32)
        }
        Encoding::Compact => {
            if c.u8().ok_or(INCOMPLETE)? != 0x82 {
                return Err(ParseError::Malformed("compact protocol id"));
            }
            let tv = c.u8().ok_or(INCOMPLETE)?;
            if tv & 0x1f != 1 {
                return Err(ParseError::Malformed("compact version"));
            }
            let kind = Kind::from(tv >> 5).ok_or(ParseError::Malformed("message type"))?;
            let seqid = varint(&mut c)? as i32;
            let n = varint(&mut c)? as usize;
            if n > MAX_NAME {
                return Err(ParseError::Malformed("name length"));
            }
            let name = c.take(n).ok_or(INCOMPLETE)?;
            (String::from_utf8_lossy(name).into_owned(), kind, seqid)
        }
    };
    let mut w = Walker { c, enc, max_depth, top: Vec::new() };
    let mut body = String::new();
    w.structure(&mut body, 0)?;
    let mut m = Message {
        name,
        kind,
        seqid,
        body: cut(body),
        success: None,
        declared_exception: None,
        app_message: None,
        app_type: None,
    };
    for (id, text, raw) in w.top {
        match (kind, id) {
            (Kind::Reply, 0) => m.success = Some(text),
            (Kind::Reply, _) if m.declared_exception.is_none() => {
                m.declared_exception = Some(format!("({id}: {text})"))
            }
            (Kind::Exception, 1) => m.app_message = raw,
            (Kind::Exception, 2) => m.app_type = text.parse().ok(),
            _ => {}
        }
    }
    Ok((m, w.c.pos()))
}

fn binary_name(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let n = c.u32().ok_or(INCOMPLETE)? as usize;
    if n > MAX_NAME {
        return Err(ParseError::Malformed("name length"));
    }
    let b = c.take(n).ok_or(INCOMPLETE)?;
    Ok(String::from_utf8_lossy(b).into_owned())
}

fn varint(c: &mut Cursor<'_>) -> Result<u64, ParseError> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = c.u8().ok_or(INCOMPLETE)?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ParseError::Malformed("varint too long"))
}

fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn cut(mut s: String) -> String {
    if s.chars().count() > MAX_TEXT_CHARS {
        s = s.chars().take(MAX_TEXT_CHARS).collect();
        s.push('…');
    }
    s
}

struct Walker<'a> {
    c: Cursor<'a>,
    enc: Encoding,
    max_depth: usize,
    /// Top-level fields: (id, rendered, the string itself for strings).
    top: Vec<(i16, String, Option<String>)>,
}

/// Binary type ids; compact ids are mapped onto them.
const T_BOOL: u8 = 2;
const T_BYTE: u8 = 3;
const T_DOUBLE: u8 = 4;
const T_I16: u8 = 6;
const T_I32: u8 = 8;
const T_I64: u8 = 10;
const T_STRING: u8 = 11;
const T_STRUCT: u8 = 12;
const T_MAP: u8 = 13;
const T_SET: u8 = 14;
const T_LIST: u8 = 15;
const T_UUID: u8 = 16;

fn compact_type(t: u8) -> Result<u8, ParseError> {
    Ok(match t {
        1 | 2 => T_BOOL,
        3 => T_BYTE,
        4 => T_I16,
        5 => T_I32,
        6 => T_I64,
        7 => T_DOUBLE,
        8 => T_STRING,
        9 => T_LIST,
        10 => T_SET,
        11 => T_MAP,
        12 => T_STRUCT,
        13 => T_UUID,
        _ => return Err(ParseError::Malformed("field type")),
    })
}

impl Walker<'_> {
    fn room(out: &str) -> bool {
        out.len() <= MAX_TEXT_CHARS * 4
    }

    fn structure(&mut self, out: &mut String, depth: usize) -> Result<(), ParseError> {
        if depth >= self.max_depth {
            return Err(ParseError::Malformed("structs nested beyond max_depth"));
        }
        out.push('(');
        let mut last_id: i16 = 0;
        let mut first = true;
        loop {
            let (t, id, bool_value) = match self.enc {
                Encoding::Compact => {
                    let h = self.c.u8().ok_or(INCOMPLETE)?;
                    if h == 0 {
                        break;
                    }
                    let delta = h >> 4;
                    let id = if delta == 0 {
                        zigzag(varint(&mut self.c)?) as i16
                    } else {
                        last_id.wrapping_add(i16::from(delta))
                    };
                    let ct = h & 0x0f;
                    (compact_type(ct)?, id, (ct <= 2).then_some(ct == 1))
                }
                _ => {
                    let t = self.c.u8().ok_or(INCOMPLETE)?;
                    if t == 0 {
                        break;
                    }
                    (t, self.c.u16().ok_or(INCOMPLETE)? as i16, None)
                }
            };
            last_id = id;
            let mut v = String::new();
            let raw = self.value(t, &mut v, depth, bool_value)?;
            if depth == 0 {
                self.top.push((id, cut(v.clone()), raw));
            }
            if Self::room(out) {
                if !first {
                    out.push_str(", ");
                }
                let _ = write!(out, "{id}: {v}");
            }
            first = false;
        }
        out.push(')');
        Ok(())
    }

    /// Walks one value, rendering it into `out`; returns the text of a string value.
    fn value(
        &mut self,
        t: u8,
        out: &mut String,
        depth: usize,
        bool_value: Option<bool>,
    ) -> Result<Option<String>, ParseError> {
        let compact = self.enc == Encoding::Compact;
        let c = &mut self.c;
        match t {
            T_BOOL => {
                let b = match bool_value {
                    Some(b) => b,
                    None => c.u8().ok_or(INCOMPLETE)? == 1,
                };
                let _ = write!(out, "{b}");
            }
            T_BYTE => {
                let _ = write!(out, "{}", c.u8().ok_or(INCOMPLETE)? as i8);
            }
            T_DOUBLE => {
                let b: [u8; 8] = c.array().ok_or(INCOMPLETE)?;
                let v = if compact { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) };
                let _ = write!(out, "{v}");
            }
            T_I16 | T_I32 | T_I64 => {
                let v = if compact {
                    zigzag(varint(c)?)
                } else {
                    match t {
                        T_I16 => i64::from(c.u16().ok_or(INCOMPLETE)? as i16),
                        T_I32 => i64::from(c.u32().ok_or(INCOMPLETE)? as i32),
                        _ => c.u64().ok_or(INCOMPLETE)? as i64,
                    }
                };
                let _ = write!(out, "{v}");
            }
            T_STRING => {
                let n = if compact { varint(c)? } else { u64::from(c.u32().ok_or(INCOMPLETE)?) };
                let n = usize::try_from(n).map_err(|_| ParseError::Malformed("string length"))?;
                let b = c.take(n).ok_or(INCOMPLETE)?;
                let s: String = String::from_utf8_lossy(b).chars().take(MAX_TEXT_CHARS).collect();
                let _ = write!(out, "{s:?}");
                return Ok(Some(s));
            }
            T_UUID => {
                c.skip(16).ok_or(INCOMPLETE)?;
                out.push_str("uuid");
            }
            T_STRUCT => self.structure(out, depth + 1)?,
            T_LIST | T_SET => {
                let (et, n) = if compact {
                    let h = c.u8().ok_or(INCOMPLETE)?;
                    let n = if h >> 4 == 15 { varint(c)? } else { u64::from(h >> 4) };
                    (compact_type(h & 0x0f)?, n)
                } else {
                    (c.u8().ok_or(INCOMPLETE)?, u64::from(c.u32().ok_or(INCOMPLETE)?))
                };
                self.collection(out, depth, n, &[et], ('[', ']'))?;
            }
            T_MAP => {
                let (kt, vt, n) = if compact {
                    let n = varint(c)?;
                    if n == 0 {
                        (T_BYTE, T_BYTE, 0)
                    } else {
                        let h = c.u8().ok_or(INCOMPLETE)?;
                        (compact_type(h >> 4)?, compact_type(h & 0x0f)?, n)
                    }
                } else {
                    let kt = c.u8().ok_or(INCOMPLETE)?;
                    let vt = c.u8().ok_or(INCOMPLETE)?;
                    (kt, vt, u64::from(c.u32().ok_or(INCOMPLETE)?))
                };
                self.collection(out, depth, n, &[kt, vt], ('{', '}'))?;
            }
            _ => return Err(ParseError::Malformed("field type")),
        }
        Ok(None)
    }

    fn collection(
        &mut self,
        out: &mut String,
        depth: usize,
        n: u64,
        types: &[u8],
        (open, close): (char, char),
    ) -> Result<(), ParseError> {
        if depth + 1 >= self.max_depth {
            return Err(ParseError::Malformed("collections nested beyond max_depth"));
        }
        // Every element takes at least one byte, so the walk ends with the bytes; a count
        // beyond any message is malformed at once.
        if n > u64::from(u32::MAX >> 1) {
            return Err(ParseError::Malformed("collection size"));
        }
        out.push(open);
        for i in 0..n {
            for (j, t) in types.iter().enumerate() {
                let mut v = String::new();
                // Bools inside compact collections are one byte each.
                self.value(*t, &mut v, depth + 1, None)?;
                if (i as usize) < MAX_RENDERED_ITEMS && Self::room(out) {
                    if i > 0 && j == 0 {
                        out.push_str(", ");
                    }
                    if j == 1 {
                        out.push_str(": ");
                    }
                    out.push_str(&v);
                }
            }
        }
        if n as usize > MAX_RENDERED_ITEMS {
            out.push_str(", …");
        }
        out.push(close);
        Ok(())
    }
}
