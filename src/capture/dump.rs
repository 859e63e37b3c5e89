//! Capture writers for `wirebeat run --dump FILE`.
//!
//! - [`PcapWriter`]: classic pcap with nanosecond timestamps (magic 0xa1b23c4d), little-endian,
//!   one link type for the whole file.
//! - [`PcapngWriter`]: pcapng (little-endian), one Interface Description Block per registered
//!   (interface, link type) with if_tsresol = 9 (nanoseconds), Enhanced Packet Blocks; for live
//!   captures over several interfaces with different link types.
//!
//! Both buffer their output; call `flush()` (or `finish()`) to push it to the file. Dropping a
//! writer flushes too, but silently ignores errors.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::file::MAX_CAPLEN;

const NS_PER_S: i64 = 1_000_000_000;
const OUT_BUF: usize = 1 << 20;

/// Effective snapshot length: 0 or anything above the reader's limit means [`MAX_CAPLEN`].
fn effective_snaplen(snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > MAX_CAPLEN {
        MAX_CAPLEN
    } else {
        snaplen
    }
}

/// Captured part of `data` and the original length to record (never below the captured one).
fn cut(data: &[u8], wire_len: u32, snaplen: u32) -> (&[u8], u32) {
    let caplen = data.len().min(snaplen as usize);
    let data = data.get(..caplen).unwrap_or(data);
    (data, wire_len.max(caplen as u32))
}

/// Classic pcap writer (nanosecond resolution, little-endian).
pub struct PcapWriter<W: Write = BufWriter<File>> {
    w: W,
    snaplen: u32,
    linktype: u32,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the file header. `snaplen` 0 means 262144; longer
    /// frames are cut to `snaplen` when written.
    pub fn create(path: impl AsRef<Path>, linktype: u32, snaplen: u32) -> io::Result<Self> {
        let f = File::create(path)?;
        PcapWriter::from_writer(BufWriter::with_capacity(OUT_BUF, f), linktype, snaplen)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes a pcap file header to any writer (a pipe, stdout, memory).
    pub fn from_writer(mut w: W, linktype: u32, snaplen: u32) -> io::Result<Self> {
        let snaplen = effective_snaplen(snaplen);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&linktype.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter { w, snaplen, linktype })
    }

    /// Appends one frame. Timestamps outside what pcap can hold (before 1970, after 2106) are
    /// clamped; data beyond the snapshot length is cut.
    pub fn write(&mut self, ts_ns: i64, wire_len: u32, data: &[u8]) -> io::Result<()> {
        let (data, orig) = cut(data, wire_len, self.snaplen);
        let (sec, nsec) = if ts_ns <= 0 {
            (0u32, 0u32)
        } else {
            let s = ts_ns / NS_PER_S;
            match u32::try_from(s) {
                Ok(s) => (s, (ts_ns % NS_PER_S) as u32),
                Err(_) => (u32::MAX, 999_999_999),
            }
        };
        put_u32s(&mut self.w, &[sec, nsec, data.len() as u32, orig])?;
        self.w.write_all(data)
    }

    /// Pushes buffered output to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }

    /// The file's link type.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The snapshot length written in the header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }
}

/// pcapng writer (little-endian, one section, nanosecond timestamps).
pub struct PcapngWriter<W: Write = BufWriter<File>> {
    w: W,
    /// (linktype, snaplen) per interface id.
    ifaces: Vec<(u32, u32)>,
    /// An error met by `add_interface`, returned by the next `write`/`flush`.
    deferred: Option<io::Error>,
}

impl PcapngWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the Section Header Block.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let f = File::create(path)?;
        PcapngWriter::from_writer(BufWriter::with_capacity(OUT_BUF, f))
    }
}

