//! The shard hash: which worker a frame goes to, decided before it is decoded.
//!
//! Both directions of an IP conversation, and every fragment of a datagram, must reach the same
//! worker (its flow table and defragmentation cache), so the key is the unordered pair of the
//! addresses behind the link layers, without ports, without following tunnels, and without any
//! state. FNV-1a over the lower address then the higher one.

use super::link::{link_layer, to_ip, Step};
use super::LinkInfo;
use crate::bytes::View;

/// A symmetric shard key for a frame: both directions of an IP conversation get the same value,
/// and so do all fragments of a datagram (ports are not used). Non-IP frames get 0.
pub fn shard_hash(linktype: u32, data: &[u8]) -> u64 {
    let mut link = LinkInfo::default();
    match link_layer(linktype, data, &mut link).map(|s| to_ip(s, &mut link)) {
        Some(Step::Ip(ip)) => ip_pair_hash(ip),
        _ => 0,
    }
}

fn ip_pair_hash(ip: &[u8]) -> u64 {
    let b = View(ip);
    let (a, c): (&[u8], &[u8]) = match b.u8(0).map(|v| v >> 4) {
        Some(4) => match (b.slice(12, 4), b.slice(16, 4)) {
            (Some(s), Some(d)) => (s, d),
            _ => return 0,
        },
        Some(6) => match (b.slice(8, 16), b.slice(24, 16)) {
            (Some(s), Some(d)) => (s, d),
            _ => return 0,
        },
        _ => return 0,
    };
    let (lo, hi) = if a <= c { (a, c) } else { (c, a) };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in lo.iter().chain(hi.iter()) {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 29)
}
