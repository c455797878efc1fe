//! The conformance suite: what every backend must do to be "a store". Each backend's tests
//! call [`run`] with a factory of fresh, empty stores; a failing case names itself.

use crate::{
    AuditQuery, Entry, HistoryScope, Logged, Notice, Proof, ShareClass, SharedQuery, Store,
    StoreError, Stored, WriteOp, WriteOutcome,
};
use audit::{Action, Outcome, Record};
use fhir::search::{SearchQuery, parse_query};
use serde_json::{Value, json};
use std::panic::{AssertUnwindSafe, catch_unwind};

type Case = (&'static str, fn(&dyn Store));

/// Every case of the suite.
pub const CASES: &[Case] = &[
    ("create_read_vread", create_read_vread),
    ("update_keeps_every_version", update_keeps_every_version),
    (
        "update_without_change_is_a_no_op",
        update_without_change_is_a_no_op,
    ),
    (
        "if_match_rejects_stale_versions",
        if_match_rejects_stale_versions,
    ),
    ("delete_is_versioned", delete_is_versioned),
    ("search_tokens", search_tokens),
    ("search_strings", search_strings),
    ("search_dates", search_dates),
    ("search_quantities", search_quantities),
    ("search_references_and_ids", search_references_and_ids),
    ("search_last_updated", search_last_updated),
    ("sort_and_page", sort_and_page),
    (
        "paging_is_stable_under_writes",
        paging_is_stable_under_writes,
    ),
    ("include_and_revinclude", include_and_revinclude),
    ("counts", counts),
    (
        "transaction_is_all_or_nothing",
        transaction_is_all_or_nothing,
    ),
    (
        "transaction_resolves_urn_uuids",
        transaction_resolves_urn_uuids,
    ),
    ("conditional_create", conditional_create),
    ("conditional_create_race", conditional_create_race),
    ("conditional_update", conditional_update),
    (
        "concurrent_updates_keep_every_version",
        concurrent_updates_keep_every_version,
    ),
    (
        "transaction_rejects_ambiguity",
        transaction_rejects_ambiguity,
    ),
    (
        "everything_is_the_compartment",
        everything_is_the_compartment,
    ),
    ("history_type_and_system", history_type_and_system),
    ("shared_decides_in_the_query", shared_decides_in_the_query),
    ("audit_log_grows_and_proves", audit_log_grows_and_proves),
    (
        "feeds_apply_each_message_once",
        feeds_apply_each_message_once,
    ),
];

/// The suite's audit key: open every store under test `.sealed(conformance::sealer())`.
pub fn sealer() -> audit::Sealer {
    audit::Sealer::from_seed([42; 32])
}

/// Writes without audit records, for cases about the data alone.
pub trait Plain {
    fn transact_plain(&self, entries: Vec<Entry>) -> Result<Vec<WriteOutcome>, StoreError>;
}

impl<S: Store + ?Sized> Plain for S {
    fn transact_plain(&self, entries: Vec<Entry>) -> Result<Vec<WriteOutcome>, StoreError> {
        self.transact(entries, &|_| Vec::new())
    }
}

/// The types the suite's classifier classifies: open every store under test with
/// `Engine::with_classifier(backend, classify, SHARED)`.
pub const SHARED: &[&str] = &["Observation", "AllergyIntolerance"];

/// The suite's classifier: bit 2 for a resource labelled `PSY`, bit 1 otherwise; the time
/// is the effective date.
pub fn classify(resource_type: &str, v: &Value) -> Option<ShareClass> {
    if !SHARED.contains(&resource_type) {
        return None;
    }
    let psy = v
        .pointer("/meta/security/0/code")
        .and_then(Value::as_str)
        .is_some_and(|c| c == "PSY");
    let at = v
        .get("effectiveDateTime")
        .and_then(Value::as_str)
        .and_then(fhir::time::parse_range)
        .map(|(lo, _)| lo / 1000);
    Some(ShareClass {
        categories: if psy { 2 } else { 1 },
        at,
    })
}

/// Runs every case on a fresh store from `fresh`; panics listing the cases that failed.
pub fn run(fresh: &dyn Fn() -> Box<dyn Store>) {
    let mut failed = Vec::new();
    for (name, case) in CASES {
        let store = fresh();
        if catch_unwind(AssertUnwindSafe(|| case(store.as_ref()))).is_err() {
            failed.push(*name);
        }
        let _ = store.close();
    }
    assert!(failed.is_empty(), "failed store cases: {failed:?}");
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn q(url: &str) -> SearchQuery {
    let (rt, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.replace("%20", " ").replace("%2C", ","))
        })
        .collect();
    match parse_query(rt, &pairs, false) {
        Ok(q) => q,
        Err(issues) => panic!("query {url} rejected: {}", fhir::outcome::render(&issues)),
    }
}

fn one(store: &dyn Store, op: WriteOp) -> WriteOutcome {
    let mut out = store
        .transact_plain(vec![Entry { full_url: None, op }])
        .expect("write succeeds");
    out.remove(0)
}

fn create(store: &dyn Store, resource: Value) -> Stored {
    match one(
        store,
        WriteOp::Create {
            resource,
            if_none_exist: None,
        },
    ) {
        WriteOutcome::Created(s) => s,
        other => panic!("expected created, got {other:?}"),
    }
}

fn put(store: &dyn Store, resource: Value) -> WriteOutcome {
    let rt = resource["resourceType"]
        .as_str()
        .expect("resourceType")
        .to_string();
    let id = resource["id"].as_str().expect("id").to_string();
    one(
        store,
        WriteOp::Update {
            resource_type: rt,
            id,
            resource,
            if_match: None,
        },
    )
}

fn body(s: &Stored) -> Value {
    serde_json::from_slice(&s.body).expect("stored body is JSON")
}

