//! Reader tests: every magic and variant, pcapng sections, interfaces and block types, damage at
//! every kind of record, random bytes and short reads, and the whole corpus against tshark.

use super::pcapng::{BT_EPB, BT_IDB, BT_PB, BT_SHB, BT_SPB};
use super::*;
use serde_json::Value;
use std::io::Cursor;
use std::path::PathBuf;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn open_mem(bytes: Vec<u8>) -> Result<CaptureFile, CaptureFileError> {
    CaptureFile::from_reader(Box::new(Cursor::new(bytes)), "mem".to_string())
}

#[derive(Debug, Clone, PartialEq)]
struct Rec {
    ts_ns: i64,
    wire_len: u32,
    caplen: u32,
    linktype: u32,
    iface: u32,
    first: u8,
}

/// All frames, then the error that ended the file (if any). Asserts Ok(None) after it.
fn drain(cf: &mut CaptureFile) -> (Vec<Rec>, Option<CaptureFileError>) {
    let mut out = Vec::new();
    let mut err = None;
    loop {
        match cf.next_frame() {
            Ok(Some(f)) => out.push(Rec {
                ts_ns: f.ts_ns,
                wire_len: f.wire_len,
                caplen: f.data.len() as u32,
                linktype: f.linktype,
                iface: f.iface,
                first: f.data.first().copied().unwrap_or(0),
            }),
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    for _ in 0..3 {
        assert!(matches!(cf.next_frame(), Ok(None)), "reader must stay ended");
    }
    (out, err)
}

fn tshark_ts_ns(s: &str) -> Option<i128> {
    let (sec, frac) = s.split_once('.')?;
    Some(sec.parse::<i128>().ok()? * 1_000_000_000 + frac.parse::<i128>().ok()?)
}

fn ts_string(ns: i64) -> String {
    format!("{}.{:09}", ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000))
}

// ---------------------------------------------------------------- builders

fn pcap_file(
    magic: u32,
    be: bool,
    linktype: u32,
    recs: &[(u32, u32, u32, &[u8])],
    extra: usize,
) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
    };
    let mut v = Vec::new();
    w32(&mut v, magic);
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 65535);
    w32(&mut v, linktype);
    for &(sec, frac, orig, data) in recs {
        w32(&mut v, sec);
        w32(&mut v, frac);
        w32(&mut v, data.len() as u32);
        w32(&mut v, orig);
        // plausible modified-header fields: ifindex 2, protocol 0x0800, pkt_type 0, pad
        if extra >= 8 {
            w32(&mut v, 2);
            w16(&mut v, 0x0800);
            v.extend_from_slice(&[0, 0]);
        }
        v.extend(std::iter::repeat_n(0, extra.saturating_sub(8)));
        v.extend_from_slice(data);
    }
    v
}

struct Ng {
    be: bool,
    v: Vec<u8>,
}

