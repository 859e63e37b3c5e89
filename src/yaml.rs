//! YAML for the configuration: text → a tree of nodes that know their line (read with the
//! maintained, YAML 1.2 `saphyr-parser`), → plain [`Value`]s that serde can deserialize, and
//! [`Value`]s → block-style text.
//!
//! A leaf module: the configuration loader and the components' tests use it; it knows nothing of
//! wirebeat's keys. Scalars resolve as YAML 1.2's core schema (`~`/`null`/empty, `true`/`false`,
//! decimal, `0x` and `0o` integers, floats, `.inf`, `.nan`); quoted and block scalars are text.
//! Anchors and aliases are expanded; `<<` merge keys are applied by [`Value::apply_merge`].
//! Nothing here panics on any input: errors carry the line they were found on.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::Deserializer;

/// Deepest nesting accepted (reading recurses as deep as the input nests).
const MAX_DEPTH: usize = 256;
/// Most nodes a document may expand to (aliases copy their anchor's nodes: a few lines of
/// nested aliases could otherwise ask for exponential memory).
const MAX_NODES: usize = 1_000_000;

/// A problem with the YAML text, at a line (1-based) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub line: Option<usize>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

fn error(message: impl Into<String>, line: Option<usize>) -> Error {
    Error { message: message.into(), line }
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

/// A parsed node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// 1-based line of the node's first character.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar {
        text: String,
        style: Style,
        /// The tag as written (`!!str`), when there is one.
        tag: Option<String>,
        /// From an alias (`*name`): its text is not written where the node is used.
        alias: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// Parses one YAML document (an empty text is a null document).
pub fn parse(text: &str) -> Result<Node, Error> {
    let mut reader =
        Reader { parser: Parser::new_from_str(text), anchors: HashMap::new(), nodes: 0 };
    reader.document()
}

struct Reader<'t> {
    parser: Parser<'t, saphyr_parser::StrInput<'t>>,
    /// Anchored nodes by the parser's anchor id, for aliases.
    anchors: HashMap<usize, Node>,
    /// Nodes made so far, aliases' copies included.
    nodes: usize,
}

impl<'t> Reader<'t> {
    fn next(&mut self) -> Result<(Event<'t>, Span), Error> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(error(e.info().to_string(), Some(e.marker().line()))),
            None => Err(error("unexpected end of the YAML text", None)),
        }
    }

    fn document(&mut self) -> Result<Node, Error> {
        let mut root: Option<Node> = None;
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    if root.is_some() {
                        return Err(error(
                            "more than one YAML document (`---`) is not supported",
                            Some(span.start.line()),
                        ));
                    }
                    root = Some(self.node(None, 0)?);
                }
                other => {
                    return Err(error(
                        format!("unexpected YAML event {other:?}"),
                        Some(span.start.line()),
                    ))
                }
            }
        }
        Ok(root.unwrap_or(Node {
            kind: Kind::Scalar {
                text: String::new(),
                style: Style::Plain,
                tag: None,
                alias: false,
            },
            line: 1,
        }))
    }

    /// Reads the node that starts with `first` (or the next event).
    fn node(&mut self, first: Option<(Event<'t>, Span)>, depth: usize) -> Result<Node, Error> {
        let (ev, span) = match first {
            Some(e) => e,
            None => self.next()?,
        };
        let line = span.start.line();
        if depth > MAX_DEPTH {
            return Err(error(format!("nested deeper than {MAX_DEPTH} levels"), Some(line)));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(error(format!("more than {MAX_NODES} values"), Some(line)));
        }
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err(error("alias of an unknown anchor", Some(line)));
                };
                let mut node = node.clone();
                self.nodes = self.nodes.saturating_add(mark_alias(&mut node));
                if self.nodes > MAX_NODES {
                    return Err(error(format!("more than {MAX_NODES} values"), Some(line)));
                }
                node.line = line;
                return Ok(node);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let text = match text {
                    Cow::Borrowed(s) => s.to_string(),
                    Cow::Owned(s) => s,
                };
                (Node { kind: Kind::Scalar { text, style, tag, alias: false }, line }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(Some((ev, span)), depth + 1)?);
                }
                (Node { kind: Kind::Seq(items), line }, anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(Some((ev, span)), depth + 1)?;
                    let value = self.node(None, depth + 1)?;
                    entries.push((key, value));
                }
                (Node { kind: Kind::Map(entries), line }, anchor)
            }
            other => {
                return Err(error(format!("unexpected YAML event {other:?}"), Some(line)));
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

/// Marks a copied node as coming from an alias; returns how many nodes it holds.
fn mark_alias(node: &mut Node) -> usize {
    match &mut node.kind {
        Kind::Scalar { alias, .. } => {
            *alias = true;
            1
        }
        Kind::Seq(items) => 1 + items.iter_mut().map(mark_alias).sum::<usize>(),
        Kind::Map(entries) => {
            1 + entries.iter_mut().map(|(k, v)| mark_alias(k) + mark_alias(v)).sum::<usize>()
        }
    }
}

/// A number as YAML wrote it: an integer that fits, or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    UInt(u64),
    Int(i64),
    Float(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::UInt(n) => write!(f, "{n}"),
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) if x.is_nan() => f.write_str(".nan"),
            Number::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { ".inf" } else { "-.inf" })
            }
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// A YAML value with its scalars resolved. Mappings keep their order.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Sequence(Vec<Value>),
    Mapping(Mapping),
}

