//! Loading `wirebeat.yml` the way Beats users expect: dotted keys at any level, `${VAR}`
//! expansion, `-E key=value` overrides, strict keys, and errors that name the key and line.
//!
//! Steps: parse the YAML (with [`crate::yaml`], which gives every node its line; the lines of
//! the keys are indexed by [`SourceIndex`]) → expand `${VAR}` in string scalars (a scalar
//! that is a single `${...}` is re-read as YAML, so it may become a number or a list) → split
//! dotted keys and merge them with the nested spelling → apply the `-E` overrides in order →
//! deserialize into [`Config`] (with `serde_path_to_error` for the key path) → [`Settings::new`]
//! (validated and resolved).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::source::{display_path, parse_path, split_dotted, Seg, SourceIndex};
use super::{Config, Settings};
use crate::yaml::{self, Mapping, Value};

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
            Origin::File { name, line: Some(n) } => write!(f, "{name}: line {n}"),
            Origin::File { name, line: None } => f.write_str(name),
            Origin::Override(arg) => write!(f, "-E {}", shown_override(arg)),
        }
    }
}

/// A `-E` argument as an error may repeat it: the value of a secret key, or one that holds
/// URL credentials (`user:pass@`), is not repeated.
fn shown_override(arg: &str) -> String {
    let Some((key, value)) = arg.split_once('=') else { return arg.to_owned() };
    let last = key.rsplit('.').next().unwrap_or(key).trim();
    if super::validate::SECRET_KEYS.contains(&last) || value.contains('@') {
        format!("{key}={}", super::validate::REDACTED)
    } else {
        arg.to_owned()
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
    Conflict { origin: Origin, key: String, message: String },
    /// A key that the configuration does not have (a typo, usually).
    #[error("{origin}: unknown key {key:?} ({})", Expected(expected))]
    UnknownKey { origin: Origin, key: String, expected: Vec<String> },
    /// A value of the wrong type or form for its key.
    #[error("{origin}: {}{message}", KeyPrefix(key))]
    Invalid { origin: Origin, key: String, message: String },
    /// A well-typed value that [`Config::validate`] rejects.
    #[error("{}{}{message}", Prefix(origin), KeyPrefix(key))]
    Validation { origin: Option<Origin>, key: String, message: String },
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
            | ConfigError::Validation { origin: Some(origin), .. } => origin,
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
        ConfigError::Validation { origin: None, key: key.into(), message: message.into() }
    }
}

/// Loads the configuration: the file at `path` (none = all defaults), then the `-E key=value`
/// overrides in order; `${VAR}` comes from the process environment. The result is validated.
pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Settings, ConfigError> {
    // A usage error is reported as such even when the file is also missing.
    for arg in overrides {
        parse_override(arg)?;
    }
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    match path {
        None => load_text("", "(defaults)", overrides, &env, true),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|source| ConfigError::Read { path: p.to_path_buf(), source })?;
            load_text(&text, &p.display().to_string(), overrides, &env, true)
        }
    }
}

/// Loads the configuration from `text` (named `source_name` in errors), then `overrides`;
/// `env` resolves `${VAR}`. The result is validated (the pure checks only: BPF filters and
/// TLS files are checked by [`load`]).
pub fn load_str(
    text: &str,
    source_name: &str,
    overrides: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    load_text(text, source_name, overrides, env, false)
}

