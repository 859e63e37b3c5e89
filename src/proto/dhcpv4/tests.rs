//! Unit tests on messages cut from corpus captures (tests/data/dhcpv4/README.md says which).

use super::parser;
use super::*;
use crate::bytes::ParseError;
use std::net::Ipv4Addr;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

const DISCOVER: &[u8] = include_bytes!("../../../tests/data/dhcpv4/discover.bin");
const OFFER: &[u8] = include_bytes!("../../../tests/data/dhcpv4/offer.bin");
const NAK: &[u8] = include_bytes!("../../../tests/data/dhcpv4/nak.bin");
const OFFER_OVERLOAD_A: &[u8] = include_bytes!("../../../tests/data/dhcpv4/offer-overload-a.bin");
const OFFER_OVERLOAD_B: &[u8] = include_bytes!("../../../tests/data/dhcpv4/offer-overload-b.bin");
const BAD_COOKIE: &[u8] = include_bytes!("../../../tests/data/dhcpv4/bad-cookie.bin");
const USER_CLASS: &[u8] = include_bytes!("../../../tests/data/dhcpv4/discover-user-class.bin");
const REQUEST_FQDN: &[u8] = include_bytes!("../../../tests/data/dhcpv4/request-fqdn.bin");

/// Messages that end with an end option (the strict parse accepts them).
const WELL_FORMED: &[&[u8]] =
    &[DISCOVER, OFFER, NAK, OFFER_OVERLOAD_A, OFFER_OVERLOAD_B, USER_CLASS, REQUEST_FQDN];

fn parser_with(limits: &Limits) -> Dhcpv4Parser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Udp, ip_proto: 0 };
    Dhcpv4Parser::new(&ctx)
}

