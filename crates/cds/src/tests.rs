//! The clinical cases: a history, an order, and the cards they must give, negatives
//! included.

use crate::rules::at;
use crate::*;
use expect_test::{Expect, expect};
use serde_json::{Value, json};

const NOW: &str = "2026-12-01T10:00:00+08:00";
const ATC: &str = "http://www.whocc.no/atc";
const DRUG: &str = "https://yilian.health/fhir/CodeSystem/drug";
const ORAL: &str = "26643006";
const TOPICAL: &str = "6064005";

fn allergy(id: &str, code: Option<&str>, text: &str, verification: &str) -> Value {
    let mut concept = json!({"text": text});
    if let Some(c) = code {
        concept["coding"] = json!([{"system": ATC, "code": c}]);
    }
    json!({"resourceType": "AllergyIntolerance", "id": id, "code": concept,
        "verificationStatus": {"coding": [{"code": verification}]}, "recordedDate": "2024-03-01"})
}

fn prescribed(id: &str, drug: &str, day: &str, days: u32, route: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": DRUG, "code": drug}], "text": drug},
        "authoredOn": day, "requester": {"reference": "Practitioner/p9"},
        "dosageInstruction": [{"route": {"coding": [{"code": route}]}}],
        "dispenseRequest": {"expectedSupplyDuration": {"value": days}}})
}

fn report(id: &str, loinc: &str, day: &str, hr: bool) -> Value {
    let mut v = json!({"resourceType": "DiagnosticReport", "id": id, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}], "text": loinc},
        "effectiveDateTime": day, "conclusion": "未见异常"});
    if hr {
        v["meta"] = json!({"tag": [{"system": crate::history::HR, "code": "HR"}]});
    }
    v
}

fn drug_order(code_system: &str, code: &str, route: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": "draft", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": code_system, "code": code}]},
        "dosageInstruction": [{"route": {"coding": [{"code": route}]}}]})
}

fn test_order(code: &str) -> Value {
    json!({"resourceType": "ServiceRequest", "id": "draft", "status": "draft", "intent": "order",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]}})
}

fn code_of(name: &str) -> &'static str {
    terminology::DRUGS
        .iter()
        .find(|d| d.ingredient_en == name)
        .unwrap_or_else(|| panic!("{name} is in the drug table"))
        .code
}

#[track_caller]
fn check(history: Vec<Value>, order: Value, expect: Expect) {
    let k = Knowledge::builtin();
    let items: Vec<(Value, Option<String>)> = history
        .into_iter()
        .map(|v| (v, Some("Organization/h02".to_string())))
        .collect();
    let h = History::read(&k, &items);
    let reference = format!(
        "{}/draft",
        order["resourceType"].as_str().unwrap_or_default()
    );
    let cards = order_cards(
        &k,
        &Settings::default(),
        &h,
        &[Order {
            reference,
            resource: order,
        }],
        at(NOW),
    );
    let shown: String = cards
        .iter()
        .map(|c| {
            assert!(c.summary.chars().count() <= 140);
            format!("{} {}: {}\n", c.indicator.code(), c.rule.code(), c.summary)
        })
        .collect();
    expect.assert_eq(if shown.is_empty() {
        "no card\n"
    } else {
        &shown
    });
}

