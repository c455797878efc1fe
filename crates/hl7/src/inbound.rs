//! A frame as it arrives: its character set (UTF-8, or GB 18030 as MSH-18 declares), the
//! message read from it, and the header checks every message passes before it is mapped
//! (version 2.3 to 2.5.1, production processing). A refusal carries the acknowledgement
//! to send, addressed as well as what could be read of the header allows.

use crate::ack::{Ack, AckCode, Answering, ErrorCode, Problem};
use crate::message::{Delimiters, Message};

/// The versions taken.
pub const VERSIONS: &[&str] = &["2.3", "2.3.1", "2.4", "2.5", "2.5.1"];

/// The character sets taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Charset {
    #[default]
    Utf8,
    /// GB 18030 (a superset of GBK and GB 2312), as Chinese hospital systems send.
    Gb18030,
}

/// A message that passed the header checks.
#[derive(Clone, Debug)]
pub struct Read {
    pub message: Message,
    pub charset: Charset,
    pub to: Answering,
}

/// A message refused before mapping, with the acknowledgement that says why.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub to: Answering,
    pub delimiters: Delimiters,
    pub charset: Charset,
    pub ack: Ack,
}

/// MSH-18 read from the raw bytes (the header is ASCII whatever the body's encoding).
fn declared_charset(raw: &[u8]) -> Option<String> {
    let header = raw.strip_prefix(b"MSH")?;
    let sep = *header.first()?;
    let line = header.split(|b| *b == b'\r' || *b == b'\n').next()?;
    // Field n of MSH is part n - 1 when split at the separator (MSH-1 is the separator).
    let field = line.split(|b| *b == sep).nth(17)?;
    Some(String::from_utf8_lossy(field).trim().to_ascii_uppercase())
}

/// The text of a frame: UTF-8 unless MSH-18 names GB 18030, GBK or GB 2312. Bytes that
/// are not valid in the declared set refuse the message (no replacement characters are
/// stored in a record).
pub fn decode(raw: &[u8]) -> Result<(String, Charset), Box<Refusal>> {
    let raw = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
    let declared = declared_charset(raw).unwrap_or_default();
    let gb = ["GB18030", "GB 18030", "GBK", "GB2312", "GB 2312", "CHINESE"]
        .iter()
        .any(|n| declared.starts_with(n));
    if gb {
        let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(raw);
        if had_errors {
            return Err(Box::new(refuse_raw(
                raw,
                Charset::Gb18030,
                "the message is not valid GB 18030, as MSH-18 declares",
            )));
        }
        return Ok((text.into_owned(), Charset::Gb18030));
    }
    match std::str::from_utf8(raw) {
        Ok(t) => Ok((t.to_string(), Charset::Utf8)),
        Err(_) => Err(Box::new(refuse_raw(
            raw,
            Charset::Utf8,
            "the message is not valid UTF-8 and MSH-18 names no other character set (GB18030 is taken)",
        ))),
    }
}

/// The acknowledgement's bytes in the character set the message came in.
pub fn encode(text: &str, charset: Charset) -> Vec<u8> {
    match charset {
        Charset::Utf8 => text.as_bytes().to_vec(),
        Charset::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
    }
}

fn refuse_raw(raw: &[u8], charset: Charset, why: &str) -> Refusal {
    let text = String::from_utf8_lossy(raw);
    let (to, delimiters) = salvage(&text);
    Refusal {
        to,
        delimiters,
        charset,
        ack: Ack {
            code: AckCode::Reject,
            problems: vec![Problem {
                segment: "MSH".into(),
                sequence: 1,
                field: Some(18),
                code: ErrorCode::DataTypeError,
                message: why.into(),
            }],
        },
    }
}

