//! Pure parser of AMQP 0-9-1: the protocol header and one frame from the start of a buffer,
//! method arguments, content-header properties and field tables. Bytes in, a [`Frame`] out;
//! "need more bytes" ([`ParseError::Incomplete`]) is never "malformed".
//!
//! Layouts from the AMQP 0-9-1 specification (frame: type, channel, size, payload, 0xCE) and
//! RabbitMQ's errata for field-table value types. Field tables are bounded: at most
//! [`MAX_TABLE_ENTRIES`] entries per table, [`MAX_TABLE_DEPTH`] levels of nesting, strings cut
//! to [`MAX_VALUE_CHARS`]; a value of an unknown type ends the table's decoding (its length is
//! known, so the rest is skipped safely) and is noted.

use crate::bytes::{Cursor, ParseError};
use serde_json::{Map, Value};

/// The 8 bytes a client sends first: `AMQP`, 0, 0, 9, 1.
pub const PROTOCOL_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";
/// Entries of one field table kept at most.
pub const MAX_TABLE_ENTRIES: usize = 32;
/// Nesting of tables and arrays decoded at most.
pub const MAX_TABLE_DEPTH: usize = 4;
/// Characters of a string value kept at most.
pub const MAX_VALUE_CHARS: usize = 256;
/// Largest frame payload accepted (RabbitMQ's frame_max ceiling is far below it).
pub const MAX_FRAME_SIZE: u32 = 16 << 20;
const FRAME_END: u8 = 0xCE;

/// A parsed frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `AMQP` and the four version bytes.
    ProtocolHeader([u8; 4]),
    Method { channel: u16, method: Method },
    Header { channel: u16, header: ContentHeader },
    Body { channel: u16, len: u64 },
    Heartbeat,
}

/// A method frame: class and method ids, the dotted name, the decoded arguments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Method {
    pub class: u16,
    pub method: u16,
    /// `queue.declare`; `unknown` for ids outside the specification.
    pub name: &'static str,
    pub args: Args,
    /// What was odd while decoding (unknown table types, tables cut at the limit).
    pub notes: Vec<&'static str>,
}

/// The arguments wirebeat reports (Packetbeat's `amqp.*` names), each `None` when the method
/// has no such argument.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Args {
    pub reply_code: Option<u16>,
    pub reply_text: Option<String>,
    pub exchange: Option<String>,
    pub exchange_type: Option<String>,
    pub queue: Option<String>,
    pub routing_key: Option<String>,
    pub consumer_tag: Option<String>,
    pub delivery_tag: Option<u64>,
    pub message_count: Option<u32>,
    pub consumer_count: Option<u32>,
    pub passive: Option<bool>,
    pub durable: Option<bool>,
    pub exclusive: Option<bool>,
    pub auto_delete: Option<bool>,
    pub no_wait: Option<bool>,
    pub no_ack: Option<bool>,
    pub no_local: Option<bool>,
    pub if_unused: Option<bool>,
    pub if_empty: Option<bool>,
    pub redelivered: Option<bool>,
    pub multiple: Option<bool>,
    pub requeue: Option<bool>,
    pub mandatory: Option<bool>,
    pub immediate: Option<bool>,
    pub arguments: Option<Map<String, Value>>,
    /// connection.start-ok: the SASL mechanism (the response, the credentials, is never kept).
    pub mechanism: Option<String>,
    /// connection.start-ok client properties `product` and `version`.
    pub product: Option<String>,
    pub version: Option<String>,
    /// connection.open.
    pub virtual_host: Option<String>,
    /// connection.tune / tune-ok.
    pub channel_max: Option<u16>,
    pub frame_max: Option<u32>,
    pub heartbeat: Option<u16>,
    /// basic.qos.
    pub prefetch_count: Option<u16>,
}

