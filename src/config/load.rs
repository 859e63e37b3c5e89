//! Loading `wirebeat.yml` the way Beats users expect: dotted keys at any level, `${VAR}`
//! expansion, `-E key=value` overrides, strict keys, and errors that name the key and line.
//!
//! Steps: parse the YAML to a `serde_yaml::Value` → expand `${VAR}` in string scalars (a scalar
//! that is a single `${...}` is re-read as YAML, so it may become a number or a list) → split
//! dotted keys and merge them with the nested spelling → apply the `-E` overrides in order →
//! deserialize into [`Config`] (with `serde_path_to_error` for the key path) → [`Config::validate`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::source::{display_path, parse_path, split_dotted, Seg, SourceIndex};
use super::Config;

/// Where a bad setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The configuration file (its name as given), and the line when it could be found.
    File { name: String, line: Option<usize> },
    /// A `-E key=value` argument, as given.
    Override(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                name,
                line: Some(n),
            } => write!(f, "{name}: line {n}"),
            Origin::File { name, line: None } => f.write_str(name),
            Origin::Override(arg) => write!(f, "-E {arg}"),
        }
    }
}

/// `origin: ` when there is one (validation run on a `Config` alone has none).
struct Prefix<'a>(&'a Option<Origin>);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(o) => write!(f, "{o}: "),
            None => Ok(()),
        }
    }
}

/// `key: ` unless the key is the whole document.
struct KeyPrefix<'a>(&'a str);

impl fmt::Display for KeyPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

struct Expected<'a>(&'a [String]);

impl fmt::Display for Expected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("no keys are allowed here")
        } else {
            write!(f, "expected one of: {}", self.0.join(", "))
        }
    }
}

/// A configuration that cannot be used. `Display` is one line, naming the key and where it was
/// set (`wirebeat.yml: line 7: ...` or `-E wirebeat.workers=two: ...`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A malformed `-E` argument (a usage error: exit code 2).
    #[error("invalid -E argument {arg:?}: {reason}")]
    Usage { arg: String, reason: String },
    /// The file cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("{origin}: YAML syntax error: {message}")]
    Syntax { origin: Origin, message: String },
    /// `${VAR}` without a default and `VAR` unset.
    #[error("{origin}: environment variable {var:?} is not set (use ${{{var}:default}} to give a default)")]
    MissingEnv { origin: Origin, var: String },
    /// A malformed `${...}` reference.
    #[error("{origin}: {message}")]
    Expand { origin: Origin, message: String },
    /// The same key written twice (nested and dotted), or as both a value and a section.
    #[error("{origin}: {message}")]
    Conflict {
        origin: Origin,
        key: String,
        message: String,
    },
    /// A key that the configuration does not have (a typo, usually).
    #[error("{origin}: unknown key {key:?} ({})", Expected(expected))]
    UnknownKey {
        origin: Origin,
        key: String,
        expected: Vec<String>,
    },
    /// A value of the wrong type or form for its key.
    #[error("{origin}: {}{message}", KeyPrefix(key))]
    Invalid {
        origin: Origin,
        key: String,
        message: String,
    },
    /// A well-typed value that [`Config::validate`] rejects.
    #[error("{}{}{message}", Prefix(origin), KeyPrefix(key))]
    Validation {
        origin: Option<Origin>,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// Process exit code: 2 for a malformed `-E` argument (usage), 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::Usage { .. } => 2,
            _ => 1,
        }
    }

    /// The file line the error points at, when it has one.
    pub fn line(&self) -> Option<usize> {
        let origin = match self {
            ConfigError::Syntax { origin, .. }
            | ConfigError::MissingEnv { origin, .. }
            | ConfigError::Expand { origin, .. }
            | ConfigError::Conflict { origin, .. }
            | ConfigError::UnknownKey { origin, .. }
            | ConfigError::Invalid { origin, .. }
            | ConfigError::Validation {
                origin: Some(origin),
                ..
            } => origin,
            _ => return None,
        };
        match origin {
            Origin::File { line, .. } => *line,
            Origin::Override(_) => None,
        }
    }

    /// The dotted key the error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Conflict { key, .. }
            | ConfigError::UnknownKey { key, .. }
            | ConfigError::Invalid { key, .. }
            | ConfigError::Validation { key, .. } => Some(key),
            _ => None,
        }
    }

    pub(crate) fn validation(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Validation {
            origin: None,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Loads the configuration: the file at `path` (none = all defaults), then the `-E key=value`
/// overrides in order; `${VAR}` comes from the process environment. The result is validated.
pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Config, ConfigError> {
    // A usage error is reported as such even when the file is also missing.
    for arg in overrides {
        parse_override(arg)?;
    }
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    match path {
        None => load_str("", "(defaults)", overrides, &env),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_path_buf(),
                source,
            })?;
            load_str(&text, &p.display().to_string(), overrides, &env)
        }
    }
}

