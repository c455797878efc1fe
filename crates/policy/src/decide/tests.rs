use super::*;
use expect_test::{Expect, expect};
use proptest::prelude::*;

/// 2026-11-30T00:00:00Z.
const NOW: Time = 1_795_996_800;

fn days_ago(n: i64) -> Time {
    NOW - n * DAY
}

const H1: &str = "Organization/h1";
const H2: &str = "Organization/h2";
const H3: &str = "Organization/h3";

/// The record every row is read against: one item per column.
fn items() -> Vec<(&'static str, Item<'static>)> {
    let item = |reference, c: &[Category], source, age| Item {
        reference,
        categories: Categories::of(c),
        source: Some(source),
        date: Some(days_ago(age)),
    };
    vec![
        // General, recent, another hospital.
        ("gen", item("Encounter/1", &[Category::General], H2, 10)),
        // General, older than the 90-day window.
        ("old", item("Encounter/2", &[Category::General], H2, 200)),
        // An allergy from years ago at a third hospital.
        (
            "allergy",
            item("AllergyIntolerance/3", &[Category::Allergy], H3, 2000),
        ),
        // Mental health, recent.
        (
            "psy",
            item("Condition/4", &[Category::MentalHealth], H2, 10),
        ),
        // Hidden by the patient.
        ("hidden", item("Observation/5", &[Category::General], H3, 5)),
        // The caller's own hospital.
        ("own", item("Encounter/6", &[Category::General], H1, 5)),
    ]
}

fn caller(spec: &str) -> Caller {
    // `role@org purpose`, e.g. `doctor@h1 TREAT` or `patient:p1 PATRQT`.
    let (who, purpose) = spec.split_once(' ').expect("role and purpose");
    let (role, rest) = who
        .split_once(['@', ':'])
        .map_or((who, ""), |(r, x)| (r, x));
    let role = Role::from_code(role).expect("a role");
    Caller {
        role,
        purpose: Purpose::from_code(purpose).expect("a purpose"),
        organization: (who.contains('@')).then(|| format!("Organization/{rest}")),
        practitioner: (who.contains('@')).then(|| "Practitioner/d1".to_string()),
        person: (who.contains(':')).then(|| format!("Person/{rest}")),
    }
}

fn permit(id: &str, given: i64, orgs: &[&str], sensitive: &[Category]) -> ConsentFact {
    ConsentFact {
        id: format!("Consent/{id}"),
        state: ConsentState::Permit,
        given: days_ago(given),
        expires: None,
        organizations: orgs.iter().map(|o| o.to_string()).collect(),
        excluded: Vec::new(),
        sensitive: sensitive.to_vec(),
        grantor: Grantor::Patient,
    }
}

/// The named consent situations of the matrix.
fn consents(name: &str) -> (Vec<ConsentFact>, Option<Time>) {
    let adult = Some(days_ago(40 * 365));
    let child = Some(days_ago(8 * 365));
    let all = permit("c1", 100, &[], &[]);
    match name {
        "none" => (vec![], adult),
        "permit" => (vec![all], adult),
        "permit h1 h2" => (vec![permit("c1", 100, &[H1, H2], &[])], adult),
        "permit h2" => (vec![permit("c1", 100, &[H2], &[])], adult),
        "permit, not h3" => (
            vec![ConsentFact {
                excluded: vec![H3.into()],
                ..all.clone()
            }],
            adult,
        ),
        "permit, not h1" => (
            vec![ConsentFact {
                excluded: vec![H1.into()],
                ..all.clone()
            }],
            adult,
        ),
        "permit +psy" => (
            vec![permit("c1", 100, &[], &[Category::MentalHealth])],
            adult,
        ),
        "expired" => (
            vec![ConsentFact {
                expires: Some(days_ago(1)),
                ..all
            }],
            adult,
        ),
        "withdrawn" => (
            vec![
                all,
                ConsentFact {
                    id: "Consent/c2".into(),
                    state: ConsentState::Withdrawn,
                    given: days_ago(3),
                    ..permit("c2", 3, &[], &[])
                },
            ],
            adult,
        ),
        "opted out" => (
            vec![ConsentFact {
                state: ConsentState::Deny,
                ..all
            }],
            adult,
        ),
        "re-consented" => (
            vec![
                ConsentFact {
                    state: ConsentState::Withdrawn,
                    given: days_ago(50),
                    ..all.clone()
                },
                permit("c3", 2, &[], &[]),
            ],
            adult,
        ),
        "child, own" => (vec![all], child),
        "child, guardian" => (
            vec![ConsentFact {
                grantor: Grantor::Guardian,
                ..all
            }],
            child,
        ),
        "future" => (vec![permit("c1", -5, &[], &[])], adult),
        other => panic!("no consent situation {other}"),
    }
}

