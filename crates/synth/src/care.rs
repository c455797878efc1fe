//! A person's care over the years: which hospitals they visit, when, and for what. Chronic
//! conditions bring regular follow-ups at one hospital; acute illness and injuries send them
//! wherever is near or specialised; some visits end in surgery and an admission.
//!
//! The doctors here are careful: they avoid a patient's known allergens, do not repeat a
//! drug class another hospital prescribed within 90 days, and do not repeat a mutually
//! recognized test inside its window. The only such events in the data are the ones planted
//! at the configured rates, so the reminders' recall and precision can be measured exactly.

use crate::config::Config;
use crate::date::Date;
use crate::hospitals::{HOSPITALS, Hospital};
use crate::household::Person;
use crate::people::Sex;
use crate::rng::Rng;
use terminology::{
    ALLERGENS, Allergen, DIAGNOSES, DRUGS, Diagnosis, Drug, Exam, LabPanel, Procedure, Speciality,
};

/// The window, in days, inside which the same drug class at two hospitals is a repeat.
pub const REPEAT_MEDICATION_DAYS: i32 = 90;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Ambulatory,
    Emergency,
    Inpatient,
}

impl Class {
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            Class::Ambulatory => ("AMB", "ambulatory"),
            Class::Emergency => ("EMER", "emergency"),
            Class::Inpatient => ("IMP", "inpatient encounter"),
        }
    }
}

/// One visit and what happened in it.
#[derive(Clone, Debug)]
pub struct Visit {
    pub day: Date,
    pub hospital: &'static Hospital,
    pub speciality: Speciality,
    pub diagnosis: &'static Diagnosis,
    pub class: Class,
    /// Days in hospital, for admissions.
    pub stay: i32,
    pub drugs: Vec<&'static Drug>,
    pub panels: Vec<&'static LabPanel>,
    pub exam: Option<&'static Exam>,
    pub procedure: Option<&'static Procedure>,
    /// Which planted event this visit is, if any.
    pub planted: Option<&'static str>,
}