/// Loads the configuration from `text` (named `source_name` in errors), then `overrides`;
/// `env` resolves `${VAR}`. The result is validated.
pub fn load_str(
    text: &str,
    source_name: &str,
    overrides: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let overrides: Vec<ParsedOverride> = overrides
        .iter()
        .map(|a| parse_override(a))
        .collect::<Result<_, _>>()?;
    let mut cx = Context {
        name: source_name.to_string(),
        index: SourceIndex::build(text),
        env,
        raw_text: HashMap::new(),
        applied: Vec::new(),
    };

    let mut doc: Value = serde_yaml::from_str(text).map_err(|e| cx.syntax_error(&e))?;
    doc.apply_merge().map_err(|e| cx.syntax_error(&e))?;
    cx.expand(&mut doc, &mut Vec::new(), None)?;
    let mut tree = cx.normalize(doc, &mut Vec::new(), None)?;
    if tree.is_null() {
        tree = Value::Mapping(Mapping::new());
    }
    if !tree.is_mapping() {
        return Err(ConfigError::Invalid {
            origin: cx.file_origin(Some(1)),
            key: String::new(),
            message: format!(
                "the configuration must be a mapping of keys to values (like `wirebeat:`), not {}",
                kind_of(&tree)
            ),
        });
    }

    for ov in overrides {
        cx.apply_override(&mut tree, ov)?;
    }

    let config = cx.deserialize(tree)?;
    config.validate().map_err(|e| match e {
        ConfigError::Validation {
            origin: None,
            key,
            message,
        } => {
            let origin = Some(cx.blame(&parse_path(&key)));
            ConfigError::Validation {
                origin,
                key,
                message,
            }
        }
        other => other,
    })?;
    Ok(config)
}

/// A `-E` argument split into its key path and its value text.
struct ParsedOverride {
    arg: String,
    key: Vec<String>,
    value: String,
}

fn parse_override(arg: &str) -> Result<ParsedOverride, ConfigError> {
    let usage = |reason: &str| ConfigError::Usage {
        arg: arg.to_string(),
        reason: reason.into(),
    };
    let Some((key, value)) = arg.split_once('=') else {
        return Err(usage("expected key=value, e.g. -E wirebeat.workers=2"));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(usage("the key before '=' is empty (expected key=value)"));
    }
    let Some(parts) = split_dotted(key) else {
        return Err(usage("the key has an empty part between dots"));
    };
    Ok(ParsedOverride {
        arg: arg.to_string(),
        key: parts,
        value: value.to_string(),
    })
}

/// An override as applied: where it landed and what it put there.
struct Applied {
    arg: String,
    path: Vec<Seg>,
    value: Value,
}

struct Context<'a> {
    name: String,
    index: SourceIndex,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Scalars as written, for values re-read from `${VAR}` or `-E` (used when a number or bool
    /// must become a string: `1.10` stays `1.10`).
    raw_text: HashMap<Vec<Seg>, String>,
    applied: Vec<Applied>,
}

