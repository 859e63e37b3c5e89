use super::*;
use crate::detect::obs::PROTO_TCP;
use crate::flow::EndReason;
use crate::proto::Outcome;
use std::net::Ipv4Addr;

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

/// A completed session of `secs` seconds with `bytes` each way in 10 packets each way.
fn session(src: u8, dst: u8, port: u16, start: i64, secs: f64, bytes: u64) -> FlowObs {
    let end = start + (secs * S as f64) as i64;
    FlowObs {
        ts_ns: end,
        first_ts: start,
        last_ts: end,
        src: ip(src),
        dst: ip(dst),
        sport: 40000,
        dport: port,
        proto: PROTO_TCP,
        fwd_packets: 10,
        fwd_bytes: bytes,
        rev_packets: 10,
        rev_bytes: bytes,
        fwd_flags: 0x02 | 0x10 | 0x01,
        rev_flags: 0x02 | 0x10 | 0x01,
        tcp_state: None,
        end: EndReason::TcpClose,
        app: None,
        community_id: None,
    }
}

fn http(src: u8, ts: i64, method: &str, path: &str, status: u16) -> TxnObs {
    let detail = Detail::Http { method: method.into(), path: path.into(), status: Some(status) };
    let mut t = TxnObs {
        ts_ns: ts,
        start_ns: ts,
        end_ns: Some(ts),
        protocol: "http",
        src: ip(src),
        dst: ip(9),
        sport: 40000,
        dport: 80,
        outcome: Outcome::Unknown,
        auth: Auth::None,
        detail,
        community_id: None,
    };
    t.auth = match (status, is_login_path(path), method) {
        (401, _, _) | (403, true, _) => Auth::Failure,
        (_, true, "POST") => Auth::Attempt,
        _ => Auth::None,
    };
    t
}

fn detector() -> BruteForce {
    BruteForce::new(&Config::default())
}

fn run(d: &mut BruteForce, flows: &[FlowObs], txns: &[TxnObs]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for f in flows {
        d.flow(f, &mut alerts);
    }
    for t in txns {
        d.transaction(t, &mut alerts);
    }
    let now = flows.iter().map(|f| f.ts_ns).chain(txns.iter().map(|t| t.ts_ns)).max();
    d.tick(now.unwrap_or(T0), &mut alerts);
    alerts
}

use super::super::obs::is_login_path;

#[test]
fn many_short_ssh_sessions_alert_once_with_their_counts() {
    let mut d = detector();
    let flows: Vec<FlowObs> =
        (0..12).map(|i| session(5, 9, 22, T0 + i * 5 * S, 3.0, 4000)).collect();
    let alerts = run(&mut d, &flows, &[]);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.rule.id, "wirebeat-brute_force-sessions");
    assert_eq!(a.facts["sessions"], 12);
    assert_eq!(a.facts["short_sessions"], 12);
    assert_eq!(
        a.message,
        "10.0.0.5 made 12 SSH sessions to 10.0.0.9:22 in 58 s, 12 shorter than 30 s with at \
         most 4.0 KB sent either way (password guessing by session shape)"
    );
    // More of the same episode in the next tick: not raised again within the window.
    let more: Vec<FlowObs> =
        (12..16).map(|i| session(5, 9, 22, T0 + i * 5 * S, 3.0, 4000)).collect();
    assert!(run(&mut d, &more, &[]).is_empty());
}

#[test]
fn few_sessions_long_sessions_and_bare_connects_do_not_alert() {
    let mut d = detector();
    // A client reconnecting a few times, a monitoring probe every 30 s for 2 min, an SSH
    // session that stays up, a health check that connects and closes every 5 s.
    let mut flows: Vec<FlowObs> =
        (0..4).map(|i| session(5, 9, 22, T0 + i * 20 * S, 2.0, 5000)).collect();
    flows.extend((0..5).map(|i| session(6, 9, 22, T0 + i * 30 * S, 0.1, 1500)));
    flows.extend((0..30).map(|i| session(7, 9, 22, T0 + i * S, 600.0, 3_000_000)));
    flows.extend((0..24).map(|i| session(8, 9, 3306, T0 + i * 5 * S, 0.01, 10 * 66 + 10)));
    assert!(run(&mut d, &flows, &[]).is_empty());
}