const CONSENTS: [&str; 14] = [
    "none",
    "permit",
    "permit h1 h2",
    "permit h2",
    "permit, not h3",
    "permit, not h1",
    "permit +psy",
    "expired",
    "withdrawn",
    "opted out",
    "re-consented",
    "child, own",
    "child, guardian",
    "future",
];

fn facts(consent: &str, seen_days_ago: Option<i64>, glass: &[(&str, i64)]) -> Facts {
    let (consents, birth) = consents(consent);
    Facts {
        person: "Person/p1".into(),
        birth,
        consents,
        hidden: vec!["Observation/5".into()],
        seen_at: seen_days_ago
            .map(|d| (H1.to_string(), days_ago(d)))
            .into_iter()
            .collect(),
        break_glass: glass
            .iter()
            .map(|(who, hours)| BreakGlass {
                practitioner: format!("Practitioner/{who}"),
                organization: H1.into(),
                opened: NOW - hours * HOUR,
            })
            .collect(),
    }
}

/// One row: the decision, then on a permit each item, shown or `(why not)`.
fn row(region: &Region, caller_spec: &str, facts: &Facts) -> String {
    let d = decide(region, &caller(caller_spec), facts, NOW);
    let (Some(basis), Some(scope)) = (&d.basis, &d.scope) else {
        let reason = d.reason.as_ref().expect("a deny has a reason");
        return format!("deny {reason:?}");
    };
    let flags = if d.review { " review+notify" } else { "" };
    let cells: Vec<String> = items()
        .iter()
        .map(|(name, item)| match scope.admits(item) {
            Ok(()) => name.to_string(),
            Err(w) => {
                let why = match w {
                    Withheld::PatientRestriction => "hidden",
                    Withheld::SensitiveCategory => "sensitive",
                    Withheld::HospitalNotConsented => "hospital",
                    Withheld::OutsideWindow => "window",
                };
                format!("({name}: {why})")
            }
        })
        .collect();
    format!("permit {basis:?}{flags} | {}", cells.join(" "))
}

#[track_caller]
fn check(rows: Vec<(String, String)>, expect: Expect) {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let text: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect();
    expect.assert_eq(&(text.join("\n") + "\n"));
}

