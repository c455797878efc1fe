//! The v2 grammar: segments (one per line, `\r`; `\n` and `\r\n` tolerated), fields, field
//! repetitions, components and subcomponents, split by the delimiters the message itself
//! declares in MSH-1 and MSH-2, with escape sequences (`\F\`, `\S\`, `\T\`, `\R\`, `\E\`,
//! `\Xhh\`, `\.br\`) undone only when a value is read.

/// The separators a message declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Delimiters {
    fn default() -> Delimiters {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// Why a message could not be read, and where (1-based segment number and field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("segment {segment} ({id}){}: {reason}", field.map(|f| format!(", field {f}")).unwrap_or_default())]
pub struct ParseError {
    pub segment: usize,
    pub id: String,
    pub field: Option<usize>,
    pub reason: String,
}

/// One segment: its id and its fields as sent (escaped), field 1 first. For MSH, field 1 is
/// the field separator itself and field 2 the encoding characters, as the standard counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    fields: Vec<String>,
}

/// A parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub delimiters: Delimiters,
    pub segments: Vec<Segment>,
}

fn err(segment: usize, id: &str, field: Option<usize>, reason: impl Into<String>) -> ParseError {
    ParseError {
        segment,
        id: id.to_string(),
        field,
        reason: reason.into(),
    }
}

impl Message {
    /// Reads a message. It must start with MSH; every segment id is three upper-case
    /// letters or digits; blank lines are skipped.
    pub fn parse(text: &str) -> Result<Message, ParseError> {
        let text = text.trim_start_matches(['\u{feff}', '\r', '\n', ' ']);
        let Some(header) = text.strip_prefix("MSH") else {
            // What stands there is not echoed: it may be patient data.
            return Err(err(1, "?", None, "a message starts with an MSH segment"));
        };
        let mut chars = header.chars();
        let field = chars
            .next()
            .ok_or_else(|| err(1, "MSH", Some(1), "the field separator is missing"))?;
        let encoding: String = chars.take_while(|c| *c != field).collect();
        let enc: Vec<char> = encoding.chars().collect();
        if enc.len() < 4 || enc.len() > 5 {
            return Err(err(
                1,
                "MSH",
                Some(2),
                "the encoding characters are four (component, repetition, escape, subcomponent)",
            ));
        }
        let d = Delimiters {
            field,
            component: enc[0],
            repetition: enc[1],
            escape: enc[2],
            subcomponent: enc[3],
        };
        let all = [d.field, d.component, d.repetition, d.escape, d.subcomponent];
        for (i, c) in all.iter().enumerate() {
            if c.is_alphanumeric() || *c == '\r' || *c == '\n' || all[..i].contains(c) {
                return Err(err(
                    1,
                    "MSH",
                    Some(2),
                    "the delimiters must be distinct punctuation",
                ));
            }
        }
        let mut segments = Vec::new();
        for (n, line) in text.split(['\r', '\n']).enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let number = segments.len() + 1;
            let id: String = line.chars().take(3).collect();
            if id.len() != 3
                || !id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                return Err(err(
                    number,
                    "?",
                    None,
                    "a segment id is three upper-case letters or digits",
                ));
            }
            let rest = &line[3..];
            let fields: Vec<String> = if id == "MSH" {
                // MSH-1 is the separator itself, MSH-2 the encoding characters.
                let mut f = vec![d.field.to_string()];
                f.extend(
                    rest[d.field.len_utf8()..]
                        .split(d.field)
                        .map(str::to_string),
                );
                f
            } else if rest.is_empty() {
                Vec::new()
            } else if let Some(r) = rest.strip_prefix(d.field) {
                r.split(d.field).map(str::to_string).collect()
            } else {
                return Err(err(
                    number,
                    &id,
                    None,
                    format!(
                        "the segment id is not followed by the field separator {}",
                        d.field
                    ),
                ));
            };
            if n == 0 && id != "MSH" {
                return Err(err(1, &id, None, "a message starts with an MSH segment"));
            }
            segments.push(Segment { id, fields });
        }
        let m = Message {
            delimiters: d,
            segments,
        };
        for (field, what) in [
            (9, "the message type"),
            (10, "the message control id"),
            (12, "the version"),
        ] {
            if m.get("MSH", field).is_empty() {
                return Err(err(
                    1,
                    "MSH",
                    Some(field),
                    format!("{what} (MSH-{field}) is required"),
                ));
            }
        }
        Ok(m)
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Every segment with this id, in order.
    pub fn all<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.id == id)
    }

    /// The first component of the first repetition of `id`-`field`, unescaped ("" when
    /// absent).
    pub fn get(&self, id: &str, field: usize) -> String {
        self.segment(id)
            .map(|s| s.component(&self.delimiters, field, 0, 1))
            .unwrap_or_default()
    }

    /// MSH-9 as `ADT^A01` (message type, trigger event), structure dropped.
    pub fn kind(&self) -> (String, String) {
        let msh = self.segment("MSH").expect("parse requires MSH");
        (
            msh.component(&self.delimiters, 9, 0, 1),
            msh.component(&self.delimiters, 9, 0, 2),
        )
    }

    pub fn control_id(&self) -> String {
        self.get("MSH", 10)
    }

    pub fn version(&self) -> String {
        self.get("MSH", 12)
    }
}

