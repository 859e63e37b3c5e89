//! Pure SMB parser: the 4-byte session-service framing (direct TCP on 445, NetBIOS session
//! service on 139), SMB2/SMB3 headers with their `NextCommand` chains and the bodies of the
//! commands wirebeat reports, the SMB3 transform header, SMB1 headers and NEGOTIATE dialects,
//! and NTLMSSP inside the SPNEGO token (MS-SMB2, MS-CIFS, MS-NLMP, RFC 1002).

use crate::bytes::{ParseError, View};

/// One session-service frame: its type (0x00 message, 0x81 session request, 0x82 positive
/// response, 0x83 negative, 0x85 keep-alive) and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: u8,
    pub payload: &'a [u8],
}

/// One frame from the start of `buf`, and the bytes it used.
pub fn frame(buf: &[u8]) -> Result<(Frame<'_>, usize), ParseError> {
    let v = View(buf);
    let Some(kind) = v.u8(0) else { return Err(ParseError::Incomplete) };
    if !matches!(kind, 0x00 | 0x81 | 0x82 | 0x83 | 0x84 | 0x85) {
        return Err(ParseError::Malformed("unknown session-service frame type"));
    }
    let Some(len) = v.u24(1) else { return Err(ParseError::Incomplete) };
    let len = len as usize;
    if kind == 0 && len >= 4 {
        // The payload must start with an SMB protocol id, checkable before it is all here.
        if let Some(id) = v.array::<4>(4) {
            if !matches!(id, [0xFC..=0xFF, b'S', b'M', b'B']) {
                return Err(ParseError::Malformed("not an SMB message"));
            }
        }
    }
    match v.slice(4, len) {
        Some(payload) => Ok((Frame { kind, payload }, 4 + len)),
        None => Err(ParseError::Incomplete),
    }
}

pub const FLAG_RESPONSE: u32 = 0x1;
pub const FLAG_ASYNC: u32 = 0x2;
/// SMB2_FLAGS_RELATED_OPERATIONS (a compounded chain's later PDUs).
#[allow(dead_code)]
pub const FLAG_RELATED: u32 = 0x4;
pub const FLAG_SIGNED: u32 = 0x8;

pub const STATUS_SUCCESS: u32 = 0;
pub const STATUS_PENDING: u32 = 0x0000_0103;
pub const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;

/// What a command body told, request or response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    pub dialects: Vec<u16>,
    pub dialect: Option<u16>,
    pub security_mode: Option<u16>,
    pub ciphers: Vec<u16>,
    pub security_token: Option<Token>,
    pub path: Option<String>,
    pub share_type: Option<u8>,
    pub file_name: Option<String>,
    pub file_id: Option<[u8; 16]>,
    pub length: Option<u32>,
    pub ioctl_code: Option<u32>,
    pub session_flags: Option<u16>,
}

/// One SMB2 PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb2 {
    pub status: u32,
    pub command: u16,
    pub flags: u32,
    pub message_id: u64,
    pub async_id: Option<u64>,
    pub tree_id: u32,
    pub session_id: u64,
    pub body: Body,
}

impl Smb2 {
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }
}

/// One SMB1 message (the header, and NEGOTIATE's dialect strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1 {
    pub command: u8,
    pub status: u32,
    pub response: bool,
    pub tid: u16,
    pub pid: u16,
    pub uid: u16,
    pub mid: u16,
    pub dialects: Vec<String>,
    pub security_token: Option<Token>,
}

/// A message inside a session-service frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// SMB2/3 PDUs of one frame (several when compounded).
    Smb2(Vec<Smb2>),
    Smb1(Smb1),
    /// SMB3 transform header: encrypted, for this session id.
    Encrypted { session_id: u64 },
    /// SMB2 compression transform (0xFC 'SMB'): not decompressed.
    Compressed,
}

/// The SMB message(s) of one frame payload.
pub fn message(p: &[u8]) -> Result<Message, ParseError> {
    let v = View(p);
    match v.array::<4>(0) {
        Some([0xFE, b'S', b'M', b'B']) => smb2_chain(p).map(Message::Smb2),
        Some([0xFF, b'S', b'M', b'B']) => smb1(p).map(Message::Smb1),
        Some([0xFD, b'S', b'M', b'B']) => {
            let session_id = v.u64_le(44).ok_or(ParseError::Malformed("short transform header"))?;
            Ok(Message::Encrypted { session_id })
        }
        Some([0xFC, b'S', b'M', b'B']) => Ok(Message::Compressed),
        _ => Err(ParseError::Malformed("not an SMB message")),
    }
}