/// [`load_str`], and with `machine` the checks that need the machine (`check.rs`), whose
/// errors get their line as the validation's do.
fn load_text(
    text: &str,
    source_name: &str,
    overrides: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    machine: bool,
) -> Result<Settings, ConfigError> {
    let overrides: Vec<ParsedOverride> =
        overrides.iter().map(|a| parse_override(a)).collect::<Result<_, _>>()?;
    let mut cx = Context {
        name: source_name.to_string(),
        index: SourceIndex::default(),
        env,
        raw_text: HashMap::new(),
        applied: Vec::new(),
    };

    let root = yaml::parse(text).map_err(|e| cx.syntax_error(e))?;
    cx.index = SourceIndex::build(&root, text);
    if let Some(d) = &cx.index.duplicate {
        let name = display_path(&d.path);
        return Err(ConfigError::Conflict {
            origin: cx.file_origin(Some(d.second)),
            message: format!("{name:?} is set twice, at lines {} and {}", d.first, d.second),
            key: name,
        });
    }
    let mut doc = root.to_value().map_err(|e| cx.syntax_error(e))?;
    doc.apply_merge().map_err(|e| cx.syntax_error(e))?;
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
    // `output.file:` with every setting commented out means that output, with its defaults
    // (an explicit `output.file: null` does not).
    if let Some(Value::Mapping(outputs)) = tree.get_mut("output") {
        for (name, section) in outputs.iter_mut() {
            let path = [Seg::Key("output".into()), Seg::Key(key_string(name).unwrap_or_default())];
            if section.is_null() && cx.index.written(&path).is_none() {
                *section = Value::Mapping(Mapping::new());
            }
        }
    }

    let config = cx.deserialize(tree)?;
    let place = |e| match e {
        ConfigError::Validation { origin: None, key, message } => {
            let origin = Some(cx.blame(&parse_path(&key)));
            ConfigError::Validation { origin, key, message }
        }
        other => other,
    };
    let settings = Settings::new(config).map_err(place)?;
    if machine {
        settings.check_machine().map_err(place)?;
    }
    Ok(settings)
}

/// A `-E` argument split into its key path and its value text.
struct ParsedOverride {
    arg: String,
    key: Vec<String>,
    value: String,
}