impl Context<'_> {
    fn file_origin(&self, line: Option<usize>) -> Origin {
        Origin::File {
            name: self.name.clone(),
            line,
        }
    }

    fn syntax_error(&self, e: &serde_yaml::Error) -> ConfigError {
        ConfigError::Syntax {
            origin: self.file_origin(e.location().map(|l| l.line())),
            message: strip_marks(&e.to_string()),
        }
    }

    /// Who set `path` last: an override whose value holds it or that set something below it,
    /// else the file line where it is written.
    fn blame(&self, path: &[Seg]) -> Origin {
        for ov in self.applied.iter().rev() {
            let covers =
                path.starts_with(&ov.path) && value_at(&ov.value, &path[ov.path.len()..]).is_some();
            if covers || ov.path.starts_with(path) {
                return Origin::Override(ov.arg.clone());
            }
        }
        self.file_origin(self.index.line_of(path))
    }

    /// Expands `${VAR}` in every string scalar below `v`. `origin` is `None` for the file.
    fn expand(
        &mut self,
        v: &mut Value,
        path: &mut Vec<Seg>,
        origin: Option<&ParsedOverride>,
    ) -> Result<(), ConfigError> {
        match v {
            Value::Mapping(m) => {
                for (k, val) in m.iter_mut() {
                    let parts = key_string(k)
                        .and_then(|k| split_dotted(&k).or(Some(vec![k])))
                        .unwrap_or_default();
                    let depth = path.len();
                    path.extend(parts.into_iter().map(Seg::Key));
                    self.expand(val, path, origin)?;
                    path.truncate(depth);
                }
            }
            Value::Sequence(s) => {
                for (i, item) in s.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    self.expand(item, path, origin)?;
                    path.pop();
                }
            }
            Value::Tagged(t) => self.expand(&mut t.value, path, origin)?,
            Value::String(s) if s.contains('$') => {
                let expanded = expand_str(s, self.env).map_err(|e| {
                    let origin = match origin {
                        Some(ov) => Origin::Override(ov.arg.clone()),
                        None => {
                            let key_line = self.index.line_of(path);
                            let line = match &e {
                                ExpandError::Missing(var) => self.index.var_line(var, key_line),
                                ExpandError::Malformed(_) => key_line,
                            };
                            self.file_origin(line)
                        }
                    };
                    match e {
                        ExpandError::Missing(var) => ConfigError::MissingEnv { origin, var },
                        ExpandError::Malformed(message) => ConfigError::Expand { origin, message },
                    }
                })?;
                let quoted = match origin {
                    Some(ov) => is_quoted(&ov.value),
                    None => self.index.raw_value(path).is_some_and(is_quoted),
                };
                if is_single_reference(s) && !quoted {
                    let reread = reread(&expanded);
                    if !reread.is_string() {
                        self.raw_text.insert(path.clone(), expanded);
                    }
                    *v = reread;
                } else {
                    *s = expanded;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Splits dotted keys into nested mappings and merges them with the nested spelling.
    fn normalize(
        &self,
        v: Value,
        path: &mut Vec<Seg>,
        origin: Option<&ParsedOverride>,
    ) -> Result<Value, ConfigError> {
        match v {
            Value::Mapping(m) => {
                let mut out = Mapping::new();
                for (k, val) in m {
                    let Some(key) = key_string(&k) else {
                        return Err(ConfigError::Invalid {
                            origin: self.origin_for(path, origin),
                            key: display_path(path),
                            message: format!("keys must be strings, not {}", kind_of(&k)),
                        });
                    };
                    let Some(parts) = split_dotted(&key) else {
                        return Err(ConfigError::Invalid {
                            origin: self.origin_for(path, origin),
                            key: display_path(path),
                            message: format!("key {key:?} has an empty part between dots"),
                        });
                    };
                    let depth = path.len();
                    path.extend(parts.iter().cloned().map(Seg::Key));
                    let val = self.normalize(val, path, origin)?;
                    path.truncate(depth);
                    let nested = parts[1..].iter().rev().fold(val, |acc, p| {
                        let mut m = Mapping::new();
                        m.insert(Value::String(p.clone()), acc);
                        Value::Mapping(m)
                    });
                    self.merge_into(&mut out, parts[0].clone(), nested, path, origin)?;
                }
                Ok(Value::Mapping(out))
            }
            Value::Sequence(s) => {
                let mut out = Vec::with_capacity(s.len());
                for (i, item) in s.into_iter().enumerate() {
                    path.push(Seg::Index(i));
                    out.push(self.normalize(item, path, origin)?);
                    path.pop();
                }
                Ok(Value::Sequence(out))
            }
            Value::Tagged(mut t) => {
                t.value = self.normalize(t.value, path, origin)?;
                Ok(Value::Tagged(t))
            }
            other => Ok(other),
        }
    }

    fn origin_for(&self, path: &[Seg], origin: Option<&ParsedOverride>) -> Origin {
        match origin {
            Some(ov) => Origin::Override(ov.arg.clone()),
            None => self.file_origin(self.index.line_of(path)),
        }
    }

    fn merge_into(
        &self,
        map: &mut Mapping,
        key: String,
        val: Value,
        parent: &mut Vec<Seg>,
        origin: Option<&ParsedOverride>,
    ) -> Result<(), ConfigError> {
        let k = Value::String(key.clone());
        parent.push(Seg::Key(key));
        let result = match map.get_mut(&k) {
            None => {
                map.insert(k, val);
                Ok(())
            }
            Some(existing) => match (existing, val) {
                (Value::Mapping(em), Value::Mapping(vm)) => {
                    let mut r = Ok(());
                    for (k2, v2) in vm {
                        let k2 = key_string(&k2).unwrap_or_default();
                        r = self.merge_into(em, k2, v2, parent, origin);
                        if r.is_err() {
                            break;
                        }
                    }
                    r
                }
                (_, Value::Null) => Ok(()),
                (existing @ Value::Null, val) => {
                    *existing = val;
                    Ok(())
                }
                (existing, val) => Err(self.conflict(parent, existing, &val, origin)),
            },
        };
        parent.pop();
        result
    }

    fn conflict(
        &self,
        at: &[Seg],
        first: &Value,
        second: &Value,
        origin: Option<&ParsedOverride>,
    ) -> ConfigError {
        let mut a = at.to_vec();
        first_leaf(first, &mut a);
        let mut b = at.to_vec();
        first_leaf(second, &mut b);
        let (a_name, b_name) = (display_path(&a), display_path(&b));
        if let Some(ov) = origin {
            let message = if a == b {
                format!("{a_name:?} is set twice")
            } else {
                format!("{a_name:?} conflicts with {b_name:?}: a key cannot hold both a value and nested keys")
            };
            return ConfigError::Conflict {
                origin: Origin::Override(ov.arg.clone()),
                key: display_path(at),
                message,
            };
        }
        let line_note = |l: Option<usize>| l.map(|n| format!(" (line {n})")).unwrap_or_default();
        let (message, line) = if a == b {
            let lines = self.index.lines_of(&a);
            let message = match lines.as_slice() {
                [x, y, ..] => format!(
                    "{a_name:?} is set twice, at lines {x} and {y} (nested and dotted spellings of one key)"
                ),
                _ => format!("{a_name:?} is set twice (nested and dotted spellings of one key)"),
            };
            (message, lines.get(1).or(lines.first()).copied())
        } else {
            let (la, lb) = (self.index.line_of(&a), self.index.line_of(&b));
            let message = format!(
                "{a_name:?}{} conflicts with {b_name:?}{}: a key cannot hold both a value and nested keys",
                line_note(la),
                line_note(lb)
            );
            (message, lb.or(la))
        };
        ConfigError::Conflict {
            origin: self.file_origin(line),
            key: display_path(at),
            message,
        }
    }

    fn apply_override(&mut self, tree: &mut Value, ov: ParsedOverride) -> Result<(), ConfigError> {
        let text = ov.value.trim();
        let mut value = if text.is_empty() {
            Value::String(String::new())
        } else {
            match serde_yaml::from_str::<Value>(text) {
                Ok(Value::String(_)) | Err(_) => Value::String(text.to_string()),
                Ok(v) => v,
            }
        };
        let key_path: Vec<Seg> = ov.key.iter().cloned().map(Seg::Key).collect();
        self.expand(&mut value, &mut key_path.clone(), Some(&ov))?;
        let value = self.normalize(value, &mut key_path.clone(), Some(&ov))?;
        let mut landed = Vec::new();
        set_path(tree, &ov.key, value.clone(), &mut landed);
        // Scalars as typed, and the re-read `${VAR}` text recorded under the key path.
        if let Some(raw) = self.raw_text.remove(&key_path) {
            self.raw_text.insert(landed.clone(), raw);
        } else if !value.is_mapping() && !value.is_sequence() {
            self.raw_text.insert(landed.clone(), text.to_string());
        }
        self.applied.push(Applied {
            arg: ov.arg,
            path: landed,
            value,
        });
        Ok(())
    }

    /// Deserializes with the key path of any error. A number or bool where a string is
    /// expected becomes that string (as Beats does: `name: 2024` is the name "2024").
    fn deserialize(&self, mut tree: Value) -> Result<Config, ConfigError> {
        for _ in 0..256 {
            let err = match serde_path_to_error::deserialize::<_, Config>(tree.clone()) {
                Ok(config) => return Ok(config),
                Err(err) => err,
            };
            let mut path: Vec<Seg> = err
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                    serde_path_to_error::Segment::Enum { variant } => {
                        Some(Seg::Key(variant.clone()))
                    }
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let message = strip_marks(&err.inner().to_string());
            if message.starts_with("invalid type: ") && message.ends_with("expected a string") {
                if let Some(slot) = value_at_mut(&mut tree, &path) {
                    let text = match &*slot {
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        Value::Null => Some(String::new()),
                        _ => None,
                    };
                    if let Some(text) = text {
                        let raw =
                            self.raw_text
                                .get(&path)
                                .cloned()
                                .or_else(|| match self.blame(&path) {
                                    Origin::File { .. } => self
                                        .index
                                        .raw_value(&path)
                                        .filter(|r| {
                                            !is_quoted(r) && !r.starts_with(['&', '*', '!'])
                                        })
                                        .map(str::to_string),
                                    Origin::Override(_) => None,
                                });
                        *slot = Value::String(raw.unwrap_or(text));
                        continue;
                    }
                }
            }
            if let Some((field, expected)) = parse_unknown(&message, "unknown field `") {
                if path.last() != Some(&Seg::Key(field.clone())) {
                    path.push(Seg::Key(field));
                }
                return Err(ConfigError::UnknownKey {
                    origin: self.blame(&path),
                    key: display_path(&path),
                    expected,
                });
            }
            let message = match parse_unknown(&message, "unknown variant `") {
                Some((variant, expected)) => {
                    format!("unknown value {variant:?} ({})", Expected(&expected))
                }
                None => message,
            };
            return Err(ConfigError::Invalid {
                origin: self.blame(&path),
                key: display_path(&path),
                message,
            });
        }
        Err(ConfigError::Invalid {
            origin: self.file_origin(None),
            key: String::new(),
            message: "too many values of the wrong type".into(),
        })
    }
}

/// Sets `value` at the dotted `key` (a numeric part indexes a sequence; the length appends),
/// merging mappings; records the path it landed at.
fn set_path(node: &mut Value, key: &[String], value: Value, landed: &mut Vec<Seg>) {
    let Some((first, rest)) = key.split_first() else {
        merge_override(node, value);
        return;
    };
    if let Value::Sequence(seq) = node {
        if let Ok(n) = first.parse::<usize>() {
            if n <= seq.len() {
                if n == seq.len() {
                    seq.push(Value::Null);
                }
                landed.push(Seg::Index(n));
                set_path(&mut seq[n], rest, value, landed);
                return;
            }
        }
    }
    if !node.is_mapping() {
        *node = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(m) = node {
        landed.push(Seg::Key(first.clone()));
        let child = m.entry(Value::String(first.clone())).or_insert(Value::Null);
        set_path(child, rest, value, landed);
    }
}

/// An override replaces scalars and sequences, and merges into mappings.
fn merge_override(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Mapping(d), Value::Mapping(s)) => {
            for (k, v) in s {
                merge_override(d.entry(k).or_insert(Value::Null), v);
            }
        }
        (dst, src) => *dst = src,
    }
}

fn value_at<'v>(v: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, seg| match (seg, v) {
        (Seg::Key(k), Value::Mapping(m)) => m.get(k.as_str()),
        (Seg::Index(i), Value::Sequence(s)) => s.get(*i),
        _ => None,
    })
}

