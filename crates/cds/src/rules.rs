//! The three reminders and the patient-view summary, as cards.

use crate::history::{Allergen, History, Medication, drug_of, seconds};
use crate::knowledge::{Ingredient, Knowledge};
use serde_json::{Value, json};

/// Which reminder made a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    AllergyIngredient,
    AllergyClass,
    AllergyCrossSensitivity,
    AllergyUnverified,
    DuplicateIngredient,
    DuplicateClass,
    RepeatedTest,
    UnknownOrder,
    Summary,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::AllergyIngredient,
        Rule::AllergyClass,
        Rule::AllergyCrossSensitivity,
        Rule::AllergyUnverified,
        Rule::DuplicateIngredient,
        Rule::DuplicateClass,
        Rule::RepeatedTest,
        Rule::UnknownOrder,
        Rule::Summary,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::AllergyIngredient => "allergy-ingredient",
            Rule::AllergyClass => "allergy-class",
            Rule::AllergyCrossSensitivity => "allergy-cross-sensitivity",
            Rule::AllergyUnverified => "allergy-unverified",
            Rule::DuplicateIngredient => "duplicate-ingredient",
            Rule::DuplicateClass => "duplicate-class",
            Rule::RepeatedTest => "repeated-test",
            Rule::UnknownOrder => "unknown-order",
            Rule::Summary => "summary",
        }
    }

    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indicator {
    Info,
    Warning,
    Critical,
}

impl Indicator {
    pub fn code(self) -> &'static str {
        match self {
            Indicator::Info => "info",
            Indicator::Warning => "warning",
            Indicator::Critical => "critical",
        }
    }
}

/// The national rules' six reasons to repeat a mutually recognized test anyway.
pub const REPEAT_REASONS: &[(&str, &str)] = &[
    ("condition-changed", "病情变化 the condition changed"),
    ("fast-changing", "检验结果易变 a fast-changing result"),
    (
        "critical-decision",
        "重大诊疗决策（如手术前）a critical decision, such as before surgery",
    ),
    ("emergency", "急诊、急救 an emergency"),
    (
        "forensic",
        "司法鉴定、伤残鉴定 a forensic or disability assessment",
    ),
    ("other-need", "其他临床需要 another clinical need"),
];

/// Why a doctor goes on with an order despite a medication reminder.
pub const MEDICATION_REASONS: &[(&str, &str)] = &[
    (
        "benefit-outweighs-risk",
        "获益大于风险 the benefit outweighs the risk",
    ),
    ("tolerated-before", "既往用过且耐受 tolerated before"),
    (
        "replaces-prior",
        "替换原处方 replaces the earlier prescription",
    ),
    (
        "allergy-disputed",
        "过敏史有误 the recorded allergy is wrong",
    ),
];

/// The code system of override reasons.
pub const REASONS: &str = "https://yilian.health/fhir/CodeSystem/cds-override-reason";

/// One card, before the edge gives it its uuid.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    pub rule: Rule,
    pub indicator: Indicator,
    /// At most 140 characters.
    pub summary: String,
    pub detail: String,
    /// The draft order the card is about (`MedicationRequest/{id}`), if any.
    pub order: Option<String>,
    /// What the card points at in the record (`AllergyIntolerance/{id}`, ...).
    pub evidence: Vec<String>,
    pub override_reasons: &'static [(&'static str, &'static str)],
    /// What accepting it saves: the order's estimated price, in yuan.
    pub saves: Option<f64>,
}

/// An order being made: a draft MedicationRequest or ServiceRequest.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub reference: String,
    pub resource: Value,
}

/// Cuts `s` to at most `max` characters, ending with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn hospital(h: &Option<String>) -> &str {
    h.as_deref().unwrap_or("another hospital")
}

/// The day of `at` (seconds), as the region reads it (Beijing time).
fn date(at: i64) -> String {
    let local = fhir::time::format_instant((at + 8 * 3600) * 1000);
    local.get(..10).unwrap_or_default().to_string()
}

/// Settings a region may change.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// How far back prescriptions and dispenses count, in days.
    pub medication_lookback_days: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            medication_lookback_days: 90,
        }
    }
}

/// The cards for `orders` (order-select, order-sign) against `history` at `now` (seconds).
pub fn order_cards(
    k: &Knowledge,
    settings: &Settings,
    history: &History,
    orders: &[Order],
    now: i64,
) -> Vec<Card> {
    let mut cards = Vec::new();
    for order in orders {
        match order.resource.get("resourceType").and_then(Value::as_str) {
            Some("MedicationRequest") => medication(k, settings, history, order, now, &mut cards),
            Some("ServiceRequest") => test(k, history, order, now, &mut cards),
            _ => {}
        }
    }
    cards
}

