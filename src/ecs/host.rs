//! The sensor's own host on every event (`host.*`), as Packetbeat's default
//! `add_host_metadata` processor writes it, and the sensor's own addresses for the
//! observer-relative `network.direction` (`wirebeat.network_direction: observer`).
//!
//! Gathered once at start, without `unsafe` and without running a program: names from `/proc`
//! and `/etc/hostname`, `host.id` from `/etc/machine-id`, the OS from `/etc/os-release` and the
//! kernel's `osrelease`/`arch`, IPv4 addresses from the local routing table
//! (`/proc/net/fib_trie`, the `/32 host LOCAL` entries: every address assigned to an interface
//! of this network namespace), IPv6 addresses from `/proc/net/if_inet6`, MAC addresses from
//! `/sys/class/net/<if>/address`. Like Beats, `host.ip` and `host.mac` leave out loopback
//! addresses and all-zero MACs; the set of own addresses used for the direction keeps loopback.
//!
//! [`HostInfo::fragment`] serializes `host` once per run; the envelope writes those bytes as
//! they are (no address list is formatted per event).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most addresses (and MACs) kept for `host.ip` / `host.mac`: a router with thousands of
/// VLAN interfaces would otherwise put them all on every event. The rest are left out (logged).
pub const MAX_HOST_ADDRESSES: usize = 64;

/// `wirebeat.host_metadata`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HostMetadata {
    /// Write `host.*` on every event.
    pub enabled: bool,
    /// Also `host.ip` and `host.mac` (Packetbeat's `netinfo.enabled`).
    pub netinfo: bool,
    /// `host.name` (default: the host name, as `host.hostname`).
    pub name: Option<String>,
}

impl Default for HostMetadata {
    fn default() -> Self {
        HostMetadata { enabled: true, netinfo: true, name: None }
    }
}

impl HostMetadata {
    /// The first problem as `(key, message)`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(("name", "must not be empty (leave it out for the host name)"));
        }
        Ok(())
    }
}

/// `wirebeat.network_direction`: whose point of view `network.direction` takes.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DirectionMode {
    /// The network perimeter's (`wirebeat.internal_networks`): `inbound`, `outbound`,
    /// `internal`, `external` (Packetbeat's and the ECS network-monitoring convention).
    #[default]
    Perimeter,
    /// The sensor host's: `ingress` when the destination is one of its own addresses, `egress`
    /// when the source is (traffic between two own addresses, e.g. on loopback, is `ingress`:
    /// the host receives it); traffic of other hosts keeps its perimeter value.
    Observer,
}

/// `host.os`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Os {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
}

/// `host.*`, in Packetbeat's layout.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HostInfo {
    pub name: String,
    pub hostname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub architecture: String,
    pub os: Os,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mac: Vec<String>,
}

impl HostInfo {
    /// This machine as `cfg` asks (`own` are its addresses, from [`own_addresses`]).
    pub fn gather(cfg: &HostMetadata, own: &[IpAddr]) -> HostInfo {
        let hostname = super::hostname();
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let os_release = read("/etc/os-release").or_else(|| read("/usr/lib/os-release"));
        let mut os = os_release.as_deref().map(parse_os_release).unwrap_or_default();
        os.kind = "linux";
        os.kernel = read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned());
        let id = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
            .iter()
            .filter_map(|p| read(p))
            .map(|s| s.trim().to_owned())
            .find(|s| !s.is_empty());
        let architecture = read("/proc/sys/kernel/arch")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let (ip, mac) = if cfg.netinfo {
            let ip: Vec<IpAddr> = own.iter().copied().filter(|a| !a.is_loopback()).collect();
            (cap(ip, "host.ip"), cap(macs(), "host.mac"))
        } else {
            (Vec::new(), Vec::new())
        };
        HostInfo {
            name: cfg.name.clone().unwrap_or_else(|| hostname.clone()),
            hostname,
            id,
            architecture,
            os,
            ip,
            mac,
        }
    }

    /// `host` serialized once, for the envelope to copy into every event.
    pub fn fragment(&self) -> Option<Box<serde_json::value::RawValue>> {
        serde_json::value::to_raw_value(self).ok()
    }
}

fn cap<T>(mut v: Vec<T>, what: &str) -> Vec<T> {
    if v.len() > MAX_HOST_ADDRESSES {
        tracing::warn!(
            found = v.len(),
            kept = MAX_HOST_ADDRESSES,
            "{what}: more than MAX_HOST_ADDRESSES values; the rest are left out"
        );
        v.truncate(MAX_HOST_ADDRESSES);
    }
    v
}

