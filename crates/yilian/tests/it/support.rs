//! What every end-to-end test needs: a fresh directory, the real `yilian` binary started on
//! port 0 (killed when the test ends), a tiny HTTP/1.1 client over `std::net`, and child
//! processes run with a deadline. It must not reach into the server's crates: the tests see
//! only what a client sees.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The media type FHIR clients send.
pub const FHIR_JSON: (&str, &str) = ("Content-Type", "application/fhir+json");

/// How long a server may take to start, and a child process to finish.
const STARTUP: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The `yilian` binary under test.
pub fn yilian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yilian"))
}

/// `true` when running in CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A directory of its own for one test, removed when the test ends.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "it-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `yilian serve`. Dropping it kills the process; when the test is failing, the
/// server's log is printed so the failure can be read.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// The MLLP listener's address, when started with `--mllp`.
    pub mllp: Option<SocketAddr>,
    log: Arc<Mutex<Vec<u8>>>,
    /// An administrator's token from `yilian admin token`, sent with every request that
    /// brings no Authorization header of its own.
    pub token: String,
    /// Where the credentials live when the store is not a data directory (PostgreSQL).
    _credentials: Option<TempDir>,
}

impl Server {
    /// `yilian serve --data DATA --listen 127.0.0.1:0`.
    pub fn serve(data: &Path) -> Server {
        Server::start(&["--data", path_str(data)])
    }

    /// `yilian serve --listen 127.0.0.1:0` with `args`, once it listens.
    pub fn start(args: &[&str]) -> Server {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let credentials = (!args.iter().any(|a| a == "--data")).then(|| {
            let dir = TempDir::new("credentials");
            args.extend(["--data".to_string(), path_str(dir.path()).to_string()]);
            dir
        });
        let data = args
            .iter()
            .position(|a| a == "--data")
            .map(|i| args[i + 1].clone())
            .expect("a data directory");
        let token = admin_token(Path::new(&data));
        let mut child = yilian()
            .arg("serve")
            .args(&args)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start yilian serve");
        let log = drain(child.stderr.take().expect("stderr is piped"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let addr = line
                    .strip_prefix("listening on http://")
                    .or_else(|| line.strip_prefix("listening on https://"));
                if let Some(addr) = addr {
                    let _ = tx.send((false, addr.trim().to_string()));
                } else if let Some(addr) = line.strip_prefix("mllp listening on ") {
                    let _ = tx.send((true, addr.trim().to_string()));
                }
            }
        });
        let mut server = Server {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            mllp: None,
            log,
            token,
            _credentials: credentials,
        };
        if args.iter().any(|a| a == "--mllp") {
            while server.mllp.is_none() || server.addr.port() == 0 {
                match rx.recv_timeout(STARTUP) {
                    Ok((true, a)) => server.mllp = Some(a.parse().expect("an MLLP address")),
                    Ok((false, a)) => server.addr = a.parse().expect("an HTTP address"),
                    Err(_) => panic!(
                        "yilian serve did not print both addresses; its log:\n{}",
                        server.log()
                    ),
                }
            }
            return server;
        }
        match rx.recv_timeout(STARTUP).map(|(_, a)| a) {
            Ok(addr) => server.addr = addr.parse().expect("the server prints a socket address"),
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "yilian serve did not print its address within {STARTUP:?}; its log:\n{}",
                server.log()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it exited. Let stderr's reader take the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "yilian serve {args:?} exited before listening; its log:\n{}",
                    server.log()
                )
            }
        }
        server
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().expect("log lock")).into_owned()
    }

    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let bearer = format!("Bearer {}", self.token);
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            all.push(("Authorization", &bearer));
        }
        http(self.addr, method, target, &all, body)
    }

    pub fn get(&self, target: &str) -> Response {
        self.request("GET", target, &[], b"")
    }

    /// POSTs `resource` as `application/fhir+json` to its type's endpoint.
    pub fn create(&self, resource: &Value) -> Response {
        let t = resource["resourceType"]
            .as_str()
            .expect("a resource has a type");
        self.request(
            "POST",
            &format!("/{t}"),
            &[FHIR_JSON],
            resource.to_string().as_bytes(),
        )
    }

    /// How many resources of `resource_type` a search finds (`_summary=count`).
    #[track_caller]
    pub fn count(&self, resource_type: &str) -> u64 {
        let r = self.get(&format!("/{resource_type}?_summary=count"));
        assert_eq!(r.status, 200, "count {resource_type}: {}", r.text());
        r.json()["total"]
            .as_u64()
            .unwrap_or_else(|| panic!("a count search has a total: {}", r.text()))
    }

    /// Follows a search's `next` links from `target`, returning the pages in order.
    #[track_caller]
    pub fn pages(&self, target: &str) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut next = Some(target.to_string());
        while let Some(target) = next.take() {
            assert!(
                pages.len() < 100,
                "more than 100 pages: the next links loop"
            );
            let r = self.get(&target);
            assert_eq!(r.status, 200, "GET {target}: {}", r.text());
            let page = r.json();
            assert_eq!(page["resourceType"], "Bundle", "{page}");
            next = link(&page, "next").map(|url| {
                let prefix = format!("http://{}", self.addr);
                url.strip_prefix(&prefix)
                    .unwrap_or_else(|| panic!("next link {url} is not on {prefix}"))
                    .to_string()
            });
            pages.push(page);
        }
        pages
    }

    /// SIGKILL: the process dies where it stands, nothing flushed.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        match wait_timeout(&mut child, STARTUP) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not stop within {STARTUP:?} of SIGTERM:\n{}",
                    self.log()
                )
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // No panics here: this runs while the test is already unwinding.
            let tail = self
                .log
                .lock()
                .map(|l| String::from_utf8_lossy(&l[l.len().saturating_sub(8000)..]).into_owned())
                .unwrap_or_default();
            eprintln!("--- yilian serve on {} logged:\n{tail}", self.addr);
        }
    }
}