#[test]
fn http_401s_on_one_path_alert_and_expired_sessions_do_not() {
    let mut d = detector();
    let guesses: Vec<TxnObs> =
        (0..25).map(|i| http(5, T0 + i * S, "POST", "/wp-login.php", 401)).collect();
    let alerts = run(&mut d, &[], &guesses);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule.id, "wirebeat-brute_force-failed-logins");
    assert_eq!(alerts[0].facts["failed"], 25);
    assert_eq!(
        alerts[0].message,
        "10.0.0.5 made 25 HTTP logins to 10.0.0.9:80 /wp-login.php in 24 s: 25 answered 401 \
         (password guessing)"
    );
    // A page whose session expired: 401 on 30 different resources.
    let expired: Vec<TxnObs> =
        (0..30).map(|i| http(6, T0 + i * S / 10, "GET", &format!("/api/item/{i}"), 401)).collect();
    assert!(run(&mut d, &[], &expired).is_empty());
    // NTLM: each of 15 connections answers 401 twice, then 200 and more 200s.
    let mut ntlm = Vec::new();
    for c in 0..15 {
        let t = T0 + c * 2 * S;
        ntlm.push(http(7, t, "GET", "/ews/exchange.asmx", 401));
        ntlm.push(http(7, t + 1, "GET", "/ews/exchange.asmx", 401));
        ntlm.push(http(7, t + 2, "GET", "/ews/exchange.asmx", 200));
        ntlm.push(http(7, t + 3, "GET", "/ews/exchange.asmx", 200));
    }
    assert!(run(&mut d, &[], &ntlm).is_empty());
}

#[test]
fn parser_verdicts_count_and_replace_the_session_shape() {
    let mut d = detector();
    let mut txns = Vec::new();
    let mut flows = Vec::new();
    for i in 0..22 {
        // Each FTP session: USER (not a login by itself), PASS (the verdict), QUIT.
        for (k, auth) in [Auth::None, Auth::Failure, Auth::None].into_iter().enumerate() {
            let mut t = http(5, T0 + i * S + k as i64, "", "", 0);
            t.protocol = "ftp";
            t.dport = 21;
            t.detail = Detail::None;
            t.auth = if i == 21 && k == 1 { Auth::Success } else { auth };
            txns.push(t);
        }
        flows.push(session(5, 9, 21, T0 + i * S, 0.5, 900));
    }
    let mut alerts = Vec::new();
    for (t, f) in txns.chunks(3).zip(&flows) {
        for t in t {
            d.transaction(t, &mut alerts);
        }
        d.flow(f, &mut alerts);
    }
    d.tick(T0 + 30 * S, &mut alerts);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule.id, "wirebeat-brute_force-failed-logins");
    assert_eq!(alerts[0].severity, Severity::High);
    assert_eq!(
        alerts[0].message,
        "10.0.0.5 made 21 FTP login attempts to 10.0.0.9:21 in 21 s: 21 refused; 1 succeeded \
         (password guessing)"
    );
}

#[test]
fn few_parser_refusals_keep_the_session_shape_and_successes_replace_it() {
    // Nine refused MySQL logins and one accepted, one short session each: too few refusals
    // for the failed-logins rule, but they do not contradict the shape.
    for (refused, want) in [(9, 1), (0, 0)] {
        let mut d = detector();
        let mut alerts = Vec::new();
        for i in 0..10 {
            let mut t = http(5, T0 + i * S, "", "", 0);
            t.protocol = "mysql";
            t.dport = 3306;
            t.detail = Detail::None;
            t.auth = if i < refused { Auth::Failure } else { Auth::Success };
            d.transaction(&t, &mut alerts);
            d.flow(&session(5, 9, 3306, T0 + i * S, 0.5, 900), &mut alerts);
        }
        d.tick(T0 + 30 * S, &mut alerts);
        assert_eq!(alerts.len(), want, "{refused} refused: {alerts:?}");
        if want == 1 {
            assert_eq!(alerts[0].rule.id, "wirebeat-brute_force-sessions");
        }
    }
}

#[test]
fn login_paths_match_whole_segments() {
    for p in ["/wp-login.php", "/user/login", "/signin", "/api/auth", "/oauth/token", "/xmlrpc.php"]
    {
        assert!(is_login_path(p), "{p}");
    }
    for p in ["/author/jane", "/tokens/list", "/", "", "/blog/sessionsx"] {
        assert!(!is_login_path(p), "{p}");
    }
}

#[test]
fn state_is_bounded_and_expires() {
    let cfg = Config { max_tracked: 2, ..Config::default() };
    let mut d = BruteForce::new(&cfg);
    let flows: Vec<FlowObs> = (0..4).map(|i| session(10 + i, 9, 22, T0, 1.0, 3000)).collect();
    run(&mut d, &flows, &[]);
    assert_eq!(d.state(), (2, 2));
    let mut alerts = Vec::new();
    d.tick(T0 + 3600 * S, &mut alerts);
    assert_eq!(d.state().0, 0);
}

#[test]
fn thresholds_are_validated() {
    let mut c = Config::default();
    assert!(c.validate().is_ok());
    c.thresholds.min_failure_share = 1.5;
    assert!(c.validate().unwrap_err().key.contains("min_failure_share"));
    c.thresholds.min_failure_share = 0.5;
    c.thresholds.ports = vec![22, 0];
    assert_eq!(c.validate().unwrap_err().key, "thresholds.ports[1]");
}
