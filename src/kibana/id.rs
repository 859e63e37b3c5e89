//! Deterministic ids: RFC 4122 name-based UUIDs, version 5 (SHA-1).
//!
//! Every saved object, layer, column, panel and rule id is derived from a stable key, so a
//! re-import with `overwrite=true` updates objects in place and the generated files only change
//! when the content does. Keys are slugs chosen here, not display titles: renaming a dashboard
//! or a rule keeps its id.

use sha1::{Digest, Sha1};

/// The RFC 4122 DNS namespace (6ba7b810-9dad-11d1-80b4-00c04fd430c8).
pub const NAMESPACE_DNS: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// UUIDv5 of `name` in `namespace`, as raw bytes.
pub fn uuid5_bytes(namespace: &[u8; 16], name: &str) -> [u8; 16] {
    let mut h = Sha1::new();
    h.update(namespace);
    h.update(name.as_bytes());
    let d: [u8; 20] = h.finalize().into();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    b
}

/// Lower-case hyphenated form (8-4-4-4-12).
pub fn format_uuid(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// UUIDv5 of `name` in `namespace`, hyphenated.
pub fn uuid5(namespace: &[u8; 16], name: &str) -> String {
    format_uuid(&uuid5_bytes(namespace, name))
}

/// wirebeat's own namespace: UUIDv5("wirebeat.kibana") in the DNS namespace.
pub fn wirebeat_namespace() -> [u8; 16] {
    uuid5_bytes(&NAMESPACE_DNS, "wirebeat.kibana")
}

/// The id of a wirebeat object from its stable key (`dashboard:dns`, `rule:dns-nxdomain-burst`).
pub fn stable_id(key: &str) -> String {
    uuid5(&wirebeat_namespace(), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4122_reference_values() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        assert_eq!(uuid5(&NAMESPACE_DNS, "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com")
        assert_eq!(
            uuid5(&NAMESPACE_DNS, "www.example.com"),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn stable_ids_differ_by_key_and_are_version_5() {
        let a = stable_id("dashboard:dns");
        let b = stable_id("dashboard:tls");
        assert_ne!(a, b);
        assert_eq!(a, stable_id("dashboard:dns"));
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
