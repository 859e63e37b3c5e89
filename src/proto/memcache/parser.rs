//! Pure parsers of the memcache text and binary protocols, and of the 8-byte UDP frame header.
//!
//! Text: a request is a command line (`set k 0 0 5 [noreply]` followed by a data block of the
//! stated byte count, `get k1 k2`, `delete k`, …); a server message is one line (`STORED`,
//! `ERROR`, a number, …), a `VALUE key flags bytes [cas]` line and its data block, a `STAT` line,
//! or `END`. Meta commands (`mg`, `ms`, `md`, `ma`, `mn`) and their replies (`HD`, `VA`, `EN`, …)
//! are read too. Binary: a 24-byte header (magic 0x80 request / 0x81 response, opcode, key
//! length, extras length, data type, vbucket or status, total body length, opaque, CAS) and a
//! body of extras, key and value.

use crate::bytes::{ParseError, View};

/// Longest text line before the message is malformed.
pub const MAX_LINE: usize = 8 * 1024;
/// Keys of one request kept (the count is exact).
pub const MAX_KEYS: usize = 100;
/// Largest value (data block or binary body) accepted.
pub const MAX_VALUE: u64 = 1 << 30;

/// A request, text or binary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Text command (`set`, `get`, …; binary opcodes are translated: `GetQ` → `get`).
    pub command: String,
    /// Binary opcode name (`Get`, `SetQ`, …).
    pub opcode: Option<&'static str>,
    pub opcode_value: Option<u8>,
    pub keys: Vec<String>,
    pub key_count: usize,
    /// Values sent (storage commands).
    pub count_values: u64,
    /// Bytes of the values sent.
    pub bytes: u64,
    pub exptime: Option<u32>,
    pub flags: Option<u32>,
    pub cas_unique: Option<u64>,
    pub delta: Option<u64>,
    /// Text `noreply`, a quiet meta flag (`q`): no reply is sent on success.
    pub noreply: bool,
    /// Binary quiet opcode: no reply on success (or on a miss for GetQ).
    pub quiet: bool,
    pub opaque: Option<u32>,
    /// The line of a command not known (`bogus …`).
    pub line: Option<String>,
}

/// A response (one text line or value block, or a binary message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Text: the first word (`STORED`, `VALUE`, `END`); binary: the request command.
    pub command: String,
    pub opcode: Option<&'static str>,
    /// Binary status name (`Success`, `KeyNotFound`, …) and code.
    pub status: Option<&'static str>,
    pub status_code: Option<u16>,
    /// Text of `CLIENT_ERROR`/`SERVER_ERROR`, or the body of a binary error.
    pub error_msg: Option<String>,
    pub keys: Vec<String>,
    pub count_values: u64,
    pub bytes: u64,
    /// Result of incr/decr.
    pub value: Option<u64>,
    pub version: Option<String>,
    pub opaque: Option<u32>,
    pub cas_unique: Option<u64>,
    pub is_error: bool,
}

/// One unit of a text server stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextUnit {
    /// `VALUE key flags bytes [cas]` and its data: part of a retrieval reply.
    Value { key: String, bytes: u64, cas: Option<u64> },
    /// `STAT name value`: part of a stats reply.
    Stat,
    /// `END`: ends a retrieval or stats reply.
    End,
    /// A whole reply.
    Reply(Response),
}

fn line(buf: &[u8]) -> Result<(&[u8], usize), ParseError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(nl) if nl > MAX_LINE => Err(ParseError::Malformed("line too long")),
        Some(nl) => {
            let l = buf.get(..nl).unwrap_or_default();
            Ok((l.strip_suffix(b"\r").unwrap_or(l), nl + 1))
        }
        None if buf.len() > MAX_LINE => Err(ParseError::Malformed("line too long")),
        None => Err(ParseError::Incomplete),
    }
}

fn words(l: &[u8]) -> Vec<&str> {
    std::str::from_utf8(l).unwrap_or("").split_ascii_whitespace().collect()
}

fn num<T: std::str::FromStr>(w: Option<&&str>) -> Result<T, ParseError> {
    w.and_then(|s| s.parse().ok()).ok_or(ParseError::Malformed("bad number"))
}