fn value_at_mut<'v>(v: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, seg| match (seg, v) {
        (Seg::Key(k), Value::Mapping(m)) => m.get_mut(k.as_str()),
        (Seg::Index(i), Value::Sequence(s)) => s.get_mut(*i),
        _ => None,
    })
}

/// The path to the first scalar below `v` (for naming a conflicting key).
fn first_leaf(v: &Value, path: &mut Vec<Seg>) {
    if let Value::Mapping(m) = v {
        if let Some((k, child)) = m.iter().next() {
            path.push(Seg::Key(key_string(k).unwrap_or_default()));
            first_leaf(child, path);
        }
    }
}

/// A mapping key as text: strings as they are, numbers and bools spelled out.
fn key_string(k: &Value) -> Option<String> {
    match k {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn is_quoted(raw: &str) -> bool {
    let raw = raw.trim_start();
    raw.starts_with('"') || raw.starts_with('\'')
}

/// Removes serde_yaml's ` at line N column M` marks and joins lines (messages are one line).
fn strip_marks(msg: &str) -> String {
    let mut out = msg.replace('\n', " ");
    while let Some(at) = out.find(" at line ") {
        let tail = &out[at + " at line ".len()..];
        let digits = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        let mut end = at + " at line ".len() + digits;
        if let Some(col) = out[end..].strip_prefix(" column ") {
            let d = col.find(|c: char| !c.is_ascii_digit()).unwrap_or(col.len());
            end += " column ".len() + d;
        }
        if digits == 0 {
            break;
        }
        out.replace_range(at..end, "");
    }
    out
}

/// Parses serde's "unknown field `x`, expected one of `a`, `b`" (or variant) messages.
fn parse_unknown(msg: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix(prefix)?;
    let (name, rest) = rest.split_once("`, ")?;
    let expected = if rest.starts_with("there are no") {
        Vec::new()
    } else {
        let list = rest.strip_prefix("expected ")?;
        let list = list.strip_prefix("one of ").unwrap_or(list);
        list.split(", ")
            .flat_map(|part| part.split(" or "))
            .map(|s| s.trim().trim_matches('`').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    Some((name.to_string(), expected))
}

enum ExpandError {
    Missing(String),
    Malformed(String),
}

/// Index of the `}` that closes the `${` at the start of `s`.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("${") {
            depth += 1;
            i += 2;
            continue;
        }
        let c = rest.chars().next()?;
        if c == '}' {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(i);
            }
        }
        i += c.len_utf8();
    }
    None
}

