//! Pure parsing of SMTP lines: a command line, a (multi-line) reply, and the header scan of a
//! message body. Shared by the IMAP and POP3 parsers for their line framing ([`line`]).

use crate::bytes::ParseError;
use base64::Engine;

/// Longest line kept whole (RFC 5321 allows 512 for commands and 1000 for text lines; servers
/// accept more); a longer one without an end is malformed in command mode.
pub const MAX_LINE: usize = 65_536;

/// One line from the start of `buf` without its CRLF (or bare LF), and the bytes it used.
pub fn line(buf: &[u8]) -> Result<(&[u8], usize), ParseError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(nl) => {
            let l = buf.get(..nl).unwrap_or_default();
            Ok((l.strip_suffix(b"\r").unwrap_or(l), nl + 1))
        }
        None if buf.len() > MAX_LINE => Err(ParseError::Malformed("line too long")),
        None => Err(ParseError::Incomplete),
    }
}

/// A client command: its verb uppercased and the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub verb: String,
    pub args: String,
}

/// A command from one line (without its CRLF): a verb of 1 to 16 ASCII letters, then a space
/// or the end of the line.
pub fn parse_command(l: &[u8]) -> Result<Command, ParseError> {
    let n = l.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if n == 0 || n > 16 || l.get(n).is_some_and(|b| *b != b' ') {
        return Err(ParseError::Malformed("not an SMTP command"));
    }
    let verb = String::from_utf8_lossy(l.get(..n).unwrap_or_default()).to_ascii_uppercase();
    let args = String::from_utf8_lossy(l.get(n..).unwrap_or_default()).trim().to_owned();
    Ok(Command { verb, args })
}

/// A server reply: the code, the text of its first line and the texts of the further lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
    pub more: Vec<String>,
}

/// Most lines of a multi-line reply kept in [`Reply::more`].
pub const MAX_REPLY_LINES: usize = 64;

/// One reply from the start of `buf`: lines `ddd-text` up to the last `ddd text` (or `ddd`).
pub fn parse_reply(buf: &[u8]) -> Result<(Reply, usize), ParseError> {
    let mut at = 0;
    let mut reply: Option<Reply> = None;
    loop {
        let rest = buf.get(at..).unwrap_or_default();
        if rest.len() >= 4 && !rest.iter().take(3).all(u8::is_ascii_digit) {
            return Err(ParseError::Malformed("reply line without a code"));
        }
        let (l, used) = line(rest)?;
        at += used;
        let digits = l.get(..3).filter(|d| d.iter().all(u8::is_ascii_digit));
        let Some(d) = digits else { return Err(ParseError::Malformed("reply line without a code")) };
        let code = d.iter().fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
        let sep = l.get(3).copied();
        if !matches!(sep, None | Some(b' ') | Some(b'-') | Some(b'\t')) {
            return Err(ParseError::Malformed("reply code not followed by a space or dash"));
        }
        let text = String::from_utf8_lossy(l.get(4..).unwrap_or_default()).trim().to_owned();
        match &mut reply {
            None => reply = Some(Reply { code, text, more: Vec::new() }),
            Some(r) if r.more.len() < MAX_REPLY_LINES => r.more.push(text),
            Some(_) => {}
        }
        if sep != Some(b'-') {
            return reply.map(|r| (r, at)).ok_or(ParseError::Incomplete);
        }
    }
}

/// Longest header line kept by [`Headers`].
const MAX_HEADER_LINE: usize = 1000;

/// Scans the header section of a message fed in pieces, for `Subject` and `Message-ID`.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    line: Vec<u8>,
    done: bool,
    pub subject: Option<String>,
    pub message_id: Option<String>,
}

impl Headers {
    pub fn feed(&mut self, mut b: &[u8]) {
        while !self.done && !b.is_empty() {
            let nl = b.iter().position(|&c| c == b'\n');
            let (piece, rest) = match nl {
                Some(i) => (b.get(..i).unwrap_or_default(), b.get(i + 1..).unwrap_or_default()),
                None => (b, &[][..]),
            };
            let room = MAX_HEADER_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(piece.get(..piece.len().min(room)).unwrap_or_default());
            b = rest;
            if nl.is_some() {
                let l = std::mem::take(&mut self.line);
                self.header_line(l.strip_suffix(b"\r").unwrap_or(&l));
            }
        }
    }

    fn header_line(&mut self, l: &[u8]) {
        if l.is_empty() {
            self.done = true;
            return;
        }
        let Some(colon) = l.iter().position(|&c| c == b':') else { return };
        let name = l.get(..colon).unwrap_or_default();
        let value = || {
            let v = String::from_utf8_lossy(l.get(colon + 1..).unwrap_or_default());
            v.trim().chars().take(256).collect::<String>()
        };
        if name.eq_ignore_ascii_case(b"subject") && self.subject.is_none() {
            self.subject = Some(value());
        } else if name.eq_ignore_ascii_case(b"message-id") && self.message_id.is_none() {
            self.message_id = Some(value());
        }
    }
}

/// The address of a `MAIL FROM:<a>` / `RCPT TO:<a>` parameter (`None` for `<>`, the null
/// reverse path, or when there is no path).
pub fn path_address(args: &str) -> Option<String> {
    let (_, rest) = args.split_once(':')?;
    let rest = rest.trim_start();
    let addr = match rest.strip_prefix('<') {
        Some(r) => r.split('>').next().unwrap_or_default(),
        None => rest.split(' ').next().unwrap_or_default(),
    };
    // A source route `@a,@b:user@c` keeps only the mailbox.
    let addr = addr.rsplit(':').next().unwrap_or_default().trim();
    (!addr.is_empty()).then(|| addr.chars().take(320).collect())
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// The login of an `AUTH PLAIN` response (`authzid NUL authcid NUL password`): the authcid,
/// else the authzid. The password is never kept.
pub fn plain_user(s: &str) -> Option<String> {
    let raw = b64(s)?;
    let mut parts = raw.split(|b| *b == 0);
    let authz = parts.next()?;
    let authc = parts.next()?;
    let u = if authc.is_empty() { authz } else { authc };
    (!u.is_empty()).then(|| String::from_utf8_lossy(u).chars().take(256).collect())
}

/// The login of an `AUTH LOGIN` user line (base64 of the name).
pub fn login_user(s: &str) -> Option<String> {
    let raw = b64(s)?;
    (!raw.is_empty()).then(|| String::from_utf8_lossy(&raw).chars().take(256).collect())
}

