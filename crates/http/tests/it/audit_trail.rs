//! The audit trail over HTTP: every access recorded and shown to the patient, the
//! regulator's anomalies and review queue, and the log's tree heads and proofs checked
//! here the way an outside party would.

use super::{admin, app, block_on, send, token};
use base64::Engine;
use expect_test::expect;
use policy::{Purpose, Role};
use serde_json::{Value, json};

fn caller(role: Role, purpose: Purpose, org: Option<&str>, who: &str) -> String {
    token(policy::Caller {
        role,
        purpose,
        organization: org.map(|o| format!("Organization/{o}")),
        practitioner: Some(format!("Practitioner/{who}")),
        person: None,
    })
}

fn get(path: &str, token: &str) -> String {
    format!("GET {path}\nAuthorization: Bearer {token}")
}

fn post(path: &str, token: &str, body: &Value) -> String {
    format!(
        "POST {path}\nAuthorization: Bearer {token}\ncontent-type: application/fhir+json\n\n{body}"
    )
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().expect("base64 text"))
        .expect("base64")
}

fn hash(v: &Value) -> audit::Hash {
    b64(v).try_into().expect("32 bytes")
}

/// An AuditEvent in one line: action, outcome, who, where, about whom, flags.
fn line(e: &Value) -> String {
    let tags: Vec<&str> = e["meta"]["tag"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["code"].as_str())
        .collect();
    let who = &e["agent"][0]["who"];
    format!(
        "{} outcome={} by {}{}{} at {}{} patient={}{}",
        e["subtype"][1]["code"].as_str().unwrap_or("?"),
        e["outcome"].as_str().unwrap_or("?"),
        who["reference"]
            .as_str()
            .or(who["identifier"]["value"].as_str())
            .unwrap_or("?"),
        who["display"]
            .as_str()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default(),
        e["agent"][0]["location"]["display"]
            .as_str()
            .map(|d| format!(" [{d}]"))
            .unwrap_or_default(),
        e["agent"][1]["who"]["reference"].as_str().unwrap_or("-"),
        e["agent"][1]["who"]["display"]
            .as_str()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default(),
        e["entity"][0]["what"]["reference"].as_str().unwrap_or("-"),
        if tags.is_empty() {
            String::new()
        } else {
            format!(" {tags:?}")
        }
    )
}

