//! Checked views over untrusted bytes: the one way decode, capture and every protocol parser
//! read packet data.
//!
//! A leaf module: it depends on nothing else in the crate. Every read returns `None` past the
//! end instead of panicking, so a parser that goes through [`View`] or [`Cursor`] cannot panic on
//! any input (habit 2 of STYLE.md, after smoltcp's `wire`). Reads come in both byte orders:
//! network order (`u16`, `u32`, …) and little-endian (`u16_le`, …), or chosen at run time with
//! [`Endian`] (capture files are written in the writer's order).
//!
//! [`ParseError`] is the one error type of the pure parsers: `Incomplete` (more bytes may make
//! it valid) is never `Malformed` (no continuation can).

/// Why bytes did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed; nothing is wrong yet.
    Incomplete,
    /// These bytes can never be a valid message; the text says what was wrong.
    Malformed(&'static str),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Incomplete => f.write_str("incomplete"),
            ParseError::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Byte order of multi-byte fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Big,
    Little,
}

/// Positional reads at absolute offsets of a byte slice; `None` past the end.
#[derive(Debug, Clone, Copy)]
pub struct View<'a>(pub &'a [u8]);

impl<'a> View<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    #[inline]
    pub fn u8(&self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    /// `N` bytes at `at`.
    #[inline]
    pub fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.0.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    /// Network byte order.
    #[inline]
    pub fn u16(&self, at: usize) -> Option<u16> {
        self.array(at).map(u16::from_be_bytes)
    }
    #[inline]
    pub fn u24(&self, at: usize) -> Option<u32> {
        self.array::<3>(at).map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    #[inline]
    pub fn u32(&self, at: usize) -> Option<u32> {
        self.array(at).map(u32::from_be_bytes)
    }
    #[inline]
    pub fn u64(&self, at: usize) -> Option<u64> {
        self.array(at).map(u64::from_be_bytes)
    }
    #[inline]
    pub fn u16_le(&self, at: usize) -> Option<u16> {
        self.array(at).map(u16::from_le_bytes)
    }
    #[inline]
    pub fn u32_le(&self, at: usize) -> Option<u32> {
        self.array(at).map(u32::from_le_bytes)
    }
    #[inline]
    pub fn u64_le(&self, at: usize) -> Option<u64> {
        self.array(at).map(u64::from_le_bytes)
    }
    /// A 16-bit field in the given byte order.
    #[inline]
    pub fn u16_in(&self, at: usize, order: Endian) -> Option<u16> {
        match order {
            Endian::Big => self.u16(at),
            Endian::Little => self.u16_le(at),
        }
    }
    /// A 32-bit field in the given byte order.
    #[inline]
    pub fn u32_in(&self, at: usize, order: Endian) -> Option<u32> {
        match order {
            Endian::Big => self.u32(at),
            Endian::Little => self.u32_le(at),
        }
    }
    /// A 64-bit field in the given byte order.
    #[inline]
    pub fn u64_in(&self, at: usize, order: Endian) -> Option<u64> {
        match order {
            Endian::Big => self.u64(at),
            Endian::Little => self.u64_le(at),
        }
    }
    /// Everything from `at` on (`Some(&[])` at the end).
    #[inline]
    pub fn from(&self, at: usize) -> Option<&'a [u8]> {
        self.0.get(at..)
    }
    /// `len` bytes at `at`.
    #[inline]
    pub fn slice(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.0.get(at..at.checked_add(len)?)
    }
}

