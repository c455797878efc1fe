//! Who may call, and what they see: tokens refused at the door, roles kept to their own
//! paths, and the shared record across two hospitals as consent and policy decide.

use super::{admin, app, block_on, credentials, send, token};
use expect_test::{Expect, expect};
use policy::{Purpose, Role};
use serde_json::{Value, json};

/// A token for `role` acting for `Organization/{org}` as `Practitioner/d1`.
fn token_at(role: Role, purpose: Purpose, org: &str) -> String {
    token(policy::Caller {
        role,
        purpose,
        organization: Some(format!("Organization/{org}")),
        practitioner: Some("Practitioner/d1".into()),
        person: None,
    })
}

/// Status, the challenge on a 401, and the body in brief: an OperationOutcome's issues, a
/// Bundle's entries with the hospital each came from, or an OAuth answer.
fn brief(status: u16, headers: &[(String, String)], body: &Value) -> String {
    let mut out = format!("{status}");
    if headers.iter().any(|(k, _)| k == "www-authenticate") {
        out.push_str(" (Bearer challenge)");
    }
    let issues = |r: &Value, out: &mut String| {
        for i in r["issue"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "\n  {} {}: {}",
                i["severity"].as_str().unwrap_or_default(),
                i["code"].as_str().unwrap_or_default(),
                i["diagnostics"].as_str().unwrap_or_default()
            ));
        }
    };
    match body["resourceType"].as_str() {
        Some("OperationOutcome") => issues(body, &mut out),
        Some("Bundle") => {
            out.push_str(&format!(" Bundle total={}", body["total"]));
            for e in body["entry"].as_array().into_iter().flatten() {
                let r = &e["resource"];
                if e["search"]["mode"] == "outcome" {
                    issues(r, &mut out);
                    continue;
                }
                out.push_str(&format!(
                    "\n  {}/{} from {}",
                    r["resourceType"].as_str().unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default(),
                    e["search"]["extension"][0]["valueReference"]["reference"]
                        .as_str()
                        .unwrap_or("?")
                ));
            }
        }
        Some(t) => out.push_str(&format!(" {t}")),
        None if body.get("access_token").is_some() => out.push_str(&format!(
            " access_token ({} s, {})",
            body["expires_in"], body["token_type"]
        )),
        None if body.get("error").is_some() => out.push_str(&format!(
            " {}: {}",
            body["error"].as_str().unwrap_or_default(),
            body["error_description"].as_str().unwrap_or_default()
        )),
        None => out.push_str(" (no body)"),
    }
    out
}

/// Runs `setup` as an administrator, then each request, and snapshots the answers.
#[track_caller]
fn scenario(setup: &[String], requests: &[(&str, String)], expect: Expect) {
    let out = block_on(async {
        let app = app();
        for s in setup {
            let (status, _, body) = send(&app, s).await;
            assert!(status < 300, "setup request failed: {status} {body}");
        }
        let mut out = Vec::new();
        for (what, raw) in requests {
            let (status, headers, body) = send(&app, raw).await;
            out.push(format!("{what}: {}", brief(status, &headers, &body)));
        }
        out.join("\n")
    });
    expect.assert_eq(&(out + "\n"));
}

fn get(path: &str, token: &str) -> String {
    format!("GET {path}\nAuthorization: Bearer {token}")
}

