//! Names of TLS code points (IANA TLS parameters registries): versions, cipher suites,
//! extensions, groups, signature schemes, alerts. Unknown values fall back to their number.

/// GREASE values (RFC 8701): 0x?a?a with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// "TLS 1.2", "SSL 3.0", "TLS 1.3 draft 19" (Packetbeat's `tls.detailed.version` style).
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f00..=0x7fff => format!("TLS 1.3 draft {}", v & 0xff),
        0xfb00..=0xfbff => format!("TLS 1.3 draft {} (Facebook)", v & 0xff),
        _ if is_grease(v) => format!("GREASE 0x{v:04x}"),
        _ => format!("unknown 0x{v:04x}"),
    }
}

/// ECS `tls.version` and `tls.version_protocol`: ("1.2", "tls"), ("3.0", "ssl").
pub fn ecs_version(v: u16) -> Option<(&'static str, &'static str)> {
    Some(match v {
        0x0002 => ("2.0", "ssl"),
        0x0300 => ("3.0", "ssl"),
        0x0301 => ("1.0", "tls"),
        0x0302 => ("1.1", "tls"),
        0x0303 => ("1.2", "tls"),
        0x0304 | 0x7f00..=0x7fff | 0xfb00..=0xfbff => ("1.3", "tls"),
        _ => return None,
    })
}

/// TLS 1.3 or one of its drafts.
pub fn is_tls13(v: u16) -> bool {
    matches!(v, 0x0304 | 0x7f00..=0x7fff | 0xfb00..=0xfbff)
}

/// Hello versions the way Packetbeat prints them: "3.3".
pub fn hello_version(v: u16) -> String {
    format!("{}.{}", v >> 8, v & 0xff)
}

/// IANA cipher suite name (tls-parser carries the whole registry); hex otherwise.
pub fn cipher_name(id: u16) -> String {
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(c) => c.name.to_owned(),
        None => format!("0x{id:04x}"),
    }
}

/// SSLv2 cipher kinds (3 bytes) that have no TLS equivalent.
pub fn sslv2_cipher_name(kind: u32) -> String {
    match kind {
        0x010080 => "SSL2_RC4_128_WITH_MD5".into(),
        0x020080 => "SSL2_RC4_128_EXPORT40_WITH_MD5".into(),
        0x030080 => "SSL2_RC2_128_CBC_WITH_MD5".into(),
        0x040080 => "SSL2_RC2_128_CBC_EXPORT40_WITH_MD5".into(),
        0x050080 => "SSL2_IDEA_128_CBC_WITH_MD5".into(),
        0x060040 => "SSL2_DES_64_CBC_WITH_MD5".into(),
        0x0700c0 => "SSL2_DES_192_EDE3_CBC_WITH_MD5".into(),
        _ => format!("0x{kind:06x}"),
    }
}

pub fn extension_name(t: u16) -> String {
    let n = match t {
        0 => "server_name_indication",
        1 => "max_fragment_length",
        2 => "client_certificate_url",
        3 => "trusted_ca_keys",
        4 => "truncated_hmac",
        5 => "status_request",
        6 => "user_mapping",
        7 => "client_authz",
        8 => "server_authz",
        9 => "cert_type",
        10 => "supported_groups",
        11 => "ec_points_formats",
        12 => "srp",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        17 => "status_request_v2",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        24 => "token_binding",
        25 => "cached_info",
        27 => "compress_certificate",
        28 => "record_size_limit",
        34 => "delegated_credentials",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        57 => "quic_transport_parameters",
        13172 => "next_protocol_negotiation",
        17513 | 17613 => "application_settings",
        30032 => "channel_id",
        65037 => "encrypted_client_hello",
        65281 => "renegotiation_info",
        _ if is_grease(t) => return format!("GREASE 0x{t:04x}"),
        _ => return t.to_string(),
    };
    n.to_owned()
}