/// A drug allergy and where it was first recorded.
#[derive(Clone, Debug)]
pub struct Allergy {
    pub allergen: &'static Allergen,
    pub day: Date,
    /// Hospitals that recorded it, with the day each did.
    pub recorded: Vec<(&'static Hospital, Date)>,
}

/// A person's care: visits in date order, and an allergy if they have one.
#[derive(Clone, Debug, Default)]
pub struct Care {
    pub visits: Vec<Visit>,
    pub allergy: Option<Allergy>,
    /// Planted events, for the ground truth.
    pub planted: Vec<&'static str>,
}

pub fn care(config: &Config, rng: &mut Rng, person: &Person) -> Care {
    let today = config.today;
    let start = config.first_day().max(person.birth);
    if start > today {
        return Care::default();
    }
    let homes = [general_hospital(rng), general_hospital(rng)];
    let mut visits = Vec::new();
    let age = person.age(today);

    if person.newborn {
        let hospital = pick_hospital(
            rng,
            Speciality::Obstetrics,
            &homes,
            None,
            (person, person.birth),
        );
        let diagnosis = terminology::diagnosis("Z38.0").or_else(|| {
            fitting(person, 0, |d| {
                d.specialities.contains(&Speciality::Pediatrics)
            })
            .first()
            .copied()
        });
        if let Some(diagnosis) = diagnosis {
            visits.push(visit(
                person.birth,
                hospital,
                Speciality::Pediatrics,
                diagnosis,
                Class::Inpatient,
            ));
            visits.last_mut().expect("just pushed").stay = rng.range(2, 5) as i32;
        }
    }

    // Chronic conditions, managed at one hospital with regular follow-ups.
    let n_chronic = match age {
        0..=29 => usize::from(rng.chance(0.05)),
        30..=49 => usize::from(rng.chance(0.25)) + usize::from(rng.chance(0.05)),
        50..=64 => usize::from(rng.chance(0.5)) + usize::from(rng.chance(0.2)),
        _ => {
            usize::from(rng.chance(0.85))
                + usize::from(rng.chance(0.4))
                + usize::from(rng.chance(0.15))
        }
    };
    let mut chronic = fitting(person, age, |d| d.chronic);
    for _ in 0..n_chronic {
        if chronic.is_empty() {
            break;
        }
        let i = rng.weighted(&chronic, |d| d.weight);
        let diagnosis = chronic.swap_remove(i);
        let speciality = *rng.pick(diagnosis.specialities);
        let n_drugs = 1 + usize::from(rng.chance(0.4));
        let regimen: Vec<&'static Drug> = pick_drugs(rng, diagnosis, n_drugs);
        let onset = Date(rng.range(start.0 as i64 - 2 * 365, today.0 as i64 - 7) as i32).max(start);
        let hospital = pick_hospital(rng, speciality, &homes, None, (person, onset));
        let interval = rng.range(60, 120) as i32;
        let mut day = onset;
        while day <= today {
            let mut v = visit(day, hospital, speciality, diagnosis, Class::Ambulatory);
            v.drugs = regimen.clone();
            if !diagnosis.labs.is_empty() && rng.chance(0.35) {
                v.panels.push(lab_panel(rng, diagnosis));
            }
            if !diagnosis.exams.is_empty() && rng.chance(0.08) {
                v.exam = terminology::exam(rng.pick::<&str>(diagnosis.exams));
            }
            visits.push(v);
            day = day.add_days(interval + rng.range(-10, 10) as i32);
        }
    }

    // Acute illness and injury.
    let per_year = match age {
        0..=5 => 3.0,
        6..=13 => 1.5,
        14..=64 => 0.8,
        _ => 1.4,
    };
    let years = (today.0 - start.0) as f64 / 365.0;
    let n_acute = (per_year * years * (0.4 + 1.2 * rng.unit())).round() as usize;
    // Everyone in the region has been seen somewhere at least once.
    let n_acute = n_acute.max(usize::from(visits.is_empty()));
    let acute = fitting(person, age, |d| !d.chronic);
    for _ in 0..n_acute {
        if acute.is_empty() {
            break;
        }
        let day = Date(rng.range(start.0 as i64, today.0 as i64) as i32);
        let age_then = person.birth.years_until(day);
        let diagnosis = acute[rng.weighted(&acute, |d| {
            if (d.ages.0 as i32..=d.ages.1 as i32).contains(&age_then) {
                d.weight
            } else {
                0
            }
        })];
        let speciality =
            if age_then < 14 && diagnosis.specialities.contains(&Speciality::Pediatrics) {
                Speciality::Pediatrics
            } else {
                *rng.pick(diagnosis.specialities)
            };
        let hospital = pick_hospital(rng, speciality, &homes, None, (person, day));
        let class = if speciality == Speciality::Emergency || rng.chance(0.12) {
            Class::Emergency
        } else {
            Class::Ambulatory
        };
        let mut v = visit(day, hospital, speciality, diagnosis, class);
        if rng.chance(0.8) {
            v.drugs = pick_drugs(rng, diagnosis, 1);
        }
        if !diagnosis.labs.is_empty() && rng.chance(0.5) {
            v.panels.push(lab_panel(rng, diagnosis));
        }
        if !diagnosis.exams.is_empty() && rng.chance(0.35) {
            v.exam = terminology::exam(rng.pick::<&str>(diagnosis.exams));
        }
        if !diagnosis.procedures.is_empty() && rng.chance(0.4) {
            v.procedure = terminology::procedure(rng.pick::<&str>(diagnosis.procedures));
            if v.procedure.is_some_and(|p| p.inpatient) {
                v.class = Class::Inpatient;
                v.stay = rng.range(3, 12) as i32;
            }
        }
        visits.push(v);
    }
    visits.sort_by_key(|v| v.day);

    // A drug allergy, recorded where the person is first seen after it is known.
    let allergy = if !visits.is_empty() && rng.chance(config.rates.allergy) {
        let allergen = &ALLERGENS[rng.weighted(ALLERGENS, |a| a.weight)];
        let first = &visits[rng.below(visits.len().min(3))];
        let mut recorded = vec![(first.hospital, first.day)];
        for v in &visits {
            if v.day > first.day
                && !recorded.iter().any(|(h, _)| h.id == v.hospital.id)
                && rng.chance(0.5)
            {
                recorded.push((v.hospital, v.day));
            }
        }
        Some(Allergy {
            allergen,
            day: first.day,
            recorded,
        })
    } else {
        None
    };

    // The careful doctors: walk the visits in order and drop what would repeat or harm.
    let mut rx: Vec<(Date, &'static str, &'static Drug, usize)> = Vec::new();
    let mut labs: Vec<(Date, &'static str, &'static LabPanel, usize)> = Vec::new();
    for (i, v) in visits.iter_mut().enumerate() {
        v.drugs.retain(|d| {
            let allergic = allergy
                .as_ref()
                .is_some_and(|a| d.atc.starts_with(a.allergen.atc));
            let repeat = rx.iter().any(|(day, h, other, _)| {
                *h != v.hospital.id
                    && v.day.0 - day.0 <= REPEAT_MEDICATION_DAYS
                    && other.atc[..5] == d.atc[..5]
            });
            !allergic && !repeat
        });
        v.drugs.dedup_by_key(|d| &d.atc[..5]);
        for d in &v.drugs {
            rx.push((v.day, v.hospital.id, d, i));
        }
        v.panels.retain(|p| {
            p.recognition_days == 0
                || !labs.iter().any(|(day, _, other, _)| {
                    other.loinc == p.loinc && v.day.0 - day.0 < p.recognition_days as i32
                })
        });
        for p in &v.panels {
            labs.push((v.day, v.hospital.id, p, i));
        }
    }

    // Planted events, at their rates among the people who could have them.
    let mut planted = Vec::new();
    let rates = &config.rates;
    if !rx.is_empty() && rng.chance(rates.repeat_medication) {
        let (day, hospital, drug, i) = rx[rng.below(rx.len())];
        let original = &visits[i];
        let same_class: Vec<&'static Drug> = DRUGS
            .iter()
            .filter(|d| d.atc[..5] == drug.atc[..5])
            .filter(|d| {
                !allergy
                    .as_ref()
                    .is_some_and(|a| d.atc.starts_with(a.allergen.atc))
            })
            .collect();
        let when = day.add_days(rng.range(1, 60) as i32).min(today);
        let mut v = elsewhere(rng, original, &homes, hospital, (person, day), when);
        v.drugs.push(same_class[rng.below(same_class.len())]);
        v.planted = Some("repeat_medication");
        visits.push(v);
        planted.push("repeat_medication");
    }
    let recognized: Vec<_> = labs
        .iter()
        .filter(|(day, h, p, _)| {
            *day < today
                && p.recognition_days > 1
                && crate::hospitals::hospital(h).is_some_and(|h| h.mutual_recognition)
        })
        .collect();
    if !recognized.is_empty() && rng.chance(rates.repeat_test) {
        let (day, hospital, panel, i) = *recognized[rng.below(recognized.len())];
        let original = &visits[i];
        let within = (panel.recognition_days as i64 - 1).min(30);
        let when = day.add_days(rng.range(1, within) as i32).min(today);
        let mut v = elsewhere(rng, original, &homes, hospital, (person, day), when);
        v.panels.push(panel);
        v.planted = Some("repeat_test");
        visits.push(v);
        planted.push("repeat_test");
    }
    if let Some(a) = &allergy {
        // Drugs of the allergen's class that some diagnosis calls for.
        let culprits: Vec<&'static Drug> = DRUGS
            .iter()
            .filter(|d| d.atc.starts_with(a.allergen.atc))
            .filter(|d| DIAGNOSES.iter().any(|x| x.drugs.contains(&d.code)))
            .collect();
        if !culprits.is_empty() && a.day < today && rng.chance(rates.allergy_violation) {
            let drug = culprits[rng.below(culprits.len())];
            let treats: Vec<&'static Diagnosis> = DIAGNOSES
                .iter()
                .filter(|d| d.drugs.contains(&drug.code))
                .collect();
            let fits: Vec<&'static Diagnosis> = treats
                .iter()
                .copied()
                .filter(|d| fits_person(d, person, age))
                .collect();
            let pool = if fits.is_empty() { &treats } else { &fits };
            if let Some(&diagnosis) = pool.get(rng.below(pool.len().max(1))) {
                let speciality = *rng.pick(diagnosis.specialities);
                let hospital = pick_hospital(rng, speciality, &homes, None, (person, a.day));
                let when = Date(rng.range(a.day.0 as i64 + 1, today.0 as i64) as i32);
                let mut v = visit(when, hospital, speciality, diagnosis, Class::Ambulatory);
                v.drugs.push(drug);
                v.planted = Some("allergy_violation");
                visits.push(v);
                planted.push("allergy_violation");
            }
        }
    }
    visits.sort_by_key(|v| v.day);
    Care {
        visits,
        allergy,
        planted,
    }
}

/// A visit like `original`, on `when`, at another hospital than `not`.
fn elsewhere(
    rng: &mut Rng,
    original: &Visit,
    homes: &[&'static Hospital],
    not: &str,
    who: (&Person, Date),
    when: Date,
) -> Visit {
    let other = pick_hospital(rng, original.speciality, homes, Some(not), who);
    visit(
        when,
        other,
        original.speciality,
        original.diagnosis,
        Class::Ambulatory,
    )
}

fn visit(
    day: Date,
    hospital: &'static Hospital,
    speciality: Speciality,
    diagnosis: &'static Diagnosis,
    class: Class,
) -> Visit {
    // Seen in the nearest department the hospital has (a newborn in obstetrics, say).
    let speciality = if hospital.has(speciality) {
        speciality
    } else if hospital.has(Speciality::General) {
        Speciality::General
    } else {
        hospital.departments[0]
    };
    Visit {
        day,
        hospital,
        speciality,
        diagnosis,
        class,
        stay: 0,
        drugs: Vec::new(),
        panels: Vec::new(),
        exam: None,
        procedure: None,
        planted: None,
    }
}

/// Diagnoses that fit a person's sex and age and `filter`.
fn fitting(
    person: &Person,
    age: i32,
    filter: impl Fn(&Diagnosis) -> bool,
) -> Vec<&'static Diagnosis> {
    DIAGNOSES
        .iter()
        .filter(|d| filter(d) && fits_person(d, person, age))
        .collect()
}

fn fits_person(d: &Diagnosis, person: &Person, age: i32) -> bool {
    let in_age = (d.ages.0 as i32..=d.ages.1 as i32).contains(&age)
        // Acute diagnoses fit anyone who was of that age during the window.
        || (!d.chronic && (d.ages.0 as i32) <= age && age - 5 <= d.ages.1 as i32);
    in_age && sex_of(d.icd10).is_none_or(|s| s == person.sex)
}

/// The sex a diagnosis is limited to, by ICD-10 chapter and block.
pub fn sex_of(icd10: &str) -> Option<Sex> {
    let block = &icd10[..icd10.len().min(3)];
    let female = block.starts_with('O')
        || ("N70".."N99").contains(&block)
        || ("C51".."C59").contains(&block)
        || block == "C50"
        || block == "Z32"
        || block == "Z34"
        || block == "Z30";
    let male = ("N40".."N52").contains(&block) || ("C60".."C64").contains(&block);
    if female {
        Some(Sex::Female)
    } else if male {
        Some(Sex::Male)
    } else {
        None
    }
}

fn pick_drugs(rng: &mut Rng, diagnosis: &Diagnosis, n: usize) -> Vec<&'static Drug> {
    let mut out: Vec<&'static Drug> = Vec::new();
    for _ in 0..n {
        if diagnosis.drugs.is_empty() {
            break;
        }
        if let Some(d) = terminology::drug(rng.pick::<&str>(diagnosis.drugs))
            && !out.iter().any(|o| o.atc[..5] == d.atc[..5])
        {
            out.push(d);
        }
    }
    out
}