/// Sequential reads that advance over a window `pos..end` of a slice. The whole slice stays
/// reachable through [`Cursor::whole`] (DNS names point back into the message).
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0, end: buf.len() }
    }
    /// A cursor over `start..end` of `buf` (clamped to the slice).
    pub fn window(buf: &'a [u8], start: usize, end: usize) -> Self {
        let end = end.min(buf.len());
        Cursor { buf, pos: start.min(end), end }
    }
    /// The slice the cursor walks (not only its window).
    pub fn whole(&self) -> &'a [u8] {
        self.buf
    }
    /// Offset of the next read in the whole slice.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// Moves to `pos` (clamped to the window's end).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.end);
    }
    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }
    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }
    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }
    /// The unread bytes, consumed.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let v = self.rest();
        self.pos = self.end;
        v
    }
    /// The next `n` bytes, or `None` (and nothing consumed) when fewer remain.
    #[inline]
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.remaining() {
            return None;
        }
        let v = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(v)
    }
    #[inline]
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    #[inline]
    pub fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }
    #[inline]
    pub fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }
    #[inline]
    pub fn u24(&mut self) -> Option<u32> {
        self.array::<3>().map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    #[inline]
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }
    #[inline]
    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }
    #[inline]
    pub fn u16_le(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }
    #[inline]
    pub fn u32_le(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    pub fn u16_in(&mut self, order: Endian) -> Option<u16> {
        match order {
            Endian::Big => self.u16(),
            Endian::Little => self.u16_le(),
        }
    }
    pub fn u32_in(&mut self, order: Endian) -> Option<u32> {
        match order {
            Endian::Big => self.u32(),
            Endian::Little => self.u32_le(),
        }
    }
    /// A vector with a one-byte length prefix (TLS `<0..2^8-1>`, DNS `<character-string>`).
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let n = self.u8()?;
        self.take(usize::from(n)).or_else(|| {
            self.pos = save;
            None
        })
    }
    /// A vector with a two-byte (network order) length prefix.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let n = self.u16()?;
        self.take(usize::from(n)).or_else(|| {
            self.pos = save;
            None
        })
    }
    /// A vector with a three-byte (network order) length prefix.
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let n = self.u24()?;
        self.take(n as usize).or_else(|| {
            self.pos = save;
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_reads_both_orders_and_stops_at_the_end() {
        let v = View(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(v.u16(0), Some(0x0102));
        assert_eq!(v.u16_le(0), Some(0x0201));
        assert_eq!(v.u24(1), Some(0x020304));
        assert_eq!(v.u32(4), Some(0x05060708));
        assert_eq!(v.u32_in(4, Endian::Little), Some(0x08070605));
        assert_eq!(v.u64(0), Some(0x0102030405060708));
        assert_eq!(v.u64_in(0, Endian::Little), Some(0x0807060504030201));
        assert_eq!(v.u16(7), None);
        assert_eq!(v.u32(usize::MAX - 1), None, "offsets near usize::MAX cannot overflow");
        assert_eq!(v.from(8), Some(&[][..]));
        assert_eq!(v.from(9), None);
        assert_eq!(v.slice(6, 2), Some(&[7, 8][..]));
        assert_eq!(v.slice(6, 3), None);
    }

    #[test]
    fn cursor_consumes_nothing_on_a_short_read() {
        let mut c = Cursor::new(&[0, 3, b'a', b'b']);
        assert_eq!(c.vec16(), None, "length 3 but only 2 bytes follow");
        assert_eq!(c.pos(), 0);
        assert_eq!(c.u8(), Some(0));
        assert_eq!(c.vec8(), None);
        assert_eq!(c.pos(), 1);
        assert_eq!(c.u16(), Some(0x0361));
        assert_eq!(c.take_rest(), b"b");
        assert!(c.at_end());
        assert_eq!(c.u8(), None);
    }

    #[test]
    fn window_limits_reads_but_keeps_the_whole_slice() {
        let buf = [9, 9, 1, 2, 3, 9];
        let mut c = Cursor::window(&buf, 2, 5);
        assert_eq!(c.remaining(), 3);
        assert_eq!(c.u16(), Some(0x0102));
        assert_eq!(c.u16(), None, "the window ends before the sixth byte");
        assert_eq!(c.rest(), &[3]);
        assert_eq!(c.whole().len(), 6);
        let c = Cursor::window(&buf, 4, 100);
        assert_eq!(c.rest(), &[3, 9]);
    }
}
