//! A minimal, bounded BSON reader: the elements of a document over a borrowed slice, the few
//! lookups the session needs (first key, `$db`, `ok`, `errmsg`, `code`, `cursor.firstBatch`)
//! and a compact JSON rendering bounded in length and depth. Pure; no input panics: a
//! document whose lengths do not add up reads as [`Bad`].

use crate::bytes::View;

/// Why a document did not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bad(pub &'static str);

/// Nesting deeper than this is rendered `{…}` (BSON allows 100; the server rejects more).
pub const MAX_DEPTH: usize = 32;

/// A document whose outer length was checked: `int32 len`, elements, a final 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Doc<'a>(&'a [u8]);

/// One value (strings are raw bytes, valid UTF-8 or not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Double(f64),
    Str(&'a [u8]),
    Doc(Doc<'a>),
    Array(Doc<'a>),
    /// Subtype and the bytes.
    Binary(u8, &'a [u8]),
    Undefined,
    ObjectId([u8; 12]),
    Bool(bool),
    DateTime(i64),
    Null,
    Regex(&'a [u8], &'a [u8]),
    DbPointer(&'a [u8]),
    JavaScript(&'a [u8]),
    Symbol(&'a [u8]),
    CodeWithScope(&'a [u8]),
    Int32(i32),
    Timestamp(u64),
    Int64(i64),
    Decimal128,
    MinKey,
    MaxKey,
}

impl<'a> Value<'a> {
    /// A number as f64 (`ok` is a double, an int32 or an int64 depending on the server).
    pub fn number(&self) -> Option<f64> {
        match *self {
            Value::Double(d) => Some(d),
            Value::Int32(i) => Some(f64::from(i)),
            Value::Int64(i) => Some(i as f64),
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match *self {
            Value::Int32(i) => Some(i64::from(i)),
            Value::Int64(i) => Some(i),
            Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Some(d as i64),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        }
    }
}

/// The document at the start of `buf` and its length.
pub fn doc(buf: &[u8]) -> Result<(Doc<'_>, usize), Bad> {
    let v = View(buf);
    let len = v.u32_le(0).ok_or(Bad("document shorter than its length field"))? as usize;
    if len < 5 {
        return Err(Bad("document length below 5"));
    }
    let bytes = buf.get(..len).ok_or(Bad("document longer than its message"))?;
    if bytes.last() != Some(&0) {
        return Err(Bad("document does not end with 0"));
    }
    Ok((Doc(bytes), len))
}

fn cstring(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(at..)?;
    let end = rest.iter().position(|&c| c == 0)?;
    Some((rest.get(..end)?, at + end + 1))
}

/// A length-prefixed string (`int32 len` including its final 0).
fn lstring(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let len = View(b).u32_le(at)? as usize;
    if len == 0 {
        return None;
    }
    let s = b.get(at + 4..(at + 4).checked_add(len)?)?;
    (s.last() == Some(&0)).then(|| (s.get(..len - 1).unwrap_or_default(), at + 4 + len))
}

impl<'a> Doc<'a> {
    pub fn iter(&self) -> Elems<'a> {
        Elems { b: self.0.get(..self.0.len().saturating_sub(1)).unwrap_or_default(), at: 4, bad: false }
    }

    pub fn first(&self) -> Option<(&'a [u8], Value<'a>)> {
        self.iter().next()
    }

    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }
}

/// Elements of a document: (key, value); stops at the first one that does not read.
pub struct Elems<'a> {
    b: &'a [u8],
    at: usize,
    /// An element did not read.
    pub bad: bool,
}

impl<'a> Iterator for Elems<'a> {
    type Item = (&'a [u8], Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.bad || self.at >= self.b.len() {
            return None;
        }
        let r = element(self.b, self.at);
        match r {
            Some((k, v, next)) => {
                self.at = next;
                Some((k, v))
            }
            None => {
                self.bad = true;
                None
            }
        }
    }
}

fn element(b: &[u8], at: usize) -> Option<(&[u8], Value<'_>, usize)> {
    let v = View(b);
    let ty = v.u8(at)?;
    let (key, p) = cstring(b, at + 1)?;
    let fixed = |n: usize| b.get(p..p.checked_add(n)?).map(|_| p + n);
    let (val, next) = match ty {
        0x01 => (Value::Double(f64::from_le_bytes(v.array(p)?)), fixed(8)?),
        0x02 => {
            let (s, n) = lstring(b, p)?;
            (Value::Str(s), n)
        }
        0x03 | 0x04 => {
            let (d, n) = doc(b.get(p..)?).ok()?;
            (if ty == 0x03 { Value::Doc(d) } else { Value::Array(d) }, p + n)
        }
        0x05 => {
            let len = v.u32_le(p)? as usize;
            let sub = v.u8(p + 4)?;
            let data = b.get(p + 5..(p + 5).checked_add(len)?)?;
            (Value::Binary(sub, data), p + 5 + len)
        }
        0x06 => (Value::Undefined, p),
        0x07 => (Value::ObjectId(v.array(p)?), fixed(12)?),
        0x08 => (Value::Bool(v.u8(p)? != 0), fixed(1)?),
        0x09 => (Value::DateTime(v.u64_le(p)? as i64), fixed(8)?),
        0x0A => (Value::Null, p),
        0x0B => {
            let (pat, n) = cstring(b, p)?;
            let (opt, n) = cstring(b, n)?;
            (Value::Regex(pat, opt), n)
        }
        0x0C => {
            let (s, n) = lstring(b, p)?;
            (Value::DbPointer(s), b.get(n..n + 12).map(|_| n + 12)?)
        }
        0x0D => {
            let (s, n) = lstring(b, p)?;
            (Value::JavaScript(s), n)
        }
        0x0E => {
            let (s, n) = lstring(b, p)?;
            (Value::Symbol(s), n)
        }
        0x0F => {
            let len = v.u32_le(p)? as usize;
            let all = b.get(p..p.checked_add(len)?)?;
            (Value::CodeWithScope(all), p + len)
        }
        0x10 => (Value::Int32(v.u32_le(p)? as i32), fixed(4)?),
        0x11 => (Value::Timestamp(v.u64_le(p)?), fixed(8)?),
        0x12 => (Value::Int64(v.u64_le(p)? as i64), fixed(8)?),
        0x13 => (Value::Decimal128, fixed(16)?),
        0xFF => (Value::MinKey, p),
        0x7F => (Value::MaxKey, p),
        _ => return None,
    };
    Some((key, val, next))
}

/// Compact JSON (MongoDB extended JSON where a type has no JSON equivalent), at most `max`
/// bytes: a longer rendering is cut and ends with `…`. Binary data is never copied out (it
/// carries SASL payloads): it renders as its length.
pub fn to_json(d: &Doc<'_>, max: usize) -> String {
    let mut w = Writer { out: String::new(), max, full: false };
    w.doc(d, false, 0);
    if w.full {
        let mut cut = max.min(w.out.len());
        while cut > 0 && !w.out.is_char_boundary(cut) {
            cut -= 1;
        }
        w.out.truncate(cut);
        w.out.push('…');
    }
    w.out
}

struct Writer {
    out: String,
    max: usize,
    full: bool,
}

impl Writer {
    fn push(&mut self, s: &str) {
        if self.full {
            return;
        }
        self.out.push_str(s);
        if self.out.len() > self.max {
            self.full = true;
        }
    }

    fn string(&mut self, s: &[u8]) {
        let s = String::from_utf8_lossy(s);
        let q = serde_json::to_string(&*s).unwrap_or_else(|_| "\"\"".into());
        self.push(&q);
    }

    fn doc(&mut self, d: &Doc<'_>, array: bool, depth: usize) {
        if depth >= MAX_DEPTH {
            self.push(if array { "[…]" } else { "{…}" });
            return;
        }
        self.push(if array { "[" } else { "{" });
        let mut it = d.iter();
        let mut first = true;
        for (k, v) in it.by_ref() {
            if self.full {
                return;
            }
            if !first {
                self.push(",");
            }
            first = false;
            if !array {
                self.string(k);
                self.push(":");
            }
            self.value(&v, depth);
        }
        if it.bad {
            self.push(if first { "…" } else { ",…" });
        }
        self.push(if array { "]" } else { "}" });
    }

    fn value(&mut self, v: &Value<'_>, depth: usize) {
        match v {
            Value::Double(d) if d.is_finite() => self.push(&format!("{d}")),
            Value::Double(d) => self.push(&format!("{{\"$numberDouble\":\"{d}\"}}")),
            Value::Str(s) | Value::Symbol(s) => self.string(s),
            Value::Doc(d) => self.doc(d, false, depth + 1),
            Value::Array(d) => self.doc(d, true, depth + 1),
            Value::Binary(sub, b) => {
                self.push(&format!("{{\"$binary\":{{\"subType\":\"{sub:02x}\",\"bytes\":{}}}}}", b.len()))
            }
            Value::Undefined => self.push("{\"$undefined\":true}"),
            Value::ObjectId(id) => {
                let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
                self.push(&format!("{{\"$oid\":\"{hex}\"}}"));
            }
            Value::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Value::DateTime(ms) => self.push(&format!("{{\"$date\":{ms}}}")),
            Value::Null => self.push("null"),
            Value::Regex(p, o) => {
                self.push("{\"$regex\":");
                self.string(p);
                self.push(",\"$options\":");
                self.string(o);
                self.push("}");
            }
            Value::DbPointer(s) => {
                self.push("{\"$dbPointer\":");
                self.string(s);
                self.push("}");
            }
            Value::JavaScript(s) => {
                self.push("{\"$code\":");
                self.string(s);
                self.push("}");
            }
            Value::CodeWithScope(b) => self.push(&format!("{{\"$code\":{{\"bytes\":{}}}}}", b.len())),
            Value::Int32(i) => self.push(&i.to_string()),
            Value::Int64(i) => self.push(&i.to_string()),
            Value::Timestamp(t) => {
                self.push(&format!("{{\"$timestamp\":{{\"t\":{},\"i\":{}}}}}", t >> 32, t & 0xFFFF_FFFF))
            }
            Value::Decimal128 => self.push("{\"$numberDecimal\":\"?\"}"),
            Value::MinKey => self.push("{\"$minKey\":1}"),
            Value::MaxKey => self.push("{\"$maxKey\":1}"),
        }
    }
}
