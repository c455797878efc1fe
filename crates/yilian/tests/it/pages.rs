//! The pages in a real browser: headless Chromium driven over WebDriver (chromedriver) by
//! `fantoccini`, against the real binary. A doctor signs in, finds a patient by resident
//! ID, reads data from two hospitals and meets the allergy banner; a doctor of a third
//! hospital is refused, breaks the glass and reads; the patient signs in and finds that
//! access in their log; the auditor finds it in the review queue. No address the browser
//! visits carries patient data. Screenshots of the main pages go to
//! `target/pages-screenshots/`.

use crate::support::{FHIR_JSON, Server, TempDir, in_ci, yilian};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const RESIDENT_ID: &str = "110105198001010016";
const PASSWORD: &str = "correct horse 2026";

/// `days` ago as a FHIR date, from the system's `date` (the test links no server crate).
fn ago(days: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("{days} days ago"), "+%F"])
        .output()
        .expect("run date");
    String::from_utf8(out.stdout)
        .expect("a date")
        .trim()
        .to_string()
}

/// One person registered at h1 and h2 (the same resident ID), recent visits at both, a
/// consent on file at h2, a diagnosis and results at h1, a penicillin allergy at h2.
fn region() -> Vec<Value> {
    const RID: &str = "urn:oid:2.16.156.10011.1.3";
    let patient = |id: &str, org: &str| {
        json!({"resourceType": "Patient", "id": id,
            "identifier": [{"system": RID, "value": RESIDENT_ID},
                {"system": format!("https://yilian.health/fhir/sid/mrn/{org}"), "value": format!("MRN-{id}")}],
            "name": [{"text": "王伟", "family": "王", "given": ["伟"]}], "gender": "male",
            "birthDate": "1980-01-01", "managingOrganization": {"reference": format!("Organization/{org}")}})
    };
    let encounter = |id: &str, patient: &str, org: &str, dept: &str, days: i64| {
        json!({"resourceType": "Encounter", "id": id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "serviceType": {"text": dept},
            "subject": {"reference": format!("Patient/{patient}")},
            "period": {"start": ago(days)}, "serviceProvider": {"reference": format!("Organization/{org}")}})
    };
    let glucose = |id: &str, days: i64, value: f64, flag: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}], "text": "葡萄糖"},
            "subject": {"reference": "Patient/a1"}, "effectiveDateTime": ago(days),
            "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}],
            "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L"}, "high": {"value": 6.1, "unit": "mmol/L"}}]})
    };
    vec![
        json!({"resourceType": "Organization", "id": "h1", "name": "北京协和医院"}),
        json!({"resourceType": "Organization", "id": "h2", "name": "北京朝阳医院"}),
        json!({"resourceType": "Organization", "id": "h3", "name": "北京天坛医院"}),
        patient("a1", "h1"),
        patient("a2", "h2"),
        json!({"resourceType": "Consent", "id": "c1", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/a2"}, "dateTime": ago(20),
            "performer": [{"reference": "Patient/a2"}],
            "sourceAttachment": {"contentType": "image/png", "title": "电子手写签名",
                "data": "c2Nhbg==", "hash": "/6nCTGgj4n9A2aKWWl6I2hhVecE="},
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
            "provision": {"type": "permit"}}),
        encounter("e1", "a1", "h1", "内分泌科", 5),
        encounter("e2", "a2", "h2", "呼吸内科", 10),
        json!({"resourceType": "Condition", "id": "d1", "subject": {"reference": "Patient/a1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9", "display": "2型糖尿病"}]},
            "recordedDate": ago(5)}),
        glucose("o1", 300, 5.4, "N"),
        glucose("o2", 5, 8.9, "H"),
        json!({"resourceType": "AllergyIntolerance", "id": "al1",
            "code": {"text": "青霉素"}, "patient": {"reference": "Patient/a2"}, "recordedDate": ago(900),
            "reaction": [{"manifestation": [{"text": "皮疹"}]}]}),
    ]
}

fn add_user(data: &Path, username: &str, role: &str, extra: &[&str]) {
    let mut child = yilian()
        .args(["admin", "user", "--data"])
        .arg(data)
        .args(["--username", username, "--role", role])
        .args(extra)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run yilian admin user");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(PASSWORD.as_bytes())
        .expect("write the password");
    assert!(child.wait().expect("wait").success(), "yilian admin user");
}

/// chromedriver on a free port, once it answers.
struct Driver(Child, u16);