impl Ng {
    fn new(be: bool) -> Ng {
        let mut n = Ng { be, v: Vec::new() };
        n.shb(be);
        n
    }
    fn u32b(&self, x: u32) -> [u8; 4] {
        if self.be {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn u16b(&self, x: u16) -> [u8; 2] {
        if self.be {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
        let total = 12 + ((body.len() + 3) & !3);
        let (t, l) = (self.u32b(btype), self.u32b(total as u32));
        self.v.extend_from_slice(&t);
        self.v.extend_from_slice(&l);
        self.v.extend_from_slice(body);
        self.v.resize(self.v.len() + (((body.len() + 3) & !3) - body.len()), 0);
        self.v.extend_from_slice(&l);
        self
    }
    fn shb(&mut self, be: bool) -> &mut Self {
        self.be = be;
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32b(0x1A2B_3C4D));
        b.extend_from_slice(&self.u16b(1));
        b.extend_from_slice(&self.u16b(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(BT_SHB, &b)
    }
    fn idb(
        &mut self,
        linktype: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) -> &mut Self {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u16b(linktype));
        b.extend_from_slice(&self.u16b(0));
        b.extend_from_slice(&self.u32b(snaplen));
        // a comment option first, to exercise option walking
        b.extend_from_slice(&self.u16b(1));
        b.extend_from_slice(&self.u16b(5));
        b.extend_from_slice(b"hello\0\0\0");
        if let Some(r) = tsresol {
            b.extend_from_slice(&self.u16b(9));
            b.extend_from_slice(&self.u16b(1));
            b.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            b.extend_from_slice(&self.u16b(14));
            b.extend_from_slice(&self.u16b(8));
            let o = if self.be { o.to_be_bytes() } else { o.to_le_bytes() };
            b.extend_from_slice(&o);
        }
        b.extend_from_slice(&[0, 0, 0, 0]);
        self.block(BT_IDB, &b)
    }
    fn epb(&mut self, iface: u32, ts: u64, wire: u32, data: &[u8]) -> &mut Self {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32b(iface));
        b.extend_from_slice(&self.u32b((ts >> 32) as u32));
        b.extend_from_slice(&self.u32b(ts as u32));
        b.extend_from_slice(&self.u32b(data.len() as u32));
        b.extend_from_slice(&self.u32b(wire));
        b.extend_from_slice(data);
        b.resize((b.len() + 3) & !3, 0);
        // an epb_flags option
        b.extend_from_slice(&self.u16b(2));
        b.extend_from_slice(&self.u16b(4));
        b.extend_from_slice(&self.u32b(1));
        b.extend_from_slice(&[0, 0, 0, 0]);
        self.block(BT_EPB, &b)
    }
    fn pb(&mut self, iface: u16, ts: u64, wire: u32, data: &[u8]) -> &mut Self {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u16b(iface));
        b.extend_from_slice(&self.u16b(0));
        b.extend_from_slice(&self.u32b((ts >> 32) as u32));
        b.extend_from_slice(&self.u32b(ts as u32));
        b.extend_from_slice(&self.u32b(data.len() as u32));
        b.extend_from_slice(&self.u32b(wire));
        b.extend_from_slice(data);
        self.block(BT_PB, &b)
    }
    fn spb(&mut self, wire: u32, data: &[u8]) -> &mut Self {
        let mut b = Vec::new();
        b.extend_from_slice(&self.u32b(wire));
        b.extend_from_slice(data);
        self.block(BT_SPB, &b)
    }
    fn bytes(&self) -> Vec<u8> {
        self.v.clone()
    }
}

// ---------------------------------------------------------------- classic pcap

#[test]
fn pcap_all_magics() {
    let d1: &[u8] = &[0x11; 60];
    let d2: &[u8] = &[0x22; 1514];
    let recs: &[(u32, u32, u32, &[u8])] =
        &[(1_335_203_348, 428_004, 60, d1), (1_335_203_349, 999_999, 9000, d2)];
    for (magic, be, name, frac_ns) in [
        (0xa1b2_c3d4u32, false, "pcap", 1000i64),
        (0xa1b2_c3d4, true, "pcap", 1000),
        (0xa1b2_3c4d, false, "pcap-nsec", 1),
        (0xa1b2_3c4d, true, "pcap-nsec", 1),
    ] {
        let mut cf = open_mem(pcap_file(magic, be, 0x1000_0001, recs, 0)).expect("open");
        assert_eq!(cf.format(), name);
        assert_eq!(cf.linktypes(), vec![1]);
        assert_eq!(cf.snaplen(), 65535);
        let (got, err) = drain(&mut cf);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].ts_ns, 1_335_203_348_000_000_000 + 428_004 * frac_ns);
        assert_eq!((got[0].wire_len, got[0].caplen, got[0].first), (60, 60, 0x11));
        assert_eq!(got[1].ts_ns, 1_335_203_349_000_000_000 + 999_999 * frac_ns);
        assert_eq!((got[1].wire_len, got[1].caplen, got[1].first), (9000, 1514, 0x22));
        assert_eq!(cf.bytes_read(), 24 + 16 * 2 + 60 + 1514);
    }
}

