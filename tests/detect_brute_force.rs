//! `wirebeat.detect.brute_force` end to end: captures from the traffic generator (SSH and RDP
//! password guessing by session shape, HTTP login guessing with 401s and with POSTs to a login
//! form; and benign traffic: a busy web server with some 401s, users reconnecting, a
//! monitoring probe, a long SSH session), and the corpus captures of repeated logins.

mod common;
use common::traffic::*;
use serde_json::Value;
use std::net::IpAddr;
use std::path::Path;

/// The alerts of this detector (other detectors may see other things in the same traffic).
fn alerts(pcap: &Path) -> Vec<Value> {
    let (out, events) = common::read(&[pcap], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    brute_force_alerts(&events)
}

fn brute_force_alerts(events: &[Value]) -> Vec<Value> {
    common::of_dataset(events, "wirebeat.alert")
        .into_iter()
        .filter(|a| a["event"]["action"] == "brute_force")
        .cloned()
        .collect()
}

fn assert_mitre(a: &Value) {
    assert_eq!(a["event"]["kind"], "alert");
    assert_eq!(a["threat"]["framework"], "MITRE ATT&CK");
    assert_eq!(a["threat"]["tactic"]["id"], serde_json::json!(["TA0006"]));
    assert_eq!(a["threat"]["technique"]["id"], serde_json::json!(["T1110"]));
    assert_eq!(a["threat"]["technique"]["subtechnique"]["id"], serde_json::json!(["T1110.001"]));
}

/// An SSH-like login that fails: banners, key exchange, a few password tries, close.
fn ssh_attempt(g: &mut Gen, client: IpAddr, cport: u16, server: IpAddr) {
    let kex_c = vec![0x14u8; 1400];
    let kex_s = vec![0x1fu8; 1800];
    let tries = [0x32u8; 120];
    let fail = [0x33u8; 60];
    g.session(
        client,
        cport,
        server,
        22,
        &[
            (false, b"SSH-2.0-OpenSSH_9.6\r\n"),
            (true, b"SSH-2.0-libssh2_1.11\r\n"),
            (true, &kex_c),
            (false, &kex_s),
            (true, &tries),
            (false, &fail),
            (true, &tries),
            (false, &fail),
        ],
        100 * MS,
    );
}

#[test]
fn ssh_password_guessing_by_session_shape() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ssh.pcap");
    let (attacker, server) = (ip("10.0.0.5"), ip("10.0.0.9"));
    let mut g = Gen::new(1_700_000_000);
    let t0 = g.now_ns;
    // Two sessions that stayed up 40 s (logged in), then 46 refused logins 2.4 s apart.
    for i in 0..2u16 {
        g.at(t0 + i64::from(i) * S);
        let big = vec![0u8; 1200];
        let ex: Vec<(bool, &[u8])> = (0..40).map(|k| (k % 2 == 0, big.as_slice())).collect();
        g.session(attacker, 50000 + i, server, 22, &ex, 500 * MS);
    }
    for i in 0..46u16 {
        g.at(t0 + 3 * S + i64::from(i) * 2400 * MS);
        ssh_attempt(&mut g, attacker, 51000 + i, server);
    }
    g.write(&pcap);
    let a = alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    let a = &a[0];
    assert_eq!(a["rule"]["id"], "wirebeat-brute_force-sessions");
    assert_mitre(a);
    assert_eq!(a["source"]["ip"], "10.0.0.5");
    assert_eq!(a["destination"]["ip"], "10.0.0.9");
    assert_eq!(a["destination"]["port"], 22);
    assert_eq!(a["network"]["transport"], "tcp");
    let f = &a["wirebeat"]["alert"]["facts"];
    assert_eq!(f["sessions"], 48, "{}", a["message"]);
    assert_eq!(f["short_sessions"], 46);
    assert_eq!(f["service"], "SSH");
    let m = a["message"].as_str().unwrap();
    assert!(
        m.starts_with(
            "10.0.0.5 made 48 SSH sessions to 10.0.0.9:22 in 113 s, 46 shorter than 30 s"
        ),
        "{m}"
    );
    assert!(m.ends_with("(password guessing by session shape)"), "{m}");
}

#[test]
fn rdp_password_guessing_over_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("rdp.pcap");
    let (attacker, server) = (ip("2001:db8::5"), ip("2001:db8::9"));
    let mut g = Gen::new(1_700_000_000);
    let t0 = g.now_ns;
    let (x224, tls_c, tls_s, cred, nack) =
        (vec![3u8; 43], vec![0x16u8; 900], vec![0x16u8; 3200], vec![0x30u8; 700], vec![0x30u8; 90]);
    for i in 0..15u16 {
        g.at(t0 + i64::from(i) * 3 * S);
        g.session(
            attacker,
            40000 + i,
            server,
            3389,
            &[
                (true, &x224),
                (false, &x224),
                (true, &tls_c),
                (false, &tls_s),
                (true, &cred),
                (false, &nack),
            ],
            50 * MS,
        );
    }
    g.write(&pcap);
    let a = alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["rule"]["id"], "wirebeat-brute_force-sessions");
    assert_mitre(&a[0]);
    assert_eq!(a[0]["source"]["ip"], "2001:db8::5");
    assert_eq!(a[0]["destination"]["port"], 3389);
    assert_eq!(a[0]["wirebeat"]["alert"]["facts"]["short_sessions"], 15);
    assert!(a[0]["message"].as_str().unwrap().contains("made 15 RDP sessions to 2001:db8::9:3389"));
}

