//! X.509 certificates of the Certificate message (TLS ≤ 1.2 and SSLv2) into ECS `x509.*`
//! fields, with x509-parser. A certificate that does not parse still gets its hashes.

use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

/// ECS `tls.{client,server}` certificate fields.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CertFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509: Option<X509>,
    pub hash: Hashes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// Certificate fingerprints, upper-case hex as the ECS examples.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Hashes {
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Name {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub common_name: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub country: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locality: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organization: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organizational_unit: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state_or_province: Vec<String>,
    pub distinguished_name: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct X509 {
    pub subject: Name,
    pub issuer: Name,
    pub not_before: String,
    pub not_after: String,
    pub serial_number: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternative_names: Vec<String>,
    pub signature_algorithm: String,
    pub public_key_algorithm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_curve: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_exponent: Option<u64>,
    pub version_number: String,
}

/// One certificate of a chain beyond the leaf (`tls.detailed.*_certificate_chain`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ChainEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    pub sha256: String,
}

fn hex_upper(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02X}")).collect()
}

pub fn hashes(der: &[u8]) -> Hashes {
    Hashes {
        md5: hex_upper(&<md5::Md5 as md5::Digest>::digest(der)),
        sha1: hex_upper(&<sha1::Sha1 as sha1::Digest>::digest(der)),
        sha256: hex_upper(&<sha2::Sha256 as sha2::Digest>::digest(der)),
    }
}

/// Seconds since the epoch as `2019-08-16T01:40:25.000Z` (proleptic Gregorian, any year).
pub fn rfc3339_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z", sod / 3600, (sod / 60) % 60, sod % 60)
}

/// Names kept per certificate list (subject alternative names, each attribute of a subject or
/// issuer): a certificate is bounded only by the handshake buffer, so one could carry tens of
/// thousands. Large real certificates list a few hundred alternative names.
pub const MAX_CERT_NAMES: usize = 512;

fn name(n: &X509Name<'_>) -> Name {
    let strs = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>>| {
        it.filter_map(|a| a.as_str().ok().map(str::to_owned))
            .take(MAX_CERT_NAMES)
            .collect::<Vec<_>>()
    };
    Name {
        common_name: strs(&mut n.iter_common_name()),
        country: strs(&mut n.iter_country()),
        locality: strs(&mut n.iter_locality()),
        organization: strs(&mut n.iter_organization()),
        organizational_unit: strs(&mut n.iter_organizational_unit()),
        state_or_province: strs(&mut n.iter_state_or_province()),
        distinguished_name: n.to_string(),
    }
}

/// Go's x509 names (what ECS's example "SHA256-RSA" follows).
fn signature_algorithm(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.2" => "MD2-RSA",
        "1.2.840.113549.1.1.4" => "MD5-RSA",
        "1.2.840.113549.1.1.5" => "SHA1-RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.113549.1.1.11" => "SHA256-RSA",
        "1.2.840.113549.1.1.12" => "SHA384-RSA",
        "1.2.840.113549.1.1.13" => "SHA512-RSA",
        "1.2.840.113549.1.1.14" => "SHA224-RSA",
        "1.2.840.10040.4.3" => "DSA-SHA1",
        "2.16.840.1.101.3.4.3.2" => "DSA-SHA256",
        "1.2.840.10045.4.1" => "ECDSA-SHA1",
        "1.2.840.10045.4.3.2" => "ECDSA-SHA256",
        "1.2.840.10045.4.3.3" => "ECDSA-SHA384",
        "1.2.840.10045.4.3.4" => "ECDSA-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return oid.to_owned(),
    }
    .to_owned()
}

fn public_key_algorithm(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.10045.2.1" => "ECDSA",
        "1.3.101.110" => "X25519",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return oid.to_owned(),
    }
    .to_owned()
}