#[test]
fn a_doctor_treating_across_consent_states_and_relationships() {
    let region = Region::default();
    let mut rows = Vec::new();
    for consent in CONSENTS {
        for (related, seen) in [
            ("seen 5d", Some(5)),
            ("seen 45d", Some(45)),
            ("never", None),
        ] {
            rows.push((
                format!("{consent}, {related}"),
                row(&region, "doctor@h1 TREAT", &facts(consent, seen, &[])),
            ));
        }
    }
    check(
        rows,
        expect![[r#"
        none, seen 5d              deny NoConsent
        none, seen 45d             deny NoTreatmentRelationship
        none, never                deny NoTreatmentRelationship
        permit, seen 5d            permit Consent("Consent/c1") | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        permit, seen 45d           deny NoTreatmentRelationship
        permit, never              deny NoTreatmentRelationship
        permit h1 h2, seen 5d      permit Consent("Consent/c1") | gen (old: window) (allergy: hospital) (psy: sensitive) (hidden: hidden) own
        permit h1 h2, seen 45d     deny NoTreatmentRelationship
        permit h1 h2, never        deny NoTreatmentRelationship
        permit h2, seen 5d         deny HospitalNotConsented
        permit h2, seen 45d        deny NoTreatmentRelationship
        permit h2, never           deny NoTreatmentRelationship
        permit, not h3, seen 5d    permit Consent("Consent/c1") | gen (old: window) (allergy: hospital) (psy: sensitive) (hidden: hidden) own
        permit, not h3, seen 45d   deny NoTreatmentRelationship
        permit, not h3, never      deny NoTreatmentRelationship
        permit, not h1, seen 5d    deny HospitalNotConsented
        permit, not h1, seen 45d   deny NoTreatmentRelationship
        permit, not h1, never      deny NoTreatmentRelationship
        permit +psy, seen 5d       permit Consent("Consent/c1") | gen (old: window) allergy psy (hidden: hidden) own
        permit +psy, seen 45d      deny NoTreatmentRelationship
        permit +psy, never         deny NoTreatmentRelationship
        expired, seen 5d           deny ConsentExpired
        expired, seen 45d          deny NoTreatmentRelationship
        expired, never             deny NoTreatmentRelationship
        withdrawn, seen 5d         deny ConsentWithdrawn
        withdrawn, seen 45d        deny NoTreatmentRelationship
        withdrawn, never           deny NoTreatmentRelationship
        opted out, seen 5d         deny OptedOut
        opted out, seen 45d        deny NoTreatmentRelationship
        opted out, never           deny NoTreatmentRelationship
        re-consented, seen 5d      permit Consent("Consent/c3") | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        re-consented, seen 45d     deny NoTreatmentRelationship
        re-consented, never        deny NoTreatmentRelationship
        child, own, seen 5d        deny GuardianRequired
        child, own, seen 45d       deny NoTreatmentRelationship
        child, own, never          deny NoTreatmentRelationship
        child, guardian, seen 5d   permit Consent("Consent/c1") | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        child, guardian, seen 45d  deny NoTreatmentRelationship
        child, guardian, never     deny NoTreatmentRelationship
        future, seen 5d            deny NoConsent
        future, seen 45d           deny NoTreatmentRelationship
        future, never              deny NoTreatmentRelationship
    "#]],
    );
}

#[test]
fn roles_and_purposes() {
    let region = Region::default();
    let f = facts("permit +psy", Some(5), &[("d1", 1)]);
    let rows = [
        "doctor@h1 TREAT",
        "nurse@h1 TREAT",
        "pharmacist@h1 TREAT",
        "doctor@h2 TREAT",
        "doctor@h1 HRESCH",
        "doctor@h1 PATRQT",
        "nurse@h1 ETREAT",
        "patient:p1 PATRQT",
        "patient:p2 PATRQT",
        "patient:p1 TREAT",
        "auditor@h1 HCOMPL",
        "auditor@h1 TREAT",
        "admin@h1 TREAT",
        "researcher@h1 HRESCH",
    ]
    .iter()
    .map(|c| (c.to_string(), row(&region, c, &f)))
    .collect();
    check(
        rows,
        expect![[r#"
        doctor@h1 TREAT       permit Consent("Consent/c1") | gen (old: window) allergy psy (hidden: hidden) own
        nurse@h1 TREAT        permit Consent("Consent/c1") | gen (old: window) allergy psy (hidden: hidden) own
        pharmacist@h1 TREAT   permit Consent("Consent/c1") | gen (old: window) allergy psy (hidden: hidden) own
        doctor@h2 TREAT       deny NoTreatmentRelationship
        doctor@h1 HRESCH      deny PurposeNotPermitted
        doctor@h1 PATRQT      deny PurposeNotPermitted
        nurse@h1 ETREAT       deny NoBreakGlass
        patient:p1 PATRQT     permit OwnRecord | gen old allergy psy hidden own
        patient:p2 PATRQT     deny NotOwnRecord
        patient:p1 TREAT      deny PurposeNotPermitted
        auditor@h1 HCOMPL     deny RoleNotPermitted
        auditor@h1 TREAT      deny RoleNotPermitted
        admin@h1 TREAT        deny RoleNotPermitted
        researcher@h1 HRESCH  deny RoleNotPermitted
    "#]],
    );
}

#[test]
fn break_glass() {
    let region = Region::default();
    let mut rows = Vec::new();
    for consent in ["none", "permit +psy", "withdrawn", "opted out"] {
        for (name, glass) in [
            ("no grant", &[][..]),
            ("open 1h", &[("d1", 1)][..]),
            ("opened 73h ago", &[("d1", 73)][..]),
            ("another doctor's", &[("d2", 1)][..]),
        ] {
            rows.push((
                format!("{consent}, {name}"),
                row(&region, "doctor@h1 ETREAT", &facts(consent, None, glass)),
            ));
        }
    }
    check(
        rows,
        expect![[r#"
        none, no grant                 deny NoBreakGlass
        none, open 1h                  permit BreakGlass review+notify | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        none, opened 73h ago           deny NoBreakGlass
        none, another doctor's         deny NoBreakGlass
        permit +psy, no grant          deny NoBreakGlass
        permit +psy, open 1h           permit BreakGlass review+notify | gen (old: window) allergy psy (hidden: hidden) own
        permit +psy, opened 73h ago    deny NoBreakGlass
        permit +psy, another doctor's  deny NoBreakGlass
        withdrawn, no grant            deny NoBreakGlass
        withdrawn, open 1h             deny ConsentWithdrawn
        withdrawn, opened 73h ago      deny NoBreakGlass
        withdrawn, another doctor's    deny NoBreakGlass
        opted out, no grant            deny NoBreakGlass
        opted out, open 1h             deny OptedOut
        opted out, opened 73h ago      deny NoBreakGlass
        opted out, another doctor's    deny NoBreakGlass
    "#]],
    );
}

#[test]
fn regions_and_windows() {
    let mut rows = Vec::new();
    let opt_out = Region {
        default: Default::OptOut,
        ..Region::default()
    };
    let no_window = Region {
        window_days: None,
        ..Region::default()
    };
    let override_refusal = Region {
        break_glass_overrides_refusal: true,
        ..Region::default()
    };
    for consent in ["withdrawn", "opted out"] {
        rows.push((
            format!("{consent}, open 1h, region overrides refusals"),
            row(
                &override_refusal,
                "doctor@h1 ETREAT",
                &facts(consent, None, &[("d1", 1)]),
            ),
        ));
    }
    let allergy_window = Region {
        category_windows: vec![(Category::Allergy, Some(365))],
        ..Region::default()
    };
    for (name, region) in [
        ("opt-out", &opt_out),
        ("no window", &no_window),
        ("allergies 1y", &allergy_window),
    ] {
        for consent in ["none", "permit", "expired", "opted out"] {
            rows.push((
                format!("{name}, {consent}"),
                row(region, "doctor@h1 TREAT", &facts(consent, Some(5), &[])),
            ));
        }
    }
    check(
        rows,
        expect![[r#"
        withdrawn, open 1h, region overrides refusals  permit BreakGlass review+notify | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        opted out, open 1h, region overrides refusals  permit BreakGlass review+notify | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        opt-out, none                                  permit RegionDefault | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        opt-out, permit                                permit Consent("Consent/c1") | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        opt-out, expired                               permit RegionDefault | gen (old: window) allergy (psy: sensitive) (hidden: hidden) own
        opt-out, opted out                             deny OptedOut
        no window, none                                deny NoConsent
        no window, permit                              permit Consent("Consent/c1") | gen old allergy (psy: sensitive) (hidden: hidden) own
        no window, expired                             deny ConsentExpired
        no window, opted out                           deny OptedOut
        allergies 1y, none                             deny NoConsent
        allergies 1y, permit                           permit Consent("Consent/c1") | gen (old: window) (allergy: window) (psy: sensitive) (hidden: hidden) own
        allergies 1y, expired                          deny ConsentExpired
        allergies 1y, opted out                        deny OptedOut
    "#]],
    );
}

#[test]
fn withheld_messages() {
    let out: Vec<String> = [
        (Withheld::PatientRestriction, 3),
        (Withheld::SensitiveCategory, 1),
        (Withheld::HospitalNotConsented, 2),
        (Withheld::OutsideWindow, 12),
    ]
    .iter()
    .map(|(w, n)| w.describe(*n))
    .collect();
    expect![[r#"
        3 items withheld by the patient's restriction
        1 item withheld as sensitive without the patient's explicit consent
        2 items withheld from hospitals the patient's consent does not name
        12 items withheld as older than the sharing window
    "#]]
    .assert_eq(&(out.join("\n") + "\n"));
}

#[test]
fn codes_round_trip() {
    for r in Role::ALL {
        assert_eq!(Role::from_code(r.code()), Some(r));
    }
    for p in Purpose::ALL {
        assert_eq!(Purpose::from_code(p.code()), Some(p));
    }
}

// Property: whatever the facts, the policy never shows what consent forbids. Each rule is
// checked against the facts directly, not through `decide`'s own helpers.

fn arb_category() -> impl Strategy<Value = Category> {
    prop::sample::select(Category::ALL.to_vec())
}

fn arb_org() -> impl Strategy<Value = String> {
    (1..4u8).prop_map(|i| format!("Organization/h{i}"))
}

prop_compose! {
    fn arb_consent()(
        id in 0..4u8,
        state in prop::sample::select(vec![ConsentState::Permit, ConsentState::Deny, ConsentState::Withdrawn]),
        given in -10..400i64,
        expires in prop::option::of(-50..50i64),
        organizations in prop::collection::vec(arb_org(), 0..3),
        excluded in prop::collection::vec(arb_org(), 0..2),
        sensitive in prop::collection::vec(arb_category(), 0..3),
        guardian in any::<bool>(),
    ) -> ConsentFact {
        ConsentFact {
            id: format!("Consent/c{id}"),
            state,
            given: days_ago(given),
            expires: expires.map(days_ago),
            organizations,
            excluded,
            sensitive,
            grantor: if guardian { Grantor::Guardian } else { Grantor::Patient },
        }
    }
}

prop_compose! {
    fn arb_facts()(
        age in 0..90i64,
        consents in prop::collection::vec(arb_consent(), 0..3),
        hidden in prop::collection::vec(0..6u8, 0..3),
        seen in prop::collection::vec((arb_org(), -5..100i64), 0..3),
        glass in prop::collection::vec((0..2u8, arb_org(), -5..100i64), 0..2),
    ) -> Facts {
        Facts {
            person: "Person/p1".into(),
            birth: Some(days_ago(age * 365)),
            consents,
            hidden: hidden.iter().map(|i| format!("Item/{i}")).collect(),
            seen_at: seen.into_iter().map(|(o, d)| (o, days_ago(d))).collect(),
            break_glass: glass
                .into_iter()
                .map(|(p, organization, h)| BreakGlass {
                    practitioner: format!("Practitioner/d{p}"),
                    organization,
                    opened: NOW - h * HOUR,
                })
                .collect(),
        }
    }
}

prop_compose! {
    fn arb_caller()(
        role in prop::sample::select(Role::ALL.to_vec()),
        purpose in prop::sample::select(Purpose::ALL.to_vec()),
        org in arb_org(),
        practitioner in 0..2u8,
        own in any::<bool>(),
    ) -> Caller {
        Caller {
            role,
            purpose,
            organization: Some(org),
            practitioner: Some(format!("Practitioner/d{practitioner}")),
            person: Some(if own { "Person/p1".into() } else { "Person/p2".into() }),
        }
    }
}

prop_compose! {
    fn arb_region()(
        opt_out in any::<bool>(),
        window in prop::option::of(1..400u32),
        relationship_days in 1..60u32,
        overrides in any::<bool>(),
    ) -> Region {
        Region {
            break_glass_overrides_refusal: overrides,
            default: if opt_out { Default::OptOut } else { Default::OptIn },
            relationship_days,
            window_days: window,
            ..Region::default()
        }
    }
}

prop_compose! {
    fn arb_item()(
        i in 0..6u8,
        categories in prop::collection::vec(arb_category(), 0..3),
        source in arb_org(),
        age in prop::option::of(0..500i64),
    ) -> (String, Categories, String, Option<Time>) {
        (format!("Item/{i}"), Categories::of(&categories), source, age.map(days_ago))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_shows_what_consent_forbids(
        region in arb_region(),
        caller in arb_caller(),
        facts in arb_facts(),
        items in prop::collection::vec(arb_item(), 1..8),
    ) {
        let d = decide(&region, &caller, &facts, NOW);
        let own = caller.role == Role::Patient && caller.person.as_deref() == Some("Person/p1");
        let latest = facts.consents.iter().filter(|c| c.given <= NOW)
            .max_by(|a, b| a.given.cmp(&b.given).then_with(|| a.id.cmp(&b.id)));
        let glass = caller.role == Role::Doctor && caller.purpose == Purpose::Emergency
            && facts.break_glass.iter().any(|g| Some(&g.practitioner) == caller.practitioner.as_ref()
                && Some(&g.organization) == caller.organization.as_ref()
                && g.opened <= NOW && NOW - g.opened < Time::from(region.break_glass_hours) * HOUR);
        for (reference, categories, source, date) in &items {
            let item = Item { reference, categories: *categories, source: Some(source), date: *date };
            if !d.admits(&item) {
                continue;
            }
            if own {
                continue;
            }
            // Only clinicians, for treatment or under an open break-glass grant.
            prop_assert!(matches!(caller.role, Role::Doctor | Role::Nurse | Role::Pharmacist));
            prop_assert!(caller.purpose == Purpose::Treatment || glass);
            // Never what the patient hid.
            prop_assert!(!facts.hidden.contains(reference));
            // Never after a withdrawal or an opt-out, unless the glass was broken in a region
            // where emergencies override refusals.
            if let Some(c) = latest {
                prop_assert!(c.state == ConsentState::Permit
                    || glass && region.break_glass_overrides_refusal);
            } else {
                prop_assert!(region.default == Default::OptOut || glass);
            }
            // A child's consent counts only from a guardian.
            if let (Some(l), Some(birth)) = (latest, facts.birth) && !glass {
                prop_assert!(l.grantor == Grantor::Guardian || l.given - birth >= 14 * 365 * DAY);
            }
            // A sensitive category only with its own consent, from the governing consent.
            for c in categories.iter().filter(|c| c.is_sensitive()) {
                let agreed = latest.is_some_and(|l| l.state == ConsentState::Permit
                    && l.expires.is_none_or(|e| e > NOW) && l.sensitive.contains(&c));
                prop_assert!(agreed, "{c:?} shown without consent");
            }
            if caller.purpose == Purpose::Treatment {
                // A treatment relationship at the caller's hospital.
                prop_assert!(facts.seen_at.iter().any(|(o, t)| Some(o) == caller.organization.as_ref()
                    && *t <= NOW && NOW - *t <= Time::from(region.relationship_days) * DAY));
                // Hospitals the consent names, or the caller's own.
                if let Some(l) = latest.filter(|l| !l.organizations.is_empty()
                    && l.expires.is_none_or(|e| e > NOW))
                {
                    prop_assert!(l.organizations.contains(source)
                        || Some(source) == caller.organization.as_ref());
                }
                // Never from, nor to, a hospital the consent excludes.
                if let Some(l) = latest.filter(|l| l.expires.is_none_or(|e| e > NOW)) {
                    prop_assert!(!l.excluded.contains(source));
                    prop_assert!(!caller.organization.as_ref().is_some_and(|o| l.excluded.contains(o)));
                }
            }
            // Within the window, unless it is an allergy.
            if let (Some(w), Some(date)) = (region.window_days, date)
                && !categories.contains(Category::Allergy)
            {
                prop_assert!(*date >= NOW - Time::from(w) * DAY);
            }
        }
    }
}
