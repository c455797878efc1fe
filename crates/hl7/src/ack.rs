//! Acknowledgements: AA once the message's data is durably committed, AE or AR with ERR
//! segments naming segment, field and reason (HL7 table 0357 codes), answering the sender
//! in its own version and delimiters.

use crate::message::{Delimiters, Message, escape};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckCode {
    /// Accepted: the data is committed.
    Accept,
    /// Error: the message was understood and refused (bad content).
    Error,
    /// Reject: the message could not be processed at all (wrong type, version, sender).
    Reject,
}

impl AckCode {
    pub fn code(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
    }
}

/// HL7 table 0357, the codes a receiver uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    SegmentSequence,
    RequiredFieldMissing,
    DataTypeError,
    TableValueNotFound,
    UnsupportedMessageType,
    UnsupportedEventCode,
    UnsupportedProcessingId,
    UnsupportedVersion,
    UnknownKey,
    DuplicateKey,
    ApplicationInternalError,
}

impl ErrorCode {
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::SegmentSequence => ("100", "Segment sequence error"),
            ErrorCode::RequiredFieldMissing => ("101", "Required field missing"),
            ErrorCode::DataTypeError => ("102", "Data type error"),
            ErrorCode::TableValueNotFound => ("103", "Table value not found"),
            ErrorCode::UnsupportedMessageType => ("200", "Unsupported message type"),
            ErrorCode::UnsupportedEventCode => ("201", "Unsupported event code"),
            ErrorCode::UnsupportedProcessingId => ("202", "Unsupported processing id"),
            ErrorCode::UnsupportedVersion => ("203", "Unsupported version id"),
            ErrorCode::UnknownKey => ("204", "Unknown key identifier"),
            ErrorCode::DuplicateKey => ("205", "Duplicate key identifier"),
            ErrorCode::ApplicationInternalError => ("207", "Application internal error"),
        }
    }
}

/// One error: where (segment id and its 1-based sequence, field) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub segment: String,
    pub sequence: usize,
    pub field: Option<usize>,
    pub code: ErrorCode,
    /// For the sender's staff: names the element and the rule, never patient data.
    pub message: String,
}

/// An acknowledgement to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub code: AckCode,
    pub problems: Vec<Problem>,
}

/// What the ACK's header needs from the message it answers (or what could be read of it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answering {
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    pub control_id: String,
    /// MSH-9.1 (for the receipt; the ACK names only the trigger).
    pub message_type: String,
    pub trigger: String,
    pub processing_id: String,
    pub version: String,
}

impl Answering {
    pub fn of(m: &Message) -> Answering {
        let msh = m.segment("MSH").expect("a parsed message has MSH");
        let d = &m.delimiters;
        Answering {
            sending_application: msh.component(d, 3, 0, 1),
            sending_facility: msh.component(d, 4, 0, 1),
            receiving_application: msh.component(d, 5, 0, 1),
            receiving_facility: msh.component(d, 6, 0, 1),
            control_id: m.control_id(),
            message_type: m.kind().0,
            trigger: m.kind().1,
            processing_id: msh.component(d, 11, 0, 1),
            version: m.version(),
        }
    }
}

impl Ack {
    pub fn accept() -> Ack {
        Ack {
            code: AckCode::Accept,
            problems: Vec::new(),
        }
    }

    /// The ACK message, `\r`-separated, answering `to`. `control_id` is the ACK's own,
    /// `timestamp` MSH-7 (YYYYMMDDHHMMSS).
    pub fn render(
        &self,
        to: &Answering,
        d: &Delimiters,
        control_id: &str,
        timestamp: &str,
    ) -> String {
        let f = d.field;
        let e = |s: &str| escape(d, s);
        let version = if to.version.is_empty() {
            "2.5.1"
        } else {
            &to.version
        };
        let mut out = format!(
            "MSH{f}{}{}{}{}{f}YILIAN{f}YILIAN{f}{}{f}{}{f}{timestamp}{f}{f}ACK{c}{}{c}ACK{f}{}{f}{}{f}{}",
            d.component,
            d.repetition,
            d.escape,
            d.subcomponent,
            e(&to.sending_application),
            e(&to.sending_facility),
            e(&to.trigger),
            e(control_id),
            if to.processing_id.is_empty() {
                "P"
            } else {
                &to.processing_id
            },
            e(version),
            c = d.component,
        );
        out.push('\r');
        let text = self
            .problems
            .first()
            .map(|p| e(&p.message))
            .unwrap_or_default();
        out.push_str(&format!(
            "MSA{f}{}{f}{}{f}{text}",
            self.code.code(),
            e(&to.control_id)
        ));
        out.push('\r');
        for p in &self.problems {
            let (code, display) = p.code.code();
            let location = format!(
                "{}{c}{}{c}{}",
                p.segment,
                p.sequence,
                p.field.map(|f| f.to_string()).unwrap_or_default(),
                c = d.component
            );
            let severity = if self.code == AckCode::Accept {
                "W"
            } else {
                "E"
            };
            out.push_str(&format!(
                "ERR{f}{f}{location}{f}{code}{c}{display}{c}HL70357{f}{severity}{f}{f}{f}{f}{}",
                e(&p.message),
                c = d.component
            ));
            out.push('\r');
        }
        out
    }
}
