use crate::read;
use expect_test::{Expect, expect};

/// A WS/T 500 document with `code` and these entries in its structured body.
fn doc(code: &str, entries: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="CN"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>
  <templateId root="2.16.156.10011.2.1.1.22"/>
  <id root="2.16.156.10011.1.1" extension="DOC-{code}-1"/>
  <code code="{code}" codeSystem="2.16.156.10011.2.4" codeSystemName="卫生信息共享文档编码体系"/>
  <title>文档</title>
  <effectiveTime value="20261201093000"/>
  <recordTarget><patientRole>
    <id root="2.16.156.10011.1.11" extension="MZ778"/>
    <patient>
      <id root="2.16.156.10011.1.3" extension="110101199003070015"/>
      <name>张伟</name>
      <administrativeGenderCode code="1" codeSystem="2.16.156.10011.2.3.3.4"/>
      <birthTime value="19900307"/>
    </patient>
  </patientRole></recordTarget>
  <component><structuredBody><component><section>{entries}</section></component></structuredBody></component>
</ClinicalDocument>"#
    )
}

fn check(xml: &str, expect: Expect) {
    let out = match read(xml, "h02") {
        Ok(d) => {
            let mut lines = vec![format!(
                "{} {} {}",
                d.code,
                d.id,
                d.effective.unwrap_or_default()
            )];
            for e in d.bundle["entry"].as_array().expect("entries") {
                let r = &e["resource"];
                let issues = fhir::validate::validate(r);
                assert!(
                    !issues.iter().any(|i| matches!(
                        i.severity,
                        fhir::Severity::Error | fhir::Severity::Fatal
                    )),
                    "valid R4: {}\n{r}",
                    fhir::outcome::render(&issues)
                );
                let mut r = r.clone();
                if r["resourceType"] == "Binary" {
                    r["data"] = serde_json::json!("…");
                }
                lines.push(format!(
                    "{} {}",
                    e["request"]["method"].as_str().unwrap_or("?"),
                    e["request"]["url"].as_str().unwrap_or("?")
                ));
                if !matches!(
                    r["resourceType"].as_str(),
                    Some("Patient" | "Binary" | "DocumentReference")
                ) {
                    lines.push(format!("  {r}"));
                }
            }
            lines.join("\n") + "\n"
        }
        Err(problems) => problems
            .iter()
            .map(|p| format!("{}: {}\n", p.path, p.message))
            .collect(),
    };
    expect.assert_eq(&out);
}

#[test]
fn outpatient_record_with_diagnoses() {
    check(
        &doc(
            "C0002",
            r#"<entry><observation classCode="OBS" moodCode="EVN">
                 <code code="DE05.01.024.00" codeSystem="2.16.156.10011.2.2.1" displayName="诊断代码"/>
                 <value xsi:type="CD" code="J18.9" codeSystem="2.16.156.10011.2.3.3.11" displayName="肺炎"/>
               </observation></entry>"#,
        ),
        expect![[r#"
            C0002 2.16.156.10011.1.1^DOC-C0002-1 2026-12-01T09:30:00+08:00
            POST Patient
            PUT Binary/cda-2e8c54e486ddd2c1
            PUT DocumentReference?identifier=https://yilian.health/fhir/CodeSystem/local/h02/document|2.16.156.10011.1.1^DOC-C0002-1
            PUT Condition?identifier=https://yilian.health/fhir/CodeSystem/local/h02/cda-entry|2.16.156.10011.1.1^DOC-C0002-1#1
              {"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}],"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"J18.9","display":"肺炎"}],"text":"肺炎"},"recordedDate":"2026-12-01T09:30:00+08:00","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/cda-entry","value":"2.16.156.10011.1.1^DOC-C0002-1#1"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        "#]],
    );
}

