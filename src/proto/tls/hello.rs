//! Pure parsers for the messages the TLS event is built from: ClientHello (TLS and the
//! SSLv2-compatible form), ServerHello (incl. TLS 1.3 drafts), their extensions, Certificate and
//! ServerKeyExchange. Bodies come in whole (the session reassembles them); a
//! short or inconsistent body is `Malformed`, never a panic.
//!
//! tls-parser parses the fixed part of ClientHello, of ServerHello for SSL 3.0–TLS 1.2 (and
//! TLS 1.3, which reuses that layout) and the Certificate message. It does not know TLS 1.3
//! drafts other than 18 nor SSLv2, so those are read here. Extensions are walked here, in wire
//! order with their raw type numbers, which is what JA3/JA4 need.

use crate::bytes::Cursor;

/// Items kept per list of a hello (extensions, cipher suites, groups, signature algorithms,
/// versions, key shares, point formats, ALPN ids, server names, compression methods). Real
/// hellos stay far below (a browser sends ~20 extensions and ~20 suites; a scanner offering
/// every suite ~350); beyond, the rest is dropped and [`LIST_OVER_LIMIT`] noted, so a hello of
/// 20,000 extensions gives a small event (it gave one of 138 KB).
pub const MAX_HELLO_LIST: usize = 256;
/// Bytes kept of one server name (a DNS name is at most 253).
pub const MAX_SERVER_NAME_BYTES: usize = 255;
/// The anomaly noted when a list or a name was cut; the session counts it in `limit_hits`.
pub const LIST_OVER_LIMIT: &str = "hello_list_over_limit";

/// Appends `item` unless `list` is full; a full list notes the anomaly once.
fn push_capped<T>(list: &mut Vec<T>, item: T, anomalies: &mut Vec<&'static str>) {
    if list.len() < MAX_HELLO_LIST {
        list.push(item);
    } else if !anomalies.contains(&LIST_OVER_LIMIT) {
        anomalies.push(LIST_OVER_LIMIT);
    }
}

/// Big-endian u16 items, at most [`MAX_HELLO_LIST`].
fn u16s(b: &[u8], anomalies: &mut Vec<&'static str>) -> Vec<u16> {
    let mut v = Vec::new();
    for c in b.chunks_exact(2) {
        push_capped(&mut v, u16::from_be_bytes([c[0], c[1]]), anomalies);
    }
    v
}

/// Extensions of a hello message, as far as the event uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// Types in wire order, GREASE included (fingerprints drop it themselves).
    pub types: Vec<u16>,
    pub server_names: Vec<String>,
    /// ALPN protocol ids (raw: JA4 looks at their bytes).
    pub alpn: Vec<Vec<u8>>,
    pub groups: Vec<u16>,
    pub point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    /// Client: the offered list; server: the one selected.
    pub supported_versions: Vec<u16>,
    /// Length of the session ticket (0: empty, support announced).
    pub session_ticket: Option<usize>,
    pub pre_shared_key: bool,
    /// Groups of the key shares (server: the selected one).
    pub key_share: Vec<u16>,
    pub heartbeat: bool,
    /// Problems found while walking the extensions.
    pub anomalies: Vec<&'static str>,
}

