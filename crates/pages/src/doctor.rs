//! The doctor's record browser: find a patient, read the record from every hospital
//! (timeline, diagnoses, operations, medicines, results with trends, allergies, imaging),
//! the reminders as banners, consent capture, break-glass, and a print view.

use crate::view::{Entry, Record};
use crate::{Frame, Lang, chart};
use maud::{Markup, html};
use policy::{Basis, Withheld};

/// A reminder card as the banner shows it.
#[derive(Clone, Debug)]
pub struct Banner {
    /// `critical`, `warning` or `info`.
    pub indicator: String,
    pub summary: String,
    pub detail: String,
}

/// What the record page shows beside the panels.
pub struct Opened<'a> {
    pub record: &'a Record,
    pub basis: &'a Basis,
    /// Registrations gathered (one per hospital the person registered at).
    pub registrations: usize,
    pub withheld: &'a [(Withheld, usize)],
    pub banners: &'a [Banner],
}

/// A hospital a record number can belong to: (id, name).
pub type Hospital = (String, String);

/// Find a patient by resident ID or by a hospital's record number.
pub fn find(f: &Frame, hospitals: &[Hospital], problem: Option<&str>) -> Markup {
    let l = f.lang;
    f.page(
        l.t("查找患者", "Find a patient"),
        html! {
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            form.card method="post" action="/ui/doctor/find" {
                (f.csrf_field())
                fieldset {
                    legend { (l.t("按身份证号或病历号查找", "By resident ID or hospital record number")) }
                    label for="kind" { (l.t("号码类型", "Kind of number")) }
                    select id="kind" name="kind" {
                        option value="resident" { (l.t("居民身份证号", "Resident ID card number")) }
                        option value="mrn" { (l.t("医院病历号", "Hospital record number")) }
                    }
                    label for="hospital" { (l.t("病历号所属医院（按病历号查找时）", "Hospital of the record number (when searching by one)")) }
                    select id="hospital" name="hospital" {
                        @for (id, name) in hospitals { option value=(id) { (name) } }
                    }
                    label for="value" { (l.t("号码", "Number")) }
                    input id="value" name="value" required autocomplete="off" inputmode="text";
                    button type="submit" { (l.t("查找", "Find")) }
                }
            }
            p.hint { (l.t("号码只在表单中提交，不出现在网址里。", "Numbers are sent in the form, never in the address.")) }
        },
    )
}

/// The record of the patient in context.
pub fn record(f: &Frame, o: &Opened) -> Markup {
    let l = f.lang;
    let r = o.record;
    f.page(
        &title(l, r),
        html! {
            (consent_line(l, o))
            (banners(l, o.banners))
            p.actions {
                a.button href="/ui/doctor/record/print" { (l.t("打印", "Print")) }
            }
            (panels(l, r))
        },
    )
}

/// The same record laid out for paper: no navigation, every panel open, who printed it.
pub fn print(lang: Lang, o: &Opened, printed_by: &str, printed_at: &str) -> Markup {
    let l = lang;
    let frame = Frame {
        lang,
        who: printed_by,
        nav: crate::Nav::None,
        csrf: "",
    };
    frame.page(
        &title(l, o.record),
        html! {
            p.print-note { (l.t("打印人", "Printed by")) ": " (printed_by) " · " (printed_at)
                " · " (l.t("本记录仅供诊疗使用，打印已记入审计日志。", "For care only; this print is in the audit log.")) }
            (consent_line(l, o))
            (banners(l, o.banners))
            (panels(l, o.record))
        },
    )
}