fn smb2_chain(p: &[u8]) -> Result<Vec<Smb2>, ParseError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    loop {
        let pdu = p.get(at..).ok_or(ParseError::Malformed("NextCommand past the frame"))?;
        let v = View(pdu);
        if v.array::<4>(0) != Some([0xFE, b'S', b'M', b'B']) || v.u16_le(4) != Some(64) {
            return Err(ParseError::Malformed("bad SMB2 header"));
        }
        let next = v.u32_le(20).ok_or(ParseError::Malformed("short SMB2 header"))? as usize;
        let end = if next == 0 { pdu.len() } else { next.min(pdu.len()) };
        let one = pdu.get(..end).unwrap_or(pdu);
        out.push(smb2(one)?);
        if next == 0 || out.len() >= 64 {
            break;
        }
        if next < 64 || next > pdu.len() {
            return Err(ParseError::Malformed("bad NextCommand"));
        }
        at += next;
    }
    Ok(out)
}

fn u16_at(v: &View<'_>, at: usize) -> Option<u16> {
    v.u16_le(at)
}

/// UTF-16LE text of `len` bytes at `off` (from the header start).
fn utf16(v: &View<'_>, off: usize, len: usize) -> Option<String> {
    let b = v.slice(off, len)?;
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some(String::from_utf16_lossy(&units).trim_end_matches('\0').to_owned())
}

fn smb2(p: &[u8]) -> Result<Smb2, ParseError> {
    let v = View(p);
    let short = ParseError::Malformed("short SMB2 header");
    let status = v.u32_le(8).ok_or(short)?;
    let command = v.u16_le(12).ok_or(short)?;
    let flags = v.u32_le(16).ok_or(short)?;
    let message_id = v.u64_le(24).ok_or(short)?;
    let (async_id, tree_id) = if flags & FLAG_ASYNC != 0 {
        (Some(v.u64_le(32).ok_or(short)?), 0)
    } else {
        (None, v.u32_le(36).ok_or(short)?)
    };
    let session_id = v.u64_le(40).ok_or(short)?;
    if p.len() < 64 {
        return Err(short);
    }
    let response = flags & FLAG_RESPONSE != 0;
    let body = body(&v, command, response, status).unwrap_or_default();
    Ok(Smb2 { status, command, flags, message_id, async_id, tree_id, session_id, body })
}

/// The body fields of a command (best effort: a short body gives what it holds).
fn body(v: &View<'_>, command: u16, response: bool, status: u32) -> Option<Body> {
    let mut b = Body::default();
    let size = u16_at(v, 64)?;
    if response && size == 9 && status != STATUS_SUCCESS && command != 1 {
        return Some(b); // an error response
    }
    match (command, response) {
        (0, false) => {
            let count = u16_at(v, 66)? as usize;
            b.security_mode = u16_at(v, 68);
            for i in 0..count.min(64) {
                if let Some(d) = u16_at(v, 100 + 2 * i) {
                    b.dialects.push(d);
                }
            }
            if b.dialects.contains(&0x0311) {
                let off = v.u32_le(92)? as usize;
                let n = u16_at(v, 96)? as usize;
                b.ciphers = contexts(v, off, n);
            }
        }
        (0, true) => {
            b.security_mode = u16_at(v, 66);
            b.dialect = u16_at(v, 68);
            let n = u16_at(v, 70)? as usize;
            let off = u16_at(v, 120)? as usize;
            let len = u16_at(v, 122)? as usize;
            b.security_token = v.slice(off, len).and_then(token);
            if b.dialect == Some(0x0311) {
                b.ciphers = contexts(v, v.u32_le(124)? as usize, n);
            }
        }
        (1, false) => {
            b.security_mode = v.u8(67).map(u16::from);
            let off = u16_at(v, 76)? as usize;
            let len = u16_at(v, 78)? as usize;
            b.security_token = v.slice(off, len).and_then(token);
        }
        (1, true) => {
            b.session_flags = u16_at(v, 66);
            let off = u16_at(v, 68)? as usize;
            let len = u16_at(v, 70)? as usize;
            b.security_token = v.slice(off, len).and_then(token);
        }
        (3, false) => {
            let off = u16_at(v, 68)? as usize;
            let len = u16_at(v, 70)? as usize;
            b.path = utf16(v, off, len);
        }
        (3, true) => b.share_type = v.u8(66),
        (5, false) => {
            let off = u16_at(v, 108)? as usize;
            let len = u16_at(v, 110)? as usize;
            b.file_name = utf16(v, off, len);
        }
        (5, true) => b.file_id = v.array::<16>(128),
        (6, false) => b.file_id = v.array::<16>(72),
        (8, false) | (9, false) => {
            b.length = v.u32_le(68);
            b.file_id = v.array::<16>(80);
        }
        (8, true) | (9, true) => b.length = v.u32_le(68),
        (11, false) => {
            b.ioctl_code = v.u32_le(68);
            b.file_id = v.array::<16>(72);
        }
        (11, true) => b.ioctl_code = v.u32_le(68),
        _ => {}
    }
    Some(b)
}