#[test]
fn laboratory_report_prescription_operation_and_findings() {
    check(
        &doc(
            "C0007",
            r#"<entry><observation classCode="OBS" moodCode="EVN">
                 <code code="6690-2" codeSystem="2.16.840.1.113883.6.1" displayName="白细胞计数"/>
                 <effectiveTime value="20261201080000"/>
                 <value xsi:type="PQ" value="11.2" unit="10*9/L"/>
                 <interpretationCode code="H" codeSystem="2.16.840.1.113883.5.83"/>
                 <referenceRange><observationRange><value xsi:type="IVL_PQ"><low value="3.5" unit="10*9/L"/><high value="9.5" unit="10*9/L"/></value></observationRange></referenceRange>
               </observation></entry>
               <entry><observation classCode="OBS" moodCode="EVN">
                 <code code="L-CRP" codeSystem="2.16.156.10011.99.h02" displayName="C反应蛋白"/>
                 <value xsi:type="PQ" value="18" unit="mg/L"/>
               </observation></entry>"#,
        ),
        expect![[r#"
            C0007 2.16.156.10011.1.1^DOC-C0007-1 2026-12-01T09:30:00+08:00
            POST Patient
            PUT Binary/cda-483dbfe49555d916
            PUT DocumentReference?identifier=https://yilian.health/fhir/CodeSystem/local/h02/document|2.16.156.10011.1.1^DOC-C0007-1
            PUT Observation?identifier=https://yilian.health/fhir/CodeSystem/local/h02/cda-entry|2.16.156.10011.1.1^DOC-C0007-1#1
              {"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"6690-2","display":"白细胞计数"}],"text":"白细胞计数"},"valueQuantity":{"value":11.2,"unit":"10*9/L"},"effectiveDateTime":"2026-12-01T08:00:00+08:00","interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}],"referenceRange":[{"low":{"value":3.5,"unit":"10*9/L"},"high":{"value":9.5,"unit":"10*9/L"}}],"identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/cda-entry","value":"2.16.156.10011.1.1^DOC-C0007-1#1"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"},"derivedFrom":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000002"}]}
            PUT Observation?identifier=https://yilian.health/fhir/CodeSystem/local/h02/cda-entry|2.16.156.10011.1.1^DOC-C0007-1#2
              {"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/lab","code":"L-CRP","display":"C反应蛋白"}],"text":"C反应蛋白"},"valueQuantity":{"value":18,"unit":"mg/L"},"effectiveDateTime":"2026-12-01T09:30:00+08:00","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/cda-entry","value":"2.16.156.10011.1.1^DOC-C0007-1#2"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"},"derivedFrom":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000002"}]}
        "#]],
    );
    check(
        &doc(
            "C0004",
            r#"<entry><substanceAdministration classCode="SBADM" moodCode="RQO">
                 <routeCode code="1" codeSystem="2.16.156.10011.2.3.1.158" displayName="口服"/>
                 <doseQuantity value="0.5" unit="g"/>
                 <consumable><manufacturedProduct><manufacturedLabeledDrug>
                   <code code="YL0012" codeSystem="2.16.156.10011.99.drug" displayName="阿莫西林胶囊"/>
                 </manufacturedLabeledDrug></manufacturedProduct></consumable>
               </substanceAdministration></entry>"#,
        ),
        expect![[r#"
            C0004 2.16.156.10011.1.1^DOC-C0004-1 2026-12-01T09:30:00+08:00
            POST Patient
            PUT Binary/cda-634346e4a4ef0efb
            PUT DocumentReference?identifier=https://yilian.health/fhir/CodeSystem/local/h02/document|2.16.156.10011.1.1^DOC-C0004-1
            PUT MedicationRequest?identifier=https://yilian.health/fhir/CodeSystem/local/h02/cda-entry|2.16.156.10011.1.1^DOC-C0004-1#1
              {"resourceType":"MedicationRequest","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/drug","code":"YL0012","display":"阿莫西林胶囊"}],"text":"阿莫西林胶囊"},"authoredOn":"2026-12-01T09:30:00+08:00","dosageInstruction":[{"route":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/route","code":"1","display":"口服"}],"text":"口服"},"doseAndRate":[{"doseQuantity":{"value":0.5,"unit":"g"}}]}],"identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/cda-entry","value":"2.16.156.10011.1.1^DOC-C0004-1#1"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        "#]],
    );
    check(
        &doc(
            "C0009",
            r#"<entry><procedure classCode="PROC" moodCode="EVN">
                 <code code="47.09" codeSystem="2.16.156.10011.2.3.3.12" displayName="阑尾切除术"/>
                 <effectiveTime><low value="20261130140000"/><high value="20261130150000"/></effectiveTime>
               </procedure></entry>"#,
        ),
        expect![[r#"
            C0009 2.16.156.10011.1.1^DOC-C0009-1 2026-12-01T09:30:00+08:00
            POST Patient
            PUT Binary/cda-7c36c1e4b2c60778
            PUT DocumentReference?identifier=https://yilian.health/fhir/CodeSystem/local/h02/document|2.16.156.10011.1.1^DOC-C0009-1
            PUT Procedure?identifier=https://yilian.health/fhir/CodeSystem/local/h02/cda-entry|2.16.156.10011.1.1^DOC-C0009-1#1
              {"resourceType":"Procedure","status":"completed","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-9-cm","code":"47.09","display":"阑尾切除术"}],"text":"阑尾切除术"},"performedDateTime":"2026-11-30T14:00:00+08:00","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/cda-entry","value":"2.16.156.10011.1.1^DOC-C0009-1#1"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        "#]],
    );
    check(
        &doc(
            "C0006",
            r#"<entry><observation classCode="OBS" moodCode="EVN">
                 <code code="CT-CHEST" codeSystem="2.16.156.10011.99.h02" displayName="胸部CT"/>
                 <value xsi:type="ST">右下肺斑片影</value>
               </observation></entry>"#,
        ),
        expect![[r#"
            C0006 2.16.156.10011.1.1^DOC-C0006-1 2026-12-01T09:30:00+08:00
            POST Patient
            PUT Binary/cda-50e070e49a3814d5
            PUT DocumentReference?identifier=https://yilian.health/fhir/CodeSystem/local/h02/document|2.16.156.10011.1.1^DOC-C0006-1
            PUT Observation?identifier=https://yilian.health/fhir/CodeSystem/local/h02/cda-entry|2.16.156.10011.1.1^DOC-C0006-1#1
              {"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"imaging"}]}],"code":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/exam","code":"CT-CHEST","display":"胸部CT"}],"text":"胸部CT"},"valueString":"右下肺斑片影","effectiveDateTime":"2026-12-01T09:30:00+08:00","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/cda-entry","value":"2.16.156.10011.1.1^DOC-C0006-1#1"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"},"derivedFrom":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000002"}]}
        "#]],
    );
}

