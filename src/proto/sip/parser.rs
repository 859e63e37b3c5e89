//! Pure SIP (RFC 3261) message parser: start line, headers (compact forms expanded, folded
//! lines joined), the body framed by Content-Length on TCP or the datagram end on UDP, and the
//! parts of SIP URIs, name-addr headers and SDP (RFC 4566) the events report. Bounded work.

use crate::bytes::ParseError;

/// Longest start line and headers (the bytes before the empty line).
pub const MAX_HEAD_BYTES: usize = 64 << 10;
/// Most header lines kept per message; the rest are counted in `headers_dropped`.
pub const MAX_HEADERS: usize = 128;
/// Longest body accepted on TCP (Content-Length); a larger one is malformed.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Body bytes kept for `sdp.body.original`.
pub const MAX_BODY_KEPT: usize = 4096;
/// Via headers kept per message.
pub const MAX_VIA: usize = 16;
/// SDP media lines kept.
pub const MAX_MEDIA: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Request { method: String, uri: String, version: String },
    Response { code: u16, phrase: String, version: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: Start,
    /// (lower-case full name, value) in order.
    pub headers: Vec<(String, String)>,
    pub headers_dropped: usize,
    pub body: Vec<u8>,
    /// Body bytes on the wire (may exceed `body.len()`, which is bounded).
    pub body_len: usize,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Full name of a compact header form (RFC 3261 §7.3.3 and later RFCs).
fn full_name(n: &str) -> String {
    let lower = n.to_ascii_lowercase();
    let full = match lower.as_str() {
        "i" => "call-id",
        "m" => "contact",
        "e" => "content-encoding",
        "l" => "content-length",
        "c" => "content-type",
        "f" => "from",
        "s" => "subject",
        "k" => "supported",
        "t" => "to",
        "v" => "via",
        "o" => "event",
        "r" => "refer-to",
        "u" => "allow-events",
        "x" => "session-expires",
        "a" => "accept-contact",
        "b" => "referred-by",
        "j" => "reject-contact",
        "d" => "request-disposition",
        "y" => "identity",
        _ => return lower,
    };
    full.to_owned()
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Whether `b` plausibly starts a SIP message (the content probe).
pub fn looks_like_sip(b: &[u8]) -> bool {
    if b.starts_with(b"SIP/2.0 ") {
        return true;
    }
    let Some(sp) = b.iter().take(32).position(|&c| c == b' ') else { return false };
    let method = b.get(..sp).unwrap_or_default();
    let rest = b.get(sp + 1..).unwrap_or_default();
    !method.is_empty()
        && method.iter().all(|c| c.is_ascii_uppercase())
        && (rest.starts_with(b"sip:") || rest.starts_with(b"sips:") || rest.starts_with(b"tel:"))
}

fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn start_line(line: &str) -> Result<Start, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/") {
        let mut it = rest.splitn(3, ' ');
        let version = it.next().unwrap_or_default().to_owned();
        let code: u16 = it
            .next()
            .and_then(|c| c.parse().ok())
            .filter(|c| (100..700).contains(c))
            .ok_or(ParseError::Malformed("bad status code"))?;
        let phrase = it.next().unwrap_or_default().to_owned();
        return Ok(Start::Response { code, phrase, version });
    }
    let mut it = line.split(' ');
    let (Some(method), Some(uri), Some(ver)) = (it.next(), it.next(), it.next()) else {
        return Err(ParseError::Malformed("bad request line"));
    };
    if !is_token(method) || uri.is_empty() || !ver.starts_with("SIP/") || it.next().is_some() {
        return Err(ParseError::Malformed("bad request line"));
    }
    Ok(Start::Request {
        method: method.to_owned(),
        uri: uri.to_owned(),
        version: ver.trim_start_matches("SIP/").to_owned(),
    })
}

/// One message from the start of `buf`, and the bytes it used. `datagram`: `buf` is one whole
/// UDP datagram (the body is the rest, Content-Length permitting).
pub fn parse(buf: &[u8], datagram: bool) -> Result<(Message, usize), ParseError> {
    // Keep-alive CRLFs between messages (RFC 5626) are skipped by the caller.
    let Some((end, body_at)) = head_end(buf) else {
        if buf.len() > MAX_HEAD_BYTES {
            return Err(ParseError::Malformed("headers longer than the limit"));
        }
        if !buf.is_empty() && !could_start(buf) {
            return Err(ParseError::Malformed("not a SIP start line"));
        }
        return if datagram {
            // A datagram without the empty line: headers up to its end.
            parse_head(buf, buf.len(), buf.len(), true)
        } else {
            Err(ParseError::Incomplete)
        };
    };
    if end > MAX_HEAD_BYTES {
        return Err(ParseError::Malformed("headers longer than the limit"));
    }
    parse_head(buf, end, body_at, datagram)
}

/// Whether `buf` (no full head yet) can still become a SIP start line.
fn could_start(buf: &[u8]) -> bool {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(buf.len());
    let line = buf.get(..line_end).unwrap_or_default();
    let sip = b"SIP/";
    if line.len() < sip.len() && sip.starts_with(line) {
        return true;
    }
    if line.starts_with(sip) {
        return true;
    }
    let method_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    line.get(..method_end).is_some_and(|m| m.iter().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(b)))
        && (method_end > 0 || line.is_empty())
}

