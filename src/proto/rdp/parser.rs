//! Pure parser of RDP's connection negotiation: one TPKT (RFC 1006: version 3, reserved,
//! 16-bit big-endian length) carrying an X.224 Connection Request (0xE0) or Connection
//! Confirm (0xD0) TPDU, with the optional cookie / routing token line and the optional
//! 8-byte negotiation structure (type, flags, length 8, 32-bit little-endian value).

use crate::bytes::ParseError;

/// The negotiation structure after the X.224 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neg {
    /// `RDP_NEG_REQ` (type 1): flags, requestedProtocols.
    Request { flags: u8, protocols: u32 },
    /// `RDP_NEG_RSP` (type 2): flags, selectedProtocol.
    Response { flags: u8, protocol: u32 },
    /// `RDP_NEG_FAILURE` (type 3): failureCode.
    Failure { code: u32 },
}

/// A parsed TPKT message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// X.224 Connection Request: `Cookie: mstshash=` value, or another cookie line (routing
    /// token) as is, and the negotiation request.
    ConnectionRequest { cookie: Option<String>, routing_token: Option<String>, neg: Option<Neg> },
    /// X.224 Connection Confirm with its negotiation response or failure.
    ConnectionConfirm { neg: Option<Neg> },
    /// Any other TPKT (X.224 data: MCS, or other TPDU codes).
    Other,
}

/// Whether `b` can start an RDP Connection Request (content probe).
pub fn looks_like_cr(b: &[u8]) -> bool {
    b.len() >= 6 && b[0] == 3 && b[1] == 0 && b[5] & 0xF0 == 0xE0
}

/// Names of the protocol flags (`PROTOCOL_RDP` when 0).
pub fn protocol_names(flags: u32) -> Vec<String> {
    const NAMES: [(u32, &str); 6] = [
        (1, "ssl"),
        (2, "hybrid"),
        (4, "rdstls"),
        (8, "hybrid_ex"),
        (0x10, "rdsaad"),
        (0x20, "rdp_aad"),
    ];
    if flags == 0 {
        return vec!["rdp".into()];
    }
    let mut v: Vec<String> =
        NAMES.iter().filter(|(f, _)| flags & f != 0).map(|(_, n)| (*n).to_string()).collect();
    let rest = flags & !0x3F;
    if rest != 0 {
        v.push(format!("0x{rest:x}"));
    }
    v
}

/// `RDP_NEG_FAILURE` codes (MS-RDPBCGR 2.2.1.2.2).
pub fn failure_name(code: u32) -> &'static str {
    match code {
        1 => "SSL_REQUIRED_BY_SERVER",
        2 => "SSL_NOT_ALLOWED_BY_SERVER",
        3 => "SSL_CERT_NOT_ON_SERVER",
        4 => "INCONSISTENT_FLAGS",
        5 => "HYBRID_REQUIRED_BY_SERVER",
        6 => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
        _ => "UNKNOWN",
    }
}

fn parse_neg(b: &[u8]) -> Option<Neg> {
    let t = *b.first()?;
    let flags = *b.get(1)?;
    let len = u16::from_le_bytes([*b.get(2)?, *b.get(3)?]);
    if len != 8 {
        return None;
    }
    let v = u32::from_le_bytes([*b.get(4)?, *b.get(5)?, *b.get(6)?, *b.get(7)?]);
    match t {
        1 => Some(Neg::Request { flags, protocols: v }),
        2 => Some(Neg::Response { flags, protocol: v }),
        3 => Some(Neg::Failure { code: v }),
        _ => None,
    }
}

/// One TPKT message from the start of `buf`, and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<(Message, usize), ParseError> {
    match (buf.first(), buf.get(1)) {
        (Some(3), Some(0)) | (Some(3), None) | (None, _) => {}
        _ => return Err(ParseError::Malformed("not a TPKT header")),
    }
    let (Some(&hi), Some(&lo)) = (buf.get(2), buf.get(3)) else {
        return Err(ParseError::Incomplete);
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < 7 {
        return Err(ParseError::Malformed("TPKT length below 7"));
    }
    let Some(tpdu) = buf.get(4..len) else {
        return Err(ParseError::Incomplete);
    };
    let li = usize::from(tpdu.first().copied().unwrap_or(0));
    let code = tpdu.get(1).copied().unwrap_or(0) & 0xF0;
    if li < 2 || tpdu.len() < li + 1 {
        return Err(ParseError::Malformed("X.224 length indicator beyond the TPKT"));
    }
    let msg = match code {
        0xE0 | 0xD0 => {
            // The length indicator covers the fixed part (code, dst-ref, src-ref, class: 6
            // bytes) and RDP's cookie line and negotiation structure after it.
            let user = tpdu.get(7..=li).unwrap_or_default();
            if code == 0xE0 {
                let (mut cookie, mut token, mut rest) = (None, None, user);
                if user.starts_with(b"Cookie: ") {
                    if let Some(end) = user.windows(2).position(|w| w == b"\r\n") {
                        let line = user.get(8..end).unwrap_or_default();
                        let text = String::from_utf8_lossy(line).into_owned();
                        match text.strip_prefix("mstshash=") {
                            Some(u) => cookie = Some(u.to_string()),
                            None => token = Some(text),
                        }
                        rest = user.get(end + 2..).unwrap_or_default();
                    }
                }
                Message::ConnectionRequest { cookie, routing_token: token, neg: parse_neg(rest) }
            } else {
                Message::ConnectionConfirm { neg: parse_neg(user) }
            }
        }
        _ => Message::Other,
    };
    Ok((msg, len))
}