/// A content header (frame type 2): the body size and the basic properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContentHeader {
    pub class: u16,
    pub body_size: u64,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub headers: Option<Map<String, Value>>,
    pub delivery_mode: Option<u8>,
    pub priority: Option<u8>,
    pub correlation_id: Option<String>,
    pub reply_to: Option<String>,
    pub expiration: Option<String>,
    pub message_id: Option<String>,
    pub timestamp: Option<u64>,
    pub kind: Option<String>,
    pub user_id: Option<String>,
    pub app_id: Option<String>,
    pub notes: Vec<&'static str>,
}

/// Whether `b` can start an AMQP conversation: the protocol header.
pub fn probe(b: &[u8]) -> bool {
    b.starts_with(b"AMQP")
}

/// One frame (or the protocol header) from the start of `buf`, and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<(Frame, usize), ParseError> {
    if buf.first() == Some(&b'A') {
        let n = buf.len().min(4);
        if buf.get(..n) != b"AMQP".get(..n) {
            return Err(ParseError::Malformed("not a frame"));
        }
        let Some(v) = buf.get(4..8) else { return Err(ParseError::Incomplete) };
        return Ok((Frame::ProtocolHeader([v[0], v[1], v[2], v[3]]), 8));
    }
    let mut c = Cursor::new(buf);
    let (Some(kind), Some(channel), Some(size)) = (c.u8(), c.u16(), c.u32()) else {
        return match buf.first() {
            Some(t) if !matches!(t, 1 | 2 | 3 | 4 | 8) => Err(ParseError::Malformed("frame type")),
            _ => Err(ParseError::Incomplete),
        };
    };
    if !matches!(kind, 1 | 2 | 3 | 4 | 8) {
        return Err(ParseError::Malformed("frame type"));
    }
    if size > MAX_FRAME_SIZE {
        return Err(ParseError::Malformed("frame size"));
    }
    let Some(payload) = c.take(size as usize) else { return Err(ParseError::Incomplete) };
    match c.u8() {
        None => return Err(ParseError::Incomplete),
        Some(FRAME_END) => {}
        Some(_) => return Err(ParseError::Malformed("frame end")),
    }
    let used = c.pos();
    let frame = match kind {
        1 => Frame::Method { channel, method: method(payload)? },
        2 => Frame::Header { channel, header: header(payload)? },
        3 => Frame::Body { channel, len: u64::from(size) },
        _ => Frame::Heartbeat,
    };
    Ok((frame, used))
}

/// The dotted name of a method.
pub fn method_name(class: u16, method: u16) -> &'static str {
    match (class, method) {
        (10, 10) => "connection.start",
        (10, 11) => "connection.start-ok",
        (10, 20) => "connection.secure",
        (10, 21) => "connection.secure-ok",
        (10, 30) => "connection.tune",
        (10, 31) => "connection.tune-ok",
        (10, 40) => "connection.open",
        (10, 41) => "connection.open-ok",
        (10, 50) => "connection.close",
        (10, 51) => "connection.close-ok",
        (10, 60) => "connection.blocked",
        (10, 61) => "connection.unblocked",
        (20, 10) => "channel.open",
        (20, 11) => "channel.open-ok",
        (20, 20) => "channel.flow",
        (20, 21) => "channel.flow-ok",
        (20, 40) => "channel.close",
        (20, 41) => "channel.close-ok",
        (40, 10) => "exchange.declare",
        (40, 11) => "exchange.declare-ok",
        (40, 20) => "exchange.delete",
        (40, 21) => "exchange.delete-ok",
        (40, 30) => "exchange.bind",
        (40, 31) => "exchange.bind-ok",
        (40, 40) => "exchange.unbind",
        (40, 51) => "exchange.unbind-ok",
        (50, 10) => "queue.declare",
        (50, 11) => "queue.declare-ok",
        (50, 20) => "queue.bind",
        (50, 21) => "queue.bind-ok",
        (50, 30) => "queue.purge",
        (50, 31) => "queue.purge-ok",
        (50, 40) => "queue.delete",
        (50, 41) => "queue.delete-ok",
        (50, 50) => "queue.unbind",
        (50, 51) => "queue.unbind-ok",
        (60, 10) => "basic.qos",
        (60, 11) => "basic.qos-ok",
        (60, 20) => "basic.consume",
        (60, 21) => "basic.consume-ok",
        (60, 30) => "basic.cancel",
        (60, 31) => "basic.cancel-ok",
        (60, 40) => "basic.publish",
        (60, 50) => "basic.return",
        (60, 60) => "basic.deliver",
        (60, 70) => "basic.get",
        (60, 71) => "basic.get-ok",
        (60, 72) => "basic.get-empty",
        (60, 80) => "basic.ack",
        (60, 90) => "basic.reject",
        (60, 100) => "basic.recover-async",
        (60, 110) => "basic.recover",
        (60, 111) => "basic.recover-ok",
        (60, 120) => "basic.nack",
        (85, 10) => "confirm.select",
        (85, 11) => "confirm.select-ok",
        (90, 10) => "tx.select",
        (90, 11) => "tx.select-ok",
        (90, 20) => "tx.commit",
        (90, 21) => "tx.commit-ok",
        (90, 30) => "tx.rollback",
        (90, 31) => "tx.rollback-ok",
        _ => "unknown",
    }
}

