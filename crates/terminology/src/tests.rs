use crate::*;
use expect_test::expect;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use Speciality::*;

/// Stops compiling when a speciality is added, as a reminder to list it in `Speciality::ALL`
/// (and give it diagnoses).
fn listed(s: Speciality) -> bool {
    match s {
        General | Cardiology | Respiratory | Gastroenterology | Endocrinology | Nephrology
        | Neurology | Oncology | Pediatrics | Obstetrics | Psychiatry | Stomatology
        | InfectiousDisease | Tuberculosis | Geriatrics | TraditionalChinese | Orthopedics
        | Ophthalmology | Otolaryngology | Dermatology | Urology | Emergency | Surgery => true,
    }
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn duplicates<'a>(codes: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    codes.into_iter().filter(|c| !seen.insert(*c)).collect()
}

fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let category =
        b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    let sub = match b.len() {
        3 => true,
        5 | 6 => {
            b[3] == b'.'
                && b[4..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        }
        _ => false,
    };
    category && sub
}

fn is_icd9cm3(code: &str) -> bool {
    let b = code.as_bytes();
    let head = b.len() >= 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit();
    let tail = match b.len() {
        2 => true,
        4 | 5 => b[2] == b'.' && b[3..].iter().all(u8::is_ascii_digit),
        _ => false,
    };
    head && tail
}

/// Whether `code` is a prefix of a well-formed ATC code ending at a level boundary (1, 3, 4, 5
/// or 7 characters): letter, two digits, two letters, two digits.
fn is_atc_prefix(code: &str) -> bool {
    let shape = |i: usize, c: u8| match i {
        0 | 3 | 4 => c.is_ascii_uppercase(),
        _ => c.is_ascii_digit(),
    };
    matches!(code.len(), 1 | 3 | 4 | 5 | 7) && code.bytes().enumerate().all(|(i, c)| shape(i, c))
}

fn is_atc(code: &str) -> bool {
    code.len() == 7 && is_atc_prefix(code)
}

/// LOINC codes end in a mod-10 check digit over the digits before the hyphen.
fn is_loinc(code: &str) -> bool {
    let Some((number, check)) = code.split_once('-') else {
        return false;
    };
    if number.is_empty()
        || number.len() > 6
        || check.len() != 1
        || !number
            .bytes()
            .chain(check.bytes())
            .all(|c| c.is_ascii_digit())
    {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            let d = if i % 2 == 0 { d * 2 } else { d };
            d / 10 + d % 10
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check.as_bytes()[0] - b'0')
}

/// SNOMED CT concept ids from the international release: a Verhoeff check digit, preceded by
/// the partition identifier "00" (a concept in the core namespace).
fn is_snomed_concept(code: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    if !(6..=18).contains(&code.len()) || !code.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let check = code.bytes().rev().enumerate().fold(0u8, |c, (i, d)| {
        D[usize::from(c)][usize::from(P[i % 8][usize::from(d - b'0')])]
    });
    check == 0 && &code[code.len() - 3..code.len() - 1] == "00"
}

/// The sensitive category a diagnosis falls in, by its ICD-10 category.
fn expected_sensitivity(icd10: &str) -> Option<Sensitivity> {
    let block = &icd10[..3];
    if block.starts_with('F') {
        Some(Sensitivity::MentalHealth)
    } else if ("B20"..="B24").contains(&block) || ("A50"..="A64").contains(&block) {
        Some(Sensitivity::HivSti)
    } else if ("O00"..="O08").contains(&block) || ["N46", "N97", "Z30", "Z31"].contains(&block) {
        Some(Sensitivity::Reproductive)
    } else if ("Q90"..="Q99").contains(&block) || block == "D56" {
        Some(Sensitivity::Genetic)
    } else {
        None
    }
}

