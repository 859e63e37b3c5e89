//! Pure parser of the CQL native protocol, versions 3 to 5: the 9-byte frame header (version
//! with the response bit 0x80, flags, stream id, opcode, length), the bodies wirebeat reports
//! (STARTUP options, AUTHENTICATE class, QUERY / PREPARE text, EXECUTE id, BATCH statements,
//! RESULT kinds, ERROR code and message, EVENT), and the v5 segments that carry frames once a
//! v5 connection is set up. Compressed bodies (flag 0x01) are not opened.

use crate::bytes::{ParseError, View};

pub const ERROR: u8 = 0x00;
pub const STARTUP: u8 = 0x01;
pub const READY: u8 = 0x02;
pub const AUTHENTICATE: u8 = 0x03;
pub const OPTIONS: u8 = 0x05;
pub const SUPPORTED: u8 = 0x06;
pub const QUERY: u8 = 0x07;
pub const RESULT: u8 = 0x08;
pub const PREPARE: u8 = 0x09;
pub const EXECUTE: u8 = 0x0A;
pub const REGISTER: u8 = 0x0B;
pub const EVENT: u8 = 0x0C;
pub const BATCH: u8 = 0x0D;
pub const AUTH_CHALLENGE: u8 = 0x0E;
pub const AUTH_RESPONSE: u8 = 0x0F;
pub const AUTH_SUCCESS: u8 = 0x10;

pub const FLAG_COMPRESSION: u8 = 0x01;
pub const FLAG_TRACING: u8 = 0x02;
pub const FLAG_CUSTOM_PAYLOAD: u8 = 0x04;
pub const FLAG_WARNING: u8 = 0x08;
pub const FLAG_BETA: u8 = 0x10;

pub const HEADER_LEN: usize = 9;

/// Largest frame body a server accepts by default (`native_transport_max_frame_size`, 256 MiB).
pub const MAX_FRAME_BYTES: usize = 256 << 20;

/// Statements of a BATCH and warnings of a response listed at most.
pub const MAX_LIST: usize = 100;

/// Nesting of column types read at most (list<map<text, frozen<tuple<…>>>>).
const MAX_TYPE_DEPTH: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub response: bool,
    pub flags: u8,
    pub stream: i16,
    pub opcode: u8,
    pub length: usize,
}

pub fn op_name(op: u8) -> &'static str {
    match op {
        ERROR => "ERROR",
        STARTUP => "STARTUP",
        READY => "READY",
        AUTHENTICATE => "AUTHENTICATE",
        OPTIONS => "OPTIONS",
        SUPPORTED => "SUPPORTED",
        QUERY => "QUERY",
        RESULT => "RESULT",
        PREPARE => "PREPARE",
        EXECUTE => "EXECUTE",
        REGISTER => "REGISTER",
        EVENT => "EVENT",
        BATCH => "BATCH",
        AUTH_CHALLENGE => "AUTH_CHALLENGE",
        AUTH_RESPONSE => "AUTH_RESPONSE",
        AUTH_SUCCESS => "AUTH_SUCCESS",
        _ => "UNKNOWN",
    }
}

/// Packetbeat's names of the header flags, joined by `|`; `Default` when none is set.
pub fn flag_names(flags: u8) -> String {
    let names: Vec<&str> = [
        (FLAG_COMPRESSION, "Compress"),
        (FLAG_TRACING, "Tracing"),
        (FLAG_CUSTOM_PAYLOAD, "CustomPayload"),
        (FLAG_WARNING, "Warning"),
        (FLAG_BETA, "UseBeta"),
    ]
    .iter()
    .filter(|(b, _)| flags & b != 0)
    .map(|(_, n)| *n)
    .collect();
    if names.is_empty() {
        "Default".to_owned()
    } else {
        names.join("|")
    }
}

/// Whether a request opcode (sent by clients) or a response opcode.
fn is_request_op(op: u8) -> bool {
    matches!(op, STARTUP | OPTIONS | QUERY | PREPARE | EXECUTE | REGISTER | BATCH | AUTH_RESPONSE)
}