fn http_exchange(g: &mut Gen, client: IpAddr, cport: u16, server: IpAddr, req: &str, resp: &str) {
    g.session(client, cport, server, 80, &[(true, req.as_bytes()), (false, resp.as_bytes())], MS);
}

const R401: &str = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\
                    Content-Length: 0\r\n\r\n";
const R200: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

#[test]
fn http_login_guessing_answered_401() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("http401.pcap");
    let (attacker, server) = (ip("10.0.0.5"), ip("10.0.0.9"));
    let mut g = Gen::new(1_700_000_000);
    let t0 = g.now_ns;
    for i in 0..37u16 {
        g.at(t0 + i64::from(i) * S);
        let req = format!(
            "POST /wp-login.php HTTP/1.1\r\nHost: blog\r\nContent-Length: 0\r\n\
             Authorization: Basic YWRtaW46{i:04}\r\n\r\n"
        );
        http_exchange(&mut g, attacker, 40000 + i, server, &req, R401);
    }
    g.write(&pcap);
    let a = alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    let a = &a[0];
    assert_eq!(a["rule"]["id"], "wirebeat-brute_force-failed-logins");
    assert_mitre(a);
    assert_eq!(a["source"]["ip"], "10.0.0.5");
    assert_eq!(a["destination"]["ip"], "10.0.0.9");
    assert_eq!(a["destination"]["port"], 80);
    assert_eq!(a["url"]["path"], "/wp-login.php");
    let f = &a["wirebeat"]["alert"]["facts"];
    assert_eq!(f["logins"], 37);
    assert_eq!(f["failed"], 37);
    assert_eq!(
        a["message"],
        "10.0.0.5 made 37 HTTP logins to 10.0.0.9:80 /wp-login.php in 36 s: 37 answered 401 \
         (password guessing)"
    );
}

#[test]
fn http_login_guessing_by_posts_to_the_login_form() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("httppost.pcap");
    let (attacker, server) = (ip("10.0.0.6"), ip("10.0.0.9"));
    let mut g = Gen::new(1_700_000_000);
    let t0 = g.now_ns;
    // One keep-alive connection: the form is fetched once, then 30 POSTs answered 200 (the
    // form again, "wrong password"), the last one 302 (logged in).
    let mut ex: Vec<(bool, Vec<u8>)> = vec![
        (true, b"GET /login HTTP/1.1\r\nHost: app\r\n\r\n".to_vec()),
        (false, R200.as_bytes().to_vec()),
    ];
    for i in 0..30 {
        let body = format!("user=admin&pass=guess{i:03}");
        ex.push((
            true,
            format!(
                "POST /login HTTP/1.1\r\nHost: app\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        ));
        let resp = if i == 29 {
            "HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n"
        } else {
            R200
        };
        ex.push((false, resp.as_bytes().to_vec()));
    }
    let ex: Vec<(bool, &[u8])> = ex.iter().map(|(c, b)| (*c, b.as_slice())).collect();
    g.at(t0).session(attacker, 40000, server, 80, &ex, 200 * MS);
    g.write(&pcap);
    let a = alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["rule"]["id"], "wirebeat-brute_force-failed-logins");
    assert_mitre(&a[0]);
    assert_eq!(a[0]["source"]["ip"], "10.0.0.6");
    assert_eq!(a[0]["wirebeat"]["alert"]["facts"]["unresolved"], 30);
    let m = a[0]["message"].as_str().unwrap();
    assert!(m.starts_with("10.0.0.6 made 30 HTTP logins to 10.0.0.9:80 /login in "), "{m}");
    assert!(
        m.ends_with(": 30 POSTs to the login form answered otherwise (password guessing)"),
        "{m}"
    );
}

#[test]
fn busy_servers_and_reconnecting_users_raise_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("benign.pcap");
    let (web, sshd) = (ip("10.0.1.80"), ip("10.0.1.22"));
    let mut g = Gen::new(1_700_000_000);
    let t0 = g.now_ns;
    // A web server with 60 clients: basic auth the browser way (401, then 200 with the
    // credentials, then more pages), some mistyped passwords (3 at most per client).
    for c in 0..60u16 {
        let client: IpAddr = format!("10.0.2.{}", c + 1).parse().unwrap();
        g.at(t0 + i64::from(c) * 700 * MS);
        let mut ex: Vec<(bool, &[u8])> = Vec::new();
        let get = b"GET /private/ HTTP/1.1\r\nHost: w\r\n\r\n".as_slice();
        for _ in 0..(c % 4) {
            ex.push((true, get));
            ex.push((false, R401.as_bytes()));
        }
        for _ in 0..5 {
            ex.push((true, get));
            ex.push((false, R200.as_bytes()));
        }
        g.session(client, 40000 + c, web, 80, &ex, 5 * MS);
    }
    // Users reconnecting over SSH a few times, a monitoring probe every 30 s for 10 min, an
    // interactive session that stays up.
    let user = ip("10.0.3.1");
    for i in 0..4u16 {
        g.at(t0 + i64::from(i) * 15 * S);
        ssh_attempt(&mut g, user, 41000 + i, sshd);
    }
    let probe = ip("10.0.3.2");
    for i in 0..20u16 {
        g.at(t0 + i64::from(i) * 30 * S);
        g.session(
            probe,
            42000 + i,
            sshd,
            22,
            &[(false, b"SSH-2.0-OpenSSH_9.6\r\n"), (true, b"SSH-2.0-Check\r\n")],
            MS,
        );
    }
    let admin = ip("10.0.3.3");
    let keys = vec![0u8; 300];
    let ex: Vec<(bool, &[u8])> = (0..200).map(|k| (k % 3 != 0, keys.as_slice())).collect();
    g.at(t0).session(admin, 43000, sshd, 22, &ex, 2 * S);
    g.write(&pcap);
    let a = alerts(&pcap);
    assert!(a.is_empty(), "{a:#?}");
}