impl<W: Write> PcapngWriter<W> {
    /// Writes a Section Header Block to any writer.
    pub fn from_writer(mut w: W) -> io::Result<Self> {
        let app = concat!("wirebeat ", env!("CARGO_PKG_VERSION")).as_bytes();
        let opt_len = 4 + pad4(app.len()) + 4; // shb_userappl + opt_endofopt
        let total = (28 + opt_len) as u32;
        let mut b = Vec::with_capacity(total as usize);
        b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes()); // section length: unknown
        push_option(&mut b, 4, app); // shb_userappl
        b.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        b.extend_from_slice(&total.to_le_bytes());
        w.write_all(&b)?;
        Ok(PcapngWriter { w, ifaces: Vec::new(), deferred: None })
    }

    /// Registers an interface (writes its Interface Description Block, if_tsresol = 9) and
    /// returns its id for [`write`](Self::write). `snaplen` 0 means 262144. A link type that
    /// does not fit pcapng's 16-bit field, or a write error, is reported by the next
    /// `write`/`flush`.
    pub fn add_interface(&mut self, linktype: u32, snaplen: u32) -> u32 {
        let snaplen = effective_snaplen(snaplen);
        let id = self.ifaces.len() as u32;
        self.ifaces.push((linktype, snaplen));
        let lt16 = match u16::try_from(linktype) {
            Ok(v) => v,
            Err(_) => {
                self.deferred.get_or_insert(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("link type {linktype} does not fit in a pcapng interface description"),
                ));
                (linktype & 0xFFFF) as u16
            }
        };
        let total: u32 = 20 + 8 + 4; // fixed part + if_tsresol + opt_endofopt
        let mut b = Vec::with_capacity(total as usize);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(&lt16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&snaplen.to_le_bytes());
        push_option(&mut b, 9, &[9]); // if_tsresol: 10^-9
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&total.to_le_bytes());
        if let Err(e) = self.w.write_all(&b) {
            self.deferred.get_or_insert(e);
        }
        id
    }

    /// Appends one frame on interface `iface` (from `add_interface`). Negative timestamps are
    /// written as 0; data beyond the interface's snapshot length is cut.
    pub fn write(&mut self, iface: u32, ts_ns: i64, wire_len: u32, data: &[u8]) -> io::Result<()> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let Some(&(_, snaplen)) = self.ifaces.get(iface as usize) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("pcapng interface {iface} was never added"),
            ));
        };
        let (data, orig) = cut(data, wire_len, snaplen);
        let ts = ts_ns.max(0) as u64;
        let padded = pad4(data.len());
        let total = (28 + padded + 4) as u32;
        let (ts_hi, ts_lo) = ((ts >> 32) as u32, ts as u32);
        put_u32s(&mut self.w, &[6, total, iface, ts_hi, ts_lo, data.len() as u32, orig])?;
        self.w.write_all(data)?;
        let pad = padded - data.len();
        self.w.write_all(&[0u8; 3][..pad.min(3)])?;
        self.w.write_all(&total.to_le_bytes())
    }

    /// Pushes buffered output to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.w.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.w)
    }

    /// Number of interfaces added.
    pub fn interfaces(&self) -> u32 {
        self.ifaces.len() as u32
    }
}

