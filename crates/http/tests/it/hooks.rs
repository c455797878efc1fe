//! CDS Hooks over HTTP: discovery, the three reminders reading the record from another
//! hospital under the caller's authorization, feedback, and the statistics it feeds.

use super::{app, block_on, send, token};
use expect_test::expect;
use policy::{Purpose, Role};
use serde_json::{Value, json};

fn post(path: &str, token: &str, body: &Value) -> String {
    format!("POST {path}\nAuthorization: Bearer {token}\ncontent-type: application/json\n\n{body}")
}

fn cards(v: &Value) -> String {
    v["cards"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "\n  {} {}: {} [{}]",
                c["indicator"].as_str().unwrap_or("?"),
                c["source"]["topic"]["code"].as_str().unwrap_or("?"),
                c["summary"].as_str().unwrap_or("?"),
                c["overrideReasons"].as_array().map_or(0, Vec::len)
            )
        })
        .collect()
}

#[test]
fn reminders_across_hospitals() {
    let out = block_on(async {
        let app = app();
        let panel = terminology::LAB_PANELS
            .iter()
            .find(|p| p.recognition_days >= 7)
            .expect("a recognized panel");
        let amoxicillin = terminology::DRUGS
            .iter()
            .find(|d| d.ingredient_en == "amoxicillin")
            .expect("amoxicillin");
        let mut setup = super::access::region();
        setup.extend([
            super::access::put(json!({"resourceType": "Organization", "id": "h2", "name": "北京朝阳医院"})),
            // h2 did the panel three days ago, with the mutual-recognition mark.
            super::access::put(json!({"resourceType": "DiagnosticReport", "id": "dr1", "status": "final",
                "meta": {"tag": [{"system": "https://yilian.health/fhir/CodeSystem/mutual-recognition", "code": "HR"}]},
                "code": {"coding": [{"system": "http://loinc.org", "code": panel.loinc}], "text": panel.zh},
                "subject": {"reference": "Patient/a2"}, "effectiveDateTime": super::access::ago(3),
                "conclusion": "未见异常"})),
        ]);
        for s in &setup {
            let (status, _, body) = send(&app, s).await;
            assert!(status < 300, "setup request failed: {status} {body}");
        }
        let doctor = token(policy::Caller {
            role: Role::Doctor,
            purpose: Purpose::Treatment,
            organization: Some("Organization/h1".into()),
            practitioner: Some("Practitioner/d1".into()),
            person: None,
        });
        let auditor = token(policy::Caller {
            role: Role::Auditor,
            purpose: Purpose::Audit,
            organization: None,
            practitioner: None,
            person: None,
        });
        let mut out = Vec::new();
        let (s, _, discovery) = send(&app, "GET /cds-services\nAuthorization: none").await;
        out.push(format!(
            "discovery (no token): {s} {:?}",
            discovery["services"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s["hook"].as_str().unwrap_or("?"))
                .collect::<Vec<_>>()
        ));
        let (s, _, v) = send(
            &app,
            &post(
                "/cds-services/yilian-patient-view",
                &doctor,
                &json!({
                "hook": "patient-view", "hookInstance": "3f1c2d7e-0000-4000-8000-000000000001",
                "context": {"userId": "Practitioner/d1", "patientId": "a1"}}),
            ),
        )
        .await;
        out.push(format!("patient-view: {s}{}", cards(&v)));
        let orders = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "MedicationRequest", "id": "rx1", "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/a1"},
                "medicationCodeableConcept": {"coding": [{"system": "https://yilian.health/fhir/CodeSystem/drug", "code": amoxicillin.code}]},
                "dosageInstruction": [{"route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}}]}},
            {"resource": {"resourceType": "ServiceRequest", "id": "lab1", "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/a1"},
                "code": {"coding": [{"system": "http://loinc.org", "code": panel.loinc}]}}}]});
        let (s, _, v) = send(
            &app,
            &post("/cds-services/yilian-order-select", &doctor, &json!({
                "hook": "order-select", "hookInstance": "3f1c2d7e-0000-4000-8000-000000000002",
                "context": {"userId": "Practitioner/d1", "patientId": "a1", "selections": ["MedicationRequest/rx1", "ServiceRequest/lab1"], "draftOrders": orders}})),
        )
        .await;
        out.push(format!(
            "order-select: {s}{}{}",
            cards(&v),
            v["issue"][0]["diagnostics"].as_str().unwrap_or_default()
        ));
        let card = |rule: &str| {
            v["cards"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["source"]["topic"]["code"] == rule)
                .and_then(|c| c["uuid"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let (allergy, repeat) = (card("allergy-class"), card("repeated-test"));
        let (s, _, _) = send(
            &app,
            &post("/cds-services/yilian-order-select/feedback", &doctor, &json!({"feedback": [
                {"card": allergy, "outcome": "overridden", "overrideReason": {"reason": {"system": "https://yilian.health/fhir/CodeSystem/cds-override-reason", "code": "tolerated-before"}}, "outcomeTimestamp": "2026-12-01T02:00:00Z"},
                {"card": repeat, "outcome": "accepted", "acceptedSuggestions": [{"id": format!("{repeat}-remove")}], "outcomeTimestamp": "2026-12-01T02:00:00Z"}]})),
        )
        .await;
        out.push(format!("feedback: {s}"));
        let (s, _, stats) = send(
            &app,
            &format!("GET /cds-services/$stats\nAuthorization: Bearer {auditor}"),
        )
        .await;
        out.push(format!(
            "statistics: {s} {}{}",
            stats["rules"],
            stats["issue"][0]["diagnostics"]
                .as_str()
                .unwrap_or_default()
        ));
        let stranger = token(policy::Caller {
            role: Role::Doctor,
            purpose: Purpose::Treatment,
            organization: Some("Organization/h3".into()),
            practitioner: Some("Practitioner/d3".into()),
            person: None,
        });
        let (s, _, v) = send(
            &app,
            &post("/cds-services/yilian-order-sign", &stranger, &json!({
                "hook": "order-sign", "hookInstance": "3f1c2d7e-0000-4000-8000-000000000003",
                "context": {"userId": "Practitioner/d3", "patientId": "a1", "draftOrders": orders}})),
        )
        .await;
        out.push(format!(
            "order-sign at a hospital without a relationship: {s}{}",
            cards(&v)
        ));
        let (s, _, _) = send(
            &app,
            &post(
                "/cds-services/yilian-order-sign",
                &auditor,
                &json!({"hook": "order-sign"}),
            ),
        )
        .await;
        out.push(format!("an auditor calling a hook: {s}"));
        out.join("\n")
    });
    expect![[r#"
        discovery (no token): 200 ["patient-view", "order-select", "order-sign"]
        patient-view: 200
          info summary: 过敏史：青霉素类（北京朝阳医院） [0]
          info summary: 近一年就诊：h1 1次，北京朝阳医院 1次；在用药物0种 [0]
        order-select: 200
          warning allergy-class: 阿莫西林胶囊：患者对青霉素类过敏（北京朝阳医院 2021-06-10） [4]
          warning repeated-test: 重复检查：血常规 北京朝阳医院 2026-11-28已做，结果互认（HR），7天内有效 [6]
        feedback: 200
        statistics: 200 {"allergy-class":{"fired":1,"accepted":0,"overridden":1,"override_reasons":{"tolerated-before":1},"estimated_saving_cny":0.0},"repeated-test":{"fired":1,"accepted":1,"overridden":0,"override_reasons":{},"estimated_saving_cny":60.0}}
        order-sign at a hospital without a relationship: 200
          info summary: 未能读取跨院记录，仅依据本院数据提醒：the patient has no recent registration or admission at the caller's hospital [0]
        an auditor calling a hook: 403
    "#]].assert_eq(&(out + "\n"));
}