fn parse_head(
    buf: &[u8],
    end: usize,
    body_at: usize,
    datagram: bool,
) -> Result<(Message, usize), ParseError> {
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = start_line(lines.next().unwrap_or_default())?;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut dropped = 0;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::Malformed("header line without a colon"));
        };
        if headers.len() >= MAX_HEADERS {
            dropped += 1;
            continue;
        }
        headers.push((full_name(name.trim()), value.trim().to_owned()));
    }
    let clen = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.trim());
    let clen: Option<usize> = match clen {
        Some(v) => Some(v.parse().map_err(|_| ParseError::Malformed("bad Content-Length"))?),
        None => None,
    };
    let avail = buf.len().saturating_sub(body_at);
    let body_len = if datagram {
        clen.map_or(avail, |c| c.min(avail))
    } else {
        let c = clen.unwrap_or(0);
        if c > MAX_BODY_BYTES {
            return Err(ParseError::Malformed("Content-Length larger than the limit"));
        }
        if avail < c {
            return Err(ParseError::Incomplete);
        }
        c
    };
    let body = buf.get(body_at..body_at + body_len.min(MAX_BODY_KEPT)).unwrap_or_default().to_vec();
    let used = if datagram { buf.len() } else { body_at + body_len };
    Ok((Message { start, headers, headers_dropped: dropped, body, body_len }, used))
}

/// The parts of a SIP URI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uri {
    pub original: String,
    pub scheme: Option<String>,
    pub username: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
}

pub fn uri(s: &str) -> Uri {
    let mut u = Uri { original: s.to_owned(), ..Uri::default() };
    let Some((scheme, rest)) = s.split_once(':') else { return u };
    u.scheme = Some(scheme.to_ascii_lowercase());
    let rest = rest.split([';', '?']).next().unwrap_or_default();
    let hostport = match rest.rsplit_once('@') {
        Some((user, hp)) => {
            let user = user.split(':').next().unwrap_or_default();
            u.username = Some(user.to_owned()).filter(|x| !x.is_empty());
            hp
        }
        None => rest,
    };
    if let Some(v6) = hostport.strip_prefix('[') {
        let (h, p) = v6.split_once(']').unwrap_or((v6, ""));
        u.host = Some(h.to_owned());
        u.port = p.strip_prefix(':').and_then(|p| p.parse().ok());
    } else {
        let (h, p) = hostport.split_once(':').map_or((hostport, None), |(h, p)| (h, Some(p)));
        u.host = Some(h.to_owned()).filter(|x| !x.is_empty());
        u.port = p.and_then(|p| p.parse().ok());
    }
    u
}

/// A From/To/Contact value: display name, URI and the tag parameter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: Uri,
    pub tag: Option<String>,
}

pub fn name_addr(v: &str) -> NameAddr {
    let v = v.trim();
    let (display, uri_s, params) = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => {
            let d = v.get(..a).unwrap_or_default().trim().trim_matches('"').trim();
            (Some(d.to_owned()).filter(|d| !d.is_empty()), v.get(a + 1..b).unwrap_or_default(), v.get(b + 1..).unwrap_or_default())
        }
        _ => {
            let (u, p) = v.split_once(';').unwrap_or((v, ""));
            (None, u, p)
        }
    };
    let tag = params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("tag"))
        .map(|(_, t)| t.to_owned());
    NameAddr { display, uri: uri(uri_s.trim()), tag }
}

/// Splits a multi-value header (Via, Contact) at top-level commas (not inside quotes or <>).
pub fn split_values(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut cur) = (false, false, String::new());
    for ch in v.chars() {
        match ch {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

/// An Authorization / WWW-Authenticate value: scheme and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    pub scheme: String,
    pub realm: Option<String>,
    pub username: Option<String>,
    pub uri: Option<String>,
}

pub fn auth(v: &str) -> Auth {
    let (scheme, params) = v.trim().split_once(' ').unwrap_or((v.trim(), ""));
    let mut a = Auth { scheme: scheme.to_owned(), ..Auth::default() };
    for p in split_values(params) {
        let Some((k, val)) = p.split_once('=') else { continue };
        let val = val.trim().trim_matches('"').to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "realm" => a.realm = Some(val),
            "username" => a.username = Some(val),
            "uri" => a.uri = Some(val),
            _ => {}
        }
    }
    a
}

/// The SDP lines the events report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdp {
    pub version: Option<String>,
    pub owner_username: Option<String>,
    pub owner_session_id: Option<String>,
    pub owner_version: Option<String>,
    pub owner_ip: Option<String>,
    pub session_name: Option<String>,
    pub connection_info: Option<String>,
    pub connection_address: Option<String>,
    pub media: Vec<String>,
}

pub fn sdp(body: &[u8]) -> Sdp {
    let text = String::from_utf8_lossy(body);
    let mut s = Sdp::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some((k, v)) = line.split_once('=') else { continue };
        match k {
            "v" => s.version = Some(v.to_owned()),
            "o" => {
                let f: Vec<&str> = v.split(' ').collect();
                s.owner_username = f.first().map(|x| (*x).to_owned());
                s.owner_session_id = f.get(1).map(|x| (*x).to_owned());
                s.owner_version = f.get(2).map(|x| (*x).to_owned());
                s.owner_ip = f.get(5).map(|x| (*x).to_owned());
            }
            "s" => s.session_name = Some(v.to_owned()),
            "c" if s.connection_info.is_none() => {
                s.connection_info = Some(v.to_owned());
                s.connection_address =
                    v.split(' ').nth(2).map(|a| a.split('/').next().unwrap_or(a).to_owned());
            }
            "m" if s.media.len() < MAX_MEDIA => s.media.push(v.to_owned()),
            _ => {}
        }
    }
    s
}