#[test]
fn references_resolve() {
    let mut problems = Vec::new();
    for d in DIAGNOSES {
        for c in d.drugs {
            if drug(c).is_none() {
                problems.push(format!("{}: no drug {c}", d.icd10));
            }
        }
        for c in d.labs {
            if lab_panel(c).is_none() {
                problems.push(format!("{}: no lab panel {c}", d.icd10));
            }
        }
        for c in d.exams {
            if exam(c).is_none() {
                problems.push(format!("{}: no exam {c}", d.icd10));
            }
        }
        for c in d.procedures {
            if procedure(c).is_none() {
                problems.push(format!("{}: no procedure {c}", d.icd10));
            }
        }
    }
    for p in LAB_PANELS {
        if p.items.is_empty() {
            problems.push(format!("panel {}: no items", p.loinc));
        }
        for c in p.items {
            if lab_item(c).is_none() {
                problems.push(format!("panel {}: no lab item {c}", p.loinc));
            }
        }
        // A panel coded with an observation's own code reports just that observation.
        if lab_item(p.loinc).is_some() && p.items != [p.loinc] {
            problems.push(format!(
                "panel {}: single-item code with items {:?}",
                p.loinc, p.items
            ));
        }
    }
    assert_none(problems);
}

#[test]
fn every_entry_is_used() {
    let mut problems = Vec::new();
    let used =
        |f: fn(&Diagnosis) -> &[&str], code: &str| DIAGNOSES.iter().any(|d| f(d).contains(&code));
    for d in DRUGS {
        if !used(|d| d.drugs, d.code) {
            problems.push(format!(
                "drug {} {} is prescribed for nothing",
                d.code, d.zh
            ));
        }
    }
    for p in LAB_PANELS {
        if !used(|d| d.labs, p.loinc) {
            problems.push(format!("panel {} {} is ordered for nothing", p.loinc, p.zh));
        }
    }
    for e in EXAMS {
        if !used(|d| d.exams, e.code) {
            problems.push(format!("exam {} {} is ordered for nothing", e.code, e.zh));
        }
    }
    for p in PROCEDURES {
        if !used(|d| d.procedures, p.icd9cm3) {
            problems.push(format!(
                "procedure {} {} is done for nothing",
                p.icd9cm3, p.zh
            ));
        }
    }
    for i in LAB_ITEMS {
        if !LAB_PANELS.iter().any(|p| p.items.contains(&i.loinc)) {
            problems.push(format!("lab item {} {} is in no panel", i.loinc, i.zh));
        }
    }
    assert_none(problems);
}

#[test]
fn codes_are_unique() {
    assert_eq!(
        duplicates(DIAGNOSES.iter().map(|d| d.icd10)),
        Vec::<&str>::new()
    );
    assert_eq!(
        duplicates(PROCEDURES.iter().map(|p| p.icd9cm3)),
        Vec::<&str>::new()
    );
    assert_eq!(
        duplicates(LAB_ITEMS.iter().map(|i| i.loinc)),
        Vec::<&str>::new()
    );
    assert_eq!(
        duplicates(LAB_PANELS.iter().map(|p| p.loinc)),
        Vec::<&str>::new()
    );
    assert_eq!(duplicates(EXAMS.iter().map(|e| e.code)), Vec::<&str>::new());
    assert_eq!(duplicates(DRUGS.iter().map(|d| d.code)), Vec::<&str>::new());
    assert_eq!(duplicates(DRUGS.iter().map(|d| d.zh)), Vec::<&str>::new());
    assert_eq!(
        duplicates(ALLERGENS.iter().map(|a| a.atc)),
        Vec::<&str>::new()
    );
    // A chart's free text names one allergen.
    let texts = ALLERGENS.iter().flat_map(|a| a.free_text.iter().copied());
    assert_eq!(duplicates(texts), Vec::<&str>::new());
    for d in DIAGNOSES {
        assert_eq!(
            duplicates(d.drugs.iter().copied()),
            Vec::<&str>::new(),
            "{}",
            d.icd10
        );
        assert_eq!(
            duplicates(d.labs.iter().copied()),
            Vec::<&str>::new(),
            "{}",
            d.icd10
        );
        assert_eq!(
            duplicates(d.exams.iter().copied()),
            Vec::<&str>::new(),
            "{}",
            d.icd10
        );
        assert_eq!(
            duplicates(d.procedures.iter().copied()),
            Vec::<&str>::new(),
            "{}",
            d.icd10
        );
    }
}

#[test]
fn drug_codes_are_sequential() {
    // Product codes are only ever appended: the n-th drug is YD000n.
    for (i, d) in DRUGS.iter().enumerate() {
        assert_eq!(d.code, format!("YD{:04}", i + 1), "{}", d.zh);
    }
}

