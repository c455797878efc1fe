//! The pages through the router: sessions and form tokens, finding a patient without
//! putting them in an address, a hospital system's launch link, counter mode, and a
//! patient's refusal made on a page closing the record to the doctor on the next read.

use super::{app_with, block_on, credentials, token};
use axum::body::Body;
use axum::http::Request;
use expect_test::expect;
use policy::{Purpose, Role};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

/// A browser: a cookie jar and the last page's form token.
struct Browser {
    app: axum::Router,
    cookie: Option<String>,
    csrf: String,
}

impl Browser {
    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        form: &[(&str, &str)],
    ) -> (u16, String, String) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let body = if method == "POST" {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            let mut pairs: Vec<(&str, &str)> = form.to_vec();
            if !form.iter().any(|(k, _)| *k == "csrf") && !self.csrf.is_empty() {
                pairs.push(("csrf", &self.csrf));
            }
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        } else {
            String::new()
        };
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        for c in resp.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or_default();
            if c.starts_with("yilian_session=") {
                assert!(
                    c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                    "{c}"
                );
                self.cookie = Some(c.split(';').next().unwrap_or_default().to_string());
            }
        }
        if status == 200 {
            let csp = resp.headers().get("content-security-policy").is_some();
            let no_store = resp
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                == Some("no-store");
            assert!(csp && no_store, "{uri}: a page is no-store and has a CSP");
        }
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        {
            self.csrf = t.to_string();
        }
        (status, location, html)
    }
}

fn user(name: &str, role: &str, org: Option<&str>) -> auth::User {
    auth::User {
        username: name.into(),
        password: auth::hash_password(PASSWORD, &[7; 16]),
        role: role.into(),
        organization: org.map(|o| format!("Organization/{o}")),
        practitioner: Some(format!("Practitioner/{name}")),
        person: None,
    }
}

