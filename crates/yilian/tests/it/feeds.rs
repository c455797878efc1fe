//! Hospital feeds through the real binary: `yilian serve --mllp` takes HL7 v2 from a real
//! sender (Python's `hl7` package), acknowledges each message once it is stored (or says
//! where it is wrong), repeats the acknowledgement of a resent control id without a second
//! write, and after a kill -9 in the middle of a stream holds every acknowledged message.

use crate::support::{FHIR_JSON, Server, TempDir, in_ci, path_str, run, yilian};
use expect_test::expect;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Admits hospital h02's feed (facility H02) from the loopback address.
fn admit(data: &Path) {
    let out = yilian()
        .args(["admin", "feed", "--data", path_str(data)])
        .args([
            "--hospital",
            "h02",
            "--facility",
            "H02",
            "--address",
            "127.0.0.1",
        ])
        .output()
        .expect("run yilian admin feed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn serve_mllp(data: &Path) -> Server {
    Server::start(&["--data", path_str(data), "--mllp", "127.0.0.1:0"])
}

#[test]
fn python_hl7_sends_and_reads_acknowledgements() {
    let probe = Command::new("python3").args(["-c", "import hl7"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !in_ci(),
            "the Python package hl7 is required in CI (pip install hl7)"
        );
        eprintln!("python3 cannot import hl7 (pip install hl7): skipping");
        return;
    }
    let data = TempDir::new("feeds-python");
    admit(data.path());
    let server = serve_mllp(data.path());
    let mllp = server.mllp.expect("an MLLP address");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/hl7_e2e.py");
    let done = run(
        Command::new("python3")
            .arg(&script)
            .arg(mllp.ip().to_string())
            .arg(mllp.port().to_string()),
        Duration::from_secs(60),
    );
    assert!(
        done.status.success(),
        "{} failed\nstdout:\n{}\nstderr:\n{}\nserver:\n{}",
        script.display(),
        done.stdout,
        done.stderr,
        server.log()
    );
    expect![[r#"
        A04 registration: AA to M1
        ORU result: AA to M2
        ORU resent: AA to M2
        no record number: AE to M3 ERR PID^1^3 101
        not a number: AE to M4 ERR OBX^1^5 102
        unknown facility: AR to M5 ERR MSH^1^4 204
        version 2.2: AR to M6 ERR MSH^1^12 203
        unsupported event: AR to M7 ERR MSH^1^9 201
        GB18030 registration: AA to M8
        resent ORU got the same acknowledgement: True
        hl7 e2e: ok
    "#]]
    .assert_eq(&done.stdout);

    // What was acknowledged is in the record, once.
    let mut seen = Vec::new();
    for t in ["Patient", "Encounter", "DiagnosticReport", "Observation"] {
        seen.push(format!("{t}: {}", server.count(t)));
    }
    let r = server.get("/Patient?identifier=https://yilian.health/fhir/sid/mrn/h02|H02-901");
    let gb = r.json();
    seen.push(format!(
        "GB 18030 name: {}",
        gb["entry"][0]["resource"]["name"][0]["text"]
    ));
    let r = server
        .get("/Observation?_tag=https://yilian.health/fhir/CodeSystem/data-quality|unmapped-code");
    seen.push(format!(
        "tagged unmapped: {}",
        r.json()["entry"].as_array().map_or(0, Vec::len)
    ));
    // Data quality: volumes and refusals by reason (the unknown facility is no hospital's).
    let q = server.get("/feeds/quality").json();
    let h = &q["hospitals"][0];
    seen.push(format!(
        "quality {}: messages {} accepted {} errors {} rejected {} unmapped codes {}",
        h["hospital"], h["messages"], h["accepted"], h["errors"], h["rejected"], h["unmappedCodes"]
    ));
    for r in h["refusals"].as_array().into_iter().flatten() {
        seen.push(format!("  {} {}: {}", r["outcome"], r["kind"], r["reason"]));
    }
    let queue = server.get("/feeds/unmapped?hospital=h02").json();
    for i in queue["items"].as_array().into_iter().flatten() {
        seen.push(format!(
            "queue: {} {} seen {}",
            i["code"], i["display"], i["seen"]
        ));
    }
    // The hospital uploads its map: the code leaves the queue.
    let map = json!({"resourceType": "ConceptMap", "id": "h02-lab", "status": "active",
        "group": [{"source": "https://yilian.health/fhir/CodeSystem/local/h02/lab",
            "target": "http://loinc.org",
            "element": [{"code": "L-HGB", "target": [{"code": "718-7", "display": "Hemoglobin", "equivalence": "equivalent"}]}]}]});
    let r = server.request(
        "PUT",
        "/ConceptMap/h02-lab",
        &[FHIR_JSON],
        map.to_string().as_bytes(),
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.text());
    let queue = server.get("/feeds/unmapped?hospital=h02").json();
    seen.push(format!(
        "queue after the map: {}",
        queue["items"].as_array().map_or(0, Vec::len)
    ));
    expect![[r#"
        Patient: 2
        Encounter: 2
        DiagnosticReport: 1
        Observation: 2
        GB 18030 name: "欧阳娜娜"
        tagged unmapped: 1
        quality "h02": messages 7 accepted 3 errors 2 rejected 2 unmapped codes 1
          "AR" "ADT^A04": "MSH-12 names a version not taken: 2.3 to 2.5.1 are"
          "AE" "ADT^A08": "PID-3 carries no medical record number (type MR)"
          "AR" "ADT^A99": "MSH-9: ADT^A99 is not taken here"
          "AE" "ORU^R01": "OBX-5 is not a number, as OBX-2 (NM) says"
        queue: "L-HGB" "血红蛋白" seen 1
        queue after the map: 0
    "#]]
    .assert_eq(&(seen.join("\n") + "\n"));
}

/// An ORU with its own control id and filler order number.
fn oru(n: usize) -> String {
    format!(
        "MSH|^~\\&|LIS|H02|YILIAN|REGION|20261201083000||ORU^R01^ORU_R01|S{n}|P|2.5.1\r\
         PID|1||H02-{p}^^^H02^MR||李^{p}||19800101|F\r\
         OBR|1|O{n}|F{n}|58410-2^血常规^LN|||20261201080000|||||||||||||||20261201082000|||F\r\
         OBX|1|NM|6690-2^白细胞计数^LN||{v}|10*9/L|3.5-9.5|N|||F\r",
        p = n % 50,
        v = 4 + n % 5
    )
}

/// Sends `messages` over one connection, pipelined, and returns the control ids
/// acknowledged with AA before the connection ended.
fn stream(addr: SocketAddr, messages: Vec<(usize, String)>) -> Vec<usize> {
    let Ok(mut conn) = TcpStream::connect(addr) else {
        return Vec::new();
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = conn.try_clone().expect("clone the socket");
    let ids: Vec<usize> = messages.iter().map(|(n, _)| *n).collect();
    let sender = std::thread::spawn(move || {
        for (_, m) in messages {
            let mut frame = vec![0x0b];
            frame.extend_from_slice(m.as_bytes());
            frame.extend_from_slice(&[0x1c, 0x0d]);
            if conn.write_all(&frame).is_err() {
                break;
            }
        }
    });
    let mut acked = Vec::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    'read: while acked.len() < ids.len() {
        let n = match reader.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(2).position(|w| w == [0x1c, 0x0d]) {
            let ack = String::from_utf8_lossy(&buf[1..end]).into_owned();
            buf.drain(..end + 2);
            let msa = ack
                .split('\r')
                .find(|s| s.starts_with("MSA|"))
                .unwrap_or("");
            let fields: Vec<&str> = msa.split('|').collect();
            if fields.get(1) != Some(&"AA") {
                break 'read;
            }
            let id: usize = fields[2].trim_start_matches('S').parse().expect("an id");
            acked.push(id);
        }
    }
    let _ = sender.join();
    acked
}

#[test]
fn a_kill_mid_stream_loses_nothing_acknowledged_and_a_resend_lands_once() {
    let data = TempDir::new("feeds-kill");
    admit(data.path());
    let mut server = serve_mllp(data.path());
    let addr = server.mllp.expect("an MLLP address");
    let total = 4000;
    let per = total / 4;
    let senders: Vec<_> = (0..4)
        .map(|c| {
            let batch: Vec<(usize, String)> =
                (c * per..(c + 1) * per).map(|n| (n, oru(n))).collect();
            std::thread::spawn(move || stream(addr, batch))
        })
        .collect();
    // Kill as soon as some have been acknowledged, while the rest are in flight.
    let started = std::time::Instant::now();
    while server.count("DiagnosticReport") < 200 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let acked: Vec<usize> = senders
        .into_iter()
        .flat_map(|s| s.join().expect("a sender"))
        .collect();
    assert!(!acked.is_empty(), "some messages were acknowledged");
    assert!(acked.len() < total, "the kill came mid-stream");

    let server = serve_mllp(data.path());
    let addr = server.mllp.expect("an MLLP address");
    for id in &acked {
        let r = server.get(&format!(
            "/DiagnosticReport?identifier=https://yilian.health/fhir/CodeSystem/local/h02/report|F{id}&_summary=count"
        ));
        assert_eq!(r.json()["total"], 1, "acknowledged message S{id} was lost");
    }
    // The sender resends everything (it cannot know what was stored unacknowledged).
    let all: Vec<(usize, String)> = (0..total).map(|n| (n, oru(n))).collect();
    let again = stream(addr, all);
    assert_eq!(again.len(), total, "every resent message is acknowledged");
    assert_eq!(
        server.count("DiagnosticReport"),
        total as u64,
        "each stored once"
    );
    assert_eq!(server.count("Observation"), total as u64);
    assert_eq!(server.count("Patient"), 50);
    // A report was written once: version 1 everywhere.
    let r = server.get("/DiagnosticReport?_count=1&_sort=-_lastUpdated");
    assert_eq!(r.json()["entry"][0]["resource"]["meta"]["versionId"], "1");
}

#[test]
fn a_wst500_document_lands_once_with_its_original() {
    let data = TempDir::new("feeds-cda");
    let server = Server::serve(data.path());
    let xml = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/wst500-C0007.xml"),
    )
    .expect("the sample document");
    let post = |body: &[u8]| {
        server.request(
            "POST",
            "/feeds/cda?hospital=h02",
            &[("Content-Type", "application/xml")],
            body,
        )
    };
    let mut seen = Vec::new();
    for attempt in ["first", "again"] {
        let r = post(&xml);
        seen.push(format!("{attempt}: {} {}", r.status, r.json()["outcome"]));
    }
    for t in [
        "Patient",
        "DocumentReference",
        "Binary",
        "Observation",
        "Condition",
    ] {
        seen.push(format!("{t}: {}", server.count(t)));
    }
    // The original is kept as sent, and the DocumentReference points at it.
    let d = server.get("/DocumentReference").json();
    let url = d["entry"][0]["resource"]["content"][0]["attachment"]["url"]
        .as_str()
        .expect("an attachment url")
        .to_string();
    let binary = server.get(&format!("/{url}")).json();
    let original = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        binary["data"].as_str().expect("data"),
    )
    .expect("base64");
    seen.push(format!("original kept byte for byte: {}", original == xml));
    let broken = String::from_utf8(xml.clone())
        .expect("UTF-8")
        .replace("code=\"C0007\"", "code=\"C0099\"");
    let r = post(broken.as_bytes());
    seen.push(format!(
        "unknown document: {} {} at {}",
        r.status,
        r.json()["issue"][0]["diagnostics"],
        r.json()["issue"][0]["expression"][0]
    ));
    let r = server.request("POST", "/feeds/cda?hospital=h02", &[FHIR_JSON], b"{}");
    seen.push(format!("JSON instead of XML: {}", r.status));
    let q = server.get("/feeds/quality").json();
    let h = &q["hospitals"][0];
    seen.push(format!(
        "quality: {} accepted {} errors {} kinds {}",
        h["messages"], h["accepted"], h["errors"], h["byKind"]
    ));
    expect![[r#"
        first: 201 "stored"
        again: 200 "already received: this document id was stored before; nothing was written"
        Patient: 1
        DocumentReference: 1
        Binary: 1
        Observation: 2
        Condition: 1
        original kept byte for byte: true
        unknown document: 422 "the document code (code system 2.16.156.10011.2.4) is one of C0001, C0002, C0004, C0006, C0007, C0009, C0032, C0053" at "ClinicalDocument/code"
        JSON instead of XML: 415
        quality: 2 accepted 1 errors 1 kinds {"CDA":1,"CDA^C0007":1}
    "#]].assert_eq(&(seen.join("\n") + "\n"));
}
