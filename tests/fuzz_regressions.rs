//! Fuzzing in the cargo test suite: every input a fuzzer ever crashed is replayed through the
//! entry point that crashed (`wirebeat::fuzzing`, shared with the libFuzzer targets of `fuzz/`),
//! one test per crash named after it, plus a replay of everything under `tests/data/fuzz/`.
//!
//! `write_fuzz_seeds` (ignored; run by `scripts/fuzz seeds`) writes the seed corpora of the
//! fuzz targets from `../shared/corpus` and `tests/data`.

use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz")
}

/// Runs `input` through the entry point of fuzz target `target`; false for an unknown target.
fn replay(target: &str, input: &[u8]) -> bool {
    use wirebeat::fuzzing;
    match target {
        "decode" => fuzzing::decode_frames(input),
        "defrag" => fuzzing::defrag(input),
        "reassembly" => fuzzing::reassembly(input),
        "capture_file" => {
            let _ = fuzzing::capture_file(input);
        }
        t => match t.strip_prefix("parser_") {
            Some(p) if fuzzing::protocol_index(p).is_some() => fuzzing::parser(p, input),
            _ => return false,
        },
    }
    true
}

fn replay_file(target: &str, name: &str) {
    let path = data_dir().join(target).join(name);
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(replay(target, &input), "unknown fuzz target {target}");
}

/// Every saved input, target by target (the directory name is the target).
#[test]
fn every_saved_fuzz_input_replays_without_panic() {
    let mut n = 0;
    for dir in std::fs::read_dir(data_dir()).expect("tests/data/fuzz") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        for f in std::fs::read_dir(&dir).expect("target dir") {
            let f = f.expect("entry").path();
            let input = std::fs::read(&f).expect("input");
            assert!(replay(&target, &input), "{}: unknown fuzz target {target}", dir.display());
            n += 1;
        }
    }
    println!("replayed {n} saved fuzz inputs");
}

/// A protocol added to the registry gets its fuzz target (`fuzz/fuzz_targets/parser_<name>.rs`,
/// listed in `fuzz/Cargo.toml`).
#[test]
fn every_protocol_has_a_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for p in wirebeat::proto::PROTOCOLS {
        let target = format!("parser_{}", p.name);
        assert!(
            root.join("fuzz_targets").join(format!("{target}.rs")).is_file()
                && manifest.contains(&format!("name = \"{target}\"")),
            "protocol {} has no fuzz target {target}",
            p.name
        );
    }
}

/// Writes seed corpora to `$WIREBEAT_FUZZ_SEEDS/<target>/<hash>` (for `scripts/fuzz seeds`).
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let out = PathBuf::from(std::env::var("WIREBEAT_FUZZ_SEEDS").expect("WIREBEAT_FUZZ_SEEDS"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var("WIREBEAT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/corpus/pcaps"));
    let mut captures: Vec<PathBuf> = vec![root.join("tests/data/demo.pcap")];
    match std::fs::read_dir(&corpus) {
        Ok(rd) => captures.extend(rd.filter_map(|e| e.ok()).map(|e| e.path())),
        Err(_) => println!("{} not found: seeds from tests/data only", corpus.display()),
    }
    captures.sort();
    let mut written = std::collections::BTreeMap::<String, usize>::new();
    let mut save = |target: &str, input: Vec<u8>| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        input.hash(&mut h);
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).expect("seed dir");
        std::fs::write(dir.join(format!("{:016x}", h.finish())), &input).expect("seed");
        *written.entry(target.to_string()).or_default() += 1;
    };
    for c in &captures {
        if let Ok(bytes) = std::fs::read(c) {
            wirebeat::fuzzing::seeds(&bytes, &mut save);
        }
    }
    for s in wirebeat::fuzzing::defrag_seeds() {
        save("defrag", s);
    }
    // Parser fixtures of tests/data/<proto>/ as one chunk from the client and one from the
    // server (a fixture is a single message or a stream of one side).
    for p in wirebeat::proto::PROTOCOLS {
        let Ok(rd) = std::fs::read_dir(root.join("tests/data").join(p.name)) else { continue };
        for f in rd.filter_map(|e| e.ok()).map(|e| e.path()) {
            if f.extension().is_some_and(|e| e == "md" || e == "py") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&f) else { continue };
            let bytes = &bytes[..bytes.len().min(u16::MAX as usize)];
            for (sel, ctl) in [(0u8, 0u8), (1, 0), (0, 1)] {
                let mut s = vec![sel, ctl];
                s.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
                s.extend_from_slice(bytes);
                save(&format!("parser_{}", p.name), s);
            }
        }
    }
    // The template protocol has no capture: a ping and its pong, and a pipelined pair.
    let mut ping = vec![0u8];
    for (ctl, msg) in [(0u8, &b"PING hello\n"[..]), (1, b"PONG hello\n"), (0, b"PING a\nPING b\n")]
    {
        ping.push(ctl);
        ping.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        ping.extend_from_slice(msg);
    }
    save("parser_template", ping);
    println!("seeds from {} captures: {written:?}", captures.len());
}

// One test per crash found, named after it (the input is also in the directory replay above).

/// A pcapng interface whose timestamp resolution puts frames near `i64::MAX` ns: the flow
/// table's next periodic report time overflowed (`(now / period + 1) * period`, debug panic;
/// wrapped to a negative time in release). Found by `tests/corpus_mutations.rs`.
#[test]
fn regression_flow_period_overflow_on_far_future_timestamp() {
    replay_file("capture_file", "flow-period-overflow-far-future-ts.pcapng");
}

/// An FTP 150 reply whose text has a multi-byte character right before "N bytes": the size
/// scan stepped one byte past the character (not a char boundary). Found by the fuzz smoke
/// run of `parser_ftp`.
#[test]
fn regression_ftp_size_after_a_multibyte_character() {
    replay_file("parser_ftp", "size-in-text-multibyte-before-digits");
}
