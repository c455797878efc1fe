//! The parsed form of a FHIR search (`Observation?patient=123&code=http://loinc.org|8867-4`).
//!
//! Parsing resolves every parameter against the R4 definitions, so backends receive only
//! well-typed predicates. An unknown parameter is an error unless the caller is lenient.

use crate::search::extract::number_range;
use crate::search::{ParamType, SearchParam, param, parse_reference};
use crate::{Issue, IssueType};

/// A whole search: clauses are AND-ed; the predicates of one clause are OR-ed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchQuery {
    pub resource_type: String,
    pub clauses: Vec<Clause>,
    pub sort: Vec<Sort>,
    /// `_count`; `None` means the server default.
    pub count: Option<usize>,
    pub include: Vec<Include>,
    pub revinclude: Vec<Include>,
    /// `_summary=count`.
    pub summary_count: bool,
    /// `_total=accurate`.
    pub total_accurate: bool,
    /// `_page` (an opaque cursor the server issued in a next link).
    pub page: Option<String>,
    /// Parameters ignored under `Prefer: handling=lenient`, reported back to the client.
    pub ignored: Vec<String>,
}

/// One search parameter occurrence: `name[:modifier]=v1,v2` (OR-ed values).
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The parameter code (`code`, `_id`, `_lastUpdated`, ...).
    pub param: String,
    pub predicates: Vec<Predicate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenSystem {
    /// `code`: any system (or none).
    Any,
    /// `|code`: explicitly no system.
    None,
    /// `system|code` or `system|`.
    Is(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `param:missing=true|false`.
    Missing(bool),
    /// `_id=abc`.
    Id(String),
    /// Token: `code` is None for `system|`.
    Token {
        system: TokenSystem,
        code: Option<String>,
        /// `:not` modifier.
        not: bool,
    },
    /// String: default is starts-with on the normalized form; `:exact` and `:contains`.
    String {
        value: String,
        exact: bool,
        contains: bool,
    },
    /// Date or `_lastUpdated`: the search value's implicit range in ms since the epoch.
    Date { prefix: Prefix, lo: i64, hi: i64 },
    /// Number or quantity: the search value with its implicit precision range.
    Number {
        prefix: Prefix,
        value: f64,
        lo: f64,
        hi: f64,
        unit: Option<String>,
    },
    /// Reference: any of these `Type/id` targets (a bare id expands to every target type).
    Reference { targets: Vec<(String, String)> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// `_lastUpdated`, `_id` or a date parameter code.
    pub param: String,
    pub descending: bool,
}

/// `_include=Observation:patient` or `_revinclude=Observation:subject`.
#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    /// The type holding the reference.
    pub source_type: String,
    /// The reference search parameter code.
    pub param: String,
    /// An optional target type (`Observation:subject:Patient`).
    pub target_type: Option<String>,
}

/// Parses query pairs (already percent-decoded, in order) for `resource_type`.
///
/// Result parameters (`_count`, `_sort`, `_include`, `_revinclude`, `_summary`, `_total`,
/// `_page`, `_format`) are recognized; every other parameter must be a search parameter of the
/// type. With `lenient`, unknown parameters are dropped and listed in `ignored`; otherwise
/// each one is an issue. All problems are reported, not only the first.
///
/// Lenient handling also drops known parameters used in ways Yilian does not support
/// (chains, `_has`, unsupported modifiers), as FHIR's `handling=lenient` allows; invalid
/// values are errors either way. Messages name parameters, never values: a value may be
/// patient data. Parameters with an empty value are ignored, as servers commonly do.
pub fn parse_query(
    resource_type: &str,
    pairs: &[(String, String)],
    lenient: bool,
) -> Result<SearchQuery, Vec<Issue>> {
    let mut parser = QueryParser {
        query: SearchQuery {
            resource_type: resource_type.to_string(),
            ..SearchQuery::default()
        },
        issues: Vec::new(),
        lenient,
    };
    if !crate::is_supported_type(resource_type) {
        parser.issues.push(Issue::error(
            IssueType::NotSupported,
            format!("resource type '{resource_type}' is not supported"),
        ));
        return Err(parser.issues);
    }
    for (name, value) in pairs {
        parser.pair(name, value);
    }
    if parser.issues.is_empty() {
        Ok(parser.query)
    } else {
        Err(parser.issues)
    }
}

/// The largest page a client may ask for.
pub const MAX_COUNT: usize = 1000;

struct QueryParser {
    query: SearchQuery,
    issues: Vec<Issue>,
    lenient: bool,
}

impl QueryParser {
    fn pair(&mut self, name: &str, value: &str) {
        let (code, modifier) = match name.split_once(':') {
            Some((code, modifier)) => (code, Some(modifier)),
            None => (name, None),
        };
        match (code, modifier) {
            ("_count", None) => self.count(value),
            ("_sort", None) => self.sort(value),
            ("_include" | "_revinclude", None) => self.include(code, value),
            ("_include" | "_revinclude", Some(_)) => {
                self.unsupported(name, format!("'{name}' is not supported"));
            }
            ("_summary", None) => match value {
                "count" => self.query.summary_count = true,
                "false" => {}
                _ => self.unsupported(name, "only _summary=count and _summary=false are supported"),
            },
            ("_total", None) => match value {
                "accurate" => self.query.total_accurate = true,
                "none" | "estimate" => self.query.total_accurate = false,
                _ => self.invalid(IssueType::Value, "invalid value for _total"),
            },
            ("_page", None) => self.query.page = Some(value.to_string()),
            ("_format", None) => {
                if !is_json_format(value) {
                    self.unsupported(name, "only JSON is supported (_format)");
                }
            }
            ("_elements", _) => self.unsupported(name, "_elements is not supported"),
            ("_has", _) => self.unsupported(name, "reverse chaining (_has) is not supported"),
            _ if name.contains('.') => {
                let message = format!("chained search parameter '{name}' is not supported");
                self.unsupported(name, message);
            }
            _ => match param(&self.query.resource_type, code) {
                Some(def) => self.search_param(name, def, modifier, value),
                None => {
                    let message = format!(
                        "unknown search parameter '{code}' for {}",
                        self.query.resource_type
                    );
                    self.unsupported(name, message);
                }
            },
        }
    }

    fn search_param(&mut self, name: &str, def: &SearchParam, modifier: Option<&str>, value: &str) {
        let code = def.code;
        let mut predicates = Vec::new();
        if modifier == Some("missing") {
            for piece in split_escaped(value, b',') {
                match piece {
                    "true" => predicates.push(Predicate::Missing(true)),
                    "false" => predicates.push(Predicate::Missing(false)),
                    "" => {}
                    _ => {
                        let message =
                            format!("invalid :missing value for search parameter '{code}'");
                        self.invalid(IssueType::Value, message);
                        return;
                    }
                }
            }
            self.push_clause(code, predicates);
            return;
        }
        let Some(modifier) = self.check_modifier(name, def, modifier) else {
            return;
        };
        for piece in split_escaped(value, b',') {
            if piece.is_empty() {
                continue;
            }
            match value_predicate(def, modifier, piece) {
                Ok(predicate) => predicates.push(predicate),
                Err(issue) => {
                    self.issues.push(issue);
                    return;
                }
            }
        }
        self.push_clause(code, predicates);
    }

    /// The modifier if it is allowed for the parameter's type; otherwise records the issue.
    fn check_modifier<'m>(
        &mut self,
        name: &str,
        def: &SearchParam,
        modifier: Option<&'m str>,
    ) -> Option<Modifier<'m>> {
        let Some(modifier) = modifier else {
            return Some(Modifier::None);
        };
        let allowed = match (def.kind, modifier) {
            (_, "") => None,
            _ if def.code == "_id" || def.code == "_lastUpdated" => None,
            (ParamType::String, "exact") => Some(Modifier::Exact),
            (ParamType::String, "contains") => Some(Modifier::Contains),
            (ParamType::Token, "not") => Some(Modifier::Not),
            (ParamType::Reference, ty) if ty.starts_with(|c: char| c.is_ascii_uppercase()) => {
                if !def.targets.contains(&ty) {
                    let message = format!(
                        "resource type {ty} is not a target of search parameter '{}'",
                        def.code
                    );
                    self.invalid(IssueType::Invalid, message);
                    return None;
                }
                Some(Modifier::Type(ty))
            }
            _ => None,
        };
        if allowed.is_none() {
            let message = format!(
                "modifier ':{modifier}' is not supported for search parameter '{}'",
                def.code
            );
            self.unsupported(name, message);
        }
        allowed
    }

    fn push_clause(&mut self, code: &str, predicates: Vec<Predicate>) {
        if !predicates.is_empty() {
            self.query.clauses.push(Clause {
                param: code.to_string(),
                predicates,
            });
        }
    }

    fn count(&mut self, value: &str) {
        match value.parse::<usize>() {
            Ok(0) => {
                self.query.summary_count = true;
                self.query.count = None;
            }
            Ok(n) => self.query.count = Some(n.min(MAX_COUNT)),
            Err(_) => self.invalid(IssueType::Value, "invalid value for _count"),
        }
    }

    fn sort(&mut self, value: &str) {
        for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let (code, descending) = match key.strip_prefix('-') {
                Some(code) => (code, true),
                None => (key, false),
            };
            let sortable = matches!(code, "_lastUpdated" | "_id")
                || param(&self.query.resource_type, code)
                    .is_some_and(|p| p.kind == ParamType::Date);
            if sortable {
                self.query.sort.push(Sort {
                    param: code.to_string(),
                    descending,
                });
            } else {
                self.invalid(
                    IssueType::NotSupported,
                    format!(
                        "sorting {} by '{code}' is not supported",
                        self.query.resource_type
                    ),
                );
            }
        }
    }

    fn include(&mut self, which: &str, value: &str) {
        let mut parts = value.split(':');
        let source_type = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let target_type = parts.next();
        if parts.next().is_some() || source_type.is_empty() || code.is_empty() {
            if value == "*" || code == "*" {
                self.unsupported(which, format!("{which}=* is not supported"));
            } else {
                self.invalid(IssueType::Invalid, format!("invalid value for {which}"));
            }
            return;
        }
        if code == "*" {
            self.unsupported(which, format!("{which}=* is not supported"));
            return;
        }
        if which == "_include" && source_type != self.query.resource_type {
            let message = format!(
                "_include must start with the searched type {}",
                self.query.resource_type
            );
            self.invalid(IssueType::Invalid, message);
            return;
        }
        let def = param(source_type, code).filter(|p| p.kind == ParamType::Reference);
        let Some(def) = def else {
            let message = if crate::is_supported_type(source_type) {
                format!("'{code}' is not a reference search parameter of {source_type}")
            } else {
                format!("resource type '{source_type}' is not supported in {which}")
            };
            self.invalid(IssueType::Invalid, message);
            return;
        };
        if let Some(target) = target_type
            && !def.targets.contains(&target)
        {
            let message = format!("resource type {target} is not a target of {source_type}:{code}");
            self.invalid(IssueType::Invalid, message);
            return;
        }
        let include = Include {
            source_type: source_type.to_string(),
            param: code.to_string(),
            target_type: target_type.map(str::to_string),
        };
        if which == "_include" {
            self.query.include.push(include);
        } else {
            self.query.revinclude.push(include);
        }
    }

    /// A parameter Yilian understands but does not support, or does not know at all.
    fn unsupported(&mut self, name: &str, message: impl Into<String>) {
        if self.lenient {
            self.query.ignored.push(name.to_string());
        } else {
            self.issues
                .push(Issue::error(IssueType::NotSupported, message));
        }
    }

    fn invalid(&mut self, code: IssueType, message: impl Into<String>) {
        self.issues.push(Issue::error(code, message));
    }
}

