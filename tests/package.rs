//! The Debian package and the service: the .deb's files, conffiles, maintainer scripts and
//! dependencies (`dpkg-deb -c`/`-I`), lintian without errors, the unit accepted by
//! `systemd-analyze verify` and scored ≤ 2.0 by `systemd-analyze security --offline=true`, and
//! the binary's side of `Type=notify` (READY=1, SIGHUP reload, STOPPING=1) and of the default
//! config file.
//!
//! The package is `target/debian/wirebeat_<version>-1_<arch>.deb` (CI builds it first with
//! `scripts/build-deb`); when it is missing, or older than the packaging files, the first test
//! that needs it builds it (a release build: minutes). A missing tool (dpkg-deb, cargo-deb,
//! lintian, systemd-analyze) or no capture permission prints SKIPPED and the test returns.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The newest package in the target dir, if it was built from the packaging files as they are
/// (scripts/build-deb keeps their digest beside it; mtimes would not do: a clone is all new).
fn existing_deb() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(repo().join("target"), PathBuf::from);
    let target = if target.is_absolute() { target } else { repo().join(target) };
    let prefix = format!("wirebeat_{}-1_", env!("CARGO_PKG_VERSION"));
    let deb = std::fs::read_dir(target.join("debian"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&prefix) && n.ends_with(".deb")
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())?;
    let kept = std::fs::read_to_string(deb.with_extension("deb.inputs")).ok()?;
    let (ok, now, _) =
        run(Command::new("bash").arg(repo().join("scripts/build-deb")).arg("--digest"));
    if ok && kept.trim() == now.trim() {
        Some(deb)
    } else {
        eprintln!("{} was built from other packaging files: rebuilding", deb.display());
        None
    }
}

/// The package, built once per test run when needed; `None` (SKIPPED printed) without the tools.
fn deb() -> Option<PathBuf> {
    static DEB: OnceLock<Mutex<Option<Option<PathBuf>>>> = OnceLock::new();
    let mut slot = DEB.get_or_init(|| Mutex::new(None)).lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(if !have("dpkg-deb") {
            None
        } else if let Some(d) = existing_deb() {
            Some(d)
        } else if !have("cargo-deb") {
            None
        } else {
            eprintln!("building the .deb with scripts/build-deb (a release build)");
            let (ok, stdout, stderr) =
                run(Command::new("bash").arg(repo().join("scripts/build-deb")));
            assert!(ok, "scripts/build-deb failed:\n{stderr}");
            Some(PathBuf::from(stdout.lines().last().expect("the script prints the path").trim()))
                .map(|p| if p.is_absolute() { p } else { repo().join(p) })
        });
    }
    let d = slot.clone().flatten();
    if d.is_none() {
        let missing = if have("dpkg-deb") { "cargo-deb" } else { "dpkg-deb" };
        skipped(&format!("{missing} not installed (cargo install --locked cargo-deb; dpkg)"));
    }
    d
}

/// The package unpacked (data and control) into a temporary directory.
fn unpacked(deb: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(Command::new("dpkg-deb").arg("-R").arg(deb).arg(dir.path()));
    assert!(ok, "dpkg-deb -R: {err}");
    dir
}