/// The record is closed to this doctor: why, and the two ways on (consent, break-glass).
pub fn refused(f: &Frame, why: &str) -> Markup {
    let l = f.lang;
    f.page(
        l.t("无法查看共享记录", "The shared record is closed"),
        html! {
            p.error role="alert" { (why) }
            section.card aria-labelledby="consent-h" {
                h2 id="consent-h" { (l.t("采集患者同意", "Capture the patient's consent")) }
                p { (l.t("请患者阅读知情同意书后，在下方签名，或上传已签署的纸质同意书扫描件。",
                    "Ask the patient to read the consent form, then sign below or upload the signed paper form's scan.")) }
                form method="post" action="/ui/doctor/consent" id="consent-form" {
                    (f.csrf_field())
                    fieldset {
                        legend { (l.t("签名", "Signature")) }
                        canvas id="signature" width="480" height="140" aria-label=(l.t("签名区", "Signature pad")) {}
                        button type="button" id="signature-clear" class="link" { (l.t("清除", "Clear")) }
                        input type="hidden" name="signature" id="signature-data";
                    }
                    label for="scan" { (l.t("或上传纸质同意书扫描件（PDF、JPEG 或 PNG）", "Or upload the paper form's scan (PDF, JPEG or PNG)")) }
                    input type="file" id="scan" accept="application/pdf,image/jpeg,image/png";
                    input type="hidden" name="scan" id="scan-data";
                    label.check {
                        input type="checkbox" name="read" value="yes" required;
                        (l.t("患者已阅读并同意在本区域医疗机构间共享其病历。", "The patient has read the form and agrees to share their records among the region's hospitals."))
                    }
                    button type="submit" { (l.t("保存同意", "Save the consent")) }
                }
            }
            section.card.warn aria-labelledby="bg-h" {
                h2 id="bg-h" { (l.t("紧急授权（破窗）", "Break the glass")) }
                p { (l.t("仅在急救且无法取得同意时使用。授权 72 小时，须说明理由，事后接受审查并通知患者。",
                    "Only in an emergency when consent cannot be had. The grant lasts 72 hours, needs a stated reason, is reviewed afterwards and the patient is told.")) }
                form method="post" action="/ui/doctor/break-glass" {
                    (f.csrf_field())
                    label for="reason" { (l.t("理由", "Reason")) }
                    textarea id="reason" name="reason" required minlength="10" rows="3" {}
                    button.danger type="submit" { (l.t("紧急授权并打开记录", "Break the glass and open the record")) }
                }
            }
        },
    )
}

fn title(l: Lang, r: &Record) -> String {
    let mut t = r
        .name
        .clone()
        .unwrap_or_else(|| l.t("患者", "Patient").to_string());
    if let Some(g) = &r.gender {
        t.push_str(" · ");
        t.push_str(match g.as_str() {
            "male" => l.t("男", "male"),
            "female" => l.t("女", "female"),
            _ => l.t("其他", "other"),
        });
    }
    if let Some(b) = &r.birth {
        t.push_str(" · ");
        t.push_str(b);
    }
    t
}

fn consent_line(l: Lang, o: &Opened) -> Markup {
    let basis = match o.basis {
        Basis::OwnRecord => l.t("本人查看", "the patient's own record").to_string(),
        Basis::Consent(id) => format!(
            "{} ({id})",
            l.t("依据患者同意", "under the patient's consent")
        ),
        Basis::RegionDefault => l
            .t(
                "依据本区域默认共享（患者未拒绝）",
                "under the region's default (the patient has not opted out)",
            )
            .to_string(),
        Basis::BreakGlass => l
            .t(
                "紧急授权：本次访问将被审查并通知患者",
                "break-glass: this access will be reviewed and the patient told",
            )
            .to_string(),
    };
    html! {
        p class=(if matches!(o.basis, Basis::BreakGlass) { "consent glass" } else { "consent" }) {
            strong { (l.t("访问依据", "Access")) ": " } (basis)
            " · " (o.registrations) " " (l.t("个医院登记", "hospital registrations"))
            " · " (o.record.hospitals.len()) " " (l.t("家医院的数据", "hospitals' data"))
        }
        @for (w, n) in o.withheld {
            p.withheld { (withheld(l, *w, *n)) }
        }
    }
}

fn withheld(l: Lang, w: Withheld, n: usize) -> String {
    let why = match w {
        Withheld::PatientRestriction => l.t("患者设置了隐藏", "hidden by the patient"),
        Withheld::SensitiveCategory => l.t(
            "敏感类别，未获单独同意",
            "a sensitive category without its own consent",
        ),
        Withheld::HospitalNotConsented => l.t(
            "来自患者未授权的医院",
            "from a hospital the consent does not name",
        ),
        Withheld::OutsideWindow => l.t("超出共享时限", "older than the sharing window"),
    };
    format!("{n} {}: {why}", l.t("条记录未显示", "items not shown"))
}

