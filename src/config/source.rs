//! Where each key of a YAML text is written: a light scanner that maps normalized key paths
//! (dotted keys split, sequence items numbered) to line numbers, so that errors found after
//! parsing (unknown keys, wrong types, unset variables, conflicts) can name the line.
//!
//! `serde_yaml::Value` keeps no positions, hence this second, approximate reading of the text.
//! It understands block mappings and sequences (nested and dotted keys, compact sequences),
//! flow collections (`{a: 1, b: [x, y]}`, also across lines), quoted keys, comments and block
//! scalars. Anything it cannot place simply has no line; it never fails.

use std::fmt;

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

#[derive(Debug, Clone)]
struct Entry {
    path: Vec<Seg>,
    line: usize,
    /// The path is only a prefix of a dotted key written on this line (`output` for
    /// `output.file:`), or a sequence item whose content starts on a later line.
    implicit: bool,
    /// The scalar value as written (quotes included), when it is on the same line.
    raw_value: Option<String>,
}

/// Key paths of a YAML text and the lines they are written on.
#[derive(Debug, Default)]
pub(crate) struct SourceIndex {
    entries: Vec<Entry>,
    /// Each line with comment-only lines blanked, for the `${VAR}` search.
    lines: Vec<String>,
}

#[derive(Debug)]
enum Kind {
    Key,
    Seq { count: usize },
    Item,
}

#[derive(Debug)]
struct Frame {
    col: usize,
    path: Vec<Seg>,
    kind: Kind,
}

impl SourceIndex {
    pub(crate) fn build(text: &str) -> SourceIndex {
        let lines: Vec<&str> = text.lines().collect();
        let mut index =
            SourceIndex {
                entries: Vec::new(),
                lines: lines
                    .iter()
                    .map(|l| {
                        if l.trim_start().starts_with('#') {
                            String::new()
                        } else {
                            (*l).to_string()
                        }
                    })
                    .collect(),
            };
        let mut stack: Vec<Frame> = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let line_no = i + 1;
            let content = strip_comment(lines[i]);
            let trimmed = content.trim_start();
            let mut col = content.len() - trimmed.len();
            if trimmed.is_empty()
                || (col == 0
                    && (trimmed.starts_with("---")
                        || trimmed.starts_with("...")
                        || trimmed.starts_with('%')))
            {
                i += 1;
                continue;
            }
            let mut rest = trimmed;
            // Sequence items, possibly several on one line (`- - x`).
            let mut item_path: Option<Vec<Seg>> = None;
            while rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t") {
                while stack.last().is_some_and(|f| f.col > col) {
                    stack.pop();
                }
                let item_no = match stack.last_mut() {
                    Some(Frame { col: c, kind: Kind::Seq { count }, .. }) if *c == col => {
                        *count += 1;
                        *count - 1
                    }
                    _ => {
                        let path = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                        stack.push(Frame { col, path, kind: Kind::Seq { count: 1 } });
                        0
                    }
                };
                let mut path = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                path.push(Seg::Index(item_no));
                let after = rest[1..].trim_start();
                let content_col =
                    if after.is_empty() { col + 1 } else { col + (rest.len() - after.len()) };
                index.entries.push(Entry {
                    path: path.clone(),
                    line: line_no,
                    implicit: after.is_empty(),
                    raw_value: None,
                });
                stack.push(Frame { col: content_col, path: path.clone(), kind: Kind::Item });
                item_path = Some(path);
                rest = after;
                col = content_col;
            }
            if rest.is_empty() {
                i += 1;
                continue;
            }
            if let Some((key, value, value_offset)) = split_key(rest) {
                while stack
                    .last()
                    .is_some_and(|f| f.col > col || (f.col == col && !matches!(f.kind, Kind::Item)))
                {
                    stack.pop();
                }
                let parent = stack.last().map(|f| f.path.clone()).unwrap_or_default();
                let path = index.add_key(&parent, &key, line_no);
                let value = value.trim_end();
                let entry = index.entries.len() - 1;
                stack.push(Frame { col, path: path.clone(), kind: Kind::Key });
                if value.starts_with('{') || value.starts_with('[') {
                    let offset = content.len() - rest.len() + value_offset;
                    i = index.flow(&lines, i, offset, &path);
                } else if value.starts_with('|') || value.starts_with('>') {
                    i = skip_block_scalar(&lines, i, col);
                } else {
                    if !value.is_empty() {
                        index.entries[entry].raw_value = Some(value.to_string());
                    }
                    i += 1;
                }
                continue;
            }
            if rest.starts_with('{') || rest.starts_with('[') {
                let base = item_path
                    .unwrap_or_else(|| stack.last().map(|f| f.path.clone()).unwrap_or_default());
                let offset = content.len() - rest.len();
                i = index.flow(&lines, i, offset, &base);
                continue;
            }
            if let Some(path) = item_path {
                if rest.starts_with('|') || rest.starts_with('>') {
                    i = skip_block_scalar(&lines, i, col.saturating_sub(1));
                    continue;
                }
                if let Some(e) = index.entries.iter_mut().rev().find(|e| e.path == path) {
                    e.raw_value = Some(rest.trim_end().to_string());
                }
            }
            i += 1;
        }
        index
    }

    /// Records `key` (maybe dotted, maybe quoted) under `parent`; returns its full path.
    fn add_key(&mut self, parent: &[Seg], key: &str, line: usize) -> Vec<Seg> {
        let key = unquote(key);
        let parts = split_dotted(&key).unwrap_or_else(|| vec![key.clone()]);
        let mut path = parent.to_vec();
        for (n, part) in parts.iter().enumerate() {
            path.push(Seg::Key(part.clone()));
            self.entries.push(Entry {
                path: path.clone(),
                line,
                implicit: n + 1 < parts.len(),
                raw_value: None,
            });
        }
        path
    }

    /// Reads a flow collection starting at `lines[li][offset..]`; returns the next line to scan.
    fn flow(&mut self, lines: &[&str], li: usize, offset: usize, base: &[Seg]) -> usize {
        let mut cur = Cursor { lines, li, pos: offset };
        cur.value(self, base);
        cur.li + 1
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

    /// The scalar as written for `path` (quotes included), when it is on the key's line.
    pub(crate) fn raw_value(&self, path: &[Seg]) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| !e.implicit && e.path == path)
            .and_then(|e| e.raw_value.as_deref())
    }

    /// The line that references `${var}` (not escaped as `$${`), preferring the first one at
    /// or after `from` (the line of the key whose value holds it).
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