#[test]
fn malformed_documents_are_named() {
    let good = doc("C0053", "");
    let cases = [
        ("not XML", "<ClinicalDocument".to_string()),
        (
            "a DTD",
            format!(
                "<!DOCTYPE x [<!ENTITY e \"boom\">]>{}",
                good.replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "")
            ),
        ),
        (
            "another root",
            "<Bundle xmlns=\"urn:hl7-org:v3\"/>".to_string(),
        ),
        (
            "no template",
            good.replace("2.16.156.10011.2.1.1.22", "1.2.3"),
        ),
        (
            "unknown code",
            good.replace("code=\"C0053\"", "code=\"C0099\""),
        ),
        (
            "no id",
            good.replace(
                r#"<id root="2.16.156.10011.1.1" extension="DOC-C0053-1"/>"#,
                "",
            ),
        ),
        (
            "no time",
            good.replace(r#"<effectiveTime value="20261201093000"/>"#, ""),
        ),
        (
            "no record number",
            good.replace(r#"<id root="2.16.156.10011.1.11" extension="MZ778"/>"#, ""),
        ),
        (
            "bad sex and birth",
            good.replace(
                "code=\"1\" codeSystem=\"2.16.156.10011.2.3.3.4\"",
                "code=\"M\"",
            )
            .replace("19900307", "1990"),
        ),
    ];
    let out: String = cases
        .iter()
        .map(|(name, xml)| {
            let problems = read(xml, "h02").err().unwrap_or_default();
            assert!(!problems.is_empty(), "{name} was taken");
            format!(
                "{name}:\n{}",
                problems
                    .iter()
                    .map(|p| format!("  {}: {}\n", p.path, p.message))
                    .collect::<String>()
            )
        })
        .collect();
    expect![[r#"
        not XML:
          line 1, column 1: the document is not well-formed XML (a DTD is not taken)
        a DTD:
          line 1, column 1: the document is not well-formed XML (a DTD is not taken)
        another root:
          /: the root element is a ClinicalDocument in the urn:hl7-org:v3 namespace
        no template:
          ClinicalDocument/templateId: a WS/T 500 template (2.16.156.10011.2.1.1.x) is required
        unknown code:
          ClinicalDocument/code: the document code (code system 2.16.156.10011.2.4) is one of C0001, C0002, C0004, C0006, C0007, C0009, C0032, C0053
        no id:
          ClinicalDocument/id: the document id (root and extension) is required: resends are recognised by it
        no time:
          ClinicalDocument/effectiveTime: the document's time is required, as an HL7 timestamp
        no record number:
          ClinicalDocument/recordTarget/patientRole/id: the patient's number at the hospital (patientRole/id with an extension) is required
        bad sex and birth:
          ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode: the sex is a code of GB/T 2261.1 (0, 1, 2, 9)
          ClinicalDocument/recordTarget/patientRole/patient/birthTime: the birth time is not an HL7 timestamp
    "#]].assert_eq(&out);
}