fn banners(l: Lang, cards: &[Banner]) -> Markup {
    html! {
        @if !cards.is_empty() {
            section.banners aria-label=(l.t("提醒", "Reminders")) {
                @for c in cards {
                    div class=(format!("banner {}", c.indicator)) role=(if c.indicator == "critical" { "alert" } else { "status" }) {
                        strong { (c.summary) }
                        @if !c.detail.is_empty() { details { summary { (l.t("详情", "Details")) } p { (c.detail) } } }
                    }
                }
            }
        }
    }
}

pub(crate) fn panels(l: Lang, r: &Record) -> Markup {
    html! {
        section.panel aria-labelledby="p-visits" {
            h2 id="p-visits" { (l.t("就诊时间线", "Visits")) " (" (r.visits.len()) ")" }
            (chart::timeline(&r.visits, &r.hospitals))
            table {
                thead { tr { th { (l.t("日期", "Date")) } th { (l.t("医院", "Hospital")) } th { (l.t("科室", "Department")) } th { (l.t("类型", "Kind")) } th { (l.t("诊断", "Diagnosis")) } } }
                tbody {
                    @for v in r.visits.iter().take(60) {
                        tr { td { (v.date) } td { (v.hospital) } td { (v.department) } td { (class(l, &v.class)) } td { (v.reason.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
        div.grid {
            (entries(l, "p-allergies", l.t("过敏", "Allergies"), &r.allergies, true))
            (entries(l, "p-diagnoses", l.t("诊断", "Diagnoses"), &r.diagnoses, false))
            (entries(l, "p-medications", l.t("用药", "Medications"), &r.medications, false))
            (entries(l, "p-procedures", l.t("手术", "Operations"), &r.procedures, false))
            (entries(l, "p-imaging", l.t("检查与影像", "Exams and imaging"), &r.imaging, false))
            (entries(l, "p-documents", l.t("文书", "Documents"), &r.documents, false))
        }
        section.panel aria-labelledby="p-results" {
            h2 id="p-results" { (l.t("检验结果", "Results")) " (" (r.results.len()) ")" }
            @if r.results.is_empty() { p.empty { (l.t("无", "None")) } }
            div.trends {
                @for s in &r.results {
                    figure.trend {
                        figcaption {
                            strong { (s.name) } " " (s.unit)
                            @if let (Some(lo), Some(hi)) = (s.low, s.high) { span.range { " [" (lo) "–" (hi) "]" } }
                            @if s.abnormal() > 0 { " " span.flag { (s.abnormal()) " " (l.t("项异常", "abnormal")) } }
                        }
                        (chart::trend(s))
                        table.compact {
                            @for p in s.points.iter().rev().take(5) {
                                tr class=(if p.flag.is_some() { "abnormal" } else { "" }) {
                                    td { (p.date) } td { (p.shown) @if let Some(f) = &p.flag { " " strong.flag { (f) } } }
                                    td { (p.hospital) } td { @if p.hr { span.hr title=(l.t("检验结果互认", "mutually recognized result")) { "HR" } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn entries(l: Lang, id: &str, heading: &str, rows: &[Entry], highlight: bool) -> Markup {
    html! {
        section.panel aria-labelledby=(id) class=(if highlight && !rows.is_empty() { "panel alert" } else { "panel" }) {
            h2 id=(id) { (heading) " (" (rows.len()) ")" }
            @if rows.is_empty() { p.empty { (l.t("无", "None")) } } @else {
                table {
                    tbody {
                        @for e in rows.iter().take(40) {
                            tr {
                                td.date { (e.date) }
                                td {
                                    (e.text)
                                    @if let Some(c) = &e.code { " " span.code { (c) } }
                                    @if let Some(f) = &e.flag { " " strong.flag { (f) } }
                                    @if e.hr { " " span.hr { "HR" } }
                                    @if let Some(d) = &e.detail { br; small { (d) } }
                                }
                                td { (e.hospital) }
                                td { @if let Some(s) = &e.status { small { (s) } } }
                            }
                        }
                    }
                }
                @if rows.len() > 40 { p.more { (rows.len() - 40) " " (l.t("条更早的记录未列出", "older rows not listed")) } }
            }
        }
    }
}

fn class(l: Lang, code: &str) -> &'static str {
    match code {
        "IMP" | "ACUTE" | "NONAC" => l.t("住院", "inpatient"),
        "EMER" => l.t("急诊", "emergency"),
        "HH" => l.t("家庭", "home"),
        _ => l.t("门诊", "outpatient"),
    }
}
