//! Pure parser of RESP2 and RESP3 (the Redis serialization protocol): one message from the start
//! of a buffer. A client sends arrays of bulk strings or inline commands (a plain text line);
//! a server sends any RESP value. Values are not kept whole: a message keeps its type, its
//! top-level elements as text (up to a limit) and a bounded rendering (`return_value`).
//!
//! Types: `+` simple string, `-` error, `:` integer, `$` bulk string (`$-1` null), `*` array
//! (`*-1` null), and RESP3 `_` null, `#` boolean, `,` double, `(` big number, `!` bulk error,
//! `=` verbatim string, `%` map, `~` set, `|` attribute (metadata before a reply) and `>` push
//! (out-of-band data such as pub/sub messages). Streamed aggregates (`$?`, `*?`) are not
//! supported and are malformed.

use crate::bytes::ParseError;

/// Longest line (header of a value or an inline command) before the message is malformed.
pub const MAX_LINE: usize = 64 * 1024;
/// Deepest nesting of aggregates accepted.
pub const MAX_DEPTH: usize = 32;
/// Characters of a rendered reply kept (`return_value`).
pub const MAX_RENDER: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Simple,
    Error,
    Integer,
    Bulk,
    Array,
    Null,
    Boolean,
    Double,
    BigNumber,
    BulkError,
    Verbatim,
    Map,
    Set,
    Attribute,
    Push,
    /// A client's inline command (a text line).
    Inline,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Simple => "simple_string",
            Kind::Error => "error",
            Kind::Integer => "integer",
            Kind::Bulk => "bulk_string",
            Kind::Array => "array",
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Double => "double",
            Kind::BigNumber => "big_number",
            Kind::BulkError => "bulk_error",
            Kind::Verbatim => "verbatim_string",
            Kind::Map => "map",
            Kind::Set => "set",
            Kind::Attribute => "attribute",
            Kind::Push => "push",
            Kind::Inline => "inline",
        }
    }

    pub fn is_error(self) -> bool {
        matches!(self, Kind::Error | Kind::BulkError)
    }
}

/// One parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    /// Top-level elements as text (the words of a command), at most `max_elems`, each cut to
    /// `max_elem_len` bytes; for a scalar, its one value.
    pub elems: Vec<String>,
    /// Number of top-level elements (may exceed `elems.len()`).
    pub count: usize,
    /// Some element was cut to `max_elem_len`.
    pub truncated: bool,
    /// Bounded rendering of the whole value, like Packetbeat's `return_value`.
    pub render: String,
}

/// Bounds of what a message keeps.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub max_elems: usize,
    pub max_elem_len: usize,
}

fn line(buf: &[u8], at: usize) -> Result<(&[u8], usize), ParseError> {
    let rest = buf.get(at..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(nl) => {
            if nl > MAX_LINE {
                return Err(ParseError::Malformed("line too long"));
            }
            let l = rest.get(..nl).unwrap_or_default();
            Ok((l.strip_suffix(b"\r").unwrap_or(l), at + nl + 1))
        }
        None if rest.len() > MAX_LINE => Err(ParseError::Malformed("line too long")),
        None => Err(ParseError::Incomplete),
    }
}

fn int(l: &[u8]) -> Result<i64, ParseError> {
    std::str::from_utf8(l)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(ParseError::Malformed("bad length or integer"))
}

