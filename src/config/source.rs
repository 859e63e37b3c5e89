//! Where each key of the configuration text is written: the key paths of the parsed YAML
//! (dotted keys split, sequence items numbered) mapped to the lines the parser reports, so that
//! errors found after parsing (unknown keys, wrong types, unset variables, conflicts) can name
//! the line. Also: how each scalar was written (plain or quoted, its text), which decides
//! whether a `${VAR}` is re-read as YAML and how a number becomes a string (`1.10` stays
//! `1.10`), and the first key written twice in one mapping.

use std::fmt;

use crate::yaml::{Kind, Node, Style};
/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A normalized key path, displayed as `wirebeat.interfaces[0].snaplen`.
pub(crate) struct PathDisplay<'a>(pub &'a [Seg]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

pub(crate) fn display_path(path: &[Seg]) -> String {
    PathDisplay(path).to_string()
}

/// Inverse of [`display_path`] (for keys named by validation messages).
pub(crate) fn parse_path(s: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in s.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Seg::Key(name.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            match stripped[..end].parse() {
                Ok(n) => out.push(Seg::Index(n)),
                Err(_) => out.push(Seg::Key(stripped[..end].to_string())),
            }
            rest = &stripped[end + 1..];
        }
    }
    out
}

/// Splits a (possibly dotted) key into its parts; `None` when a part is empty (`a..b`, `.a`).
pub(crate) fn split_dotted(key: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = key.split('.').map(|p| p.trim().to_string()).collect();
    if parts.iter().any(String::is_empty) {
        None
    } else {
        Some(parts)
    }
}

/// A scalar as written in place (not from an alias, untagged, not a block scalar, not empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub text: String,
    pub quoted: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    path: Vec<Seg>,
    line: usize,
    /// The path is only a prefix of a dotted key written on this line (`output` for
    /// `output.file:`).
    implicit: bool,
    /// The value's scalar, when it is one written in place.
    written: Option<Written>,
    /// The line the value starts on.
    value_line: usize,
}

/// A key written twice in one mapping: its path and both lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    pub path: Vec<Seg>,
    pub first: usize,
    pub second: usize,
}

/// Key paths of a parsed YAML text and the lines they are written on.
#[derive(Debug, Default)]
pub(crate) struct SourceIndex {
    entries: Vec<Entry>,
    /// Each line with comment-only lines blanked, for the `${VAR}` search.
    lines: Vec<String>,
    /// The first key written twice in one mapping.
    pub duplicate: Option<Duplicate>,
}

impl SourceIndex {
    pub(crate) fn build(root: &Node, text: &str) -> SourceIndex {
        let lines = text
            .lines()
            .map(|l| if l.trim_start().starts_with('#') { String::new() } else { l.to_string() })
            .collect();
        let mut index = SourceIndex { entries: Vec::new(), lines, duplicate: None };
        index.walk(root, &mut Vec::new());
        index
    }

    fn walk(&mut self, node: &Node, path: &mut Vec<Seg>) {
        match &node.kind {
            Kind::Scalar { .. } => {}
            Kind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    self.entries.push(Entry {
                        path: path.clone(),
                        line: item.line,
                        implicit: false,
                        written: written(item),
                        value_line: item.line,
                    });
                    self.walk(item, path);
                    path.pop();
                }
            }
            Kind::Map(entries) => {
                let mut seen: Vec<(&str, usize)> = Vec::new();
                for (k, v) in entries {
                    let Kind::Scalar { text: key, .. } = &k.kind else { continue };
                    let parts = split_dotted(key).unwrap_or_else(|| vec![key.clone()]);
                    let depth = path.len();
                    for (n, part) in parts.iter().enumerate() {
                        path.push(Seg::Key(part.clone()));
                        let last = n + 1 == parts.len();
                        self.entries.push(Entry {
                            path: path.clone(),
                            line: k.line,
                            implicit: !last,
                            written: if last { written(v) } else { None },
                            value_line: v.line,
                        });
                    }
                    match seen.iter().find(|(s, _)| *s == key.as_str()) {
                        Some((_, first)) if self.duplicate.is_none() => {
                            self.duplicate = Some(Duplicate {
                                path: path.clone(),
                                first: *first,
                                second: k.line,
                            });
                        }
                        _ => seen.push((key.as_str(), k.line)),
                    }
                    self.walk(v, path);
                    path.truncate(depth);
                }
            }
        }
    }

    /// The first line where `path` is written (explicitly, else as a prefix of a dotted key).
    pub(crate) fn line_of(&self, path: &[Seg]) -> Option<usize> {
        let found = self.entries.iter().find(|e| !e.implicit && e.path == path);
        found.or_else(|| self.entries.iter().find(|e| e.path == path)).map(|e| e.line)
    }

    /// Every line where `path` is written explicitly.
    pub(crate) fn lines_of(&self, path: &[Seg]) -> Vec<usize> {
        self.entries.iter().filter(|e| !e.implicit && e.path == path).map(|e| e.line).collect()
    }

    /// The scalar written for `path`, when it is written in place.
    pub(crate) fn written(&self, path: &[Seg]) -> Option<&Written> {
        self.entries.iter().find(|e| !e.implicit && e.path == path).and_then(|e| e.written.as_ref())
    }

    /// The line the value of `path` starts on.
    pub(crate) fn value_line(&self, path: &[Seg]) -> Option<usize> {
        self.entries.iter().find(|e| !e.implicit && e.path == path).map(|e| e.value_line)
    }

    /// The line that references `${var}` (not escaped as `$${`), preferring the first one at
    /// or after `from` (where the value that holds it starts: a block or multi-line scalar may
    /// name it a few lines further down).
    pub(crate) fn var_line(&self, var: &str, from: Option<usize>) -> Option<usize> {
        let plain = format!("${{{var}}}");
        let with_default = format!("${{{var}:");
        let refers = |line: &str| {
            [plain.as_str(), with_default.as_str()]
                .iter()
                .any(|needle| line.match_indices(needle).any(|(at, _)| !line[..at].ends_with('$')))
        };
        let start = from.unwrap_or(1).max(1);
        let after = self.lines.iter().enumerate().skip(start - 1).find(|(_, l)| refers(l));
        after
            .or_else(|| self.lines.iter().enumerate().find(|(_, l)| refers(l)))
            .map(|(n, _)| n + 1)
            .or(from)
    }
}

