//! Client and server fingerprints: JA3 and JA3S (Salesforce; the strings hashed with MD5, GREASE
//! values left out as tshark and Zeek do), and JA4 (FoxIO, BSD-3-Clause; the spec is
//! `technical_details/JA4.md` of the FoxIO JA4 repository). JA4S and the other JA4+ methods are
//! under the FoxIO licence and are not implemented.

use super::hello::{ClientHello, ServerHello};
use super::names::is_grease;

fn hex_lower(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_hex(s: &str) -> String {
    hex_lower(&<md5::Md5 as md5::Digest>::digest(s.as_bytes()))
}

fn sha256_12(s: &str) -> String {
    let mut h = hex_lower(&<sha2::Sha256 as sha2::Digest>::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn join<T: ToString>(v: impl Iterator<Item = T>, sep: &str) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join(sep)
}

/// JA3 string `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`.
/// `None` for SSLv2-format hellos (no extensions; tshark computes none either).
pub fn ja3_string(ch: &ClientHello) -> Option<String> {
    if ch.sslv2 {
        return None;
    }
    let no_grease = |v: &&u16| !is_grease(**v);
    Some(format!(
        "{},{},{},{},{}",
        ch.version,
        join(ch.ciphers.iter().filter(no_grease), "-"),
        join(ch.ext.types.iter().filter(no_grease), "-"),
        join(ch.ext.groups.iter().filter(no_grease), "-"),
        join(ch.ext.point_formats.iter(), "-"),
    ))
}

/// JA3S string `SSLVersion,Cipher,Extensions`.
pub fn ja3s_string(sh: &ServerHello) -> String {
    format!(
        "{},{},{}",
        sh.version,
        sh.cipher,
        join(sh.ext.types.iter().filter(|v| !is_grease(**v)), "-")
    )
}

/// Which JA4 form: the hashed fingerprint, or with `original` the "_o" form that keeps the
/// wire order of ciphers and extensions (and SNI/ALPN in the extension list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ja4Options {
    pub original: bool,
    pub raw: bool,
    /// The hello came over QUIC: JA4's transport character is "q" instead of "t".
    pub quic: bool,
}

/// JA4 (TLS over TCP: "t"). `None` for SSLv2-format hellos.
pub fn ja4(ch: &ClientHello) -> Option<String> {
    ja4_with(ch, Ja4Options { original: false, raw: false, quic: false })
}

pub fn ja4_with(ch: &ClientHello, o: Ja4Options) -> Option<String> {
    if ch.sslv2 {
        return None;
    }
    let version = ch
        .ext
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.version);
    let version = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    };
    let sni = if ch.ext.types.contains(&0) { 'd' } else { 'i' };
    let mut ciphers: Vec<u16> = ch.ciphers.iter().copied().filter(|c| !is_grease(*c)).collect();
    let mut exts: Vec<u16> = ch.ext.types.iter().copied().filter(|e| !is_grease(*e)).collect();
    let count = |n: usize| n.min(99);
    let a = format!(
        "{}{version}{sni}{:02}{:02}{}",
        if o.quic { 'q' } else { 't' },
        count(ciphers.len()),
        count(exts.len()),
        alpn_chars(ch.ext.alpn.first().map(Vec::as_slice).unwrap_or(&[]))
    );
    if !o.original {
        ciphers.sort_unstable();
        exts.retain(|e| *e != 0 && *e != 16);
        exts.sort_unstable();
    }
    let hex4 = |v: &[u16]| join(v.iter().map(|x| format!("{x:04x}")), ",");
    let b_raw = hex4(&ciphers);
    let sigs: Vec<u16> =
        ch.ext.signature_algorithms.iter().copied().filter(|s| !is_grease(*s)).collect();
    let mut c_raw = hex4(&exts);
    if !sigs.is_empty() {
        c_raw = format!("{c_raw}_{}", hex4(&sigs));
    }
    if o.raw {
        return Some(format!("{a}_{b_raw}_{c_raw}"));
    }
    let b = if ciphers.is_empty() { "000000000000".to_owned() } else { sha256_12(&b_raw) };
    let c = if exts.is_empty() { "000000000000".to_owned() } else { sha256_12(&c_raw) };
    Some(format!("{a}_{b}_{c}"))
}

