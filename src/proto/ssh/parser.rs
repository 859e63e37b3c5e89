//! Pure parsers of the cleartext part of SSH (RFC 4253): the identification line, the binary
//! packet before keys are in use, and the `SSH_MSG_KEXINIT` payload. "Need more bytes"
//! ([`ParseError::Incomplete`]) is never "malformed".

use crate::bytes::{Cursor, ParseError};

/// Longest line accepted before or as the identification string (RFC 4253 4.2 allows 255 for
/// the banner; lines before it are free text, bounded here).
pub const MAX_LINE: usize = 8192;

/// Largest cleartext packet accepted (RFC 4253 6.1 requires 35000; KEXINITs are a few KiB).
pub const MAX_PACKET: u32 = 256 * 1024;

/// `SSH_MSG_KEXINIT`, `SSH_MSG_NEWKEYS`.
pub const MSG_KEXINIT: u8 = 20;
pub const MSG_NEWKEYS: u8 = 21;

/// The identification string `SSH-protoversion-softwareversion SP comments`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Banner {
    /// The whole line without CR LF.
    pub text: String,
    pub proto_version: String,
    pub software: String,
    pub comments: Option<String>,
}

/// One line from the start of the stream before the packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The identification string.
    Banner(Banner),
    /// A line before it (servers may send text first, RFC 4253 4.2).
    Other,
}

/// One line from the start of `buf` and the bytes it used.
pub fn parse_line(buf: &[u8]) -> Result<(Line, usize), ParseError> {
    let Some(nl) = buf.iter().take(MAX_LINE).position(|&b| b == b'\n') else {
        return if buf.len() >= MAX_LINE {
            Err(ParseError::Malformed("line too long"))
        } else {
            Err(ParseError::Incomplete)
        };
    };
    let mut line = buf.get(..nl).unwrap_or_default();
    if let Some(l) = line.strip_suffix(b"\r") {
        line = l;
    }
    let Some(rest) = line.strip_prefix(b"SSH-") else {
        return Ok((Line::Other, nl + 1));
    };
    let text = String::from_utf8_lossy(line).into_owned();
    let rest = String::from_utf8_lossy(rest);
    let Some((version, sw)) = rest.split_once('-') else {
        return Err(ParseError::Malformed("identification string without software version"));
    };
    let (software, comments) = match sw.split_once(' ') {
        Some((s, c)) => (s.to_owned(), Some(c.to_owned())),
        None => (sw.to_owned(), None),
    };
    Ok((
        Line::Banner(Banner { text, proto_version: version.to_owned(), software, comments }),
        nl + 1,
    ))
}

/// A cleartext binary packet: its message number and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub msg: u8,
    /// The payload after the message number.
    pub body: &'a [u8],
}

/// One cleartext packet (no MAC: before the first NEWKEYS) from the start of `buf` and the
/// bytes it used.
pub fn parse_packet(buf: &[u8]) -> Result<(Packet<'_>, usize), ParseError> {
    let mut c = Cursor::new(buf);
    let Some(len) = c.u32() else { return Err(ParseError::Incomplete) };
    if !(5..=MAX_PACKET).contains(&len) {
        return Err(ParseError::Malformed("packet length out of range"));
    }
    let Some(pad) = c.u8() else { return Err(ParseError::Incomplete) };
    let pad = u32::from(pad);
    if pad + 2 > len {
        return Err(ParseError::Malformed("padding longer than the packet"));
    }
    let payload_len = (len - pad - 1) as usize;
    let Some(payload) = c.take(payload_len) else { return Err(ParseError::Incomplete) };
    if c.skip(pad as usize).is_none() {
        return Err(ParseError::Incomplete);
    }
    let (msg, body) = payload.split_first().ok_or(ParseError::Malformed("empty payload"))?;
    Ok((Packet { msg: *msg, body }, 4 + len as usize))
}

/// The ten name-lists of an `SSH_MSG_KEXINIT`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KexInit {
    pub kex: String,
    pub host_key: String,
    pub enc_c2s: String,
    pub enc_s2c: String,
    pub mac_c2s: String,
    pub mac_s2c: String,
    pub cmp_c2s: String,
    pub cmp_s2c: String,
    pub lang_c2s: String,
    pub lang_s2c: String,
    pub first_kex_follows: bool,
}

/// The body of an `SSH_MSG_KEXINIT` (after the message number): cookie, name-lists, flag.
pub fn parse_kexinit(body: &[u8]) -> Result<KexInit, ParseError> {
    const BAD: ParseError = ParseError::Malformed("KEXINIT shorter than its name-lists");
    let mut c = Cursor::new(body);
    c.skip(16).ok_or(BAD)?;
    let mut lists: [String; 10] = Default::default();
    for l in &mut lists {
        let n = c.u32().ok_or(BAD)? as usize;
        let s = c.take(n).ok_or(BAD)?;
        if !s.iter().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::Malformed("name-list is not printable ASCII"));
        }
        *l = String::from_utf8_lossy(s).into_owned();
    }
    let first_kex_follows = c.u8().ok_or(BAD)? != 0;
    c.u32().ok_or(BAD)?; // reserved
    let [kex, host_key, enc_c2s, enc_s2c, mac_c2s, mac_s2c, cmp_c2s, cmp_s2c, lang_c2s, lang_s2c] =
        lists;
    Ok(KexInit {
        kex,
        host_key,
        enc_c2s,
        enc_s2c,
        mac_c2s,
        mac_s2c,
        cmp_c2s,
        cmp_s2c,
        lang_c2s,
        lang_s2c,
        first_kex_follows,
    })
}

/// RFC 4253 7.1: the first algorithm of the client's list that the server also lists.
pub fn negotiate(client: &str, server: &str) -> Option<String> {
    let server: Vec<&str> = server.split(',').collect();
    client.split(',').find(|a| !a.is_empty() && server.contains(a)).map(str::to_owned)
}

/// HASSH algorithm string of a KEXINIT (Salesforce's spec): `kex;enc;mac;cmp`, the client's
/// client-to-server lists for HASSH, the server's server-to-client lists for HASSHServer.
pub fn hassh_algorithms(k: &KexInit, client: bool) -> String {
    if client {
        format!("{};{};{};{}", k.kex, k.enc_c2s, k.mac_c2s, k.cmp_c2s)
    } else {
        format!("{};{};{};{}", k.kex, k.enc_s2c, k.mac_s2c, k.cmp_s2c)
    }
}