/// A data block of `n` bytes and its CRLF at `at`; the end.
fn block(buf: &[u8], at: usize, n: u64) -> Result<usize, ParseError> {
    if n > MAX_VALUE {
        return Err(ParseError::Malformed("value too large"));
    }
    let end = at + n as usize;
    if buf.len() < end + 2 {
        return Err(ParseError::Incomplete);
    }
    if buf.get(end..end + 2) != Some(b"\r\n") {
        return Err(ParseError::Malformed("data block not ended by CRLF"));
    }
    Ok(end + 2)
}

fn keep_keys(req: &mut Request, keys: &[&str]) {
    req.key_count = keys.len();
    req.keys = keys.iter().take(MAX_KEYS).map(|k| (*k).to_owned()).collect();
}

/// Whether the first byte starts a binary message.
pub fn is_binary(b: u8) -> bool {
    b == 0x80 || b == 0x81
}

/// One text request from the start of `buf` and the bytes it used. An empty line gives `None`.
pub fn parse_text_request(buf: &[u8]) -> Result<(Option<Request>, usize), ParseError> {
    let (l, next) = line(buf)?;
    if l.iter().any(|&b| b < 0x20 && b != b'\t') {
        return Err(ParseError::Malformed("control byte in a command line"));
    }
    let w = words(l);
    let Some(cmd) = w.first() else { return Ok((None, next)) };
    let mut req = Request { command: (*cmd).to_owned(), ..Request::default() };
    let last_noreply = w.last() == Some(&"noreply") && w.len() > 1;
    let mut used = next;
    match *cmd {
        "set" | "add" | "replace" | "append" | "prepend" | "cas" => {
            keep_keys(&mut req, w.get(1..2).unwrap_or_default());
            let head = (|| -> Result<(u32, u32, u64, Option<u64>), ParseError> {
                let cas = if *cmd == "cas" { Some(num(w.get(5))?) } else { None };
                Ok((num(w.get(2))?, num(w.get(3))?, num(w.get(4))?, cas))
            })();
            match head {
                Ok((flags, exptime, bytes, cas)) => {
                    req.flags = Some(flags);
                    req.exptime = Some(exptime);
                    req.bytes = bytes;
                    req.cas_unique = cas;
                    req.count_values = 1;
                    req.noreply = last_noreply;
                    used = block(buf, next, req.bytes)?;
                }
                // The server answers a bad command line with CLIENT_ERROR and reads no data
                // block: so does this parser, keeping the line.
                Err(_) => req.line = Some(String::from_utf8_lossy(l).into_owned()),
            }
        }
        "get" | "gets" => keep_keys(&mut req, w.get(1..).unwrap_or_default()),
        "gat" | "gats" => {
            req.exptime = Some(num(w.get(1))?);
            keep_keys(&mut req, w.get(2..).unwrap_or_default());
        }
        "delete" => {
            keep_keys(&mut req, w.get(1..2).unwrap_or_default());
            req.noreply = last_noreply;
        }
        "incr" | "decr" => {
            keep_keys(&mut req, w.get(1..2).unwrap_or_default());
            req.delta = w.get(2).and_then(|s| s.parse().ok());
            req.noreply = last_noreply;
        }
        "touch" => {
            keep_keys(&mut req, w.get(1..2).unwrap_or_default());
            req.exptime = w.get(2).and_then(|s| s.parse().ok());
            req.noreply = last_noreply;
        }
        "flush_all" | "verbosity" => req.noreply = last_noreply,
        "stats" | "version" | "quit" | "mn" | "shutdown" | "cache_memlimit" | "lru_crawler"
        | "slabs" | "watch" | "misbehave" => {}
        "mg" | "md" | "ma" | "me" => {
            keep_keys(&mut req, w.get(1..2).unwrap_or_default());
            req.noreply = w.iter().skip(2).any(|f| *f == "q");
        }
        "ms" => {
            keep_keys(&mut req, w.get(1..2).unwrap_or_default());
            req.bytes = num(w.get(2))?;
            req.count_values = 1;
            req.noreply = w.iter().skip(3).any(|f| *f == "q");
            used = block(buf, next, req.bytes)?;
        }
        _ => req.line = Some(String::from_utf8_lossy(l).into_owned()),
    }
    Ok((Some(req), used))
}