fn parse_override(arg: &str) -> Result<ParsedOverride, ConfigError> {
    let usage = |reason: &str| ConfigError::Usage { arg: arg.to_string(), reason: reason.into() };
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
    Ok(ParsedOverride { arg: arg.to_string(), key: parts, value: value.to_string() })
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
        Origin::File { name: self.name.clone(), line }
    }

    fn syntax_error(&self, e: yaml::Error) -> ConfigError {
        ConfigError::Syntax { origin: self.file_origin(e.line), message: one_line(&e.message) }
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
            Value::String(s) if s.contains('$') => {
                let expanded = expand_str(s, self.env).map_err(|e| {
                    let origin = match origin {
                        Some(ov) => Origin::Override(ov.arg.clone()),
                        None => {
                            let key_line = self.index.line_of(path);
                            let line = match &e {
                                ExpandError::Missing(var) => self
                                    .index
                                    .var_line(var, self.index.value_line(path).or(key_line)),
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
                    None => self.index.written(path).is_some_and(|w| w.quoted),
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
        let result = match map.get_value_mut(&k) {
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
        ConfigError::Conflict { origin: self.file_origin(line), key: display_path(at), message }
    }

    fn apply_override(&mut self, tree: &mut Value, ov: ParsedOverride) -> Result<(), ConfigError> {
        let text = ov.value.trim();
        let mut value = if text.is_empty() {
            Value::String(String::new())
        } else {
            match yaml::parse(text).and_then(|n| n.to_value()) {
                Ok(v) => v,
                Err(_) => Value::String(text.to_string()),
            }
        };
        let key_path: Vec<Seg> = ov.key.iter().cloned().map(Seg::Key).collect();
        let file_raw = std::mem::take(&mut self.raw_text);
        let expanded = self.expand(&mut value, &mut key_path.clone(), Some(&ov));
        let override_raw = std::mem::replace(&mut self.raw_text, file_raw);
        expanded?;
        let value = self.normalize(value, &mut key_path.clone(), Some(&ov))?;
        let mut landed = Vec::new();
        set_path(tree, &ov.key, value.clone(), &mut landed);
        // What was written below `landed` is replaced: keep the override's text instead (the
        // re-read `${VAR}` values, and a scalar as typed).
        self.raw_text.retain(|p, _| !p.starts_with(&landed));
        for (p, raw) in override_raw {
            let mut at = landed.clone();
            at.extend(p.get(key_path.len()..).unwrap_or_default().iter().cloned());
            self.raw_text.insert(at, raw);
        }
        if !value.is_mapping() && !value.is_sequence() {
            self.raw_text.entry(landed.clone()).or_insert_with(|| text.to_string());
        }
        self.applied.push(Applied { arg: ov.arg, path: landed, value });
        Ok(())
    }

    /// Deserializes with the key path of any error. A number or bool where a string is
    /// expected becomes that string (as Beats does: `name: 2024` is the name "2024").
    fn deserialize(&self, mut tree: Value) -> Result<Config, ConfigError> {
        // Texts as typed of scalars moved into a one-element list, at their new paths.
        let mut raw_fix: Vec<(Vec<Seg>, String)> = Vec::new();
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
            let message = one_line(&err.inner().to_string());
            if message.starts_with("invalid type: ") && message.ends_with("expected a string") {
                if let Some(slot) = value_at_mut(&mut tree, &path) {
                    let text = match &*slot {
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        Value::Null => Some(String::new()),
                        _ => None,
                    };
                    if let Some(text) = text {
                        let moved = raw_fix.iter().find(|(p, _)| *p == path).map(|(_, r)| r);
                        let raw =
                            self.raw_text.get(&path).or(moved).cloned().or_else(|| {
                                match self.blame(&path) {
                                    Origin::File { .. } => self
                                        .index
                                        .written(&path)
                                        .filter(|w| !w.quoted)
                                        .map(|w| w.text.clone()),
                                    Origin::Override(_) => None,
                                }
                            });
                        *slot = Value::String(raw.unwrap_or(text));
                        continue;
                    }
                }
            }
            // `-E output.kafka.hosts=k:9092` where a list is expected: the one-element list
            // (as Beats' `-E` does). Only for values an override set: in the file, a list is
            // written as one.
            if message.starts_with("invalid type: ") && message.ends_with("expected a sequence") {
                if let Origin::Override(_) = self.blame(&path) {
                    if let Some(slot) = value_at_mut(&mut tree, &path) {
                        if matches!(slot, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                            let one = std::mem::replace(slot, Value::Null);
                            *slot = Value::Sequence(vec![one]);
                            // The element's text as typed (`1.10` stays `1.10`).
                            if let Some(raw) = self.raw_text.get(&path).cloned() {
                                let mut at = path.clone();
                                at.push(Seg::Index(0));
                                raw_fix.push((at, raw));
                            }
                            continue;
                        }
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
        let child = m.entry(Value::String(first.clone()));
        set_path(child, rest, value, landed);
    }
}

/// An override replaces scalars and sequences, and merges into mappings.
fn merge_override(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Mapping(d), Value::Mapping(s)) => {
            for (k, v) in s {
                merge_override(d.entry(k), v);
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
    }
}

fn is_quoted(raw: &str) -> bool {
    let raw = raw.trim_start();
    raw.starts_with('"') || raw.starts_with('\'')
}

/// Messages are one line.
fn one_line(msg: &str) -> String {
    msg.replace('\n', " ")
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
    match yaml::parse(expanded).and_then(|n| n.to_value()) {
        Ok(Value::String(_)) | Err(_) => Value::String(expanded.to_string()),
        Ok(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConsoleOutput, Duration, FileFormat, FileOutput, Interface};

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn load_text(text: &str) -> Result<Settings, ConfigError> {
        load_str(text, "wirebeat.yml", &[], &no_env)
    }

    fn err_text(text: &str) -> String {
        load_text(text).unwrap_err().to_string()
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults() {
        assert_eq!(load(None, &[]).unwrap(), Config::default());
        assert_eq!(load_text("").unwrap(), Config::default());
        assert_eq!(load_text("# only a comment\n\n").unwrap(), Config::default());
        assert_eq!(load_text("---\n").unwrap(), Config::default());
        let empty = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(load(Some(empty.path()), &[]).unwrap(), Config::default());
        let d = Config::default();
        assert_eq!(d.wirebeat.workers, 0);
        assert_eq!(d.wirebeat.internal_networks, vec!["private".to_string()]);
        assert_eq!(d.wirebeat.flows.timeout, Duration::from_secs(30));
        assert_eq!(d.output.console, None);
        assert_eq!(d.output.file, None);
        assert_eq!(d.logging.level, "info");
    }

    #[test]
    fn file_is_read_and_missing_file_is_named() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, b"wirebeat.workers: 3\n").unwrap();
        assert_eq!(load(Some(f.path()), &[]).unwrap().wirebeat.workers, 3);

        let missing = Path::new("/nonexistent/dir/wirebeat.yml");
        let err = load(Some(missing), &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
        assert_eq!(err.exit_code(), 1);
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read config file /nonexistent/dir/wirebeat.yml: "),
            "{text}"
        );
        assert!(!text.contains('\n'));
        // A usage error wins over the missing file.
        assert_eq!(load(Some(missing), &args(&["oops"])).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn dotted_keys_equal_nested() {
        let dotted = load_text("output.file: {path: /x}\nwirebeat.flows.timeout: 5s\n").unwrap();
        let nested =
            load_text("output:\n  file:\n    path: /x\nwirebeat:\n  flows:\n    timeout: 5s\n")
                .unwrap();
        assert_eq!(dotted, nested);
        let file = dotted.output.file.as_ref().unwrap();
        assert_eq!(file.path, "/x");
        assert_eq!(file.filename, "wirebeat.ndjson");
        assert_eq!(dotted.wirebeat.flows.timeout, Duration::from_secs(5));
        // Dotted inside nested, and inside a flow mapping.
        let c = load_text("wirebeat:\n  flows.max_flows: 7\n  defrag: {limits.x: 1}\n");
        assert_eq!(
            c.unwrap_err().to_string(),
            "wirebeat.yml: line 3: unknown key \"wirebeat.defrag.limits\" (expected one of: \
             enabled, timeout, max_datagrams, max_datagram_bytes)"
        );
        assert_eq!(
            load_text("wirebeat:\n  flows.max_flows: 7\n").unwrap().wirebeat.flows.max_flows,
            7
        );
    }

    #[test]
    fn nested_and_dotted_merge() {
        let text = "\
wirebeat:
  workers: 2
  flows:
    enabled: false
wirebeat.flows.timeout: 1m
wirebeat.namespace: lab
output.console.pretty: true
output:
  console:
    enabled: true
";
        let c = load_text(text).unwrap();
        assert_eq!(c.wirebeat.workers, 2);
        assert!(!c.wirebeat.flows.enabled);
        assert_eq!(c.wirebeat.flows.timeout, Duration::from_secs(60));
        assert_eq!(c.wirebeat.namespace, "lab");
        assert_eq!(c.output.console, Some(ConsoleOutput { enabled: true, pretty: true }));
    }

    #[test]
    fn nested_and_dotted_conflicts_name_both() {
        let twice = "wirebeat.workers: 2\nlogging.level: info\nwirebeat:\n  workers: 3\n";
        let err = load_text(twice).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 4: \"wirebeat.workers\" is set twice, at lines 1 and 4 \
             (nested and dotted spellings of one key)"
        );
        assert_eq!(err.line(), Some(4));
        assert_eq!(err.exit_code(), 1);
        let value_and_section = "output.file: x\noutput.file.path: /y\n";
        assert_eq!(
            err_text(value_and_section),
            "wirebeat.yml: line 2: \"output.file\" (line 1) conflicts with \"output.file.path\" \
             (line 2): a key cannot hold both a value and nested keys"
        );
    }

    #[test]
    fn duplicate_key_names_both_lines() {
        let err = load_text("wirebeat:\n  workers: 1\n  workers: 2\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 3: \"wirebeat.workers\" is set twice, at lines 2 and 3"
        );
        assert_eq!(
            err_text("name: a\nname: b\n"),
            "wirebeat.yml: line 2: \"name\" is set twice, at lines 1 and 2"
        );
    }

    #[test]
    fn empty_output_section_enables_it_with_defaults() {
        let c = load_text("output.file:\n  #path: /var/log/wirebeat\n").unwrap();
        assert_eq!(c.output.file, Some(FileOutput::default()));
        assert_eq!(c.output.console, None);
        let c = load_text("output.file: null\noutput.console: ~\n").unwrap();
        assert_eq!(c.output, crate::config::Output::default());
        // Other empty sections are their defaults.
        assert_eq!(load_text("wirebeat.flows:\ntags:\n").unwrap(), Config::default());
    }

    #[test]
    fn overrides_are_typed_yaml() {
        let c = load_str(
            "wirebeat.workers: 1\noutput.file.path: /var/log\n",
            "wirebeat.yml",
            &args(&[
                "wirebeat.workers=2",
                "wirebeat.internal_networks=[10.0.0.0/8, loopback]",
                "output.file.path=/tmp/x",
                "output.file.number_of_files=3",
                "output.file={filename: out.ndjson}",
                "wirebeat.flows.period=0s",
                "tags=[a, b]",
                "fields.site=12",
                "name=",
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!(c.wirebeat.workers, 2);
        assert_eq!(c.wirebeat.internal_networks, vec!["10.0.0.0/8".to_string(), "loopback".into()]);
        let file = c.output.file.as_ref().unwrap();
        assert_eq!(file.path, "/tmp/x");
        assert_eq!(file.number_of_files, 3);
        assert_eq!(file.filename, "out.ndjson");
        assert_eq!(c.wirebeat.flows.period, Duration::from_secs(0));
        assert_eq!(c.tags, vec!["a".to_string(), "b".into()]);
        assert_eq!(c.fields.get("site").map(String::as_str), Some("12"));
        assert_eq!(c.name.as_deref(), Some(""));
        // Later overrides win; a numeric part indexes a list.
        let c = load_str(
            "wirebeat.interfaces: [{name: eth0}, {name: eth1}]\n",
            "wirebeat.yml",
            &args(&[
                "wirebeat.workers=2",
                "wirebeat.workers=5",
                "wirebeat.interfaces.1.snaplen=1500",
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!(c.wirebeat.workers, 5);
        assert_eq!(
            c.wirebeat.interfaces[0],
            Interface { name: "eth0".into(), ..Interface::default() }
        );
        assert_eq!(
            c.wirebeat.interfaces[1],
            Interface { name: "eth1".into(), snaplen: 1500, ..Interface::default() }
        );
    }

    /// `-E key=scalar` where the key is a list sets the one-element list (as Beats' `-E`);
    /// a scalar written in the file for a list stays an error naming its line.
    #[test]
    fn override_scalar_becomes_a_one_element_list() {
        let c = load_str(
            "output.kafka:\n  hosts: [\"a:9092\", \"b:9092\"]\n  topic: t\n",
            "wirebeat.yml",
            &args(&[
                "output.kafka.hosts=localhost:9092",
                "wirebeat.internal_networks=10.0.0.0/8",
                "tags=1.10",
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!(c.output.kafka.as_ref().unwrap().hosts, vec!["localhost:9092".to_string()]);
        assert_eq!(c.wirebeat.internal_networks, vec!["10.0.0.0/8".to_string()]);
        // The element keeps its text as typed.
        assert_eq!(c.tags, vec!["1.10".to_string()]);
        // A list stays a list; an index still sets one element.
        let c = load_str("tags: [a, b]\n", "wirebeat.yml", &args(&["tags.1=c"]), &no_env).unwrap();
        assert_eq!(c.tags, vec!["a".to_string(), "c".into()]);
        let err = load_str("tags: a\n", "wirebeat.yml", &[], &no_env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 1: tags: invalid type: string \"a\", expected a sequence"
        );
        // A mapping where a list is expected is still refused.
        let err = load_str("", "wirebeat.yml", &args(&["tags={a: 1}"]), &no_env).unwrap_err();
        assert!(err.to_string().starts_with("-E tags={a: 1}: tags: invalid type: map"), "{err}");
    }

    #[test]
    fn bad_override_syntax_is_a_usage_error() {
        for (arg, reason) in [
            ("wirebeat.workers", "expected key=value, e.g. -E wirebeat.workers=2"),
            ("=2", "the key before '=' is empty (expected key=value)"),
            ("wirebeat..workers=2", "the key has an empty part between dots"),
        ] {
            let err = load_str("", "wirebeat.yml", &args(&[arg]), &no_env).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{arg}");
            assert_eq!(err.to_string(), format!("invalid -E argument {arg:?}: {reason}"));
            assert_eq!(load(None, &args(&[arg])).unwrap_err().exit_code(), 2);
        }
    }

    #[test]
    fn override_errors_name_the_override() {
        let err = load_str(
            "wirebeat:\n  workers: 2\n",
            "wirebeat.yml",
            &args(&["wirebeat.workers=two"]),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "-E wirebeat.workers=two: wirebeat.workers: invalid type: string \"two\", expected usize"
        );
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.line(), None);
        let err = load_str("", "wirebeat.yml", &args(&["wirebeat.flows.timout=5s"]), &no_env)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "-E wirebeat.flows.timout=5s: unknown key \"wirebeat.flows.timout\" (expected one of: \
             enabled, period, timeout, tcp_timeout, udp_timeout, icmp_timeout, max_flows, \
             statistics, activity_timeout)"
        );
        // The file's own typo is still blamed on the file, even when an override touches the
        // same section.
        let err = load_str(
            "wirebeat.flows:\n  timout: 5s\n",
            "wirebeat.yml",
            &args(&["wirebeat.flows.enabled=false"]),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(err.line(), Some(2));
        // Validation errors too.
        let err =
            load_str("", "wirebeat.yml", &args(&["logging.level=loud"]), &no_env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "-E logging.level=loud: logging.level: \"loud\" is not one of: error, warn, info, debug, trace"
        );
    }

    #[test]
    fn env_expansion() {
        let env = env_of(&[
            ("SNAP", "1500"),
            ("IFACE", "eth1"),
            ("NETS", "[10.0.0.0/8, loopback]"),
            ("EMPTY", ""),
        ]);
        let text = "\
name: sensor-${IFACE}
tags:
  - \"${IFACE}\"
  - '${SNAP}'
  - '$${IFACE}'
  - ${MISSING:fallback}
  - ${MISSING:${IFACE}}
wirebeat:
  internal_networks: ${NETS}
  interfaces:
    - name: ${IFACE}
      snaplen: ${SNAP}
      bpf_filter: ${EMPTY}
    - name: ${IFACE:eth9}
      snaplen: ${MISSING:9000}
      bpf_filter: port $${HOME} and ${MISSING:udp}
";
        let c = load_str(text, "wirebeat.yml", &[], &env).unwrap();
        assert_eq!(c.name.as_deref(), Some("sensor-eth1"));
        assert_eq!(
            c.tags,
            vec![
                "eth1".to_string(),
                "1500".into(),
                "${IFACE}".into(),
                "fallback".into(),
                "eth1".into()
            ]
        );
        assert_eq!(c.wirebeat.internal_networks, vec!["10.0.0.0/8".to_string(), "loopback".into()]);
        let i = &c.wirebeat.interfaces;
        assert_eq!(i[0], Interface { name: "eth1".into(), snaplen: 1500, ..Interface::default() });
        assert_eq!(
            i[1],
            Interface {
                name: "eth1".into(),
                snaplen: 9000,
                bpf_filter: "port ${HOME} and udp".into(),
                ..Interface::default()
            }
        );
        // A number from the environment where a string is expected stays as written.
        let env = env_of(&[("V", "1.10")]);
        let c = load_str("name: ${V}\nfields.version: ${V}\n", "wirebeat.yml", &[], &env).unwrap();
        assert_eq!(c.name.as_deref(), Some("1.10"));
        assert_eq!(c.fields.get("version").map(String::as_str), Some("1.10"));
        // In overrides too.
        let c = load_str("", "wirebeat.yml", &args(&["wirebeat.workers=${W:3}"]), &no_env).unwrap();
        assert_eq!(c.wirebeat.workers, 3);
        // A quoted reference stays text, unquoted it is read as YAML.
        let env = env_of(&[("NETS", "[a, b]")]);
        let c = load_str("name: \"${NETS}\"\ntags: ${NETS}\n", "wirebeat.yml", &[], &env).unwrap();
        assert_eq!(c.name.as_deref(), Some("[a, b]"));
        assert_eq!(c.tags, vec!["a".to_string(), "b".into()]);
        let c = load_str("", "wirebeat.yml", &args(&["name='${NETS}'"]), &env).unwrap();
        assert_eq!(c.name.as_deref(), Some("[a, b]"));
    }

    #[test]
    fn missing_variable_names_it_and_the_line() {
        let text = "# ${SNAP} in a comment does not count\nwirebeat:\n  interfaces:\n    - name: eth0\n      snaplen: ${SNAP}\n";
        let err = load_text(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 5: environment variable \"SNAP\" is not set (use ${SNAP:default} to give a default)"
        );
        assert_eq!(err.line(), Some(5));
        assert_eq!(err.exit_code(), 1);
        let err = load_str("", "wirebeat.yml", &args(&["name=${WHO}"]), &no_env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "-E name=${WHO}: environment variable \"WHO\" is not set (use ${WHO:default} to give a default)"
        );
        assert_eq!(
            err_text("a:\n  b: x\nname: \"${oops\"\n"),
            "wirebeat.yml: line 3: unterminated \"${\" in \"${oops\" (write $${ for a literal ${)"
        );
    }

    #[test]
    fn unknown_key_names_path_and_line() {
        let text = "\
# wirebeat.yml
wirebeat:
  workers: 2
  internal_networks: [private]

  flows:
    timout: 10s
";
        let err = load_text(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 7: unknown key \"wirebeat.flows.timout\" (expected one of: \
             enabled, period, timeout, tcp_timeout, udp_timeout, icmp_timeout, max_flows, \
             statistics, activity_timeout)"
        );
        assert_eq!(err.line(), Some(7));
        assert_eq!(err.key(), Some("wirebeat.flows.timout"));
        // Dotted spelling.
        let err = load_text("logging.level: info\n\nwirebeat.flows.timout: 10s\n").unwrap_err();
        assert_eq!(err.line(), Some(3));
        assert_eq!(err.key(), Some("wirebeat.flows.timout"));
        // Inside a list item, and at the top level.
        let err =
            load_text("wirebeat.interfaces:\n  - name: eth0\n  - name: eth1\n    snaplenn: 9\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 4: unknown key \"wirebeat.interfaces[1].snaplenn\" (expected one \
             of: name, bpf_filter, snaplen, promiscuous, buffer_size_mb, type, block_size_kb, \
             block_timeout_ms, fanout)"
        );
        assert_eq!(
            err_text("outputs:\n  console: {}\n"),
            "wirebeat.yml: line 1: unknown key \"outputs\" (expected one of: name, tags, fields, \
             wirebeat, processors, output, queue, setup, logging, http)"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = load_text("wirebeat:\n  namespace: lab\n  workers: two\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 3: wirebeat.workers: invalid type: string \"two\", expected usize"
        );
        assert_eq!(err.key(), Some("wirebeat.workers"));
        assert_eq!(
            err_text("output.file:\n  format: json\n"),
            "wirebeat.yml: line 2: output.file.format: unknown value \"json\" (expected one of: ndjson, csv)"
        );
        assert_eq!(
            err_text("wirebeat.tunnels.vxlan_ports: [4789, 70000]\n"),
            "wirebeat.yml: line 1: wirebeat.tunnels.vxlan_ports[1]: invalid value: integer `70000`, expected u16"
        );
        assert_eq!(
            err_text("- a\n- b\n"),
            "wirebeat.yml: line 1: the configuration must be a mapping of keys to values (like `wirebeat:`), not a list"
        );
        // Numbers and booleans become strings where strings are expected, as written.
        let c = load_text("name: 2024\ntags: [1.10, true]\nfields: {rack: 07, ok: yes}\n").unwrap();
        assert_eq!(c.name.as_deref(), Some("2024"));
        assert_eq!(c.tags, vec!["1.10".to_string(), "true".into()]);
        assert_eq!(c.fields.get("rack").map(String::as_str), Some("07"));
        assert_eq!(c.fields.get("ok").map(String::as_str), Some("yes"));
    }

    #[test]
    fn syntax_error_has_line() {
        let err = load_text("wirebeat:\n  workers: 2\n bad: [\n").unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
        assert!(err.line().is_some());
        let text = err.to_string();
        assert!(text.starts_with("wirebeat.yml: line "), "{text}");
        assert!(!text.contains(" column "), "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn durations() {
        let flows = |v: &str| {
            load_text(&format!("wirebeat.flows.timeout: {v}\n")).map(|c| c.wirebeat.flows.timeout)
        };
        assert_eq!(flows("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(flows("500ms").unwrap(), Duration(std::time::Duration::from_millis(500)));
        assert_eq!(flows("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(flows("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(flows("5").unwrap(), Duration::from_secs(5));
        assert_eq!(flows("\"5\"").unwrap(), Duration::from_secs(5));
        assert_eq!(flows("1.5").unwrap(), Duration(std::time::Duration::from_millis(1500)));
        assert_eq!(flows("250us").unwrap(), Duration(std::time::Duration::from_micros(250)));
        assert_eq!(
            flows("10x").unwrap_err().to_string(),
            "wirebeat.yml: line 1: wirebeat.flows.timeout: invalid duration unit \"x\" in \"10x\" \
             (expected ns, us, ms, s, m or h)"
        );
        assert_eq!(
            flows("-5").unwrap_err().to_string(),
            "wirebeat.yml: line 1: wirebeat.flows.timeout: invalid duration -5 (must not be negative)"
        );
        assert_eq!(
            flows("true").unwrap_err().to_string(),
            "wirebeat.yml: line 1: wirebeat.flows.timeout: invalid type: boolean `true`, expected \
             a duration such as 10s, 500ms or 1m (or a number of seconds)"
        );
        assert_eq!(
            flows("0s").unwrap_err().to_string(),
            "wirebeat.yml: line 1: wirebeat.flows.timeout: must be greater than 0"
        );
        assert!(flows("99999999999999999999h").is_err());
        for (d, s) in [
            (Duration::from_secs(0), "0s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(7200), "2h"),
            (Duration(std::time::Duration::from_millis(1500)), "1500ms"),
            (Duration(std::time::Duration::from_nanos(7)), "7ns"),
        ] {
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn two_outputs_enabled_is_an_error() {
        let text = "output.console:\n  enabled: true\noutput.file:\n  path: /tmp\n";
        let err = load_text(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wirebeat.yml: line 1: output: output.console and output.file are both enabled; \
             enable only one (set output.console.enabled: false, or remove output.file)"
        );
        assert_eq!(err.exit_code(), 1);
        let c = load_str(text, "wirebeat.yml", &args(&["output.console.enabled=false"]), &no_env)
            .unwrap();
        assert_eq!(c.output.file.as_ref().unwrap().path, "/tmp");
        // One output alone is fine.
        assert!(load_text("output.file.path: /tmp\n").is_ok());
    }

    #[test]
    fn to_yaml_round_trips() {
        let mut c = Config { name: Some("s1".into()), ..Config::default() };
        c.fields.insert("env".into(), "prod".into());
        c.wirebeat.interfaces.push(Interface { name: "eth0".into(), ..Interface::default() });
        c.wirebeat.flows.udp_timeout = Some(Duration(std::time::Duration::from_millis(2500)));
        c.output.file = Some(FileOutput { format: FileFormat::Csv, ..FileOutput::default() });
        let yaml = c.to_yaml();
        assert!(yaml.contains("udp_timeout: 2500ms\n"), "{yaml}");
        assert!(yaml.contains("timeout: 30s\n"), "{yaml}");
        assert!(!yaml.contains("null"), "{yaml}");
        assert!(!yaml.contains("tcp_timeout"), "{yaml}");
        assert_eq!(load_text(&yaml).unwrap(), c);
        assert_eq!(load_text(&Config::default().to_yaml()).unwrap(), Config::default());
    }

    const EXAMPLE: &str = include_str!("../../packaging/wirebeat.yml");

    #[test]
    fn packaged_example_loads_and_validates() {
        let c = load_text(EXAMPLE).unwrap();
        c.validate().unwrap();
        let expected = Config {
            output: crate::config::Output {
                console: Some(ConsoleOutput::default()),
                ..Default::default()
            },
            ..Config::default()
        };
        assert_eq!(c, expected);
    }

    /// Every `#key:` line of the example uncommented: the optional settings are real keys with
    /// their defaults (so the file documents every key correctly).
    #[test]
    fn packaged_example_optional_settings_are_valid() {
        let uncommented: String = EXAMPLE
            .lines()
            .map(|l| {
                let body = l.trim_start();
                let indent = &l[..l.len() - body.len()];
                match body.strip_prefix('#') {
                    Some(rest) if rest.starts_with(|c: char| c != ' ' && c != '#') => {
                        format!("{indent}{rest}\n")
                    }
                    _ => format!("{l}\n"),
                }
            })
            .collect();
        let err = load_text(&uncommented).unwrap_err();
        assert!(err.to_string().contains("output.console and output.file are both enabled"));
        let c = load_str(
            &uncommented,
            "wirebeat.yml",
            &args(&["output.console.enabled=false"]),
            &no_env,
        )
        .unwrap();
        let mut expected = Config {
            name: Some("sensor-1".into()),
            tags: vec!["dmz".into(), "span-port".into()],
            ..Config::default()
        };
        expected.fields.insert("env".into(), "production".into());
        expected.queue.disk = Some(crate::queue::DiskConfig::default());
        expected.wirebeat.interfaces =
            vec![Interface { name: "eth0".into(), ..Interface::default() }];
        expected.wirebeat.flows.tcp_timeout = Some(Duration::from_secs(30));
        expected.wirebeat.flows.udp_timeout = Some(Duration::from_secs(30));
        expected.wirebeat.flows.icmp_timeout = Some(Duration::from_secs(30));
        expected.output.console = Some(ConsoleOutput { enabled: false, pretty: false });
        expected.output.file = Some(FileOutput::default());
        expected.wirebeat.host_metadata.name = Some("sensor-1.example.org".into());
        // The example processors load and compile (their effect: src/processors/tests.rs).
        assert_eq!(c.config().processors.len(), 4);
        assert!(c.processors.is_some());
        expected.processors = c.config().processors.clone();
        assert_eq!(c, expected);
    }
}