#[derive(Clone, Copy)]
enum Modifier<'a> {
    None,
    Exact,
    Contains,
    Not,
    /// `subject:Patient=123`.
    Type(&'a str),
}

/// One comma-separated value of a search parameter, still escaped.
fn value_predicate(
    def: &SearchParam,
    modifier: Modifier<'_>,
    raw: &str,
) -> Result<Predicate, Issue> {
    let code = def.code;
    let bad = |what: &str| {
        Issue::error(
            IssueType::Value,
            format!("invalid {what} value for search parameter '{code}'"),
        )
    };
    if code == "_id" {
        let id = unescape(raw);
        return if crate::is_valid_id(&id) {
            Ok(Predicate::Id(id))
        } else {
            Err(bad("id"))
        };
    }
    match def.kind {
        ParamType::Date => {
            let (prefix, rest) = split_prefix(raw);
            let (lo, hi) = date_range(rest).ok_or_else(|| bad("date"))?;
            Ok(Predicate::Date { prefix, lo, hi })
        }
        ParamType::Number => {
            let (prefix, rest) = split_prefix(raw);
            let (value, lo, hi) = number_range(rest).ok_or_else(|| bad("number"))?;
            Ok(Predicate::Number {
                prefix,
                value,
                lo,
                hi,
                unit: None,
            })
        }
        ParamType::Quantity => {
            let (prefix, rest) = split_prefix(raw);
            let parts = split_escaped(rest, b'|');
            let (number, unit) = match parts[..] {
                [number] => (number, None),
                [number, _system, unit] => (number, Some(unescape(unit)).filter(|u| !u.is_empty())),
                _ => return Err(bad("quantity")),
            };
            let (value, lo, hi) = number_range(number).ok_or_else(|| bad("quantity"))?;
            Ok(Predicate::Number {
                prefix,
                value,
                lo,
                hi,
                unit,
            })
        }
        ParamType::String => {
            let value = unescape(raw);
            Ok(Predicate::String {
                value,
                exact: matches!(modifier, Modifier::Exact),
                contains: matches!(modifier, Modifier::Contains),
            })
        }
        ParamType::Uri => Ok(Predicate::Token {
            system: TokenSystem::None,
            code: Some(unescape(raw)),
            not: false,
        }),
        ParamType::Token => {
            let not = matches!(modifier, Modifier::Not);
            let (system, code) = match split_escaped(raw, b'|')[..] {
                [code] => (TokenSystem::Any, Some(unescape(code))),
                ["", ""] => return Err(bad("token")),
                ["", code] => (TokenSystem::None, Some(unescape(code))),
                [system, ""] => (TokenSystem::Is(unescape(system)), None),
                [system, code] => (TokenSystem::Is(unescape(system)), Some(unescape(code))),
                _ => return Err(bad("token")),
            };
            Ok(Predicate::Token { system, code, not })
        }
        ParamType::Reference => reference_predicate(def, modifier, &unescape(raw))
            .ok_or_else(|| bad("reference"))
            .and_then(|targets| {
                if targets.is_empty() {
                    Err(Issue::error(
                        IssueType::Invalid,
                        format!("reference type is not a target of search parameter '{code}'"),
                    ))
                } else {
                    Ok(Predicate::Reference { targets })
                }
            }),
        ParamType::Composite | ParamType::Special => Err(Issue::error(
            IssueType::NotSupported,
            format!("search parameter '{code}' is not supported"),
        )),
    }
}