/// One unit of a text server stream from the start of `buf` and the bytes it used.
pub fn parse_text_response(buf: &[u8]) -> Result<(TextUnit, usize), ParseError> {
    let (l, next) = line(buf)?;
    let w = words(l);
    let first = w.first().copied().unwrap_or("");
    let reply = |r: Response| Ok((TextUnit::Reply(r), next));
    let mut r = Response { command: first.to_owned(), ..Response::default() };
    match first {
        "VALUE" => {
            let bytes: u64 = num(w.get(3))?;
            let key = w.get(1).map(|k| (*k).to_owned()).unwrap_or_default();
            let cas = w.get(4).and_then(|s| s.parse().ok());
            let end = block(buf, next, bytes)?;
            Ok((TextUnit::Value { key, bytes, cas }, end))
        }
        "STAT" => Ok((TextUnit::Stat, next)),
        "END" => Ok((TextUnit::End, next)),
        "VA" => {
            let bytes: u64 = num(w.get(1))?;
            let end = block(buf, next, bytes)?;
            r.count_values = 1;
            r.bytes = bytes;
            Ok((TextUnit::Reply(r), end))
        }
        "ERROR" => {
            r.is_error = true;
            reply(r)
        }
        "CLIENT_ERROR" | "SERVER_ERROR" => {
            r.is_error = true;
            let msg = l.get(first.len()..).unwrap_or_default();
            r.error_msg = Some(String::from_utf8_lossy(msg).trim().to_owned());
            reply(r)
        }
        "VERSION" => {
            r.version = w.get(1).map(|v| (*v).to_owned());
            reply(r)
        }
        "STORED" | "NOT_STORED" | "EXISTS" | "NOT_FOUND" | "DELETED" | "TOUCHED" | "OK" | "HD"
        | "EN" | "NF" | "NS" | "EX" | "MN" | "ME" | "RESET" | "BUSY" | "BADCLASS" | "NOSPARE"
        | "NOTFULL" | "UNSAFE" | "SAME" => reply(r),
        _ if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) => {
            r.value = first.parse().ok();
            r.command = "VALUE".into();
            reply(r)
        }
        _ => Err(ParseError::Malformed("unknown response line")),
    }
}

/// Binary opcodes: (value, name, text command, quiet).
const OPCODES: &[(u8, &str, &str, bool)] = &[
    (0x00, "Get", "get", false),
    (0x01, "Set", "set", false),
    (0x02, "Add", "add", false),
    (0x03, "Replace", "replace", false),
    (0x04, "Delete", "delete", false),
    (0x05, "Increment", "incr", false),
    (0x06, "Decrement", "decr", false),
    (0x07, "Quit", "quit", false),
    (0x08, "Flush", "flush_all", false),
    (0x09, "GetQ", "get", true),
    (0x0a, "Noop", "noop", false),
    (0x0b, "Version", "version", false),
    (0x0c, "GetK", "get", false),
    (0x0d, "GetKQ", "get", true),
    (0x0e, "Append", "append", false),
    (0x0f, "Prepend", "prepend", false),
    (0x10, "Stat", "stats", false),
    (0x11, "SetQ", "set", true),
    (0x12, "AddQ", "add", true),
    (0x13, "ReplaceQ", "replace", true),
    (0x14, "DeleteQ", "delete", true),
    (0x15, "IncrementQ", "incr", true),
    (0x16, "DecrementQ", "decr", true),
    (0x17, "QuitQ", "quit", true),
    (0x18, "FlushQ", "flush_all", true),
    (0x19, "AppendQ", "append", true),
    (0x1a, "PrependQ", "prepend", true),
    (0x1b, "Verbosity", "verbosity", false),
    (0x1c, "Touch", "touch", false),
    (0x1d, "GAT", "gat", false),
    (0x1e, "GATQ", "gat", true),
    (0x20, "SASLListMechs", "sasl_list_mechs", false),
    (0x21, "SASLAuth", "sasl_auth", false),
    (0x22, "SASLStep", "sasl_step", false),
    (0x23, "GATK", "gat", false),
    (0x24, "GATKQ", "gat", true),
];

/// Name, text command and quietness of a binary opcode.
pub fn opcode(v: u8) -> (&'static str, &'static str, bool) {
    OPCODES
        .iter()
        .find(|o| o.0 == v)
        .map(|o| (o.1, o.2, o.3))
        .unwrap_or(("Unknown", "unknown", false))
}