/// The frame header at the start of `buf`.
pub fn header(buf: &[u8]) -> Result<Header, ParseError> {
    let v = View(buf);
    let Some(b) = v.array::<HEADER_LEN>(0) else {
        // A version byte that no continuation makes valid is malformed already.
        if let Some(vb) = v.u8(0) {
            if !(3..=5).contains(&(vb & 0x7F)) {
                return Err(ParseError::Malformed("unsupported protocol version"));
            }
        }
        return Err(ParseError::Incomplete);
    };
    let version = b[0] & 0x7F;
    if !(3..=5).contains(&version) {
        return Err(ParseError::Malformed("unsupported protocol version"));
    }
    let response = b[0] & 0x80 != 0;
    let opcode = b[4];
    if opcode > AUTH_SUCCESS || opcode == 0x04 {
        return Err(ParseError::Malformed("unknown opcode"));
    }
    if is_request_op(opcode) == response {
        return Err(ParseError::Malformed("opcode in the wrong direction"));
    }
    let length = u32::from_be_bytes([b[5], b[6], b[7], b[8]]) as usize;
    if length > MAX_FRAME_BYTES {
        return Err(ParseError::Malformed("frame length over 256 MiB"));
    }
    Ok(Header {
        version,
        response,
        flags: b[1],
        stream: i16::from_be_bytes([b[2], b[3]]),
        opcode,
        length,
    })
}

/// One whole frame: its header and body. Every proper prefix is `Incomplete`.
#[cfg(test)]
pub fn frame(buf: &[u8]) -> Result<(Header, &[u8]), ParseError> {
    let h = header(buf)?;
    let body = buf.get(HEADER_LEN..HEADER_LEN + h.length).ok_or(ParseError::Incomplete)?;
    Ok((h, body))
}

/// Reads of the protocol's notations over a body; `None` past the end.
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, at: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    pub fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    pub fn short(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_be_bytes([s[0], s[1]]))
    }
    pub fn int(&mut self) -> Option<i32> {
        self.take(4).map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn string(&mut self) -> Option<String> {
        let n = usize::from(self.short()?);
        self.take(n).map(|s| String::from_utf8_lossy(s).into_owned())
    }
    pub fn long_string(&mut self) -> Option<String> {
        let n = usize::try_from(self.int()?).ok()?;
        self.take(n).map(|s| String::from_utf8_lossy(s).into_owned())
    }
    /// `[bytes]`: `None` inside for a null (negative length).
    pub fn bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let n = self.int()?;
        if n < 0 {
            return Some(None);
        }
        self.take(n as usize).map(Some)
    }
    pub fn short_bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.short()?);
        self.take(n)
    }
    pub fn string_list(&mut self) -> Option<Vec<String>> {
        let n = usize::from(self.short()?);
        let mut out = Vec::new();
        for _ in 0..n {
            let s = self.string()?;
            if out.len() < MAX_LIST {
                out.push(s);
            }
        }
        Some(out)
    }
    pub fn string_map(&mut self) -> Option<Vec<(String, String)>> {
        let n = usize::from(self.short()?);
        let mut out = Vec::new();
        for _ in 0..n {
            let kv = (self.string()?, self.string()?);
            if out.len() < MAX_LIST {
                out.push(kv);
            }
        }
        Some(out)
    }
    pub fn string_multimap(&mut self) -> Option<Vec<(String, Vec<String>)>> {
        let n = usize::from(self.short()?);
        let mut out = Vec::new();
        for _ in 0..n {
            let kv = (self.string()?, self.string_list()?);
            if out.len() < MAX_LIST {
                out.push(kv);
            }
        }
        Some(out)
    }
    fn bytes_map(&mut self) -> Option<()> {
        let n = usize::from(self.short()?);
        for _ in 0..n {
            self.string()?;
            self.bytes()?;
        }
        Some(())
    }
    /// A column type `[option]`, skipped.
    fn option(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_TYPE_DEPTH {
            return None;
        }
        match self.short()? {
            0x0000 => {
                self.string()?;
            }
            0x0020 | 0x0022 => self.option(depth + 1)?,
            0x0021 => {
                self.option(depth + 1)?;
                self.option(depth + 1)?;
            }
            0x0030 => {
                self.string()?;
                self.string()?;
                for _ in 0..self.short()? {
                    self.string()?;
                    self.option(depth + 1)?;
                }
            }
            0x0031 => {
                for _ in 0..self.short()? {
                    self.option(depth + 1)?;
                }
            }
            _ => {}
        }
        Some(())
    }
}

/// What a RESULT says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultBody {
    Void,
    Rows { num_rows: i64, keyspace: Option<String>, table: Option<String>, columns: i64 },
    SetKeyspace(String),
    Prepared { id: String },
    SchemaChange { change: String, target: String, keyspace: String, name: Option<String> },
    Unknown(i32),
}