/// The method ids (same class) that answer a synchronous request; empty for a method that is
/// not a request (asynchronous methods and the answers themselves).
pub fn replies(class: u16, method: u16) -> &'static [u16] {
    match (class, method) {
        (10, 10) | (20, 10) | (40, 10) | (50, 10) | (60, 10) | (85, 10) | (90, 10) => &[11],
        (10, 20) | (20, 20) | (40, 20) | (50, 20) | (60, 20) | (90, 20) => &[21],
        (10, 30) | (40, 30) | (50, 30) | (60, 30) | (90, 30) => &[31],
        (10, 40) | (20, 40) | (50, 40) => &[41],
        (10, 50) | (40, 40) | (50, 50) => &[51],
        (60, 70) => &[71, 72],
        (60, 110) => &[111],
        _ => &[],
    }
}

/// Whether `(class, method)` answers some request.
pub fn is_reply(class: u16, method: u16) -> bool {
    method > 0
        && (replies(class, method - 1).contains(&method)
            || replies(class, method.saturating_sub(2)).contains(&method)
            || (class == 40 && method == 51))
}

/// Whether content (a header and body frames) follows the method.
pub fn carries_content(class: u16, method: u16) -> bool {
    matches!((class, method), (60, 40 | 50 | 60 | 71))
}

const TRUNCATED: ParseError = ParseError::Malformed("method arguments truncated");

fn shortstr(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    c.vec8().map(text).ok_or(TRUNCATED)
}

fn longstr<'a>(c: &mut Cursor<'a>) -> Result<&'a [u8], ParseError> {
    let n = c.u32().ok_or(TRUNCATED)?;
    c.take(n as usize).ok_or(TRUNCATED)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(MAX_VALUE_CHARS).collect()
}

fn u8_(c: &mut Cursor<'_>) -> Result<u8, ParseError> {
    c.u8().ok_or(TRUNCATED)
}
fn u16_(c: &mut Cursor<'_>) -> Result<u16, ParseError> {
    c.u16().ok_or(TRUNCATED)
}
fn u32_(c: &mut Cursor<'_>) -> Result<u32, ParseError> {
    c.u32().ok_or(TRUNCATED)
}
fn u64_(c: &mut Cursor<'_>) -> Result<u64, ParseError> {
    c.u64().ok_or(TRUNCATED)
}
fn bit(bits: u8, n: u8) -> Option<bool> {
    Some(bits & (1 << n) != 0)
}

fn table(c: &mut Cursor<'_>, notes: &mut Vec<&'static str>) -> Result<Map<String, Value>, ParseError> {
    let raw = longstr(c)?;
    Ok(decode_table(raw, 0, notes))
}

