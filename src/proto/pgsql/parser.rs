//! Pure parsing of the PostgreSQL frontend/backend protocol, version 3: message framing
//! ([`frame`], [`startup_frame`]) and the decoding of one message's body ([`frontend`],
//! [`backend`]). Bytes in, messages out; "need more bytes" ([`ParseError::Incomplete`]) is never
//! "malformed".
//!
//! Framing: every message after the first one of the client is a type byte, a 4-byte big-endian
//! length counting itself but not the type byte, and the body. The client's first message has no
//! type byte: a length and a 4-byte code (protocol 3.0 for a StartupMessage, or the magic codes of
//! SSLRequest, GSSENCRequest, CancelRequest). Bodies carry NUL-terminated strings and big-endian
//! integers.

use crate::bytes::{Cursor, ParseError};

/// Protocol version 3.0 in a StartupMessage.
pub const PROTOCOL_3_0: u32 = 196_608;
/// The code of an SSLRequest (1234 << 16 | 5679).
pub const SSL_REQUEST: u32 = 80_877_103;
/// The code of a GSSENCRequest (1234 << 16 | 5680).
pub const GSSENC_REQUEST: u32 = 80_877_104;
/// The code of a CancelRequest (1234 << 16 | 5678).
pub const CANCEL_REQUEST: u32 = 80_877_102;

/// Longest startup packet the server accepts (PostgreSQL's MAX_STARTUP_PACKET_LENGTH).
pub const MAX_STARTUP_LEN: usize = 10_000;
/// Longest message length field taken as plausible (PostgreSQL's own cap is 1 GiB); a longer
/// one means the stream is not PostgreSQL or lost its framing.
pub const MAX_MESSAGE_LEN: usize = 1 << 30;

/// Message types a client sends (after the startup).
const FRONTEND_TYPES: &[u8] = b"QPBDESHCFfdcpX";
/// Message types a server sends.
const BACKEND_TYPES: &[u8] = b"RKSZTDCIENAGHWdc123sntVv";

/// The client's first message (no type byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// Protocol `version` (major << 16 | minor) and the parameters (`user`, `database`, …).
    Startup { version: u32, params: Vec<(String, String)> },
    SslRequest,
    GssEncRequest,
    Cancel { pid: u32 },
}

/// The header of a typed message: its type byte and its total size on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    /// Type byte, length field and body.
    pub total: usize,
}

impl Frame {
    /// Bytes of the body (after the type byte and the length).
    pub fn body_len(&self) -> usize {
        self.total.saturating_sub(5)
    }
}

/// The header of the typed message at the start of `buf`; `frontend` says which side sent it
/// (the two sides use different type bytes).
pub fn frame(buf: &[u8], frontend: bool) -> Result<Frame, ParseError> {
    let Some(&kind) = buf.first() else { return Err(ParseError::Incomplete) };
    let known = if frontend { FRONTEND_TYPES } else { BACKEND_TYPES };
    if !known.contains(&kind) {
        return Err(ParseError::Malformed("unknown message type"));
    }
    let Some(len) = buf.get(1..5) else { return Err(ParseError::Incomplete) };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len < 4 {
        return Err(ParseError::Malformed("message length below 4"));
    }
    if len > MAX_MESSAGE_LEN {
        return Err(ParseError::Malformed("message length above 1 GiB"));
    }
    Ok(Frame { kind, total: len + 1 })
}

/// The client's untyped first message at the start of `buf`, and the bytes it used.
pub fn startup_frame(buf: &[u8]) -> Result<(Startup, usize), ParseError> {
    let Some(head) = buf.get(..4) else { return Err(ParseError::Incomplete) };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !(8..=MAX_STARTUP_LEN).contains(&len) {
        return Err(ParseError::Malformed("startup length out of range"));
    }
    if let Some(code) = buf.get(4..8) {
        let code = u32::from_be_bytes([code[0], code[1], code[2], code[3]]);
        let known = code >> 16 == 3
            || matches!(code, SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST);
        if !known {
            return Err(ParseError::Malformed("unknown startup code"));
        }
    }
    let Some(msg) = buf.get(..len) else { return Err(ParseError::Incomplete) };
    let mut c = Cursor::new(msg);
    c.skip(4).ok_or(ParseError::Incomplete)?;
    let code = c.u32().ok_or(ParseError::Incomplete)?;
    let s = match code {
        SSL_REQUEST if len == 8 => Startup::SslRequest,
        GSSENC_REQUEST if len == 8 => Startup::GssEncRequest,
        CANCEL_REQUEST if len == 16 => {
            Startup::Cancel { pid: c.u32().ok_or(ParseError::Malformed("short cancel"))? }
        }
        SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST => {
            return Err(ParseError::Malformed("request of the wrong length"))
        }
        version => {
            let mut params = Vec::new();
            loop {
                let name = cstr(&mut c).ok_or(ParseError::Malformed("unterminated name"))?;
                if name.is_empty() {
                    break;
                }
                let value = cstr(&mut c).ok_or(ParseError::Malformed("unterminated value"))?;
                params.push((lossy(name), lossy(value)));
            }
            Startup::Startup { version, params }
        }
    };
    Ok((s, len))
}

