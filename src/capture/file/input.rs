//! The input buffer: one big read buffer over any byte stream, with look-ahead.
//!
//! Both formats ask for "at least `n` bytes" ([`Input::fill`]) and then read them in place, so
//! a frame is a range of this buffer: no copy, no allocation per frame. The buffer is 1 MiB and
//! grows only when a single record needs more, and only as data actually arrives (a bogus huge
//! length in a tiny file never allocates much). Invariant: `pos <= end <= buf.len()`; the file
//! offset of `buf[0]` is `base`, so error messages can name where a bad record starts.

use std::io::{self, Read};

const READ_BUF: usize = 1 << 20;

pub(super) struct Input {
    r: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Next unconsumed byte.
    pos: usize,
    /// End of valid data.
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl Input {
    pub(super) fn new(r: Box<dyn Read + Send>) -> Input {
        Input { r, buf: vec![0; READ_BUF], pos: 0, end: 0, base: 0, eof: false }
    }

    #[inline]
    pub(super) fn avail(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    #[inline]
    pub(super) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Index in the buffer of the next unconsumed byte: frames are handed out as ranges of the
    /// buffer (see [`Input::bytes_at`]), valid until the next `fill`, `consume` or `skip`.
    #[inline]
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// `len` bytes at buffer index `start` (empty when out of range, which a caller that
    /// filled first never asks for).
    #[inline]
    pub(super) fn bytes_at(&self, start: usize, len: usize) -> &[u8] {
        self.buf.get(start..start.saturating_add(len)).unwrap_or(&[])
    }

    /// The buffered, unconsumed bytes.
    #[inline]
    pub(super) fn data(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or(&[])
    }

    /// Makes at least `n` bytes available; `Ok(false)` if the input ends first (whatever was
    /// there stays available).
    #[inline]
    pub(super) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.avail() >= n {
            Ok(true)
        } else {
            self.fill_slow(n)
        }
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<bool> {
        // Not enough room behind `pos`: move the unconsumed bytes to the front.
        if self.pos > 0 && self.pos.saturating_add(n) > self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.avail() < n {
            if self.eof {
                return Ok(false);
            }
            if self.end >= self.buf.len() {
                // Full of unconsumed data: grow geometrically, only as data actually arrives
                // (a bogus huge length in a tiny file never allocates much).
                let new_len = self.buf.len().max(4096).saturating_mul(2);
                self.buf.resize(new_len, 0);
            }
            let Some(tail) = self.buf.get_mut(self.end..) else {
                return Ok(false);
            };
            let room = tail.len();
            match self.r.read(tail) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k.min(room),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Consumes `n` bytes that are known to be buffered.
    #[inline]
    pub(super) fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.end);
    }

    /// Skips `n` bytes, buffered or not; `Ok(false)` if the input ends first.
    pub(super) fn skip(&mut self, n: u64) -> io::Result<bool> {
        let avail = self.avail() as u64;
        if n <= avail {
            self.pos += n as usize;
            return Ok(true);
        }
        let mut left = n - avail;
        self.base += self.end as u64;
        self.pos = 0;
        self.end = 0;
        while left > 0 {
            if self.eof {
                return Ok(false);
            }
            let room = self.buf.len();
            match self.r.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    let k = k.min(room) as u64;
                    if k <= left {
                        self.base += k;
                        left -= k;
                    } else {
                        self.end = k as usize;
                        self.pos = left as usize;
                        left = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}
