//! The systemd service protocol (`Type=notify`): readiness, stopping and watchdog messages on
//! the datagram socket systemd names in `$NOTIFY_SOCKET`.
//!
//! A leaf module with no state but the socket address and the watchdog interval, read once from
//! the environment. Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing, so the
//! pipeline calls it unconditionally. A failed send is logged once at debug level and never an
//! error: the service protocol must not stop a capture. An address starting with '@' is a Linux
//! abstract socket (the '@' stands for the leading NUL byte). `$WATCHDOG_PID`, when set, names
//! the process the pings are meant for; another process (a child) stays silent.
//!
//! Also the service's other two faces: SIGHUP (`reload_now` runs the `crate::reload` handlers
//! and logs each outcome; `watch_config` registers the one that re-reads the configuration file
//! and names what only a restart applies) and what `wirebeat version` tells an operator about
//! the installed build.

use crate::config::Config;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Notify {
    addr: SocketAddr,
    /// Half the watchdog interval (systemd's advice), when `$WATCHDOG_USEC` is set for us.
    ping_every: Option<Duration>,
}

static NOTIFY: OnceLock<Option<Notify>> = OnceLock::new();
static WARNED: AtomicBool = AtomicBool::new(false);
/// Milliseconds after `EPOCH` of the last watchdog ping.
static LAST_PING_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn notify() -> Option<&'static Notify> {
    NOTIFY
        .get_or_init(|| {
            let path = std::env::var("NOTIFY_SOCKET").ok()?;
            let addr = parse_addr(&path)?;
            let ping_every = watchdog_interval(
                std::env::var("WATCHDOG_USEC").ok().as_deref(),
                std::env::var("WATCHDOG_PID").ok().as_deref(),
                std::process::id(),
            );
            Some(Notify { addr, ping_every })
        })
        .as_ref()
}

/// The socket address of `$NOTIFY_SOCKET`: a path, or `@name` for an abstract socket.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    if let Some(name) = s.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes()).ok()
    } else if s.starts_with('/') {
        SocketAddr::from_pathname(s).ok()
    } else {
        None
    }
}

/// Half of `$WATCHDOG_USEC` when it is set, positive and meant for this process.
fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

/// Sends one notification message (`READY=1`, `STOPPING=1`, ...). Does nothing outside systemd.
pub fn send(message: &str) {
    let Some(n) = notify() else { return };
    let sent = UnixDatagram::unbound().and_then(|s| s.send_to_addr(message.as_bytes(), &n.addr));
    if let Err(e) = sent {
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::debug!(error = %e, "cannot notify systemd ($NOTIFY_SOCKET)");
        }
    }
}

/// The service is up: captures are open and the pipeline runs.
pub fn ready() {
    send("READY=1\nSTATUS=capturing");
}

/// The service is stopping (draining the pipeline).
pub fn stopping() {
    send("STOPPING=1\nSTATUS=draining");
}

/// A watchdog ping, at most every half interval; call it from a loop that runs while the
/// capture is healthy (the live tick). Does nothing without `$WATCHDOG_USEC`.
pub fn watchdog() {
    let Some(every) = notify().and_then(|n| n.ping_every) else { return };
    let now = EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64;
    let last = LAST_PING_MS.load(Ordering::Relaxed);
    if last == 0 || now.saturating_sub(last) >= every.as_millis() as u64 {
        LAST_PING_MS.store(now.max(1), Ordering::Relaxed);
        send("WATCHDOG=1");
    }
}

// ---- SIGHUP: live reload -------------------------------------------------------------

/// Settings with a live reload handler of their own (see `crate::reload`): the configuration
/// handler below does not ask for a restart when only they changed.
const LIVE_KEYS: &[&str] = &["logging.level"];

/// SIGHUP handler "configuration": re-reads the file (with the same -E overrides) and names
/// the changed settings that only a restart applies. It compares with the configuration the
/// process started with, so a second SIGHUP still names them.
pub fn watch_config(path: Option<PathBuf>, overrides: &[String], running: &Config) {
    let (overrides, running) = (overrides.to_vec(), running.clone());
    crate::reload::register("configuration", move || {
        let file = path.as_ref().map_or("built-in defaults".into(), |p| p.display().to_string());
        Some(match crate::config::load(path.as_deref(), &overrides) {
            Err(e) => Err(format!("{file}: {e}; nothing changed")),
            Ok(new) => {
                let stale: Vec<String> = changed_keys(&running, new.config())
                    .into_iter()
                    .filter(|k| {
                        !LIVE_KEYS.iter().any(|l| k == l || k.starts_with(&format!("{l}.")))
                    })
                    .collect();
                if stale.is_empty() {
                    Ok(format!("{file}: no change that needs a restart"))
                } else {
                    Err(format!(
                        "{file}: changed settings not reloaded live (restart to apply): {}",
                        stale.join(", ")
                    ))
                }
            }
        })
    });
}