/// An ordered mapping (configurations are small: lookups are linear).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping(Vec<(Value, Value)>);

impl Mapping {
    pub fn new() -> Mapping {
        Mapping(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &Value) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| matches!(k, Value::String(s) if s == key)).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| matches!(k, Value::String(s) if s == key)).map(|(_, v)| v)
    }

    pub fn get_value_mut(&mut self, key: &Value) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value` (in place when present, else at the end).
    pub fn insert(&mut self, key: Value, value: Value) {
        match self.position(&key) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value at `key`, inserting `Null` at the end when missing.
    pub fn entry(&mut self, key: Value) -> &mut Value {
        let i = match self.position(&key) {
            Some(i) => i,
            None => {
                self.0.push((key, Value::Null));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Value, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Value, &Value) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
    }
}

impl<'a> IntoIterator for &'a Mapping {
    type Item = (&'a Value, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Value, Value)>,
        fn(&'a (Value, Value)) -> (&'a Value, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for Mapping {
    type Item = (Value, Value);
    type IntoIter = std::vec::IntoIter<(Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    pub fn is_mapping(&self) -> bool {
        matches!(self, Value::Mapping(_))
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self, Value::Sequence(_))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(Number::UInt(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Sequence(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The value at `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Mapping(m) => m.get(key),
            _ => None,
        }
    }

    /// The value at `key` when this is a mapping.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Mapping(m) => m.get_mut(key),
            _ => None,
        }
    }

    /// Applies `<<` merge keys (`<<: *defaults` or a list of them) everywhere below: the
    /// merged mappings' keys are added where the mapping does not set them itself.
    pub fn apply_merge(&mut self) -> Result<(), Error> {
        match self {
            Value::Sequence(items) => items.iter_mut().try_for_each(Value::apply_merge),
            Value::Mapping(m) => {
                let merge = Value::String("<<".into());
                if let Some(i) = m.position(&merge) {
                    let (_, sources) = m.0.remove(i);
                    let sources = match sources {
                        Value::Sequence(list) => list,
                        one => vec![one],
                    };
                    for source in sources {
                        let Value::Mapping(source) = source else {
                            return Err(error(
                                "a merge key `<<` must refer to a mapping or a list of mappings",
                                None,
                            ));
                        };
                        for (k, v) in source {
                            if m.position(&k).is_none() {
                                m.0.push((k, v));
                            }
                        }
                    }
                }
                m.0.iter_mut().try_for_each(|(_, v)| v.apply_merge())
            }
            _ => Ok(()),
        }
    }
}

