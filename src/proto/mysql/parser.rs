//! Pure decoders of the MySQL/MariaDB client/server protocol: packet framing (3-byte
//! little-endian length, sequence id, payloads of 0xffffff continued in the next packet) and
//! the packets wirebeat reads: the server greeting (protocol 10), HandshakeResponse41 and the
//! SSLRequest, OK / ERR / EOF, the text and prepared-statement commands.
//!
//! Bytes in, values out; [`ParseError::Incomplete`] (more bytes may complete it) is never
//! [`ParseError::Malformed`].

use crate::bytes::{Cursor, ParseError};
use crate::proto::{Dir, Transport};

/// Largest payload of one physical packet; a packet this long is continued by the next.
pub const MAX_PACKET: usize = 0xff_ffff;

// Capability flags (the ones read here).
pub const CLIENT_CONNECT_WITH_DB: u32 = 0x0000_0008;
pub const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
pub const CLIENT_SSL: u32 = 0x0000_0800;
pub const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
pub const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;
pub const CLIENT_CONNECT_ATTRS: u32 = 0x0010_0000;
pub const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 0x0020_0000;
pub const CLIENT_SESSION_TRACK: u32 = 0x0080_0000;
pub const CLIENT_DEPRECATE_EOF: u32 = 0x0100_0000;
pub const CLIENT_QUERY_ATTRIBUTES: u32 = 0x0800_0000;

/// One logical packet: its first sequence id, its payload (continuations joined) and the bytes
/// it used on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub seq: u8,
    pub payload: Vec<u8>,
    pub wire: usize,
}

/// Length of the next logical packet in `buf` (headers and continuations), or `Incomplete`.
/// `max` bounds the payload: a longer one is `Malformed` ("packet over the buffer limit").
pub fn packet_len(buf: &[u8], max: usize) -> Result<usize, ParseError> {
    let mut pos = 0usize;
    let mut payload = 0usize;
    loop {
        let Some(h) = buf.get(pos..pos + 4) else { return Err(ParseError::Incomplete) };
        let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
        payload += len;
        if payload > max {
            return Err(ParseError::Malformed("packet over the buffer limit"));
        }
        pos += 4 + len;
        if buf.len() < pos {
            return Err(ParseError::Incomplete);
        }
        if len < MAX_PACKET {
            return Ok(pos);
        }
    }
}

/// The next logical packet of `buf`.
pub fn packet(buf: &[u8], max: usize) -> Result<Packet, ParseError> {
    let wire = packet_len(buf, max)?;
    let seq = buf.get(3).copied().unwrap_or(0);
    let mut payload = Vec::new();
    let mut pos = 0;
    while pos + 4 <= wire {
        let len = buf.get(pos..pos + 3).map_or(0, |h| {
            usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16
        });
        payload.extend_from_slice(buf.get(pos + 4..pos + 4 + len).unwrap_or_default());
        pos += 4 + len;
    }
    Ok(Packet { seq, payload, wire })
}

/// A length-encoded integer; `None` past the end or for the 0xff marker.
pub fn lenenc(c: &mut Cursor<'_>) -> Option<u64> {
    match c.u8()? {
        n @ 0..=0xfa => Some(u64::from(n)),
        0xfc => c.array::<2>().map(|b| u64::from(u16::from_le_bytes(b))),
        0xfd => c.array::<3>().map(|b| u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16),
        0xfe => c.array::<8>().map(u64::from_le_bytes),
        _ => None,
    }
}

/// A length-encoded string.
pub fn lenenc_bytes<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    let n = lenenc(c)?;
    c.take(usize::try_from(n).ok()?)
}

