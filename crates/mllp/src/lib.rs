//! The MLLP listener: hospitals' interface engines connect over TCP and send HL7 v2
//! messages in MLLP frames; each gets its acknowledgement, in the order sent, once its data
//! is durably committed (or refused). Sockets and threads only: reading, mapping and storing
//! belong to `service` (`Service::v2_message`).
//!
//! A connection is admitted only from an address a registered hospital's feed lists
//! (`auth.json` `feeds`); its messages are taken only under the sending facilities (MSH-4)
//! of the hospitals admitted on it. A sender may pipeline: frames are read while earlier
//! ones commit, and up to [`WINDOW`] wait for their acknowledgement at once.

use service::{Delivery, Service};
use std::io::{BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, mpsc};

/// The longest frame taken (larger ones close the connection).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Messages a connection may have in flight before its acknowledgements are read.
pub const WINDOW: usize = 64;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;

/// Binds `addr`; [`Listener::run`] then serves on threads.
pub struct Listener {
    socket: TcpListener,
    service: Service,
    feeds: Arc<Vec<auth::Feed>>,
}

impl Listener {
    pub fn bind(
        addr: SocketAddr,
        service: Service,
        feeds: Vec<auth::Feed>,
    ) -> std::io::Result<Listener> {
        Ok(Listener {
            socket: TcpListener::bind(addr)?,
            service,
            feeds: Arc::new(feeds),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Accepts connections until the process ends, each on its own threads.
    pub fn run(self) {
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for stream in self.socket.incoming() {
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "mllp: accept failed");
                    continue;
                }
            };
            let peer = match stream.peer_addr() {
                Ok(p) => p,
                Err(_) => continue,
            };
            let admitted: Vec<auth::Feed> = self
                .feeds
                .iter()
                .filter(|f| f.admits(peer.ip()))
                .cloned()
                .collect();
            if admitted.is_empty() {
                tracing::warn!(%peer, "mllp: a connection from an address no feed lists was closed");
                continue;
            }
            if open.load(std::sync::atomic::Ordering::SeqCst) >= MAX_CONNECTIONS {
                tracing::warn!(%peer, "mllp: too many connections; closed");
                continue;
            }
            open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (service, open) = (self.service.clone(), open.clone());
            let spawned = std::thread::Builder::new()
                .name("mllp".into())
                .spawn(move || {
                    let hospitals: Vec<&str> =
                        admitted.iter().map(|f| f.hospital.as_str()).collect();
                    tracing::info!(%peer, ?hospitals, "mllp: connected");
                    if let Err(e) = connection(stream, &service, &admitted) {
                        tracing::info!(%peer, error = %e, "mllp: connection ended");
                    }
                    open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
            if spawned.is_err() {
                tracing::error!("mllp: no thread for a connection");
            }
        }
    }
}

/// Reads frames and hands each to the service; a writer thread sends the acknowledgements
/// in order as each message's fate becomes durable.
fn connection(stream: TcpStream, service: &Service, feeds: &[auth::Feed]) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = stream.try_clone()?;
    let (tx, rx) = mpsc::sync_channel::<Delivery>(WINDOW);
    let writer = std::thread::Builder::new().name("mllp-ack".into()).spawn(
        move || -> std::io::Result<()> {
            let mut out = BufWriter::new(stream);
            loop {
                // Whatever is written goes out before waiting: for the next message, or
                // for a message still committing.
                let mut delivery = match rx.try_recv() {
                    Ok(d) => d,
                    Err(mpsc::TryRecvError::Empty) => {
                        out.flush()?;
                        match rx.recv() {
                            Ok(d) => d,
                            Err(_) => break,
                        }
                    }
                    Err(mpsc::TryRecvError::Disconnected) => break,
                };
                if !delivery.is_ready() {
                    out.flush()?;
                }
                out.write_all(&hl7::mllp::frame(&delivery.ack()))?;
            }
            out.flush()
        },
    )?;
    let mut decoder = hl7::mllp::Decoder::new(MAX_FRAME);
    let mut buf = vec![0u8; 64 * 1024];
    let result = loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        let frames = match decoder.push(&buf[..n]) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("mllp: {e}; connection closed");
                break Ok(());
            }
        };
        let mut gone = false;
        for frame in frames {
            match frame {
                hl7::mllp::Frame::Message(bytes) => {
                    if tx.send(service.v2_message(feeds, &bytes)).is_err() {
                        gone = true;
                        break;
                    }
                }
                hl7::mllp::Frame::Garbage(n) => {
                    tracing::debug!(bytes = n, "mllp: bytes outside a frame skipped");
                }
            }
        }
        if gone {
            break Ok(());
        }
    };
    drop(tx);
    let written = writer.join().unwrap_or(Ok(()));
    result.and(written)
}
