//! Mnemonics of DNS numbers (IANA "Domain Name System (DNS) Parameters") and their inverse.
//!
//! Unassigned numbers are written the RFC 3597 way for types and classes (`TYPE65280`,
//! `CLASS32`) and in the same spirit for op codes and response codes (`OPCODE9`, `RCODE12`),
//! so every value can be turned back into its number (`*_number`).

/// RR types: (number, mnemonic).
const TYPES: &[(u16, &str)] = &[
    (1, "A"),
    (2, "NS"),
    (3, "MD"),
    (4, "MF"),
    (5, "CNAME"),
    (6, "SOA"),
    (7, "MB"),
    (8, "MG"),
    (9, "MR"),
    (10, "NULL"),
    (11, "WKS"),
    (12, "PTR"),
    (13, "HINFO"),
    (14, "MINFO"),
    (15, "MX"),
    (16, "TXT"),
    (17, "RP"),
    (18, "AFSDB"),
    (19, "X25"),
    (20, "ISDN"),
    (21, "RT"),
    (22, "NSAP"),
    (23, "NSAP-PTR"),
    (24, "SIG"),
    (25, "KEY"),
    (26, "PX"),
    (27, "GPOS"),
    (28, "AAAA"),
    (29, "LOC"),
    (30, "NXT"),
    (31, "EID"),
    (32, "NIMLOC"),
    (33, "SRV"),
    (34, "ATMA"),
    (35, "NAPTR"),
    (36, "KX"),
    (37, "CERT"),
    (38, "A6"),
    (39, "DNAME"),
    (40, "SINK"),
    (41, "OPT"),
    (42, "APL"),
    (43, "DS"),
    (44, "SSHFP"),
    (45, "IPSECKEY"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (49, "DHCID"),
    (50, "NSEC3"),
    (51, "NSEC3PARAM"),
    (52, "TLSA"),
    (53, "SMIMEA"),
    (55, "HIP"),
    (56, "NINFO"),
    (57, "RKEY"),
    (58, "TALINK"),
    (59, "CDS"),
    (60, "CDNSKEY"),
    (61, "OPENPGPKEY"),
    (62, "CSYNC"),
    (63, "ZONEMD"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (66, "DSYNC"),
    (99, "SPF"),
    (100, "UINFO"),
    (101, "UID"),
    (102, "GID"),
    (103, "UNSPEC"),
    (104, "NID"),
    (105, "L32"),
    (106, "L64"),
    (107, "LP"),
    (108, "EUI48"),
    (109, "EUI64"),
    (249, "TKEY"),
    (250, "TSIG"),
    (251, "IXFR"),
    (252, "AXFR"),
    (253, "MAILB"),
    (254, "MAILA"),
    (255, "ANY"),
    (256, "URI"),
    (257, "CAA"),
    (258, "AVC"),
    (259, "DOA"),
    (260, "AMTRELAY"),
    (261, "RESINFO"),
    (262, "WALLET"),
    (32768, "TA"),
    (32769, "DLV"),
];

const CLASSES: &[(u16, &str)] = &[(1, "IN"), (3, "CH"), (4, "HS"), (254, "NONE"), (255, "ANY")];

const OPCODES: &[(u8, &str)] =
    &[(0, "QUERY"), (1, "IQUERY"), (2, "STATUS"), (4, "NOTIFY"), (5, "UPDATE"), (6, "DSO")];

/// Response codes, 12-bit with the EDNS extension (RFC 6891); 16 is BADVERS for EDNS (BADSIG
/// only appears inside TSIG records, which carry their own error field).
const RCODES: &[(u16, &str)] = &[
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (6, "YXDOMAIN"),
    (7, "YXRRSET"),
    (8, "NXRRSET"),
    (9, "NOTAUTH"),
    (10, "NOTZONE"),
    (11, "DSOTYPENI"),
    (16, "BADVERS"),
    (17, "BADKEY"),
    (18, "BADTIME"),
    (19, "BADMODE"),
    (20, "BADNAME"),
    (21, "BADALG"),
    (22, "BADTRUNC"),
    (23, "BADCOOKIE"),
];

/// DNSSEC algorithm numbers (names as Packetbeat prints them).
const ALGORITHMS: &[(u8, &str)] = &[
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
    (252, "INDIRECT"),
    (253, "PRIVATEDNS"),
    (254, "PRIVATEOID"),
];

/// DS digest types.
const DIGESTS: &[(u8, &str)] = &[(1, "SHA-1"), (2, "SHA-256"), (3, "GOST94"), (4, "SHA-384")];

/// EDNS option codes.
const EDNS_OPTIONS: &[(u16, &str)] = &[
    (1, "LLQ"),
    (2, "UL"),
    (3, "NSID"),
    (5, "DAU"),
    (6, "DHU"),
    (7, "N3U"),
    (8, "ECS"),
    (9, "EXPIRE"),
    (10, "COOKIE"),
    (11, "TCP-KEEPALIVE"),
    (12, "PADDING"),
    (13, "CHAIN"),
    (14, "KEY-TAG"),
    (15, "EDE"),
    (16, "CLIENT-TAG"),
    (17, "SERVER-TAG"),
    (18, "REPORT-CHANNEL"),
    (19, "ZONEVERSION"),
    (26946, "DEVICEID"),
];

fn lookup<K: PartialEq + Copy, V: Copy>(table: &[(K, V)], k: K) -> Option<V> {
    table.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
}

fn rlookup<K: Copy>(table: &[(K, &str)], name: &str) -> Option<K> {
    table.iter().find(|(_, v)| v.eq_ignore_ascii_case(name)).map(|(k, _)| *k)
}

pub fn type_name(t: u16) -> String {
    lookup(TYPES, t).map_or_else(|| format!("TYPE{t}"), str::to_owned)
}

/// The type number of a mnemonic (`A`, `HTTPS`, `TYPE65280`).
pub fn type_number(name: &str) -> Option<u16> {
    rlookup(TYPES, name).or_else(|| name.strip_prefix("TYPE")?.parse().ok())
}

/// mDNS sets the top bit of the class (unicast-response in questions, cache-flush in answers);
/// `IN` with that bit is still written `IN` (the bit is reported apart).
pub fn class_name(c: u16) -> String {
    let base = if c & 0x7fff == 1 { 1 } else { c };
    lookup(CLASSES, base).map_or_else(|| format!("CLASS{c}"), str::to_owned)
}

pub fn opcode_name(op: u8) -> String {
    lookup(OPCODES, op).map_or_else(|| format!("OPCODE{op}"), str::to_owned)
}

pub fn opcode_number(name: &str) -> Option<u8> {
    rlookup(OPCODES, name).or_else(|| name.strip_prefix("OPCODE")?.parse().ok())
}

pub fn rcode_name(rc: u16) -> String {
    lookup(RCODES, rc).map_or_else(|| format!("RCODE{rc}"), str::to_owned)
}

pub fn rcode_number(name: &str) -> Option<u16> {
    rlookup(RCODES, name).or_else(|| name.strip_prefix("RCODE")?.parse().ok())
}

pub fn algorithm_name(a: u8) -> String {
    lookup(ALGORITHMS, a).map_or_else(|| a.to_string(), str::to_owned)
}

pub fn digest_name(d: u8) -> String {
    lookup(DIGESTS, d).map_or_else(|| d.to_string(), str::to_owned)
}

pub fn edns_option_name(code: u16) -> String {
    lookup(EDNS_OPTIONS, code).map_or_else(|| format!("OPTION{code}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(type_name(1), "A");
        assert_eq!(type_name(28), "AAAA");
        assert_eq!(type_name(65), "HTTPS");
        assert_eq!(type_name(0), "TYPE0");
        assert_eq!(type_number("TYPE0"), Some(0));
        assert_eq!(type_number("https"), Some(65));
        for t in [1u16, 6, 41, 65, 256, 257, 4000, 65535] {
            assert_eq!(type_number(&type_name(t)), Some(t));
        }
        assert_eq!(class_name(1), "IN");
        assert_eq!(class_name(0x8001), "IN");
        assert_eq!(class_name(32), "CLASS32");
        assert_eq!(rcode_name(23), "BADCOOKIE");
        assert_eq!(rcode_name(12), "RCODE12");
        assert_eq!(rcode_number("NXDOMAIN"), Some(3));
        assert_eq!(rcode_number("RCODE12"), Some(12));
        assert_eq!(opcode_name(9), "OPCODE9");
        assert_eq!(opcode_number("UPDATE"), Some(5));
        assert_eq!(opcode_number("OPCODE9"), Some(9));
        assert_eq!(algorithm_name(13), "ECDSAP256SHA256");
        assert_eq!(edns_option_name(8), "ECS");
    }
}