/// A NUL-terminated string (the rest when there is no NUL).
pub fn nul_str<'a>(c: &mut Cursor<'a>) -> &'a [u8] {
    let rest = c.rest();
    match rest.iter().position(|&b| b == 0) {
        Some(i) => {
            let s = rest.get(..i).unwrap_or_default();
            let _ = c.skip(i + 1);
            s
        }
        None => c.take_rest(),
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn u32_le(c: &mut Cursor<'_>) -> Option<u32> {
    c.array::<4>().map(u32::from_le_bytes)
}

fn u16_le(c: &mut Cursor<'_>) -> Option<u16> {
    c.array::<2>().map(u16::from_le_bytes)
}

/// The server's first packet, protocol version 10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub version: String,
    pub connection_id: u32,
    pub capabilities: u32,
    pub auth_plugin: Option<String>,
}

pub fn greeting(p: &[u8]) -> Result<Greeting, ParseError> {
    let mut c = Cursor::new(p);
    match c.u8() {
        Some(10) => {}
        Some(9) => return Err(ParseError::Malformed("protocol version 9 greeting")),
        _ => return Err(ParseError::Malformed("not a protocol 10 greeting")),
    }
    let version = text(nul_str(&mut c));
    let bad = ParseError::Malformed("short greeting");
    let connection_id = u32_le(&mut c).ok_or(bad)?;
    c.skip(9).ok_or(bad)?; // auth data part 1 and filler
    let low = u16_le(&mut c).ok_or(bad)?;
    let mut capabilities = u32::from(low);
    let mut auth_plugin = None;
    if c.remaining() >= 16 {
        let _charset = c.u8();
        let _status = u16_le(&mut c);
        let high = u16_le(&mut c).unwrap_or(0);
        capabilities |= u32::from(high) << 16;
        let auth_len = usize::from(c.u8().unwrap_or(0));
        let _ = c.skip(10);
        if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let _ = c.skip(13usize.max(auth_len.saturating_sub(8)));
        }
        if capabilities & CLIENT_PLUGIN_AUTH != 0 && !c.at_end() {
            auth_plugin = Some(text(nul_str(&mut c)));
        }
    }
    Ok(Greeting { version, connection_id, capabilities, auth_plugin })
}

/// The client's answer to the greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    pub capabilities: u32,
    /// Only the capability flags and the charset: the client switches to TLS now.
    pub ssl_request: bool,
    pub user: Option<String>,
    pub database: Option<String>,
    pub auth_plugin: Option<String>,
}

pub fn handshake_response(p: &[u8]) -> Result<HandshakeResponse, ParseError> {
    let mut c = Cursor::new(p);
    let bad = ParseError::Malformed("short handshake response");
    let low = u16_le(&mut c).ok_or(bad)?;
    if u32::from(low) & CLIENT_PROTOCOL_41 == 0 {
        // HandshakeResponse320: capabilities (2), max packet (3), user, auth data.
        c.skip(3).ok_or(bad)?;
        let ssl = u32::from(low) & CLIENT_SSL != 0 && c.at_end();
        let user = (!c.at_end()).then(|| text(nul_str(&mut c)));
        return Ok(HandshakeResponse {
            capabilities: u32::from(low),
            ssl_request: ssl,
            user,
            database: None,
            auth_plugin: None,
        });
    }
    c.seek(0);
    let caps = u32_le(&mut c).ok_or(bad)?;
    c.skip(4 + 1 + 23).ok_or(bad)?; // max packet, charset, filler
    if c.at_end() {
        if caps & CLIENT_SSL != 0 {
            return Ok(HandshakeResponse {
                capabilities: caps,
                ssl_request: true,
                user: None,
                database: None,
                auth_plugin: None,
            });
        }
        return Err(bad);
    }
    let user = Some(text(nul_str(&mut c)));
    let auth_ok = if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        lenenc_bytes(&mut c).is_some()
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        c.u8().and_then(|n| c.take(usize::from(n))).is_some()
    } else {
        let _ = nul_str(&mut c);
        true
    };
    let mut database = None;
    let mut auth_plugin = None;
    if auth_ok {
        if caps & CLIENT_CONNECT_WITH_DB != 0 && !c.at_end() {
            database = Some(text(nul_str(&mut c))).filter(|d| !d.is_empty());
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 && !c.at_end() {
            auth_plugin = Some(text(nul_str(&mut c))).filter(|d| !d.is_empty());
        }
    }
    Ok(HandshakeResponse { capabilities: caps, ssl_request: false, user, database, auth_plugin })
}