#[test]
fn pcap_modified_magic() {
    let d: &[u8] = &[0x45; 40];
    let t = 1_600_000_000;
    let recs: &[(u32, u32, u32, &[u8])] = &[(t, 5, 40, d), (t + 1, 6, 40, d), (t + 2, 7, 40, d)];
    for be in [false, true] {
        let mut cf = open_mem(pcap_file(0xa1b2_cd34, be, 1, recs, 8)).expect("open");
        assert_eq!(cf.format(), "pcap-modified");
        assert_eq!(cf.pcap_variant(), Some("ss991029"));
        let (got, err) = drain(&mut cf);
        assert!(err.is_none());
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].ts_ns, 1_600_000_002_000_007_000);
        assert!(got.iter().all(|r| r.caplen == 40 && r.first == 0x45));
    }
    // SuSE 6.3 flavour: 12 extra bytes (told apart by the implausible second record header
    // the 8-byte reading gives)
    let mut cf = open_mem(pcap_file(0xa1b2_cd34, false, 1, recs, 12)).expect("open");
    assert_eq!(cf.pcap_variant(), Some("ss990915"));
    let (got, err) = drain(&mut cf);
    assert!(err.is_none());
    assert_eq!(got.len(), 3);
}

#[test]
fn pcap_damaged_and_cut_short() {
    let d: &[u8] = &[1; 100];
    let good = pcap_file(0xa1b2_c3d4, false, 1, &[(1, 0, 100, d), (2, 0, 100, d)], 0);
    // every truncation: clean end at record boundaries, Damaged elsewhere
    for cut in 24..good.len() {
        let mut cf = open_mem(good[..cut].to_vec()).expect("open");
        let (got, err) = drain(&mut cf);
        let boundary = cut == 24 || cut == 140;
        assert_eq!(err.is_some(), !boundary, "cut at {cut}");
        assert_eq!(got.len(), usize::from(cut >= 140));
        if let Some(CaptureFileError::Damaged { offset, .. }) = err {
            assert_eq!(offset, if cut < 140 { 24 } else { 140 });
        }
    }
    // an oversized third record (the first two decide the record-header variant, as in
    // Wireshark, so damage there can make another variant look better)
    let t = 1_600_000_000;
    let mut bad =
        pcap_file(0xa1b2_c3d4, false, 1, &[(t, 0, 100, d), (t, 1, 100, d), (t, 2, 100, d)], 0);
    bad[256 + 8..256 + 12].copy_from_slice(&300_000u32.to_le_bytes());
    let mut cf = open_mem(bad).expect("open");
    assert_eq!(cf.pcap_variant(), Some("standard"));
    let (got, err) = drain(&mut cf);
    assert_eq!(got.len(), 2);
    match err {
        Some(CaptureFileError::Damaged { offset, reason }) => {
            assert_eq!(offset, 256);
            assert!(reason.contains("300000"), "{reason}");
        }
        other => panic!("expected Damaged, got {other:?}"),
    }
    // header cut short
    assert!(matches!(
        open_mem(good[..10].to_vec()),
        Err(CaptureFileError::Damaged { offset: 0, .. })
    ));
}

