use crate::doctor::{self, Banner, Opened};
use crate::view::Record;
use crate::{Frame, Lang, Nav};
use expect_test::{Expect, expect};
use serde_json::{Value, json};

/// The record's panels as lines: what a doctor would read, in order.
#[track_caller]
fn check(items: Value, expect: Expect) {
    let items: Vec<(Value, Option<String>)> = items
        .as_array()
        .expect("a list of [hospital, resource]")
        .iter()
        .map(|pair| (pair[1].clone(), pair[0].as_str().map(str::to_string)))
        .collect();
    let r = Record::from_items(&items);
    let mut out = String::new();
    out.push_str(&format!("name {:?} {:?} {:?}\n", r.name, r.gender, r.birth));
    out.push_str(&format!("hospitals {:?}\n", r.hospitals));
    for v in &r.visits {
        out.push_str(&format!(
            "visit {} {} {} {} {:?}\n",
            v.date, v.class, v.hospital, v.department, v.reason
        ));
    }
    for (panel, rows) in [
        ("diagnosis", &r.diagnoses),
        ("operation", &r.procedures),
        ("medicine", &r.medications),
        ("allergy", &r.allergies),
        ("imaging", &r.imaging),
    ] {
        for e in rows {
            out.push_str(&format!(
                "{panel} {} {} {:?} {} {:?} {:?} hr={}\n",
                e.date, e.text, e.code, e.hospital, e.flag, e.detail, e.hr
            ));
        }
    }
    for s in &r.results {
        let points: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{} {}{}", p.date, p.shown, p.flag.as_deref().unwrap_or("")))
            .collect();
        out.push_str(&format!(
            "result {} {} [{:?}-{:?}] {}\n",
            s.name,
            s.unit,
            s.low,
            s.high,
            points.join(", ")
        ));
    }
    expect.assert_eq(&out);
}

