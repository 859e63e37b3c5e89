//! Message bodies: `Content-Length`, chunked (size lines, extensions, trailers) and
//! close-delimited framing, decoded incrementally so that nothing is buffered: a body may span
//! any number of segments and a chunk-size line may be split anywhere.

/// How a body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD responses, 1xx/204/304, requests without length).
    None,
    Length(u64),
    Chunked,
    /// Response read until the connection closes.
    UntilClose,
}

/// Result of feeding bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Every byte was used and the body goes on.
    NeedMore,
    /// The body ended after the bytes used.
    Done,
    /// Invalid framing at the bytes used; the body cannot be followed further.
    Error(&'static str),
}

/// Longest chunk-size line (size, extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits of the size (`digits` so far).
    Size {
        size: u64,
        digits: u8,
    },
    /// After the digits: whitespace or `;extensions` up to the line end.
    SizeRest {
        size: u64,
        len: usize,
    },
    /// Saw CR ending the size line.
    SizeLf {
        size: u64,
    },
    Data {
        remaining: u64,
    },
    /// Expecting CRLF (or a bare LF) after chunk data.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final blank line).
    TrailerStart,
    TrailerLine,
    TrailerLf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

/// Incremental body decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    state: State,
    /// Body bytes on the wire (chunk framing included).
    pub wire: u64,
    /// Payload bytes (chunk framing excluded).
    pub payload: u64,
    /// Trailer bytes read, bounded by `max_trailer`.
    trailer: usize,
    max_trailer: usize,
}

impl Body {
    pub fn new(framing: Framing, max_trailer: usize) -> Body {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunk::Size { size: 0, digits: 0 }),
            Framing::UntilClose => State::UntilClose,
        };
        Body { state, wire: 0, payload: 0, trailer: 0, max_trailer }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the body ends with the connection.
    pub fn until_close(&self) -> bool {
        self.state == State::UntilClose
    }

    /// Feeds `input`; payload slices go to `on_payload`. Returns the bytes used and the step.
    pub fn feed<'a>(
        &mut self,
        input: &'a [u8],
        on_payload: &mut dyn FnMut(&'a [u8]),
    ) -> (usize, Step) {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                State::Done => return (pos, Step::Done),
                State::UntilClose => {
                    self.take(rest.len(), rest, on_payload);
                    return (input.len(), Step::NeedMore);
                }
                State::Length(remaining) => {
                    let n = rest.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    self.take(n, rest, on_payload);
                    pos += n;
                    let left = remaining - n as u64;
                    self.state = if left == 0 { State::Done } else { State::Length(left) };
                    if left > 0 {
                        return (pos, Step::NeedMore);
                    }
                }
                State::Chunked(Chunk::Data { remaining }) => {
                    let n = rest.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    self.take(n, rest, on_payload);
                    pos += n;
                    let left = remaining - n as u64;
                    self.state = State::Chunked(if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data { remaining: left }
                    });
                    if left > 0 {
                        return (pos, Step::NeedMore);
                    }
                }
                State::Chunked(c) => {
                    let Some(&b) = rest.first() else { return (pos, Step::NeedMore) };
                    pos += 1;
                    self.wire += 1;
                    match self.chunk_byte(c, b) {
                        Ok(()) => {}
                        Err(e) => return (pos, Step::Error(e)),
                    }
                }
            }
        }
    }

    fn take<'a>(&mut self, n: usize, rest: &'a [u8], on_payload: &mut dyn FnMut(&'a [u8])) {
        if n > 0 {
            on_payload(rest.get(..n).unwrap_or_default());
        }
        self.wire += n as u64;
        self.payload += n as u64;
    }

    /// One byte of chunk framing (size line, CRLF after data, trailers).
    fn chunk_byte(&mut self, c: Chunk, b: u8) -> Result<(), &'static str> {
        let next = match c {
            Chunk::Size { size, digits } => match (b as char).to_digit(16) {
                Some(d) if digits < 16 => {
                    Chunk::Size { size: size << 4 | u64::from(d), digits: digits + 1 }
                }
                Some(_) => return Err("chunk size too large"),
                None if digits == 0 => return Err("invalid chunk size"),
                None => match b {
                    b'\r' => Chunk::SizeLf { size },
                    b'\n' => size_done(size),
                    b';' | b' ' | b'\t' => Chunk::SizeRest { size, len: 1 },
                    _ => return Err("invalid chunk size"),
                },
            },
            Chunk::SizeRest { size, len } => match b {
                b'\r' => Chunk::SizeLf { size },
                b'\n' => size_done(size),
                _ if len >= MAX_CHUNK_LINE => return Err("chunk extension too long"),
                _ => Chunk::SizeRest { size, len: len + 1 },
            },
            Chunk::SizeLf { size } => match b {
                b'\n' => size_done(size),
                _ => return Err("invalid chunk size line end"),
            },
            Chunk::DataCr => match b {
                b'\r' => Chunk::DataLf,
                b'\n' => Chunk::Size { size: 0, digits: 0 },
                _ => return Err("missing CRLF after chunk data"),
            },
            Chunk::DataLf => match b {
                b'\n' => Chunk::Size { size: 0, digits: 0 },
                _ => return Err("missing CRLF after chunk data"),
            },
            Chunk::TrailerStart | Chunk::TrailerLine | Chunk::TrailerLf => {
                self.trailer += 1;
                if self.trailer > self.max_trailer {
                    return Err("trailer larger than the header size limit");
                }
                match (c, b) {
                    (Chunk::TrailerStart, b'\r') => Chunk::TrailerLf,
                    (Chunk::TrailerStart | Chunk::TrailerLf, b'\n') => {
                        self.state = State::Done;
                        return Ok(());
                    }
                    (Chunk::TrailerLf, _) => return Err("invalid trailer"),
                    (_, b'\n') => Chunk::TrailerStart,
                    _ => Chunk::TrailerLine,
                }
            }
            Chunk::Data { .. } => c,
        };
        self.state = State::Chunked(next);
        Ok(())
    }

    /// `len` bytes were lost. `true` when they fall inside the payload and the framing is
    /// still known; `false` when the position in the framing is lost.
    pub fn gap(&mut self, len: u64) -> bool {
        match self.state {
            State::UntilClose => {}
            State::Length(remaining) if len < remaining => {
                self.state = State::Length(remaining - len)
            }
            State::Length(remaining) if len == remaining => self.state = State::Done,
            State::Chunked(Chunk::Data { remaining }) if len <= remaining => {
                self.state = State::Chunked(if len == remaining {
                    Chunk::DataCr
                } else {
                    Chunk::Data { remaining: remaining - len }
                })
            }
            _ => return false,
        }
        self.wire += len;
        self.payload += len;
        true
    }
}

