//! Pure parser of the FTP control connection: a command line from the client, a reply (one
//! line `ddd text`, or several lines from `ddd-text` to `ddd text`) from the server. Bytes in,
//! a message out; "need more bytes" ([`ParseError::Incomplete`]) is never "malformed".

use crate::bytes::ParseError;

/// A client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The verb, uppercased (`RETR`).
    pub verb: String,
    /// The rest of the line after one space, without the line end.
    pub args: String,
}

/// A server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of every line, without codes and line ends, joined by `\n`.
    pub text: String,
    pub multiline: bool,
}

/// One line from the start of `buf`: (the line without its end, bytes used).
fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let l = buf.get(..nl).unwrap_or_default();
    Some((l.strip_suffix(b"\r").unwrap_or(l), nl + 1))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One command from the start of `buf`, and the bytes it used.
pub fn parse_command(buf: &[u8]) -> Result<(Command, usize), ParseError> {
    // The verb must be letters; check what has arrived so far before the line ends.
    let verb_end = buf.iter().position(|&b| b == b' ' || b == b'\r' || b == b'\n');
    let verb = buf.get(..verb_end.unwrap_or(buf.len())).unwrap_or_default();
    // RFC 959 verbs have 3 or 4 letters; longer ones (attacks, typos) are still reported.
    if !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(ParseError::Malformed("command verb is not letters"));
    }
    let Some((l, used)) = line(buf) else { return Err(ParseError::Incomplete) };
    if verb.is_empty() {
        return Err(ParseError::Malformed("empty command line"));
    }
    let args = l.get(verb.len() + 1..).unwrap_or_default();
    Ok((Command { verb: text(verb).to_ascii_uppercase(), args: text(args) }, used))
}

/// The reply code of a line starting `ddd`, and the separator after it.
fn code_of(l: &[u8]) -> Option<(u16, Option<u8>)> {
    let d = l.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = d.iter().fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    Some((code, l.get(3).copied()))
}

/// One reply from the start of `buf`, and the bytes it used.
pub fn parse_reply(buf: &[u8]) -> Result<(Reply, usize), ParseError> {
    let head = buf.get(..buf.len().min(3)).unwrap_or_default();
    if !head.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed("reply does not start with a 3-digit code"));
    }
    let Some((first, mut used)) = line(buf) else { return Err(ParseError::Incomplete) };
    let Some((code, sep)) = code_of(first) else {
        return Err(ParseError::Malformed("reply does not start with a 3-digit code"));
    };
    let rest = |l: &[u8]| text(l.get(4..).unwrap_or_default());
    match sep {
        None | Some(b' ') => {
            Ok((Reply { code, text: rest(first), multiline: false }, used))
        }
        Some(b'-') => {
            let mut lines = vec![rest(first)];
            loop {
                let Some((l, n)) = line(buf.get(used..).unwrap_or_default()) else {
                    return Err(ParseError::Incomplete);
                };
                used += n;
                match code_of(l) {
                    Some((c, None | Some(b' '))) if c == code => {
                        lines.push(rest(l));
                        return Ok((Reply { code, text: lines.join("\n"), multiline: true }, used));
                    }
                    _ => lines.push(text(l)),
                }
            }
        }
        Some(_) => Err(ParseError::Malformed("reply code not followed by space or '-'")),
    }
}

/// The data endpoint `h1,h2,h3,h4,p1,p2` of `PORT` and of a `227` reply (inside the text).
pub fn host_port(s: &str) -> Option<(std::net::IpAddr, u16)> {
    // Find the first run of six comma-separated numbers.
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let nums: Vec<u16> = s[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()?
        .split(',')
        .map(|n| n.parse::<u16>().ok().filter(|v| *v <= 255))
        .collect::<Option<Vec<_>>>()?;
    let [a, b, c, d, p1, p2] = nums.as_slice() else { return None };
    let ip = std::net::Ipv4Addr::new(*a as u8, *b as u8, *c as u8, *d as u8);
    Some((ip.into(), p1 * 256 + p2))
}

/// `EPRT |af|addr|port|` (RFC 2428).
pub fn eprt(s: &str) -> Option<(std::net::IpAddr, u16)> {
    let delim = s.chars().next()?;
    let mut parts = s[delim.len_utf8()..].split(delim);
    let _af = parts.next()?;
    let ip = parts.next()?.parse().ok()?;
    let port = parts.next()?.parse().ok()?;
    Some((ip, port))
}

/// The port of a `229 Entering Extended Passive Mode (|||port|)` reply.
pub fn epsv_port(s: &str) -> Option<u16> {
    let open = s.find('(')?;
    let inner = &s[open + 1..];
    let delim = inner.chars().next()?;
    let mut parts = inner[delim.len_utf8()..].split(delim);
    let (_, _) = (parts.next()?, parts.next()?);
    parts.next()?.parse().ok()
}

/// The size in a `150 Opening … (1234 bytes)` reply.
pub fn size_in_text(s: &str) -> Option<u64> {
    let end = s.rfind(" bytes")?;
    let head = &s[..end];
    // The digits run back to the last non-digit, which may be a multi-byte character.
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    head[start..].parse().ok()
}