/// An OK packet (header 0x00, or 0xfe ending a result set under CLIENT_DEPRECATE_EOF).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ok {
    pub affected_rows: u64,
    pub insert_id: u64,
    pub status: u16,
    pub warnings: u16,
}

pub fn ok(p: &[u8]) -> Option<Ok> {
    let mut c = Cursor::new(p);
    c.u8()?;
    let affected_rows = lenenc(&mut c)?;
    let insert_id = lenenc(&mut c)?;
    let status = u16_le(&mut c).unwrap_or(0);
    let warnings = u16_le(&mut c).unwrap_or(0);
    Some(Ok { affected_rows, insert_id, status, warnings })
}

/// An ERR packet (header 0xff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Err {
    pub code: u16,
    pub sql_state: Option<String>,
    pub message: String,
}

pub fn err(p: &[u8]) -> Option<Err> {
    let mut c = Cursor::new(p);
    if c.u8()? != 0xff {
        return None;
    }
    let code = u16_le(&mut c)?;
    let mut sql_state = None;
    if c.rest().first() == Some(&b'#') {
        let _ = c.skip(1);
        sql_state = c.take(5).map(text);
    }
    Some(Err { code, sql_state, message: text(c.take_rest()) })
}

/// An EOF packet: 0xfe and shorter than 9 bytes (a longer 0xfe is a length-encoded integer
/// in a row, or an OK under CLIENT_DEPRECATE_EOF, which [`ok`] reads).
pub fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xfe) && p.len() < 9
}

/// The end of a result set's rows: an EOF, or (CLIENT_DEPRECATE_EOF) an OK with header 0xfe.
pub fn ends_rows(p: &[u8], deprecate_eof: bool) -> bool {
    p.first() == Some(&0xfe) && (p.len() < 9 || (deprecate_eof && p.len() < MAX_PACKET))
}

/// Command bytes and their names.
pub fn command_name(c: u8) -> &'static str {
    match c {
        0x00 => "COM_SLEEP",
        0x01 => "COM_QUIT",
        0x02 => "COM_INIT_DB",
        0x03 => "COM_QUERY",
        0x04 => "COM_FIELD_LIST",
        0x05 => "COM_CREATE_DB",
        0x06 => "COM_DROP_DB",
        0x07 => "COM_REFRESH",
        0x08 => "COM_SHUTDOWN",
        0x09 => "COM_STATISTICS",
        0x0a => "COM_PROCESS_INFO",
        0x0b => "COM_CONNECT",
        0x0c => "COM_PROCESS_KILL",
        0x0d => "COM_DEBUG",
        0x0e => "COM_PING",
        0x0f => "COM_TIME",
        0x10 => "COM_DELAYED_INSERT",
        0x11 => "COM_CHANGE_USER",
        0x12 => "COM_BINLOG_DUMP",
        0x13 => "COM_TABLE_DUMP",
        0x14 => "COM_CONNECT_OUT",
        0x15 => "COM_REGISTER_SLAVE",
        0x16 => "COM_STMT_PREPARE",
        0x17 => "COM_STMT_EXECUTE",
        0x18 => "COM_STMT_SEND_LONG_DATA",
        0x19 => "COM_STMT_CLOSE",
        0x1a => "COM_STMT_RESET",
        0x1b => "COM_SET_OPTION",
        0x1c => "COM_STMT_FETCH",
        0x1d => "COM_DAEMON",
        0x1e => "COM_BINLOG_DUMP_GTID",
        0x1f => "COM_RESET_CONNECTION",
        0x20 => "COM_CLONE",
        0xfa => "COM_MULTI",
        0xfe => "COM_STMT_BULK_EXECUTE",
        _ => "COM_UNKNOWN",
    }
}

pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_STATISTICS: u8 = 0x09;
pub const COM_CHANGE_USER: u8 = 0x11;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1a;
pub const COM_STMT_FETCH: u8 = 0x1c;

