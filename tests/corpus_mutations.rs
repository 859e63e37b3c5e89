//! Every capture of the shared corpus, and thousands of byte-mutated and truncated variants of
//! them, through the whole in-process data path (capture reader → decode → flows → application
//! layer → ECS encoding, `wirebeat::fuzzing::capture_file`): no panic, no hang, bounded memory.
//!
//! Deterministic: the variants come from a fixed seed, so a failure replays. A panic names the
//! capture and variant and saves the input under `target/corpus-mutations/`; a watchdog thread
//! ends the test process naming the input when one takes longer than [`TIME_LIMIT`]; the peak
//! resident set (`VmHWM`) must stay below [`MEMORY_LIMIT_MB`].
//!
//! The corpus is `$WIREBEAT_CORPUS` or `../shared/corpus/pcaps`; without it the test passes
//! with one line `SKIPPED: … not found`.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Variants made of each capture.
const VARIANTS_PER_FILE: usize = 24;
/// Variants are made from at most this many leading bytes of a capture, so a large capture
/// costs what a small one does (the original is still read whole).
const MAX_VARIANT_BYTES: usize = 48 * 1024;
/// Longest one input may take in a debug build (the largest corpus capture takes about a
/// second).
const TIME_LIMIT: Duration = Duration::from_secs(30);
/// Peak resident set of the whole test process.
const MEMORY_LIMIT_MB: u64 = 1024;

/// xorshift64*: a fixed, dependency-free pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One variant of `data`: kind `k` (cycled) decides how it is damaged.
fn mutate(data: &[u8], k: usize, rng: &mut Rng) -> (&'static str, Vec<u8>) {
    let mut v = data[..data.len().min(MAX_VARIANT_BYTES)].to_vec();
    if v.is_empty() {
        return ("empty", v);
    }
    let kind = match k % 5 {
        0 => {
            v.truncate(rng.below(v.len()));
            "truncated"
        }
        1 => {
            for _ in 0..1 + rng.below(16) {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            "bit flips"
        }
        2 => {
            // Headers: the file header and the first records' lengths and link types.
            const SPECIAL: [u8; 6] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];
            let head = v.len().min(256);
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(head);
                v[i] = SPECIAL[rng.below(SPECIAL.len())];
            }
            "header bytes"
        }
        3 => {
            for _ in 0..1 + rng.below(64) {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            "random bytes"
        }
        _ => {
            // A slice of the file repeated elsewhere, then cut: records that lie about their
            // lengths and timestamps.
            let a = rng.below(v.len());
            let len = rng.below((v.len() - a).min(4096)) + 1;
            let chunk = v[a..a + len].to_vec();
            let at = rng.below(v.len());
            v.splice(at..at, chunk);
            v.truncate(v.len() - rng.below(v.len() / 4 + 1));
            "spliced"
        }
    };
    (kind, v)
}

fn vm_hwm_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

#[test]
fn corpus_and_mutations_do_not_panic_hang_or_grow() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var("WIREBEAT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/corpus/pcaps"));
    let Ok(rd) = std::fs::read_dir(&dir) else {
        println!("SKIPPED: corpus {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap"))
        .collect();
    files.sort();

    // The watchdog: the input being run and since when.
    let current: Arc<Mutex<Option<(String, Instant)>>> = Arc::new(Mutex::new(None));
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (current, finished) = (current.clone(), finished.clone());
        std::thread::spawn(move || {
            while !finished.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let guard = current.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((name, since)) = guard.as_ref() {
                    if since.elapsed() > TIME_LIMIT {
                        eprintln!("HANG: {name} still running after {TIME_LIMIT:?}");
                        std::process::exit(101);
                    }
                }
            }
        })
    };

    let failures_dir = root.join("target/corpus-mutations");
    let mut rng = Rng(0x5eed_f00d_cafe_d00d);
    let started = Instant::now();
    let (mut inputs, mut bytes, mut frames, mut events, mut damaged) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut failures: Vec<String> = Vec::new();
    let mut over_memory: Option<String> = None;
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let base = file.file_name().unwrap().to_string_lossy().to_string();
        let mut run = |label: String, input: &[u8]| {
            *current.lock().unwrap() = Some((label.clone(), Instant::now()));
            match catch_unwind(AssertUnwindSafe(|| wirebeat::fuzzing::capture_file(input))) {
                Ok(s) => {
                    frames += s.frames;
                    events += s.events;
                    damaged += u64::from(s.capture_error);
                }
                Err(_) => {
                    let _ = std::fs::create_dir_all(&failures_dir);
                    let saved = failures_dir.join(label.replace([' ', '/', '#'], "_"));
                    let _ = std::fs::write(&saved, input);
                    failures.push(format!("{label} (input saved as {})", saved.display()));
                }
            }
            *current.lock().unwrap() = None;
            inputs += 1;
            bytes += input.len() as u64;
        };
        run(base.clone(), &data);
        for k in 0..VARIANTS_PER_FILE {
            let (kind, variant) = mutate(&data, k, &mut rng);
            run(format!("{base} variant #{k} ({kind})"), &variant);
        }
        if over_memory.is_none() && vm_hwm_mb().is_some_and(|m| m > MEMORY_LIMIT_MB) {
            over_memory = Some(base);
        }
    }
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    watchdog.join().unwrap();

    let hwm = vm_hwm_mb();
    println!(
        "corpus mutations: {} captures, {inputs} inputs ({} variants), {:.1} MB, {frames} frames, \
         {events} events, {damaged} stopped at damage, {:.1} s, peak RSS {} MB (limit {MEMORY_LIMIT_MB})",
        files.len(),
        inputs - files.len() as u64,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        hwm.map_or("?".into(), |m| m.to_string()),
    );
    assert!(failures.is_empty(), "{} inputs panicked:\n{}", failures.len(), failures.join("\n"));
    assert!(
        over_memory.is_none(),
        "peak RSS above {MEMORY_LIMIT_MB} MB, first after {}",
        over_memory.unwrap_or_default()
    );
}
