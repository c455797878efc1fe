use crate::{Caller, Config, Error, Service};
use expect_test::{Expect, expect};
use std::sync::Arc;

fn service() -> Service {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "yilian-service-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = store::Engine::new(store::Sqlite::open(&dir).expect("open store"));
    Service::new(Arc::new(store), Config::default())
}

/// Creates `body` as `resource_type` and renders the error's status and issues.
#[track_caller]
fn check_create(resource_type: &str, body: &str, expect: Expect) {
    let s = service();
    let actual = match s.create(&Caller::Client, resource_type, body.as_bytes(), None) {
        Ok(w) => format!("created {} v{}", w.stored.resource_type, w.stored.version),
        Err(e) => format!(
            "{} {}\n{}",
            e.describe().status,
            e.describe().code,
            fhir::outcome::render(&e.issues())
        ),
    };
    expect.assert_eq(&actual);
}

#[test]
fn error_codes_are_unique() {
    let mut codes = crate::all_codes();
    let n = codes.len();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), n);
}

#[test]
fn bad_bodies_get_precise_outcomes() {
    check_create(
        "Patient",
        r#"{"resourceType":"Patient","gender":"male"}"#,
        expect![[r#"created Patient v1"#]],
    );
    check_create(
        "Patient",
        r#"{"resourceType":"Patient","gender":"male","gender":"female"}"#,
        expect![[r#"
            400 malformed-json
            error structure: duplicate key 'gender' at line 1 column 43
        "#]],
    );
    check_create(
        "Patient",
        r#"{"resourceType":"Observation","status":"final"}"#,
        expect![[r#"
            400 type-mismatch
            error invalid: the body is a Observation, the URL names Patient
        "#]],
    );
    check_create(
        "Spaceship",
        r#"{"resourceType":"Spaceship"}"#,
        expect![[r#"
            404 unsupported-type
            error not-supported: resource type Spaceship is not supported
        "#]],
    );
}

#[test]
fn error_messages_carry_no_resource_content() {
    let s = service();
    let secret = "ZHANGSAN-SECRET";
    let body = format!(
        r#"{{"resourceType":"Patient","birthDate":"{secret}","name":[{{"family":"{secret}"}}]}}"#
    );
    let err = s
        .create(&Caller::Client, "Patient", body.as_bytes(), None)
        .expect_err("an invalid birth date is rejected");
    let text = format!("{err} {:?}", err.issues());
    assert!(!text.contains(secret), "{text}");
    assert!(matches!(err, Error::Invalid(_)));
}

#[test]
fn capability_statement_lists_exactly_what_is_served() {
    let cs = service().capabilities("http://yilian.test");
    let resources = cs["rest"][0]["resource"].as_array().expect("resources");
    let types: Vec<&str> = resources
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(types, fhir::SUPPORTED_TYPES);
    for r in resources {
        let t = r["type"].as_str().expect("type");
        let params = r["searchParam"].as_array().expect("searchParam");
        assert!(params.len() > 3, "{t} lists its search parameters");
        for p in params {
            let code = p["name"].as_str().expect("name");
            let pairs = vec![(format!("{code}:missing"), "true".to_string())];
            assert!(
                fhir::search::parse_query(t, &pairs, false).is_ok(),
                "{t}?{code} is listed but not accepted"
            );
        }
        for inc in r["searchRevInclude"].as_array().expect("revinclude") {
            let pairs = vec![(
                "_revinclude".to_string(),
                inc.as_str().expect("str").to_string(),
            )];
            assert!(
                fhir::search::parse_query(t, &pairs, false).is_ok(),
                "{t} _revinclude={inc}"
            );
        }
    }
}

#[test]
fn one_sort_key_only() {
    let s = service();
    let pairs = vec![("_sort".to_string(), "-date,_id".to_string())];
    let err = s
        .search(&Caller::Client, "Observation", &pairs, false)
        .expect_err("two sort keys are refused");
    expect![[r#"error not-supported: _sort takes one sort key
"#]]
    .assert_eq(&fhir::outcome::render(&err.issues()));
}