/// Walks an extension block (the bytes after its 2-byte length). `client` selects the
/// ClientHello layouts of supported_versions and key_share.
pub fn parse_extensions(block: &[u8], client: bool) -> Extensions {
    let mut e = Extensions::default();
    let mut r = Cursor::new(block);
    while !r.rest().is_empty() {
        let (Some(t), Some(data)) = (r.u16(), r.vec16()) else {
            e.anomalies.push("truncated_extension");
            break;
        };
        push_capped(&mut e.types, t, &mut e.anomalies);
        let mut d = Cursor::new(data);
        let an = &mut e.anomalies;
        let ok = match t {
            0 => d.vec16().map(|list| {
                let mut l = Cursor::new(list);
                while let (Some(kind), Some(name)) = (l.u8(), l.vec16()) {
                    if kind == 0 {
                        if name.len() > MAX_SERVER_NAME_BYTES && !an.contains(&LIST_OVER_LIMIT) {
                            an.push(LIST_OVER_LIMIT);
                        }
                        let name = name.get(..MAX_SERVER_NAME_BYTES).unwrap_or(name);
                        let name = String::from_utf8_lossy(name).into_owned();
                        push_capped(&mut e.server_names, name, an);
                    }
                }
            }),
            16 => d.vec16().map(|list| {
                let mut l = Cursor::new(list);
                while let Some(p) = l.vec8() {
                    push_capped(&mut e.alpn, p.to_vec(), an);
                }
            }),
            10 => d.vec16().map(|l| e.groups = u16s(l, an)),
            11 => d.vec8().map(|l| {
                let cut = l.get(..MAX_HELLO_LIST).unwrap_or(l);
                if cut.len() < l.len() && !an.contains(&LIST_OVER_LIMIT) {
                    an.push(LIST_OVER_LIMIT);
                }
                e.point_formats = cut.to_vec();
            }),
            13 => d.vec16().map(|l| e.signature_algorithms = u16s(l, an)),
            43 if client => d.vec8().map(|l| e.supported_versions = u16s(l, an)),
            43 => d.u16().map(|v| e.supported_versions = vec![v]),
            35 => {
                e.session_ticket = Some(data.len());
                Some(())
            }
            41 => {
                e.pre_shared_key = true;
                Some(())
            }
            15 => {
                e.heartbeat = true;
                Some(())
            }
            51 if client => d.vec16().map(|list| {
                let mut l = Cursor::new(list);
                while let (Some(g), Some(_)) = (l.u16(), l.vec16()) {
                    push_capped(&mut e.key_share, g, an);
                }
            }),
            // ServerHello: group and key; HelloRetryRequest: the group alone.
            51 => d.u16().map(|g| e.key_share = vec![g]),
            _ => Some(()),
        };
        if ok.is_none() {
            e.anomalies.push("malformed_extension");
        }
    }
    e
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Sent in the SSLv2-compatible record format.
    pub sslv2: bool,
    pub version: u16,
    pub session_id: Vec<u8>,
    /// Cipher suites in wire order (SSLv2 hellos: the kinds that are TLS suites).
    pub ciphers: Vec<u16>,
    /// SSLv2-only cipher kinds (3 bytes).
    pub sslv2_ciphers: Vec<u32>,
    pub compression: Vec<u8>,
    pub ext: Extensions,
    pub anomalies: Vec<&'static str>,
}

/// ClientHello body (after the 4-byte handshake header).
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello, &'static str> {
    let (rest, ch) =
        tls_parser::parse_tls_handshake_client_hello(body).map_err(|_| "malformed_client_hello")?;
    let mut anomalies = Vec::new();
    // tls-parser reads the extension block only when it is complete: find out whether one was
    // there but cut short, and whether bytes trail the message.
    let fixed = 2 + 32 + 1 + ch.session_id.map_or(0, <[u8]>::len) + 2 + 2 * ch.ciphers.len();
    let fixed = fixed + 1 + ch.comp.len();
    let ext = match ch.ext {
        Some(block) => parse_extensions(block, true),
        None => {
            if body.len() > fixed {
                anomalies.push("truncated_extensions_block");
            }
            Extensions::default()
        }
    };
    if ch.ext.is_some() && !rest.is_empty() {
        anomalies.push("trailing_bytes_client_hello");
    }
    let mut ciphers = Vec::new();
    for c in &ch.ciphers {
        push_capped(&mut ciphers, c.0, &mut anomalies);
    }
    let mut compression = Vec::new();
    for c in &ch.comp {
        push_capped(&mut compression, c.0, &mut anomalies);
    }
    if ext.anomalies.contains(&LIST_OVER_LIMIT) && !anomalies.contains(&LIST_OVER_LIMIT) {
        anomalies.push(LIST_OVER_LIMIT);
    }
    Ok(ClientHello {
        sslv2: false,
        version: ch.version.0,
        session_id: ch.session_id.map(<[u8]>::to_vec).unwrap_or_default(),
        ciphers,
        sslv2_ciphers: Vec::new(),
        compression,
        ext,
        anomalies,
    })
}