/// The scalar of `node` as written in place, if it is one.
fn written(node: &Node) -> Option<Written> {
    match &node.kind {
        Kind::Scalar { text, style, tag: None, alias: false } => match style {
            Style::Plain if text.is_empty() => None,
            Style::Plain => Some(Written { text: text.clone(), quoted: false }),
            Style::Quoted => Some(Written { text: text.clone(), quoted: true }),
            Style::Block => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<Seg> {
        parse_path(s)
    }

    fn index(text: &str) -> SourceIndex {
        SourceIndex::build(&crate::yaml::parse(text).unwrap(), text)
    }

    #[test]
    fn paths_round_trip() {
        let path = p("wirebeat.interfaces[2].snaplen");
        assert_eq!(
            path,
            vec![
                Seg::Key("wirebeat".into()),
                Seg::Key("interfaces".into()),
                Seg::Index(2),
                Seg::Key("snaplen".into())
            ]
        );
        assert_eq!(display_path(&path), "wirebeat.interfaces[2].snaplen");
    }

    #[test]
    fn block_keys_items_and_flows() {
        let text = "\
# comment: not a key
wirebeat:
  workers: 2   # trailing
  interfaces:
  - name: eth0
    snaplen: 1500
  -
    name: eth1
  flows.timeout: 10s
  internal_networks: [private,
     10.0.0.0/8]
output.file: {path: /x, \"filename\": 'a b'}
logging:
  level: |
    not: a key
  format: text
";
        let ix = index(text);
        assert_eq!(ix.line_of(&p("wirebeat")), Some(2));
        assert_eq!(ix.line_of(&p("wirebeat.workers")), Some(3));
        assert_eq!(
            ix.written(&p("wirebeat.workers")),
            Some(&Written { text: "2".into(), quoted: false })
        );
        assert_eq!(ix.line_of(&p("wirebeat.interfaces[0].name")), Some(5));
        assert_eq!(ix.line_of(&p("wirebeat.interfaces[0].snaplen")), Some(6));
        assert_eq!(ix.line_of(&p("wirebeat.interfaces[1].name")), Some(8));
        assert_eq!(ix.line_of(&p("wirebeat.flows.timeout")), Some(9));
        assert_eq!(ix.line_of(&p("wirebeat.flows")), Some(9));
        assert_eq!(ix.line_of(&p("wirebeat.internal_networks[1]")), Some(11));
        assert_eq!(ix.line_of(&p("output")), Some(12));
        assert_eq!(ix.line_of(&p("output.file.filename")), Some(12));
        assert_eq!(
            ix.written(&p("output.file.filename")),
            Some(&Written { text: "a b".into(), quoted: true })
        );
        assert_eq!(ix.line_of(&p("logging.format")), Some(16));
        assert_eq!(ix.line_of(&p("logging.level.not")), None);
        assert_eq!(ix.line_of(&p("wirebeat.nothing")), None);
        assert_eq!(ix.duplicate, None);
        let twice = index("a:\n  b: 1\n  c: 2\n  b: 3\n");
        assert_eq!(twice.duplicate, Some(Duplicate { path: p("a.b"), first: 2, second: 4 }));
    }

    #[test]
    fn variable_lines() {
        let text = "# ${A}\na: $${A}\nb: x\nc: ${A}\n";
        let ix = index(text);
        assert_eq!(ix.var_line("A", None), Some(4));
        assert_eq!(ix.var_line("B", Some(3)), Some(3));
    }
}