fn push_str(out: &mut String, s: &str) {
    for c in s.chars() {
        if out.len() >= MAX_RENDER {
            return;
        }
        out.push(c);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cut(b: &[u8], max: usize) -> (String, bool) {
    match b.get(..max) {
        Some(s) if b.len() > max => (text(s), true),
        _ => (text(b), false),
    }
}

/// A value walked: its kind, the span of its scalar bytes (for scalars) and where it ends.
type Walked = (Kind, Option<(usize, usize)>, usize);

struct Walk<'a> {
    buf: &'a [u8],
    render: String,
}

impl Walk<'_> {
    /// An element of an aggregate: attributes before it are metadata, not elements, and are
    /// left out of the rendering.
    fn element(&mut self, mut at: usize, depth: usize) -> Result<Walked, ParseError> {
        loop {
            let mark = self.render.len();
            let v = self.value(at, depth)?;
            if v.0 != Kind::Attribute {
                return Ok(v);
            }
            self.render.truncate(mark);
            at = v.2;
        }
    }

    /// Parses the value at `at`; returns its kind, its scalar bytes (for scalars) and the end.
    fn value(&mut self, at: usize, depth: usize) -> Result<Walked, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::Malformed("nesting too deep"));
        }
        let Some(&t) = self.buf.get(at) else { return Err(ParseError::Incomplete) };
        let (l, next) = line(self.buf, at + 1)?;
        let kind = match t {
            b'+' => Kind::Simple,
            b'-' => Kind::Error,
            b':' => Kind::Integer,
            b'_' => Kind::Null,
            b'#' => Kind::Boolean,
            b',' => Kind::Double,
            b'(' => Kind::BigNumber,
            b'$' => Kind::Bulk,
            b'!' => Kind::BulkError,
            b'=' => Kind::Verbatim,
            b'*' => Kind::Array,
            b'%' => Kind::Map,
            b'~' => Kind::Set,
            b'|' => Kind::Attribute,
            b'>' => Kind::Push,
            _ => return Err(ParseError::Malformed("unknown type byte")),
        };
        let start = at + 1;
        match kind {
            Kind::Simple | Kind::Error | Kind::BigNumber | Kind::Double => {
                push_str(&mut self.render, &String::from_utf8_lossy(l));
                Ok((kind, Some((start, start + l.len())), next))
            }
            Kind::Integer => {
                int(l)?;
                push_str(&mut self.render, &String::from_utf8_lossy(l));
                Ok((kind, Some((start, start + l.len())), next))
            }
            Kind::Null => {
                if !l.is_empty() {
                    return Err(ParseError::Malformed("bad null"));
                }
                push_str(&mut self.render, "nil");
                Ok((kind, None, next))
            }
            Kind::Boolean => {
                let v = match l {
                    b"t" => "true",
                    b"f" => "false",
                    _ => return Err(ParseError::Malformed("bad boolean")),
                };
                push_str(&mut self.render, v);
                Ok((kind, Some((start, start + l.len())), next))
            }
            Kind::Bulk | Kind::BulkError | Kind::Verbatim => {
                let n = int(l)?;
                if n < 0 {
                    if n == -1 && kind == Kind::Bulk {
                        push_str(&mut self.render, "nil");
                        return Ok((Kind::Null, None, next));
                    }
                    return Err(ParseError::Malformed("negative length"));
                }
                let n = usize::try_from(n).map_err(|_| ParseError::Malformed("length too large"))?;
                let end = next.checked_add(n).ok_or(ParseError::Malformed("length too large"))?;
                if self.buf.len() < end + 2 {
                    return Err(ParseError::Incomplete);
                }
                if self.buf.get(end..end + 2) != Some(b"\r\n") {
                    return Err(ParseError::Malformed("bulk string not ended by CRLF"));
                }
                // A verbatim string starts with its format ("txt:").
                let from = if kind == Kind::Verbatim { (next + 4).min(end) } else { next };
                push_str(&mut self.render, &String::from_utf8_lossy(self.buf.get(from..end).unwrap_or_default()));
                Ok((kind, Some((from, end)), end + 2))
            }
            Kind::Array | Kind::Map | Kind::Set | Kind::Attribute | Kind::Push => {
                let n = int(l)?;
                if n < 0 {
                    if n == -1 && kind == Kind::Array {
                        push_str(&mut self.render, "nil");
                        return Ok((Kind::Null, None, next));
                    }
                    return Err(ParseError::Malformed("negative length"));
                }
                let per = if matches!(kind, Kind::Map | Kind::Attribute) { 2 } else { 1 };
                let n = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_mul(per))
                    .ok_or(ParseError::Malformed("length too large"))?;
                // Every element takes at least 3 bytes: a count larger than that is junk.
                if n > self.buf.len().saturating_sub(next) / 3 + 1 && n > 1 << 20 {
                    return Err(ParseError::Malformed("aggregate length too large"));
                }
                let mut pos = next;
                push_str(&mut self.render, "[");
                for i in 0..n {
                    if i > 0 {
                        push_str(&mut self.render, ", ");
                    }
                    pos = self.element(pos, depth + 1)?.2;
                }
                push_str(&mut self.render, "]");
                Ok((kind, None, pos))
            }
            Kind::Inline => Err(ParseError::Malformed("unknown type byte")),
        }
    }
}