/// Named groups (formerly elliptic curves).
pub fn group_name(g: u16) -> String {
    const SECT: [&str; 28] = [
        "sect163k1",
        "sect163r1",
        "sect163r2",
        "sect193r1",
        "sect193r2",
        "sect233k1",
        "sect233r1",
        "sect239k1",
        "sect283k1",
        "sect283r1",
        "sect409k1",
        "sect409r1",
        "sect571k1",
        "sect571r1",
        "secp160k1",
        "secp160r1",
        "secp160r2",
        "secp192k1",
        "secp192r1",
        "secp224k1",
        "secp224r1",
        "secp256k1",
        "secp256r1",
        "secp384r1",
        "secp521r1",
        "brainpoolP256r1",
        "brainpoolP384r1",
        "brainpoolP512r1",
    ];
    let n = match g {
        1..=28 => SECT.get(usize::from(g) - 1).copied().unwrap_or("unknown"),
        29 => "x25519",
        30 => "x448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0xff01 => "arbitrary_explicit_prime_curves",
        0xff02 => "arbitrary_explicit_char2_curves",
        _ if is_grease(g) => return format!("GREASE 0x{g:04x}"),
        _ => return format!("0x{g:04x}"),
    };
    n.to_owned()
}

pub fn point_format_name(f: u8) -> String {
    match f {
        0 => "uncompressed".into(),
        1 => "ansiX962_compressed_prime".into(),
        2 => "ansiX962_compressed_char2".into(),
        _ => f.to_string(),
    }
}

pub fn compression_name(c: u8) -> String {
    match c {
        0 => "NULL".into(),
        1 => "DEFLATE".into(),
        64 => "LZS".into(),
        _ => format!("0x{c:02x}"),
    }
}

/// Signature schemes (TLS 1.3 names; TLS 1.2 hash/signature pairs as `<sig>_<hash>`).
pub fn signature_scheme_name(s: u16) -> String {
    let n = match s {
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0401 => "rsa_pkcs1_sha256",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0420 => "rsa_pkcs1_sha256_legacy",
        0x0501 => "rsa_pkcs1_sha384",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0520 => "rsa_pkcs1_sha384_legacy",
        0x0601 => "rsa_pkcs1_sha512",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0620 => "rsa_pkcs1_sha512_legacy",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        _ if is_grease(s) => return format!("GREASE 0x{s:04x}"),
        _ => {
            let hash = match s >> 8 {
                1 => "md5",
                2 => "sha1",
                3 => "sha224",
                4 => "sha256",
                5 => "sha384",
                6 => "sha512",
                _ => return format!("0x{s:04x}"),
            };
            let sig = match s & 0xff {
                1 => "rsa",
                2 => "dsa",
                3 => "ecdsa",
                _ => return format!("0x{s:04x}"),
            };
            return format!("{sig}_{hash}");
        }
    };
    n.to_owned()
}

pub fn alert_level_name(l: u8) -> String {
    match l {
        1 => "warning".into(),
        2 => "fatal".into(),
        _ => l.to_string(),
    }
}

pub fn alert_name(d: u8) -> String {
    let n = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return format!("unknown_{d}"),
    };
    n.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_values() {
        let grease: Vec<u16> = (0..16u16).map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a).collect();
        assert_eq!(grease.first(), Some(&0x0a0a));
        assert_eq!(grease.last(), Some(&0xfafa));
        assert!(grease.iter().all(|&g| is_grease(g)));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301) && !is_grease(0x0000));
    }

    #[test]
    fn names() {
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
        assert_eq!(cipher_name(0xfefe), "0xfefe");
        assert_eq!(version_name(0x7f13), "TLS 1.3 draft 19");
        assert_eq!(hello_version(0x0303), "3.3");
        assert_eq!(group_name(23), "secp256r1");
        assert_eq!(group_name(0x1a1a), "GREASE 0x1a1a");
        assert_eq!(signature_scheme_name(0x0402), "dsa_sha256");
        assert_eq!(alert_name(40), "handshake_failure");
        assert_eq!(ecs_version(0x0300), Some(("3.0", "ssl")));
    }
}