/// A field table's entries (the bytes after its length), bounded.
pub fn decode_table(raw: &[u8], depth: usize, notes: &mut Vec<&'static str>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut c = Cursor::new(raw);
    while !c.at_end() {
        if out.len() >= MAX_TABLE_ENTRIES {
            notes.push("field table cut at the entry limit");
            break;
        }
        let Some(key) = c.vec8().map(text) else {
            notes.push("field table truncated");
            break;
        };
        let Some(v) = value(&mut c, depth, notes) else { break };
        out.insert(key, v);
    }
    out
}

/// One typed value; `None` (noted) for an unknown type or missing bytes.
fn value(c: &mut Cursor<'_>, depth: usize, notes: &mut Vec<&'static str>) -> Option<Value> {
    let Some(t) = c.u8() else {
        notes.push("field table truncated");
        return None;
    };
    let v = match t {
        b't' => c.u8().map(|b| Value::Bool(b != 0)),
        b'b' => c.u8().map(|b| Value::from(b as i8)),
        b'B' => c.u8().map(Value::from),
        b's' => c.u16().map(|v| Value::from(v as i16)),
        b'u' => c.u16().map(Value::from),
        b'I' => c.u32().map(|v| Value::from(v as i32)),
        b'i' => c.u32().map(Value::from),
        b'l' => c.u64().map(|v| Value::from(v as i64)),
        b'L' => c.u64().map(Value::from),
        b'T' => c.u64().map(Value::from),
        b'f' => c.u32().map(|v| Value::from(f64::from(f32::from_bits(v)))),
        b'd' => c.u64().map(|v| Value::from(f64::from_bits(v))),
        b'D' => match (c.u8(), c.u32()) {
            (Some(scale), Some(v)) => {
                Some(Value::from(f64::from(v as i32) / 10f64.powi(i32::from(scale))))
            }
            _ => None,
        },
        b'V' => Some(Value::Null),
        b'S' | b'x' => c.u32().and_then(|n| c.take(n as usize)).map(|b| Value::from(text(b))),
        b'F' | b'A' => {
            let raw = c.u32().and_then(|n| c.take(n as usize));
            match raw {
                Some(_) if depth + 1 >= MAX_TABLE_DEPTH => {
                    notes.push("field table nested beyond the depth limit");
                    Some(Value::Null)
                }
                Some(raw) if t == b'F' => Some(Value::Object(decode_table(raw, depth + 1, notes))),
                Some(raw) => Some(Value::Array(decode_array(raw, depth + 1, notes))),
                None => None,
            }
        }
        _ => {
            notes.push("field table value of an unknown type");
            return None;
        }
    };
    if v.is_none() {
        notes.push("field table truncated");
    }
    v
}

fn decode_array(raw: &[u8], depth: usize, notes: &mut Vec<&'static str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut c = Cursor::new(raw);
    while !c.at_end() {
        if out.len() >= MAX_TABLE_ENTRIES {
            notes.push("field array cut at the entry limit");
            break;
        }
        let Some(v) = value(&mut c, depth, notes) else { break };
        out.push(v);
    }
    out
}

