//! RDATA in the form analysts read: `data` as Packetbeat fills it (the address, the target
//! name, the key or signature), the other parts of the record as extra keys of the answer
//! object (`preference`, `priority`, `rname`, `key_tag`, …, Packetbeat's names), and
//! presentation format (as `dig` prints it) for types Packetbeat does not split (CAA, SVCB and
//! HTTPS, LOC, SSHFP, URI, TLSA, NAPTR, …). Unknown types are hex. RDATA that does not fit its
//! type keeps its hex and is marked `malformed`, with an anomaly on the message.

use super::names;
use super::parser::{escape_label, read_name, Anomalies, Anomaly};
use crate::bytes::{Cursor, View};
use base64::Engine;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A value of an extra key of an answer object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    Num(u64),
    Str(String),
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Extra::Num(n) => s.serialize_u64(*n),
            Extra::Str(v) => s.serialize_str(v),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    pub data: String,
    pub extra: Vec<(&'static str, Extra)>,
    /// A/AAAA address, for `dns.resolved_ip`.
    pub ip: Option<IpAddr>,
    pub malformed: bool,
}

impl Rendered {
    fn data(data: String) -> Self {
        Rendered { data, ..Rendered::default() }
    }
    fn with(mut self, k: &'static str, v: Extra) -> Self {
        self.extra.push((k, v));
        self
    }
}

