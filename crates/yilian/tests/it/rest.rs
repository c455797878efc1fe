//! The REST interactions a client relies on: create, read, versioned update with If-Match,
//! conditional create, delete, vread and history, and search paging.

use crate::support::{FHIR_JSON, Server, TempDir, resources};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[test]
fn create_update_delete_vread_and_history() {
    let data = TempDir::new("crud");
    let server = Server::serve(data.path());
    let base = format!("http://{}", server.addr);

    let created = server.create(&patient("crud-1", "Lin", "1980-02-03"));
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    let id = body["id"]
        .as_str()
        .expect("the server assigns an id")
        .to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("{base}/Patient/{id}/_history/1").as_str())
    );
    assert_eq!(created.header("etag"), Some(r#"W/"1""#));
    assert_eq!(body["meta"]["versionId"], "1");
    assert_eq!(body["name"][0]["family"], "Lin");

    let read = server.get(&format!("/Patient/{id}"));
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.header("etag"), Some(r#"W/"1""#));
    assert_eq!(read.json()["name"][0]["family"], "Lin");
    assert_eq!(read.json()["birthDate"], "1980-02-03");

    let mut changed = patient("crud-1", "Lin-Chen", "1980-02-03");
    changed["id"] = json!(id);
    let updated = put(&server, &id, &changed, Some(r#"W/"1""#));
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.header("etag"), Some(r#"W/"2""#));
    assert_eq!(updated.json()["meta"]["versionId"], "2");

    // A client still holding version 1 must not overwrite version 2.
    changed["name"][0]["family"] = json!("Stale");
    let stale = put(&server, &id, &changed, Some(r#"W/"1""#));
    assert_eq!(stale.status, 412, "{}", stale.text());
    let issues = stale.issues();
    assert_eq!(issues[0]["code"], "conflict", "{issues:?}");
    let read = server.get(&format!("/Patient/{id}"));
    assert_eq!(read.json()["name"][0]["family"], "Lin-Chen");
    assert_eq!(read.header("etag"), Some(r#"W/"2""#));

    let deleted = server.request("DELETE", &format!("/Patient/{id}"), &[], b"");
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let gone = server.get(&format!("/Patient/{id}"));
    assert_eq!(gone.status, 410, "{}", gone.text());
    assert_eq!(gone.issues()[0]["code"], "deleted");

    let v1 = server.get(&format!("/Patient/{id}/_history/1"));
    assert_eq!(v1.status, 200, "{}", v1.text());
    assert_eq!(v1.json()["name"][0]["family"], "Lin");
    assert_eq!(v1.json()["meta"]["versionId"], "1");
    let v2 = server.get(&format!("/Patient/{id}/_history/2"));
    assert_eq!(v2.status, 200, "{}", v2.text());
    assert_eq!(v2.json()["name"][0]["family"], "Lin-Chen");

    let history = server.get(&format!("/Patient/{id}/_history"));
    assert_eq!(history.status, 200, "{}", history.text());
    let history = history.json();
    assert_eq!(history["type"], "history");
    let mut versions: BTreeMap<String, (String, Option<Value>)> = BTreeMap::new();
    for e in history["entry"].as_array().expect("history has entries") {
        let etag = e["response"]["etag"]
            .as_str()
            .expect("entries have an etag");
        let method = e["request"]["method"]
            .as_str()
            .expect("entries have a method");
        versions.insert(
            etag.to_string(),
            (method.to_string(), e.get("resource").cloned()),
        );
    }
    let methods: Vec<(&str, &str)> = versions
        .iter()
        .map(|(k, (m, _))| (k.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        methods,
        [
            (r#"W/"1""#, "POST"),
            (r#"W/"2""#, "PUT"),
            (r#"W/"3""#, "DELETE")
        ]
    );
    assert!(
        versions[r#"W/"3""#].1.is_none(),
        "a deletion has no resource"
    );
    assert_eq!(
        versions[r#"W/"2""#]
            .1
            .as_ref()
            .map(|r| r["name"][0]["family"].clone()),
        Some(json!("Lin-Chen"))
    );
}

#[test]
fn conditional_create_returns_the_existing_resource() {
    let data = TempDir::new("cond");
    let server = Server::serve(data.path());
    let condition = ("If-None-Exist", "identifier=urn:yilian:test|cond-1");
    let body = patient("cond-1", "Wu", "1975-05-06").to_string();

    let first = server.request("POST", "/Patient", &[FHIR_JSON, condition], body.as_bytes());
    assert_eq!(first.status, 201, "{}", first.text());
    let id = first.json()["id"].as_str().expect("an id").to_string();

    let second = server.request("POST", "/Patient", &[FHIR_JSON, condition], body.as_bytes());
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.json()["id"], id.as_str());
    assert_eq!(second.header("etag"), Some(r#"W/"1""#));

    let found = server.get("/Patient?identifier=urn:yilian:test%7Ccond-1");
    assert_eq!(found.status, 200, "{}", found.text());
    let found = resources(&found.json());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], id.as_str());
    assert_eq!(server.count("Patient"), 1);
}

#[test]
fn search_pages_through_every_match_once() {
    let data = TempDir::new("paging");
    let server = Server::serve(data.path());
    create_search_and_page(&server);
}

/// Creates 25 patients of one family and 3 of another, then pages through the family with
/// `_count=10`: three pages, every patient exactly once, no stranger. Shared with the
/// PostgreSQL run.
pub fn create_search_and_page(server: &Server) {
    let mut created = Vec::new();
    for n in 0..25 {
        let r = server.create(&patient(&format!("page-{n}"), "Pagewood", "1990-01-01"));
        assert_eq!(r.status, 201, "{}", r.text());
        created.push(r.json()["id"].as_str().expect("an id").to_string());
    }
    for n in 0..3 {
        let r = server.create(&patient(&format!("other-{n}"), "Otherfield", "1991-01-01"));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    assert_eq!(server.count("Patient"), 28);

    let pages = server.pages("/Patient?family=Pagewood&_count=10");
    let sizes: Vec<usize> = pages.iter().map(|p| resources(p).len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in pages.iter().flat_map(resources) {
        assert_eq!(r["name"][0]["family"], "Pagewood", "{r}");
        *seen
            .entry(r["id"].as_str().expect("an id").to_string())
            .or_default() += 1;
    }
    created.sort();
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), created);
    assert!(
        seen.values().all(|&n| n == 1),
        "a patient was seen twice: {seen:?}"
    );

    let counted = server.get("/Patient?family=Pagewood&_summary=count");
    assert_eq!(counted.json()["total"], 25, "{}", counted.text());
}

/// A small valid Patient with one identifier.
pub fn patient(identifier: &str, family: &str, birth_date: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:yilian:test", "value": identifier}],
        "name": [{"family": family, "given": ["Test"]}],
        "gender": "female",
        "birthDate": birth_date,
    })
}

fn put(
    server: &Server,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> crate::support::Response {
    let mut headers = vec![FHIR_JSON];
    if let Some(m) = if_match {
        headers.push(("If-Match", m));
    }
    server.request(
        "PUT",
        &format!("/Patient/{id}"),
        &headers,
        body.to_string().as_bytes(),
    )
}
