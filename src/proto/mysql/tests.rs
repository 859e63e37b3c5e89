//! MySQL parser and session tests, on bytes cut from corpus captures (`zeek-mysql-*.pcap`,
//! frame numbers below) and from the MariaDB fixture (`tests/data/mysql/mariadb.pcap`).

use super::parser::{self, Packet};
use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Protocols, Transport, Txn};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

// zeek-mysql-mysql.pcap: greeting (4), login (6), OK (8), query (9), result set (10).
const GREETING: &str = "340000000a352e302e3534005e0000003e7e24347574682c002ca2210200000000000000000000000000003e36313249575a3e6668575800";
const LOGIN: &str = "3e00000185a603000000000121000000000000000000000000000000000000000000000074666f65727374650014eefd6d5562851bc5966a0b41236ae3f2315efcc4";
const OK: &str = "0700000200000002000000";
const QUERY: &str = "210000000373656c65637420404076657273696f6e5f636f6d6d656e74206c696d69742031";
const RESULT: &str = "0100000101270000020364656600000011404076657273696f6e5f636f6d6d656e74000c21004b000000fd01001f000005000003fe000002001a0000041947656e746f6f204c696e7578206d7973716c2d352e302e353405000005fe00000200";
// zeek-mysql-auth.pcap: greeting (34), login as root_nope (36), ERR 1045 (38); ERR 1130 in
// place of a greeting (4).
const GREETING_51: &str = "380000000a352e312e36372d6c6f67001a000000345c536c434c325400fff7210200000000000000000000000000003443347b317c4270313f284c00";
const LOGIN_NOPE: &str = "2b00000105a60f0000000001210000000000000000000000000000000000000000000000726f6f745f6e6f70650000";
const ERR_1045: &str = "52000002ff15042332383030304163636573732064656e69656420666f7220757365722027726f6f745f6e6f70652740276c756d6265726a61636b2e686f6d652720287573696e672070617373776f72643a204e4f29";
const ERR_1130: &str = "48000000ff6a04486f737420276c756d6265726a61636b2e686f6d6527206973206e6f7420616c6c6f77656420746f20636f6e6e65637420746f2074686973204d7953514c20736572766572";
// zeek-mysql-encrypted.pcap: MariaDB greeting (4), SSLRequest (6).
const GREETING_MARIA: &str = "6a0000000a352e352e352d31302e302e33362d4d6172696144422d307562756e7475302e31362e30342e310021000000746e4e762c74276000ffff2d02003fe0150000000000000000000031726b4144702b23696a5a65006d7973716c5f6e61746976655f70617373776f726400";
const SSL_REQUEST: &str = "2000000185ae3f20000000012d0000000000000000000000000000000000000000000000";
// zeek-mysql-caching_sha2_password.pcap stream 2: greeting (40), login with db and plugin (42),
// fast auth (44), OK (45), COM_QUERY with query attributes (47), result set ending in an OK
// with header 0xfe (CLIENT_DEPRECATE_EOF) (48).
const GREETING_8: &str = "4a0000000a382e302e3332000a0000005a0c77690259127b00ffffff0200ffdf1500000000000000000000234d131543374c15266d1a1e0063616368696e675f736861325f70617373776f726400";
const LOGIN_8: &str = "db0000018da6ff1900000001ff0000000000000000000000000000000000000000000000726f6f7400209abe63ddd7a183587d81bf06e7d2d8b27fdb73e2fd0f3188b1f0697d94448d73746573740063616368696e675f736861325f70617373776f72640079045f70696406393137353635095f706c6174666f726d067838365f3634035f6f73054c696e75780c5f636c69656e745f6e616d65086c69626d7973716c076f735f75736572096476616e656564656e0f5f636c69656e745f76657273696f6e06382e302e33320c70726f6772616d5f6e616d65056d7973716c";
const FAST_AUTH: &str = "020000020103";
const OK_8: &str = "1000000300000002400000000701050474657374";
const QUERY_ATTRS: &str = "1100000003000173686f7720646174616261736573";
const RESULT_8: &str = "010000010136000002036465660008534348454d41544108736368656d6174610844617461626173650844617461626173650cff0000010000fd81100000001300000312696e666f726d6174696f6e5f736368656d6106000004056d7973716c1300000512706572666f726d616e63655f736368656d61040000060373797305000007047465737407000008fe000022000000";
// tests/data/mysql/mariadb.pcap stream 1 (MariaDB 10.11): greeting (36), login (38), OK (40),
// COM_STMT_PREPARE (41), prepare OK with 1 parameter and 2 columns (42), COM_STMT_EXECUTE
// (43), binary result set of 2 rows (44), EXECUTE of unknown statement 102 (47), ERR 1243
// (48), COM_STMT_CLOSE (49).
const GREETING_M: &str = "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100050000007a776721696f737100fef7080200ff81150000000000001d000000606a752f297a526834672d49006d7973716c5f6e61746976655f70617373776f726400";
const LOGIN_M: &str = "540000010da20a000000000121000000000000000000000000000000000000000000000061707000148b4b43a56f1b6cd7b513a1821c2fba3ef8f0813873686f70006d7973716c5f6e61746976655f70617373776f726400";
const PREPARE: &str = "2a0000001653454c4543542069642c206e616d652046524f4d20616e696d616c73205748455245206964203e203f";
const PREPARE_OK: &str = "0c0000010002000000020001000000001700000203646566000000013f000c3f000000000006800000000005000003fe000002002c000004036465660473686f7007616e696d616c7307616e696d616c730269640269640c3f000b00000003034200000030000005036465660473686f7007616e696d616c7307616e696d616c73046e616d65046e616d650c210060000000fd011000000005000006fe00000200";
const EXECUTE: &str = "1600000017020000000001000000000108000000000000000000";
const EXEC_ROWS: &str = "01000001022c000002036465660473686f7007616e696d616c7307616e696d616c730269640269640c3f000b00000003034200000030000003036465660473686f7007616e696d616c7307616e696d616c73046e616d65046e616d650c210060000000fd011000000005000004fe000002000a000005000002000000036361740c00000600000300000005686f72736505000007fe00000200";
const EXEC_UNKNOWN: &str = "0a00000017660000000001000000";
const ERR_1243: &str = "4e000001ffdb04234859303030556e6b6e6f776e2070726570617265642073746174656d656e742068616e646c657220283130322920676976656e20746f206d7973716c645f73746d745f65786563757465";
const CLOSE: &str = "050000001902000000";

