//! Helpers shared by the integration tests: paths to the shared corpus and running the binary.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn corpus_pcaps() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared().join("corpus/pcaps"))
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
    c
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

pub fn get<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}
