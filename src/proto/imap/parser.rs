//! Pure parsing of IMAP lines (RFC 9051 / 3501): a command's tag, name and arguments, a
//! response line's kind, and the literal (`{n}` / `{n+}`) announced at the end of a line.

/// The byte count of a literal announced at the end of `line` (`{123}` or `{123+}`), if any.
pub fn literal_at_end(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let body = body.strip_suffix(b"+").unwrap_or(body);
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = body.get(open + 1..)?;
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A client command line: tag, command name uppercased (`UID FETCH` keeps both words), args.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub name: String,
    pub args: String,
}

fn is_tag_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// A command from its first line (without CRLF); `None` for a line that is no command (an
/// `IDLE`'s `DONE`, SASL data, garbage).
pub fn parse_command(l: &[u8]) -> Option<Command> {
    let sp = l.iter().position(|&b| b == b' ')?;
    let tag = l.get(..sp)?;
    if tag.is_empty() || tag.len() > 64 || !tag.iter().all(|&b| is_tag_char(b)) {
        return None;
    }
    let rest = l.get(sp + 1..)?;
    let word = |r: &[u8]| -> usize { r.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-').count() };
    let n = word(rest);
    if n == 0 || n > 32 {
        return None;
    }
    let mut name = String::from_utf8_lossy(rest.get(..n)?).to_ascii_uppercase();
    let mut args = rest.get(n..).unwrap_or_default();
    if name == "UID" {
        let a = args.strip_prefix(b" ").unwrap_or(args);
        let m = word(a);
        if m > 0 {
            name = format!("UID {}", String::from_utf8_lossy(a.get(..m)?).to_ascii_uppercase());
            args = a.get(m..).unwrap_or_default();
        }
    }
    Some(Command {
        tag: String::from_utf8_lossy(tag).into_owned(),
        name,
        args: String::from_utf8_lossy(args).trim().chars().take(1024).collect(),
    })
}

/// A server response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `* …`: untagged data or status (`* OK` greeting, `* 3 EXISTS`, `* BYE`).
    Untagged { status: Option<String>, text: String },
    /// `+ …`: a continuation request.
    Continue,
    /// `tag OK|NO|BAD text`: a command's completion.
    Tagged { tag: String, status: String, text: String },
}

const STATUSES: &[&str] = &["OK", "NO", "BAD", "PREAUTH", "BYE"];

/// A response from its first line (without CRLF); `None` when it is none of the three forms.
pub fn parse_response(l: &[u8]) -> Option<Response> {
    if l == b"+" || l.starts_with(b"+ ") {
        return Some(Response::Continue);
    }
    let sp = l.iter().position(|&b| b == b' ')?;
    let tag = l.get(..sp)?;
    let rest = String::from_utf8_lossy(l.get(sp + 1..)?).into_owned();
    let (first, text) = rest.split_once(' ').unwrap_or((rest.as_str(), ""));
    let st = first.to_ascii_uppercase();
    let status = STATUSES.contains(&st.as_str()).then_some(st);
    let text: String = text.trim().chars().take(512).collect();
    if tag == b"*" {
        return Some(Response::Untagged { status, text });
    }
    if !tag.iter().all(|&b| is_tag_char(b)) {
        return None;
    }
    let status = status.filter(|s| matches!(s.as_str(), "OK" | "NO" | "BAD"))?;
    Some(Response::Tagged { tag: String::from_utf8_lossy(tag).into_owned(), status, text })
}

/// The first argument of `LOGIN user password` as a string (atom or quoted string); `None`
/// for a literal or nothing.
pub fn first_astring(args: &str) -> Option<String> {
    let a = args.trim_start();
    if let Some(q) = a.strip_prefix('"') {
        let mut out = String::new();
        let mut esc = false;
        for c in q.chars() {
            match (esc, c) {
                (false, '\\') => esc = true,
                (false, '"') => return Some(out.chars().take(256).collect()),
                _ => {
                    esc = false;
                    out.push(c);
                }
            }
        }
        return None;
    }
    let w = a.split(' ').next().filter(|w| !w.is_empty() && !w.starts_with('{'))?;
    Some(w.chars().take(256).collect())
}