fn session(cfg: Protocols, limits: Limits) -> MysqlParser {
    let ctx = ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 6 };
    MysqlParser::new(&ctx)
}

fn default_session() -> MysqlParser {
    session(Protocols::default(), Limits::default())
}

/// Feeds (direction, hex) messages, `split` bytes at a time.
fn run(p: &mut MysqlParser, msgs: &[(Dir, &str)], split: usize) -> Vec<Txn> {
    let mut out = Vec::new();
    for (i, (dir, h)) in msgs.iter().enumerate() {
        let b = hex(h);
        for c in b.chunks(split.max(1)) {
            p.data(*dir, 1000 * (i as i64 + 1), c, &mut out);
        }
    }
    p.close(1_000_000, &mut out);
    out
}

fn my(t: &Txn) -> &Fields {
    match &t.fields {
        ProtoFields::Mysql(f) => f,
        _ => panic!("not a mysql transaction"),
    }
}

use Dir::{ToClient as S, ToServer as C};

#[test]
fn every_prefix_of_a_real_packet_is_incomplete_not_malformed() {
    for h in [GREETING, LOGIN, QUERY, ERR_1045, LOGIN_8, PREPARE_OK, EXECUTE] {
        let b = hex(h);
        let first = parser::packet_len(&b, 1 << 20).unwrap();
        for n in 0..first {
            assert_eq!(parser::packet(&b[..n], 1 << 20), Err(ParseError::Incomplete), "{h} prefix {n}");
        }
        assert!(parser::packet(&b, 1 << 20).is_ok());
    }
}