/// A position in the text, for reading flow collections that may span lines.
struct Cursor<'a> {
    lines: &'a [&'a str],
    li: usize,
    pos: usize,
}

impl Cursor<'_> {
    fn line(&self) -> &str {
        self.lines.get(self.li).copied().unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        match self.line()[self.pos..].chars().next() {
            Some(c) => Some(c),
            None if self.li + 1 < self.lines.len() => Some('\n'),
            None => None,
        }
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.line()[self.pos..].chars();
        it.next();
        Some(it.next().unwrap_or('\n'))
    }

    fn bump(&mut self) {
        match self.line()[self.pos..].chars().next() {
            Some(c) => self.pos += c.len_utf8(),
            None => {
                self.li += 1;
                self.pos = 0;
            }
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == '#' && (self.pos == 0 || self.line()[..self.pos].ends_with([' ', '\t'])) {
                self.pos = self.line().len();
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// A scalar token: quoted (returned with its quotes) or plain (trimmed).
    fn scalar(&mut self) -> String {
        let mut out = String::new();
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                out.push(q);
                self.bump();
                while let Some(c) = self.peek() {
                    self.bump();
                    out.push(c);
                    if q == '"' && c == '\\' {
                        if let Some(n) = self.peek() {
                            self.bump();
                            out.push(n);
                        }
                    } else if c == q {
                        if q == '\'' && self.peek() == Some('\'') {
                            self.bump();
                            out.push('\'');
                        } else {
                            break;
                        }
                    }
                }
            }
            _ => {
                while let Some(c) = self.peek() {
                    let ends = matches!(c, ',' | '[' | ']' | '{' | '}' | '\n')
                        || (c == ':'
                            && self
                                .peek2()
                                .is_some_and(|n| n.is_whitespace() || ",[]{}".contains(n)))
                        || (c == '#' && out.ends_with([' ', '\t']));
                    if ends {
                        break;
                    }
                    out.push(c);
                    self.bump();
                }
            }
        }
        out.trim().to_string()
    }

    /// A flow value at `path`; scalars are recorded on the entry just pushed for `path`.
    fn value(&mut self, index: &mut SourceIndex, path: &[Seg]) {
        self.skip_ws();
        match self.peek() {
            Some('{') => self.map(index, path),
            Some('[') => self.seq(index, path),
            Some(_) => {
                let raw = self.scalar();
                if let Some(e) = index.entries.iter_mut().rev().find(|e| e.path == path) {
                    if e.raw_value.is_none() && !raw.is_empty() {
                        e.raw_value = Some(raw);
                    }
                }
            }
            None => {}
        }
    }

    fn map(&mut self, index: &mut SourceIndex, path: &[Seg]) {
        self.bump(); // '{'
        loop {
            self.skip_ws();
            match self.peek() {
                None => return,
                Some('}') => {
                    self.bump();
                    return;
                }
                Some(',') => self.bump(),
                Some(_) => {
                    let (li, pos) = (self.li, self.pos);
                    let line = self.li + 1;
                    let key = self.scalar();
                    self.skip_ws();
                    if self.peek() == Some(':') {
                        self.bump();
                    }
                    if (li, pos) == (self.li, self.pos) {
                        self.bump(); // never loop without progress
                        continue;
                    }
                    let key_path = index.add_key(path, &key, line);
                    self.skip_ws();
                    if !matches!(self.peek(), Some(',' | '}') | None) {
                        self.value(index, &key_path);
                    }
                }
            }
        }
    }

    fn seq(&mut self, index: &mut SourceIndex, path: &[Seg]) {
        self.bump(); // '['
        let mut n = 0;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return,
                Some(']') => {
                    self.bump();
                    return;
                }
                Some(',') => {
                    self.bump();
                    n += 1;
                }
                Some(_) => {
                    let (li, pos) = (self.li, self.pos);
                    let mut item = path.to_vec();
                    item.push(Seg::Index(n));
                    index.entries.push(Entry {
                        path: item.clone(),
                        line: self.li + 1,
                        implicit: false,
                        raw_value: None,
                    });
                    self.value(index, &item);
                    if (li, pos) == (self.li, self.pos) {
                        self.bump();
                    }
                }
            }
        }
    }
}

