//! Pure parser of the template protocol: one message from the start of a buffer. Bytes in,
//! a message out; "need more bytes" ([`ParseError::Incomplete`]) is never "malformed".

use crate::bytes::ParseError;

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Ping(String),
    Pong(String),
}

/// One message from the start of `buf`, and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<(Message, usize), ParseError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() >= 5 && !(buf.starts_with(b"PING ") || buf.starts_with(b"PONG ")) {
            Err(ParseError::Malformed("unknown verb"))
        } else {
            Err(ParseError::Incomplete)
        };
    };
    let line = buf.get(..nl).unwrap_or_default();
    let text = |l: &[u8]| String::from_utf8_lossy(l.get(5..).unwrap_or_default()).into_owned();
    match line.get(..5) {
        Some(b"PING ") => Ok((Message::Ping(text(line)), nl + 1)),
        Some(b"PONG ") => Ok((Message::Pong(text(line)), nl + 1)),
        _ => Err(ParseError::Malformed("unknown verb")),
    }
}