fn method(payload: &[u8]) -> Result<Method, ParseError> {
    let mut c = Cursor::new(payload);
    let class = c.u16().ok_or(ParseError::Malformed("method frame too short"))?;
    let id = c.u16().ok_or(ParseError::Malformed("method frame too short"))?;
    let mut m = Method { class, method: id, name: method_name(class, id), ..Method::default() };
    let a = &mut m.args;
    let notes = &mut m.notes;
    match (class, id) {
        (10, 10) => {
            u8_(&mut c)?;
            u8_(&mut c)?;
            table(&mut c, notes)?;
            longstr(&mut c)?;
            longstr(&mut c)?;
        }
        (10, 11) => {
            let props = table(&mut c, notes)?;
            let s = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_owned);
            a.product = s("product");
            a.version = s("version");
            a.mechanism = Some(shortstr(&mut c)?);
            // The response holds the credentials: skipped, never kept.
            longstr(&mut c)?;
        }
        (10, 30 | 31) => {
            a.channel_max = Some(u16_(&mut c)?);
            a.frame_max = Some(u32_(&mut c)?);
            a.heartbeat = Some(u16_(&mut c)?);
        }
        (10, 40) => a.virtual_host = Some(shortstr(&mut c)?),
        (10, 50) | (20, 40) => {
            a.reply_code = Some(u16_(&mut c)?);
            a.reply_text = Some(shortstr(&mut c)?);
        }
        (40, 10) => {
            u16_(&mut c)?;
            a.exchange = Some(shortstr(&mut c)?);
            a.exchange_type = Some(shortstr(&mut c)?);
            let b = u8_(&mut c)?;
            (a.passive, a.durable, a.auto_delete, a.no_wait) =
                (bit(b, 0), bit(b, 1), bit(b, 2), bit(b, 4));
            a.arguments = Some(table(&mut c, notes)?);
        }
        (40, 20) => {
            u16_(&mut c)?;
            a.exchange = Some(shortstr(&mut c)?);
            let b = u8_(&mut c)?;
            (a.if_unused, a.no_wait) = (bit(b, 0), bit(b, 1));
        }
        (40, 30 | 40) => {
            u16_(&mut c)?;
            // destination, then source: the source is the exchange messages come from.
            let _destination = shortstr(&mut c)?;
            a.exchange = Some(shortstr(&mut c)?);
            a.routing_key = Some(shortstr(&mut c)?);
            a.no_wait = bit(u8_(&mut c)?, 0);
            a.arguments = Some(table(&mut c, notes)?);
        }
        (50, 10) => {
            u16_(&mut c)?;
            a.queue = Some(shortstr(&mut c)?);
            let b = u8_(&mut c)?;
            (a.passive, a.durable, a.exclusive, a.auto_delete, a.no_wait) =
                (bit(b, 0), bit(b, 1), bit(b, 2), bit(b, 3), bit(b, 4));
            a.arguments = Some(table(&mut c, notes)?);
        }
        (50, 11) => {
            a.queue = Some(shortstr(&mut c)?);
            a.message_count = Some(u32_(&mut c)?);
            a.consumer_count = Some(u32_(&mut c)?);
        }
        (50, 20 | 50) => {
            u16_(&mut c)?;
            a.queue = Some(shortstr(&mut c)?);
            a.exchange = Some(shortstr(&mut c)?);
            a.routing_key = Some(shortstr(&mut c)?);
            if id == 20 {
                a.no_wait = bit(u8_(&mut c)?, 0);
            }
            a.arguments = Some(table(&mut c, notes)?);
        }
        (50, 30) => {
            u16_(&mut c)?;
            a.queue = Some(shortstr(&mut c)?);
            a.no_wait = bit(u8_(&mut c)?, 0);
        }
        (50, 31 | 41) => a.message_count = Some(u32_(&mut c)?),
        (50, 40) => {
            u16_(&mut c)?;
            a.queue = Some(shortstr(&mut c)?);
            let b = u8_(&mut c)?;
            (a.if_unused, a.if_empty, a.no_wait) = (bit(b, 0), bit(b, 1), bit(b, 2));
        }
        (60, 10) => {
            u32_(&mut c)?;
            a.prefetch_count = Some(u16_(&mut c)?);
        }
        (60, 20) => {
            u16_(&mut c)?;
            a.queue = Some(shortstr(&mut c)?);
            a.consumer_tag = Some(shortstr(&mut c)?);
            let b = u8_(&mut c)?;
            (a.no_local, a.no_ack, a.exclusive, a.no_wait) =
                (bit(b, 0), bit(b, 1), bit(b, 2), bit(b, 3));
            a.arguments = Some(table(&mut c, notes)?);
        }
        (60, 21 | 31) => a.consumer_tag = Some(shortstr(&mut c)?),
        (60, 30) => {
            a.consumer_tag = Some(shortstr(&mut c)?);
            a.no_wait = bit(u8_(&mut c)?, 0);
        }
        (60, 40) => {
            u16_(&mut c)?;
            a.exchange = Some(shortstr(&mut c)?);
            a.routing_key = Some(shortstr(&mut c)?);
            let b = u8_(&mut c)?;
            (a.mandatory, a.immediate) = (bit(b, 0), bit(b, 1));
        }
        (60, 50) => {
            a.reply_code = Some(u16_(&mut c)?);
            a.reply_text = Some(shortstr(&mut c)?);
            a.exchange = Some(shortstr(&mut c)?);
            a.routing_key = Some(shortstr(&mut c)?);
        }
        (60, 60) => {
            a.consumer_tag = Some(shortstr(&mut c)?);
            a.delivery_tag = Some(u64_(&mut c)?);
            a.redelivered = bit(u8_(&mut c)?, 0);
            a.exchange = Some(shortstr(&mut c)?);
            a.routing_key = Some(shortstr(&mut c)?);
        }
        (60, 70) => {
            u16_(&mut c)?;
            a.queue = Some(shortstr(&mut c)?);
            a.no_ack = bit(u8_(&mut c)?, 0);
        }
        (60, 71) => {
            a.delivery_tag = Some(u64_(&mut c)?);
            a.redelivered = bit(u8_(&mut c)?, 0);
            a.exchange = Some(shortstr(&mut c)?);
            a.routing_key = Some(shortstr(&mut c)?);
            a.message_count = Some(u32_(&mut c)?);
        }
        (60, 80) => {
            a.delivery_tag = Some(u64_(&mut c)?);
            a.multiple = bit(u8_(&mut c)?, 0);
        }
        (60, 90) => {
            a.delivery_tag = Some(u64_(&mut c)?);
            a.requeue = bit(u8_(&mut c)?, 0);
        }
        (60, 120) => {
            a.delivery_tag = Some(u64_(&mut c)?);
            let b = u8_(&mut c)?;
            (a.multiple, a.requeue) = (bit(b, 0), bit(b, 1));
        }
        (60, 100 | 110) => a.requeue = bit(u8_(&mut c)?, 0),
        (85, 10) => a.no_wait = bit(u8_(&mut c)?, 0),
        _ => {}
    }
    Ok(m)
}

