//! Helpers shared by the integration tests: paths to the shared corpus, running the binary, and
//! comparing wirebeat with tshark's truth under a list of known differences.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

pub mod kafka;
pub mod traffic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared data beside the repository (`WIREBEAT_SHARED`, default `../shared`): ECS
/// definitions, schemas, the Community ID data and, unless `WIREBEAT_CORPUS` says otherwise,
/// the corpus.
pub fn shared() -> PathBuf {
    match std::env::var_os("WIREBEAT_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}

/// The capture corpus (`pcaps/`, `truth/`): `WIREBEAT_CORPUS`, default `<shared>/corpus`.
pub fn corpus() -> PathBuf {
    match std::env::var_os("WIREBEAT_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => shared().join("corpus"),
    }
}

/// Whether the shared data and the corpus are there. When they are not (a fresh clone of the
/// repository), prints one `SKIPPED` line naming the test and what is missing, and the test
/// returns: see [`require_shared!`].
pub fn shared_present() -> bool {
    let missing: Vec<String> = [shared().join("ecs"), corpus().join("pcaps")]
        .into_iter()
        .filter(|p| !p.is_dir())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    skipped(&format!(
        "{} not found (no shared data beside this clone; set WIREBEAT_SHARED or WIREBEAT_CORPUS)",
        missing.join(" and ")
    ));
    false
}

/// Says, on one line of the real stderr (libtest's capture only takes `print!`/`eprint!`, so
/// the line shows even for a passing test), that the calling test did not run and why.
pub fn skipped(reason: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// First line of a test that reads the shared data: returns (skipping, with one printed line)
/// when it is absent.
#[macro_export]
macro_rules! require_shared {
    () => {
        if !$crate::common::shared_present() {
            return;
        }
    };
}

pub fn corpus_pcaps() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus().join("pcaps"))
        .expect("shared corpus")
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

pub fn wirebeat() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wirebeat"));
    c.env("WIREBEAT_AGENT_ID", "00000000-0000-5000-8000-000000000000");
    c.env_remove("WIREBEAT_LOG");
    // Every counter in the summary, zeros too, so a test can read any `name=N`.
    c.env("WIREBEAT_ALL_COUNTERS", "1");
    // No default config file (/etc/wirebeat/wirebeat.yml of an installed package): the tests'
    // runs take built-in defaults unless they pass -c.
    c.env("WIREBEAT_DEFAULT_CONFIG", "");
    c
}

/// The end-of-run summary's lines (`wirebeat summary <group>: …`), joined by newlines.
pub fn summary_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("wirebeat summary ")).collect();
    assert!(!lines.is_empty(), "no summary: {stderr}");
    lines.join("\n")
}

/// The number after ` name=` in the summary (names are unique across its lines).
pub fn summary_number(stderr: &str, name: &str) -> u64 {
    let text = summary_lines(stderr);
    let key = format!(" {name}=");
    let at = text.find(&key).unwrap_or_else(|| panic!("no {name} in {text}")) + key.len();
    text[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// `wirebeat read` of the given files with extra -E overrides; returns (output, events).
pub fn read(files: &[&Path], overrides: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let mut c = wirebeat();
    c.arg("read").arg("--no-progress");
    for o in overrides {
        c.arg("-E").arg(o);
    }
    c.args(files);
    let out = c.output().expect("run wirebeat");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    (out, events)
}

/// The console output of a successful `wirebeat read`: one JSON document per line.
pub fn console_lines(pcap: &Path) -> Vec<String> {
    let (out, _) = read(&[pcap], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

pub fn get<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// A capture's file name.
pub fn capture_name(pcap: &Path) -> String {
    pcap.file_name().unwrap().to_str().unwrap().to_owned()
}

/// `wirebeat read` of one corpus capture; fails the test if wirebeat panicked.
pub fn read_capture(name: &str, overrides: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let (out, events) = read(&[&corpus().join("pcaps").join(name)], overrides);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
    (out, events)
}

/// [`read_capture`], and the exit code must be 0.
pub fn read_capture_ok(name: &str, overrides: &[&str]) -> Vec<serde_json::Value> {
    let (out, events) = read_capture(name, overrides);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name}: exit code\n{stderr}");
    events
}

/// The events of one `event.dataset`.
pub fn of_dataset<'a>(
    events: &'a [serde_json::Value],
    dataset: &str,
) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| is_dataset(e, dataset)).collect()
}