#[test]
fn tokens_are_checked_at_the_door() {
    let keys = auth::Keys::new(&[42; 32], "yilian").expect("keys");
    let other_audience = auth::Keys::new(&[42; 32], "https://other/fhir").expect("keys");
    let other_secret = auth::Keys::new(&[7; 32], "yilian").expect("keys");
    let operator = auth::Principal {
        caller: policy::Caller {
            role: Role::Admin,
            purpose: Purpose::Operations,
            organization: None,
            practitioner: None,
            person: None,
        },
        subject: "admin".into(),
        client: None,
    };
    let now = http_api::now();
    let doctor = token_at(Role::Doctor, Purpose::Treatment, "h1");
    let patient = {
        let mut p = operator.clone();
        p.caller.role = Role::Patient;
        p.caller.purpose = Purpose::PatientAccess;
        p.caller.person = Some("Person/x".into());
        keys.issue(&p, now, 300, "p")
    };
    scenario(
        &[],
        &[
            (
                "metadata, no token",
                "GET /metadata\nAuthorization: none".into(),
            ),
            (
                "health, no token",
                "GET /health\nAuthorization: none".into(),
            ),
            (
                "SMART discovery, no token",
                "GET /.well-known/smart-configuration\nAuthorization: none".into(),
            ),
            (
                "a search, no token",
                "GET /Patient\nAuthorization: none".into(),
            ),
            (
                "a search, not a bearer",
                "GET /Patient\nAuthorization: Basic YTpi".into(),
            ),
            ("an operator", get("/Patient", &admin())),
            (
                "expired",
                get("/Patient", &keys.issue(&operator, now - 600, 300, "e")),
            ),
            (
                "for another audience",
                get("/Patient", &other_audience.issue(&operator, now, 300, "a")),
            ),
            (
                "badly signed",
                get("/Patient", &other_secret.issue(&operator, now, 300, "s")),
            ),
            ("garbage", get("/Patient", "abc.def.ghi")),
            (
                "a doctor reading a directory",
                get("/Organization", &doctor),
            ),
            ("a doctor reading a Patient", get("/Patient/p1", &doctor)),
            (
                "a doctor searching Observations",
                get("/Observation?patient=p1", &doctor),
            ),
            (
                "a doctor reading $everything",
                get("/Patient/p1/$everything", &doctor),
            ),
            ("a doctor reading history", get("/_history", &doctor)),
            (
                "a doctor including from the directory",
                get("/Organization?_revinclude=Patient:organization", &doctor),
            ),
            (
                "a patient writing",
                format!(
                    "POST /Patient\nAuthorization: Bearer {patient}\ncontent-type: application/fhir+json\n\n{{\"resourceType\":\"Patient\"}}"
                ),
            ),
            (
                "a doctor deciding a link",
                format!(
                    "POST /Patient/$link\nAuthorization: Bearer {doctor}\ncontent-type: application/fhir+json\n\n{{\"resourceType\":\"Parameters\"}}"
                ),
            ),
        ],
        expect![[r#"
            metadata, no token: 200 CapabilityStatement
            health, no token: 200 (no body)
            SMART discovery, no token: 200 (no body)
            a search, no token: 401 (Bearer challenge)
              error login: an Authorization: Bearer token is required
            a search, not a bearer: 401 (Bearer challenge)
              error login: an Authorization: Bearer token is required
            an operator: 200 Bundle total=0
            expired: 401 (Bearer challenge)
              error login: the token has expired
            for another audience: 401 (Bearer challenge)
              error login: the token is issued for another audience
            badly signed: 401 (Bearer challenge)
              error login: the token's signature does not verify
            garbage: 401 (Bearer challenge)
              error login: the token is not a well-formed JWT
            a doctor reading a directory: 200 Bundle total=0
            a doctor reading a Patient: 403
              error forbidden: Patient is patient data: read it through GET /shared/Patient/{id}, where the patient's consent decides
            a doctor searching Observations: 403
              error forbidden: Observation is patient data: read it through GET /shared/Patient/{id}, where the patient's consent decides
            a doctor reading $everything: 403
              error forbidden: Patient is patient data: read it through GET /shared/Patient/{id}, where the patient's consent decides
            a doctor reading history: 403
              error forbidden: the whole store's history is the operator's
            a doctor including from the directory: 403
              error forbidden: _include and _revinclude are for administrators: they would reach patient data
            a patient writing: 403
              error forbidden: this role does not write records
            a doctor deciding a link: 403
              error forbidden: only administrators decide patient-index links
        "#]],
    );
}

/// A hospital system's signed assertion at the token endpoint, then the token it got.
#[test]
fn hospital_systems_and_people_sign_in() {
    const H1_KEY: &[u8] = include_bytes!("../../../auth/src/testdata/h1-es384.pem");
    let mut config = credentials();
    config.clients.push(
        serde_json::from_value(json!({"client_id": "his-h1", "organization": "Organization/h1",
            "jwks": {"keys": [{"kty": "EC", "crv": "P-384", "kid": "h1-test", "alg": "ES384", "use": "sig",
                "x": "IrVqydZkNNgkEZUQx7T74Hf2NtakBYBjG0JZfeJ-CjkqxB5dYYahR2CC_tYtDqbz",
                "y": "Ulma-yn_KQVcHMwclST5UmwIJeDe1tJZV_SKTRuVlokLw6aVTlrYus391ICnmzKy"}]}}))
        .expect("a client"),
    );
    config.users.push(auth::User {
        username: "dr.li".into(),
        password: auth::hash_password("a long passphrase", &[1; 16]),
        role: "doctor".into(),
        organization: Some("Organization/h1".into()),
        practitioner: Some("Practitioner/d2".into()),
        person: None,
    });
    let app = super::app_with(config);
    let assertion = |jti: &str, org: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES384);
        header.kid = Some("h1-test".into());
        let claims = json!({"iss": "his-h1", "sub": "his-h1", "aud": "http://yilian.test/auth/token",
            "exp": http_api::now() + 120, "jti": jti, "role": "doctor", "purpose_of_use": "TREAT",
            "practitioner": "Practitioner/d1", "organization": org});
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_pem(H1_KEY).expect("key"),
        )
        .expect("jwt")
    };
    let form = |jwt: &str| {
        format!(
            "POST /auth/token\nAuthorization: none\ncontent-type: application/x-www-form-urlencoded\n\n\
             grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={jwt}"
        )
    };
    let login = |user: &str, password: &str| {
        format!(
            "POST /auth/login\nAuthorization: none\ncontent-type: application/x-www-form-urlencoded\n\nusername={user}&password={password}"
        )
    };
    let out = block_on(async {
        let mut out = Vec::new();
        let first = assertion("j1", "Organization/h1");
        let (status, headers, body) = send(&app, &form(&first)).await;
        out.push(format!("assertion: {}", brief(status, &headers, &body)));
        let token = body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (status, headers, body) = send(&app, &get("/Organization", &token)).await;
        out.push(format!(
            "its token, the directory: {}",
            brief(status, &headers, &body)
        ));
        let (status, headers, body) = send(&app, &form(&first)).await;
        out.push(format!(
            "the same assertion again: {}",
            brief(status, &headers, &body)
        ));
        let other = assertion("j2", "Organization/h2");
        let (status, headers, body) = send(&app, &form(&other)).await;
        out.push(format!(
            "naming another hospital: {}",
            brief(status, &headers, &body)
        ));
        let (status, headers, body) =
            send(&app, "POST /auth/token\nAuthorization: none\ncontent-type: application/x-www-form-urlencoded\n\ngrant_type=password").await;
        out.push(format!("another grant: {}", brief(status, &headers, &body)));
        let (status, headers, body) = send(&app, &login("dr.li", "a+long+passphrase")).await;
        out.push(format!("sign-in: {}", brief(status, &headers, &body)));
        let (status, headers, body) = send(&app, &login("dr.li", "wrong")).await;
        out.push(format!(
            "wrong password: {}",
            brief(status, &headers, &body)
        ));
        out.join("\n")
    });
    expect![[r#"
        assertion: 200 access_token (300 s, "bearer")
        its token, the directory: 200 Bundle total=0
        the same assertion again: 400 invalid_grant: the client assertion was already used (jti seen before)
        naming another hospital: 403 unauthorized_client: the client acts for another hospital
        another grant: 400 unsupported_grant_type: grant_type must be client_credentials
        sign-in: 200 access_token (300 s, "bearer")
        wrong password: 401 (Bearer challenge) invalid_grant: unknown user name or wrong password
    "#]].assert_eq(&(out + "\n"));
}

/// `days` ago, as a FHIR dateTime.
pub(crate) fn ago(days: i64) -> String {
    fhir::time::format_instant((http_api::now() - days * 86_400) * 1000)
}

pub(crate) fn put(resource: Value) -> String {
    let path = format!(
        "{}/{}",
        resource["resourceType"].as_str().expect("a type"),
        resource["id"].as_str().expect("an id")
    );
    format!("PUT /{path}\ncontent-type: application/fhir+json\n\n{resource}")
}

/// One person registered at h1 and h2: consent given at h2, a visit at each hospital, a
/// psychiatric diagnosis, an old result and an old allergy.
pub(crate) fn region() -> Vec<String> {
    const RID: &str = "urn:oid:2.16.156.10011.1.3";
    let patient = |id: &str, org: &str| {
        json!({"resourceType": "Patient", "id": id,
            "identifier": [{"system": RID, "value": "110105198001010016"}],
            "name": [{"text": "王伟", "family": "王", "given": ["伟"]}], "gender": "male",
            "birthDate": "1980-01-01", "managingOrganization": {"reference": format!("Organization/{org}")}})
    };
    let encounter = |id: &str, patient: &str, org: &str, days: i64| {
        json!({"resourceType": "Encounter", "id": id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": format!("Patient/{patient}")},
            "period": {"start": ago(days)}, "serviceProvider": {"reference": format!("Organization/{org}")}})
    };
    let mut out: Vec<String> = ["h1", "h2", "h3"]
        .iter()
        .map(|h| put(json!({"resourceType": "Organization", "id": h, "name": h})))
        .collect();
    out.extend([
        put(patient("a1", "h1")),
        put(patient("a2", "h2")),
        put(json!({"resourceType": "Consent", "id": "c1", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/a2"}, "dateTime": ago(20),
            "performer": [{"reference": "Patient/a2"}],
            "sourceAttachment": {"contentType": "image/png", "title": "电子手写签名",
                "data": "c2Nhbg==", "hash": "/6nCTGgj4n9A2aKWWl6I2hhVecE="},
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
            "provision": {"type": "permit"}})),
        put(encounter("e1", "a1", "h1", 5)),
        put(encounter("e2", "a2", "h2", 10)),
        put(json!({"resourceType": "Condition", "id": "d1", "subject": {"reference": "Patient/a2"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.9"}]},
            "recordedDate": ago(10)})),
        put(json!({"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
            "subject": {"reference": "Patient/a2"}, "effectiveDateTime": ago(200)})),
        put(json!({"resourceType": "AllergyIntolerance", "id": "al1",
            "code": {"text": "青霉素"}, "patient": {"reference": "Patient/a2"}, "recordedDate": ago(2000)})),
    ]);
    out
}

#[test]
fn the_shared_record_across_hospitals() {
    let doctor = token_at(Role::Doctor, Purpose::Treatment, "h1");
    let nurse = token_at(Role::Nurse, Purpose::Treatment, "h1");
    let stranger = token_at(Role::Doctor, Purpose::Treatment, "h3");
    let emergency = token_at(Role::Doctor, Purpose::Emergency, "h3");
    let break_glass = |body: &str| {
        format!(
            "POST /shared/Patient/a1/$break-glass\nAuthorization: Bearer {emergency}\ncontent-type: application/fhir+json\n\n{body}"
        )
    };
    let withdrawn = {
        let mut setup = region();
        setup.push(put(json!({"resourceType": "Consent", "id": "c2", "status": "inactive",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/a1"}, "dateTime": ago(1),
            "provision": {"type": "permit"}})));
        setup
    };
    scenario(
        &region(),
        &[
            ("a doctor of h1", get("/shared/Patient/a1", &doctor)),
            (
                "the same person by the other registration",
                get("/shared/Patient/a2", &doctor),
            ),
            ("a nurse of h1", get("/shared/Patient/a1", &nurse)),
            (
                "a doctor of h3, no relationship",
                get("/shared/Patient/a1", &stranger),
            ),
            (
                "an emergency at h3, no grant",
                get("/shared/Patient/a1", &emergency),
            ),
            (
                "breaking the glass without a reason",
                break_glass(r#"{"resourceType":"Parameters"}"#),
            ),
            (
                "breaking the glass",
                break_glass(
                    r#"{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"unconscious"}]}"#,
                ),
            ),
            (
                "the emergency at h3, granted",
                get("/shared/Patient/a1", &emergency),
            ),
            ("an administrator", get("/shared/Patient/a1", &admin())),
            (
                "a patient not registered",
                get("/shared/Patient/zz", &doctor),
            ),
            (
                "a feed's conditional create matching another hospital's item",
                format!(
                    "POST /Observation\nAuthorization: Bearer {doctor}\ncontent-type: application/fhir+json\nif-none-exist: _id=o1\n\n{}",
                    json!({"resourceType": "Observation", "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
                        "subject": {"reference": "Patient/a1"}})
                ),
            ),
            (
                "a hospital's consent without its evidence",
                put(
                    json!({"resourceType": "Consent", "id": "c9", "status": "active",
                    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
                    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                    "patient": {"reference": "Patient/a1"}, "provision": {"type": "permit"}}),
                )
                .replacen('\n', &format!("\nAuthorization: Bearer {doctor}\n"), 1),
            ),
        ],
        expect![[r#"
            a doctor of h1: 200 Bundle total=3
              information informational: shown under Consent/c1
              information informational: 1 item withheld as sensitive without the patient's explicit consent
              information informational: 1 item withheld as older than the sharing window
              Encounter/e1 from Organization/h1
              Encounter/e2 from Organization/h2
              AllergyIntolerance/al1 from Organization/h2
            the same person by the other registration: 200 Bundle total=3
              information informational: shown under Consent/c1
              information informational: 1 item withheld as sensitive without the patient's explicit consent
              information informational: 1 item withheld as older than the sharing window
              Encounter/e1 from Organization/h1
              Encounter/e2 from Organization/h2
              AllergyIntolerance/al1 from Organization/h2
            a nurse of h1: 200 Bundle total=3
              information informational: shown under Consent/c1
              information informational: 1 item withheld as sensitive without the patient's explicit consent
              information informational: 1 item withheld as older than the sharing window
              Encounter/e1 from Organization/h1
              Encounter/e2 from Organization/h2
              AllergyIntolerance/al1 from Organization/h2
            a doctor of h3, no relationship: 403
              error forbidden: the patient has no recent registration or admission at the caller's hospital
            an emergency at h3, no grant: 403
              error forbidden: an emergency access needs an open break-glass grant
            breaking the glass without a reason: 400
              error invalid: $break-glass needs a Parameters resource with a non-empty valueString parameter named reason
            breaking the glass: 201 Task
            the emergency at h3, granted: 200 Bundle total=3
              information informational: shown by break-glass: this access is flagged for review and the patient is told
              information informational: 1 item withheld as sensitive without the patient's explicit consent
              information informational: 1 item withheld as older than the sharing window
              Encounter/e1 from Organization/h1
              Encounter/e2 from Organization/h2
              AllergyIntolerance/al1 from Organization/h2
            an administrator: 403
              error forbidden: this role does not read clinical records
            a patient not registered: 404
              error not-found: resource Patient/zz not found
            a feed's conditional create matching another hospital's item: 200 (no body)
            a hospital's consent without its evidence: 422
              error invariant: an active consent to share needs its evidence: the scanned agreement or the signature, as sourceAttachment (or sourceReference)
        "#]],
    );
    // A visit at h3 makes a relationship there, while it is recent.
    let visit_at_h3 = |days: i64| {
        let mut setup = region();
        setup.push(put(
            json!({"resourceType": "Encounter", "id": "e3", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
            "subject": {"reference": "Patient/a1"},
            "period": {"start": ago(days), "end": ago(days - 1)},
            "serviceProvider": {"reference": "Organization/h3"}}),
        ));
        setup
    };
    scenario(
        &visit_at_h3(3),
        &[(
            "a doctor of h3, a visit there 3 days ago",
            get("/shared/Patient/a1", &stranger),
        )],
        expect![[r#"
            a doctor of h3, a visit there 3 days ago: 200 Bundle total=4
              information informational: shown under Consent/c1
              information informational: 1 item withheld as sensitive without the patient's explicit consent
              information informational: 1 item withheld as older than the sharing window
              Encounter/e3 from Organization/h1
              Encounter/e1 from Organization/h1
              Encounter/e2 from Organization/h2
              AllergyIntolerance/al1 from Organization/h2
        "#]],
    );
    scenario(
        &visit_at_h3(40),
        &[(
            "a doctor of h3, a visit there 40 days ago",
            get("/shared/Patient/a1", &stranger),
        )],
        expect![[r#"
            a doctor of h3, a visit there 40 days ago: 403
              error forbidden: the patient has no recent registration or admission at the caller's hospital
        "#]],
    );
    let without_h2 = {
        let mut setup = region();
        setup.push(put(json!({"resourceType": "Consent", "id": "c1", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/a2"}, "dateTime": ago(20),
            "sourceAttachment": {"contentType": "image/png", "data": "c2Nhbg==", "hash": "/6nCTGgj4n9A2aKWWl6I2hhVecE="},
            "provision": {"type": "permit", "provision": [{"type": "deny", "actor": [{
                "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                "reference": {"reference": "Organization/h2"}}]}]}})));
        setup
    };
    scenario(
        &without_h2,
        &[(
            "h2's records excluded by the patient",
            get("/shared/Patient/a1", &doctor),
        )],
        expect![[r#"
            h2's records excluded by the patient: 200 Bundle total=1
              information informational: shown under Consent/c1
              information informational: 1 item withheld as sensitive without the patient's explicit consent
              information informational: 3 items withheld from hospitals the patient's consent does not name
              Encounter/e1 from Organization/h1
        "#]],
    );
    scenario(
        &withdrawn,
        &[("after the withdrawal", get("/shared/Patient/a1", &doctor))],
        expect![[r#"
            after the withdrawal: 403
              error forbidden: the patient withdrew consent to sharing
        "#]],
    );
}

/// A patient reads their own record, all of it; another person's is refused.
#[test]
fn a_patient_reads_their_own_record() {
    let out = block_on(async {
        let app = app();
        for s in region() {
            let (status, _, body) = send(&app, &s).await;
            assert!(status < 300, "setup request failed: {status} {body}");
        }
        // The index is built on first use; then the person of Patient/a1 is known.
        let (_, _, _) = send(&app, &get("/shared/Patient/a1", &admin())).await;
        let (_, _, found) = send(&app, "GET /Person?link=Patient/a1").await;
        let person = found["entry"][0]["resource"]["id"]
            .as_str()
            .expect("a Person links Patient/a1")
            .to_string();
        let patient = |person: &str| {
            token(policy::Caller {
                role: Role::Patient,
                purpose: Purpose::PatientAccess,
                organization: None,
                practitioner: None,
                person: Some(format!("Person/{person}")),
            })
        };
        let mut out = Vec::new();
        for (what, token) in [
            ("their own", patient(&person)),
            ("someone else's", patient("other")),
        ] {
            let (status, headers, body) = send(&app, &get("/shared/Patient/a2", &token)).await;
            out.push(format!("{what}: {}", brief(status, &headers, &body)));
        }
        out.join("\n")
    });
    expect![[r#"
        their own: 200 Bundle total=5
          information informational: shown to the patient: their own record
          Encounter/e1 from Organization/h1
          Encounter/e2 from Organization/h2
          Condition/d1 from Organization/h2
          Observation/o1 from Organization/h2
          AllergyIntolerance/al1 from Organization/h2
        someone else's: 403
          error forbidden: a patient may read only their own record
    "#]]
    .assert_eq(&(out + "\n"));
}