/// Name of a binary response status.
pub fn status_name(s: u16) -> &'static str {
    match s {
        0x00 => "Success",
        0x01 => "KeyNotFound",
        0x02 => "KeyExists",
        0x03 => "ValueTooLarge",
        0x04 => "InvalidArguments",
        0x05 => "ItemNotStored",
        0x06 => "NonNumericValue",
        0x07 => "VBucketBelongsToAnotherServer",
        0x08 => "AuthError",
        0x09 => "AuthContinue",
        0x81 => "UnknownCommand",
        0x82 => "OutOfMemory",
        0x83 => "NotSupported",
        0x84 => "InternalError",
        0x85 => "Busy",
        0x86 => "TemporaryFailure",
        _ => "Unknown",
    }
}

/// A binary message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binary {
    Request(Request),
    Response(Response),
}

/// One binary message from the start of `buf` and the bytes it used.
pub fn parse_binary(buf: &[u8]) -> Result<(Binary, usize), ParseError> {
    let v = View(buf);
    let Some(magic) = v.u8(0) else { return Err(ParseError::Incomplete) };
    if !is_binary(magic) {
        return Err(ParseError::Malformed("bad magic"));
    }
    let (Some(op), Some(key_len), Some(extras_len), Some(vs), Some(total), Some(opaque), Some(cas)) =
        (v.u8(1), v.u16(2), v.u8(4), v.u16(6), v.u32(8), v.u32(12), v.u64(16))
    else {
        return Err(ParseError::Incomplete);
    };
    if u64::from(total) > MAX_VALUE {
        return Err(ParseError::Malformed("body too large"));
    }
    let (extras_len, key_len, total) = (usize::from(extras_len), usize::from(key_len), total as usize);
    if extras_len + key_len > total {
        return Err(ParseError::Malformed("key and extras longer than the body"));
    }
    let end = 24 + total;
    if buf.len() < end {
        return Err(ParseError::Incomplete);
    }
    let extras = View(v.slice(24, extras_len).unwrap_or_default());
    let key = v.slice(24 + extras_len, key_len).unwrap_or_default();
    let value_len = (total - extras_len - key_len) as u64;
    let (name, command, quiet) = opcode(op);
    let key_text = String::from_utf8_lossy(key).into_owned();
    if magic == 0x80 {
        let mut r = Request {
            command: command.to_owned(),
            opcode: Some(name),
            opcode_value: Some(op),
            quiet,
            opaque: Some(opaque),
            ..Request::default()
        };
        if !key.is_empty() {
            r.keys = vec![key_text];
            r.key_count = 1;
        }
        if cas != 0 {
            r.cas_unique = Some(cas);
        }
        match command {
            "set" | "add" | "replace" => {
                r.flags = extras.u32(0);
                r.exptime = extras.u32(4);
                r.count_values = 1;
                r.bytes = value_len;
            }
            "append" | "prepend" => {
                r.count_values = 1;
                r.bytes = value_len;
            }
            "incr" | "decr" => {
                r.delta = extras.u64(0);
                r.exptime = extras.u32(16);
            }
            "touch" | "gat" | "flush_all" => r.exptime = extras.u32(0),
            _ => {}
        }
        Ok((Binary::Request(r), end))
    } else {
        let mut r = Response {
            command: command.to_owned(),
            opcode: Some(name),
            status: Some(status_name(vs)),
            status_code: Some(vs),
            opaque: Some(opaque),
            is_error: vs != 0,
            ..Response::default()
        };
        if cas != 0 {
            r.cas_unique = Some(cas);
        }
        if !key.is_empty() {
            r.keys = vec![key_text];
        }
        let value = v.slice(24 + extras_len + key_len, value_len as usize).unwrap_or_default();
        if vs != 0 {
            r.error_msg = Some(String::from_utf8_lossy(value).into_owned());
        } else {
            match command {
                "get" | "gat" => {
                    r.count_values = 1;
                    r.bytes = value_len;
                }
                "incr" | "decr" => r.value = View(value).u64(0),
                "version" => r.version = Some(String::from_utf8_lossy(value).into_owned()),
                _ => {}
            }
        }
        Ok((Binary::Response(r), end))
    }
}

/// The UDP frame header: request id, sequence number, datagram count.
pub type UdpFrame = (u16, u16, u16);

/// The UDP frame header and the payload.
pub fn udp_frame(d: &[u8]) -> Option<(UdpFrame, &[u8])> {
    let v = View(d);
    Some(((v.u16(0)?, v.u16(2)?, v.u16(4)?), v.from(8)?))
}