/// Little-endian 32-bit fields, in order (the writer buffers them).
fn put_u32s(w: &mut impl Write, fields: &[u32]) -> io::Result<()> {
    fields.iter().try_for_each(|v| w.write_all(&v.to_le_bytes()))
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

fn push_option(b: &mut Vec<u8>, code: u16, val: &[u8]) {
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&(val.len() as u16).to_le_bytes());
    b.extend_from_slice(val);
    b.resize(b.len() + (pad4(val.len()) - val.len()), 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::{CaptureFile, CaptureFileError};
    use std::io::Cursor;

    type Rec = (i64, u32, u32, u32, Vec<u8>); // ts, wire_len, linktype, iface, data

    fn read_all(bytes: Vec<u8>) -> (CaptureFile, Vec<Rec>) {
        let mut cf = CaptureFile::from_reader(Box::new(Cursor::new(bytes)), "mem".into())
            .expect("open written capture");
        let mut out = Vec::new();
        loop {
            match cf.next_frame() {
                Ok(Some(f)) => {
                    out.push((f.ts_ns, f.wire_len, f.linktype, f.iface, f.data.to_vec()))
                }
                Ok(None) => break,
                Err(e) => panic!("reading back: {e}"),
            }
        }
        (cf, out)
    }

    fn frames() -> Vec<(i64, u32, Vec<u8>)> {
        (0..50u32)
            .map(|i| {
                let len = (i * 37 % 200) as usize;
                let data: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
                let ts = 1_700_000_000_123_456_789i64 + i64::from(i) * 1_000_000_007;
                (ts, len as u32 + i % 3, data)
            })
            .collect()
    }

    #[test]
    fn pcap_roundtrip_in_memory() {
        let mut w = PcapWriter::from_writer(Vec::new(), 113, 0).expect("header");
        for (ts, wl, d) in frames() {
            w.write(ts, wl, &d).expect("write");
        }
        let bytes = w.finish().expect("finish");
        let (cf, got) = read_all(bytes);
        assert_eq!(cf.format(), "pcap-nsec");
        assert_eq!(cf.linktypes(), vec![113]);
        assert_eq!(cf.snaplen(), MAX_CAPLEN);
        let want: Vec<Rec> = frames().into_iter().map(|(t, l, d)| (t, l, 113, 0, d)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn pcap_roundtrip_file_and_snaplen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.pcap");
        let mut w = PcapWriter::create(&path, 1, 64).expect("create");
        let big = vec![0xabu8; 1500];
        w.write(5_000_000_001, 1500, &big).expect("write");
        w.write(-7, 10, &[1, 2, 3]).expect("write negative ts");
        w.flush().expect("flush");
        drop(w);
        let mut cf = CaptureFile::open(&path).expect("open");
        let f = cf.next_frame().expect("frame").expect("some");
        assert_eq!((f.ts_ns, f.wire_len, f.data.len()), (5_000_000_001, 1500, 64));
        let f = cf.next_frame().expect("frame").expect("some");
        assert_eq!((f.ts_ns, f.wire_len, f.data), (0, 10, &[1u8, 2, 3][..]));
        assert!(cf.next_frame().expect("end").is_none());
        assert_eq!(cf.bytes_read(), std::fs::metadata(&path).expect("meta").len());
    }

    #[test]
    fn pcapng_roundtrip_several_interfaces() {
        let mut w = PcapngWriter::from_writer(Vec::new()).expect("shb");
        let eth = w.add_interface(1, 0);
        let sll = w.add_interface(113, 100);
        let raw = w.add_interface(101, 0);
        assert_eq!((eth, sll, raw, w.interfaces()), (0, 1, 2, 3));
        let lts = [1u32, 113, 101];
        let mut want: Vec<Rec> = Vec::new();
        for (i, (ts, wl, d)) in frames().into_iter().enumerate() {
            let iface = (i % 3) as u32;
            w.write(iface, ts, wl, &d).expect("write");
            let snap = if iface == 1 { 100 } else { MAX_CAPLEN as usize };
            let d: Vec<u8> = d.iter().copied().take(snap).collect();
            want.push((ts, wl.max(d.len() as u32), lts[iface as usize], iface, d));
        }
        assert!(w.write(7, 0, 0, &[]).is_err(), "unknown interface must fail");
        let bytes = w.finish().expect("finish");
        let (cf, got) = read_all(bytes);
        assert_eq!(cf.format(), "pcapng");
        assert_eq!(cf.linktypes(), vec![1, 113, 101]);
        assert_eq!(cf.skipped_blocks(), 0);
        assert_eq!(got, want);
    }

    #[test]
    fn pcapng_file_roundtrip_and_bad_linktype() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.pcapng");
        let mut w = PcapngWriter::create(&path).expect("create");
        let i = w.add_interface(1, 0);
        w.write(i, 1, 3, &[9, 9, 9]).expect("write");
        w.flush().expect("flush");
        let _ = w.add_interface(0x1_0000, 0);
        assert!(w.flush().is_err(), "oversized link type is reported");
        drop(w);
        let mut cf = CaptureFile::open(&path).expect("open");
        let f = cf.next_frame().expect("frame").expect("some");
        assert_eq!((f.ts_ns, f.wire_len, f.linktype, f.data), (1, 3, 1, &[9u8, 9, 9][..]));
        // the second IDB was still written (link type truncated); the file stays readable
        match cf.next_frame() {
            Ok(None) => {}
            Ok(Some(_)) => panic!("unexpected frame"),
            Err(CaptureFileError::Damaged { .. }) => panic!("damaged"),
            Err(e) => panic!("{e}"),
        }
        assert_eq!(cf.linktypes(), vec![1, 0]);
    }
}