/// SSLv2 record with a 2-byte header (high bit set): total length and whether `b` holds it all.
/// `None` when `b` does not start like one.
pub fn sslv2_record_len(b: &[u8]) -> Option<usize> {
    let (&h0, &h1) = (b.first()?, b.get(1)?);
    (h0 & 0x80 != 0).then(|| 2 + ((usize::from(h0 & 0x7f) << 8) | usize::from(h1)))
}

/// SSLv2-compatible ClientHello record (RFC 5246 appendix E.2), header included.
pub fn parse_sslv2_client_hello(rec: &[u8]) -> Result<ClientHello, &'static str> {
    let mut r = Cursor::new(rec.get(2..).ok_or("malformed_sslv2_client_hello")?);
    if r.u8() != Some(1) {
        return Err("unexpected_sslv2_message");
    }
    let bad = "malformed_sslv2_client_hello";
    let version = r.u16().ok_or(bad)?;
    let (specs_len, sid_len, chal_len) = (r.u16().ok_or(bad)?, r.u16().ok_or(bad)?, r.u16());
    let chal_len = chal_len.ok_or(bad)?;
    if specs_len % 3 != 0 || !(16..=32).contains(&chal_len) && chal_len != 0 {
        return Err(bad);
    }
    let specs = r.take(usize::from(specs_len)).ok_or(bad)?;
    let sid = r.take(usize::from(sid_len)).ok_or(bad)?;
    r.take(usize::from(chal_len)).ok_or(bad)?;
    let mut ciphers = Vec::new();
    let mut sslv2_ciphers = Vec::new();
    let mut anomalies = Vec::new();
    for s in specs.chunks_exact(3) {
        if s[0] == 0 {
            push_capped(&mut ciphers, u16::from_be_bytes([s[1], s[2]]), &mut anomalies);
        } else {
            let kind = u32::from_be_bytes([0, s[0], s[1], s[2]]);
            push_capped(&mut sslv2_ciphers, kind, &mut anomalies);
        }
    }
    if !r.rest().is_empty() {
        anomalies.push("trailing_bytes_client_hello");
    }
    Ok(ClientHello {
        sslv2: true,
        version,
        session_id: sid.to_vec(),
        ciphers,
        sslv2_ciphers,
        compression: vec![0],
        ext: Extensions::default(),
        anomalies,
    })
}

/// SSLv2 ServerHello: the version and the server certificate.
pub fn parse_sslv2_server_hello(rec: &[u8]) -> Result<(u16, Vec<u8>), &'static str> {
    let bad = "malformed_sslv2_server_hello";
    let mut r = Cursor::new(rec.get(2..).ok_or(bad)?);
    if r.u8() != Some(4) {
        return Err("unexpected_sslv2_message");
    }
    let _session_id_hit = r.u8().ok_or(bad)?;
    let _cert_type = r.u8().ok_or(bad)?;
    let version = r.u16().ok_or(bad)?;
    let cert_len = r.u16().ok_or(bad)?;
    let _specs_len = r.u16().ok_or(bad)?;
    let _conn_id_len = r.u16().ok_or(bad)?;
    let cert = r.take(usize::from(cert_len)).ok_or(bad)?;
    Ok((version, cert.to_vec()))
}

/// SHA-256("HelloRetryRequest"): the random of a TLS 1.3 HelloRetryRequest (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The version field of the message (0x0303 for TLS 1.3, the draft number before draft 22).
    pub version: u16,
    pub session_id: Vec<u8>,
    pub cipher: u16,
    pub compression: Option<u8>,
    pub ext: Extensions,
    /// TLS 1.3 HelloRetryRequest (a ServerHello with the special random).
    pub retry_request: bool,
    pub anomalies: Vec<&'static str>,
}

impl ServerHello {
    /// The version the session runs: supported_versions when the server sent it.
    pub fn negotiated(&self) -> u16 {
        self.ext.supported_versions.first().copied().unwrap_or(self.version)
    }
}

/// ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, &'static str> {
    let bad = "malformed_server_hello";
    let version = Cursor::new(body).u16().ok_or(bad)?;
    if matches!(version, 0x7f00..=0x7f15) {
        // TLS 1.3 drafts before 22: version, random, cipher suite, extensions.
        let mut r = Cursor::new(body);
        r.take(2 + 32).ok_or(bad)?;
        let cipher = r.u16().ok_or(bad)?;
        let block = r.vec16().ok_or(bad)?;
        let ext = parse_extensions(block, false);
        let mut anomalies =
            if r.rest().is_empty() { vec![] } else { vec!["trailing_bytes_server_hello"] };
        if ext.anomalies.contains(&LIST_OVER_LIMIT) {
            anomalies.push(LIST_OVER_LIMIT);
        }
        return Ok(ServerHello {
            version,
            session_id: Vec::new(),
            cipher,
            compression: None,
            ext,
            retry_request: false,
            anomalies,
        });
    }
    let (rest, sh) = tls_parser::parse_tls_handshake_server_hello(body).map_err(|_| bad)?;
    let mut anomalies = Vec::new();
    let fixed = 2 + 32 + 1 + sh.session_id.map_or(0, <[u8]>::len) + 2 + 1;
    let ext = match sh.ext {
        Some(block) => {
            if !rest.is_empty() {
                anomalies.push("trailing_bytes_server_hello");
            }
            parse_extensions(block, false)
        }
        None => {
            if body.len() > fixed {
                anomalies.push("truncated_extensions_block");
            }
            Extensions::default()
        }
    };
    if ext.anomalies.contains(&LIST_OVER_LIMIT) {
        anomalies.push(LIST_OVER_LIMIT);
    }
    Ok(ServerHello {
        version: sh.version.0,
        session_id: sh.session_id.map(<[u8]>::to_vec).unwrap_or_default(),
        cipher: sh.cipher.0,
        compression: Some(sh.compression.0),
        ext,
        retry_request: sh.random == HRR_RANDOM,
        anomalies,
    })
}

/// DER certificates of a Certificate message body (TLS ≤ 1.2 layout).
pub fn parse_certificate_list(msg: &[u8]) -> Result<Vec<&[u8]>, &'static str> {
    match tls_parser::parse_tls_handshake_msg_certificate(msg) {
        Ok((_, tls_parser::TlsMessageHandshake::Certificate(c))) => {
            Ok(c.cert_chain.iter().map(|c| c.data).collect())
        }
        _ => Err("malformed_certificate"),
    }
}

/// The named group of an ECDHE ServerKeyExchange (curve type 3 = named_curve).
pub fn server_key_exchange_group(body: &[u8]) -> Option<u16> {
    let mut r = Cursor::new(body);
    (r.u8()? == 3).then_some(())?;
    r.u16()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_walk_keeps_order_and_flags_truncation() {
        // SNI "a.b", ALPN h2, supported_versions [0x0304, 0x0303], then a cut extension.
        let mut b = vec![0, 0, 0, 8, 0, 6, 0, 0, 3, b'a', b'.', b'b'];
        b.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
        b.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
        b.extend_from_slice(&[0xff, 0x01, 0, 9, 0]);
        let e = parse_extensions(&b, true);
        assert_eq!(e.types, vec![0, 16, 43]);
        assert_eq!(e.server_names, vec!["a.b".to_owned()]);
        assert_eq!(e.alpn, vec![b"h2".to_vec()]);
        assert_eq!(e.supported_versions, vec![0x0304, 0x0303]);
        assert_eq!(e.anomalies, vec!["truncated_extension"]);
    }

    #[test]
    fn draft_server_hello() {
        // Draft 19: version 0x7f13, random, cipher 0x1301, extensions (key_share x25519).
        let mut b = vec![0x7f, 0x13];
        b.extend_from_slice(&[7; 32]);
        b.extend_from_slice(&[0x13, 0x01, 0, 8, 0, 51, 0, 4, 0, 29, 0, 0]);
        let sh = parse_server_hello(&b).unwrap();
        assert_eq!((sh.version, sh.cipher, sh.negotiated()), (0x7f13, 0x1301, 0x7f13));
        assert_eq!(sh.ext.key_share, vec![29]);
        assert!(parse_server_hello(&b[..20]).is_err());
    }
}
