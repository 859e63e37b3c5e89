//! `host.*` (`wirebeat.host_metadata`) and the observer-relative `network.direction`
//! (`wirebeat.network_direction: observer`) through `wirebeat read`.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// A pcap (Ethernet) of UDP datagrams `(src, dst, sport, dport)`, one second apart.
fn udp_pcap(path: &Path, packets: &[([u8; 4], [u8; 4], u16, u16)]) {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (i, (src, dst, sport, dport)) in packets.iter().enumerate() {
        let payload = b"hello";
        let udp_len = 8 + payload.len() as u16;
        let ip_len = 20 + udp_len;
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0];
        ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
        ip.extend_from_slice(src);
        ip.extend_from_slice(dst);
        let sum = !ip.chunks(2).fold(0u32, |a, c| {
            let s = a + u32::from(u16::from_be_bytes([c[0], c[1]]));
            (s & 0xffff) + (s >> 16)
        }) as u16;
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&sport.to_be_bytes());
        frame.extend_from_slice(&dport.to_be_bytes());
        frame.extend_from_slice(&udp_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(payload);
        f.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&frame);
    }
    std::fs::write(path, f).unwrap();
}

fn flows(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| is_dataset(e, "network_traffic.flow")).collect()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned()
}

#[test]
fn every_event_has_the_host_by_default_and_none_when_off() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("udp.pcap");
    udp_pcap(&pcap, &[([192, 0, 2, 77], [198, 51, 100, 1], 4000, 9999)]);
    let (out, events) = read(&[&pcap], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!events.is_empty());
    for e in &events {
        let h = &e["host"];
        assert_eq!(h["hostname"], hostname().as_str(), "{e}");
        assert_eq!(h["name"], h["hostname"]);
        assert_eq!(h["os"]["type"], "linux");
        assert!(h["architecture"].as_str().is_some_and(|a| !a.is_empty()));
        for ip in h["ip"].as_array().into_iter().flatten() {
            let ip: std::net::IpAddr = ip.as_str().unwrap().parse().unwrap();
            assert!(!ip.is_loopback(), "{ip}");
        }
        for mac in h["mac"].as_array().into_iter().flatten() {
            let m = mac.as_str().unwrap();
            assert!(m.len() == 17 && m.split('-').count() == 6, "{m}");
        }
    }
    let (_, named) = read(
        &[&pcap],
        &["wirebeat.host_metadata.name=sensor-7", "wirebeat.host_metadata.netinfo=false"],
    );
    assert_eq!(named[0]["host"]["name"], "sensor-7");
    assert!(named[0]["host"].get("ip").is_none() && named[0]["host"].get("mac").is_none());
    let (_, off) = read(&[&pcap], &["wirebeat.host_metadata.enabled=false"]);
    assert!(!off.is_empty() && off.iter().all(|e| e.get("host").is_none()));
}

#[test]
fn observer_direction_is_ingress_or_egress_for_own_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("udp.pcap");
    // 127.0.0.1 is an address of every Linux network namespace; 203.0.113.0/24 and
    // 198.51.100.0/24 (documentation nets) are not this machine's.
    udp_pcap(
        &pcap,
        &[
            ([127, 0, 0, 1], [203, 0, 113, 9], 4001, 9001),
            ([203, 0, 113, 9], [127, 0, 0, 1], 4002, 9002),
            ([198, 51, 100, 1], [203, 0, 113, 9], 4003, 9003),
        ],
    );
    let direction_by_port = |events: &[Value]| -> Vec<(u64, String)> {
        let mut v: Vec<(u64, String)> = flows(events)
            .iter()
            .map(|e| {
                let port = e["source"]["port"].as_u64().unwrap();
                (port, e["network"]["direction"].as_str().unwrap().to_owned())
            })
            .collect();
        v.sort();
        v
    };
    let (out, events) = read(&[&pcap], &["wirebeat.network_direction=observer"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want = |a: &str, b: &str, c: &str| {
        vec![(4001, a.to_owned()), (4002, b.to_owned()), (4003, c.to_owned())]
    };
    assert_eq!(direction_by_port(&events), want("egress", "ingress", "external"));
    // The perimeter's point of view (the default) for the same traffic.
    let (_, events) = read(&[&pcap], &["wirebeat.internal_networks=[loopback]"]);
    assert_eq!(direction_by_port(&events), want("outbound", "inbound", "external"));
    let (_, events) = read(&[&pcap], &[]);
    assert_eq!(direction_by_port(&events), want("external", "external", "external"));
}

#[test]
fn bad_settings_name_the_key() {
    let (out, _) = read(&[Path::new("/dev/null")], &["wirebeat.network_direction=inside"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wirebeat.network_direction: unknown value \"inside\" (expected one of: perimeter, observer)"),
        "{err}"
    );
    let (out, _) = read(&[Path::new("/dev/null")], &["wirebeat.host_metadata.netinf=false"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown key \"wirebeat.host_metadata.netinf\""), "{err}");
}
