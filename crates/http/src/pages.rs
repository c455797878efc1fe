//! The pages over HTTP (`/ui/...`): sign-in and sessions, then each page is one or two
//! service calls with the session's principal (the same authorization and the same audit
//! as the API) rendered by the `pages` crate.
//!
//! No patient data in URLs: the patient in context lives in the session, and numbers are
//! POSTed. Every POST carries the session's form token and comes from our own origin.
//! Responses are `no-store` and framed by a strict Content-Security-Policy.

use crate::response::ApiError;
use crate::routes::{AppState, blocking, header_str, param, query_pairs};
use crate::session::{COOKIE, Session};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pages::{Frame, Lang, Nav, auditor, doctor, patient};
use serde_json::Value;
use service::{Caller, Error, Service};
use std::sync::Arc;

const LANG_COOKIE: &str = "yilian_lang";

/// Serves `/ui/...`.
pub(crate) async fn route(
    app: &Arc<AppState>,
    method: &Method,
    seg: &[&str],
    headers: &HeaderMap,
    pairs: &[(String, String)],
    body: Body,
) -> Response {
    let now = crate::authn::now();
    let sessions = &app.auth.sessions;
    let id = cookie(headers, COOKIE);
    let session = id.as_deref().and_then(|id| sessions.get(id, now));
    let lang = session
        .as_ref()
        .map(|s| s.lang)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(|c| Lang::from_code(&c)))
        .unwrap_or_else(|| {
            Lang::negotiate(&header_str(headers, "accept-language").unwrap_or_default())
        });
    if *method == Method::POST && !same_origin(app, headers) {
        return page(lang, 403, "cross-origin form posts are refused");
    }
    let form = if *method == Method::POST {
        match crate::routes::read_form(app, headers, body).await {
            Ok(bytes) => query_pairs(&bytes),
            Err(e) => return failure(lang, e),
        }
    } else {
        Vec::new()
    };
    match (method, seg) {
        (&Method::GET, ["ui", "assets", "style.css"]) => {
            return asset(pages::STYLE, "text/css; charset=utf-8");
        }
        (&Method::GET, ["ui", "assets", "app.js"]) => {
            return asset(pages::SCRIPT, "text/javascript; charset=utf-8");
        }
        (&Method::GET, ["ui", "login"]) => return html(200, pages::login_page(lang, None)),
        (&Method::POST, ["ui", "login"]) => return login(app, &form, lang, now).await,
        (&Method::GET, ["ui", "launch"]) => return launch(app, pairs, lang, now),
        _ => {}
    }
    let (Some(id), Some(session)) = (id, session) else {
        return see_other("/ui/login");
    };
    if *method == Method::POST && param(&form, "csrf").as_deref() != Some(&session.csrf) {
        return page(
            lang,
            403,
            "the form has expired: reload the page and try again",
        );
    }
    let ctx = Ctx {
        svc: app.service.clone(),
        app: app.clone(),
        id,
        s: session,
        now,
        form,
    };
    let lang = ctx.s.lang;
    let result = match (method, seg) {
        (&Method::GET, ["ui"]) => Ok(see_other(home(&ctx.s.principal))),
        (&Method::POST, ["ui", "logout"]) => {
            app.auth.sessions.end(&ctx.id);
            let mut r = see_other("/ui/login");
            set_cookie(
                &mut r,
                &format!("{COOKIE}=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict"),
            );
            return r;
        }
        (&Method::POST, ["ui", "lang"]) => {
            let lang = ctx
                .field("lang")
                .and_then(|l| Lang::from_code(&l))
                .unwrap_or(lang);
            app.auth.sessions.update(&ctx.id, |s| s.lang = lang);
            Ok(see_other(home(&ctx.s.principal)))
        }
        (&Method::GET, ["ui", "doctor"]) => ctx.find(200, None).await,
        (&Method::POST, ["ui", "doctor", "find"]) => ctx.found().await,
        (&Method::GET, ["ui", "doctor", "record"]) => ctx.record(false).await,
        (&Method::GET, ["ui", "doctor", "record", "print"]) => ctx.record(true).await,
        (&Method::POST, ["ui", "doctor", "break-glass"]) => ctx.break_glass().await,
        (&Method::POST, ["ui", "doctor", "consent"]) => ctx.capture_consent().await,
        (&Method::GET, ["ui", "counter"]) => Ok(html(
            200,
            patient::counter(&ctx.frame(Nav::Counter).get(), None),
        )),
        (&Method::POST, ["ui", "counter"]) => ctx.counter().await,
        (&Method::GET, ["ui", "patient"]) => ctx.patient_home().await,
        (&Method::GET, ["ui", "patient", "consent"]) => ctx.patient_consents(None).await,
        (&Method::POST, ["ui", "patient", "consent"]) => ctx.patient_consent().await,
        (&Method::GET, ["ui", "patient", "access"]) => ctx.patient_access().await,
        (&Method::GET, ["ui", "patient", "print"]) => ctx.patient_print().await,
        (&Method::GET, ["ui", "audit"]) => ctx.overview(None).await,
        (&Method::POST, ["ui", "audit", "verify"]) => ctx.verify().await,
        (&Method::GET | &Method::POST, ["ui", "audit", "log"]) => ctx.log().await,
        (&Method::GET, ["ui", "audit", "anomalies"]) => ctx.anomalies().await,
        (&Method::GET, ["ui", "audit", "break-glass"]) => ctx.glass_queue().await,
        (&Method::POST, ["ui", "audit", "review"]) => ctx.review().await,
        (&Method::GET, ["ui", "audit", "quality"]) => ctx.quality().await,
        (&Method::GET, ["ui", "audit", "identity"]) => ctx.identity().await,
        _ => return page(lang, 404, lang.t("没有这个页面", "there is no such page")),
    };
    match result {
        Ok(r) => r,
        Err(e) => failure(lang, e),
    }
}