#[test]
fn corpus_ssh_password_guessing_fires() {
    require_shared!();
    // 11 connections in 70 s, each 3.5-10 s long with about 4 KB each way: two or three
    // password tries per connection, so some 30 guesses; 10 such sessions in 2 min is far more
    // than a person reconnecting or a 30 s monitoring probe makes.
    let events = common::read_capture_ok("zeek-ssh-sshguess.pcap", &[]);
    let a = brute_force_alerts(&events);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["rule"]["id"], "wirebeat-brute_force-sessions");
    assert_mitre(&a[0]);
    assert_eq!(a[0]["source"]["ip"], "192.168.56.1");
    assert_eq!(a[0]["destination"]["ip"], "192.168.56.103");
    assert_eq!(a[0]["destination"]["port"], 22);
    assert_eq!(a[0]["wirebeat"]["alert"]["facts"]["sessions"], 11);
    assert_eq!(a[0]["wirebeat"]["alert"]["facts"]["short_sessions"], 11);
    assert_eq!(
        a[0]["message"],
        "192.168.56.1 made 11 SSH sessions to 192.168.56.103:22 in 70 s, 11 shorter than 30 s \
         with at most 4.6 KB sent either way (password guessing by session shape)"
    );
}

#[test]
fn corpus_repeated_mysql_logins_fire() {
    require_shared!();
    // 13 connections: 3 refused by host (error 1130 in the greeting: the client sends
    // nothing, so they are not login-shaped), then 9 logins refused (error 1045) and one
    // accepted within 45 s — login-shaped, from one client to one server port.
    let events = common::read_capture_ok("zeek-mysql-auth.pcap", &[]);
    let a = brute_force_alerts(&events);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["rule"]["id"], "wirebeat-brute_force-sessions");
    assert_eq!(a[0]["source"]["ip"], "192.168.1.3");
    assert_eq!(a[0]["destination"]["port"], 3306);
    assert_eq!(a[0]["wirebeat"]["alert"]["facts"]["short_sessions"], 10);
    assert_eq!(a[0]["wirebeat"]["alert"]["facts"]["service"], "MySQL");
}

#[test]
fn corpus_single_logins_and_many_ftp_pairs_stay_quiet() {
    require_shared!();
    // One HTTP Basic login; ten FTP sessions, each its own client and server (tcpreplay
    // --unique-ip), each one successful anonymous login.
    for name in ["zeek-http-basic-auth-with-colon.pcap", "sv-ftp-ftp-ippair-leak-5204.pcap"] {
        let events = common::read_capture_ok(name, &[]);
        let a = brute_force_alerts(&events);
        assert!(a.is_empty(), "{name}: {a:#?}");
    }
}

#[test]
fn allow_sources_silence_a_known_scanner() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("allowed.pcap");
    let (scanner, server) = (ip("10.0.0.5"), ip("10.0.0.9"));
    let mut g = Gen::new(1_700_000_000);
    for i in 0..12u16 {
        ssh_attempt(&mut g, scanner, 51000 + i, server);
        g.advance(S);
    }
    g.write(&pcap);
    assert_eq!(alerts(&pcap).len(), 1);
    let (out, events) =
        common::read(&[&pcap], &["wirebeat.detect.brute_force.allow_sources=[10.0.0.0/24]"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(brute_force_alerts(&events).is_empty());
}