/// Cipher ids of the ENCRYPTION_CAPABILITIES negotiate context (type 2).
fn contexts(v: &View<'_>, mut off: usize, n: usize) -> Vec<u16> {
    let mut ciphers = Vec::new();
    for _ in 0..n.min(32) {
        let (Some(ty), Some(len)) = (u16_at(v, off), u16_at(v, off + 2)) else { break };
        let len = len as usize;
        if ty == 2 {
            if let Some(count) = u16_at(v, off + 8) {
                for i in 0..count.min(16) as usize {
                    if let Some(c) = u16_at(v, off + 10 + 2 * i) {
                        ciphers.push(c);
                    }
                }
            }
        }
        off = (off + 8 + len + 7) & !7;
    }
    ciphers
}

/// What the security blob (SPNEGO/GSS) carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Token {
    /// "ntlmssp", "kerberos" or "spnego" (neither found).
    pub mechanism: &'static str,
    /// NTLMSSP message type (1 negotiate, 2 challenge, 3 authenticate).
    pub ntlm_type: Option<u32>,
    pub user: Option<String>,
    pub domain: Option<String>,
    pub workstation: Option<String>,
    /// "NTLMv1" or "NTLMv2" by the NT response length; "anonymous" when empty.
    pub ntlm_version: Option<&'static str>,
}

const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const MS_KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The mechanism of a security token and, for NTLMSSP AUTHENTICATE, the names it carries.
pub fn token(t: &[u8]) -> Option<Token> {
    if t.is_empty() {
        return None;
    }
    if let Some(at) = find(t, b"NTLMSSP\0") {
        let n = View(t.get(at..)?);
        let mut tok = Token { mechanism: "ntlmssp", ..Token::default() };
        tok.ntlm_type = n.u32_le(8);
        if tok.ntlm_type == Some(3) {
            let flags = n.u32_le(60).unwrap_or(0);
            let unicode = flags & 1 != 0;
            let field = |at: usize| -> Option<String> {
                let len = n.u16_le(at)? as usize;
                let off = n.u32_le(at + 4)? as usize;
                if unicode {
                    utf16(&n, off, len)
                } else {
                    Some(String::from_utf8_lossy(n.slice(off, len)?).into_owned())
                }
            };
            tok.domain = field(28).filter(|s| !s.is_empty());
            tok.user = field(36).filter(|s| !s.is_empty());
            tok.workstation = field(44).filter(|s| !s.is_empty());
            tok.ntlm_version = match n.u16_le(20) {
                Some(0) => Some("anonymous"),
                Some(24) => Some("NTLMv1"),
                Some(_) => Some("NTLMv2"),
                None => None,
            };
        }
        return Some(tok);
    }
    let mechanism =
        if find(t, KRB5_OID).is_some() || find(t, MS_KRB5_OID).is_some() { "kerberos" } else { "spnego" };
    Some(Token { mechanism, ..Token::default() })
}