/// Serializes the extras of a record into an open map (used by the record serializer).
pub fn serialize_extras<M: SerializeMap>(r: &Rendered, map: &mut M) -> Result<(), M::Error> {
    for (k, v) in &r.extra {
        map.serialize_entry(k, v)?;
    }
    if r.malformed {
        map.serialize_entry("malformed", &true)?;
    }
    Ok(())
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn hex_upper(b: &[u8]) -> String {
    hex(b).to_ascii_uppercase()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// RFC 4648 base32hex without padding, upper case (NSEC3 hashed owner names).
fn base32hex(b: &[u8]) -> String {
    const ALPHA: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    let mut out = String::with_capacity(b.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &x in b {
        acc = (acc << 8) | u32::from(x);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHA[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHA[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A character-string's text, escaped like a label (but without escaping dots).
fn text(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for (i, part) in b.split(|&c| c == b'.').enumerate() {
        if i > 0 {
            s.push('.');
        }
        escape_label(part, &mut s);
    }
    s
}

fn quoted(b: &[u8]) -> String {
    format!("\"{}\"", text(b))
}

/// `YYYYMMDDHHMMSS` (UTC) for RRSIG times, as dig and Packetbeat print them.
fn sig_time(t: u32) -> String {
    let iso = crate::time::rfc3339(i64::from(t) * 1_000_000_000);
    iso.chars().take(19).filter(char::is_ascii_digit).collect()
}

/// A name inside one record's RDATA: read from the whole message (names may point back),
/// but it must end inside the cursor's window.
fn name(c: &mut Cursor<'_>, an: &mut Anomalies) -> Option<String> {
    let (n, e) = read_name(c.whole(), c.pos(), an).ok()?;
    if e > c.pos() + c.remaining() {
        return None;
    }
    c.seek(e);
    Some(n)
}

/// Renders the RDATA at `start..end` of `msg` for type `rtype`.
pub fn render(msg: &[u8], rtype: u16, start: usize, end: usize, an: &mut Anomalies) -> Rendered {
    let mut c = Cursor::window(msg, start, end);
    let parsed = render_typed(&mut c, rtype, an);
    match parsed {
        Some(mut r) => {
            if !c.at_end() {
                r.malformed = true;
                an.push(Anomaly::RdataMalformed);
            }
            r
        }
        None => {
            an.push(Anomaly::RdataMalformed);
            let raw = msg.get(start..end).unwrap_or_default();
            Rendered { data: hex(raw), malformed: true, ..Rendered::default() }
        }
    }
}

fn render_typed(c: &mut Cursor<'_>, rtype: u16, an: &mut Anomalies) -> Option<Rendered> {
    Some(match rtype {
        1 => {
            let b = c.take(4)?;
            let ip = IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
            Rendered { data: ip.to_string(), ip: Some(ip), ..Rendered::default() }
        }
        28 => {
            let b: [u8; 16] = c.take(16)?.try_into().ok()?;
            let ip = IpAddr::V6(Ipv6Addr::from(b));
            Rendered { data: ip.to_string(), ip: Some(ip), ..Rendered::default() }
        }
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME: one name.
        2..=5 | 7..=9 | 12 | 39 => Rendered::data(name(c, an)?),
        6 => {
            let mname = name(c, an)?;
            let rname = name(c, an)?;
            let nums = [c.u32()?, c.u32()?, c.u32()?, c.u32()?, c.u32()?];
            let mut r = Rendered::data(mname).with("rname", Extra::Str(rname));
            for (k, v) in ["serial", "refresh", "retry", "expire", "minimum"].into_iter().zip(nums)
            {
                r = r.with(k, Extra::Num(u64::from(v)));
            }
            r
        }
        // MX, KX, RT, AFSDB: preference and a name.
        15 | 36 | 21 | 18 => {
            let pref = c.u16()?;
            Rendered::data(name(c, an)?).with("preference", Extra::Num(u64::from(pref)))
        }
        // TXT, SPF: strings joined by a space (Packetbeat).
        16 | 99 => {
            let mut parts = Vec::new();
            while !c.at_end() {
                parts.push(text(c.vec8()?));
            }
            Rendered::data(parts.join(" "))
        }
        13 => {
            let cpu = c.vec8()?;
            let os = c.vec8()?;
            Rendered::data(format!("{} {}", quoted(cpu), quoted(os)))
        }
        14 | 17 => {
            let a = name(c, an)?;
            let b = name(c, an)?;
            Rendered::data(format!("{a} {b}"))
        }
        33 => {
            let (prio, weight, port) = (c.u16()?, c.u16()?, c.u16()?);
            Rendered::data(name(c, an)?)
                .with("priority", Extra::Num(u64::from(prio)))
                .with("weight", Extra::Num(u64::from(weight)))
                .with("port", Extra::Num(u64::from(port)))
        }
        35 => {
            let (order, pref) = (c.u16()?, c.u16()?);
            let (flags, services, regexp) = (c.vec8()?, c.vec8()?, c.vec8()?);
            let repl = name(c, an)?;
            Rendered::data(format!(
                "{order} {pref} {} {} {} {repl}",
                quoted(flags),
                quoted(services),
                quoted(regexp)
            ))
        }
        // DS, CDS, DLV, TA.
        43 | 59 | 32768 | 32769 => {
            let (tag, alg, dt) = (c.u16()?, c.u8()?, c.u8()?);
            Rendered::data(hex_upper(c.take_rest()))
                .with("key_tag", Extra::Num(u64::from(tag)))
                .with("algorithm", Extra::Str(names::algorithm_name(alg)))
                .with("digest_type", Extra::Str(names::digest_name(dt)))
        }
        // DNSKEY, CDNSKEY, KEY.
        48 | 60 | 25 => {
            let (flags, proto, alg) = (c.u16()?, c.u8()?, c.u8()?);
            Rendered::data(b64(c.take_rest()))
                .with("flags", Extra::Num(u64::from(flags)))
                .with("protocol", Extra::Num(u64::from(proto)))
                .with("algorithm", Extra::Str(names::algorithm_name(alg)))
        }
        // RRSIG, SIG.
        46 | 24 => {
            let (covered, alg, labels) = (c.u16()?, c.u8()?, c.u8()?);
            let (orig_ttl, exp, inc, tag) = (c.u32()?, c.u32()?, c.u32()?, c.u16()?);
            let signer = name(c, an)?;
            Rendered::data(b64(c.take_rest()))
                .with("type_covered", Extra::Str(names::type_name(covered)))
                .with("algorithm", Extra::Str(names::algorithm_name(alg)))
                .with("labels", Extra::Num(u64::from(labels)))
                .with("original_ttl", Extra::Num(u64::from(orig_ttl)))
                .with("expiration", Extra::Str(sig_time(exp)))
                .with("inception", Extra::Str(sig_time(inc)))
                .with("key_tag", Extra::Num(u64::from(tag)))
                .with("signer_name", Extra::Str(signer))
        }
        47 => {
            let next = name(c, an)?;
            let bits = type_bitmap(c.take_rest())?;
            Rendered::data(next).with("type_bits", Extra::Str(bits))
        }
        50 => {
            let (hash, flags, iter) = (c.u8()?, c.u8()?, c.u16()?);
            let salt = c.vec8()?;
            let next = c.vec8()?;
            let bits = type_bitmap(c.take_rest())?;
            Rendered::data(base32hex(next))
                .with("hash", Extra::Str(nsec3_hash(hash)))
                .with("flags", Extra::Num(u64::from(flags)))
                .with("iterations", Extra::Num(u64::from(iter)))
                .with("salt", Extra::Str(salt_text(salt)))
                .with("type_bits", Extra::Str(bits))
        }
        51 => {
            let (hash, flags, iter) = (c.u8()?, c.u8()?, c.u16()?);
            let salt = c.vec8()?;
            Rendered::data(salt_text(salt))
                .with("hash", Extra::Str(nsec3_hash(hash)))
                .with("flags", Extra::Num(u64::from(flags)))
                .with("iterations", Extra::Num(u64::from(iter)))
        }
        // CSYNC: serial, flags, type bitmap.
        62 => {
            let (serial, flags) = (c.u32()?, c.u16()?);
            Rendered::data(format!("{serial} {flags} {}", type_bitmap(c.take_rest())?))
        }
        44 => {
            let (alg, fpt) = (c.u8()?, c.u8()?);
            Rendered::data(format!("{alg} {fpt} {}", hex_upper(c.take_rest())))
        }
        // TLSA, SMIMEA.
        52 | 53 => {
            let (usage, sel, mt) = (c.u8()?, c.u8()?, c.u8()?);
            Rendered::data(format!("{usage} {sel} {mt} {}", hex_upper(c.take_rest())))
        }
        256 => {
            let (prio, weight) = (c.u16()?, c.u16()?);
            Rendered::data(format!("{prio} {weight} {}", quoted(c.take_rest())))
        }
        257 => {
            let flags = c.u8()?;
            let tag = c.vec8()?;
            if tag.is_empty() {
                return None;
            }
            Rendered::data(format!("{flags} {} {}", text(tag), quoted(c.take_rest())))
        }
        64 | 65 => svcb(c, an)?,
        29 => Rendered::data(loc(c)?),
        250 => tsig(c, an)?,
        // OPT outside the additional section, and everything unknown: hex.
        _ => Rendered::data(hex(c.take_rest())),
    })
}

fn nsec3_hash(h: u8) -> String {
    if h == 1 {
        "SHA-1".to_owned()
    } else {
        h.to_string()
    }
}

fn salt_text(salt: &[u8]) -> String {
    if salt.is_empty() {
        "-".to_owned()
    } else {
        hex_upper(salt)
    }
}

/// NSEC/NSEC3 type bit maps (RFC 4034 §4.1.2): "A NS SOA RRSIG".
fn type_bitmap(mut b: &[u8]) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    while !b.is_empty() {
        let (&win, &len) = (b.first()?, b.get(1)?);
        if len == 0 || len > 32 {
            return None;
        }
        let map = b.get(2..2 + usize::from(len))?;
        for (i, byte) in map.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    let t = u16::from(win) * 256 + (i as u16) * 8 + bit;
                    out.push(names::type_name(t));
                }
            }
        }
        b = b.get(2 + usize::from(len)..)?;
    }
    Some(out.join(" "))
}

/// SVCB/HTTPS (RFC 9460) in presentation format: `1 . alpn="h2,h3" ipv4hint=192.0.2.1`.
fn svcb(c: &mut Cursor<'_>, an: &mut Anomalies) -> Option<Rendered> {
    let prio = c.u16()?;
    let target = name(c, an)?;
    let mut out = format!("{prio} {target}");
    while !c.at_end() {
        let key = c.u16()?;
        let len = c.u16()?;
        let v = c.take(usize::from(len))?;
        out.push(' ');
        match key {
            0 => {
                let keys: Option<Vec<String>> =
                    v.chunks(2).map(|k| View(k).u16(0).map(svc_key_name)).collect();
                let _ = write!(out, "mandatory={}", keys?.join(","));
            }
            1 => {
                let mut ids = Vec::new();
                let mut p = v;
                while let Some((&n, rest)) = p.split_first() {
                    let id = rest.get(..usize::from(n))?;
                    ids.push(text(id).replace(',', "\\,"));
                    p = rest.get(usize::from(n)..)?;
                }
                let _ = write!(out, "alpn=\"{}\"", ids.join(","));
            }
            2 | 8 if v.is_empty() => out.push_str(&svc_key_name(key)),
            3 => {
                let _ = write!(out, "port={}", View(v).u16(0).filter(|_| v.len() == 2)?);
            }
            4 | 6 => {
                let size = if key == 4 { 4 } else { 16 };
                if v.is_empty() || v.len() % size != 0 {
                    return None;
                }
                let ips: Vec<String> = v
                    .chunks(size)
                    .map(|a| match <[u8; 4]>::try_from(a) {
                        Ok(b) => Ipv4Addr::from(b).to_string(),
                        Err(_) => <[u8; 16]>::try_from(a)
                            .map(|b| Ipv6Addr::from(b).to_string())
                            .unwrap_or_default(),
                    })
                    .collect();
                let _ = write!(out, "{}={}", svc_key_name(key), ips.join(","));
            }
            5 => {
                let _ = write!(out, "ech=\"{}\"", b64(v));
            }
            _ => {
                let _ = write!(out, "{}={}", svc_key_name(key), quoted(v));
            }
        }
    }
    Some(Rendered::data(out))
}

fn svc_key_name(k: u16) -> String {
    match k {
        0 => "mandatory".into(),
        1 => "alpn".into(),
        2 => "no-default-alpn".into(),
        3 => "port".into(),
        4 => "ipv4hint".into(),
        5 => "ech".into(),
        6 => "ipv6hint".into(),
        7 => "dohpath".into(),
        8 => "ohttp".into(),
        _ => format!("key{k}"),
    }
}

/// LOC (RFC 1876) as dig prints it: `52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m`.
fn loc(c: &mut Cursor<'_>) -> Option<String> {
    if c.u8()? != 0 {
        return None;
    }
    let (size, hp, vp) = (c.u8()?, c.u8()?, c.u8()?);
    let (lat, lon, alt) = (c.u32()?, c.u32()?, c.u32()?);
    fn prec(b: u8) -> Option<String> {
        let (m, e) = (u64::from(b >> 4), u32::from(b & 0xf));
        if m > 9 || e > 9 {
            return None;
        }
        Some(if e >= 2 {
            format!("{}m", m * 10u64.pow(e - 2))
        } else {
            let cm = m * 10u64.pow(e);
            format!("{}.{:02}m", cm / 100, cm % 100)
        })
    }
    fn angle(v: u32, pos: char, neg: char) -> String {
        let d = i64::from(v) - (1i64 << 31);
        let (hemi, mut a) = if d < 0 { (neg, -d) } else { (pos, d) };
        let ms = a % 1000;
        a /= 1000;
        let s = a % 60;
        a /= 60;
        format!("{} {} {s}.{ms:03} {hemi}", a / 60, a % 60)
    }
    let alt_cm = i64::from(alt) - 10_000_000;
    let sign = if alt_cm < 0 { "-" } else { "" };
    Some(format!(
        "{} {} {sign}{}.{:02}m {} {} {}",
        angle(lat, 'N', 'S'),
        angle(lon, 'E', 'W'),
        alt_cm.abs() / 100,
        alt_cm.abs() % 100,
        prec(size)?,
        prec(hp)?,
        prec(vp)?
    ))
}

/// TSIG (RFC 8945): `data` is the algorithm; the error is an extra key.
fn tsig(c: &mut Cursor<'_>, an: &mut Anomalies) -> Option<Rendered> {
    let alg = name(c, an)?;
    let hi = u64::from(c.u16()?);
    let lo = u64::from(c.u32()?);
    let fudge = c.u16()?;
    let mac_len = c.u16()?;
    let mac = c.take(usize::from(mac_len))?;
    let orig = c.u16()?;
    let err = c.u16()?;
    let other_len = c.u16()?;
    c.take(usize::from(other_len))?;
    Some(
        Rendered::data(alg)
            .with("time_signed", Extra::Num((hi << 32) | lo))
            .with("fudge", Extra::Num(u64::from(fudge)))
            .with("mac", Extra::Str(b64(mac)))
            .with("original_id", Extra::Num(u64::from(orig)))
            .with("error", Extra::Str(names::rcode_name(err))),
    )
}

/// Writes `name, type, class, ttl, data` and the extras of a record as one JSON object.
pub struct RecordJson<'a>(pub &'a super::parser::Record);

impl Serialize for RecordJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &r.name)?;
        m.serialize_entry("type", &names::type_name(r.rtype))?;
        m.serialize_entry("class", &names::class_name(r.class))?;
        m.serialize_entry("ttl", &r.ttl)?;
        m.serialize_entry("data", &r.data.data)?;
        serialize_extras(&r.data, &mut m)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(rtype: u16, rdata: &[u8]) -> (Rendered, Anomalies) {
        let mut an = Anomalies::default();
        let out = render(rdata, rtype, 0, rdata.len(), &mut an);
        (out, an)
    }

    #[test]
    fn common_types() {
        assert_eq!(r(1, &[192, 0, 2, 1]).0.data, "192.0.2.1");
        assert_eq!(r(1, &[192, 0, 2, 1]).0.ip, Some("192.0.2.1".parse().unwrap()));
        let v6 = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(r(28, &v6).0.data, "2001:db8::1");
        assert_eq!(r(5, b"\x03www\x07example\x00").0.data, "www.example");
        let mx = r(15, b"\x00\x0a\x04mail\x00");
        assert_eq!(mx.0.data, "mail");
        assert_eq!(mx.0.extra, [("preference", Extra::Num(10))]);
        assert_eq!(r(16, b"\x05hello\x03a\"b").0.data, "hello a\\\"b");
        let srv = r(33, b"\x00\x01\x00\x02\x01\xbb\x01t\x00").0;
        assert_eq!(srv.data, "t");
        assert_eq!(srv.extra.len(), 3);
        assert_eq!(r(257, b"\x00\x05issueca.local").0.data, "0 issue \"ca.local\"");
        assert_eq!(r(256, b"\x00\x0a\x00\x01ftp://x/").0.data, "10 1 \"ftp://x/\"");
        assert_eq!(r(44, &[1, 1, 0xab, 0xcd]).0.data, "1 1 ABCD");
        assert_eq!(r(999, &[1, 2]).0.data, "0102");
    }

    #[test]
    fn malformed_rdata_is_kept_as_hex_and_flagged() {
        let (out, an) = r(1, &[1, 2, 3]);
        assert_eq!(out.data, "010203");
        assert!(out.malformed);
        assert_eq!(an.0, [Anomaly::RdataMalformed]);
        let (out, _) = r(1, &[1, 2, 3, 4, 5]);
        assert!(out.malformed, "trailing bytes in RDATA");
        assert_eq!(out.data, "1.2.3.4");
        // SVCB alpn whose length runs past the value.
        let (out, an) = r(65, b"\x00\x01\x00\x00\x01\x00\x03\x05h2");
        assert!(out.malformed);
        assert!(!an.is_empty());
    }

    #[test]
    fn dnssec_and_presentation_types() {
        let bits = type_bitmap(&[0, 6, 0x62, 0, 0, 0, 0, 0x03]).unwrap();
        assert_eq!(bits, "A NS SOA RRSIG NSEC");
        assert_eq!(base32hex(&[0xff; 5]), "VVVVVVVV");
        assert_eq!(base32hex(b"f"), "CO");
        assert_eq!(sig_time(0), "19700101000000");
        assert_eq!(sig_time(1_700_000_000), "20231114221320");
        let https =
            r(65, b"\x00\x01\x00\x00\x01\x00\x06\x02h2\x02h3\x00\x04\x00\x04\x01\x02\x03\x04");
        assert_eq!(https.0.data, "1 . alpn=\"h2,h3\" ipv4hint=1.2.3.4");
        // RFC 1876 example: 42 21 54.000 N 71 06 18.000 W -24.00m 30m 100m 10m (no padding).
        let lat: u32 = (1u32 << 31) + ((42 * 3600 + 21 * 60 + 54) * 1000);
        let lon: u32 = (1u32 << 31) - ((71 * 3600 + 6 * 60 + 18) * 1000);
        let alt: u32 = 10_000_000 - 2400;
        let mut d = vec![0u8, 0x33, 0x13, 0x12];
        d.extend_from_slice(&lat.to_be_bytes());
        d.extend_from_slice(&lon.to_be_bytes());
        d.extend_from_slice(&alt.to_be_bytes());
        assert_eq!(r(29, &d).0.data, "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10m 1m");
    }
}
