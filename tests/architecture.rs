//! The module graph: every `crate::<module>` reference between top-level modules of `src/` must
//! be an edge listed in ARCHITECTURE.md ("Module dependencies"), that list must have no cycles,
//! and every edge it lists must still exist (so the document cannot drift from the code).
//!
//! Test code (`tests.rs` files and `#[cfg(test)]` modules) is left out: a unit test may build
//! its inputs with any module.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Edges = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/proto/dns/mod.rs` → `proto`), or `None` for
/// the crate root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_owned()),
        None => Some(first),
    }
}

/// The file's text without its test code and comments.
fn non_test_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            // Skip the item that follows: a `mod … { … }` block or a single line item.
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Top-level modules named by `crate::x` paths, including `crate::{x, y::z}` groups.
fn referenced(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let prev = code[..at].chars().next_back();
        if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `foo_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        let name = ident(&group[i..]);
                        if !name.is_empty() && name != "self" {
                            found.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn actual_edges() -> Edges {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut edges = Edges::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else { continue };
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = non_test_code(&std::fs::read_to_string(file).unwrap());
        let targets = edges.entry(from.clone()).or_default();
        for to in referenced(&code) {
            assert!(modules.contains(&to), "{}: crate::{to} is not a module", file.display());
            if to != from {
                targets.insert(to);
            }
        }
    }
    edges
}

/// The allowed edges: lines `a → b, c` (or `a -> b, c`, `a → (none)`) in the fenced block
/// after the heading "## Module dependencies" of ARCHITECTURE.md.
fn allowed_edges() -> Edges {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("## Module dependencies")
        .nth(1)
        .expect("ARCHITECTURE.md has a section \"## Module dependencies\"");
    let block = section.split("```").nth(1).expect("the section has a fenced block");
    let mut edges = Edges::new();
    for line in block.lines().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (from, to) = line
            .split_once('→')
            .or_else(|| line.split_once("->"))
            .unwrap_or_else(|| panic!("not an edge line: {line:?}"));
        let targets = edges.entry(from.trim().to_owned()).or_default();
        for t in to.split(',').map(str::trim).filter(|t| !t.is_empty() && *t != "(none)") {
            targets.insert(t.to_owned());
        }
    }
    edges
}

/// A cycle in `edges`, if there is one (depth-first search with colours).
fn find_cycle(edges: &Edges) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &Edges,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let start = stack.iter().position(|s| s == n).unwrap();
                let mut cycle = stack[start..].to_vec();
                cycle.push(n.to_owned());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    edges.keys().find_map(|n| visit(n, edges, &mut state, &mut Vec::new()))
}

fn render(edges: &Edges) -> String {
    edges
        .iter()
        .map(|(from, to)| {
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            format!("{from} → {}\n", if to.is_empty() { "(none)".into() } else { to.join(", ") })
        })
        .collect()
}

#[test]
fn module_edges_match_architecture_md_and_have_no_cycles() {
    let actual = actual_edges();
    let allowed = allowed_edges();
    if let Some(cycle) = find_cycle(&allowed) {
        panic!("the allowed module graph has a cycle: {}", cycle.join(" → "));
    }
    let mut problems = Vec::new();
    for (from, to) in &actual {
        for t in to {
            if !allowed.get(from).is_some_and(|a| a.contains(t)) {
                problems.push(format!("edge {from} → {t} is in the code but not allowed"));
            }
        }
    }
    for (from, to) in &allowed {
        for t in to {
            if !actual.get(from).is_some_and(|a| a.contains(t)) {
                problems.push(format!("edge {from} → {t} is allowed but no longer in the code"));
            }
        }
        if !actual.contains_key(from) {
            problems.push(format!("module {from} is listed but does not exist"));
        }
    }
    for from in actual.keys() {
        if !allowed.contains_key(from) {
            problems.push(format!("module {from} is missing from the list"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nthe code's edges, to paste into ARCHITECTURE.md once reviewed:\n{}",
        problems.join("\n"),
        render(&actual)
    );
}

#[test]
fn reference_scanner_sees_groups_paths_and_skips_tests() {
    let code = non_test_code(
        "use crate::{bytes::View, units};\nfn f() { crate::ecs::time::x(); }\n\
         // crate::sink in a comment\nmacro_rules! m { () => { $crate::foo } }\n\
         #[cfg(test)]\nmod tests {\n    use crate::queue;\n    fn g() {}\n}\nuse crate::flow;\n",
    );
    let found: Vec<String> = referenced(&code).into_iter().collect();
    assert_eq!(found, ["bytes", "ecs", "flow", "units"]);
    let mut cyclic = Edges::new();
    cyclic.entry("a".into()).or_default().insert("b".into());
    cyclic.entry("b".into()).or_default().insert("a".into());
    assert!(find_cycle(&cyclic).is_some());
    cyclic.get_mut("b").unwrap().clear();
    assert!(find_cycle(&cyclic).is_none());
}
