//! The patient's own view: their records, their consents (grant, restrict, withdraw), who
//! read their records, and a printable summary with the access log for people without a
//! smartphone. The counter page is hospital staff acting for a patient after checking the
//! ID card: the same pages, with the staff member named on each.

use crate::doctor::{self, Opened};
use crate::{Frame, Lang};
use maud::{Markup, html};

/// One access to the patient's records, as the log shows it.
#[derive(Clone, Debug)]
pub struct Access {
    pub at: String,
    pub hospital: String,
    pub department: Option<String>,
    pub practitioner: Option<String>,
    pub action: String,
    pub purpose: String,
    pub break_glass: bool,
    pub refused: bool,
}

/// One consent on file.
#[derive(Clone, Debug)]
pub struct Consent {
    pub date: String,
    /// `permit`, `deny` or `withdrawn`.
    pub state: String,
    pub recorded_at: String,
    pub excluded: Vec<String>,
    pub expires: Option<String>,
}

/// The patient's home: their record, as any doctor would see it, and the latest accesses.
pub fn home(f: &Frame, o: &Opened, recent: &[Access]) -> Markup {
    let l = f.lang;
    f.page(
        l.t("我的健康记录", "My health record"),
        html! {
            section.card aria-labelledby="recent-h" {
                h2 id="recent-h" { (l.t("最近谁看过我的记录", "Who read my records lately")) }
                (access_table(l, &recent[..recent.len().min(5)]))
                p { a href="/ui/patient/access" { (l.t("全部访问记录", "The whole access log")) } }
            }
            (doctor::panels(l, o.record))
        },
    )
}

/// The consents on file and the three decisions a patient can make.
pub fn consents(
    f: &Frame,
    on_file: &[Consent],
    hospitals: &[doctor::Hospital],
    done: Option<&str>,
) -> Markup {
    let l = f.lang;
    f.page(
        l.t("我的授权", "My consents"),
        html! {
            @if let Some(d) = done { p.ok role="status" { (d) } }
            section.card aria-labelledby="file-h" {
                h2 id="file-h" { (l.t("已登记的授权", "Consents on file")) }
                @if on_file.is_empty() { p.empty { (l.t("尚无授权记录：适用本区域的默认规则。", "None on file: the region's default applies.")) } } @else {
                    table {
                        thead { tr { th { (l.t("日期", "Date")) } th { (l.t("决定", "Decision")) } th { (l.t("登记机构", "Recorded at")) } th { (l.t("排除的医院", "Hospitals excluded")) } th { (l.t("到期", "Lapses")) } } }
                        tbody { @for c in on_file {
                            tr { td { (c.date) } td { (state(l, &c.state)) } td { (c.recorded_at) } td { (c.excluded.join("、")) } td { (c.expires.as_deref().unwrap_or("—")) } }
                        } }
                    }
                }
            }
            section.card aria-labelledby="grant-h" {
                h2 id="grant-h" { (l.t("同意共享", "Share my records")) }
                form method="post" action="/ui/patient/consent" {
                    (f.csrf_field())
                    input type="hidden" name="decision" value="permit";
                    p { (l.t("我同意本区域医疗机构的医生在诊疗时查看我在其他医院的病历。每次查看都会被记录，我可以随时查看和撤回。",
                        "I agree that doctors of the region's hospitals may read my records from other hospitals when treating me. Every read is recorded; I can see them and withdraw at any time.")) }
                    fieldset {
                        legend { (l.t("不向以下医院共享（可选）", "Do not share with these hospitals (optional)")) }
                        div.columns {
                            @for (id, name) in hospitals {
                                label.check { input type="checkbox" name="exclude" value=(id); (name) }
                            }
                        }
                    }
                    fieldset {
                        legend { (l.t("也共享以下敏感信息（可选，默认不共享）", "Also share these sensitive records (optional; not shared unless ticked)")) }
                        @for (value, zh, en) in [("mental", "精神心理", "mental health"), ("hiv", "艾滋病及性传播疾病", "HIV and sexually transmitted infections"),
                            ("reproductive", "生殖健康", "reproductive health"), ("genetic", "遗传病", "genetic conditions")] {
                            label.check { input type="checkbox" name="sensitive" value=(value); (l.t(zh, en)) }
                        }
                    }
                    label.check { input type="checkbox" name="read" value="yes" required; (l.t("我已阅读并理解上述内容。", "I have read and understood the above.")) }
                    button type="submit" { (l.t("同意共享", "Agree to share")) }
                }
            }
            section.card aria-labelledby="withdraw-h" {
                h2 id="withdraw-h" { (l.t("拒绝或撤回", "Refuse or withdraw")) }
                form method="post" action="/ui/patient/consent" {
                    (f.csrf_field())
                    input type="hidden" name="decision" value="deny";
                    p { (l.t("其他医院的医生将不能查看我的病历（急救时的紧急授权除外，事后会通知我）。",
                        "Doctors of other hospitals will not read my records (except to save my life in an emergency, which I will be told of).")) }
                    button.danger type="submit" { (l.t("拒绝共享", "Refuse sharing")) }
                }
            }
        },
    )
}