/// The result of `ResultBody::type` as Packetbeat names it.
pub fn result_type(r: &ResultBody) -> &'static str {
    match r {
        ResultBody::Void => "void",
        ResultBody::Rows { .. } => "rows",
        ResultBody::SetKeyspace(_) => "setKeyspace",
        ResultBody::Prepared { .. } => "prepared",
        ResultBody::SchemaChange { .. } => "schemaChanged",
        ResultBody::Unknown(_) => "unknown",
    }
}

/// One decoded message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Startup(Vec<(String, String)>),
    Ready,
    Authenticate(String),
    Options,
    Supported(Vec<(String, Vec<String>)>),
    Query { query: String, consistency: u16 },
    Result(ResultBody),
    Prepare(String),
    Execute { id: String, consistency: Option<u16> },
    /// Statement texts (a prepared one as `<prepared 0a1b…>`).
    Batch { kind: u8, statements: Vec<String>, count: usize },
    Register(Vec<String>),
    Event { kind: String, change: Option<String>, detail: Vec<String> },
    Error { code: i32, message: String },
    AuthChallenge,
    AuthResponse(Option<Vec<u8>>),
    AuthSuccess,
}

/// What came before the body proper, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub warnings: Vec<String>,
    pub message: Message,
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const SHORT: ParseError = ParseError::Malformed("body shorter than its contents");

fn opt<T>(x: Option<T>) -> Result<T, ParseError> {
    x.ok_or(SHORT)
}

fn rows(r: &mut Reader<'_>, version: u8) -> Option<ResultBody> {
    let flags = r.int()?;
    let columns = r.int()?;
    if flags & 0x0002 != 0 {
        r.bytes()?; // paging state
    }
    if version >= 5 && flags & 0x0008 != 0 {
        r.short_bytes()?; // new metadata id
    }
    let (mut keyspace, mut table) = (None, None);
    if flags & 0x0004 == 0 {
        if flags & 0x0001 != 0 {
            keyspace = Some(r.string()?);
            table = Some(r.string()?);
        }
        for _ in 0..columns.max(0) {
            if flags & 0x0001 == 0 {
                let (k, t) = (r.string()?, r.string()?);
                keyspace.get_or_insert(k);
                table.get_or_insert(t);
            }
            r.string()?;
            r.option(0)?;
        }
    }
    let num_rows = r.int()?;
    Some(ResultBody::Rows { num_rows: i64::from(num_rows), keyspace, table, columns: i64::from(columns) })
}

fn result(r: &mut Reader<'_>, version: u8) -> Result<ResultBody, ParseError> {
    Ok(match opt(r.int())? {
        1 => ResultBody::Void,
        2 => opt(rows(r, version))?,
        3 => ResultBody::SetKeyspace(opt(r.string())?),
        4 => ResultBody::Prepared { id: hex(opt(r.short_bytes())?) },
        5 => {
            let change = opt(r.string())?;
            let target = opt(r.string())?;
            let keyspace = opt(r.string())?;
            let name = if target == "KEYSPACE" { None } else { Some(opt(r.string())?) };
            ResultBody::SchemaChange { change, target, keyspace, name }
        }
        k => ResultBody::Unknown(k),
    })
}

