//! HTTPS: `yilian serve --tls-cert --tls-key` with a certificate made for the test
//! (openssl), spoken to by Python's `ssl` verifying it; plain HTTP on that port gets no
//! answer.

use crate::support::{Server, TempDir, path_str, run};
use std::process::Command;
use std::time::Duration;

#[test]
fn https_with_a_configured_certificate() {
    let dir = TempDir::new("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = run(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=yilian.test"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        Duration::from_secs(60),
    );
    assert!(made.status.success(), "openssl: {}", made.stderr);
    let data = dir.join("data");
    let server = Server::start(&[
        "--data",
        path_str(&data),
        "--tls-cert",
        path_str(&cert),
        "--tls-key",
        path_str(&key),
    ]);
    let script = r#"
import ssl, sys, urllib.request, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
base = sys.argv[1]
with urllib.request.urlopen(base + "/metadata", context=ctx) as r:
    print("metadata", r.status, json.load(r)["resourceType"])
req = urllib.request.Request(base + "/Patient", headers={"Authorization": "Bearer " + sys.argv[3]})
with urllib.request.urlopen(req, context=ctx) as r:
    print("search", r.status, json.load(r)["resourceType"], r.version)
"#;
    let done = run(
        Command::new("python3")
            .args(["-c", script])
            .arg(format!("https://{}", server.addr))
            .arg(&cert)
            .arg(&server.token),
        Duration::from_secs(60),
    );
    assert!(
        done.status.success(),
        "python over TLS: {}\n{}",
        done.stdout,
        done.stderr
    );
    assert_eq!(
        done.stdout.trim(),
        "metadata 200 CapabilityStatement\nsearch 200 Bundle 11"
    );
    // Plain HTTP to the TLS port: the handshake fails and nothing is served.
    let plain = std::panic::catch_unwind(|| server.get("/metadata"));
    assert!(
        plain.is_err() || plain.as_ref().is_ok_and(|r| r.status != 200),
        "plain HTTP was served on the TLS port"
    );
}