/// A command the client sent (sequence id 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub code: u8,
    /// SQL text (COM_QUERY, COM_STMT_PREPARE), database (COM_INIT_DB), table (COM_FIELD_LIST).
    pub text: Option<String>,
    /// COM_STMT_EXECUTE / CLOSE / RESET / FETCH / SEND_LONG_DATA.
    pub statement_id: Option<u32>,
    /// COM_QUERY with CLIENT_QUERY_ATTRIBUTES: attributes sent with it.
    pub query_attributes: u64,
    /// COM_CHANGE_USER.
    pub user: Option<String>,
    pub database: Option<String>,
}

/// Decodes a command packet's payload. `caps` are the capabilities both sides agreed on.
pub fn command(p: &[u8], caps: u32) -> Result<Command, ParseError> {
    let mut c = Cursor::new(p);
    let code = c.u8().ok_or(ParseError::Malformed("empty command packet"))?;
    let mut cmd = Command {
        code,
        text: None,
        statement_id: None,
        query_attributes: 0,
        user: None,
        database: None,
    };
    match code {
        COM_QUERY => {
            if caps & CLIENT_QUERY_ATTRIBUTES != 0 {
                let bad = ParseError::Malformed("bad query attributes");
                let n = lenenc(&mut c).ok_or(bad)?;
                let _sets = lenenc(&mut c).ok_or(bad)?;
                cmd.query_attributes = n;
                if n > 0 {
                    skip_params(&mut c, n, true).ok_or(bad)?;
                }
            }
            cmd.text = Some(text(c.take_rest()));
        }
        COM_STMT_PREPARE | COM_INIT_DB | 0x05 | 0x06 => cmd.text = Some(text(c.take_rest())),
        COM_FIELD_LIST => cmd.text = Some(text(nul_str(&mut c))),
        COM_STMT_EXECUTE | COM_STMT_CLOSE | COM_STMT_RESET | COM_STMT_FETCH | COM_STMT_SEND_LONG_DATA => {
            cmd.statement_id =
                Some(u32_le(&mut c).ok_or(ParseError::Malformed("short statement command"))?);
        }
        COM_CHANGE_USER => {
            cmd.user = Some(text(nul_str(&mut c)));
            // auth data (1-byte length with CLIENT_SECURE_CONNECTION, else NUL-terminated)
            let skipped = if caps & CLIENT_SECURE_CONNECTION != 0 {
                c.u8().and_then(|n| c.take(usize::from(n))).is_some()
            } else {
                let _ = nul_str(&mut c);
                true
            };
            if skipped && !c.at_end() {
                cmd.database = Some(text(nul_str(&mut c))).filter(|d| !d.is_empty());
            }
        }
        _ => {}
    }
    Ok(cmd)
}

/// Skips the parameter block of query attributes: null bitmap, new-params flag, (type, name)
/// per parameter, then the values. `None` when the block does not fit.
fn skip_params(c: &mut Cursor<'_>, n: u64, named: bool) -> Option<()> {
    let n = usize::try_from(n).ok()?;
    let nulls = c.take(n.div_ceil(8))?.to_vec();
    let bind = c.u8()?;
    if bind != 1 {
        return None;
    }
    let mut types = Vec::new();
    for _ in 0..n {
        let t = c.array::<2>()?;
        types.push(t[0]);
        if named {
            lenenc_bytes(c)?;
        }
    }
    for (i, t) in types.iter().enumerate() {
        if nulls.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0) {
            continue;
        }
        let fixed = match t {
            0x01 => 1,                      // TINY
            0x02 | 0x0d => 2,               // SHORT, YEAR
            0x03 | 0x09 | 0x04 => 4,        // LONG, INT24, FLOAT
            0x05 | 0x08 => 8,               // DOUBLE, LONGLONG
            0x06 => 0,                      // NULL
            0x07 | 0x0a | 0x0b | 0x0c => {  // TIMESTAMP, DATE, TIME, DATETIME: length byte
                let l = c.u8()?;
                c.skip(usize::from(l))?;
                continue;
            }
            _ => {
                lenenc_bytes(c)?;
                continue;
            }
        };
        c.skip(fixed)?;
    }
    Some(())
}