impl Segment {
    /// The raw (escaped) text of field `n` (1-based).
    pub fn raw(&self, n: usize) -> &str {
        n.checked_sub(1)
            .and_then(|i| self.fields.get(i))
            .map_or("", String::as_str)
    }

    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The repetitions of field `n`, each raw.
    pub fn repetitions<'a>(&'a self, d: &Delimiters, n: usize) -> Vec<&'a str> {
        let raw = self.raw(n);
        if self.id == "MSH" && n <= 2 {
            return vec![raw];
        }
        if raw.is_empty() {
            return Vec::new();
        }
        raw.split(d.repetition).collect()
    }

    /// Component `c` (1-based) of repetition `r` (0-based) of field `n`, unescaped.
    pub fn component(&self, d: &Delimiters, n: usize, r: usize, c: usize) -> String {
        if self.id == "MSH" && n <= 2 {
            return if c == 1 {
                self.raw(n).to_string()
            } else {
                String::new()
            };
        }
        let reps = self.repetitions(d, n);
        let Some(rep) = reps.get(r) else {
            return String::new();
        };
        let comp = c
            .checked_sub(1)
            .and_then(|i| rep.split(d.component).nth(i))
            .unwrap_or("");
        // The first subcomponent; a caller wanting the others splits `subcomponents`.
        unescape(d, comp.split(d.subcomponent).next().unwrap_or(""))
    }

    /// Subcomponents of component `c` of repetition `r` of field `n`, unescaped.
    pub fn subcomponents(&self, d: &Delimiters, n: usize, r: usize, c: usize) -> Vec<String> {
        let reps = self.repetitions(d, n);
        let Some(rep) = reps.get(r) else {
            return Vec::new();
        };
        c.checked_sub(1)
            .and_then(|i| rep.split(d.component).nth(i))
            .map(|comp| comp.split(d.subcomponent).map(|s| unescape(d, s)).collect())
            .unwrap_or_default()
    }
}

/// Undoes the escape sequences of one value. Unknown sequences are kept as sent; an
/// unterminated one is taken literally.
pub fn unescape(d: &Delimiters, s: &str) -> String {
    if !s.contains(d.escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(d.escape) {
        out.push_str(&rest[..start]);
        let after = &rest[start + d.escape.len_utf8()..];
        let Some(end) = after.find(d.escape) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let seq = &after[..end];
        match seq {
            "F" => out.push(d.field),
            "S" => out.push(d.component),
            "T" => out.push(d.subcomponent),
            "R" => out.push(d.repetition),
            "E" => out.push(d.escape),
            ".br" => out.push('\n'),
            _ if seq.starts_with('X') && seq.len() > 1 && seq.len() % 2 == 1 => {
                let bytes: Option<Vec<u8>> = (1..seq.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&seq[i..i + 2], 16).ok())
                    .collect();
                match bytes.and_then(|b| String::from_utf8(b).ok()) {
                    Some(text) => out.push_str(&text),
                    None => {
                        out.push(d.escape);
                        out.push_str(seq);
                        out.push(d.escape);
                    }
                }
            }
            _ => {
                out.push(d.escape);
                out.push_str(seq);
                out.push(d.escape);
            }
        }
        rest = &after[end + d.escape.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// Escapes a value for a field of a message with delimiters `d`.
pub fn escape(d: &Delimiters, s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let seq = if c == d.escape {
            "E"
        } else if c == d.field {
            "F"
        } else if c == d.component {
            "S"
        } else if c == d.subcomponent {
            "T"
        } else if c == d.repetition {
            "R"
        } else if c == '\r' || c == '\n' {
            ".br"
        } else {
            out.push(c);
            continue;
        };
        out.push(d.escape);
        out.push_str(seq);
        out.push(d.escape);
    }
    out
}
