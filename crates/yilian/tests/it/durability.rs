//! SIGTERM is a clean stop: the process exits successfully and everything it acknowledged
//! is there when it starts again on the same directory.

use crate::rest::patient;
use crate::support::{FHIR_JSON, Server, TempDir};
use serde_json::json;

#[test]
fn acknowledged_writes_survive_sigterm_and_restart() {
    let data = TempDir::new("durable");
    let mut server = Server::serve(data.path());
    let mut written = Vec::new();
    for n in 0..20 {
        let r = server.create(&patient(
            &format!("durable-{n}"),
            &format!("Durable{n}"),
            "1960-07-08",
        ));
        assert_eq!(r.status, 201, "{}", r.text());
        written.push((
            r.json()["id"].as_str().expect("an id").to_string(),
            format!("Durable{n}"),
            "1",
        ));
    }
    // One resource with a second version, and one deleted.
    let (id, _, _) = written[0].clone();
    let mut changed = patient("durable-0", "Durable0-Updated", "1960-07-08");
    changed["id"] = json!(id);
    let r = server.request(
        "PUT",
        &format!("/Patient/{id}"),
        &[FHIR_JSON],
        changed.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    written[0] = (id, "Durable0-Updated".to_string(), "2");
    let (gone, _, _) = written.pop().expect("twenty were written");
    let r = server.request("DELETE", &format!("/Patient/{gone}"), &[], b"");
    assert_eq!(r.status, 204, "{}", r.text());

    let status = server.terminate();
    assert!(
        status.success(),
        "yilian serve exited with {status} on SIGTERM:\n{}",
        server.log()
    );
    assert!(server.log().contains("store closed"), "{}", server.log());
    drop(server);

    let server = Server::serve(data.path());
    for (id, family, version) in &written {
        let r = server.get(&format!("/Patient/{id}"));
        assert_eq!(r.status, 200, "Patient/{id} after restart: {}", r.text());
        assert_eq!(r.json()["name"][0]["family"], family.as_str());
        assert_eq!(r.json()["meta"]["versionId"], *version);
    }
    assert_eq!(server.get(&format!("/Patient/{gone}")).status, 410);
    assert_eq!(server.count("Patient"), 19);
}
