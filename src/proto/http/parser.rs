//! Pure byte scans of HTTP/1.x: the content probe and the resynchronisation after lost bytes
//! (where a request or status line may start, where a head ends). The start line and headers
//! are parsed in `head.rs`, bodies framed in `body.rs`, request targets in `url.rs`.

use super::head::{self, Plausible};
use crate::proto::{Dir, Transport};

/// Content probe for flows on other ports: a request line (`TOKEN target HTTP/1.x`, any method
/// token) or a status line (`HTTP/1.x ddd`, a capture picked up with the server's bytes).
pub fn probe(t: Transport, _dir: Dir, b: &[u8]) -> bool {
    if t != Transport::Tcp {
        return false;
    }
    let b = b.get(head::leading_blank(b)..).unwrap_or_default();
    match head::strict_start(b) {
        Plausible::Yes => true,
        // A whole line that a known method starts and an HTTP version ends, with a stray token
        // between (`CONNECT host:25 / HTTP/1.0`, as some proxies' clients send).
        Plausible::No => loose_request_line(b),
        // The first segment ends inside a long request target.
        Plausible::Maybe => head::KNOWN_METHODS.iter().any(|m| {
            b.strip_prefix(*m).and_then(|r| r.strip_prefix(b" ")).is_some_and(|t| {
                t.starts_with(b"/") || t.starts_with(b"http://") || t.starts_with(b"https://")
            })
        }),
    }
}

fn loose_request_line(b: &[u8]) -> bool {
    let Some(end) = b.iter().position(|&c| c == b'\n') else { return false };
    let line = b.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let words: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
    let version = |w: &[u8]| {
        matches!(w, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit())
    };
    words.len() >= 3
        && words.first().is_some_and(|m| head::KNOWN_METHODS.contains(m))
        && words.last().is_some_and(|v| version(v))
}

/// Where a resynchronising stream may pick up again.
pub(super) enum Resync {
    /// A start line begins at this offset.
    Found(usize),
    /// The last line may still become one: keep from this offset.
    Keep(usize),
    /// Nothing here; whether the bytes ended with a line end.
    Drop { ends_line: bool },
}

pub(super) fn resync(b: &[u8], at_line_start: bool, max: usize) -> Resync {
    if b.is_empty() {
        return Resync::Drop { ends_line: at_line_start };
    }
    let starts = b.iter().enumerate().filter(|(_, &c)| c == b'\n').map(|(i, _)| i + 1);
    for c in at_line_start.then_some(0).into_iter().chain(starts) {
        let line = b.get(c..).unwrap_or_default();
        match head::strict_start(line) {
            Plausible::Yes => return Resync::Found(c),
            Plausible::Maybe if line.len() <= max => return Resync::Keep(c),
            Plausible::Maybe => return Resync::Drop { ends_line: false },
            Plausible::No => {}
        }
    }
    Resync::Drop { ends_line: b.last() == Some(&b'\n') }
}

/// Finds the blank line ending a head in `b`, given the two bytes before it.
pub(super) fn skip_scan(tail: [u8; 2], b: &[u8]) -> Option<usize> {
    let (mut p0, mut p1) = (tail[0], tail[1]);
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' && (p1 == b'\n' || (p1 == b'\r' && p0 == b'\n')) {
            return Some(i + 1);
        }
        (p0, p1) = (p1, c);
    }
    None
}

pub(super) fn last_two(tail: [u8; 2], b: &[u8]) -> [u8; 2] {
    match b {
        [] => tail,
        [x] => [tail[1], *x],
        [.., x, y] => [*x, *y],
    }
}