#[test]
fn greeting_and_handshake_response_decode() {
    let g = parser::greeting(&parser::packet(&hex(GREETING), 1 << 20).unwrap().payload).unwrap();
    assert_eq!((g.version.as_str(), g.connection_id), ("5.0.54", 0x5e));
    let g = parser::greeting(&parser::packet(&hex(GREETING_8), 1 << 20).unwrap().payload).unwrap();
    assert_eq!(g.version, "8.0.32");
    assert_eq!(g.auth_plugin.as_deref(), Some("caching_sha2_password"));
    let h = parser::handshake_response(&parser::packet(&hex(LOGIN_8), 1 << 20).unwrap().payload)
        .unwrap();
    assert_eq!(h.user.as_deref(), Some("root"));
    assert_eq!(h.database.as_deref(), Some("test"));
    assert_eq!(h.auth_plugin.as_deref(), Some("caching_sha2_password"));
    assert!(!h.ssl_request);
    let h = parser::handshake_response(&parser::packet(&hex(SSL_REQUEST), 1 << 20).unwrap().payload)
        .unwrap();
    assert!(h.ssl_request);
    let e = parser::err(&parser::packet(&hex(ERR_1045), 1 << 20).unwrap().payload).unwrap();
    assert_eq!(e.code, 1045);
    assert_eq!(e.sql_state.as_deref(), Some("28000"));
    assert!(e.message.starts_with("Access denied for user 'root_nope'"));
}

#[test]
fn login_and_query_pair_across_any_segmentation() {
    let msgs = [(S, GREETING), (C, LOGIN), (S, OK), (C, QUERY), (S, RESULT)];
    for split in [1, 3, 7, 1000] {
        let mut p = default_session();
        let out = run(&mut p, &msgs, split);
        assert_eq!(out.len(), 2, "split {split}");
        let login = &out[0];
        assert_eq!(login.auth, Some(Outcome::Success));
        assert_eq!(login.method.as_deref(), Some("LOGIN"));
        let f = my(login);
        assert_eq!(f.user.as_ref().unwrap().name, "tfoerste");
        assert_eq!(f.network_traffic.mysql.server_version.as_deref(), Some("5.0.54"));
        let q = &out[1];
        assert_eq!(q.auth, None);
        assert_eq!(q.method.as_deref(), Some("SELECT"));
        assert_eq!(q.query.as_deref(), Some("select @@version_comment limit 1"));
        assert_eq!((q.start_ns, q.end_ns), (4000, Some(5000)));
        let m = &my(q).network_traffic.mysql;
        assert_eq!((m.num_fields, m.num_rows), (Some(1), Some(1)));
        assert_eq!(q.status, "OK");
        let c = p.take_counters();
        assert_eq!((c.malformed, c.unmatched, c.limit_hits), (0, 0, 0));
    }
}

#[test]
fn refused_login_is_an_auth_failure() {
    let mut p = default_session();
    let out = run(&mut p, &[(S, GREETING_51), (C, LOGIN_NOPE), (S, ERR_1045)], 1000);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!((t.auth, t.outcome, t.status), (Some(Outcome::Failure), Outcome::Failure, "Error"));
    let f = my(t);
    assert_eq!(f.error.as_ref().unwrap().code, "1045");
    assert_eq!(f.network_traffic.mysql.error_code, Some(1045));
    assert_eq!(f.user.as_ref().unwrap().name, "root_nope");
}

#[test]
fn host_refused_in_the_greeting_is_not_a_credential_check() {
    let mut p = default_session();
    let out = run(&mut p, &[(S, ERR_1130)], 1000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].auth, None);
    assert_eq!(out[0].outcome, Outcome::Failure);
    assert_eq!(my(&out[0]).network_traffic.mysql.error_code, Some(1130));
}

#[test]
fn ssl_request_publishes_the_login_and_stops() {
    let mut p = default_session();
    let out = run(&mut p, &[(S, GREETING_MARIA), (C, SSL_REQUEST), (S, "16030100"), (C, "1603")], 1000);
    assert_eq!(out.len(), 1);
    assert!(my(&out[0]).network_traffic.mysql.tls_upgrade);
    assert_eq!(out[0].notes, vec!["TLS upgrade".to_owned()]);
    assert_eq!(out[0].auth, Some(Outcome::Unknown));
    assert_eq!(p.take_counters().malformed, 0);
}

#[test]
fn caching_sha2_fast_auth_and_query_attributes() {
    let mut p = default_session();
    let msgs = [
        (S, GREETING_8),
        (C, LOGIN_8),
        (S, FAST_AUTH),
        (S, OK_8),
        (C, QUERY_ATTRS),
        (S, RESULT_8),
    ];
    let out = run(&mut p, &msgs, 5);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].auth, Some(Outcome::Success));
    assert!(out[0].notes.contains(&"caching_sha2 fast auth".to_owned()));
    assert_eq!(my(&out[0]).network_traffic.mysql.database.as_deref(), Some("test"));
    assert_eq!(out[1].query.as_deref(), Some("show databases"));
    let m = &my(&out[1]).network_traffic.mysql;
    assert_eq!((m.num_fields, m.num_rows), (Some(1), Some(5)), "rows end at the 0xfe OK");
}