fn header(payload: &[u8]) -> Result<ContentHeader, ParseError> {
    const SHORT: ParseError = ParseError::Malformed("content header truncated");
    let mut c = Cursor::new(payload);
    let class = c.u16().ok_or(SHORT)?;
    let _weight = c.u16().ok_or(SHORT)?;
    let body_size = c.u64().ok_or(SHORT)?;
    let flags = c.u16().ok_or(SHORT)?;
    let mut h = ContentHeader { class, body_size, ..ContentHeader::default() };
    if class != 60 {
        return Ok(h);
    }
    let has = |n: u16| flags & (1 << n) != 0;
    let s = |c: &mut Cursor<'_>| c.vec8().map(text).ok_or(SHORT);
    if has(15) {
        h.content_type = Some(s(&mut c)?);
    }
    if has(14) {
        h.content_encoding = Some(s(&mut c)?);
    }
    if has(13) {
        let raw = c.u32().and_then(|n| c.take(n as usize)).ok_or(SHORT)?;
        h.headers = Some(decode_table(raw, 0, &mut h.notes));
    }
    if has(12) {
        h.delivery_mode = Some(c.u8().ok_or(SHORT)?);
    }
    if has(11) {
        h.priority = Some(c.u8().ok_or(SHORT)?);
    }
    if has(10) {
        h.correlation_id = Some(s(&mut c)?);
    }
    if has(9) {
        h.reply_to = Some(s(&mut c)?);
    }
    if has(8) {
        h.expiration = Some(s(&mut c)?);
    }
    if has(7) {
        h.message_id = Some(s(&mut c)?);
    }
    if has(6) {
        h.timestamp = Some(c.u64().ok_or(SHORT)?);
    }
    if has(5) {
        h.kind = Some(s(&mut c)?);
    }
    if has(4) {
        h.user_id = Some(s(&mut c)?);
    }
    if has(3) {
        h.app_id = Some(s(&mut c)?);
    }
    Ok(h)
}