/// The whole access log.
pub fn accesses(f: &Frame, rows: &[Access]) -> Markup {
    let l = f.lang;
    f.page(
        l.t("谁看过我的记录", "Who read my records"),
        html! {
            p { (l.t("每一次查看都记录在不可篡改的审计日志中。若有您不认识的访问，请联系监管部门。",
                "Every read is in the tamper-evident audit log. If you do not recognize one, tell the regulator.")) }
            (access_table(l, rows))
        },
    )
}

/// A page for paper: the summary (allergies, diagnoses, medicines) and the access log.
pub fn print(lang: Lang, o: &Opened, rows: &[Access], printed_at: &str) -> Markup {
    let l = lang;
    let r = o.record;
    let frame = Frame {
        lang,
        who: "",
        nav: crate::Nav::None,
        csrf: "",
    };
    frame.page(
        l.t("健康记录摘要与访问记录", "Health summary and access log"),
        html! {
            p.print-note { (l.t("打印时间", "Printed")) ": " (printed_at) }
            @if let Some(n) = &r.name { p { strong { (n) } } }
            h2 { (l.t("过敏", "Allergies")) }
            ul { @for a in &r.allergies { li { (a.text) " · " (a.hospital) " · " (a.date) } } @if r.allergies.is_empty() { li { (l.t("无记录", "None recorded")) } } }
            h2 { (l.t("诊断", "Diagnoses")) }
            ul { @for d in r.diagnoses.iter().take(20) { li { (d.date) " " (d.text) " · " (d.hospital) } } }
            h2 { (l.t("近期用药", "Recent medicines")) }
            ul { @for m in r.medications.iter().take(20) { li { (m.date) " " (m.text) " · " (m.hospital) } } }
            h2 { (l.t("访问记录", "Access log")) }
            (access_table(l, rows))
        },
    )
}

/// Counter mode: staff check the ID card, then act for the patient.
pub fn counter(f: &Frame, problem: Option<&str>) -> Markup {
    let l = f.lang;
    f.page(
        l.t("窗口服务：为患者办理", "Counter: acting for a patient"),
        html! {
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            form.card method="post" action="/ui/counter" {
                (f.csrf_field())
                label for="resident" { (l.t("居民身份证号", "Resident ID card number")) }
                input id="resident" name="resident" required autocomplete="off";
                label.check { input type="checkbox" name="checked" value="yes" required;
                    (l.t("我已核对患者本人及其身份证件。", "I have checked the patient in person against their ID card.")) }
                button type="submit" { (l.t("开始办理", "Start")) }
            }
            p.hint { (l.t("办理期间的每项操作都以您的名义记录，并注明代患者办理。",
                "Everything done here is recorded under your name, as acting for the patient.")) }
        },
    )
}

fn access_table(l: Lang, rows: &[Access]) -> Markup {
    html! {
        @if rows.is_empty() { p.empty { (l.t("暂无他人访问。", "No one else has read your records.")) } } @else {
            table {
                thead { tr { th { (l.t("时间", "When")) } th { (l.t("医院", "Hospital")) } th { (l.t("科室", "Department")) } th { (l.t("医生", "Practitioner")) } th { (l.t("操作", "Action")) } th { (l.t("目的", "Purpose")) } } }
                tbody {
                    @for a in rows {
                        tr class=(if a.break_glass { "glass" } else { "" }) {
                            td { (a.at) } td { (a.hospital) } td { (a.department.as_deref().unwrap_or("—")) }
                            td { (a.practitioner.as_deref().unwrap_or("—")) }
                            td { (a.action) @if a.break_glass { " " strong { (l.t("紧急授权", "break-glass")) } } @if a.refused { " " small { (l.t("（被拒绝）", "(refused)")) } } }
                            td { (a.purpose) }
                        }
                    }
                }
            }
        }
    }
}

fn state(l: Lang, s: &str) -> &'static str {
    match s {
        "permit" => l.t("同意共享", "share"),
        "deny" => l.t("拒绝共享", "do not share"),
        _ => l.t("已撤回", "withdrawn"),
    }
}
