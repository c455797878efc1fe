//! Formats of FHIR primitive values in JSON, after the R4 regular expressions, and the
//! format of `Reference.reference`.
//!
//! Small hand-written matchers over bytes: no regex engine, no allocation. They answer
//! valid or not; they must never build a message from the value (it may be patient data).

use crate::model::Primitive;
use serde_json::Value;

/// Why a primitive value is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The JSON value has the wrong kind; holds the kind it must be.
    Json(&'static str),
    Empty,
    Format,
    Range,
    TooLong,
    /// A character below U+0020 other than tab, carriage return and line feed (R4 strings
    /// must not hold them, and PostgreSQL text cannot hold U+0000).
    Control,
}

/// The most characters a FHIR string may have (1 MiB).
const MAX_STRING_CHARS: usize = 1024 * 1024;

pub(crate) fn check(value: &Value, primitive: Primitive) -> Result<(), Problem> {
    match primitive {
        Primitive::Boolean => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(Problem::Json("boolean")),
        },
        Primitive::Integer | Primitive::UnsignedInt | Primitive::PositiveInt => match value {
            Value::Number(n) => integer(n.as_str(), primitive),
            _ => Err(Problem::Json("number")),
        },
        // serde_json has checked the JSON number grammar, which is the R4 decimal grammar.
        Primitive::Decimal => match value {
            Value::Number(_) => Ok(()),
            _ => Err(Problem::Json("number")),
        },
        _ => match value {
            Value::String(s) => string(s, primitive),
            _ => Err(Problem::Json("string")),
        },
    }
}

/// Whether `reference` is a literal reference R4 allows: `Type/id`, `Type/id/_history/vid`,
/// the same at the end of an absolute http(s) URL, `#local` (contained; `#` alone is the
/// container), `urn:uuid:...`, `urn:oid:...`, or a conditional `Type?query` (transactions).
pub(crate) fn is_reference(reference: &str) -> bool {
    if let Some(local) = reference.strip_prefix('#') {
        return local.is_empty() || crate::is_valid_id(local);
    }
    if reference.starts_with("urn:uuid:") {
        return is_uuid(reference);
    }
    if reference.starts_with("urn:oid:") {
        return is_oid(reference);
    }
    if reference.bytes().any(|b| b.is_ascii_whitespace()) {
        return false;
    }
    if let Some((resource_type, query)) = reference.split_once('?') {
        return !query.is_empty() && crate::model::is_resource_type(resource_type);
    }
    let (url, absolute) = match reference
        .strip_prefix("https://")
        .or_else(|| reference.strip_prefix("http://"))
    {
        Some(url) => (url, true),
        None => (reference, false),
    };
    let mut segments = url.rsplit('/');
    let last = segments.next().unwrap_or_default();
    let before = segments.next();
    let (resource_type, id, version) = if before == Some("_history") {
        let id = segments.next();
        (segments.next(), id, Some(last))
    } else {
        (before, Some(last), None)
    };
    // What remains is the service base: a host (and path) when absolute, nothing when relative.
    let base_ok = match segments.next() {
        Some(_) => absolute && !url.starts_with('/'),
        None => !absolute,
    };
    base_ok
        && resource_type.is_some_and(crate::model::is_resource_type)
        && id.is_some_and(crate::is_valid_id)
        && version.is_none_or(crate::is_valid_id)
}

fn integer(text: &str, primitive: Primitive) -> Result<(), Problem> {
    if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return Err(Problem::Format);
    }
    let Ok(n) = text.parse::<i64>() else {
        return Err(Problem::Range);
    };
    let min = match primitive {
        Primitive::PositiveInt => 1,
        Primitive::UnsignedInt if text.starts_with('-') => return Err(Problem::Format),
        Primitive::UnsignedInt => 0,
        _ => i64::from(i32::MIN),
    };
    if n < min || n > i64::from(i32::MAX) {
        return Err(Problem::Range);
    }
    Ok(())
}

fn string(s: &str, primitive: Primitive) -> Result<(), Problem> {
    if s.is_empty() {
        return Err(Problem::Empty);
    }
    if primitive != Primitive::Base64Binary
        && s.bytes()
            .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n'))
    {
        return Err(Problem::Control);
    }
    let valid = match primitive {
        Primitive::String | Primitive::Markdown => {
            if s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS {
                return Err(Problem::TooLong);
            }
            true
        }
        Primitive::Code => is_code(s),
        Primitive::Id => crate::is_valid_id(s),
        Primitive::Uri | Primitive::Url | Primitive::Canonical => {
            !s.chars().any(char::is_whitespace)
        }
        Primitive::Oid => is_oid(s),
        Primitive::Uuid => is_uuid(s),
        Primitive::Base64Binary => is_base64(s),
        Primitive::Date => partial_date(s.as_bytes()).is_some_and(|(rest, _)| rest.is_empty()),
        Primitive::DateTime => is_date_time(s.as_bytes()),
        Primitive::Instant => is_instant(s.as_bytes()),
        Primitive::Time => time_of_day(s.as_bytes()).is_some_and(<[u8]>::is_empty),
        Primitive::Xhtml => s.starts_with("<div"),
        Primitive::Boolean
        | Primitive::Integer
        | Primitive::UnsignedInt
        | Primitive::PositiveInt
        | Primitive::Decimal => unreachable!("not a string primitive"),
    };
    if valid { Ok(()) } else { Err(Problem::Format) }
}