/// `POST /auth/launch` (API, bearer token): a hospital's system asks for a link that opens
/// the pages as its practitioner with `patient` in context. The link carries an opaque,
/// single-use code, never the patient.
pub(crate) fn launch_link(
    app: &AppState,
    caller: Caller,
    form: &[(String, String)],
    base: &str,
) -> Result<Response, ApiError> {
    let (Some(_), Caller::User(principal)) = (caller.clinician(), &caller) else {
        return Err(
            Error::Forbidden("launch links are for clinicians of a hospital".into()).into(),
        );
    };
    let principal = principal.clone();
    let patient = param(form, "patient")
        .map(|p| p.trim_start_matches("Patient/").to_string())
        .filter(|p| fhir::is_valid_id(p))
        .ok_or_else(|| Error::BadOperation("launch needs patient=Patient/{id}".into()))?;
    let code = app
        .auth
        .sessions
        .launch(principal, patient, crate::authn::now());
    Ok(crate::response::json_response(
        StatusCode::OK,
        &serde_json::json!({"url": format!("{base}/ui/launch?code={code}"), "expires_in": 120}),
    ))
}

struct Ctx {
    svc: Service,
    app: Arc<AppState>,
    id: String,
    s: Session,
    now: i64,
    form: Vec<(String, String)>,
}

type Page = Result<Response, ApiError>;

impl Ctx {
    fn lang(&self) -> Lang {
        self.s.lang
    }

    /// The caller every service call is made as: the session's principal, reading for an
    /// emergency once the doctor has broken the glass for the patient in context.
    fn caller(&self) -> Caller {
        let mut p = self.s.principal.clone();
        if self.s.emergency {
            p.caller.purpose = policy::Purpose::Emergency;
        }
        Caller::User(p)
    }

    fn who(&self) -> String {
        let l = self.lang();
        let p = &self.s.principal;
        let role = match p.caller.role {
            policy::Role::Doctor => l.t("医生", "Doctor"),
            policy::Role::Nurse => l.t("护士", "Nurse"),
            policy::Role::Pharmacist => l.t("药师", "Pharmacist"),
            policy::Role::Patient => l.t("患者", "Patient"),
            policy::Role::Auditor => l.t("审计员", "Auditor"),
            policy::Role::Admin => l.t("管理员", "Administrator"),
            policy::Role::Researcher => l.t("研究人员", "Researcher"),
        };
        let mut who = format!("{role} · {}", p.subject);
        if let Some(org) = &p.caller.organization {
            who.push_str(" · ");
            who.push_str(org.trim_start_matches("Organization/"));
        }
        if let Some(staff) = &self.s.staff {
            who = format!(
                "{} {} · {}",
                l.t("窗口代办：", "Counter, acting for a patient:"),
                staff.subject,
                who
            );
        }
        who
    }

    fn frame(&self, nav: Nav) -> FrameOwned {
        FrameOwned {
            lang: self.lang(),
            who: self.who(),
            nav,
            csrf: self.s.csrf.clone(),
        }
    }

    fn field(&self, name: &str) -> Option<String> {
        param(&self.form, name)
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(Service, Caller) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (svc, caller) = (self.svc.clone(), self.caller());
        blocking(move || f(svc, caller)).await
    }

    async fn find(&self, status: u16, problem: Option<&str>) -> Page {
        let hospitals = self.call(|svc, _| svc.hospitals()).await?;
        let f = self.frame(Nav::Doctor);
        Ok(html(status, doctor::find(&f.get(), &hospitals, problem)))
    }