/// First and last character of the first ALPN value; their hex digits when either byte is not
/// alphanumeric; "00" when there is none.
fn alpn_chars(v: &[u8]) -> String {
    let (Some(&f), Some(&l)) = (v.first(), v.last()) else {
        return "00".into();
    };
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        format!("{}{}", char::from(f), char::from(l))
    } else {
        let h = hex_lower(v);
        let (f, l) = (h.chars().next().unwrap_or('0'), h.chars().last().unwrap_or('0'));
        format!("{f}{l}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::hello::Extensions;
    use super::*;

    /// The ClientHello of FoxIO's JA4.md example, rebuilt from the values the spec documents in
    /// its "JA4_ro" line (ciphers, extensions and signature algorithms in wire order). The spec
    /// gives no raw bytes, so the hello is assembled from those inputs; the SNI and ALPN values
    /// only have to exist (the spec's ALPN is "h2").
    fn foxio_example() -> ClientHello {
        let ciphers = [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let exts = [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
        ClientHello {
            sslv2: false,
            version: 0x0303,
            session_id: vec![],
            // A GREASE cipher and extension, which must not count.
            ciphers: [&[0x2a2a][..], &ciphers].concat(),
            sslv2_ciphers: vec![],
            compression: vec![0],
            ext: Extensions {
                types: [&[0xdada][..], &exts].concat(),
                server_names: vec!["example.com".into()],
                alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
                signature_algorithms: sigs.to_vec(),
                supported_versions: vec![0x1a1a, 0x0304, 0x0303],
                ..Extensions::default()
            },
            anomalies: vec![],
        }
    }

    #[test]
    fn ja4_matches_foxio_spec_example() {
        let ch = foxio_example();
        assert_eq!(ja4(&ch).unwrap(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        let raw = ja4_with(&ch, Ja4Options { original: false, raw: true, quic: false }).unwrap();
        assert_eq!(
            raw,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,\
             0804,0401,0503,0805,0501,0806,0601"
        );
        let ro = ja4_with(&ch, Ja4Options { original: true, raw: true, quic: false }).unwrap();
        assert_eq!(
            ro,
            "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,\
             0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,\
             0015_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        let o = ja4_with(&ch, Ja4Options { original: true, raw: false, quic: false }).unwrap();
        assert_eq!(o, "t13d1516h2_acb858a92679_18f69afefd3d");
    }

    #[test]
    fn ja4_spec_edge_cases() {
        let mut ch = foxio_example();
        // No signature algorithms: the extension list alone is hashed (spec: 6d807ffa2a79).
        ch.ext.signature_algorithms.clear();
        assert_eq!(ja4(&ch).unwrap(), "t13d1516h2_8daaf6152771_6d807ffa2a79");
        // ALPN rules of the spec.
        for (v, want) in [
            (&b"http/1.1"[..], "h1"),
            (&[0xab][..], "ab"),
            (&[0xab, 0xcd][..], "ad"),
            (&[0x30, 0xab][..], "3b"),
            (&[0x30, 0x31, 0xab, 0xcd][..], "3d"),
            (&[0x30, 0xab, 0xcd, 0x31][..], "01"),
            (&b"h"[..], "hh"),
            (&[][..], "00"),
        ] {
            assert_eq!(alpn_chars(v), want, "{v:?}");
        }
        // No SNI, no supported_versions: the hello version; no ciphers or extensions: zeros.
        let mut ch = foxio_example();
        ch.ext = Extensions::default();
        ch.ciphers.clear();
        assert_eq!(ja4(&ch).unwrap(), "t12i000000_000000000000_000000000000");
        ch.sslv2 = true;
        assert_eq!(ja4(&ch), None);
        assert_eq!(ja3_string(&ch), None);
    }

    #[test]
    fn ja3_drops_grease() {
        let ch = foxio_example();
        let s = ja3_string(&ch).unwrap();
        assert!(s.starts_with("771,4865-4866-4867-49195-"), "{s}");
        assert!(s.contains(",27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,"), "{s}");
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