pub fn is_dataset(e: &serde_json::Value, dataset: &str) -> bool {
    get(e, "event.dataset").and_then(serde_json::Value::as_str) == Some(dataset)
}

/// tshark's per-packet truth of a corpus capture, one value a frame.
pub fn truth_lines(capture: &str) -> Vec<serde_json::Value> {
    let path = corpus().join("truth").join(format!("{capture}.jsonl"));
    let text = std::fs::read_to_string(path).expect("truth file");
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Names of the corpus captures whose truth summary satisfies `keep` (captures without a
/// summary are left out).
pub fn captures_where(keep: impl Fn(&serde_json::Value) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for pcap in corpus_pcaps() {
        let name = capture_name(&pcap);
        let path = corpus().join("truth").join(format!("{name}.summary.json"));
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
        if keep(&summary) {
            out.push(name);
        }
    }
    out
}

/// Names of the corpus captures in which tshark dissected `app` (summary `app_counts.<app>`).
pub fn captures_with_app(app: &str) -> Vec<String> {
    captures_where(|s| {
        s.get("app_counts")
            .and_then(|c| c.get(app))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
            > 0
    })
}

/// A `tests/<x>-differences.txt` file: `<capture>\t<reason>` lines, `#` comments.
pub fn known_differences(file: &str) -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect(file);
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (f, why) = l.split_once('\t').unwrap_or((l, ""));
            (f.trim().to_owned(), why.trim().to_owned())
        })
        .collect()
}

/// A comparison against the truth with a list of known differences that may only shrink.
pub struct Differences {
    pub file: &'static str,
    pub known: BTreeMap<String, String>,
    /// Captures that differ but are not listed (or differ in another way than listed).
    pub unexpected: Vec<String>,
    /// Listed captures that now agree.
    pub fixed: Vec<String>,
}

impl Differences {
    pub fn load(file: &'static str) -> Self {
        Differences {
            file,
            known: known_differences(file),
            unexpected: Vec::new(),
            fixed: Vec::new(),
        }
    }

    pub fn is_listed(&self, name: &str) -> bool {
        self.known.contains_key(name)
    }

    /// One capture's outcome: differences on an unlisted capture are unexpected (described by
    /// `describe`); a listed capture without differences is fixed.
    pub fn record(&mut self, name: &str, differs: bool, describe: impl FnOnce() -> String) {
        match (differs, self.is_listed(name)) {
            (true, false) => self.unexpected.push(describe()),
            (false, true) => self.fixed.push(name.to_owned()),
            _ => {}
        }
    }

    /// [`Self::record`] with the differences as lines; the first `shown` describe the capture,
    /// and are printed for a listed capture.
    pub fn record_lines(&mut self, name: &str, lines: &[String], shown: usize) {
        let text = lines.iter().take(shown).cloned().collect::<Vec<_>>().join("; ");
        if !lines.is_empty() && self.is_listed(name) {
            eprintln!("{name} (listed): {text}");
        }
        self.record(name, !lines.is_empty(), || format!("{name}: {text}"));
    }

    /// Fails on unexpected differences (`what`, e.g. "DNS differs", leads the message) and on
    /// listed captures that now agree.
    pub fn check(&self, what: &str) {
        assert!(
            self.unexpected.is_empty(),
            "{what} from tshark (fix, or list in {} with the reason):\n{}",
            self.file,
            self.unexpected.join("\n")
        );
        assert!(
            self.fixed.is_empty(),
            "these captures now agree: remove them from {}:\n{}",
            self.file,
            self.fixed.join("\n")
        );
    }

    /// The file names only captures of `captures`, each with a reason; `what` completes
    /// "<capture> is not ...".
    pub fn check_well_formed(&self, captures: &[String], what: &str) {
        for (f, why) in &self.known {
            assert!(captures.contains(f), "{f} is not {what}");
            assert!(why.len() > 10, "{f}: give a reason");
        }
    }
}

/// Counts of equal items.
pub fn multiset<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeMap<T, u64> {
    let mut m = BTreeMap::new();
    for x in items {
        *m.entry(x).or_default() += 1;
    }
    m
}

/// Items, each with how many of it.
pub type Counted<T> = Vec<(u64, T)>;