/// The dotted keys (two levels: `wirebeat.workers`, `output.kafka`) whose values differ.
fn changed_keys(old: &Config, new: &Config) -> Vec<String> {
    use serde_json::Value;
    let (a, b) = (serde_json::to_value(old), serde_json::to_value(new));
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (a, b) else {
        return vec!["(configuration)".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let mut sub: Vec<&String> = x.keys().chain(y.keys()).collect();
                sub.sort();
                sub.dedup();
                out.extend(
                    sub.into_iter().filter(|s| x.get(*s) != y.get(*s)).map(|s| format!("{k}.{s}")),
                );
            }
            (x, y) if x != y => out.push(k.clone()),
            _ => {}
        }
    }
    out
}

/// SIGHUP: runs every reload handler and logs what each did.
pub fn reload_now() {
    let done = crate::reload::reload_all();
    if done.is_empty() {
        tracing::warn!("SIGHUP: nothing registered to reload");
    }
    for (name, outcome) in done {
        match outcome {
            Ok(line) => tracing::info!(reload = %name, "reloaded {name}: {line}"),
            Err(line) => tracing::warn!(reload = %name, "not reloaded {name}: {line}"),
        }
    }
}

/// `wirebeat version`: the version, the build facts of build.rs and the libraries in use.
pub fn version_text() -> String {
    format!(
        "wirebeat {}\ncommit: {}\nbuilt: {}\ntarget: {}\nlibpcap: {}\nlibrdkafka: {}",
        env!("CARGO_PKG_VERSION"),
        env!("WIREBEAT_COMMIT"),
        env!("WIREBEAT_BUILD_DATE"),
        env!("WIREBEAT_TARGET"),
        libpcap_version(),
        rdkafka::util::get_rdkafka_version().1,
    )
}

/// The libpcap this process runs with: the version in the file name of the shared library
/// mapped into it (`libpcap.so.1.10.3`; the pcap crate does not bind `pcap_lib_version`), else
/// the version the build was made against.
fn libpcap_version() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    running_libpcap(&maps).unwrap_or_else(|| {
        format!(
            "{} (built against; the running library was not found)",
            env!("WIREBEAT_BUILT_LIBPCAP")
        )
    })
}

fn running_libpcap(maps: &str) -> Option<String> {
    maps.lines()
        .filter_map(|l| l.rsplit('/').next())
        .filter_map(|f| f.strip_prefix("libpcap.so."))
        .find(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.') && v.matches('.').count() >= 2)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_keys_name_two_levels() {
        let old = Config::default();
        let mut new = old.clone();
        assert!(changed_keys(&old, &new).is_empty());
        new.wirebeat.workers = 3;
        new.logging.level = "debug".into();
        new.tags = vec!["dmz".into()];
        assert_eq!(changed_keys(&old, &new), ["logging.level", "tags", "wirebeat.workers"]);
    }

    #[test]
    fn libpcap_version_from_the_mapped_file() {
        let maps =
            "7f00-7f01 r--p 00000000 fe:01 123 /usr/lib/x86_64-linux-gnu/libpcap.so.1.10.3\n\
                    7f02-7f03 r--p 00000000 fe:01 124 /usr/lib/x86_64-linux-gnu/libc.so.6";
        assert_eq!(running_libpcap(maps).as_deref(), Some("1.10.3"));
        assert_eq!(running_libpcap("x /usr/lib/libpcap.so.0.8\n"), None);
        // This test binary links libpcap: the running version is found.
        let me = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        assert!(running_libpcap(&me).is_some(), "libpcap not mapped");
    }

    #[test]
    fn abstract_and_path_addresses() {
        let a = parse_addr("@/org/freedesktop/systemd1/notify/123").expect("abstract");
        assert!(a.as_pathname().is_none());
        use std::os::linux::net::SocketAddrExt;
        assert_eq!(a.as_abstract_name(), Some(&b"/org/freedesktop/systemd1/notify/123"[..]));
        let p = parse_addr("/run/systemd/notify").expect("path");
        assert_eq!(p.as_pathname(), Some(std::path::Path::new("/run/systemd/notify")));
        assert!(parse_addr("relative/path").is_none());
        assert!(parse_addr("").is_none());
    }

    #[test]
    fn watchdog_interval_is_half_and_for_this_process_only() {
        assert_eq!(watchdog_interval(Some("60000000"), None, 7), Some(Duration::from_secs(30)));
        assert_eq!(
            watchdog_interval(Some("60000000"), Some("7"), 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(watchdog_interval(Some("60000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval(None, Some("7"), 7), None);
    }

    // The message reaches a datagram socket bound at a path, as systemd's is.
    #[test]
    fn messages_reach_a_bound_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).expect("bind");
        let addr = parse_addr(path.to_str().expect("utf-8")).expect("addr");
        UnixDatagram::unbound().expect("socket").send_to_addr(b"READY=1", &addr).expect("send");
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1");
    }
}
