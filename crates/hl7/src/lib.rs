//! HL7 v2 as hospitals send it, as pure functions: the message grammar with the message's
//! own delimiters and escapes (`message`), acknowledgements with error segments naming
//! segment, field and reason (`ack`), the character set and header checks of a frame as it
//! arrives (`inbound`), the mapping to FHIR (`map`), and MLLP framing (`mllp`). Versions 2.3 to 2.5.1;
//! Z-segments are carried, not interpreted. No I/O: the listener is at the edge.

pub mod ack;
pub mod inbound;
pub mod map;
pub mod message;
pub mod mllp;
mod orders;

pub use ack::{Ack, AckCode, ErrorCode, Problem};
pub use message::{Delimiters, Message, ParseError, Segment};

#[cfg(test)]
mod tests;