/// (missing from `got`, extra in `got`), each item with how many more one side has, in order.
pub fn multiset_diff<T: Ord + Clone>(
    want: &BTreeMap<T, u64>,
    got: &BTreeMap<T, u64>,
) -> (Counted<T>, Counted<T>) {
    let count = |m: &BTreeMap<T, u64>, k: &T| m.get(k).copied().unwrap_or(0);
    let missing = want
        .iter()
        .filter(|(k, n)| count(got, k) < **n)
        .map(|(k, n)| (n - count(got, k), k.clone()))
        .collect();
    let extra = got
        .iter()
        .filter(|(k, n)| count(want, k) < **n)
        .map(|(k, n)| (n - count(want, k), k.clone()))
        .collect();
    (missing, extra)
}

/// Greedy matching: each item of `want`, in order, takes the first unused item of `got` it
/// `fits`. Returns the items of `want` that found none and the items of `got` left unused.
pub fn match_up<'a, T, U>(
    want: &'a [T],
    got: &'a [U],
    fits: impl Fn(&T, &U) -> bool,
) -> (Vec<&'a T>, Vec<&'a U>) {
    let mut used = vec![false; got.len()];
    let mut missing = Vec::new();
    for t in want {
        match (0..got.len()).find(|&i| !used[i] && fits(t, &got[i])) {
            Some(i) => used[i] = true,
            None => missing.push(t),
        }
    }
    let unused = got.iter().zip(&used).filter(|(_, u)| !**u).map(|(g, _)| g).collect();
    (missing, unused)
}

/// Every record of the spool in `dir`, split at the acknowledged offset: (acknowledged, not yet),
/// as JSON documents. Read with the format documented in `src/queue/spool.rs`, independently of
/// wirebeat's own reader; every record's checksum is checked, a torn tail is left out.
pub fn spool_records(dir: &Path) -> (Vec<String>, Vec<String>) {
    let ack = std::fs::read_to_string(dir.join("ack")).unwrap_or_default();
    let parts: Vec<u64> = ack.split_whitespace().skip(2).map(|x| x.parse().unwrap()).collect();
    let (a_seg, a_off) = if parts.len() == 2 { (parts[0], parts[1] as usize) } else { (0, 8) };
    let mut segs: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let n = p.file_name()?.to_str()?.strip_prefix("segment-")?.strip_suffix(".wbq")?;
            Some((n.parse().ok()?, p.clone()))
        })
        .collect();
    segs.sort();
    let (mut acked, mut open) = (Vec::new(), Vec::new());
    for (id, path) in segs {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..8], b"WBSPOOL1");
        let mut off = 8;
        while off + 8 <= b.len() {
            let len = u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap());
            let Some(p) = b.get(off + 8..off + 8 + len) else { break }; // torn tail
            assert_eq!(crc32(p), crc, "record checksum");
            let d = p[0] as usize;
            let kl = u16::from_le_bytes([p[1 + d], p[2 + d]]);
            let json_at = 3 + d + if kl == 0xFFFF { 0 } else { kl as usize };
            let doc = String::from_utf8(p[json_at..].to_vec()).unwrap();
            if id < a_seg || (id == a_seg && off < a_off) {
                acked.push(doc);
            } else {
                open.push(doc);
            }
            off += 8 + len;
        }
    }
    (acked, open)
}

/// CRC-32 (IEEE), bitwise: the spool's checksum, computed here without wirebeat's code.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

/// The alerts among `alerts` whose `rule.id` starts with `prefix` (e.g. `wirebeat-scan-`).
pub fn alerts_with_prefix<'a>(
    alerts: &'a [serde_json::Value],
    prefix: &str,
) -> Vec<&'a serde_json::Value> {
    alerts
        .iter()
        .filter(|a| a["rule"]["id"].as_str().is_some_and(|r| r.starts_with(prefix)))
        .collect()
}

/// The one alert of `rule` (fails unless there is exactly one).
pub fn one_alert<'a>(alerts: &'a [serde_json::Value], rule: &str) -> &'a serde_json::Value {
    let of: Vec<&serde_json::Value> = alerts.iter().filter(|a| a["rule"]["id"] == rule).collect();
    assert_eq!(of.len(), 1, "one {rule} alert expected: {alerts:#?}");
    of[0]
}

/// A number the detector measured (`wirebeat.alert.facts.<k>`).
pub fn alert_fact(a: &serde_json::Value, k: &str) -> u64 {
    a["wirebeat"]["alert"]["facts"][k].as_u64().unwrap_or_else(|| panic!("fact {k}: {a:#?}"))
}