/// `value["key"]`: the value at `key`, or null when there is none.
impl std::ops::Index<&str> for Value {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

/// `mapping["key"]`: the value at `key`, or null when there is none.
impl std::ops::Index<&str> for Mapping {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

/// A [`Value`] read from any self-describing format (so a document can be read into a
/// `BTreeMap<String, Value>`).
impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                de::Deserialize::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(Number::UInt(n)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(if n >= 0 { Number::UInt(n as u64) } else { Number::Int(n) }))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
                Ok(Value::Number(Number::Float(x)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(Value::Sequence(out))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut out = Mapping::new();
                while let Some((k, v)) = a.next_entry()? {
                    out.insert(k, v);
                }
                Ok(Value::Mapping(out))
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

/// Resolves a plain scalar by YAML 1.2's core schema.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Number(Number::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(Number::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(Number::Float(f64::NAN)),
        _ => {}
    }
    if let Some(n) = resolve_int(text) {
        return Value::Number(n);
    }
    let (sign, body) = match text.strip_prefix(['-', '+']) {
        Some(rest) => (&text[..1], rest),
        None => ("", text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() || digits(a)) && (b.is_empty() || digits(b)) && a.len() + b.len() > 0
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if mantissa_ok && exponent_ok {
        if let Ok(x) = format!("{sign}{body}").parse::<f64>() {
            return Value::Number(Number::Float(x));
        }
    }
    Value::String(text.to_string())
}

fn resolve_int(text: &str) -> Option<Number> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o") {
        (8, o)
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let n = 0i64.checked_sub_unsigned(magnitude)?;
        Some(if n == 0 { Number::UInt(0) } else { Number::Int(n) })
    } else {
        Some(Number::UInt(magnitude))
    }
}

impl Node {
    /// The resolved value. Keys written twice in one mapping are an error naming the key and
    /// both lines; so are tags other than YAML's own (`!!str`, `!!int`, …).
    pub fn to_value(&self) -> Result<Value, Error> {
        match &self.kind {
            Kind::Scalar { text, style, tag, .. } => {
                scalar_value(text, *style, tag.as_deref(), self.line)
            }
            Kind::Seq(items) => {
                items.iter().map(Node::to_value).collect::<Result<_, _>>().map(Value::Sequence)
            }
            Kind::Map(entries) => {
                let mut out = Mapping::new();
                let mut lines: Vec<usize> = Vec::new();
                for (k, v) in entries {
                    let key = k.to_value()?;
                    if let Some(i) = out.position(&key) {
                        return Err(Error {
                            message: format!(
                                "duplicate key {} (lines {} and {})",
                                describe(&key),
                                lines[i],
                                k.line
                            ),
                            line: Some(k.line),
                        });
                    }
                    lines.push(k.line);
                    out.0.push((key, v.to_value()?));
                }
                Ok(Value::Mapping(out))
            }
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Sequence(_) => "(a list)".into(),
        Value::Mapping(_) => "(a mapping)".into(),
    }
}

fn scalar_value(text: &str, style: Style, tag: Option<&str>, line: usize) -> Result<Value, Error> {
    let bad = |what: &str| error(format!("{text:?} is not {what}"), Some(line));
    Ok(match tag {
        None if style == Style::Plain => resolve_plain(text),
        None => Value::String(text.to_string()),
        Some("!!str" | "tag:yaml.org,2002:str") => Value::String(text.to_string()),
        Some("!!null" | "tag:yaml.org,2002:null") => match resolve_plain(text) {
            Value::Null => Value::Null,
            _ => return Err(bad("a null")),
        },
        Some("!!bool" | "tag:yaml.org,2002:bool") => match resolve_plain(text) {
            v @ Value::Bool(_) => v,
            _ => return Err(bad("a boolean")),
        },
        Some("!!int" | "tag:yaml.org,2002:int") => match resolve_int(text) {
            Some(n) => Value::Number(n),
            None => return Err(bad("an integer")),
        },
        Some("!!float" | "tag:yaml.org,2002:float") => match resolve_plain(text) {
            Value::Number(Number::Float(x)) => Value::Number(Number::Float(x)),
            Value::Number(Number::UInt(n)) => Value::Number(Number::Float(n as f64)),
            Value::Number(Number::Int(n)) => Value::Number(Number::Float(n as f64)),
            _ => return Err(bad("a float")),
        },
        Some(other) => {
            return Err(error(format!("the YAML tag {other} is not supported here"), Some(line)))
        }
    })
}

/// Parses `text` and deserializes it (for a section on its own, as in tests).
pub fn from_str<T: de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let mut value = parse(text)?.to_value()?;
    value.apply_merge()?;
    T::deserialize(value).map_err(|e| error(e.0, None))
}

/// Why a [`Value`] does not fit the type asked for (serde's own messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError(pub String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

impl<'de> Deserializer<'de> for Value {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(Number::UInt(n)) => visitor.visit_u64(n),
            Value::Number(Number::Int(n)) => visitor.visit_i64(n),
            Value::Number(Number::Float(x)) => visitor.visit_f64(x),
            Value::String(s) => visitor.visit_string(s),
            Value::Sequence(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.into_iter());
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Value::Mapping(m) => {
                let mut map = de::value::MapDeserializer::new(m.into_iter());
                let v = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(v)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    /// An empty value where a list is expected is an empty list.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => Value::Sequence(Vec::new()).deserialize_any(visitor),
            other => other.deserialize_any(visitor),
        }
    }