/// An HTTP response, read whole.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.text()))
    }

    /// The OperationOutcome's issues, asserting that the body is one.
    #[track_caller]
    pub fn issues(&self) -> Vec<Value> {
        let v = self.json();
        assert_eq!(v["resourceType"], "OperationOutcome", "{v}");
        v["issue"].as_array().cloned().unwrap_or_default()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("set a read timeout");
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .expect("set a write timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    // A server may answer (413) and close before it has read the whole body; what matters
    // is the response, so a failed write is not a failure by itself.
    let _ = stream.write_all(&request);
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(_) if !raw.is_empty() => break,
            Err(e) => panic!("{method} {target}: reading the response failed: {e}"),
        }
    }
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "{method} {target}: not an HTTP response: {}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// The URL of the Bundle link with `relation`.
pub fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_string)
}

/// The resources in a Bundle's entries (search outcome entries left out).
pub fn resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] != "outcome")
        .filter_map(|e| e.get("resource").cloned())
        .collect()
}

/// A finished child process.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion within `limit`, capturing its output; kills it past the limit.
#[track_caller]
pub fn run(cmd: &mut Command, limit: Duration) -> Finished {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let status = wait_timeout(&mut child, limit);
    let text =
        |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&b.lock().expect("lock")).into_owned();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{cmd:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
            text(&stdout),
            text(&stderr)
        );
    };
    // The pipes close at exit; give the readers a moment to take the last bytes.
    std::thread::sleep(Duration::from_millis(50));
    Finished {
        status,
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Polls `child` until it exits or `limit` passes.
fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Some(status);
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `r` to its end on a thread of its own, so that a child never blocks on a full pipe.
fn drain(mut r: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    });
    out
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        rest.get(..len.parse::<usize>().ok()?)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..eol]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// `yilian admin token --data DATA`: an administrator's token for the server on `data`
/// (creating the region's credentials the first time).
pub fn admin_token(data: &Path) -> String {
    let out = yilian()
        .args(["admin", "token", "--minutes", "60", "--data"])
        .arg(data)
        .output()
        .expect("run yilian admin token");
    assert!(
        out.status.success(),
        "yilian admin token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("a token is ASCII")
        .trim()
        .to_string()
}