/// Whether `first` looks like the start of a client's first message (for the content probe).
pub fn probe(first: &[u8]) -> bool {
    match startup_frame(first) {
        Ok((Startup::Startup { version, .. }, _)) => version == PROTOCOL_3_0,
        Ok(_) => true,
        Err(ParseError::Incomplete) => {
            // Enough to see the code: the startup length and the code must fit.
            first.len() >= 8
        }
        Err(ParseError::Malformed(_)) => false,
    }
}

/// A message from the client, decoded as far as wirebeat uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frontend {
    /// `Q`: a simple query.
    Query(Vec<u8>),
    /// `P`: prepare `query` as `statement` ("" is the unnamed statement).
    Parse { statement: String, query: Vec<u8> },
    /// `B`: bind `statement` to `portal`.
    Bind { portal: String, statement: String },
    /// `D`: describe a statement (`S`) or portal (`P`).
    Describe,
    /// `E`: execute `portal`.
    Execute { portal: String },
    /// `S`: end of an extended-protocol cycle.
    Sync,
    /// `H`: flush.
    Flush,
    /// `C`: close a statement or portal.
    Close { statement: bool, name: String },
    /// `p`: a password, SASL or GSS response (its content is never kept).
    Password,
    /// `F`: a function call.
    FunctionCall,
    /// `d`, `c`, `f`: COPY data, done, fail.
    CopyData,
    CopyDone,
    CopyFail,
    /// `X`.
    Terminate,
}

/// The authentication request codes of an `R` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Ok,
    KerberosV5,
    Cleartext,
    Md5,
    Gss,
    GssContinue,
    Sspi,
    Sasl,
    SaslContinue,
    SaslFinal,
}

impl Auth {
    /// How wirebeat names the method (`network_traffic.pgsql.auth_method`).
    pub fn method(self) -> Option<&'static str> {
        match self {
            Auth::Ok | Auth::GssContinue | Auth::SaslContinue | Auth::SaslFinal => None,
            Auth::KerberosV5 => Some("kerberos_v5"),
            Auth::Cleartext => Some("cleartext"),
            Auth::Md5 => Some("md5"),
            Auth::Gss => Some("gss"),
            Auth::Sspi => Some("sspi"),
            Auth::Sasl => Some("sasl"),
        }
    }
}

/// The fields of an ErrorResponse or NoticeResponse that wirebeat keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notice {
    /// `S` (localized) or `V` (never localized, preferred).
    pub severity: Option<String>,
    /// `C`: the SQLSTATE code.
    pub code: Option<String>,
    /// `M`: the primary message.
    pub message: Option<String>,
}

/// A message from the server, decoded as far as wirebeat uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `R`; for SASL, the mechanisms offered.
    Authentication(Auth, Vec<String>),
    /// `K`.
    BackendKeyData { pid: u32 },
    /// `S`.
    ParameterStatus { name: String, value: String },
    /// `Z`: `I` idle, `T` in a transaction, `E` in a failed transaction.
    ReadyForQuery(u8),
    /// `T`: the number of fields of the rows that follow.
    RowDescription { fields: u16 },
    /// `D`: one row.
    DataRow,
    /// `C`: the command tag, e.g. `INSERT 0 1`.
    CommandComplete(String),
    /// `I`.
    EmptyQuery,
    /// `E`.
    Error(Notice),
    /// `N`.
    Notice(Notice),
    /// `A`: an asynchronous notification.
    Notification,
    /// `G`, `H`, `W`: COPY in, out, both.
    CopyIn,
    CopyOut,
    CopyBoth,
    CopyData,
    CopyDone,
    /// `1`, `2`, `3`, `n`, `s`, `t`: extended-protocol acknowledgements.
    ParseComplete,
    BindComplete,
    CloseComplete,
    NoData,
    PortalSuspended,
    ParameterDescription,
    /// `V`.
    FunctionCallResponse,
    /// `v`.
    NegotiateProtocolVersion,
}