#[test]
fn not_a_capture() {
    match open_mem(b"<!DOCTYPE html><html>".to_vec()) {
        Err(e @ CaptureFileError::NotACapture { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("3c 21 44 4f") && msg.contains("<!DOCTYPE") && msg.contains("pcapng"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(open_mem(Vec::new()), Err(CaptureFileError::NotACapture { .. })));
    assert!(matches!(
        open_mem(vec![0x1f, 0x8b, 8, 0, 0]),
        Err(CaptureFileError::Unsupported { .. })
    ));
    assert!(matches!(
        CaptureFile::open(Path::new("/nonexistent/x.pcap")),
        Err(CaptureFileError::Open { .. })
    ));
}

// ---------------------------------------------------------------- pcapng

#[test]
fn pcapng_sections_interfaces_and_block_types() {
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None) // usec
        .idb(113, 0, Some(9), Some(-10)) // nsec, offset -10 s
        .block(4, &[0, 0, 0, 0]) // NRB: skipped
        .epb(0, 1_700_000_000_123_456, 80, &[0xaa; 60])
        .epb(1, 1_700_000_000_123_456_789, 70, &[0xbb; 70])
        .epb(5, 0, 10, &[0; 10]) // undefined interface: skipped
        .block(5, &[0; 20]) // ISB
        .pb(0, 1_000_001, 33, &[0xcc; 33])
        .shb(true) // second section, big-endian: interface ids restart
        .spb(44, &[0xdd; 44]) // before any IDB: skipped
        .idb(101, 16, Some(0x80 | 20), Some(1)) // 2^-20 s, +1 s
        .epb(0, 3 << 20 | 1 << 19, 40, &[0xee; 16])
        .spb(44, &[0xdd; 44]) // caplen = snaplen 16
        .epb(1, 0, 1, &[0]); // iface 1 was in section 1 only: skipped
    let mut cf = open_mem(ng.bytes()).expect("open");
    assert_eq!(cf.format(), "pcapng");
    assert_eq!(cf.linktypes(), vec![1, 113], "IDBs before the first packet are read at open");
    assert_eq!(cf.snaplen(), 0);
    let (got, err) = drain(&mut cf);
    assert!(err.is_none(), "{err:?}");
    let want = [
        (1_700_000_000_123_456_000i64, 80u32, 60u32, 1u32, 0u32, 0xaau8),
        (1_700_000_000_123_456_789 - 10_000_000_000, 70, 70, 113, 1, 0xbb),
        (1_000_001_000, 33, 33, 1, 0, 0xcc),
        (4_500_000_000, 40, 16, 101, 0, 0xee),
        (0, 44, 16, 101, 0, 0xdd),
    ];
    let got: Vec<_> =
        got.iter().map(|r| (r.ts_ns, r.wire_len, r.caplen, r.linktype, r.iface, r.first)).collect();
    assert_eq!(got, want);
    assert_eq!(cf.skipped_blocks(), 3);
    assert_eq!(cf.other_blocks(), 2);
    assert_eq!(cf.sections(), 2);
    assert_eq!(cf.linktypes(), vec![1, 113, 101]);
    assert_eq!(cf.bytes_read(), ng.v.len() as u64);
}

#[test]
fn pcapng_tsresol_variants() {
    for (resol, ts, want) in [
        (0u8, 5u64, 5_000_000_000i64),
        (3, 1_234, 1_234_000_000),
        (12, 1_000_000_000_001_999, 1_000_000_000_001),
        (19, 10_000_000_000_000_000_000, 1_000_000_000),
        (0x80, 2, 2_000_000_000),
        (0x80 | 1, 3, 1_500_000_000),
        (0x80 | 40, 1 << 40, 1_000_000_000),
        (0x80 | 63, u64::MAX, 1_999_999_999),
    ] {
        let mut ng = Ng::new(false);
        ng.idb(1, 0, Some(resol), None).epb(0, ts, 1, &[1]);
        let mut cf = open_mem(ng.bytes()).expect("open");
        let (got, err) = drain(&mut cf);
        assert!(err.is_none(), "resol {resol:#x}: {err:?}");
        assert_eq!(got[0].ts_ns, want, "resol {resol:#x}");
    }
    // unusable resolution = damaged (as in Wireshark)
    let mut ng = Ng::new(false);
    ng.idb(1, 0, Some(20), None).epb(0, 1, 1, &[1]);
    let mut cf = open_mem(ng.bytes()).expect("open");
    assert!(matches!(drain(&mut cf), (v, Some(CaptureFileError::Damaged { .. })) if v.is_empty()));
}

#[test]
fn pcapng_bad_block_lengths() {
    let mut ng = Ng::new(false);
    let shb_end = ng.v.len();
    ng.idb(1, 0, None, None);
    let idb_end = ng.v.len();
    ng.epb(0, 1, 4, &[1, 2, 3, 4]);
    let good = ng.bytes();
    let epb2 = good.len();
    ng.epb(0, 2, 4, &[5, 6, 7, 8]);
    let two = ng.bytes();
    for (len, what) in [
        (8u32, "< 12"),
        (30, "not multiple of 4"),
        (1 << 30, "past EOF"),
        (16, "too small for data"),
    ] {
        let mut v = two.clone();
        v[epb2 + 4..epb2 + 8].copy_from_slice(&len.to_le_bytes());
        let mut cf = open_mem(v).expect("open");
        let (got, err) = drain(&mut cf);
        assert_eq!(got.len(), 1, "{what}");
        match err {
            Some(CaptureFileError::Damaged { offset, .. }) => {
                assert_eq!(offset, epb2 as u64, "{what}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // trailing length mismatch
    let mut v = two.clone();
    let n = v.len();
    v[n - 4..].copy_from_slice(&12345u32.to_le_bytes());
    let (got, err) = drain(&mut open_mem(v).expect("open"));
    assert_eq!(got.len(), 1);
    assert!(matches!(err, Some(CaptureFileError::Damaged { .. })));
    // every truncation of a two-packet file
    for cut in 0..two.len() {
        let Ok(mut cf) = open_mem(two[..cut].to_vec()) else {
            assert!(cut < 12);
            continue;
        };
        let (got, err) = drain(&mut cf);
        let clean = [shb_end, idb_end, epb2].contains(&cut);
        assert_eq!(err.is_none(), clean, "cut at {cut}: {err:?}");
        assert_eq!(got.len(), usize::from(cut >= epb2), "cut at {cut}");
    }
    // bad byte-order magic
    let mut v = good.clone();
    v[8] = 0;
    assert!(matches!(open_mem(v), Err(CaptureFileError::NotACapture { .. })));
}

// ---------------------------------------------------------------- no panics

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Reads everything; counts frames. Must terminate and not panic.
fn exercise(bytes: Vec<u8>) -> usize {
    let Ok(mut cf) = open_mem(bytes) else {
        return 0;
    };
    let _ = (cf.format(), cf.linktypes(), cf.snaplen());
    let mut n = 0;
    while let Ok(Some(f)) = cf.next_frame() {
        n += 1;
        let _ = f.data.iter().fold(0u8, |a, b| a ^ b);
        assert!(n < 1_000_000, "runaway");
    }
    assert!(matches!(cf.next_frame(), Ok(None)));
    n
}

#[test]
fn fuzz_no_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let d: &[u8] = &[7; 50];
    let mut seeds: Vec<Vec<u8>> = vec![
        pcap_file(0xa1b2_c3d4, false, 1, &[(1, 2, 50, d), (3, 4, 60, d), (5, 6, 50, d)], 0),
        pcap_file(0xa1b2_3c4d, true, 1, &[(1, 2, 50, d), (3, 4, 60, d)], 0),
        pcap_file(0xa1b2_cd34, false, 1, &[(1, 2, 50, d), (3, 4, 60, d)], 8),
    ];
    let mut ng = Ng::new(false);
    ng.idb(1, 0, Some(9), Some(5))
        .epb(0, 1, 50, d)
        .spb(50, d)
        .pb(0, 3, 50, d)
        .shb(true)
        .idb(113, 20, Some(0x85), None)
        .epb(0, 9, 50, d);
    seeds.push(ng.bytes());
    // real captures too, when the corpus is there (small ones only)
    if let Ok(rd) = std::fs::read_dir(PathBuf::from(CORPUS).join("pcaps")) {
        let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for p in files {
            if let Ok(b) = std::fs::read(&p) {
                if b.len() < 4096 {
                    seeds.push(b);
                }
            }
        }
    }
    let magics: [&[u8]; 4] = [
        &[0xd4, 0xc3, 0xb2, 0xa1],
        &[0x4d, 0x3c, 0xb2, 0xa1],
        &[0xa1, 0xb2, 0xcd, 0x34],
        &[0x0a, 0x0d, 0x0d, 0x0a],
    ];
    for round in 0..4000 {
        let mut v = match round % 3 {
            0 => {
                // random bytes behind a valid magic
                let mut v = magics[rng.below(4)].to_vec();
                if v[0] == 0x0a {
                    v.extend_from_slice(&[28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0]);
                }
                let n = rng.below(300);
                v.extend((0..n).map(|_| rng.next() as u8));
                v
            }
            _ => {
                // mutate a seed: flip bytes, overwrite words with extreme values, truncate
                let mut v = seeds[rng.below(seeds.len())].clone();
                for _ in 0..1 + rng.below(6) {
                    if v.is_empty() {
                        break;
                    }
                    let i = rng.below(v.len());
                    match rng.below(3) {
                        0 => v[i] ^= 1 << rng.below(8),
                        1 => v[i] = rng.next() as u8,
                        _ => {
                            let w =
                                [0u32, 0xffff_ffff, 0x8000_0000, 12, 13, 0x0004_0000][rng.below(6)];
                            for (k, b) in w.to_le_bytes().iter().enumerate() {
                                if let Some(x) = v.get_mut(i + k) {
                                    *x = *b;
                                }
                            }
                        }
                    }
                }
                if rng.below(3) == 0 {
                    let n = rng.below(v.len() + 1);
                    v.truncate(n);
                }
                v
            }
        };
        if round % 97 == 0 {
            v.truncate(rng.below(40));
        }
        exercise(v);
    }
}

/// A reader that returns data in tiny random pieces and is interrupted now and then.
struct Dribble(Vec<u8>, usize, XorShift);
impl Read for Dribble {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.2.below(7) == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "x"));
        }
        let n = (1 + self.2.below(13)).min(buf.len()).min(self.0.len() - self.1);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

#[test]
fn short_reads_give_same_frames() {
    let d: &[u8] = &[3; 77];
    let mut ng = Ng::new(false);
    ng.idb(1, 0, None, None);
    for i in 0..200u64 {
        ng.epb(0, i, 77, &d[..(i % 77) as usize]).block(0x0BAD, &[0; 40]);
    }
    let bytes = ng.bytes();
    let (a, ea) = drain(&mut open_mem(bytes.clone()).expect("open"));
    let mut cf =
        CaptureFile::from_reader(Box::new(Dribble(bytes, 0, XorShift(42))), "dribble".into())
            .expect("open");
    let (b, eb) = drain(&mut cf);
    assert!(ea.is_none() && eb.is_none());
    assert_eq!(a.len(), 200);
    assert_eq!(a, b);
}

// ---------------------------------------------------------------- corpus vs tshark

fn read_truth(name: &str) -> Option<(Vec<Value>, Value)> {
    let dir = PathBuf::from(CORPUS).join("truth");
    let jsonl = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).ok()?;
    let summary = std::fs::read_to_string(dir.join(format!("{name}.summary.json"))).ok()?;
    let frames = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).expect("truth line"))
        .collect();
    Some((frames, serde_json::from_str(&summary).expect("summary")))
}