fn is_single_reference(s: &str) -> bool {
    s.starts_with("${") && closing_brace(s) == Some(s.len() - 1)
}

/// Expands `${VAR}` / `${VAR:default}` (defaults may nest references); `$${` is a literal `${`.
fn expand_str(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("$${") {
            out.push_str("${");
            i += 3;
            continue;
        }
        if rest.starts_with("${") {
            let end = closing_brace(rest).ok_or_else(|| {
                ExpandError::Malformed(format!(
                    "unterminated \"${{\" in {s:?} (write $${{ for a literal ${{)"
                ))
            })?;
            let inner = &rest[2..end];
            let (name, default) = match inner.split_once(':') {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let name = name.trim();
            if name.is_empty() || name.contains("${") {
                return Err(ExpandError::Malformed(format!(
                    "malformed reference \"${{{inner}}}\" in {s:?} (expected ${{NAME}} or ${{NAME:default}})"
                )));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(&expand_str(d, env)?),
                (None, None) => return Err(ExpandError::Missing(name.to_string())),
            }
            i += end + 1;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(c);
        i += c.len_utf8();
    }
    Ok(out)
}

/// The value of a scalar that was a single `${...}`: read again as YAML (`1500` is a number,
/// `[a, b]` a list), except that text stays text as expanded.
fn reread(expanded: &str) -> Value {
    if expanded.trim().is_empty() {
        return Value::String(expanded.to_string());
    }
    match serde_yaml::from_str::<Value>(expanded) {
        Ok(Value::String(_)) | Err(_) => Value::String(expanded.to_string()),
        Ok(v) => v,
    }
}
