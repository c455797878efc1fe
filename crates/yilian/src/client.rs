//! A minimal HTTP/1.1 keep-alive client over a real socket: enough for the demo to use its
//! own server as a hospital would, and for the benchmark to measure it. Not a general client.

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
    token: Option<String>,
    /// The pages' session cookie, once a response set one.
    cookie: Option<String>,
}

impl Connection {
    pub async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: BufReader::new(stream),
            host: addr.to_string(),
            token: None,
            cookie: None,
        })
    }

    /// Sends `Authorization: Bearer {token}` with every request.
    pub fn with_token(mut self, token: &str) -> Connection {
        self.token = Some(token.to_string());
        self
    }

    /// Sends another token from now on (another caller on the same connection).
    pub fn set_token(&mut self, token: &str) {
        self.token = Some(token.to_string());
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        self.request("GET", path, None).await
    }

    /// POSTs a FHIR JSON body.
    pub async fn post(&mut self, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        self.request("POST", path, Some((body, "application/fhir+json")))
            .await
    }

    /// POSTs a body of another media type (a CDA document).
    pub async fn post_as(
        &mut self,
        path: &str,
        media_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        self.request("POST", path, Some((body, media_type))).await
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&[u8], &str)>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut req = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nAccept: application/fhir+json\r\n",
            encode_path(path),
            self.host
        );
        if let Some(token) = &self.token {
            req.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if let Some(cookie) = &self.cookie {
            req.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some((body, media_type)) = body {
            req.push_str(&format!(
                "Content-Type: {media_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body.map(|(b, _)| b).unwrap_or_default());
        self.stream.get_mut().write_all(&bytes).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("malformed status line")?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse()?;
                } else if k.eq_ignore_ascii_case("set-cookie")
                    && let Some(pair) = v.trim().split(';').next()
                    && pair.starts_with("yilian_session=")
                {
                    self.cookie = Some(pair.to_string());
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

/// One GET on a fresh connection, with a bearer token.
pub async fn http_get(base: &str, path: &str, token: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let addr = base
        .trim_start_matches("http://")
        .parse()
        .context("base is http://ip:port")?;
    Connection::open(addr)
        .await?
        .with_token(token)
        .get(path)
        .await
}

/// Percent-encodes what a request line cannot carry (non-ASCII, spaces, `|`).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/?&=-_.~:$,%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends `messages` (framed here) on one MLLP connection with at most `window` not yet
/// acknowledged (1: wait for each), and returns each acknowledgement, in order, with the
/// time from its message's send. For the demo's feeds and the feeds benchmark.
pub fn mllp_send(
    addr: std::net::SocketAddr,
    messages: impl Iterator<Item = Vec<u8>> + Send + 'static,
    window: usize,
) -> anyhow::Result<Vec<(std::time::Duration, String)>> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let mut reader = conn.try_clone()?;
    // A message's send time goes through the channel before the message goes out, and the
    // reader holds the oldest while it waits for that acknowledgement: so with room for
    // `window - 1`, at most `window` are unacknowledged (1: a rendezvous, one at a time).
    let (sent_tx, sent_rx) = std::sync::mpsc::sync_channel::<std::time::Instant>(window.max(1) - 1);
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        for m in messages {
            sent_tx.send(std::time::Instant::now())?;
            conn.write_all(&hl7::mllp::frame(&m))?;
        }
        Ok(())
    });
    let mut acks = Vec::new();
    let mut arrived = std::collections::VecDeque::new();
    let mut decoder = hl7::mllp::Decoder::new(1 << 20);
    let mut chunk = vec![0u8; 64 * 1024];
    // Each message sent queued its send time; when the writer is done and the queue empty,
    // everything was acknowledged.
    while let Ok(sent) = sent_rx.recv() {
        while arrived.is_empty() {
            let n = reader.read(&mut chunk)?;
            anyhow::ensure!(
                n > 0,
                "the listener closed the connection after {} acknowledgements",
                acks.len()
            );
            for frame in decoder.push(&chunk[..n])? {
                if let hl7::mllp::Frame::Message(bytes) = frame {
                    arrived.push_back(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        let ack = arrived.pop_front().expect("an acknowledgement arrived");
        acks.push((sent.elapsed(), ack));
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the MLLP writer panicked"))??;
    Ok(acks)
}
