//! Extraction of search values from a resource at write time: evaluates each parameter's
//! FHIRPath expression (the subset R4 search parameters use) and normalizes the values.
//!
//! Runs on every write, so expressions are parsed once for the whole process and values are
//! read in place. It never fails: a value that does not fit its parameter (an unparsable
//! date, a contained reference) is simply not indexed. `_id` and `_lastUpdated` are left to
//! the store, which knows them without looking into the resource.

use crate::search::fhirpath::{self, Expr, Item};
use crate::search::params::{self, ParamType, SearchParam};
use crate::search::{IndexEntry, IndexValue};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// Every index entry of `resource` for the search parameters of its type.
pub fn extract(resource: &Value) -> Vec<IndexEntry> {
    let mut entries = Vec::new();
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        return entries;
    };
    let compiled = compiled();
    let mut items = Vec::new();
    for i in params::range_of(resource_type) {
        let param = &params::all()[i];
        if matches!(param.code, "_id" | "_lastUpdated") {
            continue;
        }
        let Ok(expr) = &compiled[i] else {
            continue;
        };
        items.clear();
        expr.evaluate(resource, &mut items);
        let start = entries.len();
        for &item in &items {
            normalize(param, item, &mut |value| {
                if !entries[start..]
                    .iter()
                    .any(|e: &IndexEntry| e.value == value)
                {
                    entries.push(IndexEntry {
                        param: param.code,
                        value,
                    });
                }
            });
        }
    }
    entries
}

/// The resource type and id a literal reference names: `Patient/123` and
/// `Patient/123/_history/2` give (`Patient`, `123`). Absolute URLs, contained (`#p1`),
/// `urn:` and conditional references name nothing on this server.
pub fn parse_reference(reference: &str) -> Option<(&str, &str)> {
    // Only a relative `Type/id` (or `Type/id/_history/v`) names a resource on this server.
    // An absolute URL may name the same `Type/id` on another server; treating it as local
    // would file another person's record under this patient.
    let segments: Vec<&str> = reference.split('/').collect();
    let (ty, id) = match segments.as_slice() {
        [ty, id] | [ty, id, "_history", _] => (*ty, *id),
        _ => return None,
    };
    let is_type = ty.starts_with(|c: char| c.is_ascii_uppercase())
        && ty.bytes().all(|b| b.is_ascii_alphanumeric());
    (is_type && crate::is_valid_id(id)).then_some((ty, id))
}

/// The value a decimal's text denotes and the range its precision implies: `37.5` gives
/// (37.5, 37.45, 37.55), `100` gives (100, 99.5, 100.5), `1.5e2` gives (150, 145, 155).
pub(crate) fn number_range(text: &str) -> Option<(f64, f64, f64)> {
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() || text.starts_with('+') || text.contains(char::is_whitespace) {
        return None;
    }
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let decimals = mantissa.find('.').map_or(0, |dot| mantissa.len() - dot - 1);
    // Half a unit in the last place. Scaling to an integer first keeps `5.4` giving
    // 5.35..5.45 rather than 5.3500000000000005.
    let places = i32::try_from(decimals).ok()? - exponent;
    let (lo, hi) = if places > 0 {
        let scale = 10f64.powi(places);
        let scaled = value * scale;
        ((scaled - 0.5) / scale, (scaled + 0.5) / scale)
    } else {
        let half = 0.5 * 10f64.powi(-places);
        (value - half, value + half)
    };
    Some((value, lo, hi))
}

/// Every parameter's parsed expression, parallel to [`params::all`]; an expression outside
/// the supported FHIRPath subset holds the reason.
pub(crate) fn compiled() -> &'static [Result<Expr, String>] {
    static COMPILED: OnceLock<Vec<Result<Expr, String>>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        params::all()
            .iter()
            .map(|p| fhirpath::parse(p.expression))
            .collect()
    })
}

/// Turns one expression result into the index values of `param`'s type.
fn normalize(param: &SearchParam, item: Item<'_>, emit: &mut impl FnMut(IndexValue)) {
    let value = match item {
        Item::Node(value) => value,
        Item::Bool(b) => {
            if param.kind == ParamType::Token {
                emit(token(None, if b { "true" } else { "false" }));
            }
            return;
        }
        Item::Str(_) | Item::Resolved(_) => return,
    };
    match param.kind {
        ParamType::Token => tokens(value, emit),
        ParamType::String => strings(value, emit),
        ParamType::Date => dates(value, emit),
        ParamType::Reference => {
            let reference = match value {
                Value::Object(map) => map.get("reference").and_then(Value::as_str),
                // A canonical, for the few reference parameters on canonical elements.
                Value::String(s) => Some(s.as_str()),
                _ => None,
            };
            if let Some((ty, id)) = reference.and_then(parse_reference) {
                emit(IndexValue::Reference {
                    target_type: ty.to_string(),
                    id: id.to_string(),
                });
            }
        }
        ParamType::Number | ParamType::Quantity => numbers(value, emit),
        ParamType::Uri => {
            if let Value::String(s) = value {
                emit(token(None, s));
            }
        }
        ParamType::Composite | ParamType::Special => {}
    }
}