fn medication(
    k: &Knowledge,
    settings: &Settings,
    history: &History,
    order: &Order,
    now: i64,
    cards: &mut Vec<Card>,
) {
    let concept = order
        .resource
        .get("medicationCodeableConcept")
        .cloned()
        .unwrap_or(Value::Null);
    let Some((name, ingredients, kind)) = drug_of(k, &concept) else {
        cards.push(Card {
            rule: Rule::UnknownOrder,
            indicator: Indicator::Info,
            summary: "未能识别所开药品编码，未做过敏与重复用药检查 Drug code not recognized: not checked".into(),
            detail: "The order carries neither a Yilian drug code nor an ATC code the knowledge tables hold; map the hospital's local code to check it.".into(),
            order: Some(order.reference.clone()),
            evidence: vec![],
            override_reasons: &[],
            saves: None,
        });
        return;
    };
    let route = order
        .resource
        .pointer("/dosageInstruction/0/route/coding/0/code")
        .and_then(Value::as_str)
        .map(|r| k.route_kind(r))
        .or(kind)
        .unwrap_or_else(|| "systemic".into());
    let price = concept
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|c| k.drug(c.get("code")?.as_str()?))
        .map(|d| d.price);
    allergy(k, history, order, &name, &ingredients, cards);
    duplicates(
        k,
        settings,
        history,
        order,
        &name,
        &ingredients,
        &route,
        now,
        price,
        cards,
    );
}