fn one(bytes: &[u8], dir: Dir) -> Txn {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    p.data(dir, 42, bytes, &mut out);
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn json(t: &Txn) -> serde_json::Value {
    match &t.fields {
        ProtoFields::Dhcpv4(f) => serde_json::to_value(f).unwrap(),
        _ => panic!("not a DHCP transaction"),
    }
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for msg in WELL_FORMED {
        let end = msg.iter().rposition(|&b| b == 255).unwrap();
        for n in 0..=end {
            assert_eq!(parser::parse(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert!(parser::parse(msg).is_ok());
        assert!(parser::parse(&msg[..=end]).is_ok());
    }
}

#[test]
fn broken_messages_are_malformed_or_flagged() {
    let mut bad_op = DISCOVER.to_vec();
    bad_op[0] = 7;
    assert!(matches!(parser::parse(&bad_op), Err(ParseError::Malformed(_))));
    assert!(matches!(parser::parse_datagram(&bad_op), Err(ParseError::Malformed(_))));
    assert!(matches!(parser::parse_datagram(&DISCOVER[..7]), Err(ParseError::Malformed(_))));
    // A datagram cut inside the header still reports op and xid.
    let m = parser::parse_datagram(&DISCOVER[..40]).unwrap();
    assert_eq!(m.xid, 1984);
    assert!(m.chaddr.is_some() && m.options.is_empty());
    assert!(m.notes.iter().any(|n| n.contains("cut inside the BOOTP header")));
    // An option running past the end of the datagram.
    let mut cut = DISCOVER[..parser::HEADER_LEN + 4].to_vec();
    cut.extend_from_slice(&[53, 1, 1, 12, 200, b'a']);
    let m = parser::parse_datagram(&cut).unwrap();
    assert_eq!(m.message_type(), Some(1));
    assert!(m.notes.iter().any(|n| n.contains("cut short")));
    // No end option.
    cut.truncate(cut.len() - 3);
    let m = parser::parse_datagram(&cut).unwrap();
    assert!(m.notes.iter().any(|n| n.contains("not terminated")));
    // hlen above 16 is clamped.
    let mut long_hw = DISCOVER.to_vec();
    long_hw[2] = 40;
    let m = parser::parse_datagram(&long_hw).unwrap();
    assert_eq!(m.chaddr.map(|c| c.len()), Some(16));
}

#[test]
fn discover_fields() {
    // zeek-dhcp-dhcp.pcap frame 1.
    let t = one(DISCOVER, Dir::ToServer);
    let j = json(&t);
    let d = &j["dhcpv4"];
    assert_eq!(d["op_code"], "bootrequest");
    assert_eq!(d["transaction_id"], "0x000007c0");
    assert_eq!(d["client_mac"], "90-B1-1C-99-49-29");
    assert_eq!(d["hardware_type"], "Ethernet");
    assert_eq!(d["flags"], "unicast");
    assert_eq!(d["hops"], 0);
    assert_eq!(d["seconds"], 0);
    assert!(d.get("client_ip").is_none(), "0.0.0.0 is left out");
    assert_eq!(d["option"]["message_type"], "discover");
    assert_eq!(d["option"]["requested_ip_address"], "192.168.211.194");
    assert_eq!(d["option"]["hostname"], "btest.is.cool");
    assert_eq!(j["network_traffic"]["dhcpv4"], *d, "both names carry the same values");
    assert_eq!(t.related_hosts, vec!["btest.is.cool".to_owned()]);
    assert_eq!((t.client_bytes, t.server_bytes), (DISCOVER.len() as u64, 0));
    assert!(t.notes.is_empty());
    assert_eq!(t.end_ns, None);
}

#[test]
fn offer_options() {
    // zeek-dhcp-dhcp.pcap frame 2: an offer with many options.
    let t = one(OFFER, Dir::ToClient);
    let j = json(&t);
    let d = &j["dhcpv4"];
    assert_eq!(d["op_code"], "bootreply");
    assert_eq!(d["assigned_ip"], "128.2.6.97");
    assert_eq!(d["server_ip"], "172.19.230.7");
    let o = &d["option"];
    assert_eq!(o["message_type"], "offer");
    assert_eq!(o["server_identifier"], "128.2.6.152");
    assert_eq!(o["ip_address_lease_time_sec"], 900);
    assert_eq!(o["subnet_mask"], "255.255.255.0");
    assert_eq!(o["router"], serde_json::json!(["128.2.6.1"]));
    assert_eq!(o["dns_servers"], serde_json::json!(["128.2.1.11", "128.2.1.10"]));
    assert_eq!(o["time_servers"], serde_json::json!(["128.2.1.20", "128.2.1.21"]));
    assert_eq!(o["ntp_servers"].as_array().unwrap().len(), 3);
    assert_eq!(o["broadcast_address"], "128.2.6.255");
    assert_eq!(o["boot_file_name"], "network-confg");
    assert_eq!(o["class_identifier"], "ArubaAP");
    assert_eq!(o["domain_name"], "cmu.edu");
    assert_eq!(t.server_bytes, OFFER.len() as u64);
}

#[test]
fn nak_is_a_failure_with_its_message() {
    // zeek-dhcp-dhcp.pcap frame 4.
    let t = one(NAK, Dir::ToClient);
    assert_eq!((t.outcome, t.status), (Outcome::Failure, "Error"));
    let j = json(&t);
    assert_eq!(j["dhcpv4"]["flags"], "broadcast");
    assert_eq!(j["dhcpv4"]["option"]["message_type"], "nak");
    assert_eq!(j["dhcpv4"]["option"]["message"], "requested address not available");
}

#[test]
fn option_overload_continues_in_sname() {
    // sv-dhcp-option-52-overload.pcap frames 3 (plain) and 4 (DNS, router and domain in sname).
    let plain = json(&one(OFFER_OVERLOAD_A, Dir::ToClient));
    assert_eq!(plain["dhcpv4"]["server_name"], "evil-pxe.attacker.local");
    assert!(plain["dhcpv4"]["option"].get("option_overload").is_none());
    let t = one(OFFER_OVERLOAD_B, Dir::ToClient);
    assert!(t.notes.is_empty());
    let j = json(&t);
    let d = &j["dhcpv4"];
    assert!(d.get("server_name").is_none(), "sname holds options, not a name");
    assert_eq!(d["option"]["option_overload"], 2);
    assert_eq!(d["option"]["message_type"], "offer");
    assert_eq!(d["option"]["dns_servers"], serde_json::json!(["10.100.0.2"]));
    assert_eq!(d["option"]["router"], serde_json::json!(["10.100.0.2"]));
    assert_eq!(d["option"]["domain_name"], "evil.corp");
}

#[test]
fn bad_cookie_reports_bootp_fields() {
    // zeek-dhcp-dhcp_bad_cookie_option_retention.pcap frame 2: cookie 0, then option 53.
    let t = one(BAD_COOKIE, Dir::ToServer);
    assert!(t.notes.iter().any(|n| n.contains("magic cookie")));
    let j = json(&t);
    assert_eq!(j["dhcpv4"]["transaction_id"], "0x00002000");
    assert_eq!(j["dhcpv4"]["client_mac"], "00-11-22-33-44-55");
    assert!(j["dhcpv4"].get("option").is_none(), "options after a bad cookie are not DHCP's");
}

#[test]
fn user_class_fqdn_client_id_and_parameter_list() {
    // tcpdump-dhcp-rfc3004.pcap frame 1: three RFC 3004 user classes.
    let j = json(&one(USER_CLASS, Dir::ToServer));
    assert_eq!(
        j["dhcpv4"]["option"]["user_class"],
        serde_json::json!(["subopt1", "subopt2-123456789", "subopt3-12"])
    );
    assert_eq!(
        j["dhcpv4"]["option"]["parameter_request_list"],
        serde_json::json!([
            "Subnet Mask",
            "Broadcast Address",
            "Time Offset",
            "Router",
            "Domain Name",
            "Domain Name Server",
            "Host Name"
        ])
    );
    // sv-smb2-ntlmssp-negotiateflags.pcap frame 21: FQDN and client identifier.
    let t = one(REQUEST_FQDN, Dir::ToServer);
    let j = json(&t);
    let o = &j["dhcpv4"]["option"];
    assert_eq!(o["client_identifier"], "01:00:0c:29:61:f5:5f");
    assert_eq!(o["client_fqdn"]["name"], "DESKTOP-V1FA0UQ");
    assert_eq!(o["client_fqdn"]["flags"], 0);
    assert_eq!(o["class_identifier"], "MSFT 5.0");
    assert_eq!(o["parameter_request_list"].as_array().unwrap().last().unwrap(), "unknown (252)");
    assert_eq!(t.related_hosts, vec!["DESKTOP-V1FA0UQ".to_owned(), "DESKTOP-V1FA0UQ".to_owned()]);
}

#[test]
fn relay_agent_vendor_class_and_times() {
    let mut m = DISCOVER[..parser::HEADER_LEN + 4].to_vec();
    m.extend_from_slice(&[53, 1, 5]);
    m.extend_from_slice(&[82, 10, 1, 3, b'e', b't', b'h', 2, 3, 0xaa, 0xbb, 0xcc]);
    m.extend_from_slice(&[124, 9, 0, 0, 0, 12, 4, 0xde, 0xad, 0xbe, 0xef]);
    m.extend_from_slice(&[58, 4, 0, 0, 7, 8, 59, 4, 0, 0, 12, 78, 2, 4, 0xff, 0xff, 0xf1, 0xf0]);
    // Option 12 split in two instances (RFC 3396): concatenated.
    m.extend_from_slice(&[12, 3, b'a', b'b', b'c', 12, 2, b'd', b'e', 255]);
    let t = one(&m, Dir::ToClient);
    assert_eq!(t.outcome, Outcome::Success);
    let j = json(&t);
    let o = &j["dhcpv4"]["option"];
    assert_eq!(o["relay_agent_information"]["circuit_id"], "65:74:68");
    assert_eq!(o["relay_agent_information"]["remote_id"], "aa:bb:cc");
    assert_eq!(
        o["vendor_identifying_options"],
        serde_json::json!([{"id": 12, "data": "deadbeef"}])
    );
    assert_eq!(o["renewal_time_sec"], 1800);
    assert_eq!(o["rebinding_time_sec"], 3150);
    assert_eq!(o["utc_time_offset_sec"], -3600);
    assert_eq!(o["hostname"], "abcde");
}

#[test]
fn oversized_datagrams_are_read_up_to_the_limit() {
    let limits = Limits { max_buffer_bytes: 300, ..Limits::default() };
    let mut p = parser_with(&limits);
    let mut big = OFFER.to_vec();
    big.resize(5000, 0);
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, &big, &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].notes.iter().any(|n| n.contains("max_buffer_bytes")));
    assert_eq!(out[0].server_bytes, 5000);
    let c = p.take_counters();
    assert_eq!((c.messages, c.limit_hits), (1, 1));
}

#[test]
fn one_event_per_message_and_counters() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    for (i, m) in WELL_FORMED.iter().enumerate() {
        p.data(Dir::ToServer, i as i64, m, &mut out);
    }
    p.data(Dir::ToServer, 9, b"junk", &mut out);
    p.close(10, &mut out);
    assert_eq!(out.len(), WELL_FORMED.len());
    let c = p.take_counters();
    assert_eq!((c.messages, c.malformed), (WELL_FORMED.len() as u64, 1));
}

#[test]
fn message_type_names_round_trip() {
    for t in 1..=18 {
        assert_eq!(parser::message_type_code(&parser::message_type_name(t)), Some(t));
    }
    assert_eq!(parser::message_type_name(77), "unknown (77)");
}

#[test]
fn garbage_never_panics() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for i in 0..3000 {
        let mut buf = DISCOVER.to_vec();
        let len = 8 + (i % 400);
        buf.resize(len, 0);
        for b in buf.iter_mut().skip(if i % 2 == 0 { 236 } else { 1 }) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        if i % 3 == 0 {
            if let Some(b) = buf.get_mut(236..240) {
                b.copy_from_slice(&parser::MAGIC_COOKIE);
            }
            if let Some(b) = buf.get_mut(240..243) {
                b.copy_from_slice(&[52, 1, 3]);
            }
        }
        p.data(Dir::ToServer, i as i64, &buf, &mut out);
    }
    assert!(!out.is_empty());
}

fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                leaves(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, x, out)
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                leaves(prefix, x, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

#[test]
fn every_field_is_listed_exactly_once() {
    let ip = Some(Ipv4Addr::new(10, 0, 0, 1));
    let f = Dhcpv4Fields {
        op_code: "bootreply",
        hardware_type: "Ethernet".into(),
        hops: 1,
        transaction_id: "0x00000001".into(),
        seconds: Some(1),
        flags: Some("unicast"),
        client_mac: Some("00-11-22-33-44-55".into()),
        client_ip: ip,
        assigned_ip: ip,
        server_ip: ip,
        relay_ip: ip,
        server_name: Some("s".into()),
        boot_file_name: Some("f".into()),
        option: Some(OptionFields {
            message_type: Some("ack".into()),
            parameter_request_list: Some(vec!["Router".into()]),
            requested_ip_address: ip,
            server_identifier: ip,
            broadcast_address: ip,
            max_dhcp_message_size: Some(1500),
            class_identifier: Some("c".into()),
            domain_name: Some("d".into()),
            dns_servers: ip.map(|a| vec![a]),
            vendor_identifying_options: Some(vec![VendorClass { id: 1, data: "00".into() }]),
            subnet_mask: ip,
            utc_time_offset_sec: Some(0),
            router: ip.map(|a| vec![a]),
            time_servers: ip.map(|a| vec![a]),
            ntp_servers: ip.map(|a| vec![a]),
            hostname: Some("h".into()),
            ip_address_lease_time_sec: Some(1),
            message: Some("m".into()),
            renewal_time_sec: Some(1),
            rebinding_time_sec: Some(1),
            boot_file_name: Some("b".into()),
            client_identifier: Some("01".into()),
            user_class: Some(vec!["u".into()]),
            client_fqdn: Some(ClientFqdn { flags: 0, name: Some("n".into()) }),
            relay_agent_information: Some(RelayAgentInformation {
                circuit_id: Some("01".into()),
                remote_id: Some("02".into()),
            }),
            option_overload: Some(1),
        }),
    };
    let all = Fields { dhcpv4: f.clone(), network_traffic: NetworkTraffic { dhcpv4: f } };
    let mut emitted = Vec::new();
    leaves("", &serde_json::to_value(&all).unwrap(), &mut emitted);
    let listed: Vec<&str> =
        CUSTOM_FIELDS.iter().chain(CUSTOM_FIELDS_NOT_IN_CORPUS).map(|(n, _, _)| *n).collect();
    for e in &emitted {
        assert_eq!(listed.iter().filter(|n| *n == e).count(), 1, "{e} listed once");
    }
    assert_eq!(listed.len(), emitted.len(), "nothing listed that is never emitted");
}