/// The line without its trailing comment (a `#` at the start or after blank, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => {
                if c == '#' && prev.is_none_or(char::is_whitespace) {
                    return line[..i].trim_end();
                }
                if (c == '"' || c == '\'')
                    && prev.is_none_or(|p| p.is_whitespace() || "[{,:-".contains(p))
                {
                    quote = Some(c);
                }
            }
        }
        prev = Some(c);
    }
    line.trim_end()
}

/// Splits `key: value` (block mapping entry); returns the key text, the value text and the
/// value's byte offset in `s`. `None` when the line is not a mapping entry.
fn split_key(s: &str) -> Option<(String, &str, usize)> {
    if s.starts_with(['{', '[', '|', '>', '!', '&', '*']) {
        return None;
    }
    let key_end = if let Some(q @ ('"' | '\'')) = s.chars().next() {
        let mut escaped = false;
        let mut end = None;
        for (i, c) in s.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                end = Some(i + 1);
                break;
            }
        }
        let end = end?;
        let after = s[end..].trim_start();
        if !after.starts_with(':') {
            return None;
        }
        end + (s[end..].len() - after.len())
    } else {
        let bytes = s.as_bytes();
        (0..bytes.len()).find(|&i| {
            bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t')
        })?
    };
    let key = s[..key_end].trim_end().to_string();
    let value_start = key_end + 1;
    let value = s.get(value_start..).unwrap_or("");
    let trimmed = value.trim_start();
    Some((key, trimmed, value_start + (value.len() - trimmed.len())))
}

/// Removes the quotes of a quoted key.
fn unquote(key: &str) -> String {
    let k = key.trim();
    if k.len() >= 2
        && ((k.starts_with('"') && k.ends_with('"')) || (k.starts_with('\'') && k.ends_with('\'')))
    {
        let inner = &k[1..k.len() - 1];
        if k.starts_with('\'') {
            inner.replace("''", "'")
        } else {
            inner.replace("\\\"", "\"").replace("\\\\", "\\")
        }
    } else {
        k.to_string()
    }
}

/// Skips the lines of a block scalar (`|` / `>`) owned by a key or dash at column `col`.
fn skip_block_scalar(lines: &[&str], li: usize, col: usize) -> usize {
    let mut j = li + 1;
    while j < lines.len() {
        let l = lines[j];
        let indent = l.len() - l.trim_start().len();
        if l.trim().is_empty() || indent > col {
            j += 1;
        } else {
            break;
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<Seg> {
        parse_path(s)
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
        let ix = SourceIndex::build(text);
        assert_eq!(ix.line_of(&p("wirebeat")), Some(2));
        assert_eq!(ix.line_of(&p("wirebeat.workers")), Some(3));
        assert_eq!(ix.raw_value(&p("wirebeat.workers")), Some("2"));
        assert_eq!(ix.line_of(&p("wirebeat.interfaces[0].name")), Some(5));
        assert_eq!(ix.line_of(&p("wirebeat.interfaces[0].snaplen")), Some(6));
        assert_eq!(ix.line_of(&p("wirebeat.interfaces[1].name")), Some(8));
        assert_eq!(ix.line_of(&p("wirebeat.flows.timeout")), Some(9));
        assert_eq!(ix.line_of(&p("wirebeat.flows")), Some(9));
        assert_eq!(ix.line_of(&p("wirebeat.internal_networks[1]")), Some(11));
        assert_eq!(ix.line_of(&p("output")), Some(12));
        assert_eq!(ix.line_of(&p("output.file.filename")), Some(12));
        assert_eq!(ix.raw_value(&p("output.file.filename")), Some("'a b'"));
        assert_eq!(ix.line_of(&p("logging.format")), Some(16));
        assert_eq!(ix.line_of(&p("logging.level.not")), None);
        assert_eq!(ix.line_of(&p("wirebeat.nothing")), None);
    }

    #[test]
    fn variable_lines() {
        let text = "# ${A}\na: $${A}\nb: x\nc: ${A}\n";
        let ix = SourceIndex::build(text);
        assert_eq!(ix.var_line("A", None), Some(4));
        assert_eq!(ix.var_line("B", Some(3)), Some(3));
    }
}