#[test]
fn prepared_statements_show_their_query() {
    let mut p = default_session();
    let msgs = [
        (S, GREETING_M),
        (C, LOGIN_M),
        (S, OK),
        (C, PREPARE),
        (S, PREPARE_OK),
        (C, EXECUTE),
        (S, EXEC_ROWS),
        (C, EXEC_UNKNOWN),
        (S, ERR_1243),
        (C, CLOSE),
    ];
    let out = run(&mut p, &msgs, 11);
    let cmds: Vec<&str> =
        out.iter().map(|t| my(t).network_traffic.mysql.command.as_str()).collect();
    assert_eq!(
        cmds,
        ["LOGIN", "COM_STMT_PREPARE", "COM_STMT_EXECUTE", "COM_STMT_EXECUTE", "COM_STMT_CLOSE"]
    );
    let sql = "SELECT id, name FROM animals WHERE id > ?";
    assert_eq!(my(&out[1]).network_traffic.mysql.statement_id, Some(2));
    assert_eq!(my(&out[1]).network_traffic.mysql.num_params, Some(1));
    assert_eq!(out[2].query.as_deref(), Some(sql));
    assert_eq!(out[2].method.as_deref(), Some("SELECT"));
    assert_eq!(out[2].resource.as_deref(), Some("animals"));
    assert_eq!(my(&out[2]).network_traffic.mysql.num_rows, Some(2));
    assert_eq!(my(&out[3]).network_traffic.mysql.error_code, Some(1243));
    assert_eq!(out[3].status, "Error");
    assert_eq!(out[4].query.as_deref(), Some(sql));
    assert_eq!(p.take_counters().unmatched, 0);
}

#[test]
fn limits_are_counted() {
    // Query text cut.
    let mut cfg = Protocols::default();
    cfg.mysql.max_query_length = 6;
    let mut p = session(cfg, Limits::default());
    let out = run(&mut p, &[(S, GREETING), (C, LOGIN), (S, OK), (C, QUERY), (S, RESULT)], 1000);
    assert_eq!(out[1].query.as_deref(), Some("select"));
    assert!(out[1].notes.iter().any(|n| n.contains("max_query_length")));
    assert_eq!(p.take_counters().limit_hits, 1);
    // Rows counted.
    let mut cfg = Protocols::default();
    cfg.mysql.max_rows = 2;
    let mut p = session(cfg, Limits::default());
    let msgs = [(S, GREETING_8), (C, LOGIN_8), (S, FAST_AUTH), (S, OK_8), (C, QUERY_ATTRS), (S, RESULT_8)];
    let out = run(&mut p, &msgs, 1000);
    assert_eq!(my(&out[1]).network_traffic.mysql.num_rows, Some(2));
    assert_eq!(p.take_counters().limit_hits, 1);
    // Prepared statements remembered.
    let mut cfg = Protocols::default();
    cfg.mysql.max_prepared_statements = 0;
    let mut p = session(cfg, Limits::default());
    let msgs = [(S, GREETING_M), (C, LOGIN_M), (S, OK), (C, PREPARE), (S, PREPARE_OK), (C, EXECUTE), (S, EXEC_ROWS)];
    let out = run(&mut p, &msgs, 1000);
    assert_eq!(out[2].query, Some("STMT_EXECUTE".to_owned()));
    assert_eq!(p.take_counters().limit_hits, 1);
    // A packet larger than the buffer limit: read from its first bytes, the rest skipped.
    let limits = Limits { max_buffer_bytes: 64, ..Limits::default() };
    let mut p = session(Protocols::default(), limits);
    let mut big = vec![0x03];
    big.extend_from_slice(b"INSERT INTO blobs VALUES ('");
    big.extend(std::iter::repeat_n(b'x', 200));
    big.extend_from_slice(b"')");
    let mut wire = (big.len() as u32).to_le_bytes()[..3].to_vec();
    wire.push(0);
    wire.extend_from_slice(&big);
    let mut out = Vec::new();
    for c in wire.chunks(50) {
        p.data(C, 1, c, &mut out);
    }
    p.data(S, 2, &hex("0700000100010002000000"), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].method.as_deref(), Some("INSERT"));
    assert_eq!(my(&out[0]).network_traffic.mysql.affected_rows, Some(1));
    assert!(p.take_counters().limit_hits >= 1);
}