    /// Finds the person by resident ID or record number, and puts their registration at
    /// the doctor's hospital (else the first) in context.
    async fn found(&self) -> Page {
        let l = self.lang();
        let value = self.field("value").unwrap_or_default().trim().to_string();
        let system = match self.field("kind").as_deref() {
            Some("mrn") => format!(
                "{}{}",
                terminology::systems::MRN_PREFIX,
                self.field("hospital").unwrap_or_default()
            ),
            _ => terminology::systems::RESIDENT_ID.to_string(),
        };
        if value.is_empty() {
            return self
                .find(400, Some(l.t("请输入号码。", "Enter a number.")))
                .await;
        }
        let own = self.s.principal.caller.organization.as_deref().map(|o| {
            format!(
                "{}{}",
                terminology::systems::MRN_PREFIX,
                o.trim_start_matches("Organization/")
            )
        });
        let source = format!("{system}|{value}");
        let found = self
            .call(move |svc, caller| svc.pix(&caller, &source, &[]))
            .await;
        let parameters = match found {
            Ok(p) => p,
            Err(ApiError::Service(Error::IdentifierNotFound)) => {
                return self
                    .find(
                        404,
                        Some(l.t("没有找到该号码的患者。", "No patient has that number.")),
                    )
                    .await;
            }
            Err(e) => return Err(e),
        };
        let Some(patient) = choose_registration(&parameters, own.as_deref()) else {
            return self
                .find(
                    404,
                    Some(l.t("没有找到该号码的患者。", "No patient has that number.")),
                )
                .await;
        };
        self.app.auth.sessions.update(&self.id, |s| {
            s.patient = Some(patient);
            s.emergency = false;
        });
        Ok(see_other("/ui/doctor/record"))
    }

    async fn record(&self, print: bool) -> Page {
        let Some(patient) = self.s.patient.clone() else {
            return Ok(see_other("/ui/doctor"));
        };
        let now = self.now;
        let read = self
            .call(
                move |svc, caller| match svc.shared_record(&caller, &patient, now) {
                    Ok(record) => {
                        let names = svc.hospitals()?;
                        let who = svc.registration(&caller, &patient)?;
                        Ok(Ok((record, names, who)))
                    }
                    Err(Error::Forbidden(why)) => Ok(Err(why)),
                    Err(e) => Err(e),
                },
            )
            .await?;
        let f = self.frame(Nav::Doctor);
        let (record, names, who) = match read {
            Ok(r) => r,
            Err(why) => return Ok(html(403, doctor::refused(&f.get(), &why))),
        };
        let items = parsed(&record.items, &names);
        let banners = banners(&self.svc.view_cards(&items, now));
        let mut view = pages::view::Record::from_items(&items);
        identify(&mut view, &who);
        let opened = doctor::Opened {
            record: &view,
            basis: &record.basis,
            registrations: record.registrations.len(),
            withheld: &record.withheld,
            banners: &banners,
        };
        Ok(html(
            200,
            if print {
                doctor::print(self.lang(), &opened, &self.who(), &beijing(self.now * 1000))
            } else {
                doctor::record(&f.get(), &opened)
            },
        ))
    }

    async fn break_glass(&self) -> Page {
        let Some(patient) = self.s.patient.clone() else {
            return Ok(see_other("/ui/doctor"));
        };
        let reason = self.field("reason").unwrap_or_default();
        let body = serde_json::json!({"resourceType": "Parameters",
            "parameter": [{"name": "reason", "valueString": reason}]})
        .to_string();
        let now = self.now;
        self.call(move |svc, caller| svc.break_glass(&caller, &patient, body.as_bytes(), now))
            .await?;
        self.app
            .auth
            .sessions
            .update(&self.id, |s| s.emergency = true);
        Ok(see_other("/ui/doctor/record"))
    }

    /// The doctor records the patient's consent, with the signature or the scan.
    async fn capture_consent(&self) -> Page {
        let Some(patient) = self.s.patient.clone() else {
            return Ok(see_other("/ui/doctor"));
        };
        let l = self.lang();
        let evidence = ["scan", "signature"]
            .into_iter()
            .filter_map(|k| self.field(k))
            .find_map(|d| data_url(&d));
        let Some((media, bytes)) = evidence else {
            return Err(Error::BadOperation(
                l.t(
                    "请让患者签名或上传已签署的同意书扫描件。",
                    "the patient's signature or the signed form's scan is needed",
                )
                .into(),
            )
            .into());
        };
        let title = if media == "image/png" && self.field("scan").is_none_or(|s| s.is_empty()) {
            "电子手写签名"
        } else {
            "区域医疗信息共享知情同意书（扫描件）"
        };
        let decision = service::Consenting {
            permit: true,
            excluded: Vec::new(),
            sensitive: Vec::new(),
            evidence: (media, title.to_string(), bytes),
        };
        let now = self.now;
        self.call(move |svc, caller| svc.record_consent(&caller, &patient, &decision, now))
            .await?;
        Ok(see_other("/ui/doctor/record"))
    }

