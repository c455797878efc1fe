//! MLLP framing: a message is `0x0B` + bytes + `0x1C 0x0D`. The decoder takes bytes as they
//! arrive and yields whole frames; bytes outside a frame are skipped and counted, and a
//! frame longer than the limit is an error (the connection should be closed).

pub const START: u8 = 0x0b;
pub const END: [u8; 2] = [0x1c, 0x0d];

pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.extend_from_slice(&END);
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Message(Vec<u8>),
    /// Bytes that arrived outside any frame.
    Garbage(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an MLLP frame exceeded {limit} bytes")]
pub struct TooLong {
    pub limit: usize,
}

/// An incremental MLLP decoder for one connection.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    limit: usize,
}

impl Decoder {
    pub fn new(limit: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            limit,
        }
    }

    /// Adds `bytes`; returns the frames now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Frame>, TooLong> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(start) = self.buf.iter().position(|b| *b == START) else {
                if !self.buf.is_empty() {
                    out.push(Frame::Garbage(self.buf.len()));
                    self.buf.clear();
                }
                return Ok(out);
            };
            if start > 0 {
                out.push(Frame::Garbage(start));
                self.buf.drain(..start);
            }
            let Some(end) = self.buf.windows(2).position(|w| w == END) else {
                if self.buf.len() > self.limit {
                    return Err(TooLong { limit: self.limit });
                }
                return Ok(out);
            };
            let message = self.buf[1..end].to_vec();
            self.buf.drain(..end + 2);
            out.push(Frame::Message(message));
        }
    }
}