/// The `Type/id` targets a reference search value may mean. A bare id means a resource on
/// this server of any target type; only the supported types can be stored here, so the
/// expansion stops at those (unless no target is supported).
fn reference_predicate(
    def: &SearchParam,
    modifier: Modifier<'_>,
    value: &str,
) -> Option<Vec<(String, String)>> {
    let pair = |ty: &str, id: &str| (ty.to_string(), id.to_string());
    if let Some((ty, id)) = parse_reference(value) {
        let allowed = def.targets.contains(&ty)
            && match modifier {
                Modifier::Type(expected) => expected == ty,
                _ => true,
            };
        return Some(if allowed {
            vec![pair(ty, id)]
        } else {
            Vec::new()
        });
    }
    if !crate::is_valid_id(value) {
        return None;
    }
    if let Modifier::Type(ty) = modifier {
        return Some(vec![pair(ty, value)]);
    }
    let supported: Vec<_> = def
        .targets
        .iter()
        .filter(|t| crate::is_supported_type(t))
        .map(|t| pair(t, value))
        .collect();
    Some(if supported.is_empty() {
        def.targets.iter().map(|t| pair(t, value)).collect()
    } else {
        supported
    })
}

/// A date search value's range. A `+` in a zone offset that the client did not encode
/// arrives as a space; it is read as the `+` it must have been.
fn date_range(value: &str) -> Option<(i64, i64)> {
    crate::time::parse_range(value).or_else(|| {
        value
            .contains(' ')
            .then(|| crate::time::parse_range(&value.replace(' ', "+")))
            .flatten()
    })
}

fn split_prefix(value: &str) -> (Prefix, &str) {
    let prefix = match value.get(..2) {
        Some("eq") => Prefix::Eq,
        Some("ne") => Prefix::Ne,
        Some("gt") => Prefix::Gt,
        Some("lt") => Prefix::Lt,
        Some("ge") => Prefix::Ge,
        Some("le") => Prefix::Le,
        Some("sa") => Prefix::Sa,
        Some("eb") => Prefix::Eb,
        Some("ap") => Prefix::Ap,
        _ => return (Prefix::Eq, value),
    };
    (prefix, &value[2..])
}

/// Splits at every `sep` not escaped by a backslash; the pieces keep their escapes.
fn split_escaped(value: &str, sep: u8) -> Vec<&str> {
    let bytes = value.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == sep {
            pieces.push(&value[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    pieces.push(&value[start..]);
    pieces
}

/// Removes the backslash of `\,`, `\|`, `\$` and `\\`.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_json_format(value: &str) -> bool {
    let media = value.split(';').next().unwrap_or_default().trim();
    matches!(
        media,
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir"
    )
}

#[cfg(test)]
mod tests;
