//! Deterministic ids: RFC 4122 name-based UUIDs, version 5 (SHA-1).
//!
//! Every saved object, layer, column, panel and rule id is derived from a stable key, so a
//! re-import with `overwrite=true` updates objects in place and the generated files only change
//! when the content does. Keys are slugs chosen here, not display titles: renaming a dashboard
//! or a rule keeps its id.

use uuid::Uuid;

/// The RFC 4122 DNS namespace (6ba7b810-9dad-11d1-80b4-00c04fd430c8).
pub const NAMESPACE_DNS: [u8; 16] = *Uuid::NAMESPACE_DNS.as_bytes();

/// UUIDv5 of `name` in `namespace`, as raw bytes.
pub fn uuid5_bytes(namespace: &[u8; 16], name: &str) -> [u8; 16] {
    *Uuid::new_v5(&Uuid::from_bytes(*namespace), name.as_bytes()).as_bytes()
}

/// UUIDv5 of `name` in `namespace`, hyphenated.
pub fn uuid5(namespace: &[u8; 16], name: &str) -> String {
    Uuid::new_v5(&Uuid::from_bytes(*namespace), name.as_bytes()).hyphenated().to_string()
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