/// The `[Service]`/`[Unit]` lines of the unit as `(key, value)`, comments dropped.
fn directives(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn unit_text() -> String {
    std::fs::read_to_string(repo().join("packaging/deb/wirebeat.service")).unwrap()
}

#[test]
fn deb_holds_the_files_conffile_scripts_and_dependencies() {
    let Some(deb) = deb() else { return };
    let (ok, list, err) = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    assert!(ok, "dpkg-deb -c: {err}");
    let entry = |path: &str| list.lines().find(|l| l.ends_with(&format!(" .{path}")));
    let bin = entry("/usr/bin/wirebeat").unwrap_or_else(|| panic!("no /usr/bin/wirebeat:\n{list}"));
    assert!(bin.starts_with("-rwxr-xr-x root/root") || bin.starts_with("-rwxr-xr-x 0/0"), "{bin}");
    assert!(entry("/etc/wirebeat/wirebeat.yml").is_some(), "no config:\n{list}");
    assert!(
        entry("/usr/lib/systemd/system/wirebeat.service")
            .or_else(|| entry("/lib/systemd/system/wirebeat.service"))
            .is_some(),
        "no unit:\n{list}"
    );
    assert!(entry("/usr/share/doc/wirebeat/copyright").is_some(), "no copyright:\n{list}");
    // Every file of the Elastic content directories, at the same relative path.
    for dir in ["elasticsearch", "kibana", "logstash"] {
        let mut stack = vec![repo().join(dir)];
        let mut n = 0;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p.strip_prefix(repo()).unwrap().display().to_string();
                assert!(entry(&format!("/usr/share/wirebeat/{rel}")).is_some(), "{rel} missing");
                n += 1;
            }
        }
        assert!(n > 0, "{dir} is empty");
    }

    let (ok, info, err) = run(Command::new("dpkg-deb").arg("-I").arg(&deb));
    assert!(ok, "dpkg-deb -I: {err}");
    for script in ["postinst", "postrm", "prerm", "conffiles"] {
        assert!(info.contains(&format!(" {script} ")), "no {script} in:\n{info}");
    }
    let depends = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Depends: "))
        .unwrap_or_else(|| panic!("no Depends:\n{info}"));
    for dep in ["libpcap0.8", "adduser", "libc6"] {
        assert!(depends.contains(dep), "Depends lacks {dep}: {depends}");
    }

    let x = unpacked(&deb);
    let ctl = |name: &str| std::fs::read_to_string(x.path().join("DEBIAN").join(name)).unwrap();
    assert_eq!(ctl("conffiles").trim(), "/etc/wirebeat/wirebeat.yml");
    let postinst = ctl("postinst");
    assert!(postinst.contains("adduser --system --group"), "{postinst}");
    assert!(postinst.contains("/var/lib/wirebeat"), "{postinst}");
    assert!(postinst.contains("dpkg-statoverride --update --add root wirebeat 0640"), "{postinst}");
    // purge removes the data and the user; remove keeps both: every removal is inside the
    // purge branch, which the script runs as sh for both arguments with the commands stubbed.
    let postrm = ctl("postrm");
    for (arg, removes) in [("remove", false), ("purge", true)] {
        let trace = stubbed_sh(&postrm, arg);
        assert_eq!(trace.contains("rm -rf /var/lib/wirebeat"), removes, "{arg}: {trace}");
        assert_eq!(trace.contains("deluser --system --quiet wirebeat"), removes, "{arg}: {trace}");
    }

    // The packaged binary runs and says what it is; the packaged config is valid and spools
    // under /var/lib/wirebeat.
    let bin = x.path().join("usr/bin/wirebeat");
    let (ok, version, err) = run(Command::new(&bin).arg("version"));
    assert!(ok, "{err}");
    for field in ["commit: ", "built: ", "target: ", "libpcap: ", "librdkafka: "] {
        assert!(version.contains(field), "{field} missing in:\n{version}");
    }
    let conf = x.path().join("etc/wirebeat/wirebeat.yml");
    let (ok, shown, err) = run(Command::new(&bin).args(["test", "config", "-v", "-c"]).arg(&conf));
    assert!(ok, "packaged config rejected: {err}");
    assert!(shown.contains("path: /var/lib/wirebeat/spool"), "{shown}");
    assert!(shown.contains("format: ecs"), "{shown}");
}