#[test]
fn continued_packets_are_joined() {
    let mut wire = vec![0xff, 0xff, 0xff, 0];
    wire.extend(std::iter::repeat_n(b'a', parser::MAX_PACKET));
    wire.extend_from_slice(&[2, 0, 0, 1, b'b', b'c']);
    let Packet { seq, payload, wire: used } = parser::packet(&wire, 1 << 25).unwrap();
    assert_eq!((seq, payload.len(), used), (0, parser::MAX_PACKET + 2, wire.len()));
    assert_eq!(parser::packet(&wire[..wire.len() - 1], 1 << 25), Err(ParseError::Incomplete));
    assert!(matches!(parser::packet(&wire, 1 << 20), Err(ParseError::Malformed(_))));
}

#[test]
fn broken_input_is_counted_never_a_panic() {
    let mut p = default_session();
    let mut out = Vec::new();
    // A greeting that is not protocol 10, then a command byte alone, then junk.
    p.data(S, 1, &hex("0500000007abcdef01"), &mut out);
    p.data(C, 2, &hex("00000000"), &mut out);
    assert!(p.take_counters().malformed >= 2);
    // Pseudo-random bytes in both directions, cut from the real messages.
    let mut seed = 0x2545_f491_u32;
    for _ in 0..300 {
        let mut p = default_session();
        let mut out = Vec::new();
        for h in [GREETING_8, LOGIN_8, OK_8, QUERY_ATTRS, RESULT_8, PREPARE_OK, EXECUTE] {
            let mut b = hex(h);
            for x in b.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if seed.is_multiple_of(7) {
                    *x = (seed >> 8) as u8;
                }
            }
            let dir = if seed.is_multiple_of(2) { C } else { S };
            p.data(dir, 1, &b, &mut out);
        }
        p.gap(S, 10);
        p.data(S, 2, &hex(RESULT), &mut out);
        p.close(3, &mut out);
    }
}

#[test]
fn gap_ends_the_response_and_resumes_at_the_next_command() {
    let mut p = default_session();
    let mut out = Vec::new();
    for (d, h) in [(S, GREETING), (C, LOGIN), (S, OK), (C, QUERY)] {
        p.data(d, 1, &hex(h), &mut out);
    }
    let r = hex(RESULT);
    p.data(S, 2, &r[..20], &mut out);
    p.gap(S, 30);
    p.data(S, 3, &r[50..], &mut out);
    p.data(C, 4, &hex(QUERY), &mut out);
    p.data(S, 5, &hex(RESULT), &mut out);
    p.close(6, &mut out);
    assert_eq!(out.len(), 3);
    assert!(out[1].notes.iter().any(|n| n.contains("missing bytes")));
    assert_eq!(my(&out[2]).network_traffic.mysql.num_rows, Some(1));
}

#[test]
fn packetbeat_method_and_table() {
    assert_eq!(parser::sql_method("  /* x */ select 1").as_deref(), Some("SELECT"));
    assert_eq!(parser::sql_method("(SELECT 1)").as_deref(), Some("SELECT"));
    assert_eq!(parser::sql_table("insert into foo (a) values (1)").as_deref(), Some("foo"));
    assert_eq!(parser::sql_table("SELECT * FROM `db`.`t` WHERE 1").as_deref(), Some("db.t"));
    assert_eq!(parser::sql_table("drop table if exists foo").as_deref(), Some("foo"));
    assert_eq!(parser::sql_table("update t set a=1").as_deref(), Some("t"));
    assert_eq!(parser::sql_table("select now()"), None);
}

#[test]
fn probe_accepts_a_greeting_only() {
    assert!(parser::probe(Transport::Tcp, S, &hex(GREETING_M)));
    assert!(parser::probe(Transport::Tcp, S, &hex(GREETING)));
    assert!(!parser::probe(Transport::Tcp, C, &hex(GREETING)));
    assert!(!parser::probe(Transport::Tcp, S, b"HTTP/1.1 200 OK\r\n"));
}