#[test]
fn accesses_are_recorded_shown_to_the_patient_and_provable() {
    let out = block_on(async {
        let app = app();
        let mut setup = super::access::region();
        setup.extend([
            super::access::put(json!({"resourceType": "Organization", "id": "h1", "name": "北京协和医院"})),
            super::access::put(json!({"resourceType": "Practitioner", "id": "d1", "name": [{"text": "李明"}]})),
            super::access::put(json!({"resourceType": "PractitionerRole", "id": "r1",
                "practitioner": {"reference": "Practitioner/d1"}, "organization": {"reference": "Organization/h1"},
                "specialty": [{"text": "心内科"}]})),
            // The patient also works in the region: reads of their record are reported.
            super::access::put(json!({"resourceType": "Practitioner", "id": "staff",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105198001010016"}]})),
        ]);
        for s in &setup {
            let (status, _, body) = send(&app, s).await;
            assert!(status < 300, "setup request failed: {status} {body}");
        }
        let doctor = caller(Role::Doctor, Purpose::Treatment, Some("h1"), "d1");
        let stranger = caller(Role::Doctor, Purpose::Treatment, Some("h3"), "d3");
        let emergency = caller(Role::Doctor, Purpose::Emergency, Some("h3"), "d3");
        let auditor = caller(Role::Auditor, Purpose::Audit, None, "a1");
        let mut out = Vec::new();
        let mut step = |what: &str, status: u16| out.push(format!("{what}: {status}"));

        let (s, _, _) = send(&app, &get("/shared/Patient/a1", &doctor)).await;
        step("a doctor of h1 reads the shared record", s);
        let (s, _, _) = send(&app, &get("/shared/Patient/a2", &doctor)).await;
        step("and again, by the other registration", s);
        let (s, _, _) = send(&app, &get("/shared/Patient/a1", &stranger)).await;
        step("a doctor of h3 without a relationship", s);
        let (s, _, _) = send(
            &app,
            &post(
                "/shared/Patient/a1/$break-glass",
                &emergency,
                &json!({"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "unconscious, no relatives"}]}),
            ),
        )
        .await;
        step("the doctor of h3 breaks the glass", s);
        let (s, _, _) = send(&app, &get("/shared/Patient/a1", &emergency)).await;
        step("and reads", s);
        let (s, _, _) = send(
            &app,
            "POST /auth/login\nAuthorization: none\ncontent-type: application/x-www-form-urlencoded\n\nusername=mallory&password=guess",
        )
        .await;
        step("a failed sign-in", s);
        let (s, _, _) = send(&app, "GET /Patient/a1\nAuthorization: Bearer not-a-token").await;
        step("a forged token", s);
        let (s, _, _) = send(
            &app,
            &post(
                "/AuditEvent",
                &admin(),
                &json!({"resourceType": "AuditEvent"}),
            ),
        )
        .await;
        step("writing an AuditEvent", s);
        let (s, _, _) = send(&app, &get("/AuditEvent", &doctor)).await;
        step("a doctor searching the audit log", s);

        // The patient's own view.
        let (_, _, found) = send(&app, "GET /Person?link=Patient/a1").await;
        let person = found["entry"][0]["resource"]["id"]
            .as_str()
            .expect("a person")
            .to_string();
        let patient = token(policy::Caller {
            role: Role::Patient,
            purpose: Purpose::PatientAccess,
            organization: None,
            practitioner: None,
            person: Some(format!("Person/{person}")),
        });
        let (s, _, log) = send(&app, &get("/Patient/a2/$access-log", &patient)).await;
        out.push(format!("the patient's access log: {s}"));
        for e in log["entry"].as_array().into_iter().flatten() {
            let e = &e["resource"];
            let issues = fhir::validate::validate(e);
            assert!(
                !issues
                    .iter()
                    .any(|i| matches!(i.severity, fhir::Severity::Error | fhir::Severity::Fatal)),
                "an AuditEvent is valid R4: {}",
                fhir::outcome::render(&issues)
            );
            out.push(format!("  {}", line(e)));
        }
        let (s, _, notices) = send(&app, &get("/Patient/a1/$notifications", &patient)).await;
        out.push(format!("the patient's notifications: {s}"));
        for n in notices["entry"].as_array().into_iter().flatten() {
            let m: Value = serde_json::from_str(
                n["resource"]["payload"][0]["contentString"]
                    .as_str()
                    .unwrap_or("{}"),
            )
            .unwrap_or_default();
            out.push(format!(
                "  {} by {} of {}",
                m["kind"].as_str().unwrap_or("?"),
                m["who"].as_str().unwrap_or("?"),
                m["hospital"].as_str().unwrap_or("?")
            ));
        }
        let (s, _, _) = send(
            &app,
            &get(
                "/Patient/a1/$access-log",
                &caller(Role::Patient, Purpose::PatientAccess, None, "x"),
            ),
        )
        .await;
        out.push(format!("another patient's token: {s}"));

        // The auditor's desk.
        let (s, _, refused) = send(&app, &get("/AuditEvent?outcome=4&_count=10", &auditor)).await;
        out.push(format!("refusals in the log: {s}"));
        for e in refused["entry"].as_array().into_iter().flatten() {
            out.push(format!(
                "  {} ({})",
                line(&e["resource"]),
                e["resource"]["outcomeDesc"].as_str().unwrap_or("")
            ));
        }
        let (s, _, anomalies) = send(&app, &get("/audit/anomalies", &auditor)).await;
        out.push(format!("anomalies: {s}"));
        let mut glass_event = None;
        for a in anomalies["anomalies"].as_array().into_iter().flatten() {
            // After-hours depends on when the test runs.
            if a["kind"] == "after-hours" {
                continue;
            }
            if a["kind"] == "no-relationship" && glass_event.is_none() {
                glass_event = a["audit_event"].as_u64();
            }
            out.push(format!(
                "  {} by {} reviewed={}",
                a["kind"].as_str().unwrap_or("?"),
                a["agent"].as_str().unwrap_or("?"),
                a["reviewed"]
            ));
        }
        let (s, _, queue) = send(&app, &get("/audit/break-glass", &auditor)).await;
        let task = queue["entry"][0]["resource"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        out.push(format!(
            "break-glass awaiting review: {s}, {} task(s)",
            queue["total"]
        ));
        let (s, _, _) = send(
            &app,
            &post(
                "/audit/review",
                &auditor,
                &json!({"resourceType": "Parameters", "parameter": [
                    {"name": "position", "valueInteger": glass_event.unwrap_or_else(|| panic!("no break-glass anomaly:\n{}", out.join("\n")))},
                    {"name": "finding", "valueCode": "justified"},
                    {"name": "note", "valueString": "confirmed with the emergency department"},
                    {"name": "task", "valueReference": {"reference": format!("Task/{task}")}}]}),
            ),
        )
        .await;
        out.push(format!("the auditor reviews it: {s}"));
        let (_, _, queue) = send(&app, &get("/audit/break-glass", &auditor)).await;
        out.push(format!(
            "break-glass awaiting review: {} task(s)",
            queue["total"]
        ));
        let (_, _, anomalies) = send(&app, &get("/audit/anomalies", &auditor)).await;
        let reviewed = anomalies["anomalies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["reviewed"] == true)
            .count();
        out.push(format!("anomalies reviewed: {reviewed}"));
        let (s, _, stats) = send(&app, &get("/audit/stats", &auditor)).await;
        out.push(format!("statistics: {s}"));
        for h in stats["hospitals"].as_array().into_iter().flatten() {
            out.push(format!(
                "  {} shared={} break-glass={} refused={} patients={}",
                h["organization"].as_str().unwrap_or("?"),
                h["shared_views"],
                h["break_glass"],
                h["refused"],
                h["patients"]
            ));
        }

        // The log proves itself to anyone holding a tree head.
        let (_, _, head) = send(&app, &get("/audit/tree-head", &doctor)).await;
        let size = head["tree_size"].as_u64().expect("a size");
        let public = audit::VerifyingKey::from_bytes(
            &b64(&head["public_key"]).try_into().expect("32 bytes"),
        )
        .expect("a key");
        let sth = audit::SignedTreeHead {
            head: audit::TreeHead {
                size,
                root: hash(&head["sha256_root_hash"]),
                timestamp: head["timestamp"].as_i64().expect("time"),
            },
            signature: b64(&head["tree_head_signature"])
                .try_into()
                .expect("64 bytes"),
        };
        assert!(sth.verify(&public), "the head carries the log's signature");
        let mut proven = 0;
        for index in 0..size {
            let (_, _, entry) = send(&app, &get(&format!("/audit/entry/{index}"), &auditor)).await;
            let leaf = audit::leaf_hash(&b64(&entry["leaf_input"]));
            assert_eq!(leaf, hash(&entry["leaf_hash"]));
            let (_, _, proof) = send(
                &app,
                &get(&format!("/audit/proof?index={index}&size={size}"), &doctor),
            )
            .await;
            let path: Vec<audit::Hash> = proof["audit_path"]
                .as_array()
                .expect("a path")
                .iter()
                .map(hash)
                .collect();
            assert!(
                audit::merkle::verify_inclusion(index, size, &leaf, &path, &sth.head.root),
                "record {index}"
            );
            proven += 1;
        }
        let (_, _, first) = send(&app, &get("/audit/tree-head?size=1", &doctor)).await;
        let (_, _, proof) = send(
            &app,
            &get(
                &format!("/audit/consistency?first=1&second={size}"),
                &doctor,
            ),
        )
        .await;
        let path: Vec<audit::Hash> = proof["consistency"]
            .as_array()
            .expect("a proof")
            .iter()
            .map(hash)
            .collect();
        assert!(audit::merkle::verify_consistency(
            1,
            size,
            &hash(&first["sha256_root_hash"]),
            &sth.head.root,
            &path
        ));
        out.push(format!("inclusion proofs verified against the signed head: {proven} of {size}; the first head is a prefix of it"));
        out.join("\n")
    });
    expect![[r#"
        a doctor of h1 reads the shared record: 200
        and again, by the other registration: 200
        a doctor of h3 without a relationship: 403
        the doctor of h3 breaks the glass: 201
        and reads: 200
        a failed sign-in: 401
        a forged token: 401
        writing an AuditEvent: 403
        a doctor searching the audit log: 403
        the patient's access log: 200
          shared outcome=0 by Practitioner/d3 at Organization/h3 (h3) patient=Patient/a1 ["break-glass", "no-relationship", "staff-record"]
          break-glass outcome=0 by Practitioner/d3 at Organization/h3 (h3) patient=Patient/a1 ["break-glass", "no-relationship"]
          shared outcome=4 by Practitioner/d3 at Organization/h3 (h3) patient=Patient/a1
          shared outcome=0 by Practitioner/d1 (李明) [心内科] at Organization/h1 (北京协和医院) patient=Patient/a2 ["staff-record"]
          shared outcome=0 by Practitioner/d1 (李明) [心内科] at Organization/h1 (北京协和医院) patient=Patient/a1 ["staff-record"]
        the patient's notifications: 200
          first-access by Practitioner/d3 of Organization/h3
          break-glass by Practitioner/d3 of Organization/h3
          first-access by Practitioner/d1 of Organization/h1
        another patient's token: 403
        refusals in the log: 200
          search outcome=4 by Practitioner/x at - patient=- (forbidden)
          search outcome=4 by Practitioner/d1 at Organization/h1 patient=- (forbidden)
          sign-in outcome=4 by anonymous at - patient=- (unauthenticated)
          sign-in outcome=4 by anonymous at - patient=- (invalid_grant)
          shared outcome=4 by Practitioner/d3 at Organization/h3 patient=Patient/a1 (forbidden)
        anomalies: 200
          staff-record by Practitioner/d1 reviewed=false
          staff-record by Practitioner/d1 reviewed=false
          no-relationship by Practitioner/d3 reviewed=false
          no-relationship by Practitioner/d3 reviewed=false
          staff-record by Practitioner/d3 reviewed=false
        break-glass awaiting review: 200, 1 task(s)
        the auditor reviews it: 200
        break-glass awaiting review: 0 task(s)
        anomalies reviewed: 1
        statistics: 200
          Organization/h1 shared=2 break-glass=0 refused=1 patients=2
          Organization/h3 shared=1 break-glass=1 refused=1 patients=1
        inclusion proofs verified against the signed head: 35 of 35; the first head is a prefix of it
    "#]].assert_eq(&(out + "\n"));
}