/// Runs a maintainer script with `$PATH` holding only stubs that print their name and
/// arguments (so nothing real is removed); `getent` and `dpkg-statoverride` succeed, so the user
/// and the override "exist". Returns what the stubs printed.
fn stubbed_sh(script: &str, arg: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let stubs = tempfile::tempdir().unwrap();
    for name in [
        "getent",
        "dpkg-statoverride",
        "rm",
        "deluser",
        "userdel",
        "groupdel",
        "systemctl",
        "deb-systemd-helper",
        "deb-systemd-invoke",
    ] {
        let p = stubs.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho \"{name} $*\"\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let file = stubs.path().join("script");
    std::fs::write(&file, script).unwrap();
    let (ok, out, err) =
        run(Command::new("/bin/sh").arg(&file).arg(arg).env_clear().env("PATH", stubs.path()));
    assert!(ok, "maintainer script {arg} failed: {out}{err}");
    out
}

#[test]
fn lintian_reports_no_errors() {
    let Some(deb) = deb() else { return };
    if !have("lintian") {
        return skipped("lintian not installed (apt-get install lintian)");
    }
    let (_, out, err) = run(Command::new("lintian").arg(&deb));
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{out}{err}");
    eprintln!("lintian: {} warnings", out.lines().filter(|l| l.starts_with("W:")).count());
}

/// `systemd-analyze verify` of the unit as installed. The unit names /usr/bin/wirebeat, which
/// verify requires to be an executable; when the package is not installed here the unit is
/// checked with that path pointing at the package's own binary.
#[test]
fn systemd_accepts_the_unit() {
    let Some(deb) = deb() else { return };
    if !have("systemd-analyze") {
        return skipped("systemd-analyze not installed (systemd)");
    }
    let x = unpacked(&deb);
    let unit = ["usr/lib/systemd/system", "lib/systemd/system"]
        .iter()
        .map(|d| x.path().join(d).join("wirebeat.service"))
        .find(|p| p.is_file())
        .expect("unit in the package");
    let mut text = std::fs::read_to_string(&unit).unwrap();
    if !Path::new("/usr/bin/wirebeat").is_file() {
        let bin = x.path().join("usr/bin/wirebeat");
        text = text.replace("/usr/bin/wirebeat", bin.to_str().unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let checked = dir.path().join("wirebeat.service");
    std::fs::write(&checked, text).unwrap();
    let (ok, out, err) = run(Command::new("systemd-analyze").arg("verify").arg(&checked));
    let about_us: Vec<&str> =
        out.lines().chain(err.lines()).filter(|l| l.contains("wirebeat")).collect();
    assert!(ok && about_us.is_empty(), "systemd-analyze verify:\n{out}{err}");
}

#[test]
fn unit_security_exposure_is_at_most_2() {
    if !have("systemd-analyze") {
        return skipped("systemd-analyze not installed (systemd)");
    }
    let unit = repo().join("packaging/deb/wirebeat.service");
    let (_, out, err) =
        run(Command::new("systemd-analyze").args(["security", "--offline=true"]).arg(&unit));
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level for wirebeat.service:"))
        .unwrap_or_else(|| panic!("no score in:\n{out}{err}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unparsable: {line}"));
    eprintln!("systemd-analyze security --offline=true: {score}");
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{out}");
}

/// The directives the issue lists, with their values; and TimeoutStopSec above the default
/// drain limit, so systemd does not kill a drain that wirebeat would end itself.
#[test]
fn unit_has_the_required_hardening() {
    let d = directives(&unit_text());
    let value = |k: &str| -> Vec<&str> {
        d.iter().filter(|(key, _)| key == k).map(|(_, v)| v.as_str()).collect()
    };
    for (k, v) in [
        ("Type", "notify"),
        ("ExecStartPre", "/usr/bin/wirebeat test config"),
        ("ExecStart", "/usr/bin/wirebeat run"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("User", "wirebeat"),
        ("AmbientCapabilities", "CAP_NET_RAW CAP_NET_ADMIN"),
        ("CapabilityBoundingSet", "CAP_NET_RAW CAP_NET_ADMIN"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ReadWritePaths", "/var/lib/wirebeat"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK"),
        ("SystemCallFilter", "@system-service"),
        ("SystemCallArchitectures", "native"),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("Restart", "on-failure"),
    ] {
        assert!(value(k).contains(&v), "{k}={v} missing (have {:?})", value(k));
    }
    let secs = |s: &str| -> u64 { s.trim_end_matches('s').parse().unwrap() };
    let stop = secs(value("TimeoutStopSec")[0]);
    let (ok, shown, err) = run(wirebeat().args(["test", "config", "-v"]));
    assert!(ok, "{err}");
    let drain = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("shutdown_timeout: "))
        .map(secs)
        .expect("shutdown_timeout in test config -v");
    assert!(stop > drain, "TimeoutStopSec={stop}s must exceed shutdown_timeout {drain}s");
}

/// No -c: the default file is read when it exists ($WIREBEAT_DEFAULT_CONFIG here, as
/// /etc/wirebeat/wirebeat.yml is for the service), built-in defaults otherwise.
#[test]
fn default_config_file_is_read_without_c() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wirebeat.yml");
    std::fs::write(&file, "wirebeat:\n  workers: 3\n").unwrap();
    let (ok, shown, err) =
        run(wirebeat().args(["test", "config", "-v"]).env("WIREBEAT_DEFAULT_CONFIG", &file));
    assert!(ok, "{err}");
    assert!(shown.contains("workers: 3"), "{shown}");
    std::fs::write(&file, "wirebeat:\n  workers: many\n").unwrap();
    let (ok, _, err) =
        run(wirebeat().args(["test", "config"]).env("WIREBEAT_DEFAULT_CONFIG", &file));
    assert!(!ok && err.contains("workers"), "a bad default file must fail: {err}");
    // -c wins over the default file; a missing default file means built-in defaults.
    let other = dir.path().join("other.yml");
    std::fs::write(&other, "wirebeat:\n  workers: 2\n").unwrap();
    let (ok, shown, err) = run(wirebeat()
        .args(["test", "config", "-v", "-c"])
        .arg(&other)
        .env("WIREBEAT_DEFAULT_CONFIG", &file));
    assert!(ok && shown.contains("workers: 2"), "{err}");
    let (ok, shown, err) = run(wirebeat()
        .args(["test", "config", "-v"])
        .env("WIREBEAT_DEFAULT_CONFIG", dir.path().join("absent.yml")));
    assert!(ok && shown.contains("workers: 0"), "{err}");
}

/// `Type=notify` as systemd runs it: READY=1 on the notify socket once `run` captures on lo,
/// SIGHUP answered by the reload handlers (the configuration one names a changed setting that
/// needs a restart), watchdog pings with $WATCHDOG_USEC, STOPPING=1 on SIGTERM, then exit 0.
#[test]
fn run_speaks_the_systemd_notify_protocol() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let name = format!("wirebeat-test-notify-{}", std::process::id());
    let sock = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("wirebeat.yml");
    std::fs::write(&conf, "output.console.enabled: true\n").unwrap();
    let mut child = wirebeat()
        .args(["run", "-i", "lo", "-c"])
        .arg(&conf)
        .env("NOTIFY_SOCKET", format!("@{name}"))
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut buf = [0u8; 256];
    let first = match sock.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(_) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("ermission") || err.contains("Operation not permitted") {
                return skipped(&format!("cannot capture on lo: {}", err.trim()));
            }
            panic!("no READY=1 within 20 s:\n{err}");
        }
    };
    assert!(first.lines().any(|l| l == "READY=1"), "{first:?}");
    std::fs::write(&conf, "output.console.enabled: true\nwirebeat.workers: 3\n").unwrap();
    let (ok, _, err) = run(Command::new("kill").args(["-HUP", &pid]));
    assert!(ok, "{err}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pings = 0;
    std::thread::sleep(Duration::from_millis(600));
    let (ok, _, err) = run(Command::new("kill").args(["-TERM", &pid]));
    assert!(ok, "{err}");
    let mut stopping = false;
    while Instant::now() < deadline && !stopping {
        let n = sock.recv(&mut buf).expect("STOPPING=1 within 20 s");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        pings += usize::from(msg == "WATCHDOG=1");
        stopping = msg.lines().any(|l| l == "STOPPING=1");
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(stopping, "no STOPPING=1:\n{err}");
    assert!(pings >= 1, "no watchdog ping:\n{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("restart to apply): wirebeat.workers"),
        "SIGHUP should name wirebeat.workers:\n{err}"
    );
}