    /// An empty value where a mapping is expected is an empty mapping.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => Value::Mapping(Mapping::new()).deserialize_any(visitor),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Mapping(m) if m.len() == 1 => {
                visitor.visit_enum(de::value::MapAccessDeserializer::new(
                    de::value::MapDeserializer::new(m.into_iter()),
                ))
            }
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier ignored_any
    }
}

/// Block-style YAML for `value` (what `wirebeat test config -v` prints). Strings that would
/// read back as something else (numbers, booleans, null, or text YAML gives a meaning to) are
/// double-quoted, so the text loads back to the same value.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Mapping(m) if !m.is_empty() => emit_mapping(m, 0, &mut out),
        Value::Sequence(s) if !s.is_empty() => emit_sequence(s, 0, &mut out),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn emit_mapping(m: &Mapping, indent: usize, out: &mut String) {
    for (k, v) in m.iter() {
        out.push_str(&" ".repeat(indent));
        out.push_str(&inline(k));
        out.push(':');
        emit_child(v, indent, out, true);
    }
}

fn emit_sequence(items: &[Value], indent: usize, out: &mut String) {
    for v in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        emit_child(v, indent, out, false);
    }
}

/// The value after `key:` or `-`: inline on the line, or nested below it.
fn emit_child(v: &Value, indent: usize, out: &mut String, in_mapping: bool) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            if in_mapping {
                out.push('\n');
                emit_mapping(m, indent + 2, out);
            } else {
                // `- key: value` with the next keys aligned under the first.
                let mut nested = String::new();
                emit_mapping(m, indent + 2, &mut nested);
                out.push(' ');
                out.push_str(nested.trim_start());
            }
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            // A list under a key sits at the key's indentation, as is usual in YAML.
            emit_sequence(s, if in_mapping { indent } else { indent + 2 }, out);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_safe(s) => s.clone(),
        Value::String(s) => quote(s),
        Value::Sequence(_) => "[]".into(),
        Value::Mapping(_) => "{}".into(),
    }
}

/// Whether `s` written plain reads back as the same string.
fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if !matches!(resolve_plain(s), Value::String(_)) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return false;
    }
    if s.ends_with(char::is_whitespace) || s.contains(": ") || s.contains(" #") || s.ends_with(':')
    {
        return false;
    }
    s.chars().all(|c| !c.is_control())
}

/// A double-quoted YAML scalar (JSON's escapes are YAML's).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        parse(text).unwrap().to_value().unwrap()
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let n = |x| Value::Number(x);
        for (text, want) in [
            ("~", Value::Null),
            ("null", Value::Null),
            ("true", Value::Bool(true)),
            ("False", Value::Bool(false)),
            ("yes", Value::String("yes".into())),
            ("12", n(Number::UInt(12))),
            ("-3", n(Number::Int(-3))),
            ("0x1f", n(Number::UInt(31))),
            ("0o17", n(Number::UInt(15))),
            ("1.5", n(Number::Float(1.5))),
            ("-.5e1", n(Number::Float(-5.0))),
            ("10s", Value::String("10s".into())),
            ("inf", Value::String("inf".into())),
            ("1.2.3", Value::String("1.2.3".into())),
        ] {
            assert_eq!(resolve_plain(text), want, "{text}");
        }
        assert_eq!(value("a: '12'\n"), value("a: !!str 12\n"));
    }

    #[test]
    fn lines_anchors_and_merge() {
        let node = parse("a: 1\nb:\n  - x\n  - {c: d}\n").unwrap();
        let Kind::Map(entries) = &node.kind else { panic!("{node:?}") };
        assert_eq!(entries[1].0.line, 2);
        let Kind::Seq(items) = &entries[1].1.kind else { panic!() };
        assert_eq!(items[1].line, 4);
        let mut v = value("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n");
        v.apply_merge().unwrap();
        assert_eq!(v, value("base: {x: 1, y: 2}\nuse: {y: 3, x: 1}\n"));
    }

    #[test]
    fn errors_have_lines() {
        let e = parse("a: 1\nb: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(parse(bomb).is_err());
        let e = parse("a: 1\na: 2\n").unwrap().to_value().unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("\"a\""), "{e}");
        assert!(parse("a: *nothing\n").is_err());
        assert!(parse("---\na: 1\n---\nb: 2\n").is_err());
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn emitted_text_reads_back() {
        let v = value(
            "a: 1\nb: [x, '2', 'true', '', ' s', 'a: b', '#c', \"q\\\"\", null]\nc:\n  d: {}\n  e: []\n  \
             f:\n  - g: 1\n    h: [1, 2]\n  - - z\n",
        );
        let text = to_string(&v);
        assert_eq!(value(&text), v, "{text}");
    }
}