fn curve_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.7" => "nistp256",
        "1.3.132.0.34" => "nistp384",
        "1.3.132.0.35" => "nistp521",
        "1.3.132.0.33" => "nistp224",
        "1.2.840.10045.3.1.1" => "nistp192",
        "1.3.132.0.10" => "secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        _ => return oid.to_owned(),
    }
    .to_owned()
}

/// Bits of a big-endian unsigned integer (leading zero bytes and bits ignored).
fn bit_len(b: &[u8]) -> u64 {
    let Some(i) = b.iter().position(|&x| x != 0) else { return 0 };
    let lead = b.get(i).map_or(0, |x| x.leading_zeros());
    (b.len() - i) as u64 * 8 - u64::from(lead)
}

fn x509(c: &X509Certificate<'_>) -> X509 {
    use x509_parser::public_key::PublicKey;
    let spki = c.public_key();
    let mut alternative_names = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for g in &san.value.general_names {
            if alternative_names.len() >= MAX_CERT_NAMES {
                break;
            }
            match g {
                GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                    alternative_names.push((*s).to_owned())
                }
                GeneralName::IPAddress(b) => match b.len() {
                    4 => alternative_names
                        .push(std::net::Ipv4Addr::from([b[0], b[1], b[2], b[3]]).to_string()),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        alternative_names.push(std::net::Ipv6Addr::from(a).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let (mut size, mut exponent, mut curve) = (None, None, None);
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => {
            size = Some(bit_len(k.modulus));
            exponent = k.try_exponent().ok();
        }
        Ok(PublicKey::EC(p)) => {
            size = Some(p.key_size() as u64).filter(|s| *s > 0);
            curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| curve_name(&o.to_id_string()));
        }
        Ok(PublicKey::DSA(y)) => size = Some(bit_len(y)),
        _ => {}
    }
    X509 {
        subject: name(c.subject()),
        issuer: name(c.issuer()),
        not_before: rfc3339_secs(c.validity().not_before.timestamp()),
        not_after: rfc3339_secs(c.validity().not_after.timestamp()),
        serial_number: hex_upper(c.raw_serial()),
        alternative_names,
        signature_algorithm: signature_algorithm(&c.signature_algorithm.algorithm.to_id_string()),
        public_key_algorithm: public_key_algorithm(&spki.algorithm.algorithm.to_id_string()),
        public_key_size: size,
        public_key_curve: curve,
        public_key_exponent: exponent,
        version_number: (c.version().0 + 1).to_string(),
    }
}

/// The ECS fields of a leaf certificate.
pub fn leaf_fields(der: &[u8]) -> CertFields {
    let mut f = CertFields { hash: hashes(der), ..CertFields::default() };
    if let Ok((_, c)) = X509Certificate::from_der(der) {
        let x = x509(&c);
        f.issuer = Some(x.issuer.distinguished_name.clone());
        f.subject = Some(x.subject.distinguished_name.clone());
        f.not_before = Some(x.not_before.clone());
        f.not_after = Some(x.not_after.clone());
        f.x509 = Some(x);
    }
    f
}

pub fn chain_entry(der: &[u8]) -> ChainEntry {
    let mut e = ChainEntry { sha256: hashes(der).sha256, ..ChainEntry::default() };
    if let Ok((_, c)) = X509Certificate::from_der(der) {
        e.subject = Some(c.subject().to_string());
        e.issuer = Some(c.issuer().to_string());
        e.not_before = Some(rfc3339_secs(c.validity().not_before.timestamp()));
        e.not_after = Some(rfc3339_secs(c.validity().not_after.timestamp()));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_bits() {
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00.000Z");
        // Year 9999 does not overflow (nanosecond clocks would).
        assert_eq!(rfc3339_secs(253_402_300_799), "9999-12-31T23:59:59.000Z");
        assert_eq!(bit_len(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(bit_len(&[]), 0);
        assert!(leaf_fields(b"not a certificate").x509.is_none());
    }
}