#[test]
fn every_speciality_can_be_populated() {
    let distinct: HashSet<Speciality> = Speciality::ALL.into_iter().collect();
    assert_eq!(distinct.len(), Speciality::ALL.len());
    for s in Speciality::ALL {
        assert!(listed(s));
        let seen: Vec<&str> = DIAGNOSES
            .iter()
            .filter(|d| d.specialities.contains(&s))
            .map(|d| d.icd10)
            .collect();
        assert!(seen.len() >= 2, "{s:?} sees only {seen:?}");
    }
}

#[test]
fn every_allergen_has_a_prescribed_culprit() {
    let mut problems = Vec::new();
    for a in ALLERGENS {
        let culprits: Vec<&Drug> = DRUGS.iter().filter(|d| d.atc.starts_with(a.atc)).collect();
        let prescribed = culprits
            .iter()
            .any(|d| DIAGNOSES.iter().any(|dx| dx.drugs.contains(&d.code)));
        if !prescribed {
            problems.push(format!(
                "allergen {} {}: no drug prescribed for anything",
                a.atc, a.zh
            ));
        }
        if a.free_text.is_empty() || a.reactions.is_empty() || a.weight == 0 {
            problems.push(format!("allergen {} {}: incomplete", a.atc, a.zh));
        }
    }
    assert_none(problems);
    // Penicillin allergy is the one most often recorded.
    let top = ALLERGENS
        .iter()
        .max_by_key(|a| a.weight)
        .expect("allergens");
    assert_eq!(top.atc, "J01C");
}

#[test]
fn codes_have_the_right_shape() {
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: &str, code: &str| {
        if !ok {
            problems.push(format!("{what} {code:?}"));
        }
    };
    for d in DIAGNOSES {
        check(is_icd10(d.icd10), "ICD-10", d.icd10);
    }
    for p in PROCEDURES {
        check(is_icd9cm3(p.icd9cm3), "ICD-9-CM-3", p.icd9cm3);
    }
    for i in LAB_ITEMS {
        check(is_loinc(i.loinc), "LOINC", i.loinc);
    }
    for p in LAB_PANELS {
        check(is_loinc(p.loinc), "LOINC", p.loinc);
    }
    for e in EXAMS {
        check(is_loinc(e.code), "LOINC", e.code);
        check(
            is_snomed_concept(e.body_site.0),
            "SNOMED CT body site",
            e.body_site.0,
        );
    }
    for d in DRUGS {
        check(is_atc(d.atc), "ATC", d.atc);
        check(is_snomed_concept(d.route.0), "SNOMED CT route", d.route.0);
    }
    for a in ALLERGENS {
        check(is_atc_prefix(a.atc), "ATC class", a.atc);
        for r in a.reactions {
            check(is_snomed_concept(r.0), "SNOMED CT reaction", r.0);
        }
    }
    assert_none(problems);
    // The checks themselves reject what they should.
    assert!(!is_icd10("I10.") && !is_icd10("i10") && !is_icd10("I1"));
    assert!(!is_icd9cm3("4.1") && !is_icd9cm3("47.012"));
    assert!(!is_atc("C08CA1") && !is_atc("C08CAA1") && !is_atc_prefix("J01CA0"));
    assert!(!is_loinc("2345-6") && !is_loinc("2345"));
    assert!(!is_snomed_concept("26643007") && !is_snomed_concept("999000011000000103"));
}

#[test]
fn sensitivity_follows_the_code() {
    let mut problems = Vec::new();
    for d in DIAGNOSES {
        let expected = expected_sensitivity(d.icd10);
        if d.sensitivity != expected {
            problems.push(format!(
                "{} {}: {:?}, expected {expected:?}",
                d.icd10, d.zh, d.sensitivity
            ));
        }
    }
    assert_none(problems);
}