/// Every address of this machine's interfaces (this network namespace), loopback included,
/// IPv4 first, in the kernel's order, without repeats.
pub fn own_addresses() -> Vec<IpAddr> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mut out: Vec<IpAddr> = Vec::new();
    let v4 = parse_fib_trie(&read("/proc/net/fib_trie")).into_iter().map(IpAddr::V4);
    let v6 = parse_if_inet6(&read("/proc/net/if_inet6")).into_iter().map(IpAddr::V6);
    for a in v4.chain(v6) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// The MAC addresses of the interfaces (ECS form), all-zero ones (loopback) left out, sorted.
fn macs() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else { return Vec::new() };
    let mut out: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("address")).ok())
        .filter_map(|s| parse_mac(s.trim()))
        .filter(|m| m.iter().any(|b| *b != 0))
        .map(|m| super::mac(&m))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `aa:bb:cc:dd:ee:ff` → bytes; other lengths (InfiniBand, tunnels) → `None`.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The local IPv4 addresses in `/proc/net/fib_trie`: a `|-- A.B.C.D` leaf followed by a
/// `/32 host LOCAL` route (the address ranges of `/8 host LOCAL` and broadcasts are not).
pub fn parse_fib_trie(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if t.starts_with("/32 ") && t.ends_with(" host LOCAL") {
            if let Some(a) = last {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        } else if t.starts_with("+-- ") {
            last = None;
        }
    }
    out
}