/// Chunk state after a size line: data, or the trailer after the last (zero) chunk.
fn size_done(size: u64) -> Chunk {
    if size == 0 {
        Chunk::TrailerStart
    } else {
        Chunk::Data { remaining: size }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(b: &mut Body, input: &[u8]) -> (usize, Step, Vec<u8>) {
        let mut got = Vec::new();
        let (n, s) = b.feed(input, &mut |p| got.extend_from_slice(p));
        (n, s, got)
    }

    #[test]
    fn chunked_across_every_split() {
        let msg = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let body_len = msg.len() - 4;
        for cut in 0..msg.len() {
            let mut b = Body::new(Framing::Chunked, 1024);
            let (n1, s1, mut p) = run(&mut b, &msg[..cut]);
            let (mut used, mut step) = (n1, s1);
            if s1 == Step::NeedMore {
                assert_eq!(n1, cut, "all bytes used at cut {cut}");
                let (n2, s2, p2) = run(&mut b, &msg[cut..]);
                used += n2;
                step = s2;
                p.extend(p2);
            }
            assert_eq!(step, Step::Done, "cut {cut}");
            assert_eq!(used, body_len);
            assert_eq!(p, b"Wikipedia in\r\n\r\nchunks.");
            assert_eq!(b.payload, 23);
            assert_eq!(b.wire, body_len as u64);
        }
    }

    #[test]
    fn bare_lf_chunks_and_errors() {
        let mut b = Body::new(Framing::Chunked, 1024);
        assert_eq!(run(&mut b, b"3\nabc\n0\n\n").1, Step::Done);
        let mut b = Body::new(Framing::Chunked, 1024);
        assert!(matches!(run(&mut b, b"zz\r\n").1, Step::Error(_)));
        let mut b = Body::new(Framing::Chunked, 1024);
        assert!(matches!(run(&mut b, b"3\r\nabcX").1, Step::Error(_)));
        let mut b = Body::new(Framing::Chunked, 1024);
        assert!(matches!(run(&mut b, b"11111111111111111\r\n").1, Step::Error(_)));
        let mut b = Body::new(Framing::Chunked, 4);
        assert!(matches!(run(&mut b, b"0\r\nLong-Trailer: x\r\n\r\n").1, Step::Error(_)));
    }

    #[test]
    fn content_length_and_gaps() {
        let mut b = Body::new(Framing::Length(10), 0);
        assert_eq!(run(&mut b, b"abc").1, Step::NeedMore);
        assert!(b.gap(4));
        let (n, s, p) = run(&mut b, b"defGET");
        assert_eq!((n, s, p.as_slice()), (3, Step::Done, &b"def"[..]));
        assert_eq!(b.payload, 10);
        let mut b = Body::new(Framing::Length(3), 0);
        assert!(!b.gap(4), "a gap past the end loses the framing");
        let mut b = Body::new(Framing::Chunked, 10);
        assert_eq!(run(&mut b, b"a\r\n12").1, Step::NeedMore);
        assert!(b.gap(8));
        assert_eq!(run(&mut b, b"\r\n0\r\n\r\n").1, Step::Done);
        let mut b = Body::new(Framing::Chunked, 10);
        assert!(!b.gap(1), "a gap in a size line loses the framing");
    }

    #[test]
    fn until_close_and_none() {
        let mut b = Body::new(Framing::UntilClose, 0);
        assert_eq!(run(&mut b, b"anything").1, Step::NeedMore);
        assert!(b.until_close() && b.gap(100));
        assert_eq!(b.payload, 108);
        assert!(Body::new(Framing::None, 0).is_done());
        assert!(Body::new(Framing::Length(0), 0).is_done());
    }
}