#[test]
fn pages_keep_patients_out_of_addresses_and_obey_the_patients_choice() {
    let out = block_on(async {
        let mut config = credentials();
        config.users = vec![
            user("li", "doctor", Some("h1")),
            user("chen", "nurse", Some("h1")),
        ];
        let app = app_with(config);
        for s in super::access::region() {
            let (status, _, body) = super::send(&app, &s).await;
            assert!(status < 300, "setup request failed: {status} {body}");
        }
        let rid = "110105198001010016";
        let mut out = Vec::new();
        let mut step =
            |what: &str, (status, location, html): &(u16, String, String), shows: &[&str]| {
                let shown: Vec<&str> = shows.iter().copied().filter(|s| html.contains(s)).collect();
                out.push(format!("{what}: {status} {location} {shown:?}"));
            };
        let mut doctor = Browser {
            app: app.clone(),
            cookie: None,
            csrf: String::new(),
        };
        step(
            "no session",
            &doctor.send("GET", "/ui/doctor/record", &[]).await,
            &[],
        );
        step(
            "a wrong password",
            &doctor
                .send(
                    "POST",
                    "/ui/login",
                    &[("username", "li"), ("password", "nope nope nope")],
                )
                .await,
            &["用户名或密码不正确"],
        );
        step(
            "sign in",
            &doctor
                .send(
                    "POST",
                    "/ui/login",
                    &[("username", "li"), ("password", PASSWORD)],
                )
                .await,
            &[],
        );
        step(
            "find page",
            &doctor.send("GET", "/ui/doctor", &[]).await,
            &["居民身份证号"],
        );
        step(
            "a form without its token",
            &doctor
                .send(
                    "POST",
                    "/ui/doctor/find",
                    &[("csrf", "forged"), ("value", rid)],
                )
                .await,
            &[],
        );
        step(
            "an unknown number",
            &doctor
                .send(
                    "POST",
                    "/ui/doctor/find",
                    &[("kind", "resident"), ("value", "110105190001010011")],
                )
                .await,
            &["没有找到"],
        );
        step(
            "find by resident ID",
            &doctor
                .send(
                    "POST",
                    "/ui/doctor/find",
                    &[("kind", "resident"), ("value", rid)],
                )
                .await,
            &[],
        );
        step(
            "the record",
            &doctor.send("GET", "/ui/doctor/record", &[]).await,
            &["王伟", "依据患者同意", "h2", "青霉素", "banner"],
        );

        // A hospital's system hands a doctor and a patient to the pages.
        let bearer = token(policy::Caller {
            role: Role::Doctor,
            purpose: Purpose::Treatment,
            organization: Some("Organization/h1".into()),
            practitioner: Some("Practitioner/d1".into()),
            person: None,
        });
        let (status, _, body) = super::send(&app, &format!(
            "POST /auth/launch\nAuthorization: Bearer {bearer}\ncontent-type: application/x-www-form-urlencoded\n\npatient=Patient/a1")).await;
        let url = body["url"].as_str().unwrap_or_default().to_string();
        step(
            &format!(
                "launch link carries the patient: {}",
                url.contains("Patient") || !url.contains("/ui/launch?code=")
            ),
            &(status, String::new(), String::new()),
            &[],
        );
        let path = url.trim_start_matches("http://yilian.test");
        let mut launched = Browser {
            app: app.clone(),
            cookie: None,
            csrf: String::new(),
        };
        step("launch", &launched.send("GET", path, &[]).await, &[]);
        step(
            "launched record",
            &launched.send("GET", "/ui/doctor/record", &[]).await,
            &["青霉素"],
        );
        let mut again = Browser {
            app: app.clone(),
            cookie: None,
            csrf: String::new(),
        };
        step(
            "the same link again",
            &again.send("GET", path, &[]).await,
            &[],
        );

        // At the counter, a nurse checks the ID card and acts for the patient.
        let mut nurse = Browser {
            app: app.clone(),
            cookie: None,
            csrf: String::new(),
        };
        nurse
            .send(
                "POST",
                "/ui/login",
                &[("username", "chen"), ("password", PASSWORD)],
            )
            .await;
        nurse.send("GET", "/ui/counter", &[]).await;
        step(
            "counter without the ID check",
            &nurse
                .send("POST", "/ui/counter", &[("resident", rid)])
                .await,
            &["请先核对身份证件"],
        );
        step(
            "counter",
            &nurse
                .send(
                    "POST",
                    "/ui/counter",
                    &[("resident", rid), ("checked", "yes")],
                )
                .await,
            &[],
        );
        step(
            "the patient's home",
            &nurse.send("GET", "/ui/patient", &[]).await,
            &["窗口代办", "青霉素"],
        );
        step(
            "their access log",
            &nurse.send("GET", "/ui/patient/access", &[]).await,
            &["<td>h1</td>", "调阅共享记录"],
        );
        step(
            "their consents",
            &nurse.send("GET", "/ui/patient/consent", &[]).await,
            &["同意共享", "拒绝共享"],
        );
        step(
            "they refuse sharing",
            &nurse
                .send("POST", "/ui/patient/consent", &[("decision", "deny")])
                .await,
            &["已保存", "拒绝共享"],
        );
        step(
            "the doctor reads again",
            &doctor.send("GET", "/ui/doctor/record", &[]).await,
            &["紧急授权", "采集患者同意"],
        );
        step(
            "sign out",
            &doctor.send("POST", "/ui/logout", &[]).await,
            &[],
        );
        step(
            "after signing out",
            &doctor.send("GET", "/ui/doctor/record", &[]).await,
            &[],
        );
        out.join("\n")
    });
    expect![[r#"
        no session: 303 /ui/login []
        a wrong password: 401  ["用户名或密码不正确"]
        sign in: 303 /ui/doctor []
        find page: 200  ["居民身份证号"]
        a form without its token: 403  []
        an unknown number: 404  ["没有找到"]
        find by resident ID: 303 /ui/doctor/record []
        the record: 200  ["王伟", "依据患者同意", "h2", "青霉素", "banner"]
        launch link carries the patient: false: 200  []
        launch: 303 /ui/doctor/record []
        launched record: 200  ["青霉素"]
        the same link again: 401  []
        counter without the ID check: 400  ["请先核对身份证件"]
        counter: 303 /ui/patient []
        the patient's home: 200  ["窗口代办", "青霉素"]
        their access log: 200  ["<td>h1</td>", "调阅共享记录"]
        their consents: 200  ["同意共享", "拒绝共享"]
        they refuse sharing: 200  ["已保存", "拒绝共享"]
        the doctor reads again: 403  ["紧急授权", "采集患者同意"]
        sign out: 303 /ui/login []
        after signing out: 303 /ui/login []"#]]
    .assert_eq(&out);
}