/// The addresses of `/proc/net/if_inet6` (32 hex digits, then index, prefix, scope, flags,
/// name).
pub fn parse_if_inet6(text: &str) -> Vec<Ipv6Addr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(hex) = line.split_whitespace().next() else { continue };
        if hex.len() != 32 || !hex.is_ascii() {
            continue;
        }
        let Ok(n) = u128::from_str_radix(hex, 16) else { continue };
        let a = Ipv6Addr::from(n);
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// `host.os` from `/etc/os-release`: `name` = `NAME`, `version` = `VERSION` (else
/// `VERSION_ID`), `platform` = `ID`, `family` from `ID` and `ID_LIKE` (as Beats:
/// `debian`, `redhat`, `suse`, `arch`, else the `ID`).
pub fn parse_os_release(text: &str) -> Os {
    let mut get = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once('=') else { continue };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v);
        get.insert(k.trim().to_owned(), v.to_owned());
    }
    let field = |k: &str| get.get(k).filter(|v| !v.is_empty()).cloned();
    let platform = field("ID");
    let like = field("ID_LIKE").unwrap_or_default();
    let ids: Vec<&str> =
        platform.iter().map(String::as_str).chain(like.split_whitespace()).collect();
    let family = ids
        .iter()
        .find_map(|id| match *id {
            "debian" | "ubuntu" | "raspbian" => Some("debian"),
            "rhel" | "fedora" | "centos" | "redhat" | "amzn" | "rocky" | "almalinux" => {
                Some("redhat")
            }
            "suse" | "sles" | "opensuse" => Some("suse"),
            "arch" | "archarm" | "manjaro" => Some("arch"),
            "alpine" => Some("alpine"),
            _ => None,
        })
        .map(str::to_owned)
        .or_else(|| platform.clone());
    Os {
        kind: "linux",
        family,
        name: field("NAME"),
        version: field("VERSION").or_else(|| field("VERSION_ID")),
        platform,
        kernel: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 127.0.0.1
              /32 host LOCAL
           |-- 192.0.2.2
              /32 host LOCAL
           |-- 10.9.8.7
              /32 host LOCAL
";

    #[test]
    fn ipv4_addresses_are_the_local_host_routes() {
        let want: Vec<Ipv4Addr> =
            ["127.0.0.1", "192.0.2.2", "10.9.8.7"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(parse_fib_trie(FIB_TRIE), want);
        assert!(parse_fib_trie("").is_empty());
        assert!(parse_fib_trie("|-- not-an-address\n /32 host LOCAL\n").is_empty());
    }

    #[test]
    fn ipv6_addresses_from_if_inet6() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fd000000000000000000000000000002 04 40 00 82     eth0\n\
                    fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
                    zz 01 02\n\n";
        let got = parse_if_inet6(text);
        let want: Vec<Ipv6Addr> =
            ["::1", "fd00::2", "fe80::fc:ff:fe00:1"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn os_release_fields_and_family() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                      VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";
        let os = parse_os_release(debian);
        assert_eq!(os.name.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(os.version.as_deref(), Some("12 (bookworm)"));
        assert_eq!(os.platform.as_deref(), Some("debian"));
        assert_eq!(os.family.as_deref(), Some("debian"));
        let rocky =
            "NAME='Rocky Linux'\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=9.3\n";
        let os = parse_os_release(rocky);
        assert_eq!(os.family.as_deref(), Some("redhat"));
        assert_eq!(os.version.as_deref(), Some("9.3"));
        assert_eq!(os.name.as_deref(), Some("Rocky Linux"));
        let other = parse_os_release("ID=nixos\n");
        assert_eq!(other.family.as_deref(), Some("nixos"));
        assert_eq!(parse_os_release("garbage\n=\n"), Os { kind: "linux", ..Os::default() });
    }

    #[test]
    fn macs_in_ecs_form() {
        assert_eq!(parse_mac("02:42:ac:11:00:02"), Some([2, 0x42, 0xac, 0x11, 0, 2]));
        assert_eq!(parse_mac("02:42:ac:11:00"), None);
        assert_eq!(parse_mac("02:42:ac:11:00:02:01"), None);
        assert_eq!(parse_mac("zz:42:ac:11:00:02"), None);
        for m in macs() {
            assert_eq!(m.len(), 17, "{m}");
            assert!(m.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_lowercase()));
        }
    }

    #[test]
    fn gathered_once_into_a_fragment() {
        let own: Vec<IpAddr> = ["127.0.0.1", "192.0.2.2", "::1", "fd00::2"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let cfg = HostMetadata { name: Some("sensor-1".into()), ..HostMetadata::default() };
        let h = HostInfo::gather(&cfg, &own);
        assert_eq!(h.name, "sensor-1");
        assert_eq!(h.hostname, crate::ecs::hostname());
        assert_eq!(h.os.kind, "linux");
        // Loopback is not a host address for `host.ip` (as in Beats).
        let want: Vec<IpAddr> = vec!["192.0.2.2".parse().unwrap(), "fd00::2".parse().unwrap()];
        assert_eq!(h.ip, want);
        let v: serde_json::Value = serde_json::from_str(h.fragment().unwrap().get()).unwrap();
        assert_eq!(v["ip"], serde_json::json!(["192.0.2.2", "fd00::2"]));
        assert_eq!(v["os"]["type"], "linux");
        assert_eq!(v["name"], "sensor-1");
        let bare = HostInfo::gather(&HostMetadata { netinfo: false, ..cfg }, &own);
        assert!(bare.ip.is_empty() && bare.mac.is_empty());
        let v: serde_json::Value = serde_json::from_str(bare.fragment().unwrap().get()).unwrap();
        assert!(v.get("ip").is_none() && v.get("mac").is_none());
        assert!(HostMetadata { name: Some(" ".into()), ..HostMetadata::default() }
            .validate()
            .is_err());
    }

    #[test]
    fn observer_direction_is_relative_to_own_addresses() {
        use crate::ecs::EventContext;
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let nets = vec!["10.0.0.0/8".parse().unwrap()];
        let mut ctx =
            EventContext::plain(None, Some("a"), "default", nets, vec![], Default::default());
        let (me, peer, other) = (ip("10.0.0.5"), ip("8.8.8.8"), ip("10.0.0.9"));
        // Perimeter: the default, own addresses do not matter.
        assert_eq!(ctx.direction(&me, &peer), "outbound");
        ctx.own_addresses = [me, ip("127.0.0.1")].into_iter().collect();
        assert_eq!(ctx.direction(&me, &peer), "outbound");
        ctx.direction_mode = DirectionMode::Observer;
        assert_eq!(ctx.direction(&me, &peer), "egress");
        assert_eq!(ctx.direction(&peer, &me), "ingress");
        // Between two own addresses the host receives it.
        assert_eq!(ctx.direction(&ip("127.0.0.1"), &me), "ingress");
        // Traffic of other hosts keeps the perimeter's value.
        assert_eq!(ctx.direction(&other, &peer), "outbound");
        assert_eq!(ctx.direction(&peer, &other), "inbound");
        assert_eq!(ctx.direction(&peer, &ip("1.1.1.1")), "external");
        // `with_host` reads the machine's addresses only when something needs them.
        let off = HostMetadata { enabled: false, ..HostMetadata::default() };
        let ctx = EventContext::plain(None, None, "default", vec![], vec![], Default::default());
        let ctx = ctx.with_host(&off, DirectionMode::Perimeter);
        assert!(ctx.host.is_none() && ctx.own_addresses.is_empty());
        let ctx = EventContext::plain(None, None, "default", vec![], vec![], Default::default())
            .with_host(&off, DirectionMode::Observer);
        assert!(ctx.host.is_none());
        assert_eq!(ctx.own_addresses.len(), own_addresses().len());
    }

    #[test]
    fn this_machine_has_addresses() {
        // Every Linux network namespace has at least loopback.
        let own = own_addresses();
        if std::path::Path::new("/proc/net/fib_trie").exists() {
            assert!(own.iter().any(|a| a.is_loopback()), "{own:?}");
        }
    }
}
