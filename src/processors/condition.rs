//! The `when:` conditions of the processors, compiled once from the configuration and
//! evaluated on the event's JSON object.

use super::{lookup, Invalid};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Resolves the network names of `internal_networks` (`private`, `loopback`, …).
pub type Named<'a> = &'a dyn Fn(&str) -> Option<Vec<IpNet>>;

/// The condition names, for error messages.
pub const CONDITIONS: &[&str] =
    &["equals", "contains", "regexp", "network", "has_fields", "range", "and", "or", "not"];

/// Most nested `and`/`or`/`not` levels: a condition is configuration, not data, but a
/// recursive evaluation must have a bound.
pub const MAX_DEPTH: usize = 32;

pub(super) enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

pub(super) struct Range {
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
}

pub(super) enum Condition {
    Equals(Vec<(String, Scalar)>),
    Contains(Vec<(String, String)>),
    Regexp(Vec<(String, regex::Regex)>),
    /// The field's networks; `public` is the complement of the special ranges.
    Network(Vec<(String, Vec<IpNet>, bool)>),
    HasFields(Vec<String>),
    Range(Vec<(String, Range)>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

/// The leaves of a field mapping (the loader splits dotted keys into nested mappings, so
/// `{http.response.status_code: 200}` arrives nested): `(dotted field, value)`. `stop` says
/// whether an object is itself a leaf value.
fn leaves<'v>(
    prefix: &str,
    v: &'v Value,
    stop: &dyn Fn(&Map<String, Value>) -> bool,
    out: &mut Vec<(String, &'v Value)>,
) {
    match v {
        Value::Object(m) if !stop(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&p, x, stop, out);
            }
        }
        _ => out.push((prefix.to_owned(), v)),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

impl Condition {
    pub(super) fn compile(v: &Value, key: &str, named: Named<'_>) -> Result<Condition, Invalid> {
        Self::compile_at(v, key, named, 0)
    }

    fn compile_at(
        v: &Value,
        key: &str,
        named: Named<'_>,
        depth: usize,
    ) -> Result<Condition, Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid::new(key, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let Value::Object(m) = v else {
            return Err(Invalid::new(
                key,
                format!(
                    "a condition is a mapping like {{equals: {{field: value}}}}, not {}",
                    kind(v)
                ),
            ));
        };
        let mut it = m.iter();
        let (Some((name, body)), None) = (it.next(), it.next()) else {
            let names: Vec<&str> = m.keys().map(String::as_str).collect();
            return Err(Invalid::new(
                key,
                if names.is_empty() {
                    format!("empty condition (expected one of: {})", CONDITIONS.join(", "))
                } else {
                    format!(
                        "one condition per mapping, got {} (combine them with and/or)",
                        names.join(", ")
                    )
                },
            ));
        };
        let key = format!("{key}.{name}");
        let fields = |stop: &dyn Fn(&Map<String, Value>) -> bool| {
            let mut out = Vec::new();
            if !body.is_object() {
                return Err(Invalid::new(
                    &key,
                    format!("expected a mapping of fields to values, not {}", kind(body)),
                ));
            }
            leaves("", body, stop, &mut out);
            if out.is_empty() {
                return Err(Invalid::new(&key, "names no field"));
            }
            Ok(out)
        };
        let never = |_: &Map<String, Value>| false;
        let list = |what: &str| -> Result<&Vec<Value>, Invalid> {
            match body {
                Value::Array(a) if !a.is_empty() => Ok(a),
                _ => Err(Invalid::new(&key, format!("expected a non-empty list of {what}"))),
            }
        };
        Ok(match name.as_str() {
            "equals" => {
                let mut out = Vec::new();
                for (f, x) in fields(&never)? {
                    let s = match x {
                        Value::String(s) => Scalar::Str(s.clone()),
                        Value::Number(n) => Scalar::Num(n.as_f64().unwrap_or(f64::NAN)),
                        Value::Bool(b) => Scalar::Bool(*b),
                        other => {
                            return Err(Invalid::new(
                                format!("{key}.{f}"),
                                format!(
                                    "equals takes a string, number or boolean, not {}",
                                    kind(other)
                                ),
                            ))
                        }
                    };
                    out.push((f, s));
                }
                Condition::Equals(out)
            }
            "contains" | "regexp" => {
                let mut strs = Vec::new();
                for (f, x) in fields(&never)? {
                    let s = match x {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        other => {
                            return Err(Invalid::new(
                                format!("{key}.{f}"),
                                format!("{name} takes a string, not {}", kind(other)),
                            ))
                        }
                    };
                    strs.push((f, s));
                }
                if name == "contains" {
                    Condition::Contains(strs)
                } else {
                    let mut out = Vec::new();
                    for (f, s) in strs {
                        let re = regex::Regex::new(&s).map_err(|e| {
                            let first = e.to_string();
                            let line = first.lines().last().unwrap_or("").trim().to_owned();
                            Invalid::new(
                                format!("{key}.{f}"),
                                format!("invalid regular expression {s:?}: {line}"),
                            )
                        })?;
                        out.push((f, re));
                    }
                    Condition::Regexp(out)
                }
            }
            "network" => {
                let mut out = Vec::new();
                for (f, x) in fields(&never)? {
                    let entries: Vec<&Value> = match x {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    let (mut nets, mut public) = (Vec::new(), false);
                    for e in entries {
                        let Some(s) = e.as_str() else {
                            return Err(Invalid::new(
                                format!("{key}.{f}"),
                                format!(
                                    "expected a CIDR, an address or a network name, not {}",
                                    kind(e)
                                ),
                            ));
                        };
                        let s = s.trim();
                        if s == "public" {
                            public = true;
                        } else if s == "unspecified" {
                            nets.push(IpNet::from(IpAddr::from([0u8; 4])));
                            nets.push(IpNet::from(IpAddr::from([0u16; 8])));
                        } else if let Some(n) = named(s) {
                            nets.extend(n);
                        } else if let Ok(n) = s.parse::<IpNet>() {
                            nets.push(n.trunc());
                        } else if let Ok(a) = s.parse::<IpAddr>() {
                            nets.push(IpNet::from(a));
                        } else {
                            return Err(Invalid::new(
                                format!("{key}.{f}"),
                                format!(
                                    "{s:?} is neither a CIDR, an address nor one of: private, \
                                     loopback, link_local, unique_local, multicast, unicast, \
                                     public, unspecified"
                                ),
                            ));
                        }
                    }
                    out.push((f, nets, public));
                }
                Condition::Network(out)
            }
            "has_fields" => {
                let mut out = Vec::new();
                for x in list("field names")? {
                    match x.as_str() {
                        Some(s) if !s.is_empty() => out.push(s.to_owned()),
                        _ => return Err(Invalid::new(&key, "field names are non-empty strings")),
                    }
                }
                Condition::HasFields(out)
            }
            "range" => {
                const OPS: &[&str] = &["gt", "gte", "lt", "lte"];
                let is_range = |m: &Map<String, Value>| {
                    !m.is_empty() && m.keys().all(|k| OPS.contains(&k.as_str()))
                };
                // `{field: {gte: 1}}`, or Beats' spelling `{field.gte: 1}` when the key
                // stays dotted.
                let mut by_field: Vec<(String, Map<String, Value>)> = Vec::new();
                for (f, x) in fields(&is_range)? {
                    let (f, ops) = match x {
                        Value::Object(ops) => (f, ops.clone()),
                        other => match f.rsplit_once('.') {
                            Some((field, op)) if OPS.contains(&op) => {
                                let mut m = Map::new();
                                m.insert(op.to_owned(), other.clone());
                                (field.to_owned(), m)
                            }
                            _ => {
                                return Err(Invalid::new(
                                    format!("{key}.{f}"),
                                    "expected a mapping of gt, gte, lt, lte to numbers",
                                ))
                            }
                        },
                    };
                    match by_field.iter_mut().find(|(g, _)| *g == f) {
                        Some((_, m)) => m.extend(ops),
                        None => by_field.push((f, ops)),
                    }
                }
                let mut out = Vec::new();
                for (f, ops) in &by_field {
                    let num = |op: &str| -> Result<Option<f64>, Invalid> {
                        match ops.get(op) {
                            None => Ok(None),
                            Some(Value::Number(n)) => Ok(n.as_f64()),
                            Some(other) => Err(Invalid::new(
                                format!("{key}.{f}.{op}"),
                                format!("expected a number, not {}", kind(other)),
                            )),
                        }
                    };
                    out.push((
                        f.clone(),
                        Range {
                            gt: num("gt")?,
                            gte: num("gte")?,
                            lt: num("lt")?,
                            lte: num("lte")?,
                        },
                    ));
                }
                Condition::Range(out)
            }
            "and" | "or" => {
                let mut out = Vec::new();
                for (i, c) in list("conditions")?.iter().enumerate() {
                    out.push(Self::compile_at(c, &format!("{key}[{i}]"), named, depth + 1)?);
                }
                if name == "and" {
                    Condition::And(out)
                } else {
                    Condition::Or(out)
                }
            }
            "not" => Condition::Not(Box::new(Self::compile_at(body, &key, named, depth + 1)?)),
            other => {
                return Err(Invalid::new(
                    &key,
                    format!(
                        "unknown condition {other:?} (expected one of: {})",
                        CONDITIONS.join(", ")
                    ),
                ))
            }
        })
    }

    /// Whether the event `doc` satisfies the condition.
    pub(super) fn matches(&self, doc: &Map<String, Value>) -> bool {
        // A list field matches when one of its elements does.
        fn any(v: &Value, f: &dyn Fn(&Value) -> bool) -> bool {
            match v {
                Value::Array(a) => a.iter().any(f),
                other => f(other),
            }
        }
        let field = |f: &str| lookup(doc, f);
        match self {
            Condition::Equals(list) => list.iter().all(|(f, want)| {
                field(f).is_some_and(|v| {
                    any(v, &|x| match (want, x) {
                        (Scalar::Str(s), Value::String(y)) => s == y,
                        (Scalar::Num(n), Value::Number(y)) => y.as_f64() == Some(*n),
                        (Scalar::Bool(b), Value::Bool(y)) => b == y,
                        _ => false,
                    })
                })
            }),
            Condition::Contains(list) => list.iter().all(|(f, want)| {
                field(f).is_some_and(|v| any(v, &|x| x.as_str().is_some_and(|s| s.contains(want))))
            }),
            Condition::Regexp(list) => list.iter().all(|(f, re)| {
                field(f).is_some_and(|v| any(v, &|x| x.as_str().is_some_and(|s| re.is_match(s))))
            }),
            Condition::Network(list) => list.iter().all(|(f, nets, public)| {
                field(f).is_some_and(|v| {
                    any(v, &|x| {
                        let Some(ip) = x.as_str().and_then(|s| s.parse::<IpAddr>().ok()) else {
                            return false;
                        };
                        nets.iter().any(|n| n.contains(&ip)) || (*public && is_public(&ip))
                    })
                })
            }),
            Condition::HasFields(list) => {
                list.iter().all(|f| field(f).is_some_and(|v| !v.is_null()))
            }
            Condition::Range(list) => list.iter().all(|(f, r)| {
                field(f).and_then(Value::as_f64).is_some_and(|x| {
                    r.gt.is_none_or(|b| x > b)
                        && r.gte.is_none_or(|b| x >= b)
                        && r.lt.is_none_or(|b| x < b)
                        && r.lte.is_none_or(|b| x <= b)
                })
            }),
            Condition::And(list) => list.iter().all(|c| c.matches(doc)),
            Condition::Or(list) => list.iter().any(|c| c.matches(doc)),
            Condition::Not(c) => !c.matches(doc),
        }
    }
}

/// Beats' `public`: not private (RFC 1918, CGNAT, unique local), loopback, link-local,
/// multicast, unspecified or broadcast.
fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_unspecified()
                || a.is_broadcast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}