/// What can be read of a header that did not parse, to address the refusal: the fields
/// split at the declared separators, nothing unescaped or checked.
pub fn salvage(text: &str) -> (Answering, Delimiters) {
    let mut d = Delimiters::default();
    let Some(rest) = text.trim_start_matches('\u{feff}').strip_prefix("MSH") else {
        return (Answering::default(), d);
    };
    let mut chars = rest.chars();
    if let Some(f) = chars.next().filter(|c| !c.is_alphanumeric()) {
        d.field = f;
    }
    let enc: Vec<char> = chars.take_while(|c| *c != d.field).collect();
    if enc.len() >= 4 && !enc.iter().any(|c| c.is_alphanumeric()) {
        (d.component, d.repetition, d.escape, d.subcomponent) = (enc[0], enc[1], enc[2], enc[3]);
    }
    let line = rest.split(['\r', '\n']).next().unwrap_or_default();
    let fields: Vec<&str> = line.split(d.field).collect();
    let field = |n: usize| -> String {
        let f = fields.get(n - 1).copied().unwrap_or_default();
        f.split(d.component).next().unwrap_or_default().to_string()
    };
    let comp = |n: usize, c: usize| -> String {
        let f = fields.get(n - 1).copied().unwrap_or_default();
        f.split(d.component)
            .nth(c - 1)
            .unwrap_or_default()
            .to_string()
    };
    // Only short, printable values are echoed back (they are header fields, never content).
    let safe = |s: String| {
        if s.chars().count() <= 40 && !s.chars().any(char::is_control) {
            s
        } else {
            String::new()
        }
    };
    (
        Answering {
            sending_application: safe(field(3)),
            sending_facility: safe(field(4)),
            receiving_application: safe(field(5)),
            receiving_facility: safe(field(6)),
            control_id: safe(field(10)),
            message_type: safe(comp(9, 1)),
            trigger: safe(comp(9, 2)),
            processing_id: safe(field(11)),
            version: safe(field(12)),
        },
        d,
    )
}

fn refusal(m: &Message, charset: Charset, code: AckCode, problem: Problem) -> Refusal {
    Refusal {
        to: Answering::of(m),
        delimiters: m.delimiters,
        charset,
        ack: Ack {
            code,
            problems: vec![problem],
        },
    }
}

fn msh(field: usize, code: ErrorCode, message: String) -> Problem {
    Problem {
        segment: "MSH".into(),
        sequence: 1,
        field: Some(field),
        code,
        message,
    }
}

/// Decodes, parses and checks the header of one frame.
pub fn read(raw: &[u8]) -> Result<Read, Box<Refusal>> {
    let (text, charset) = decode(raw)?;
    let message = match Message::parse(&text) {
        Ok(m) => m,
        Err(e) => {
            let (to, delimiters) = salvage(&text);
            return Err(Box::new(Refusal {
                to,
                delimiters,
                charset,
                ack: Ack {
                    code: AckCode::Error,
                    problems: vec![Problem {
                        segment: if e.id == "?" {
                            "MSH".into()
                        } else {
                            e.id.clone()
                        },
                        sequence: e.segment,
                        field: e.field,
                        code: ErrorCode::SegmentSequence,
                        message: e.reason.clone(),
                    }],
                },
            }));
        }
    };
    let version = message.version();
    if !VERSIONS.contains(&version.as_str()) {
        return Err(Box::new(refusal(
            &message,
            charset,
            AckCode::Reject,
            msh(
                12,
                ErrorCode::UnsupportedVersion,
                "MSH-12 names a version not taken: 2.3 to 2.5.1 are".into(),
            ),
        )));
    }
    let processing = message.get("MSH", 11);
    if processing != "P" {
        return Err(Box::new(refusal(
            &message,
            charset,
            AckCode::Reject,
            msh(
                11,
                ErrorCode::UnsupportedProcessingId,
                "MSH-11 is not P: only production messages reach the shared record".into(),
            ),
        )));
    }
    if message.control_id().is_empty() {
        return Err(Box::new(refusal(
            &message,
            charset,
            AckCode::Reject,
            msh(
                10,
                ErrorCode::RequiredFieldMissing,
                "MSH-10 (message control id) is required: resends are recognised by it".into(),
            ),
        )));
    }
    let to = Answering::of(&message);
    Ok(Read {
        message,
        charset,
        to,
    })
}

/// A refusal of a read message for a reason found later (sender, mapping, store).
pub fn refuse(read: &Read, code: AckCode, problems: Vec<Problem>) -> Refusal {
    Refusal {
        to: read.to.clone(),
        delimiters: read.message.delimiters,
        charset: read.charset,
        ack: Ack { code, problems },
    }
}

impl Refusal {
    /// The acknowledgement's text.
    pub fn render(&self, control_id: &str, timestamp: &str) -> String {
        self.ack
            .render(&self.to, &self.delimiters, control_id, timestamp)
    }
}