impl Driver {
    fn start() -> Option<Driver> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Driver(child, port));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not listen within 10 s");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pages-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

struct Browser {
    c: Client,
    base: String,
    /// Every address the browser was at.
    visited: Vec<String>,
}

impl Browser {
    async fn go(&mut self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
        self.note().await;
    }

    async fn note(&mut self) {
        let url = self.c.current_url().await.expect("the current URL");
        self.visited.push(url.to_string());
    }

    async fn text(&self) -> String {
        self.c
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("the body's text")
    }

    async fn sign_in(&mut self, user: &str) {
        self.go("/ui/login").await;
        self.c
            .find(Locator::Id("username"))
            .await
            .expect("the user name field")
            .send_keys(user)
            .await
            .expect("type");
        self.c
            .find(Locator::Id("password"))
            .await
            .expect("the password field")
            .send_keys(PASSWORD)
            .await
            .expect("type");
        self.click("main button[type=submit]").await;
    }

    /// Clicks what navigates to the next page, and waits for that page: the old document
    /// goes stale, then the new one has its body (a busy machine loads slowly).
    async fn click(&mut self, css: &str) {
        let old = self.c.find(Locator::Css("html")).await.expect("a page");
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
        for _ in 0..400 {
            if old.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.c
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body"))
            .await
            .expect("the next page");
        self.note().await;
    }

    async fn sign_out(&mut self) {
        self.click("form[action='/ui/logout'] button").await;
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("a screenshot");
        std::fs::write(screenshots().join(format!("{name}.png")), png).expect("save it");
    }
}

#[test]
fn a_doctor_a_patient_and_an_auditor_in_a_real_browser() {
    let Some(driver) = Driver::start() else {
        assert!(
            !in_ci(),
            "chromedriver is missing: CI installs Debian's chromium and chromium-driver"
        );
        eprintln!(
            "skipped: chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let data = TempDir::new("pages");
    let mut server = Server::serve(data.path());
    for r in region() {
        let path = format!(
            "/{}/{}",
            r["resourceType"].as_str().expect("a type"),
            r["id"].as_str().expect("an id")
        );
        let res = server.request("PUT", &path, &[FHIR_JSON], r.to_string().as_bytes());
        assert!(
            res.status < 300,
            "PUT {path}: {} {}",
            res.status,
            res.text()
        );
    }
    // The index is built on first use (an administrator is refused the record itself);
    // then the person of Patient/a1 is stored.
    assert_eq!(server.get("/shared/Patient/a1").status, 403);
    let persons = server.get("/Person?_count=100");
    let person = persons.json()["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .find(|p| p["link"].to_string().contains("Patient/a1"))
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("the index links a1 to a person: {}", persons.text()))
        .to_string();
    // Accounts are read at start: add them, then start again on the same data.
    server.terminate();
    add_user(
        data.path(),
        "dr.li",
        "doctor",
        &[
            "--organization",
            "Organization/h1",
            "--practitioner",
            "Practitioner/d1",
        ],
    );
    add_user(
        data.path(),
        "dr.zhao",
        "doctor",
        &[
            "--organization",
            "Organization/h3",
            "--practitioner",
            "Practitioner/d3",
        ],
    );
    add_user(
        data.path(),
        "wangwei",
        "patient",
        &["--person", &format!("Person/{person}")],
    );
    add_user(data.path(), "auditor", "auditor", &[]);
    let server = Server::serve(data.path());
    let base = format!("http://{}", server.addr);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "goog:chromeOptions": {"binary": "/usr/bin/chromium",
                "prefs": {"intl.accept_languages": "zh-CN,zh"},
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1800", "--lang=zh-CN"]}
        }))
        .expect("capabilities");
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.1))
            .await
            .expect("a WebDriver session");
        let mut b = Browser { c, base, visited: Vec::new() };

        // A doctor of h1, where the patient was seen five days ago.
        b.go("/ui/login").await;
        b.shot("01-sign-in").await;
        b.sign_in("dr.li").await;
        assert!(b.visited.last().expect("an address").ends_with("/ui/doctor"), "{:?} {}", b.visited, b.text().await);
        b.c.find(Locator::Id("value")).await.expect("the number field").send_keys(RESIDENT_ID).await.expect("type");
        b.shot("02-find-a-patient").await;
        b.click("form[action='/ui/doctor/find'] button[type=submit]").await;
        assert!(b.visited.last().expect("an address").ends_with("/ui/doctor/record"), "{:?}", b.visited);
        let page = b.text().await;
        for seen in ["王伟 · 男 · 1980-01-01", "北京协和医院", "北京朝阳医院", "内分泌科", "呼吸内科", "2型糖尿病", "8.9"] {
            assert!(page.contains(seen), "the record shows {seen}:\n{page}");
        }
        let banner = b.c.find(Locator::Css(".banner")).await.expect("a reminder banner").text().await.expect("its text");
        assert!(banner.contains("青霉素"), "the allergy banner: {banner}");
        let abnormal = b.c.find(Locator::Css("svg.trend circle.abnormal")).await;
        assert!(abnormal.is_ok(), "the high glucose is marked on its trend");
        b.shot("03-record").await;
        b.click("a[href='/ui/doctor/record/print']").await;
        assert!(b.text().await.contains("北京朝阳医院"));
        b.shot("04-print").await;
        b.go("/ui/doctor/record").await;
        b.sign_out().await;

        // A doctor of h3, where the patient never was: refused, then breaks the glass.
        b.sign_in("dr.zhao").await;
        b.c.find(Locator::Id("value")).await.expect("the number field").send_keys(RESIDENT_ID).await.expect("type");
        b.click("form[action='/ui/doctor/find'] button[type=submit]").await;
        let refused = b.text().await;
        assert!(refused.contains("紧急授权"), "the refusal offers the break-glass:\n{refused}");
        b.shot("05-refused").await;
        b.c.find(Locator::Id("reason")).await.expect("the reason field")
            .send_keys("患者昏迷送至急诊，无法取得同意").await.expect("type");
        b.click("form[action='/ui/doctor/break-glass'] button").await;
        let page = b.text().await;
        assert!(page.contains("紧急授权：本次访问将被审查并通知患者"), "read under break-glass:\n{page}");
        assert!(page.contains("北京协和医院") && page.contains("北京朝阳医院"));
        b.shot("06-break-glass").await;
        b.sign_out().await;

        // The patient finds that access in their log.
        b.sign_in("wangwei").await;
        assert!(b.visited.last().expect("an address").ends_with("/ui/patient"), "{:?}", b.visited);
        b.shot("07-patient-home").await;
        b.go("/ui/patient/access").await;
        let glass = b.c.find(Locator::Css("tr.glass")).await.expect("a break-glass row").text().await.expect("its text");
        assert!(glass.contains("北京天坛医院") || glass.contains("h3"), "the access names the hospital: {glass}");
        b.shot("08-access-log").await;
        b.go("/ui/patient/consent").await;
        b.shot("09-consents").await;
        b.sign_out().await;

        // The auditor: the grant awaits review; the log verifies.
        b.sign_in("auditor").await;
        b.click("form[action='/ui/audit/verify'] button").await;
        let overview = b.text().await;
        assert!(overview.contains("验证通过") || overview.contains("Verified"), "{overview}");
        assert!(
            overview.contains("北京天坛医院") && overview.contains("北京协和医院"),
            "sharing per hospital names both readers:\n{overview}"
        );
        b.shot("10-audit-overview").await;
        b.go("/ui/audit/anomalies").await;
        let anomalies = b.text().await;
        assert!(anomalies.contains("no-relationship") && anomalies.contains("Practitioner/d3"), "{anomalies}");
        b.go("/ui/audit/log").await;
        b.c.find(Locator::Css("input[name=agent]")).await.expect("the agent field")
            .send_keys("Practitioner/d3").await.expect("type");
        b.click("form[action='/ui/audit/log'] button").await;
        let found = b.c.find(Locator::Css("tr.glass")).await.expect("the break-glass access in the log").text().await.expect("its text");
        assert!(found.contains("Practitioner/d3"), "{found}");
        b.shot("11-access-log-search").await;
        b.go("/ui/audit/break-glass").await;
        let queue = b.text().await;
        assert!(queue.contains("患者昏迷送至急诊"), "the grant is in the review queue:\n{queue}");
        b.shot("12-break-glass-review").await;
        b.go("/ui/audit/quality").await;
        b.shot("13-data-quality").await;
        b.c.clone().close().await.expect("close the browser");

        for url in &b.visited {
            assert!(
                !url.contains(RESIDENT_ID) && !url.contains("Patient") && !url.contains("a1") && !url.contains("a2"),
                "patient data in an address: {url}"
            );
        }
    });
    drop(server);
}