#[test]
fn entries_are_sane() {
    let mut problems = Vec::new();
    for d in DIAGNOSES {
        if d.weight == 0 || d.ages.0 > d.ages.1 || d.specialities.is_empty() {
            problems.push(format!(
                "diagnosis {}: weight, ages or specialities",
                d.icd10
            ));
        }
        if d.zh.is_empty() || d.en.is_empty() {
            problems.push(format!("diagnosis {}: names", d.icd10));
        }
    }
    for i in LAB_ITEMS {
        if !(i.min <= i.low && i.low < i.high && i.high <= i.max) {
            problems.push(format!(
                "lab item {}: range {}..{} within {}..{}",
                i.loinc, i.low, i.high, i.min, i.max
            ));
        }
        if i.unit.is_empty() || i.decimals > 3 {
            problems.push(format!("lab item {}: unit or decimals", i.loinc));
        }
    }
    for e in EXAMS {
        if !["CT", "MR", "DX", "US", "XA", "MG", "BMD", "ES", "ECG"].contains(&e.modality) {
            problems.push(format!("exam {}: modality {}", e.code, e.modality));
        }
        if e.normal == e.abnormal {
            problems.push(format!("exam {}: conclusions", e.code));
        }
    }
    for d in DRUGS {
        if d.dose.0 <= 0.0
            || d.dose.1.is_empty()
            || !(1..=6).contains(&d.times_per_day)
            || !(1..=90).contains(&d.days)
        {
            problems.push(format!("drug {} {}: dosage", d.code, d.zh));
        }
    }
    assert_none(problems);
    // The newborn diagnosis the synthetic region starts a newborn's care with.
    let born = diagnosis("Z38.0").expect("Z38.0");
    assert_eq!((born.ages, born.chronic), ((0, 0), false));
}

#[test]
fn summary() {
    let mut out = String::new();
    let chronic = DIAGNOSES.iter().filter(|d| d.chronic).count();
    let mut sensitive: BTreeMap<String, usize> = BTreeMap::new();
    for d in DIAGNOSES {
        if let Some(s) = d.sensitivity {
            *sensitive.entry(format!("{s:?}")).or_default() += 1;
        }
    }
    writeln!(
        out,
        "diagnoses {} (chronic {chronic}, sensitive {sensitive:?})",
        DIAGNOSES.len()
    )
    .unwrap();
    let inpatient = PROCEDURES.iter().filter(|p| p.inpatient).count();
    writeln!(
        out,
        "procedures {} (inpatient {inpatient})",
        PROCEDURES.len()
    )
    .unwrap();
    writeln!(out, "lab items {}", LAB_ITEMS.len()).unwrap();
    let recognized = LAB_PANELS.iter().filter(|p| p.recognition_days > 0).count();
    writeln!(
        out,
        "lab panels {} (mutually recognized {recognized})",
        LAB_PANELS.len()
    )
    .unwrap();
    writeln!(out, "exams {}", EXAMS.len()).unwrap();
    let mut classes: Vec<&str> = DRUGS.iter().map(|d| &d.atc[..5]).collect();
    classes.sort_unstable();
    classes.dedup();
    writeln!(
        out,
        "drugs {} ({} ATC chemical subgroups)",
        DRUGS.len(),
        classes.len()
    )
    .unwrap();
    writeln!(out, "allergens {}", ALLERGENS.len()).unwrap();
    for s in Speciality::ALL {
        let n = DIAGNOSES
            .iter()
            .filter(|d| d.specialities.contains(&s))
            .count();
        writeln!(out, "  {s:?}: {n}").unwrap();
    }
    expect![[r#"
        diagnoses 112 (chronic 49, sensitive {"Genetic": 2, "HivSti": 5, "MentalHealth": 5, "Reproductive": 4})
        procedures 44 (inpatient 33)
        lab items 59
        lab panels 29 (mutually recognized 17)
        exams 15
        drugs 130 (111 ATC chemical subgroups)
        allergens 9
          General: 25
          Cardiology: 8
          Respiratory: 9
          Gastroenterology: 8
          Endocrinology: 10
          Nephrology: 5
          Neurology: 15
          Oncology: 8
          Pediatrics: 24
          Obstetrics: 12
          Psychiatry: 7
          Stomatology: 4
          InfectiousDisease: 11
          Tuberculosis: 2
          Geriatrics: 16
          TraditionalChinese: 11
          Orthopedics: 7
          Ophthalmology: 3
          Otolaryngology: 8
          Dermatology: 9
          Urology: 7
          Emergency: 16
          Surgery: 12
    "#]].assert_eq(&out);
}