/// The ids of the matches of `url`, in result order.
fn ids(store: &dyn Store, url: &str) -> Vec<String> {
    let page = store.search(&q(url)).expect("search succeeds");
    page.matches.iter().map(|s| s.id.clone()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Every id over all pages of `url`, following next cursors.
fn all_pages(store: &dyn Store, url: &str) -> Vec<String> {
    let mut query = q(url);
    let mut out = Vec::new();
    loop {
        let page = store.search(&query).expect("search succeeds");
        out.extend(page.matches.iter().map(|s| s.id.clone()));
        match page.next {
            Some(next) => query.page = Some(next),
            None => return out,
        }
    }
}

fn patient(id: &str, family: &str, given: &str, birth: &str) -> Value {
    json!({
        "resourceType": "Patient", "id": id,
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": format!("ID-{id}")}],
        "name": [{"family": family, "given": [given]}],
        "gender": "female", "birthDate": birth,
        "telecom": [{"system": "phone", "value": format!("138{id}")}]
    })
}

fn observation(id: &str, patient: &str, code: &str, date: &str, value: &str) -> Value {
    let mut obs = json!({
        "resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": date,
    });
    obs["valueQuantity"] = serde_json::from_str(&format!(
        r#"{{"value": {value}, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}"#
    ))
    .expect("quantity JSON");
    obs
}

// ---------------------------------------------------------------------------------------------
// Cases

fn create_read_vread(store: &dyn Store) {
    let created = create(store, json!({"resourceType": "Patient", "gender": "male"}));
    assert_eq!(created.version, 1);
    assert!(fhir::is_valid_id(&created.id));
    let read = store
        .read("Patient", &created.id)
        .expect("read")
        .expect("exists");
    assert_eq!(read, created);
    let b = body(&read);
    assert_eq!(b["id"], json!(created.id));
    assert_eq!(b["meta"]["versionId"], json!("1"));
    assert!(
        b["meta"]["lastUpdated"]
            .as_str()
            .expect("lastUpdated")
            .ends_with('Z')
    );
    assert_eq!(
        store.vread("Patient", &created.id, 1).expect("vread"),
        Some(created.clone())
    );
    assert_eq!(store.vread("Patient", &created.id, 2).expect("vread"), None);
    assert_eq!(store.read("Patient", "missing").expect("read"), None);
    assert_eq!(store.read("Observation", &created.id).expect("read"), None);
}

fn update_keeps_every_version(store: &dyn Store) {
    assert!(matches!(
        put(store, patient("p1", "Wang", "Wei", "1980-01-01")),
        WriteOutcome::Created(_)
    ));
    let v2 = put(store, patient("p1", "Wang", "Wei", "1980-01-02"));
    assert!(matches!(&v2, WriteOutcome::Updated(s) if s.version == 2));
    let v3 = put(store, patient("p1", "Wang", "Wei", "1980-01-03"));
    assert!(matches!(&v3, WriteOutcome::Updated(s) if s.version == 3));
    let v1 = store
        .vread("Patient", "p1", 1)
        .expect("vread")
        .expect("v1 kept");
    assert_eq!(body(&v1)["birthDate"], json!("1980-01-01"));
    let h = store
        .history(
            &HistoryScope::Instance("Patient".into(), "p1".into()),
            10,
            None,
        )
        .expect("history");
    let versions: Vec<u64> = h.versions.iter().map(|s| s.version).collect();
    assert_eq!(versions, vec![3, 2, 1]);
    // The index follows the current version only.
    assert_eq!(ids(store, "Patient?birthdate=1980-01-03"), strs(&["p1"]));
    assert!(ids(store, "Patient?birthdate=1980-01-01").is_empty());
}

fn update_without_change_is_a_no_op(store: &dyn Store) {
    put(store, patient("p1", "Li", "Na", "1990-05-05"));
    let again = put(store, patient("p1", "Li", "Na", "1990-05-05"));
    assert!(matches!(&again, WriteOutcome::Unchanged(s) if s.version == 1));
    let mut with_meta = patient("p1", "Li", "Na", "1990-05-05");
    with_meta["meta"] = json!({"versionId": "7", "lastUpdated": "2020-01-01T00:00:00Z"});
    assert!(matches!(put(store, with_meta), WriteOutcome::Unchanged(_)));
}

fn if_match_rejects_stale_versions(store: &dyn Store) {
    put(store, patient("p1", "Li", "Na", "1990-05-05"));
    put(store, patient("p1", "Li", "Na", "1990-05-06"));
    let stale = store.transact_plain(vec![Entry {
        full_url: None,
        op: WriteOp::Update {
            resource_type: "Patient".into(),
            id: "p1".into(),
            resource: patient("p1", "Li", "Na", "1990-05-07"),
            if_match: Some(1),
        },
    }]);
    assert!(matches!(
        stale,
        Err(StoreError::VersionConflict {
            expected: 1,
            current: 2,
            ..
        })
    ));
    let fresh = one(
        store,
        WriteOp::Update {
            resource_type: "Patient".into(),
            id: "p1".into(),
            resource: patient("p1", "Li", "Na", "1990-05-07"),
            if_match: Some(2),
        },
    );
    assert!(matches!(fresh, WriteOutcome::Updated(s) if s.version == 3));
}

fn delete_is_versioned(store: &dyn Store) {
    put(store, patient("p1", "Zhang", "San", "1970-01-01"));
    let del = WriteOp::Delete {
        resource_type: "Patient".into(),
        id: "p1".into(),
        if_match: None,
    };
    assert!(matches!(one(store, del.clone()), WriteOutcome::Deleted(s) if s.version == 2));
    assert!(matches!(one(store, del), WriteOutcome::NothingToDelete));
    let read = store.read("Patient", "p1").expect("read").expect("marker");
    assert!(read.deleted);
    assert_eq!(read.version, 2);
    assert!(ids(store, "Patient?family=zhang").is_empty());
    assert!(store.vread("Patient", "p1", 1).expect("vread").is_some());
    assert!(matches!(
        put(store, patient("p1", "Zhang", "San", "1970-01-01")),
        WriteOutcome::Created(s) if s.version == 3
    ));
    assert_eq!(ids(store, "Patient?family=zhang"), strs(&["p1"]));
    let missing = WriteOp::Delete {
        resource_type: "Patient".into(),
        id: "nobody".into(),
        if_match: None,
    };
    assert!(matches!(one(store, missing), WriteOutcome::NothingToDelete));
}

fn search_tokens(store: &dyn Store) {
    put(
        store,
        observation("o1", "p1", "2345-7", "2024-01-01", "5.5"),
    );
    put(store, observation("o2", "p1", "718-7", "2024-01-02", "130"));
    let mut plain = observation("o3", "p1", "x", "2024-01-03", "1");
    plain["code"] = json!({"coding": [{"code": "2345-7"}]});
    put(store, plain);
    assert_eq!(
        sorted(ids(store, "Observation?code=2345-7")),
        strs(&["o1", "o3"])
    );
    assert_eq!(
        ids(store, "Observation?code=http://loinc.org|2345-7"),
        strs(&["o1"])
    );
    assert_eq!(ids(store, "Observation?code=|2345-7"), strs(&["o3"]));
    assert_eq!(
        sorted(ids(store, "Observation?code=http://loinc.org|")),
        strs(&["o1", "o2"])
    );
    assert_eq!(
        sorted(ids(store, "Observation?code=2345-7,718-7")),
        strs(&["o1", "o2", "o3"])
    );
    assert_eq!(ids(store, "Observation?code:not=2345-7"), strs(&["o2"]));
    assert!(ids(store, "Observation?code:not=2345-7,718-7").is_empty());
    assert_eq!(
        ids(
            store,
            "Observation?code=2345-7&code=http://loinc.org|2345-7"
        ),
        strs(&["o1"])
    );
    assert_eq!(
        sorted(ids(store, "Observation?status=final")),
        strs(&["o1", "o2", "o3"])
    );
    assert_eq!(
        sorted(ids(store, "Observation?category=laboratory")),
        strs(&["o1", "o2", "o3"])
    );
    put(store, patient("p1", "Wang", "Fang", "1985-03-04"));
    put(
        store,
        json!({"resourceType": "Patient", "id": "p2", "gender": "male"}),
    );
    assert_eq!(
        ids(store, "Patient?identifier=urn:oid:2.16.156.10011.1.1|ID-p1"),
        strs(&["p1"])
    );
    assert_eq!(ids(store, "Patient?phone=138p1"), strs(&["p1"]));
    assert_eq!(ids(store, "Patient?gender=male"), strs(&["p2"]));
    assert_eq!(ids(store, "Patient?birthdate:missing=true"), strs(&["p2"]));
    assert_eq!(ids(store, "Patient?birthdate:missing=false"), strs(&["p1"]));
}

fn search_strings(store: &dyn Store) {
    put(store, patient("p1", "Müller", "Hans", "1960-01-01"));
    put(store, patient("p2", "王", "伟", "1961-01-01"));
    put(store, patient("p3", "Mueller", "Anna", "1962-01-01"));
    assert_eq!(ids(store, "Patient?family=muller"), strs(&["p1"]));
    assert_eq!(ids(store, "Patient?family=MÜL"), strs(&["p1"]));
    assert_eq!(sorted(ids(store, "Patient?family=mu")), strs(&["p1", "p3"]));
    assert_eq!(ids(store, "Patient?family:exact=Müller"), strs(&["p1"]));
    assert!(ids(store, "Patient?family:exact=müller").is_empty());
    assert_eq!(ids(store, "Patient?family:contains=uel"), strs(&["p3"]));
    assert_eq!(ids(store, "Patient?family=王"), strs(&["p2"]));
    assert_eq!(ids(store, "Patient?given=伟"), strs(&["p2"]));
    assert_eq!(ids(store, "Patient?name=anna"), strs(&["p3"]));
    assert_eq!(ids(store, "Patient?name=王"), strs(&["p2"]));
}

fn search_dates(store: &dyn Store) {
    put(store, patient("a", "A", "A", "1980"));
    put(store, patient("b", "B", "B", "1980-06-15"));
    put(store, patient("c", "C", "C", "1990-01-01"));
    assert_eq!(
        sorted(ids(store, "Patient?birthdate=1980")),
        strs(&["a", "b"])
    );
    assert_eq!(ids(store, "Patient?birthdate=1980-06-15"), strs(&["b"]));
    assert_eq!(ids(store, "Patient?birthdate=eq1980-06"), strs(&["b"]));
    assert_eq!(ids(store, "Patient?birthdate=gt1980-12-31"), strs(&["c"]));
    assert_eq!(
        sorted(ids(store, "Patient?birthdate=lt1981")),
        strs(&["a", "b"])
    );
    assert_eq!(
        sorted(ids(store, "Patient?birthdate=ge1980-06-15")),
        strs(&["a", "b", "c"])
    );
    assert_eq!(
        sorted(ids(store, "Patient?birthdate=le1980-06-14")),
        strs(&["a"])
    );
    assert_eq!(sorted(ids(store, "Patient?birthdate=ne1980")), strs(&["c"]));
    // A year-precision birth date overlaps June, so both prefixes accept it.
    assert_eq!(
        sorted(ids(
            store,
            "Patient?birthdate=ge1980-06-01&birthdate=le1980-06-30"
        )),
        strs(&["a", "b"])
    );
    put(
        store,
        observation("o1", "a", "1", "2024-03-01T10:00:00+08:00", "1"),
    );
    put(
        store,
        observation("o2", "a", "1", "2024-03-02T10:00:00Z", "1"),
    );
    assert_eq!(ids(store, "Observation?date=2024-03-01"), strs(&["o1"]));
    assert_eq!(ids(store, "Observation?date=gt2024-03-01"), strs(&["o2"]));
    assert_eq!(
        ids(store, "Observation?date=lt2024-03-01T03:00:00Z"),
        strs(&["o1"])
    );
    let mut enc = json!({"resourceType": "Encounter", "id": "e1", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/a"},
        "period": {"start": "2024-02-01T08:00:00Z", "end": "2024-02-03T08:00:00Z"}});
    put(store, enc.clone());
    assert_eq!(
        ids(store, "Encounter?date=2024-02-02"),
        Vec::<String>::new()
    );
    assert_eq!(ids(store, "Encounter?date=ge2024-02-02"), strs(&["e1"]));
    assert_eq!(ids(store, "Encounter?date=ap2024-02-02"), strs(&["e1"]));
    enc["period"] = json!({"start": "2024-02-01T08:00:00Z"});
    put(store, enc);
    assert_eq!(ids(store, "Encounter?date=gt2030-01-01"), strs(&["e1"]));
}

fn search_quantities(store: &dyn Store) {
    put(store, observation("o1", "p", "1", "2024-01-01", "5.50"));
    put(store, observation("o2", "p", "1", "2024-01-01", "7.2"));
    assert_eq!(ids(store, "Observation?value-quantity=gt6"), strs(&["o2"]));
    assert_eq!(ids(store, "Observation?value-quantity=5.5"), strs(&["o1"]));
    assert_eq!(
        ids(store, "Observation?value-quantity=le5.5||mmol/L"),
        strs(&["o1"])
    );
    assert!(ids(store, "Observation?value-quantity=le5.5||mg/dL").is_empty());
    let o1 = store.read("Observation", "o1").expect("read").expect("o1");
    assert!(
        String::from_utf8_lossy(&o1.body).contains("5.50"),
        "decimal text kept"
    );
}

fn search_references_and_ids(store: &dyn Store) {
    put(store, observation("o1", "p1", "1", "2024-01-01", "1"));
    put(store, observation("o2", "p2", "1", "2024-01-01", "1"));
    let mut enc = json!({"resourceType": "Encounter", "id": "e1", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/p1"}, "serviceProvider": {"reference": "Organization/h1"}});
    put(store, enc.clone());
    let mut o3 = observation("o3", "p1", "1", "2024-01-01", "1");
    o3["encounter"] = json!({"reference": "Encounter/e1"});
    put(store, o3);
    assert_eq!(
        sorted(ids(store, "Observation?patient=p1")),
        strs(&["o1", "o3"])
    );
    assert_eq!(
        sorted(ids(store, "Observation?subject=Patient/p1")),
        strs(&["o1", "o3"])
    );
    assert_eq!(
        sorted(ids(store, "Observation?subject=p1")),
        strs(&["o1", "o3"])
    );
    assert_eq!(ids(store, "Observation?patient=Patient/p2"), strs(&["o2"]));
    assert_eq!(ids(store, "Observation?encounter=e1"), strs(&["o3"]));
    assert_eq!(
        ids(store, "Encounter?service-provider=Organization/h1"),
        strs(&["e1"])
    );
    assert_eq!(
        sorted(ids(store, "Observation?_id=o1,o2")),
        strs(&["o1", "o2"])
    );
    enc["subject"] = json!({"reference": "Patient/p2"});
    put(store, enc);
    assert_eq!(ids(store, "Encounter?patient=p2"), strs(&["e1"]));
    assert!(ids(store, "Encounter?patient=p1").is_empty());
}

fn search_last_updated(store: &dyn Store) {
    let a = put(store, patient("a", "A", "A", "1980"))
        .stored()
        .cloned()
        .expect("a");
    let stamp = fhir::time::format_instant(a.last_updated);
    assert!(ids(store, &format!("Patient?_lastUpdated=gt{stamp}")).is_empty());
    assert_eq!(
        ids(store, &format!("Patient?_lastUpdated=ge{stamp}")),
        strs(&["a"])
    );
    assert_eq!(
        ids(store, "Patient?_lastUpdated=gt2000-01-01"),
        strs(&["a"])
    );
    assert!(ids(store, "Patient?_lastUpdated=lt2000-01-01").is_empty());
}

fn sort_and_page(store: &dyn Store) {
    for (i, day) in ["05", "01", "03", "02", "04"].iter().enumerate() {
        put(
            store,
            observation(&format!("o{i}"), "p", "1", &format!("2024-01-{day}"), "1"),
        );
    }
    assert_eq!(
        ids(store, "Observation?_sort=date"),
        strs(&["o1", "o3", "o2", "o4", "o0"])
    );
    assert_eq!(
        ids(store, "Observation?_sort=-date"),
        strs(&["o0", "o4", "o2", "o3", "o1"])
    );
    assert_eq!(
        all_pages(store, "Observation?_sort=date&_count=2"),
        strs(&["o1", "o3", "o2", "o4", "o0"])
    );
    assert_eq!(
        all_pages(store, "Observation?_sort=-date&_count=2"),
        strs(&["o0", "o4", "o2", "o3", "o1"])
    );
    assert_eq!(all_pages(store, "Observation?_count=2").len(), 5);
    assert_eq!(
        all_pages(store, "Observation?_sort=_id&_count=3"),
        strs(&["o0", "o1", "o2", "o3", "o4"])
    );
    assert_eq!(
        all_pages(store, "Observation?_sort=_lastUpdated&_count=2"),
        strs(&["o0", "o1", "o2", "o3", "o4"])
    );
    let first = store.search(&q("Observation?_count=2")).expect("search");
    assert!(first.next.is_some());
    let mut bad = q("Observation?_count=2");
    bad.page = Some("garbage".into());
    assert!(matches!(store.search(&bad), Err(StoreError::BadCursor)));
    // A cursor made for a date sort does not fit an `_id` sort.
    let dated = store
        .search(&q("Observation?_sort=date&_count=2"))
        .expect("search");
    let mut by_id = q("Observation?_sort=_id&_count=2");
    by_id.page = dated.next;
    assert!(matches!(store.search(&by_id), Err(StoreError::BadCursor)));
}

fn paging_is_stable_under_writes(store: &dyn Store) {
    for i in 0..6 {
        put(
            store,
            observation(
                &format!("o{i}"),
                "p",
                "1",
                &format!("2024-01-0{}", i + 1),
                "1",
            ),
        );
    }
    for url in ["Observation?_count=2", "Observation?_sort=-date&_count=2"] {
        // What matched before the first page, in the query's order.
        let expected = ids(store, &url.replace("_count=2", "_count=100"));
        assert!(expected.len() >= 6);
        let mut query = q(url);
        let mut seen = Vec::new();
        let mut round = 0;
        loop {
            let page = store.search(&query).expect("search");
            seen.extend(page.matches.iter().map(|s| s.id.clone()));
            // Writes land between pages: a new match, and an update of one already seen.
            put(
                store,
                observation(
                    &format!("new{round}{}", url.len()),
                    "p",
                    "1",
                    "2024-01-09",
                    "1",
                ),
            );
            put(
                store,
                observation("o0", "p", "1", "2024-01-01", &format!("{}", 10 + round)),
            );
            round += 1;
            match page.next {
                Some(next) => query.page = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{url}");
    }
}

fn include_and_revinclude(store: &dyn Store) {
    put(store, patient("p1", "Wang", "Wei", "1980-01-01"));
    put(store, observation("o1", "p1", "1", "2024-01-01", "1"));
    put(store, observation("o2", "p1", "1", "2024-01-01", "1"));
    let page = store
        .search(&q("Observation?_include=Observation:patient"))
        .expect("search");
    assert_eq!(page.matches.len(), 2);
    let inc: Vec<&str> = page.included.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(inc, vec!["p1"]);
    let page = store
        .search(&q("Patient?_id=p1&_revinclude=Observation:subject"))
        .expect("search");
    let mut inc: Vec<String> = page.included.iter().map(|s| s.id.clone()).collect();
    inc.sort();
    assert_eq!(inc, strs(&["o1", "o2"]));
}

fn counts(store: &dyn Store) {
    for i in 0..5 {
        put(
            store,
            observation(&format!("o{i}"), "p", "1", "2024-01-01", "1"),
        );
    }
    let page = store
        .search(&q("Observation?_summary=count"))
        .expect("search");
    assert_eq!(page.total, Some(5));
    assert!(page.matches.is_empty());
    let page = store
        .search(&q("Observation?_total=accurate&_count=2"))
        .expect("search");
    assert_eq!(page.total, Some(5));
    assert_eq!(page.matches.len(), 2);
}

fn transaction_is_all_or_nothing(store: &dyn Store) {
    put(store, patient("p1", "Li", "Lei", "1980-01-01"));
    put(store, patient("p1", "Li", "Lei", "1980-01-02"));
    let result = store.transact_plain(vec![
        Entry {
            full_url: None,
            op: WriteOp::Create {
                resource: observation("x", "p1", "1", "2024-01-01", "1"),
                if_none_exist: None,
            },
        },
        Entry {
            full_url: None,
            op: WriteOp::Update {
                resource_type: "Patient".into(),
                id: "p1".into(),
                resource: patient("p1", "Li", "Lei", "1980-01-03"),
                if_match: Some(1),
            },
        },
    ]);
    match result {
        Err(StoreError::Entry { index: 1, source }) => {
            assert!(matches!(*source, StoreError::VersionConflict { .. }))
        }
        other => panic!("expected entry 1 to fail, got {other:?}"),
    }
    assert!(
        ids(store, "Observation").is_empty(),
        "nothing of a failed transaction is kept"
    );
    assert_eq!(
        store
            .read("Patient", "p1")
            .expect("read")
            .expect("p1")
            .version,
        2
    );
}

fn transaction_resolves_urn_uuids(store: &dyn Store) {
    let pat = "urn:uuid:8f1c0f5e-8a9b-4c1d-9e2f-000000000001";
    let mut obs = observation("ignored", "x", "1", "2024-01-01", "1");
    obs["subject"] = json!({"reference": pat});
    let out = store
        .transact_plain(vec![
            Entry {
                full_url: None,
                op: WriteOp::Create {
                    resource: obs,
                    if_none_exist: None,
                },
            },
            Entry {
                full_url: Some(pat.into()),
                op: WriteOp::Create {
                    resource: patient("ignored", "Zhao", "Yun", "1999-09-09"),
                    if_none_exist: None,
                },
            },
        ])
        .expect("transaction");
    let obs = out[0].stored().expect("obs");
    let pat = out[1].stored().expect("patient");
    assert_ne!(pat.id, "ignored", "create assigns the id");
    assert_eq!(
        body(obs)["subject"]["reference"],
        json!(format!("Patient/{}", pat.id))
    );
    assert_eq!(
        ids(store, &format!("Observation?patient={}", pat.id)),
        vec![obs.id.clone()]
    );
}

fn conditional_create(store: &dyn Store) {
    let cond = || WriteOp::Create {
        resource: patient("x", "Sun", "Li", "1977-07-07"),
        if_none_exist: Some(q("Patient?identifier=urn:oid:2.16.156.10011.1.1|ID-x")),
    };
    let first = one(store, cond());
    let WriteOutcome::Created(first) = first else {
        panic!("first conditional create creates")
    };
    let second = one(store, cond());
    assert!(matches!(&second, WriteOutcome::Unchanged(s) if s.id == first.id));
    create(store, patient("x", "Sun", "Li", "1977-07-07"));
    assert!(matches!(
        store.transact_plain(vec![Entry {
            full_url: None,
            op: cond()
        }]),
        Err(StoreError::MultipleMatches { count: 2, .. })
    ));
}

fn conditional_create_race(store: &dyn Store) {
    let results: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let op = WriteOp::Create {
                        resource: patient("r", "Race", "Condition", "2000-01-01"),
                        if_none_exist: Some(q(
                            "Patient?identifier=urn:oid:2.16.156.10011.1.1|ID-r",
                        )),
                    };
                    one(store, op).stored().expect("stored").id.clone()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(
        results.iter().all(|id| *id == results[0]),
        "one resource for all: {results:?}"
    );
    assert_eq!(ids(store, "Patient?identifier=ID-r").len(), 1);
}

fn conditional_update(store: &dyn Store) {
    let op = |birth: &str| WriteOp::ConditionalUpdate {
        query: q("Patient?identifier=urn:oid:2.16.156.10011.1.1|ID-c"),
        resource: patient("c", "Zhou", "Xun", birth),
        if_match: None,
    };
    assert!(matches!(one(store, op("1950-01-01")), WriteOutcome::Created(s) if s.id == "c"));
    assert!(matches!(one(store, op("1950-01-02")), WriteOutcome::Updated(s) if s.version == 2));
    let mut other = patient("d", "Zhou", "Xun", "1950-01-01");
    other["identifier"] = json!([{"system": "urn:oid:2.16.156.10011.1.1", "value": "ID-c"}]);
    put(store, other);
    assert!(matches!(
        store.transact_plain(vec![Entry {
            full_url: None,
            op: op("1950-01-03")
        }]),
        Err(StoreError::MultipleMatches { .. })
    ));
    // No match, but the body names a resource that exists: R4 says 409.
    put(store, patient("e", "Qian", "Yi", "1950-01-01"));
    let no_match = WriteOp::ConditionalUpdate {
        query: q("Patient?identifier=urn:oid:2.16.156.10011.1.1|ID-nobody"),
        resource: patient("e", "Qian", "Yi", "1950-01-02"),
        if_match: None,
    };
    assert!(matches!(
        store.transact_plain(vec![Entry {
            full_url: None,
            op: no_match
        }]),
        Err(StoreError::Conflict { .. })
    ));
    // One match, but the body names another id: R4 says 400.
    let other_id = WriteOp::ConditionalUpdate {
        query: q("Patient?identifier=urn:oid:2.16.156.10011.1.1|ID-e"),
        resource: patient("not-e", "Qian", "Yi", "1950-01-02"),
        if_match: None,
    };
    assert!(matches!(
        store.transact_plain(vec![Entry {
            full_url: None,
            op: other_id
        }]),
        Err(StoreError::IdMismatch)
    ));
}

fn concurrent_updates_keep_every_version(store: &dyn Store) {
    put(store, patient("c", "Feng", "Yu", "1960-01-01"));
    std::thread::scope(|s| {
        for t in 0..6 {
            s.spawn(move || {
                for i in 0..5 {
                    let mut p = patient("c", "Feng", "Yu", "1960-01-01");
                    p["name"][0]["given"] = json!([format!("writer{t}-{i}")]);
                    assert!(matches!(put(store, p), WriteOutcome::Updated(_)));
                }
            });
        }
    });
    let current = store.read("Patient", "c").expect("read").expect("c");
    assert_eq!(current.version, 31, "every update made exactly one version");
    let h = store
        .history(
            &HistoryScope::Instance("Patient".into(), "c".into()),
            100,
            None,
        )
        .expect("history");
    let versions: Vec<u64> = h.versions.iter().map(|s| s.version).collect();
    assert_eq!(versions, (1..=31).rev().collect::<Vec<_>>());
    // The index holds the current version's given name only.
    let given = body(&current)["name"][0]["given"][0]
        .as_str()
        .expect("given")
        .to_string();
    assert_eq!(ids(store, &format!("Patient?given={given}")), strs(&["c"]));
    assert!(ids(store, "Patient?given=yu").is_empty());
}

fn transaction_rejects_ambiguity(store: &dyn Store) {
    let twice = store.transact_plain(vec![
        Entry {
            full_url: None,
            op: WriteOp::Update {
                resource_type: "Patient".into(),
                id: "t".into(),
                resource: patient("t", "A", "A", "1980"),
                if_match: None,
            },
        },
        Entry {
            full_url: None,
            op: WriteOp::Delete {
                resource_type: "Patient".into(),
                id: "t".into(),
                if_match: None,
            },
        },
    ]);
    assert!(matches!(twice, Err(StoreError::DuplicateTarget { .. })));
    let mut obs = observation("x", "x", "1", "2024-01-01", "1");
    obs["subject"] = json!({"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"});
    let dangling = store.transact_plain(vec![
        Entry {
            full_url: Some("urn:uuid:00000000-0000-4000-8000-000000000001".into()),
            op: WriteOp::Create {
                resource: patient("u", "U", "U", "1980"),
                if_none_exist: None,
            },
        },
        Entry {
            full_url: None,
            op: WriteOp::Create {
                resource: obs.clone(),
                if_none_exist: None,
            },
        },
    ]);
    assert!(matches!(
        dangling,
        Err(StoreError::Entry { index: 1, source }) if matches!(*source, StoreError::UnresolvedReference(_))
    ));
    // Alone, a resource may keep a `urn:uuid:` reference as it is.
    let alone = create(store, obs);
    assert_eq!(
        body(&alone)["subject"]["reference"],
        json!("urn:uuid:00000000-0000-4000-8000-000000000000")
    );
    assert!(store.read("Patient", "t").expect("read").is_none());
}

fn everything_is_the_compartment(store: &dyn Store) {
    put(store, observation("o0", "p1", "1", "2024-01-01", "1"));
    put(store, patient("p1", "Wang", "Wei", "1980-01-01"));
    put(store, patient("p2", "Li", "Na", "1980-01-01"));
    for i in 1..5 {
        put(
            store,
            observation(&format!("o{i}"), "p1", "1", "2024-01-01", "1"),
        );
    }
    put(store, observation("other", "p2", "1", "2024-01-01", "1"));
    put(
        store,
        json!({"resourceType": "AllergyIntolerance", "id": "a1",
        "patient": {"reference": "Patient/p1"}, "code": {"text": "penicillin"}}),
    );
    let mut got = Vec::new();
    let mut page = None;
    loop {
        let p = store
            .everything("p1", 2, page.as_deref())
            .expect("everything");
        got.extend(
            p.matches
                .iter()
                .map(|s| format!("{}/{}", s.resource_type, s.id)),
        );
        match p.next {
            Some(n) => page = Some(n),
            None => break,
        }
    }
    assert_eq!(got[0], "Patient/p1");
    let mut rest = got[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        strs(&[
            "AllergyIntolerance/a1",
            "Observation/o0",
            "Observation/o1",
            "Observation/o2",
            "Observation/o3",
            "Observation/o4"
        ])
    );
    assert!(matches!(
        store.everything("nobody", 10, None),
        Err(StoreError::NotFound { .. })
    ));
}

fn history_type_and_system(store: &dyn Store) {
    put(store, patient("p1", "A", "A", "1980"));
    put(store, patient("p1", "A", "A", "1981"));
    put(store, observation("o1", "p1", "1", "2024-01-01", "1"));
    one(
        store,
        WriteOp::Delete {
            resource_type: "Observation".into(),
            id: "o1".into(),
            if_match: None,
        },
    );
    let t = store
        .history(&HistoryScope::Type("Patient".into()), 10, None)
        .expect("history");
    assert_eq!(
        t.versions.iter().map(|s| s.version).collect::<Vec<_>>(),
        vec![2, 1]
    );
    let mut all = Vec::new();
    let mut page = None;
    loop {
        let h = store
            .history(&HistoryScope::System, 1, page.as_deref())
            .expect("history");
        all.extend(h.versions.iter().map(|s| {
            format!(
                "{}/{}/{}{}",
                s.resource_type,
                s.id,
                s.version,
                if s.deleted { "x" } else { "" }
            )
        }));
        match h.next {
            Some(n) => page = Some(n),
            None => break,
        }
    }
    assert_eq!(
        all,
        strs(&[
            "Observation/o1/2x",
            "Observation/o1/1",
            "Patient/p1/2",
            "Patient/p1/1"
        ])
    );
}

fn shared_decides_in_the_query(store: &dyn Store) {
    put(store, patient("p1", "Wang", "Wei", "1980-01-01"));
    put(store, patient("p2", "Wang", "Wei", "1980-01-01"));
    put(store, patient("p3", "Li", "Na", "1980-01-01"));
    put(store, observation("old", "p1", "1", "2020-01-01", "1"));
    let mut psy = observation("psy", "p1", "1", "2024-06-01", "1");
    psy["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]});
    put(store, psy);
    put(store, observation("new", "p2", "1", "2024-03-01", "1"));
    let mut undated = observation("undated", "p2", "1", "2024-03-01", "1");
    undated
        .as_object_mut()
        .expect("object")
        .remove("effectiveDateTime");
    put(store, undated);
    put(store, observation("hid", "p1", "1", "2024-05-01", "1"));
    put(
        store,
        observation("elsewhere", "p3", "1", "2024-05-01", "1"),
    );
    let since_2023 = fhir::time::parse_range("2023-01-01").expect("date").0 / 1000;
    let query = SharedQuery {
        patients: strs(&["p1", "p2"]),
        forbidden: 2,
        since: vec![(1, since_2023)],
        hidden: strs(&["Observation/hid"]),
        bodies: true,
    };
    let show = |store: &dyn Store, q: &SharedQuery| -> Vec<String> {
        store
            .shared(q)
            .expect("shared")
            .iter()
            .map(|i| {
                format!(
                    "{}/{} of {}: {}",
                    i.stored.resource_type,
                    i.stored.id,
                    i.patient,
                    match i.held {
                        None if i.stored.body.is_empty() => "shown, no body".to_string(),
                        None => "shown".to_string(),
                        Some(h) => format!("{h:?}"),
                    }
                )
            })
            .collect()
    };
    assert_eq!(
        show(store, &query),
        strs(&[
            "Observation/psy of p1: Forbidden",
            "Observation/hid of p1: Hidden",
            "Observation/new of p2: shown",
            "Observation/old of p1: OutsideWindow",
            "Observation/undated of p2: shown",
        ])
    );
    // The class follows the resource: an update moves it into the window, a delete takes it
    // out of the record.
    put(store, observation("old", "p1", "1", "2025-01-01", "1"));
    one(
        store,
        WriteOp::Delete {
            resource_type: "Observation".into(),
            id: "new".into(),
            if_match: None,
        },
    );
    let counted = SharedQuery {
        bodies: false,
        ..query.clone()
    };
    assert_eq!(
        show(store, &counted),
        strs(&[
            "Observation/old of p1: shown, no body",
            "Observation/psy of p1: Forbidden",
            "Observation/hid of p1: Hidden",
            "Observation/undated of p2: shown, no body",
        ])
    );
    // The body is the stored resource.
    let items = store.shared(&query).expect("shared");
    let body: Value = serde_json::from_slice(&items[0].stored.body).expect("JSON");
    assert_eq!(body["effectiveDateTime"], "2025-01-01");
    assert!(
        store
            .shared(&SharedQuery::default())
            .expect("empty")
            .is_empty()
    );
}

fn audit_log_grows_and_proves(store: &dyn Store) {
    let record = |minute: i64, action: Action, agent: &str, org: &str, patient: &str| {
        let mut r = Record::new(
            1_796_083_200_000 + minute * 60_000,
            action,
            Outcome::Success,
            agent,
        );
        r.organization = Some(org.into());
        r.patient = Some(patient.into());
        r
    };
    assert_eq!(store.audit_head(None).expect("head"), None);
    // A write and its record commit together; the record sees what the write made.
    let out = store
        .transact(
            vec![Entry {
                full_url: None,
                op: WriteOp::Create {
                    resource: patient("", "Wang", "Wei", "1980-01-01"),
                    if_none_exist: None,
                },
            }],
            &|outcomes| {
                let s = outcomes[0].stored().expect("created");
                let mut r = record(0, Action::Create, "client:h1", "Organization/h1", "");
                r.patient = Some(format!("Patient/{}", s.id));
                vec![r.into()]
            },
        )
        .expect("write");
    let pid = format!("Patient/{}", out[0].stored().expect("stored").id);
    // A failed write leaves no record.
    let failed = store.transact(
        vec![Entry {
            full_url: None,
            op: WriteOp::Update {
                resource_type: "Patient".into(),
                id: "nope".into(),
                resource: patient("nope", "Li", "Na", "1980-01-01"),
                if_match: Some(3),
            },
        }],
        &|_| {
            vec![
                record(
                    1,
                    Action::Update,
                    "client:h1",
                    "Organization/h1",
                    "Patient/nope",
                )
                .into(),
            ]
        },
    );
    assert!(failed.is_err());
    let notice = |org: &str| Notice {
        id: 0,
        at: 0,
        patient: pid.clone(),
        kind: "first-access".into(),
        message: format!("{{\"org\":\"{org}\"}}"),
        sent: false,
        once_per: Some(("Person/1".into(), org.into())),
    };
    for (i, org) in ["Organization/h2", "Organization/h2", "Organization/h3"]
        .into_iter()
        .enumerate()
    {
        let first = store
            .log(vec![Logged {
                record: record(2 + i as i64, Action::Shared, "Practitioner/d2", org, &pid),
                notify: Some(notice(org)),
            }])
            .expect("log");
        assert_eq!(first, 1 + i as u64);
    }
    let mut batch: Vec<Logged> = (0..37)
        .map(|i| {
            record(
                10 + i,
                Action::Read,
                "user:admin",
                "Organization/h9",
                &format!("Patient/x{i}"),
            )
            .into()
        })
        .collect();
    // A record about no patient, by no hospital: its columns are NULL.
    batch[36].record.patient = None;
    batch[36].record.organization = None;
    assert_eq!(store.log(batch).expect("log"), 4);
    let head = store.audit_head(None).expect("head").expect("a head");
    assert_eq!(head.head.size, 41);
    assert!(head.verify(&sealer().public()));

    // Every record's inclusion proof verifies against the head, from stored subtrees.
    for index in 0..41 {
        let (body, leaf) = store.audit_entry(index).expect("entry").expect("stored");
        assert_eq!(audit::leaf_hash(&body), leaf);
        let proof = store
            .audit_proof(Proof::Inclusion { index, size: 41 })
            .expect("proof")
            .expect("in range");
        assert!(
            audit::merkle::verify_inclusion(index, 41, &leaf, &proof, &head.head.root),
            "inclusion of {index}"
        );
    }
    assert_eq!(
        store
            .audit_proof(Proof::Inclusion {
                index: 41,
                size: 41
            })
            .expect("proof"),
        None
    );
    assert_eq!(
        store
            .audit_proof(Proof::Inclusion { index: 0, size: 42 })
            .expect("proof"),
        None
    );
    // Every earlier head is a prefix of the latest.
    let heads = store.audit_heads().expect("heads");
    assert_eq!(
        heads.iter().map(|h| h.head.size).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 41]
    );
    for h in &heads {
        let proof = store
            .audit_proof(Proof::Consistency {
                first: h.head.size,
                second: 41,
            })
            .expect("proof")
            .expect("in range");
        assert!(audit::merkle::verify_consistency(
            h.head.size,
            41,
            &h.head.root,
            &head.head.root,
            &proof
        ));
    }
    // The whole log verifies, read in pages.
    let mut v = audit::Verifier::new(Some(sealer()), sealer().public(), heads);
    loop {
        let rows = store.audit_scan(v.position(), 10).expect("scan");
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            v.push(r).expect("a clean log");
        }
    }
    let report = v.finish().expect("a clean log");
    assert_eq!((report.records, report.unsigned_tail), (41, 0));
    assert_eq!(report.root, head.head.root);

    // Searches: by patient, agent, hospital, time, action; newest first, paged.
    let find = |q: AuditQuery| -> Vec<u64> {
        store
            .audit_records(&AuditQuery { count: 100, ..q })
            .expect("query")
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    };
    assert_eq!(
        find(AuditQuery {
            patients: vec![pid.clone()],
            ..Default::default()
        }),
        vec![3, 2, 1, 0]
    );
    assert_eq!(
        find(AuditQuery {
            patients: vec![pid.clone()],
            actions: vec![Action::Create],
            ..Default::default()
        }),
        vec![0]
    );
    assert_eq!(
        find(AuditQuery {
            organization: Some("Organization/h2".into()),
            ..Default::default()
        }),
        vec![2, 1]
    );
    assert_eq!(
        find(AuditQuery {
            agent: Some("Practitioner/d2".into()),
            before: Some(3),
            ..Default::default()
        }),
        vec![2, 1]
    );
    let at = |m: i64| 1_796_083_200_000 + m * 60_000;
    assert_eq!(
        find(AuditQuery {
            from: Some(at(2)),
            to: Some(at(4)),
            ..Default::default()
        }),
        vec![2, 1]
    );
    assert_eq!(
        store
            .audit_records(&AuditQuery {
                count: 2,
                ..Default::default()
            })
            .expect("q")
            .len(),
        2
    );
    let stats = store.audit_stats(at(0), at(100)).expect("stats");
    let h2 = stats
        .iter()
        .find(|s| s.organization == "Organization/h2")
        .expect("h2");
    assert_eq!((h2.records, h2.shared_views, h2.patients), (2, 2, 1));
    assert_eq!(
        stats
            .iter()
            .find(|s| s.organization == "Organization/h9")
            .map(|s| s.patients),
        Some(36)
    );

    // The first access by each hospital raised one notice; sending marks it.
    let pending = store.outbox(10).expect("outbox");
    assert_eq!(
        pending
            .iter()
            .map(|n| (n.id, n.message.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, "{\"org\":\"Organization/h2\"}"),
            (3, "{\"org\":\"Organization/h3\"}")
        ]
    );
    store.outbox_sent(&[1]).expect("sent");
    assert_eq!(store.outbox(10).expect("outbox").len(), 1);
    let mine = store.notices(std::slice::from_ref(&pid)).expect("notices");
    assert_eq!(
        mine.iter().map(|n| (n.id, n.sent)).collect::<Vec<_>>(),
        vec![(3, false), (1, true)]
    );
}

fn feeds_apply_each_message_once(store: &dyn Store) {
    use crate::{FeedCount, Inbound, LocalCode, Receipt, Received};
    let receipt = |control: &str, outcome: crate::Outcome| Receipt {
        sender: "h1".into(),
        control_id: control.into(),
        kind: "ADT^A08".into(),
        event_at: Some(0),
        outcome,
        reason: if outcome == crate::Outcome::Accepted {
            String::new()
        } else {
            "PID-3: required".into()
        },
        ack: format!("ACK {control}"),
        unmapped: vec![LocalCode {
            system: "urn:h1:lab".into(),
            code: "X1".into(),
            display: "blood count".into(),
        }],
    };
    let update = |birth: &str| {
        vec![Entry {
            full_url: None,
            op: WriteOp::Update {
                resource_type: "Patient".into(),
                id: "p1".into(),
                resource: patient("p1", "Li", "Lei", birth),
                if_match: None,
            },
        }]
    };
    let bad = vec![Entry {
        full_url: None,
        op: WriteOp::Update {
            resource_type: "Patient".into(),
            id: "p1".into(),
            resource: patient("p1", "Li", "Lei", "1990-01-01"),
            if_match: Some(99),
        },
    }];
    let message = |control: &str, entries: Option<Vec<Entry>>| Inbound {
        receipt: receipt(
            control,
            if entries.is_some() {
                crate::Outcome::Accepted
            } else {
                crate::Outcome::Error
            },
        ),
        entries,
    };
    let out = store
        .receive(
            vec![
                message("m1", Some(update("1980-01-01"))),
                message("m2", Some(bad)),
                message("m3", None),
                // Later in the same batch: the same patient again, then m1 resent.
                message("m4", Some(update("1980-01-02"))),
                message("m1", Some(update("1970-07-07"))),
            ],
            &|_, _| Vec::new(),
        )
        .expect("receive");
    let shape: Vec<String> = out
        .iter()
        .map(|r| match r {
            Received::Applied(o) => format!("applied {}", o.len()),
            Received::Repeat(ack) => format!("repeat {ack}"),
            Received::Failed(e) => format!("failed: {}", e.root()),
            Received::Noted => "noted".into(),
        })
        .collect();
    assert_eq!(
        shape,
        strs(&[
            "applied 1",
            "failed: version conflict on Patient/p1: expected 99, current 1",
            "noted",
            "applied 1",
            "repeat ACK m1",
        ])
    );
    let p1 = store.read("Patient", "p1").expect("read").expect("p1");
    assert_eq!(p1.version, 2, "a failed message and a repeat write nothing");
    assert_eq!(body(&p1)["birthDate"], "1980-01-02");
    // A resend in a later batch is answered from the receipt, and writes nothing.
    let again = store
        .receive(vec![message("m4", Some(update("1960-01-01")))], &|_, _| {
            Vec::new()
        })
        .expect("receive");
    assert!(matches!(&again[0], Received::Repeat(a) if a == "ACK m4"));
    assert_eq!(
        store
            .read("Patient", "p1")
            .expect("read")
            .expect("p1")
            .version,
        2
    );
    let mut counts = store.feed_counts(0, i64::MAX, 1000).expect("counts");
    counts.sort_by(|a, b| (a.outcome, &a.reason).cmp(&(b.outcome, &b.reason)));
    let fc = |outcome, reason: &str, messages| FeedCount {
        sender: "h1".into(),
        kind: "ADT^A08".into(),
        outcome,
        reason: reason.into(),
        messages,
        late: messages,
    };
    assert_eq!(
        counts,
        vec![
            fc(crate::Outcome::Accepted, "", 2),
            fc(crate::Outcome::Error, "PID-3: required", 1),
            fc(
                crate::Outcome::Error,
                "store: version conflict on Patient/p1: expected 99, current 1",
                1
            ),
        ]
    );
    let queue = store.unmapped_codes(Some("h1")).expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].code.as_str(), queue[0].seen),
        ("X1", 2),
        "counted once per stored message"
    );
    assert!(store.unmapped_codes(Some("h2")).expect("queue").is_empty());
}