fn lab_panel(rng: &mut Rng, diagnosis: &Diagnosis) -> &'static LabPanel {
    terminology::lab_panel(rng.pick::<&str>(diagnosis.labs))
        .expect("the tables' references resolve (tested)")
}

fn general_hospital(rng: &mut Rng) -> &'static Hospital {
    let general: Vec<&'static Hospital> = HOSPITALS
        .iter()
        .filter(|h| h.speciality == Speciality::General)
        .collect();
    general[rng.weighted(&general, |h| h.weight)]
}

/// A hospital for a speciality: one of the person's home hospitals when it has the
/// department, otherwise any that does (specialist hospitals preferred); never `not`.
fn pick_hospital(
    rng: &mut Rng,
    speciality: Speciality,
    homes: &[&'static Hospital],
    not: Option<&str>,
    (person, day): (&Person, Date),
) -> &'static Hospital {
    // Children's hospitals see children; the obstetrics hospital sees women and newborns.
    let age = person.birth.years_until(day);
    let allowed = |h: &Hospital| {
        Some(h.id) != not
            && (h.speciality != Speciality::Pediatrics || age < 18)
            && (h.speciality != Speciality::Obstetrics || person.sex == Sex::Female || age < 1)
    };
    if rng.chance(0.6)
        && let Some(h) = homes.iter().find(|h| allowed(h) && h.has(speciality))
    {
        return h;
    }
    let candidates: Vec<&'static Hospital> = HOSPITALS
        .iter()
        .filter(|h| h.has(speciality) && allowed(h))
        .collect();
    if candidates.is_empty() {
        let any: Vec<&'static Hospital> = HOSPITALS
            .iter()
            .filter(|h| h.speciality == Speciality::General && allowed(h))
            .collect();
        return any[rng.weighted(&any, |h| h.weight)];
    }
    candidates[rng.weighted(&candidates, |h| {
        h.weight * if h.speciality == speciality { 3 } else { 1 }
    })]
}