/// The OK answering COM_STMT_PREPARE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareOk {
    pub statement_id: u32,
    pub columns: u16,
    pub params: u16,
}

pub fn prepare_ok(p: &[u8]) -> Option<PrepareOk> {
    let mut c = Cursor::new(p);
    if c.u8()? != 0 {
        return None;
    }
    let statement_id = u32_le(&mut c)?;
    let columns = u16_le(&mut c)?;
    let params = u16_le(&mut c)?;
    Some(PrepareOk { statement_id, columns, params })
}

/// The column count that starts a result set, and whether column definitions follow: MariaDB
/// with MARIADB_CLIENT_CACHE_METADATA adds a byte, 0 when the client has them cached.
pub fn column_count(p: &[u8]) -> Option<(u64, bool)> {
    let mut c = Cursor::new(p);
    let n = lenenc(&mut c)?;
    match c.remaining() {
        0 => Some((n, true)),
        1 => Some((n, c.u8()? != 0)),
        _ => None,
    }
}

/// Content probe: a server greeting (length, sequence 0, protocol 10, a printable version
/// string ending in NUL).
pub fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    if t != Transport::Tcp || dir != Dir::ToClient {
        return false;
    }
    let Some(h) = b.get(..5) else { return false };
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    if h[3] != 0 || h[4] != 10 || !(40..=1024).contains(&len) {
        return false;
    }
    let rest = b.get(5..).unwrap_or_default();
    let Some(nul) = rest.iter().position(|&c| c == 0) else { return false };
    (1..=64).contains(&nul)
        && rest.get(..nul).is_some_and(|v| v.first().is_some_and(u8::is_ascii_digit))
        && rest.get(..nul).is_some_and(|v| v.iter().all(|c| c.is_ascii_graphic()))
}

/// Packetbeat's `method`: the first word of the SQL text, uppercased.
pub fn sql_method(sql: &str) -> Option<String> {
    let s = skip_comments(sql);
    let w: String = s.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '_').collect();
    (!w.is_empty()).then(|| w.to_ascii_uppercase())
}

fn skip_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(r) = s.strip_prefix("/*") {
            s = r.split_once("*/").map_or("", |(_, r)| r);
        } else if let Some(r) = s.strip_prefix("-- ").or_else(|| s.strip_prefix('#')) {
            s = r.split_once('\n').map_or("", |(_, r)| r);
        } else {
            return s;
        }
    }
}

/// The table a simple statement names (`SELECT … FROM t`, `INSERT INTO t`, `UPDATE t`,
/// `DELETE FROM t`, `CREATE/DROP/ALTER/TRUNCATE TABLE t`), when cheap to see.
pub fn sql_table(sql: &str) -> Option<String> {
    let words: Vec<&str> = skip_comments(sql).split_whitespace().take(64).collect();
    let up = |w: &str| w.to_ascii_uppercase();
    let first = up(words.first()?);
    let after = |kw: &str| {
        words.iter().position(|w| up(w) == kw).and_then(|i| words.get(i + 1)).copied()
    };
    let name = match first.as_str() {
        "SELECT" | "DELETE" => after("FROM"),
        "INSERT" | "REPLACE" => after("INTO"),
        "UPDATE" => words.get(1).copied(),
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" => {
            let i = words.iter().position(|w| up(w) == "TABLE")?;
            let mut j = i + 1;
            while words.get(j).is_some_and(|w| matches!(up(w).as_str(), "IF" | "NOT" | "EXISTS")) {
                j += 1;
            }
            words.get(j).copied()
        }
        _ => None,
    }?;
    let name: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '`' | '$'))
        .filter(|c| *c != '`')
        .collect();
    (!name.is_empty() && !name.starts_with('(')).then_some(name)
}