/// Decodes the body of a client message of type `kind`. `max_text` bounds the query text kept
/// (the rest is dropped here, the caller notes it from the lengths).
pub fn frontend(kind: u8, body: &[u8], max_text: usize) -> Result<Frontend, ParseError> {
    let mut c = Cursor::new(body);
    let bad = ParseError::Malformed;
    Ok(match kind {
        b'Q' => Frontend::Query(bounded(cstr(&mut c).ok_or(bad("unterminated query"))?, max_text)),
        b'P' => {
            let statement = lossy(cstr(&mut c).ok_or(bad("unterminated statement name"))?);
            let query = bounded(cstr(&mut c).ok_or(bad("unterminated query"))?, max_text);
            Frontend::Parse { statement, query }
        }
        b'B' => {
            let portal = lossy(cstr(&mut c).ok_or(bad("unterminated portal name"))?);
            let statement = lossy(cstr(&mut c).ok_or(bad("unterminated statement name"))?);
            Frontend::Bind { portal, statement }
        }
        b'D' => match c.u8() {
            Some(b'S' | b'P') => {
                cstr(&mut c).ok_or(bad("unterminated name"))?;
                Frontend::Describe
            }
            _ => return Err(bad("describe of neither statement nor portal")),
        },
        b'E' => {
            let portal = lossy(cstr(&mut c).ok_or(bad("unterminated portal name"))?);
            c.u32().ok_or(bad("execute without row limit"))?;
            Frontend::Execute { portal }
        }
        b'C' => {
            let statement = match c.u8() {
                Some(b'S') => true,
                Some(b'P') => false,
                _ => return Err(bad("close of neither statement nor portal")),
            };
            Frontend::Close { statement, name: lossy(cstr(&mut c).ok_or(bad("unterminated name"))?) }
        }
        b'S' => Frontend::Sync,
        b'H' => Frontend::Flush,
        b'p' => Frontend::Password,
        b'F' => Frontend::FunctionCall,
        b'd' => Frontend::CopyData,
        b'c' => Frontend::CopyDone,
        b'f' => Frontend::CopyFail,
        b'X' => Frontend::Terminate,
        _ => return Err(bad("unknown message type")),
    })
}

/// Decodes the body of a server message of type `kind`.
pub fn backend(kind: u8, body: &[u8]) -> Result<Backend, ParseError> {
    let mut c = Cursor::new(body);
    let bad = ParseError::Malformed;
    Ok(match kind {
        b'R' => {
            let auth = match c.u32().ok_or(bad("authentication without code"))? {
                0 => Auth::Ok,
                2 => Auth::KerberosV5,
                3 => Auth::Cleartext,
                5 => Auth::Md5,
                7 => Auth::Gss,
                8 => Auth::GssContinue,
                9 => Auth::Sspi,
                10 => Auth::Sasl,
                11 => Auth::SaslContinue,
                12 => Auth::SaslFinal,
                _ => return Err(bad("unknown authentication code")),
            };
            let mut mechanisms = Vec::new();
            if auth == Auth::Sasl {
                while let Some(m) = cstr(&mut c) {
                    if m.is_empty() || mechanisms.len() >= 8 {
                        break;
                    }
                    mechanisms.push(lossy(m));
                }
            }
            Backend::Authentication(auth, mechanisms)
        }
        b'K' => Backend::BackendKeyData { pid: c.u32().ok_or(bad("short backend key data"))? },
        b'S' => {
            let name = lossy(cstr(&mut c).ok_or(bad("unterminated parameter name"))?);
            let value = lossy(cstr(&mut c).ok_or(bad("unterminated parameter value"))?);
            Backend::ParameterStatus { name, value }
        }
        b'Z' => match c.u8() {
            Some(s @ (b'I' | b'T' | b'E')) => Backend::ReadyForQuery(s),
            _ => return Err(bad("bad transaction status")),
        },
        b'T' => Backend::RowDescription { fields: c.u16().ok_or(bad("short row description"))? },
        b'D' => Backend::DataRow,
        b'C' => Backend::CommandComplete(lossy(cstr(&mut c).ok_or(bad("unterminated tag"))?)),
        b'I' => Backend::EmptyQuery,
        b'E' => Backend::Error(notice(&mut c)?),
        b'N' => Backend::Notice(notice(&mut c)?),
        b'A' => Backend::Notification,
        b'G' => Backend::CopyIn,
        b'H' => Backend::CopyOut,
        b'W' => Backend::CopyBoth,
        b'd' => Backend::CopyData,
        b'c' => Backend::CopyDone,
        b'1' => Backend::ParseComplete,
        b'2' => Backend::BindComplete,
        b'3' => Backend::CloseComplete,
        b'n' => Backend::NoData,
        b's' => Backend::PortalSuspended,
        b't' => Backend::ParameterDescription,
        b'V' => Backend::FunctionCallResponse,
        b'v' => Backend::NegotiateProtocolVersion,
        _ => return Err(bad("unknown message type")),
    })
}

/// The fields of an ErrorResponse or NoticeResponse body: (type byte, string) pairs ended by 0.
fn notice(c: &mut Cursor<'_>) -> Result<Notice, ParseError> {
    let mut n = Notice::default();
    loop {
        match c.u8() {
            Some(0) => return Ok(n),
            Some(field) => {
                let v = cstr(c).ok_or(ParseError::Malformed("unterminated error field"))?;
                match field {
                    b'V' => n.severity = Some(lossy(v)),
                    b'S' if n.severity.is_none() => n.severity = Some(lossy(v)),
                    b'C' => n.code = Some(lossy(v)),
                    b'M' => n.message = Some(lossy(v)),
                    _ => {}
                }
            }
            None => return Err(ParseError::Malformed("error fields without terminator")),
        }
    }
}

/// A NUL-terminated string (without the NUL).
fn cstr<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    let rest = c.rest();
    let nul = rest.iter().position(|&b| b == 0)?;
    let s = c.take(nul)?;
    c.skip(1)?;
    Some(s)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// At most `max` bytes of `b`.
fn bounded(b: &[u8], max: usize) -> Vec<u8> {
    b.get(..max.min(b.len())).unwrap_or_default().to_vec()
}