/// First byte of a RESP value.
pub fn is_type_byte(b: u8) -> bool {
    b"+-:_#,($!=*%~|>".contains(&b)
}

/// One server message (any RESP value) from the start of `buf`, and the bytes it used.
pub fn parse_reply(buf: &[u8], keep: Keep) -> Result<(Message, usize), ParseError> {
    // Stray line ends between replies (seen in captures) are skipped.
    let blank = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    let rest = buf.get(blank..).unwrap_or_default();
    parse_value(rest, keep).map(|(m, n)| (m, n + blank))
}

fn parse_value(buf: &[u8], keep: Keep) -> Result<(Message, usize), ParseError> {
    let mut w = Walk { buf, render: String::new() };
    let (kind, scalar, end) = w.value(0, 0)?;
    let mut msg = Message { kind, elems: Vec::new(), count: 0, truncated: false, render: w.render };
    if let Some((a, b)) = scalar {
        let (s, t) = cut(buf.get(a..b).unwrap_or_default(), keep.max_elem_len);
        msg.elems.push(s);
        msg.count = 1;
        msg.truncated = t;
    } else if matches!(kind, Kind::Array | Kind::Set | Kind::Push | Kind::Map | Kind::Attribute) {
        // Top-level elements again, now known complete: their text for commands and pushes.
        let (l, mut pos) = line(buf, 1)?;
        let per = if matches!(kind, Kind::Map | Kind::Attribute) { 2 } else { 1 };
        let n = usize::try_from(int(l)?).unwrap_or(0).saturating_mul(per);
        msg.count = n;
        for _ in 0..n {
            let mut w = Walk { buf, render: String::new() };
            let (_, sc, e) = w.element(pos, 1)?;
            if msg.elems.len() < keep.max_elems {
                let (s, t) = match sc {
                    Some((a, b)) => cut(buf.get(a..b).unwrap_or_default(), keep.max_elem_len),
                    None => cut(w.render.as_bytes(), keep.max_elem_len),
                };
                msg.elems.push(s);
                msg.truncated |= t;
            }
            pos = e;
        }
    }
    Ok((msg, end))
}

/// One client message from the start of `buf`: a RESP array (usually of bulk strings) or an
/// inline command line; the bytes it used. Empty inline lines are skipped (`None`).
pub fn parse_command(buf: &[u8], keep: Keep) -> Result<(Option<Message>, usize), ParseError> {
    match buf.first() {
        None => Err(ParseError::Incomplete),
        Some(b'*') => parse_value(buf, keep).map(|(m, n)| (Some(m), n)),
        Some(_) => {
            let (l, next) = line(buf, 0)?;
            if l.iter().any(|&b| b == 0 || (b < 0x20 && b != b'\t')) {
                return Err(ParseError::Malformed("control byte in an inline command"));
            }
            let words: Vec<&[u8]> =
                l.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                return Ok((None, next));
            }
            let mut msg = Message {
                kind: Kind::Inline,
                elems: Vec::new(),
                count: words.len(),
                truncated: false,
                render: String::new(),
            };
            for w in words.iter().take(keep.max_elems) {
                let (s, t) = cut(w, keep.max_elem_len);
                msg.elems.push(s);
                msg.truncated |= t;
            }
            Ok((Some(msg), next))
        }
    }
}