#[test]
fn drug_allergy() {
    let amoxicillin = code_of("amoxicillin");
    // Ingredient: critical; class: warning; cross-sensitivity: info.
    check(
        vec![allergy("a1", Some("J01CA04"), "阿莫西林过敏", "confirmed")],
        drug_order(DRUG, amoxicillin, ORAL),
        expect![[r#"
            critical allergy-ingredient: 阿莫西林胶囊：患者对阿莫西林过敏（Organization/h02 2024-03-01）
        "#]],
    );
    check(
        vec![allergy("a1", Some("J01C"), "青霉素类", "confirmed")],
        drug_order(DRUG, amoxicillin, ORAL),
        expect![[r#"
            warning allergy-class: 阿莫西林胶囊：患者对青霉素类过敏（Organization/h02 2024-03-01）
        "#]],
    );
    check(
        vec![allergy("a1", Some("J01C"), "青霉素类", "confirmed")],
        drug_order(DRUG, code_of("ceftriaxone"), "47625008"),
        expect![[r#"
            info allergy-cross-sensitivity: 注射用头孢曲松钠：与既往青霉素类过敏可能交叉过敏（β-内酰胺类：青霉素类与头孢菌素类）
        "#]],
    );
    // Free text mapped through the synonym table, in Chinese and in English.
    check(
        vec![allergy("a1", None, "青霉素皮试阳性", "unconfirmed")],
        drug_order(DRUG, amoxicillin, ORAL),
        expect![[r#"
            warning allergy-class: 阿莫西林胶囊：患者对青霉素类过敏（Organization/h02 2024-03-01）
        "#]],
    );
    check(
        vec![allergy("a1", None, "allergic to penicillin", "confirmed")],
        drug_order(ATC, "J01CR02", ORAL),
        expect![[r#"
            warning allergy-class: 阿莫西林克拉维酸钾：患者对青霉素类过敏（Organization/h02 2024-03-01）
        "#]],
    );
    // A refuted allergy raises nothing; unmatched free text is no order card.
    check(
        vec![allergy("a1", Some("J01C"), "青霉素类", "refuted")],
        drug_order(DRUG, amoxicillin, ORAL),
        expect![[r#"
            no card
        "#]],
    );
    check(
        vec![allergy("a1", None, "海鲜过敏", "confirmed")],
        drug_order(DRUG, amoxicillin, ORAL),
        expect![[r#"
            no card
        "#]],
    );
    // An unknown drug code is said to be unchecked.
    check(
        vec![allergy("a1", Some("J01C"), "青霉素类", "confirmed")],
        drug_order("urn:local:h07:drug", "X-1", ORAL),
        expect![[r#"
            info unknown-order: 未能识别所开药品编码，未做过敏与重复用药检查 Drug code not recognized: not checked
        "#]],
    );
}

#[test]
fn repeated_medication() {
    let amlodipine = code_of("amlodipine");
    // The same ingredient with supply left; a combination containing it; the same class
    // beyond its allowance; dual antiplatelet therapy within its allowance.
    check(
        vec![prescribed("m1", amlodipine, "2026-11-20", 30, ORAL)],
        drug_order(DRUG, amlodipine, ORAL),
        expect![[r#"
            warning duplicate-ingredient: 重复用药：氨氯地平正在服用（苯磺酸氨氯地平片，Organization/h02 2026-11-20开具（Practitioner/p9），余19天）
        "#]],
    );
    check(
        vec![prescribed("m1", amlodipine, "2026-11-20", 30, ORAL)],
        drug_order(DRUG, "yl-c09db01-80-5", ORAL),
        expect![[r#"
            warning duplicate-ingredient: 重复用药：氨氯地平正在服用（苯磺酸氨氯地平片，Organization/h02 2026-11-20开具（Practitioner/p9），余19天）
        "#]],
    );
    check(
        vec![prescribed(
            "m1",
            code_of("nifedipine"),
            "2026-11-20",
            30,
            ORAL,
        )],
        drug_order(DRUG, amlodipine, ORAL),
        expect![[r#"
            warning duplicate-class: 同类药物重复（ATC C08CA）：硝苯地平控释片，Organization/h02 2026-11-20开具（Practitioner/p9），余19天
        "#]],
    );
    check(
        vec![prescribed(
            "m1",
            code_of("acetylsalicylic acid"),
            "2026-11-20",
            30,
            ORAL,
        )],
        drug_order(DRUG, code_of("clopidogrel"), ORAL),
        expect![[r#"
            no card
        "#]],
    );
    // Negatives: the supply ran out; older than the look-back; topical is not oral.
    check(
        vec![prescribed("m1", amlodipine, "2026-10-01", 30, ORAL)],
        drug_order(DRUG, amlodipine, ORAL),
        expect![[r#"
            no card
        "#]],
    );
    check(
        vec![prescribed("m1", amlodipine, "2026-06-01", 365, ORAL)],
        drug_order(DRUG, amlodipine, ORAL),
        expect![[r#"
            no card
        "#]],
    );
    // Levofloxacin eye drops running do not repeat levofloxacin tablets; tablets do.
    let by_atc = |atc: &str| {
        terminology::DRUGS
            .iter()
            .find(|d| d.atc == atc)
            .unwrap_or_else(|| panic!("{atc} is in the drug table"))
            .code
    };
    check(
        vec![prescribed(
            "m1",
            by_atc("S01AE05"),
            "2026-11-25",
            14,
            "54485002",
        )],
        drug_order(DRUG, by_atc("J01MA12"), ORAL),
        expect![[r#"
            no card
        "#]],
    );
    check(
        vec![prescribed("m1", by_atc("J01MA12"), "2026-11-25", 14, ORAL)],
        drug_order(DRUG, by_atc("J01MA12"), ORAL),
        expect![[r#"
            warning duplicate-ingredient: 重复用药：左氧氟沙星正在服用（左氧氟沙星片，Organization/h02 2026-11-25开具（Practitioner/p9），余8天）
        "#]],
    );
    let mometasone_skin = terminology::DRUGS
        .iter()
        .find(|d| d.atc == "D07AC13")
        .expect("topical mometasone")
        .code;
    let mometasone_nose = terminology::DRUGS
        .iter()
        .find(|d| d.atc == "R01AD09")
        .expect("nasal mometasone")
        .code;
    check(
        vec![prescribed("m1", mometasone_skin, "2026-11-25", 14, TOPICAL)],
        drug_order(DRUG, mometasone_nose, "46713006"),
        expect![[r#"
            no card
        "#]],
    );
}

#[test]
fn repeated_tests() {
    let panel = terminology::LAB_PANELS
        .iter()
        .find(|p| p.recognition_days >= 7)
        .expect("a recognized panel");
    let day = |d: i64| {
        let t = at(NOW) - d * 86_400;
        let days = t.div_euclid(86_400);
        // 2026-12-01 is day 20788 since the epoch.
        format!("2026-11-{:02}", 1 + (days - 20_758))
    };
    check(
        vec![report("r1", panel.loinc, &day(3), true)],
        test_order(panel.loinc),
        expect![[r#"
            warning repeated-test: 重复检查：血常规 Organization/h02 2026-11-28已做，结果互认（HR），7天内有效
        "#]],
    );
    // Negatives: outside the window; without the HR mark; another test.
    check(
        vec![report("r1", panel.loinc, "2025-01-01", true)],
        test_order(panel.loinc),
        expect![[r#"
            no card
        "#]],
    );
    check(
        vec![report("r1", panel.loinc, &day(3), false)],
        test_order(panel.loinc),
        expect![[r#"
            no card
        "#]],
    );
    let other = terminology::LAB_PANELS
        .iter()
        .find(|p| p.loinc != panel.loinc)
        .expect("another panel");
    check(
        vec![report("r1", panel.loinc, &day(3), true)],
        test_order(other.loinc),
        expect![[r#"
            no card
        "#]],
    );
}

#[test]
fn the_patient_view() {
    let k = Knowledge::builtin();
    let items: Vec<(Value, Option<String>)> = vec![
        (
            allergy("a1", Some("J01C"), "青霉素类", "confirmed"),
            Some("Organization/h01".into()),
        ),
        (
            allergy("a2", None, "海鲜过敏", "confirmed"),
            Some("Organization/h02".into()),
        ),
        (
            allergy("a3", Some("J01E"), "磺胺", "refuted"),
            Some("Organization/h02".into()),
        ),
        (
            json!({"resourceType": "Encounter", "id": "e1", "period": {"start": "2026-10-01"}}),
            Some("Organization/h01".into()),
        ),
        (
            prescribed("m1", code_of("amlodipine"), "2026-11-20", 30, ORAL),
            Some("Organization/h02".into()),
        ),
    ];
    let h = History::read(&k, &items);
    let shown: String = patient_cards(&k, &h, at(NOW))
        .iter()
        .map(|c| format!("{} {}: {}\n", c.indicator.code(), c.rule.code(), c.summary))
        .collect();
    expect![[r#"
        info summary: 过敏史：青霉素类（Organization/h01）
        info allergy-unverified: 未核实的过敏记录：“海鲜过敏”（Organization/h02）
        info summary: 近一年就诊：Organization/h01 1次；在用药物1种
    "#]]
    .assert_eq(&shown);
}

#[test]
fn knowledge_loads_and_a_region_replaces_a_table() {
    let k = Knowledge::builtin();
    assert!(k.versions.iter().any(|(f, _)| f == "allergy-synonyms.json"));
    let region = Knowledge::load(|f| {
        (f == "allergy-synonyms.json").then(|| {
            r#"{"version": "region-7", "synonyms": [{"text": "海鲜", "atc": "V08A"}]}"#.to_string()
        })
    })
    .expect("the region's table loads");
    assert_eq!(region.allergen_in("海鲜过敏"), Some("V08A"));
    assert_eq!(region.allergen_in("青霉素过敏"), None);
    assert!(
        region
            .versions
            .contains(&("allergy-synonyms.json".into(), "region-7".into()))
    );
    let bad = Knowledge::load(|f| (f == "routes.json").then(|| "{".to_string()));
    assert_eq!(bad.err().map(|b| b.file), Some("routes.json".to_string()));
}