fn check_frame(name: &str, i: usize, got: &Rec, want: &Value, problems: &mut Vec<String>) {
    let ts = want["ts"].as_str().unwrap_or("");
    // tshark prints seconds and nanoseconds unnormalised ("1701999731.1011041000" for a
    // microsecond field of 1011041): compare the instant. A negative string comes from a
    // (fuzzed) fraction overflowing tshark's 32-bit nanosecond counter: nothing to compare.
    if !ts.starts_with('-') && tshark_ts_ns(ts) != Some(i128::from(got.ts_ns)) {
        problems.push(format!("{name} frame {}: ts {} != {ts}", i + 1, ts_string(got.ts_ns)));
    }
    if Some(u64::from(got.wire_len)) != want["len"].as_u64()
        || Some(u64::from(got.caplen)) != want["caplen"].as_u64()
    {
        problems.push(format!(
            "{name} frame {}: len/caplen {}/{} != {}/{}",
            i + 1,
            got.wire_len,
            got.caplen,
            want["len"],
            want["caplen"]
        ));
    }
    if Some(u64::from(got.iface)) != want["iface"].as_u64()
        || Some(u64::from(got.linktype)) != want["linktype"].as_u64()
    {
        problems.push(format!(
            "{name} frame {}: iface/linktype {}/{} != {}/{}",
            i + 1,
            got.iface,
            got.linktype,
            want["iface"],
            want["linktype"]
        ));
    }
}