fn smb1(p: &[u8]) -> Result<Smb1, ParseError> {
    let v = View(p);
    let short = ParseError::Malformed("short SMB1 header");
    let command = v.u8(4).ok_or(short)?;
    let status = v.u32_le(5).ok_or(short)?;
    let response = v.u8(9).ok_or(short)? & 0x80 != 0;
    let tid = v.u16_le(24).ok_or(short)?;
    let pid = v.u16_le(26).ok_or(short)?;
    let uid = v.u16_le(28).ok_or(short)?;
    let mid = v.u16_le(30).ok_or(short)?;
    let mut m = Smb1 {
        command,
        status,
        response,
        tid,
        pid,
        uid,
        mid,
        dialects: Vec::new(),
        security_token: None,
    };
    if command == 0x72 && !response {
        let words = usize::from(v.u8(32).unwrap_or(0));
        let bc_at = 33 + 2 * words;
        let bc = usize::from(v.u16_le(bc_at).unwrap_or(0));
        let bytes = v.slice(bc_at + 2, bc).or_else(|| v.from(bc_at + 2)).unwrap_or_default();
        for d in bytes.split(|&b| b == 0) {
            if let Some(name) = d.strip_prefix(&[0x02]) {
                m.dialects.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    if command == 0x73 {
        m.security_token = p.get(32..).and_then(|b| find(b, b"NTLMSSP\0").and_then(|at| token(b.get(at..)?)));
    }
    Ok(m)
}

/// SMB2 command names (MS-SMB2 2.2.1).
pub fn command_name(c: u16) -> &'static str {
    match c {
        0 => "NEGOTIATE",
        1 => "SESSION_SETUP",
        2 => "LOGOFF",
        3 => "TREE_CONNECT",
        4 => "TREE_DISCONNECT",
        5 => "CREATE",
        6 => "CLOSE",
        7 => "FLUSH",
        8 => "READ",
        9 => "WRITE",
        10 => "LOCK",
        11 => "IOCTL",
        12 => "CANCEL",
        13 => "ECHO",
        14 => "QUERY_DIRECTORY",
        15 => "CHANGE_NOTIFY",
        16 => "QUERY_INFO",
        17 => "SET_INFO",
        18 => "OPLOCK_BREAK",
        _ => "UNKNOWN",
    }
}

/// SMB1 command names (the common ones, MS-CIFS 2.2.2.1).
pub fn smb1_command_name(c: u8) -> &'static str {
    match c {
        0x04 => "SMB_COM_CLOSE",
        0x25 => "SMB_COM_TRANSACTION",
        0x2b => "SMB_COM_ECHO",
        0x2d => "SMB_COM_OPEN_ANDX",
        0x2e => "SMB_COM_READ_ANDX",
        0x2f => "SMB_COM_WRITE_ANDX",
        0x32 => "SMB_COM_TRANSACTION2",
        0x71 => "SMB_COM_TREE_DISCONNECT",
        0x72 => "SMB_COM_NEGOTIATE",
        0x73 => "SMB_COM_SESSION_SETUP_ANDX",
        0x74 => "SMB_COM_LOGOFF_ANDX",
        0x75 => "SMB_COM_TREE_CONNECT_ANDX",
        0xa0 => "SMB_COM_NT_TRANSACT",
        0xa2 => "SMB_COM_NT_CREATE_ANDX",
        0xa4 => "SMB_COM_NT_CANCEL",
        _ => "SMB_COM_UNKNOWN",
    }
}

/// Names of the common NT status codes (MS-ERREF 2.3.1).
pub fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_010B => "STATUS_NOTIFY_CLEANUP",
        0x0000_010C => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xC000_0001 => "STATUS_UNSUCCESSFUL",
        0xC000_0002 => "STATUS_NOT_IMPLEMENTED",
        0xC000_0003 => "STATUS_INVALID_INFO_CLASS",
        0xC000_0008 => "STATUS_INVALID_HANDLE",
        0xC000_000D => "STATUS_INVALID_PARAMETER",
        0xC000_000F => "STATUS_NO_SUCH_FILE",
        0xC000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xC000_0011 => "STATUS_END_OF_FILE",
        0xC000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xC000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xC000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xC000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xC000_003A => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xC000_0043 => "STATUS_SHARING_VIOLATION",
        0xC000_0054 => "STATUS_FILE_LOCK_CONFLICT",
        0xC000_0055 => "STATUS_LOCK_NOT_GRANTED",
        0xC000_0056 => "STATUS_DELETE_PENDING",
        0xC000_005E => "STATUS_NO_LOGON_SERVERS",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_00BA => "STATUS_FILE_IS_A_DIRECTORY",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_00C9 => "STATUS_NETWORK_NAME_DELETED",
        0xC000_00CC => "STATUS_BAD_NETWORK_NAME",
        0xC000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        0xC000_0103 => "STATUS_NOT_A_DIRECTORY",
        0xC000_0120 => "STATUS_CANCELLED",
        0xC000_0128 => "STATUS_FILE_CLOSED",
        0xC000_015B => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0203 => "STATUS_USER_SESSION_DELETED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xC000_0225 => "STATUS_NOT_FOUND",
        0xC000_0257 => "STATUS_PATH_NOT_COVERED",
        0xC000_035C => "STATUS_NETWORK_SESSION_EXPIRED",
        _ => return None,
    })
}

/// "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1", "2.???" for the dialect numbers of NEGOTIATE.
pub fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.0.2".into(),
        0x0210 => "2.1".into(),
        0x0300 => "3.0".into(),
        0x0302 => "3.0.2".into(),
        0x0311 => "3.1.1".into(),
        0x02FF => "2.???".into(),
        other => format!("0x{other:04x}"),
    }
}

pub fn cipher_name(c: u16) -> String {
    match c {
        1 => "AES-128-CCM".into(),
        2 => "AES-128-GCM".into(),
        3 => "AES-256-CCM".into(),
        4 => "AES-256-GCM".into(),
        other => format!("0x{other:04x}"),
    }
}