fn glucose(id: &str, day: &str, value: &str, flag: &str) -> Value {
    let v: Value = serde_json::from_str(value).expect("a number");
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "meta": {"tag": [{"system": "https://yilian.health/fhir/CodeSystem/mutual-recognition", "code": "HR"}]},
        "code": {"coding": [{"system": "urn:local", "code": "G1"}, {"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}], "text": "葡萄糖"},
        "effectiveDateTime": day, "valueQuantity": {"value": v, "unit": "mmol/L"},
        "interpretation": [{"coding": [{"code": flag}]}],
        "referenceRange": [{"low": {"value": 3.9}, "high": {"value": 6.1}}]})
}

#[test]
fn panels_gather_two_hospitals_newest_first() {
    check(
        json!([
            ["协和医院", {"resourceType": "Patient", "id": "a", "name": [{"family": "王", "given": ["芳"]}], "gender": "female", "birthDate": "1970-03-01"}],
            ["协和医院", {"resourceType": "Encounter", "id": "e1", "class": {"code": "AMB"},
                "serviceType": {"text": "内分泌科"}, "period": {"start": "2024-05-01T09:00:00+08:00"},
                "diagnosis": [{"condition": {"reference": "Condition/c1"}}]}],
            ["协和医院", {"resourceType": "Condition", "id": "c1", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9", "display": "2型糖尿病"}]},
                "clinicalStatus": {"coding": [{"code": "active"}]}, "recordedDate": "2024-05-01"}],
            ["朝阳医院", {"resourceType": "Encounter", "id": "e2", "class": {"code": "IMP"}, "serviceType": {"text": "心内科"},
                "period": {"start": "2025-01-10T08:00:00+08:00"}}],
            ["朝阳医院", {"resourceType": "AllergyIntolerance", "id": "a1", "code": {"text": "青霉素"}, "criticality": "high",
                "reaction": [{"manifestation": [{"text": "皮疹"}]}], "recordedDate": "2020-01-01"}],
            ["朝阳医院", {"resourceType": "AllergyIntolerance", "id": "a2", "code": {"text": "磺胺"},
                "verificationStatus": {"coding": [{"code": "refuted"}]}}],
            ["朝阳医院", glucose("o2", "2025-01-10T08:30:00+08:00", "7.8", "H")],
            ["协和医院", glucose("o1", "2024-05-01T09:30:00+08:00", "5.20", "N")],
            ["朝阳医院", {"resourceType": "DiagnosticReport", "id": "r1", "category": [{"coding": [{"code": "RAD"}]}],
                "code": {"text": "胸部CT"}, "effectiveDateTime": "2025-01-11", "conclusion": "未见异常"}],
            ["朝阳医院", {"resourceType": "Observation", "id": "text-only", "code": {"text": "尿色"}, "valueString": "黄"}]
        ]),
        expect![[r#"
            name Some("王芳") Some("female") Some("1970-03-01")
            hospitals ["朝阳医院", "协和医院"]
            visit 2025-01-10 IMP 朝阳医院 心内科 None
            visit 2024-05-01 AMB 协和医院 内分泌科 Some("2型糖尿病")
            diagnosis 2024-05-01 2型糖尿病 Some("E11.9") 协和医院 None None hr=false
            allergy 2020-01-01 青霉素 None 朝阳医院 Some("high") Some("皮疹") hr=false
            imaging 2025-01-11 胸部CT None 朝阳医院 None Some("未见异常") hr=false
            result 葡萄糖 mmol/L [Some(3.9)-Some(6.1)] 2024-05-01 5.20, 2025-01-10 7.8H
        "#]],
    );
}

#[test]
fn a_resource_missing_everything_shows_gaps_not_errors() {
    check(
        json!([[null, {"resourceType": "Condition"}], [null, {"resourceType": "Encounter"}], [null, {}]]),
        expect![[r#"
            name None None None
            hospitals []
            visit — AMB — — None
            diagnosis — — None — None None hr=false
        "#]],
    );
}

fn frame(lang: Lang) -> Frame<'static> {
    Frame {
        lang,
        who: "医生 · 协和医院",
        nav: Nav::Doctor,
        csrf: "t0k",
    }
}

#[test]
fn values_are_escaped_and_banners_carry_their_severity() {
    let items = vec![(
        json!({"resourceType": "Condition", "code": {"text": "<script>alert(1)</script>"}}),
        Some("<b>医院</b>".into()),
    )];
    let record = Record::from_items(&items);
    let banners = vec![Banner {
        indicator: "critical".into(),
        summary: "过敏：青霉素".into(),
        detail: String::new(),
    }];
    let page = doctor::record(
        &frame(Lang::En),
        &Opened {
            record: &record,
            basis: &policy::Basis::RegionDefault,
            registrations: 2,
            withheld: &[(policy::Withheld::OutsideWindow, 3)],
            banners: &banners,
        },
    )
    .into_string();
    assert!(
        !page.contains("<script>alert"),
        "unescaped value in the page"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;医院&lt;/b&gt;"));
    assert!(
        page.contains(r#"<div class="banner critical" role="alert"><strong>过敏：青霉素</strong>"#)
    );
    assert!(page.contains("3 items not shown: older than the sharing window"));
    assert!(page.contains(r#"<html lang="en">"#));
    assert!(page.contains(r#"name="csrf" value="t0k""#));
}

#[test]
fn language_follows_the_browser_and_defaults_to_chinese() {
    let cases = [
        ("en-US,en;q=0.9", Lang::En),
        ("zh-CN,zh;q=0.9,en;q=0.8", Lang::Zh),
        ("fr-FR, en;q=0.5", Lang::En),
        ("de", Lang::Zh),
        ("", Lang::Zh),
    ];
    for (header, want) in cases {
        assert_eq!(Lang::negotiate(header), want, "{header}");
    }
}

#[test]
fn the_trend_marks_abnormal_points_and_the_range() {
    let items = vec![
        (glucose("1", "2024-01-01", "5.0", "N"), Some("A".into())),
        (glucose("2", "2024-02-01", "9.5", "H"), Some("B".into())),
    ];
    let r = Record::from_items(&items);
    let svg = crate::chart::trend(&r.results[0]).into_string();
    assert_eq!(svg.matches("<circle").count(), 2);
    assert_eq!(svg.matches(r#"class="pt abnormal""#).count(), 1);
    assert!(svg.contains(r#"<rect class="range""#));
    assert!(svg.contains("2024-02-01 9.5 mmol/L B [H]"));
}