/// `[^\s]+(\s[^\s]+)*`: no leading, trailing or doubled whitespace.
fn is_code(s: &str) -> bool {
    let mut previous_space = true;
    for c in s.chars() {
        let space = c.is_whitespace();
        if space && previous_space {
            return false;
        }
        previous_space = space;
    }
    !previous_space
}

/// `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`
fn is_oid(s: &str) -> bool {
    let Some(oid) = s.strip_prefix("urn:oid:") else {
        return false;
    };
    let mut arcs = oid.split('.');
    let first_ok = matches!(arcs.next(), Some("0" | "1" | "2"));
    let mut count = 0;
    let rest_ok = arcs.all(|arc| {
        count += 1;
        !arc.is_empty()
            && arc.bytes().all(|b| b.is_ascii_digit())
            && (arc == "0" || !arc.starts_with('0'))
    });
    first_ok && rest_ok && count > 0
}

/// `urn:uuid:` and a lowercase 8-4-4-4-12 hex UUID.
fn is_uuid(s: &str) -> bool {
    let Some(uuid) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    uuid.len() == 36
        && uuid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// Base64 in groups of four, whitespace allowed between them, `=` padding only at the end.
/// Attachments can be megabytes: the loops count rather than branch, so they vectorize.
fn is_base64(s: &str) -> bool {
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let trimmed = s.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
    let body = trimmed.trim_end_matches('=').as_bytes();
    let padding = trimmed.len() - body.len();
    let invalid = body
        .iter()
        .filter(|&&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || is_space(b)))
        .count();
    let spaces = body.iter().filter(|&&b| is_space(b)).count();
    let symbols = body.len() - spaces + padding;
    invalid == 0 && padding <= 2 && symbols > 0 && symbols.is_multiple_of(4)
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a real day, year 0001 to 9999) at the start of `b`:
/// the rest, and whether the day was given.
fn partial_date(b: &[u8]) -> Option<(&[u8], bool)> {
    let year = number(b, 0, 4)?;
    if year == 0 {
        return None;
    }
    if b.get(4) != Some(&b'-') {
        return Some((&b[4..], false));
    }
    let month = number(b, 5, 2).filter(|m| (1..=12).contains(m))?;
    if b.get(7) != Some(&b'-') {
        return Some((&b[7..], false));
    }
    let day = number(b, 8, 2)?;
    (1..=days_in_month(year, month))
        .contains(&day)
        .then_some((&b[10..], true))
}

/// A date, optionally with `Thh:mm:ss(.s+)` and then a required timezone.
fn is_date_time(b: &[u8]) -> bool {
    match partial_date(b) {
        Some(([], _)) => true,
        Some((rest, true)) => rest.first() == Some(&b'T') && time_with_zone(&rest[1..]),
        _ => false,
    }
}

/// A full date, a time and a timezone.
fn is_instant(b: &[u8]) -> bool {
    match partial_date(b) {
        Some((rest, true)) => rest.first() == Some(&b'T') && time_with_zone(&rest[1..]),
        _ => false,
    }
}

fn time_with_zone(b: &[u8]) -> bool {
    time_of_day(b).is_some_and(is_zone)
}

/// `hh:mm:ss(.s+)` at the start of `b` (a leap second allowed); the rest.
fn time_of_day(b: &[u8]) -> Option<&[u8]> {
    number(b, 0, 2).filter(|h| *h <= 23)?;
    (b.get(2) == Some(&b':')).then_some(())?;
    number(b, 3, 2).filter(|m| *m <= 59)?;
    (b.get(5) == Some(&b':')).then_some(())?;
    number(b, 6, 2).filter(|s| *s <= 60)?;
    let rest = &b[8..];
    match rest.first() {
        Some(b'.') => {
            let fraction = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            (fraction > 0).then_some(&rest[1 + fraction..])
        }
        _ => Some(rest),
    }
}

/// `Z` or `(+|-)hh:mm`, from -14:00 to +14:00.
fn is_zone(b: &[u8]) -> bool {
    match b.first() {
        Some(b'Z') => b.len() == 1,
        Some(b'+' | b'-') if b.len() == 6 && b[3] == b':' => {
            match (number(b, 1, 2), number(b, 4, 2)) {
                (Some(h), Some(m)) => (h <= 13 && m <= 59) || (h == 14 && m == 0),
                _ => false,
            }
        }
        _ => false,
    }
}

fn number(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let digits = b.get(at..at + len)?;
    digits.iter().try_fold(0, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