/// Coding, CodeableConcept, Identifier, ContactPoint and primitives.
fn tokens(value: &Value, emit: &mut impl FnMut(IndexValue)) {
    match value {
        Value::String(s) => emit(token(None, s)),
        Value::Bool(b) => emit(token(None, if *b { "true" } else { "false" })),
        Value::Number(n) => emit(token(None, &n.to_string())),
        Value::Object(map) => {
            if let Some(codings) = map.get("coding").and_then(Value::as_array) {
                for coding in codings {
                    if let Value::Object(coding) = coding {
                        coding_token(coding, emit);
                    }
                }
            } else if map.contains_key("code") {
                coding_token(map, emit);
            } else if let Some(value) = map.get("value").and_then(Value::as_str) {
                // Identifier or ContactPoint. A ContactPoint's system is a code such as
                // `phone`, not a namespace: FHIR searches its value alone.
                let system = map.get("system").and_then(Value::as_str);
                let system = system.filter(|s| !CONTACT_POINT_SYSTEMS.contains(s));
                if !value.is_empty() {
                    emit(token(system, value));
                }
            }
        }
        _ => {}
    }
}

const CONTACT_POINT_SYSTEMS: &[&str] = &["phone", "fax", "email", "pager", "url", "sms", "other"];

fn coding_token(coding: &Map<String, Value>, emit: &mut impl FnMut(IndexValue)) {
    if let Some(code) = coding.get("code").and_then(Value::as_str) {
        let system = coding.get("system").and_then(Value::as_str);
        emit(token(system, code));
    }
}

fn token(system: Option<&str>, code: &str) -> IndexValue {
    IndexValue::Token {
        system: system.map(str::to_string),
        code: code.to_string(),
    }
}

/// String primitives, and the text parts of HumanName and Address.
fn strings(value: &Value, emit: &mut impl FnMut(IndexValue)) {
    const PARTS: &[&str] = &[
        "family",
        "given",
        "prefix",
        "suffix",
        "text",
        "line",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
    ];
    match value {
        Value::String(s) => string(s, emit),
        Value::Object(map) => {
            for part in PARTS {
                match map.get(*part) {
                    Some(Value::String(s)) => string(s, emit),
                    Some(Value::Array(items)) => {
                        for item in items {
                            if let Value::String(s) = item {
                                string(s, emit);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn string(s: &str, emit: &mut impl FnMut(IndexValue)) {
    if !s.trim().is_empty() {
        emit(IndexValue::String(s.to_string()));
    }
}

/// date, dateTime and instant primitives, Period and Timing.
fn dates(value: &Value, emit: &mut impl FnMut(IndexValue)) {
    match value {
        Value::String(s) => {
            if let Some((lo, hi)) = crate::time::parse_range(s) {
                emit(IndexValue::Date { lo, hi });
            }
        }
        Value::Object(map) => {
            let start = map.get("start").and_then(Value::as_str);
            let end = map.get("end").and_then(Value::as_str);
            if start.is_some() || end.is_some() {
                let lo = match start {
                    Some(s) => crate::time::parse_range(s).map(|r| r.0),
                    None => Some(i64::MIN),
                };
                let hi = match end {
                    Some(s) => crate::time::parse_range(s).map(|r| r.1),
                    None => Some(i64::MAX),
                };
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    emit(IndexValue::Date { lo, hi });
                }
            } else if let Some(events) = map.get("event").and_then(Value::as_array) {
                for event in events {
                    if let Value::String(_) = event {
                        dates(event, emit);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Numbers, Quantity (and Age, Duration, ...) and Range. SampledData is not indexed.
fn numbers(value: &Value, emit: &mut impl FnMut(IndexValue)) {
    match value {
        Value::Number(n) => {
            if let Some((value, lo, hi)) = number_range(&n.to_string()) {
                emit(IndexValue::Number {
                    value,
                    lo,
                    hi,
                    unit: None,
                });
            }
        }
        Value::Object(map) => {
            if let Some((value, lo, hi)) = quantity(map) {
                emit(IndexValue::Number {
                    value,
                    lo,
                    hi,
                    unit: unit(map),
                });
            } else if map.contains_key("low") || map.contains_key("high") {
                // A Range: from the bottom of low's precision to the top of high's; an open
                // end stays open. The value is the midpoint of the closed ends.
                let low = map.get("low").and_then(Value::as_object);
                let high = map.get("high").and_then(Value::as_object);
                let low_q = low.and_then(quantity);
                let high_q = high.and_then(quantity);
                if low_q.is_none() && high_q.is_none() {
                    return;
                }
                let lo = low_q.map_or(f64::MIN, |q| q.1);
                let hi = high_q.map_or(f64::MAX, |q| q.2);
                let value = match (low_q, high_q) {
                    (Some(l), Some(h)) => (l.0 + h.0) / 2.0,
                    (Some(l), None) => l.0,
                    (None, Some(h)) => h.0,
                    (None, None) => return,
                };
                let unit = low.and_then(unit).or_else(|| high.and_then(unit));
                emit(IndexValue::Number {
                    value,
                    lo,
                    hi,
                    unit,
                });
            }
        }
        _ => {}
    }
}

fn quantity(map: &Map<String, Value>) -> Option<(f64, f64, f64)> {
    match map.get("value")? {
        Value::Number(n) => number_range(&n.to_string()),
        _ => None,
    }
}

fn unit(map: &Map<String, Value>) -> Option<String> {
    map.get("code")
        .or_else(|| map.get("unit"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests;