    /// Counter mode starts: the staff member checked the ID card.
    async fn counter(&self) -> Page {
        let l = self.lang();
        let resident = self.field("resident").unwrap_or_default();
        if self.field("checked").as_deref() != Some("yes") {
            let f = self.frame(Nav::Counter);
            return Ok(html(
                400,
                patient::counter(
                    &f.get(),
                    Some(l.t("请先核对身份证件。", "Check the ID card first.")),
                ),
            ));
        }
        let staff = self.s.principal.clone();
        match self
            .call(move |svc, caller| svc.act_for(&caller, &resident))
            .await
        {
            Ok(principal) => {
                self.app.auth.sessions.update(&self.id, |s| {
                    s.staff = Some(staff);
                    s.principal = principal;
                    s.patient = None;
                });
                Ok(see_other("/ui/patient"))
            }
            Err(ApiError::Service(Error::IdentifierNotFound)) => {
                let f = self.frame(Nav::Counter);
                Ok(html(
                    404,
                    patient::counter(
                        &f.get(),
                        Some(l.t(
                            "没有找到该身份证号的患者。",
                            "No patient has that resident ID.",
                        )),
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// The patient's first registration: their record, log and consents hang off it.
    async fn own_patient(&self) -> Result<String, ApiError> {
        let mine = self.call(|svc, caller| svc.own_patients(&caller)).await?;
        mine.first()
            .map(|p| p.trim_start_matches("Patient/").to_string())
            .ok_or_else(|| {
                Error::Forbidden("no registration is linked to this account".into()).into()
            })
    }

    async fn own_record(
        &self,
    ) -> Result<
        (
            service::SharedRecord,
            pages::view::Record,
            Vec<patient::Access>,
        ),
        ApiError,
    > {
        let patient = self.own_patient().await?;
        let now = self.now;
        let (record, names, log, who) = self
            .call(move |svc, caller| {
                let record = svc.shared_record(&caller, &patient, now)?;
                let log = svc.access_log(&caller, &patient, 200)?;
                let who = svc.registration(&caller, &patient)?;
                Ok((record, svc.hospitals()?, log, who))
            })
            .await?;
        let mut view = pages::view::Record::from_items(&parsed(&record.items, &names));
        identify(&mut view, &who);
        let rows = log.iter().map(|a| access_row(self.lang(), a)).collect();
        Ok((record, view, rows))
    }

    async fn patient_home(&self) -> Page {
        let (record, view, rows) = self.own_record().await?;
        let f = self.frame(Nav::Patient);
        let opened = opened(&record, &view);
        Ok(html(200, patient::home(&f.get(), &opened, &rows)))
    }

    async fn patient_print(&self) -> Page {
        let (record, view, rows) = self.own_record().await?;
        let opened = opened(&record, &view);
        Ok(html(
            200,
            patient::print(self.lang(), &opened, &rows, &beijing(self.now * 1000)),
        ))
    }

    async fn patient_access(&self) -> Page {
        let patient = self.own_patient().await?;
        let log = self
            .call(move |svc, caller| svc.access_log(&caller, &patient, 500))
            .await?;
        let rows: Vec<patient::Access> = log.iter().map(|a| access_row(self.lang(), a)).collect();
        let f = self.frame(Nav::Patient);
        Ok(html(200, patient::accesses(&f.get(), &rows)))
    }

    async fn patient_consents(&self, done: Option<&str>) -> Page {
        let patient = self.own_patient().await?;
        let (found, names) = self
            .call(move |svc, caller| Ok((svc.consents(&caller, &patient)?, svc.hospitals()?)))
            .await?;
        let name = |org: &str| hospital_name(&names, org);
        let rows: Vec<patient::Consent> = found
            .iter()
            .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
            .map(|c| {
                let fact = policy::consent_fact(&c).ok().flatten();
                patient::Consent {
                    date: c["dateTime"]
                        .as_str()
                        .unwrap_or("—")
                        .chars()
                        .take(10)
                        .collect(),
                    state: match fact.as_ref().map(|f| f.state) {
                        Some(policy::ConsentState::Permit) => "permit",
                        Some(policy::ConsentState::Deny) => "deny",
                        _ => "withdrawn",
                    }
                    .to_string(),
                    recorded_at: c
                        .pointer("/organization/0/reference")
                        .and_then(Value::as_str)
                        .map_or_else(
                            || {
                                self.lang()
                                    .t("本人在线", "online, by the patient")
                                    .to_string()
                            },
                            name,
                        ),
                    excluded: fact
                        .as_ref()
                        .map(|f| f.excluded.iter().map(|o| name(o)).collect())
                        .unwrap_or_default(),
                    expires: c
                        .pointer("/provision/period/end")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            })
            .collect();
        let f = self.frame(Nav::Patient);
        Ok(html(200, patient::consents(&f.get(), &rows, &names, done)))
    }

    /// The patient's decision: share (perhaps not with some hospitals) or refuse.
    async fn patient_consent(&self) -> Page {
        let l = self.lang();
        let permit = self.field("decision").as_deref() == Some("permit");
        if permit && self.field("read").as_deref() != Some("yes") {
            return Err(Error::BadOperation(
                l.t("请先阅读并确认。", "read and confirm first").into(),
            )
            .into());
        }
        let excluded: Vec<String> = self
            .form
            .iter()
            .filter(|(k, _)| k == "exclude")
            .map(|(_, v)| format!("Organization/{v}"))
            .collect();
        let statement = format!(
            "{}\nexcluded: {}\nconfirmed in Yilian's pages by {} at {}",
            if permit {
                "I agree that doctors of the region's hospitals may read my records from other hospitals when treating me."
            } else {
                "I refuse sharing my records among the region's hospitals."
            },
            excluded.join(", "),
            self.who(),
            fhir::time::format_instant(self.now * 1000),
        );
        let sensitive: Vec<policy::Category> = self
            .form
            .iter()
            .filter(|(k, _)| k == "sensitive")
            .filter_map(|(_, v)| match v.as_str() {
                "mental" => Some(policy::Category::MentalHealth),
                "hiv" => Some(policy::Category::HivSti),
                "reproductive" => Some(policy::Category::Reproductive),
                "genetic" => Some(policy::Category::Genetic),
                _ => None,
            })
            .collect();
        let decision = service::Consenting {
            permit,
            excluded,
            sensitive,
            evidence: (
                "text/plain".into(),
                "本人在线确认的声明 statement confirmed online".into(),
                statement.into_bytes(),
            ),
        };
        let patient = self.own_patient().await?;
        let now = self.now;
        self.call(move |svc, caller| svc.record_consent(&caller, &patient, &decision, now))
            .await?;
        self.patient_consents(Some(l.t(
            "已保存，下一次调阅起生效。",
            "Saved: it applies from the next read.",
        )))
        .await
    }

    /// The last 30 days, in milliseconds since the epoch (what the audit log's views, the
    /// reminders' statistics and the feeds' report take), and as text.
    fn period(&self) -> (i64, i64, String) {
        let (from, to) = ((self.now - 30 * 86_400) * 1000, (self.now + 60) * 1000);
        let text = format!("{} – {}", beijing(from), beijing(to));
        (from, to, text)
    }

    async fn overview(&self, verified: Option<Result<(u64, u64, f64), String>>) -> Page {
        let (from, to, period) = self.period();
        let (head, stats, rules, names) = self
            .call(move |svc, caller| {
                let stats = svc.audit_stats(&caller, from, to)?;
                let rules = svc.cds_stats(&caller, from, to)?;
                Ok((svc.tree_head(None)?, stats, rules, svc.hospitals()?))
            })
            .await?;
        let name = |org: &str| hospital_name(&names, org);
        let hospitals: Vec<auditor::HospitalStats> = stats
            .iter()
            .map(|s| auditor::HospitalStats {
                hospital: name(&s.organization),
                records: s.records,
                shared_views: s.shared_views,
                patients: s.patients,
                break_glass: s.break_glass,
                refused: s.refused,
            })
            .collect();
        let rules: Vec<auditor::RuleStats> = rules
            .into_iter()
            .map(|(rule, s)| auditor::RuleStats {
                rule,
                fired: s.fired,
                accepted: s.accepted,
                overridden: s.overridden,
                saved: s.saved,
            })
            .collect();
        let head = auditor::Head {
            size: head.head.size,
            at: beijing(head.head.timestamp),
            root: head.head.root.iter().map(|b| format!("{b:02x}")).collect(),
            verified,
        };
        let f = self.frame(Nav::Auditor);
        Ok(html(
            200,
            auditor::overview(&f.get(), &head, &period, &hospitals, &rules),
        ))
    }

    async fn verify(&self) -> Page {
        let outcome = self
            .call(|svc, caller| {
                let started = std::time::Instant::now();
                Ok(match svc.verify_log(&caller)? {
                    Ok(r) => Ok((r.records, r.heads, started.elapsed().as_secs_f64())),
                    Err(p) => Err(p.to_string()),
                })
            })
            .await?;
        self.overview(Some(outcome)).await
    }

    async fn log(&self) -> Page {
        let l = self.lang();
        let asked: Vec<(String, String)> = ["patient", "agent", "organization", "from", "to"]
            .into_iter()
            .filter_map(|k| {
                self.field(k)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (k.to_string(), v.trim().to_string()))
            })
            .collect();
        let mut pairs: Vec<(String, String)> = asked
            .iter()
            .map(|(k, v)| match k.as_str() {
                "from" => ("date".to_string(), format!("ge{v}")),
                "to" => ("date".to_string(), format!("le{v}")),
                _ => (k.clone(), v.clone()),
            })
            .collect();
        pairs.push(("_count".into(), "100".into()));
        let found = self
            .call(move |svc, caller| svc.audit_events(&caller, &pairs))
            .await;
        let f = self.frame(Nav::Auditor);
        let (rows, problem) = match found {
            Ok((rows, _)) => (rows, None),
            Err(ApiError::Service(e @ Error::BadSearch(_))) => (Vec::new(), Some(e.to_string())),
            Err(e) => return Err(e),
        };
        let rows: Vec<auditor::Row> = rows.iter().map(|(p, r)| audit_row(l, *p, r)).collect();
        Ok(html(
            200,
            auditor::log(&f.get(), &asked, &rows, problem.as_deref()),
        ))
    }

    async fn anomalies(&self) -> Page {
        let (from, to, period) = self.period();
        let rules = audit::Rules::default();
        let found = self
            .call(move |svc, caller| svc.anomalies(&caller, from, to, &rules))
            .await?;
        let rows: Vec<auditor::Anomaly> = found
            .iter()
            .map(|a| auditor::Anomaly {
                position: a.anomaly.position,
                at: beijing(a.anomaly.at),
                kind: a.anomaly.kind.code().to_string(),
                agent: a.anomaly.agent.clone(),
                hospital: a.anomaly.organization.clone().unwrap_or_default(),
                patient: a.anomaly.patient.clone().unwrap_or_default(),
                detail: a.anomaly.detail.clone().unwrap_or_default(),
                review: a.review.as_ref().map(|(_, finding)| finding.clone()),
            })
            .collect();
        let f = self.frame(Nav::Auditor);
        Ok(html(200, auditor::anomalies(&f.get(), &period, &rows)))
    }

    async fn glass_queue(&self) -> Page {
        let tasks = self
            .call(|svc, caller| svc.break_glass_queue(&caller))
            .await?;
        let rows: Vec<auditor::Glass> = tasks
            .iter()
            .filter_map(|s| {
                let t: Value = serde_json::from_slice(&s.body).ok()?;
                let text = |p: &str| {
                    t.pointer(p)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                Some(auditor::Glass {
                    task: s.id.clone(),
                    at: text("/authoredOn"),
                    doctor: text("/requester/reference"),
                    hospital: text("/owner/reference"),
                    patient: text("/for/reference"),
                    reason: text("/reasonCode/text"),
                })
            })
            .collect();
        let f = self.frame(Nav::Auditor);
        Ok(html(200, auditor::break_glass(&f.get(), &rows)))
    }

    async fn review(&self) -> Page {
        let position: u64 = self
            .field("position")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let finding = self.field("finding").unwrap_or_default();
        let note = self.field("note").unwrap_or_default();
        let task = self.field("task").filter(|t| !t.is_empty());
        let back = if task.is_some() {
            "/ui/audit/break-glass"
        } else {
            "/ui/audit/anomalies"
        };
        self.call(move |svc, caller| {
            svc.review(&caller, position, &finding, &note, task.as_deref())
        })
        .await?;
        Ok(see_other(back))
    }

    async fn quality(&self) -> Page {
        let (from, to, _) = self.period();
        let (report, unmapped) = self
            .call(move |svc, caller| {
                Ok((
                    svc.feed_quality(&caller, from, to)?,
                    svc.unmapped_codes(&caller, None)?,
                ))
            })
            .await?;
        let f = self.frame(Nav::Auditor);
        Ok(html(200, auditor::quality(&f.get(), &report, &unmapped)))
    }

    async fn identity(&self) -> Page {
        let tasks = self
            .call(|svc, caller| svc.identity_reviews(&caller))
            .await?;
        let tasks: Vec<Value> = tasks
            .iter()
            .filter_map(|s| serde_json::from_slice(&s.body).ok())
            .collect();
        let f = self.frame(Nav::Auditor);
        Ok(html(200, auditor::identity(&f.get(), &tasks)))
    }
}

/// A frame whose strings the context owns.
struct FrameOwned {
    lang: Lang,
    who: String,
    nav: Nav,
    csrf: String,
}

impl FrameOwned {
    fn get(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            who: &self.who,
            nav: self.nav,
            csrf: &self.csrf,
        }
    }
}

async fn login(app: &Arc<AppState>, form: &[(String, String)], lang: Lang, now: i64) -> Response {
    let lang = param(form, "lang")
        .and_then(|l| Lang::from_code(&l))
        .unwrap_or(lang);
    let (user, password) = (
        param(form, "username").unwrap_or_default(),
        param(form, "password").unwrap_or_default(),
    );
    let (principal, attempt) = app.auth.password(&user, &password);
    let svc = app.service.clone();
    let recorded = blocking(move || {
        svc.record_sign_in(
            attempt.caller.as_ref(),
            &attempt.who,
            attempt.refused.as_deref(),
        )
    })
    .await;
    if let Err(e) = recorded {
        return failure(lang, e);
    }
    let Some(principal) = principal else {
        return html(
            401,
            pages::login_page(
                lang,
                Some(lang.t(
                    "用户名或密码不正确。",
                    "The user name or password is wrong.",
                )),
            ),
        );
    };
    let start = home(&principal);
    let id = app.auth.sessions.start(principal, lang, now);
    let mut r = see_other(start);
    set_cookie(&mut r, &session_cookie(app, &id));
    set_cookie(
        &mut r,
        &format!(
            "{LANG_COOKIE}={}; Path=/ui; SameSite=Lax; Max-Age=31536000",
            if lang == Lang::En { "en" } else { "zh" }
        ),
    );
    r
}

fn launch(app: &Arc<AppState>, pairs: &[(String, String)], lang: Lang, now: i64) -> Response {
    let Some((principal, patient)) =
        param(pairs, "code").and_then(|c| app.auth.sessions.redeem(&c, now))
    else {
        return page(
            lang,
            401,
            lang.t(
                "启动链接无效或已过期。",
                "The launch link is not valid or has expired.",
            ),
        );
    };
    let id = app.auth.sessions.start(principal, lang, now);
    app.auth.sessions.update(&id, |s| s.patient = Some(patient));
    let mut r = see_other("/ui/doctor/record");
    set_cookie(&mut r, &session_cookie(app, &id));
    r
}

/// Where a principal's pages start.
fn home(p: &auth::Principal) -> &'static str {
    match p.caller.role {
        policy::Role::Patient => "/ui/patient",
        policy::Role::Auditor | policy::Role::Admin => "/ui/audit",
        _ => "/ui/doctor",
    }
}

/// The registration to open among what `$ihe-pix` answered: the one at the caller's
/// hospital (its record number system is `own`), else the first.
fn choose_registration(parameters: &Value, own: Option<&str>) -> Option<String> {
    let mut groups: Vec<(Vec<String>, String)> = Vec::new();
    let mut systems = Vec::new();
    for p in parameters["parameter"].as_array().into_iter().flatten() {
        match p["name"].as_str() {
            Some("targetIdentifier") => systems.push(
                p["valueIdentifier"]["system"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            Some("targetId") => {
                let id = p["valueReference"]["reference"]
                    .as_str()
                    .unwrap_or_default();
                groups.push((
                    std::mem::take(&mut systems),
                    id.trim_start_matches("Patient/").to_string(),
                ));
            }
            _ => {}
        }
    }
    groups
        .iter()
        .find(|(s, _)| own.is_some_and(|o| s.iter().any(|x| x == o)))
        .or(groups.first())
        .map(|(_, id)| id.clone())
}

/// A hospital's name from the directory, by `Organization/{id}`; its id when unnamed.
fn hospital_name(names: &[(String, String)], org: &str) -> String {
    let id = org.trim_start_matches("Organization/");
    names
        .iter()
        .find(|(i, _)| i == id)
        .map_or(id.to_string(), |(_, n)| n.clone())
}

/// The shown items parsed once, each with its hospital's name: what the page's panels
/// and its reminders both read.
fn parsed(
    items: &[service::SharedItem],
    names: &[(String, String)],
) -> Vec<(Value, Option<String>)> {
    items
        .iter()
        .filter_map(|i| {
            let v = serde_json::from_slice(&i.stored.body).ok()?;
            Some((v, i.source.as_deref().map(|o| hospital_name(names, o))))
        })
        .collect()
}

/// The page's name, sex and birth date from the registration in context.
fn identify(view: &mut pages::view::Record, registration: &service::Stored) {
    let resource = serde_json::from_slice(&registration.body).unwrap_or(Value::Null);
    let who = pages::view::Record::from_items(&[(resource, None)]);
    view.name = who.name;
    view.gender = who.gender;
    view.birth = who.birth;
}

fn opened<'a>(
    record: &'a service::SharedRecord,
    view: &'a pages::view::Record,
) -> doctor::Opened<'a> {
    doctor::Opened {
        record: view,
        basis: &record.basis,
        registrations: record.registrations.len(),
        withheld: &record.withheld,
        banners: &[],
    }
}

fn banners(cards: &[Value]) -> Vec<doctor::Banner> {
    let mut out: Vec<doctor::Banner> = cards
        .iter()
        .map(|c| doctor::Banner {
            indicator: c["indicator"].as_str().unwrap_or("info").to_string(),
            summary: c["summary"].as_str().unwrap_or_default().to_string(),
            detail: c["detail"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let rank = |b: &doctor::Banner| match b.indicator.as_str() {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    };
    out.sort_by_key(rank);
    out
}

fn access_row(l: Lang, a: &service::Access) -> patient::Access {
    let r = &a.record;
    patient::Access {
        at: beijing(r.at),
        hospital: a
            .hospital
            .clone()
            .or_else(|| r.organization.clone())
            .unwrap_or_else(|| "—".into()),
        department: a.department.clone(),
        practitioner: a.practitioner.clone(),
        action: match r.action {
            audit::Action::Shared => l.t("调阅共享记录", "read the shared record"),
            audit::Action::BreakGlass => l.t("紧急授权", "broke the glass"),
            audit::Action::Export => l.t("导出", "exported"),
            audit::Action::Reminder => l.t("用药/检查提醒", "reminders"),
            _ => l.t("查看", "read"),
        }
        .to_string(),
        purpose: r.purpose.clone().unwrap_or_default(),
        break_glass: r.flags & audit::flag::BREAK_GLASS != 0
            || r.action == audit::Action::BreakGlass,
        refused: r.outcome != audit::Outcome::Success,
    }
}

fn audit_row(l: Lang, position: u64, r: &audit::Record) -> auditor::Row {
    let mut flags = Vec::new();
    if r.flags & audit::flag::BREAK_GLASS != 0 {
        flags.push("break-glass");
    }
    if r.flags & audit::flag::NO_RELATIONSHIP != 0 {
        flags.push("no-relationship");
    }
    if r.flags & audit::flag::STAFF != 0 {
        flags.push("staff");
    }
    auditor::Row {
        position,
        at: beijing(r.at),
        agent: r.agent.clone(),
        role: r.role.clone().unwrap_or_default(),
        hospital: r.organization.clone().unwrap_or_default(),
        patient: r.patient.clone().unwrap_or_default(),
        action: r.action.code().to_string(),
        purpose: r.purpose.clone().unwrap_or_default(),
        outcome: match r.outcome {
            audit::Outcome::Success => l.t("成功", "success"),
            audit::Outcome::Refused => l.t("拒绝", "refused"),
            audit::Outcome::Failed => l.t("失败", "failed"),
        }
        .to_string(),
        flags,
    }
}

/// Milliseconds since the epoch as Beijing time, to the minute (the region's clock).
fn beijing(ms: i64) -> String {
    let s = fhir::time::format_instant(ms + 8 * 3_600_000);
    format!(
        "{} {}",
        s.get(..10).unwrap_or_default(),
        s.get(11..16).unwrap_or_default()
    )
}

/// A `data:` URL's media type and bytes (the signature pad's PNG, a scan).
fn data_url(d: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let rest = d.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media = meta.strip_suffix(";base64")?;
    if !["image/png", "image/jpeg", "application/pdf"].contains(&media) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    (!bytes.is_empty()).then(|| (media.to_string(), bytes))
}

fn failure(lang: Lang, e: ApiError) -> Response {
    match e {
        ApiError::Service(Error::Unauthenticated(_)) => see_other("/ui/login"),
        ApiError::Service(e) => {
            let d = e.describe();
            // A server error's cause is logged by the service; the page says only that.
            let message = if d.status >= 500 {
                lang.t(
                    "服务器内部错误，请稍后重试。",
                    "Something failed on the server: try again later.",
                )
                .to_string()
            } else {
                e.to_string()
            };
            page(lang, d.status, &message)
        }
        ApiError::Http {
            status, message, ..
        } => page(lang, status, &message),
    }
}

fn page(lang: Lang, status: u16, message: &str) -> Response {
    html(status, pages::error_page(lang, status, message))
}

fn html(status: u16, markup: pages::Markup) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        markup.into_string(),
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Patient data: never cached, never framed, no inline script, forms only to us.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn asset(body: &'static str, media: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn set_cookie(r: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn session_cookie(app: &AppState, id: &str) -> String {
    let secure = app
        .base_url
        .as_deref()
        .is_some_and(|b| b.starts_with("https://"));
    format!(
        "{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A POST's `Origin`, when the browser sends one, must be this server.
fn same_origin(app: &AppState, headers: &HeaderMap) -> bool {
    let origin = header_str(headers, "origin").unwrap_or_default();
    if origin.is_empty() {
        return true;
    }
    let host = header_str(headers, "host").unwrap_or_default();
    let ours = app
        .base_url
        .as_deref()
        .map(|b| {
            let rest = b.split_once("://").map_or(b, |(_, r)| r);
            rest.split('/').next().unwrap_or_default().to_string()
        })
        .unwrap_or(host);
    origin.split_once("://").is_some_and(|(_, h)| h == ours)
}
