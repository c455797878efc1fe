//! Strict JSON for FHIR bodies: valid UTF-8, no duplicate keys, bounded nesting.
//!
//! serde_json accepts duplicate keys (the last one wins), which would let two systems read
//! different values from one document; FHIR forbids them, so a scan rejects them. Error
//! messages give the position and the kind of problem, never the text of the document.

use serde_json::Value;
use std::fmt;

/// The deepest nesting accepted. Real FHIR resources stay far below it.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    InvalidUtf8 {
        byte: usize,
    },
    Syntax {
        line: usize,
        column: usize,
        what: &'static str,
    },
    DuplicateKey {
        line: usize,
        column: usize,
        key: String,
    },
    TooDeep {
        line: usize,
        column: usize,
    },
    NotAnObject,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::InvalidUtf8 { byte } => write!(f, "invalid UTF-8 at byte {byte}"),
            JsonError::Syntax { line, column, what } => {
                write!(f, "malformed JSON at line {line} column {column}: {what}")
            }
            JsonError::DuplicateKey { line, column, key } => {
                write!(f, "duplicate key '{key}' at line {line} column {column}")
            }
            JsonError::TooDeep { line, column } => write!(
                f,
                "JSON nested deeper than {MAX_DEPTH} levels at line {line} column {column}"
            ),
            JsonError::NotAnObject => write!(f, "a FHIR resource must be a JSON object"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Parses `bytes` as one JSON object under the strict rules above.
pub fn parse_object(bytes: &[u8]) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError::InvalidUtf8 {
        byte: e.valid_up_to(),
    })?;
    let value: Value = serde_json::from_str(text).map_err(syntax_error)?;
    scan(text.as_bytes())?;
    if !value.is_object() {
        return Err(JsonError::NotAnObject);
    }
    Ok(value)
}

fn syntax_error(e: serde_json::Error) -> JsonError {
    // serde_json's messages for untyped parsing name the expected token, never the input;
    // still, only the fixed part before " at line" is kept.
    let what = match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => {
            let msg = e.to_string();
            SYNTAX_KINDS
                .iter()
                .find(|k| msg.starts_with(**k))
                .copied()
                .unwrap_or("syntax error")
        }
        serde_json::error::Category::Data => "invalid value",
        serde_json::error::Category::Io => "read error",
    };
    JsonError::Syntax {
        line: e.line(),
        column: e.column(),
        what,
    }
}

const SYNTAX_KINDS: &[&str] = &[
    "expected value",
    "expected `,` or `}`",
    "expected `,` or `]`",
    "expected `:`",
    "key must be a string",
    "trailing comma",
    "trailing characters",
    "control character (\\u0000-\\u001F) found while parsing a string",
    "invalid escape",
    "invalid number",
    "number out of range",
    "invalid unicode code point",
    "lone leading surrogate in hex escape",
    "recursion limit exceeded",
    "expected ident",
];

/// Walks well-formed JSON (serde_json has already checked the syntax) to find duplicate keys
/// and excessive depth. Keys are compared after unescaping only when they contain a backslash.
fn scan(b: &[u8]) -> Result<(), JsonError> {
    let mut i = 0;
    // One key list per open container; `None` marks an array.
    let mut stack: Vec<Option<Vec<(usize, usize)>>> = Vec::new();
    let mut expect_key = false;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    let (line, column) = position(b, i);
                    return Err(JsonError::TooDeep { line, column });
                }
                stack.push(if b[i] == b'{' { Some(Vec::new()) } else { None });
                expect_key = b[i] == b'{';
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
                i += 1;
            }
            b',' => {
                expect_key = matches!(stack.last(), Some(Some(_)));
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let end = string_end(b, start);
                if expect_key {
                    if let Some(Some(keys)) = stack.last_mut() {
                        let key = &b[start..end];
                        if keys.iter().any(|&(s, e)| same_key(&b[s..e], key)) {
                            let (line, column) = position(b, start - 1);
                            return Err(JsonError::DuplicateKey {
                                line,
                                column,
                                key: unescape(key),
                            });
                        }
                        keys.push((start, end));
                    }
                    expect_key = false;
                }
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn string_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.contains(&b'\\') || b.contains(&b'\\') {
        unescape(a) == unescape(b)
    } else {
        a == b
    }
}

fn unescape(raw: &[u8]) -> String {
    let quoted = [b"\"".as_slice(), raw, b"\""].concat();
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

fn position(b: &[u8], at: usize) -> (usize, usize) {
    let before = &b[..at];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(input: &[u8], expect: Expect) {
        let actual = match crate::json::parse_object(input) {
            Ok(v) => format!("ok {v}"),
            Err(e) => format!("error {e}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn accepts_objects_and_keeps_decimal_text() {
        check(
            br#"{"resourceType":"Observation","valueQuantity":{"value":37.50}}"#,
            expect![[r#"ok {"resourceType":"Observation","valueQuantity":{"value":37.50}}"#]],
        );
    }

    #[test]
    fn rejects_duplicate_keys() {
        check(
            b"{\"a\":1,\n \"b\":{\"c\":1,\"c\":2}}",
            expect!["error duplicate key 'c' at line 2 column 13"],
        );
        check(
            br#"{"a":1,"\u0061":2}"#,
            expect![[r#"error duplicate key 'a' at line 1 column 8"#]],
        );
        check(
            br#"{"a":[{"b":1},{"b":1}]}"#,
            expect![[r#"ok {"a":[{"b":1},{"b":1}]}"#]],
        );
        check(
            br#"{"a":"{\"a\":1}"}"#,
            expect![[r#"ok {"a":"{\"a\":1}"}"#]],
        );
    }

    #[test]
    fn rejects_bad_bytes_and_syntax() {
        check(
            b"{\"a\":\"\xff\"}",
            expect![[r#"error invalid UTF-8 at byte 6"#]],
        );
        check(
            b"{\"a\":1,}",
            expect![[r#"error malformed JSON at line 1 column 8: trailing comma"#]],
        );
        check(
            b"{\"a\":",
            expect![[r#"error malformed JSON at line 1 column 5: unexpected end of input"#]],
        );
        check(
            b"[1]",
            expect![[r#"error a FHIR resource must be a JSON object"#]],
        );
        check(
            b"",
            expect![[r#"error malformed JSON at line 1 column 0: unexpected end of input"#]],
        );
    }

    #[test]
    fn bounds_depth() {
        let deep = format!(
            "{}{}",
            "{\"a\":".repeat(70),
            "1".to_string() + &"}".repeat(70)
        );
        check(
            deep.as_bytes(),
            expect![[r#"error JSON nested deeper than 64 levels at line 1 column 321"#]],
        );
    }
}