fn allergy(
    k: &Knowledge,
    history: &History,
    order: &Order,
    name: &str,
    ingredients: &[Ingredient],
    cards: &mut Vec<Card>,
) {
    for a in &history.allergies {
        let Allergen::Known { atc, from_text } = &a.allergen else {
            continue;
        };
        let how = if *from_text {
            format!("病历记录“{}”", a.text)
        } else {
            format!("过敏原 {}", k.name_of(atc))
        };
        let at = format!(
            "{}{}",
            hospital(&a.hospital),
            a.recorded
                .map(|t| format!(" {}", date(t)))
                .unwrap_or_default()
        );
        // One card per allergy and order: the gravest match among the ingredients.
        let before = cards.len();
        for i in ingredients {
            let (rule, indicator, what) = if &i.atc == atc {
                (
                    Rule::AllergyIngredient,
                    Indicator::Critical,
                    "成分过敏 ingredient allergy",
                )
            } else if i.atc.starts_with(atc.as_str()) {
                (
                    Rule::AllergyClass,
                    Indicator::Warning,
                    "同类药物过敏 class allergy",
                )
            } else if let Some(g) = k.cross(atc, &i.atc) {
                cards.push(Card {
                    rule: Rule::AllergyCrossSensitivity,
                    indicator: Indicator::Info,
                    summary: clip(
                        &format!(
                            "{name}：与既往{}过敏可能交叉过敏（{}）",
                            k.name_of(atc),
                            g.name
                        ),
                        140,
                    ),
                    detail: format!(
                        "{how}（{at}）。{}含{}，与过敏原同属交叉过敏组“{}”（{}）。{}",
                        name, i.name, g.name, g.en, g.note
                    ),
                    order: Some(order.reference.clone()),
                    evidence: vec![format!("AllergyIntolerance/{}", a.id)],
                    override_reasons: MEDICATION_REASONS,
                    saves: None,
                });
                continue;
            } else {
                continue;
            };
            cards.push(Card {
                rule,
                indicator,
                summary: clip(
                    &format!("{name}：患者对{}过敏（{at}）", k.name_of(atc)),
                    140,
                ),
                detail: format!(
                    "{what}. {how}（{at}{}）。所开{name}含{}（ATC {}）。",
                    if a.high_criticality { "，高危" } else { "" },
                    i.name,
                    i.atc
                ),
                order: Some(order.reference.clone()),
                evidence: vec![format!("AllergyIntolerance/{}", a.id)],
                override_reasons: MEDICATION_REASONS,
                saves: None,
            });
        }
        if cards.len() > before + 1 {
            let mut found = cards.split_off(before);
            found.sort_by_key(|c| std::cmp::Reverse(c.indicator));
            found.truncate(1);
            cards.extend(found);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn duplicates(
    k: &Knowledge,
    settings: &Settings,
    history: &History,
    order: &Order,
    name: &str,
    ingredients: &[Ingredient],
    route: &str,
    now: i64,
    price: Option<f64>,
    cards: &mut Vec<Card>,
) {
    let since = now - settings.medication_lookback_days * 86_400;
    let running: Vec<&Medication> = history
        .medications
        .iter()
        .filter(|m| m.start >= since && m.start <= now && m.days_left(now) > 0)
        .filter(|m| m.route == route)
        .collect();
    let describe = |m: &Medication| {
        format!(
            "{}，{} {}开具{}，余{}天",
            m.name,
            hospital(&m.hospital),
            date(m.start),
            m.prescriber
                .as_deref()
                .map(|p| format!("（{p}）"))
                .unwrap_or_default(),
            m.days_left(now)
        )
    };
    // One substance may carry several ATC codes (an eye drop and a tablet): same code or
    // same name is the same ingredient, and the route decides whether it repeats.
    let same = |a: &Ingredient, b: &Ingredient| a.atc == b.atc || a.name == b.name;
    let mut same_ingredient = Vec::new();
    for i in ingredients {
        for m in &running {
            if m.ingredients.iter().any(|x| same(x, i)) {
                same_ingredient.push((i, *m));
            }
        }
    }
    if let Some((i, _)) = same_ingredient.first() {
        let prior: Vec<String> = same_ingredient.iter().map(|(_, m)| describe(m)).collect();
        cards.push(Card {
            rule: Rule::DuplicateIngredient,
            indicator: Indicator::Warning,
            summary: clip(
                &format!("重复用药：{}正在服用（{}）", i.name, prior[0]),
                140,
            ),
            detail: format!(
                "所开{name}含{}，与以下处方成分相同且药量未用完：{}。",
                i.name,
                prior.join("；")
            ),
            order: Some(order.reference.clone()),
            evidence: same_ingredient
                .iter()
                .map(|(_, m)| format!("MedicationRequest/{}", m.id))
                .collect(),
            override_reasons: MEDICATION_REASONS,
            saves: price,
        });
        return;
    }
    // The same therapeutic class (ATC level 4), beyond the class's allowance.
    for i in ingredients {
        let Some(class) = i.atc.get(..5) else {
            continue;
        };
        let mut others: Vec<&Medication> = running
            .iter()
            .copied()
            .filter(|m| {
                m.ingredients
                    .iter()
                    .any(|x| x.atc.starts_with(class) && x.atc != i.atc)
            })
            .collect();
        others.dedup_by(|a, b| a.ingredients == b.ingredients);
        let distinct: std::collections::BTreeSet<&str> = others
            .iter()
            .flat_map(|m| {
                m.ingredients
                    .iter()
                    .filter(|x| x.atc.starts_with(class))
                    .map(|x| x.atc.as_str())
            })
            .collect();
        if distinct.len() as u32 + 1 > k.allowance(class) {
            let prior: Vec<String> = others.iter().map(|m| describe(m)).collect();
            cards.push(Card {
                rule: Rule::DuplicateClass,
                indicator: Indicator::Warning,
                summary: clip(
                    &format!("同类药物重复（ATC {class}）：{}", prior.join("；")),
                    140,
                ),
                detail: format!(
                    "所开{name}（{}）与正在使用的同类药物（ATC {class}）合用超过该类允许的{}种：{}。",
                    i.name,
                    k.allowance(class),
                    prior.join("；")
                ),
                order: Some(order.reference.clone()),
                evidence: others.iter().map(|m| format!("MedicationRequest/{}", m.id)).collect(),
                override_reasons: MEDICATION_REASONS,
                saves: price,
            });
            return;
        }
    }
}

fn test(k: &Knowledge, history: &History, order: &Order, now: i64, cards: &mut Vec<Card>) {
    let Some(concept) = order.resource.get("code") else {
        return;
    };
    let codes: Vec<&str> = concept
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("code")?.as_str())
        .collect();
    let Some(item) = codes.iter().find_map(|c| k.test(c)) else {
        return;
    };
    if item.window_days == 0 {
        return;
    }
    let since = now - i64::from(item.window_days) * 86_400;
    let prior = history
        .results
        .iter()
        .filter(|r| r.code == item.code && r.recognized && r.at >= since && r.at <= now)
        .max_by_key(|r| r.at);
    let Some(r) = prior else { return };
    cards.push(Card {
        rule: Rule::RepeatedTest,
        indicator: Indicator::Warning,
        summary: clip(
            &format!(
                "重复检查：{} {} {}已做，结果互认（HR），{}天内有效",
                item.name,
                hospital(&r.hospital),
                date(r.at),
                item.window_days
            ),
            140,
        ),
        detail: format!(
            "{}（{}，{}，互认标识 HR）：{}。如仍需检查，请选择国家规定的理由之一。",
            item.name,
            hospital(&r.hospital),
            date(r.at),
            if r.summary.is_empty() {
                "见报告"
            } else {
                &r.summary
            }
        ),
        order: Some(order.reference.clone()),
        evidence: vec![format!("DiagnosticReport/{}", r.id)],
        override_reasons: REPEAT_REASONS,
        saves: Some(item.price),
    });
}

/// patient-view: allergies from every hospital, unverified ones as written, and a short
/// summary of the record across hospitals.
pub fn patient_cards(k: &Knowledge, history: &History, now: i64) -> Vec<Card> {
    let _ = k;
    let mut cards = Vec::new();
    let known: Vec<String> = history
        .allergies
        .iter()
        .filter_map(|a| match &a.allergen {
            Allergen::Known { atc, .. } => {
                Some(format!("{}（{}）", k.name_of(atc), hospital(&a.hospital)))
            }
            Allergen::Unmatched => None,
        })
        .collect();
    if !known.is_empty() {
        let high = history.allergies.iter().any(|a| a.high_criticality);
        cards.push(Card {
            rule: Rule::Summary,
            indicator: if high {
                Indicator::Warning
            } else {
                Indicator::Info
            },
            summary: clip(&format!("过敏史：{}", known.join("、")), 140),
            detail: format!("各医院记录的过敏：{}。", known.join("；")),
            order: None,
            evidence: history
                .allergies
                .iter()
                .map(|a| format!("AllergyIntolerance/{}", a.id))
                .collect(),
            override_reasons: &[],
            saves: None,
        });
    }
    for a in history
        .allergies
        .iter()
        .filter(|a| a.allergen == Allergen::Unmatched)
    {
        cards.push(Card {
            rule: Rule::AllergyUnverified,
            indicator: Indicator::Info,
            summary: clip(&format!("未核实的过敏记录：“{}”（{}）", a.text, hospital(&a.hospital)), 140),
            detail: "This free-text allergy matches no known drug or class: shown as written, not checked against orders.".into(),
            order: None,
            evidence: vec![format!("AllergyIntolerance/{}", a.id)],
            override_reasons: &[],
            saves: None,
        });
    }
    let year = now - 365 * 86_400;
    let mut by_hospital: std::collections::BTreeMap<&str, usize> = Default::default();
    for (h, at) in &history.visits {
        if *at >= year {
            *by_hospital.entry(hospital(h)).or_default() += 1;
        }
    }
    let running = history
        .medications
        .iter()
        .filter(|m| m.days_left(now) > 0)
        .count();
    if !by_hospital.is_empty() || running > 0 {
        let visits: Vec<String> = by_hospital
            .iter()
            .map(|(h, n)| format!("{h} {n}次"))
            .collect();
        cards.push(Card {
            rule: Rule::Summary,
            indicator: Indicator::Info,
            summary: clip(
                &format!(
                    "近一年就诊：{}；在用药物{}种",
                    if visits.is_empty() {
                        "无".to_string()
                    } else {
                        visits.join("，")
                    },
                    running
                ),
                140,
            ),
            detail: {
                let mut recent: Vec<&(String, i64)> = history
                    .diagnoses
                    .iter()
                    .filter(|(_, at)| *at >= year)
                    .collect();
                recent.sort_by_key(|(_, at)| -at);
                format!(
                    "近一年诊断：{}。",
                    recent
                        .iter()
                        .take(5)
                        .map(|(d, at)| format!("{d}（{}）", date(*at)))
                        .collect::<Vec<_>>()
                        .join("；")
                )
            },
            order: None,
            evidence: vec![],
            override_reasons: &[],
            saves: None,
        });
    }
    cards
}

/// A card in CDS Hooks 2.0 JSON, with its `uuid` and the knowledge versions it used.
pub fn card_json(card: &Card, uuid: &str, versions: &[(String, String)]) -> Value {
    let mut v = json!({
        "uuid": uuid,
        "summary": clip(&card.summary, 140),
        "detail": card.detail,
        "indicator": card.indicator.code(),
        "source": {
            "label": "医联 Yilian regional shared record",
            "topic": {"system": "https://yilian.health/fhir/CodeSystem/cds-rule", "code": card.rule.code()},
        },
        "extension": {
            "yilian-knowledge": versions.iter().map(|(f, v)| format!("{f}@{v}")).collect::<Vec<_>>(),
            "yilian-evidence": card.evidence,
        },
    });
    if let Some(order) = &card.order {
        v["suggestions"] = json!([{
            "label": "撤销此医嘱 Remove this order",
            "uuid": format!("{uuid}-remove"),
            "isRecommended": true,
            "actions": [{"type": "delete", "description": "Remove the draft order", "resourceId": [order]}],
        }]);
        v["selectionBehavior"] = json!("at-most-one");
    }
    if !card.override_reasons.is_empty() {
        v["overrideReasons"] = card
            .override_reasons
            .iter()
            .map(|(code, display)| json!({"system": REASONS, "code": code, "display": display}))
            .collect();
    }
    v
}

/// When the record says `at` (a FHIR date or dateTime), in seconds; for callers building
/// a history by hand.
pub fn at(s: &str) -> i64 {
    seconds(s).unwrap_or(0)
}