#[test]
fn corpus_matches_tshark() {
    let dir = PathBuf::from(CORPUS).join("pcaps");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        // the shared corpus is not part of this repository; nothing to compare against
        return;
    };
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    files.sort();
    let mut problems = Vec::new();
    let (mut n_files, mut n_frames, mut n_damaged) = (0, 0, 0);
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        let Some((truth, summary)) = read_truth(&name) else {
            continue;
        };
        n_files += 1;
        let mut cf = match CaptureFile::open(path) {
            Ok(cf) => cf,
            Err(e) => {
                problems.push(format!("{name}: open failed: {e}"));
                continue;
            }
        };
        if summary["format"].as_str() != Some(cf.format()) {
            problems.push(format!("{name}: format {} != {}", cf.format(), summary["format"]));
        }
        let (got, err) = drain(&mut cf);
        n_frames += got.len();
        let stderr = summary["tshark_stderr"].as_str().unwrap_or("");
        let tshark_damaged = summary["error"].as_bool() == Some(true)
            && (stderr.contains("damaged") || stderr.contains("cut short"));
        if tshark_damaged {
            n_damaged += 1;
            if !matches!(err, Some(CaptureFileError::Damaged { .. })) {
                problems.push(format!("{name}: tshark says damaged, we got {err:?}"));
            }
            if got.len() < truth.len() {
                problems.push(format!(
                    "{name}: {} frames before the damage, tshark {}",
                    got.len(),
                    truth.len()
                ));
            }
        } else {
            if let Some(e) = &err {
                problems.push(format!("{name}: unexpected error {e}"));
            }
            // tshark gives up on link types it does not know (0 frames); we read them
            let unsupported = summary["error"].as_bool() == Some(true);
            if !unsupported && got.len() != truth.len() {
                problems.push(format!("{name}: {} frames, tshark {}", got.len(), truth.len()));
            }
            let lts: Vec<u64> = cf.linktypes().iter().map(|&l| u64::from(l)).collect();
            let want_lts: Vec<u64> = summary["linktypes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            if lts != want_lts {
                problems.push(format!("{name}: linktypes {lts:?} != {want_lts:?}"));
            }
            if summary["snaplen"].as_u64() != Some(u64::from(cf.snaplen())) {
                problems.push(format!(
                    "{name}: snaplen {} != {}",
                    cf.snaplen(),
                    summary["snaplen"]
                ));
            }
        }
        // every frame tshark printed: timestamp, lengths; interface and link type too
        for (i, want) in truth.iter().enumerate() {
            if let Some(g) = got.get(i) {
                check_frame(&name, i, g, want, &mut problems);
            }
        }
        if let (Some(first), Some(last)) = (truth.first(), truth.last()) {
            if summary["first_ts"] != first["ts"] || summary["last_ts"] != last["ts"] {
                problems.push(format!("{name}: summary first/last ts disagree with the jsonl"));
            }
        }
    }
    assert!(n_files > 0 || files.is_empty(), "no truth files found");
    assert!(
        problems.is_empty(),
        "{} problems over {n_files} files ({n_frames} frames, {n_damaged} damaged):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