/// The body of an uncompressed frame.
pub fn body(h: &Header, b: &[u8]) -> Result<Decoded, ParseError> {
    let mut r = Reader::new(b);
    let mut warnings = Vec::new();
    if h.response && h.flags & FLAG_TRACING != 0 {
        opt(r.take(16))?;
    }
    if h.response && h.flags & FLAG_WARNING != 0 {
        warnings = opt(r.string_list())?;
    }
    if h.flags & FLAG_CUSTOM_PAYLOAD != 0 {
        opt(r.bytes_map())?;
    }
    let message = match h.opcode {
        STARTUP => Message::Startup(opt(r.string_map())?),
        READY => Message::Ready,
        AUTHENTICATE => Message::Authenticate(opt(r.string())?),
        OPTIONS => Message::Options,
        SUPPORTED => Message::Supported(opt(r.string_multimap())?),
        QUERY => {
            let query = opt(r.long_string())?;
            Message::Query { query, consistency: opt(r.short())? }
        }
        RESULT => Message::Result(result(&mut r, h.version)?),
        PREPARE => Message::Prepare(opt(r.long_string())?),
        EXECUTE => {
            let id = hex(opt(r.short_bytes())?);
            if h.version >= 5 {
                opt(r.short_bytes())?; // result metadata id
            }
            Message::Execute { id, consistency: r.short() }
        }
        BATCH => {
            let kind = opt(r.byte())?;
            let n = usize::from(opt(r.short())?);
            let mut statements = Vec::new();
            for _ in 0..n {
                let s = match opt(r.byte())? {
                    0 => opt(r.long_string())?,
                    1 => format!("<prepared {}>", hex(opt(r.short_bytes())?)),
                    _ => return Err(ParseError::Malformed("unknown batch statement kind")),
                };
                for _ in 0..opt(r.short())? {
                    opt(r.bytes())?;
                }
                if statements.len() < MAX_LIST {
                    statements.push(s);
                }
            }
            Message::Batch { kind, statements, count: n }
        }
        REGISTER => Message::Register(opt(r.string_list())?),
        EVENT => {
            let kind = opt(r.string())?;
            let change = r.string();
            let mut detail = Vec::new();
            while detail.len() < 4 {
                match r.string() {
                    Some(s) => detail.push(s),
                    None => break,
                }
            }
            Message::Event { kind, change, detail }
        }
        ERROR => {
            let code = opt(r.int())?;
            Message::Error { code, message: opt(r.string())? }
        }
        AUTH_CHALLENGE => Message::AuthChallenge,
        AUTH_RESPONSE => Message::AuthResponse(opt(r.bytes())?.map(<[u8]>::to_vec)),
        AUTH_SUCCESS => Message::AuthSuccess,
        _ => return Err(ParseError::Malformed("unknown opcode")),
    };
    Ok(Decoded { warnings, message })
}

/// Packetbeat's `error.type` of an ERROR code.
pub fn error_type(code: i32) -> &'static str {
    match code {
        0x0000 => "Server error",
        0x000A => "Protocol error",
        0x0100 => "Bad credentials",
        0x1000 => "Unavailable exception",
        0x1001 => "Overloaded",
        0x1002 => "Is_bootstrapping",
        0x1003 => "Truncate_error",
        0x1100 => "Write_timeout",
        0x1200 => "Read_timeout",
        0x1300 => "Read_failure",
        0x1400 => "Function_failure",
        0x1500 => "Write_failure",
        0x1600 => "CDC_write_failure",
        0x1700 => "CAS_write_unknown",
        0x2000 => "Syntax_error",
        0x2100 => "Unauthorized",
        0x2200 => "Invalid",
        0x2300 => "Config_error",
        0x2400 => "Already_exists",
        0x2500 => "Unprepared",
        _ => "Unknown",
    }
}

pub fn consistency_name(c: u16) -> &'static str {
    match c {
        0 => "ANY",
        1 => "ONE",
        2 => "TWO",
        3 => "THREE",
        4 => "QUORUM",
        5 => "ALL",
        6 => "LOCAL_QUORUM",
        7 => "EACH_QUORUM",
        8 => "SERIAL",
        9 => "LOCAL_SERIAL",
        10 => "LOCAL_ONE",
        _ => "UNKNOWN",
    }
}

/// A v5 segment (uncompressed format): 17-bit payload length and the self-contained bit in
/// the first three bytes (little-endian), a CRC24 of them, the payload, its CRC32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub self_contained: bool,
    pub payload: &'a [u8],
    /// Bytes the segment used.
    pub len: usize,
}

pub fn segment(buf: &[u8]) -> Result<Segment<'_>, ParseError> {
    let v = View(buf);
    let (Some(a), Some(b), Some(c)) = (v.u8(0), v.u8(1), v.u8(2)) else {
        return Err(ParseError::Incomplete);
    };
    let word = u32::from(a) | u32::from(b) << 8 | u32::from(c) << 16;
    let n = (word & 0x1_FFFF) as usize;
    let self_contained = word & 0x2_0000 != 0;
    if v.len() < 6 {
        return Err(ParseError::Incomplete);
    }
    let payload = buf.get(6..6 + n).ok_or(ParseError::Incomplete)?;
    if buf.len() < 6 + n + 4 {
        return Err(ParseError::Incomplete);
    }
    Ok(Segment { self_contained, payload, len: 6 + n + 4 })
}

/// Content probe: a plausible request header (v3 to v5, a request opcode) that starts the
/// connection (STARTUP or OPTIONS).
pub fn probe(b: &[u8]) -> bool {
    matches!(header(b), Ok(h) if !h.response && matches!(h.opcode, STARTUP | OPTIONS))
}
