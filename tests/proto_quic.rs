//! QUIC ClientHellos against tshark: for every corpus capture named for QUIC, tshark 4.0
//! decrypts the Initial packets and decodes each ClientHello (`-Y 'quic &&
//! tls.handshake.type==1'`); its SNI, ALPN list, JA3 (`tls.handshake.ja3`) and JA4 are compared
//! with wirebeat's `network_traffic.quic` events (`tls.client.server_name`,
//! `tls.detailed.client_hello.extensions.application_layer_protocol_negotiation`,
//! `tls.client.ja3`, `tls.client.ja4`) as multisets per capture. The server's negotiated cipher
//! (ServerHello in the server's Initial) is compared the same way.
//!
//! tshark 4.0 has no JA4 field (`tshark -G fields` lists none; JA4 came in Wireshark 4.2), so
//! the test computes JA4 from tshark's own fields of the hello (cipher suites, extension types,
//! signature algorithms, supported versions, ALPN) by the public FoxIO spec (JA4.md), with the
//! "q" transport. Known differences per capture, with the reason, are in
//! `tests/quic-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Hello {
    sni: String,
    alpn: Vec<String>,
    ja3: String,
    ja4: String,
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn num(s: &str) -> Option<u16> {
    match s.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn nums(s: &str) -> Vec<u16> {
    s.split(',').filter(|x| !x.is_empty()).filter_map(num).collect()
}

fn sha12(s: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect::<String>()[..12].to_owned()
}

/// JA4 by FoxIO's JA4.md from tshark's decoded fields ("q": QUIC).
fn ja4(
    hello_version: &str,
    supported: &str,
    ciphers: &str,
    exts: &str,
    sigs: &str,
    alpn: &[String],
) -> String {
    let version = nums(supported)
        .into_iter()
        .filter(|v| !is_grease(*v))
        .max()
        .or_else(|| num(hello_version))
        .unwrap_or(0);
    let version = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        _ => "00",
    };
    let mut ciphers: Vec<u16> = nums(ciphers).into_iter().filter(|c| !is_grease(*c)).collect();
    let mut exts: Vec<u16> = nums(exts).into_iter().filter(|e| !is_grease(*e)).collect();
    let sni = if exts.contains(&0) { 'd' } else { 'i' };
    let first = alpn.first().map(String::as_bytes).unwrap_or_default();
    let a = match (first.first(), first.last()) {
        (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() => {
            format!("{}{}", char::from(*f), char::from(*l))
        }
        (Some(_), Some(_)) => {
            let h: String = first.iter().map(|b| format!("{b:02x}")).collect();
            format!("{}{}", &h[..1], &h[h.len() - 1..])
        }
        _ => "00".into(),
    };
    let head = format!("q{version}{sni}{:02}{:02}{a}", ciphers.len().min(99), exts.len().min(99));
    ciphers.sort_unstable();
    exts.retain(|e| *e != 0 && *e != 16);
    exts.sort_unstable();
    let hex4 = |v: &[u16]| v.iter().map(|x| format!("{x:04x}")).collect::<Vec<_>>().join(",");
    let sigs: Vec<u16> = nums(sigs).into_iter().filter(|s| !is_grease(*s)).collect();
    let mut c = hex4(&exts);
    if !sigs.is_empty() {
        c = format!("{c}_{}", hex4(&sigs));
    }
    let b = if ciphers.is_empty() { "0".repeat(12) } else { sha12(&hex4(&ciphers)) };
    let c = if exts.is_empty() { "0".repeat(12) } else { sha12(&c) };
    format!("{head}_{b}_{c}")
}

const FIELDS: &[&str] = &[
    "tls.handshake.extensions_server_name",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.ja3",
    "tls.handshake.version",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.ciphersuite",
    "tls.handshake.extension.type",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.sig_hash_alg_len",
];

/// The signature_algorithms extension's list: tshark's `sig_hash_alg` also holds the lists of
/// delegated_credentials (34) and signature_algorithms_cert (50), in extension order, each
/// preceded by its byte length (`sig_hash_alg_len`).
fn signature_algorithms(exts: &str, algs: &str, lens: &str) -> String {
    let lists: Vec<u16> = nums(exts).into_iter().filter(|e| [13, 34, 50].contains(e)).collect();
    let (algs, lens) = (nums(algs), nums(lens));
    let mut at = 0;
    for (ext, len) in lists.iter().zip(&lens) {
        let n = usize::from(*len / 2);
        if *ext == 13 {
            let chunk = algs.get(at..at + n).unwrap_or_default();
            return chunk.iter().map(|a| format!("0x{a:04x}")).collect::<Vec<_>>().join(",");
        }
        at += n;
    }
    String::new()
}

/// tshark's ClientHellos of a capture and the ciphers its ServerHellos chose; `None` when
/// tshark is not usable.
fn truth(pcap: &Path) -> Option<(Vec<Hello>, Vec<String>)> {
    let run = |filter: &str, fields: &[&str]| -> Option<String> {
        let mut c = Command::new("tshark");
        c.args(["-n", "-d", "udp.port==4433,quic", "-r"]).arg(pcap);
        c.args(["-Y", filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
        for f in fields {
            c.args(["-e", f]);
        }
        let out = c.output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let text = run("quic && tls.handshake.type==1", FIELDS)?;
    let mut hellos = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let g = |i: usize| f.get(i).copied().unwrap_or_default();
        let alpn: Vec<String> =
            g(1).split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let sigs = signature_algorithms(g(6), g(7), g(8));
        let ja4 = ja4(g(3), g(4), g(5), g(6), &sigs, &alpn);
        hellos.push(Hello { sni: g(0).to_owned(), alpn, ja3: g(2).to_owned(), ja4 });
    }
    let text = run("quic && tls.handshake.type==2", &["tls.handshake.ciphersuite"])?;
    let ciphers = text.lines().map(|l| l.trim().to_owned()).collect();
    Some((hellos, ciphers))
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn s(e: &Value, path: &str) -> String {
    get(e, path).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// wirebeat's ClientHellos and negotiated ciphers (as tshark's hex ids).
fn wirebeat_side(events: &[Value]) -> (Vec<Hello>, Vec<String>) {
    let (mut hellos, mut ciphers) = (Vec::new(), Vec::new());
    for e in of_dataset(events, "network_traffic.quic") {
        if get(e, "tls.detailed.client_hello").is_some() {
            hellos.push(Hello {
                sni: s(e, "tls.client.server_name"),
                alpn: strs(get(
                    e,
                    "tls.detailed.client_hello.extensions.application_layer_protocol_negotiation",
                )),
                ja3: s(e, "tls.client.ja3"),
                ja4: s(e, "tls.client.ja4"),
            });
        }
        let c = s(e, "tls.detailed.ja3s_string");
        if let Some(id) = c.split(',').nth(1).and_then(|x| x.parse::<u16>().ok()) {
            ciphers.push(format!("0x{id:04x}"));
        }
    }
    (hellos, ciphers)
}

fn captures() -> Vec<PathBuf> {
    corpus_pcaps().into_iter().filter(|p| capture_name(p).to_lowercase().contains("quic")).collect()
}

const DIFFERENCES: &str = "tests/quic-differences.txt";

#[test]
fn quic_hellos_match_tshark() {
    require_shared!();
    let caps = captures();
    if caps.is_empty() || truth(&caps[0]).is_none() {
        return skipped("tshark not usable or no QUIC captures");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched) = (0, 0, 0);
    for pcap in &caps {
        let name = capture_name(pcap);
        let (want, want_ciphers) = truth(pcap).unwrap();
        let (out, events) = read(&[pcap], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("panicked"), "{name}:\n{stderr}");
        let (got, got_ciphers) = wirebeat_side(&events);
        compared += 1;
        for h in &got {
            assert!(h.ja4.starts_with('q'), "{name}: JA4 {} not of QUIC", h.ja4);
        }
        let (want, got) = (multiset(want), multiset(got));
        let (missing, extra) = multiset_diff(&want, &got);
        let n: u64 = want.values().sum();
        total += n;
        matched += n - missing.iter().map(|(k, _)| k).sum::<u64>();
        let mut lines = Vec::new();
        for (k, m) in &missing {
            lines.push(format!("{k}x missing {m:?}"));
        }
        for (k, m) in &extra {
            lines.push(format!("{k}x extra {m:?}"));
        }
        let (missing, extra) = multiset_diff(&multiset(want_ciphers), &multiset(got_ciphers));
        for (k, m) in &missing {
            lines.push(format!("{k}x missing ServerHello cipher {m}"));
        }
        for (k, m) in &extra {
            lines.push(format!("{k}x extra ServerHello cipher {m}"));
        }
        differences.record_lines(&name, &lines, 4);
    }
    eprintln!("{compared} QUIC captures: tshark ClientHellos {total}, equal in wirebeat {matched}");
    assert!(compared >= 14, "only {compared} captures compared");
    differences.check("QUIC ClientHellos differ");
}

/// The JA4 the test computes from tshark's fields is FoxIO's: the spec's example hello
/// (JA4.md), with "q" for QUIC.
#[test]
fn test_ja4_follows_the_spec_example() {
    let ciphers = "0x1301,0x1302,0x1303,0xc02b,0xc02f,0xc02c,0xc030,0xcca9,0xcca8,0xc013,0xc014,\
                   0x009c,0x009d,0x002f,0x0035";
    let exts = "27,0,51,16,17513,23,45,13,5,35,18,43,65281,11,10,21";
    let sigs = "0x0403,0x0804,0x0401,0x0503,0x0805,0x0501,0x0806,0x0601";
    let alpn = vec!["h2".to_owned(), "http/1.1".to_owned()];
    assert_eq!(
        ja4("0x0303", "0x0304,0x0303", ciphers, exts, sigs, &alpn),
        "q13d1516h2_8daaf6152771_e5627efa2ab1"
    );
}

/// The differences file names only QUIC captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a QUIC capture");
}
