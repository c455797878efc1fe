//! The auditor's desk: the log's signed head and verification, sharing statistics and
//! savings, the access-log search, anomalies, the break-glass review queue, each hospital's
//! data quality and unmapped codes, and the patient-index review queue.

use crate::{Frame, Lang};
use maud::{Markup, html};
use serde_json::Value;

/// The log's latest signed tree head and, when asked for, a verification.
pub struct Head {
    pub size: u64,
    pub at: String,
    /// The root hash, hex.
    pub root: String,
    /// `Ok((records, signed heads, seconds))` or `Err(the first problem)`.
    pub verified: Option<Result<(u64, u64, f64), String>>,
}

/// Sharing in one hospital over the period.
pub struct HospitalStats {
    pub hospital: String,
    pub records: u64,
    pub shared_views: u64,
    pub patients: u64,
    pub break_glass: u64,
    pub refused: u64,
}

/// One reminder rule over the period.
pub struct RuleStats {
    pub rule: String,
    pub fired: u64,
    pub accepted: u64,
    pub overridden: u64,
    pub saved: f64,
}

/// One audit record as a row.
pub struct Row {
    pub position: u64,
    pub at: String,
    pub agent: String,
    pub role: String,
    pub hospital: String,
    pub patient: String,
    pub action: String,
    pub purpose: String,
    pub outcome: String,
    pub flags: Vec<&'static str>,
}

/// One anomaly, reviewed or not.
pub struct Anomaly {
    pub position: u64,
    pub at: String,
    pub kind: String,
    pub agent: String,
    pub hospital: String,
    pub patient: String,
    pub detail: String,
    pub review: Option<String>,
}

/// One break-glass grant awaiting review.
pub struct Glass {
    pub task: String,
    pub at: String,
    pub doctor: String,
    pub hospital: String,
    pub patient: String,
    pub reason: String,
}

pub fn overview(
    f: &Frame,
    head: &Head,
    period: &str,
    hospitals: &[HospitalStats],
    rules: &[RuleStats],
) -> Markup {
    let l = f.lang;
    // `+ 0.0` turns a sum of nothing (-0.0) into 0.0.
    let saved: f64 = rules.iter().map(|r| r.saved).sum::<f64>() + 0.0;
    f.page(
        l.t("审计总览", "Audit overview"),
        html! {
            section.card aria-labelledby="head-h" {
                h2 id="head-h" { (l.t("审计日志", "The audit log")) }
                p { (l.t("记录数", "Records")) ": " strong { (head.size) } " · "
                    (l.t("签名树头时间", "Signed tree head at")) ": " (head.at) }
                p { (l.t("根哈希", "Root hash")) ": " code.hash { (head.root) } }
                @match &head.verified {
                    Some(Ok((records, heads, secs))) => p.ok role="status" {
                        (l.t("验证通过", "Verified")) ": " (records) " " (l.t("条记录", "records")) ", "
                        (heads) " " (l.t("个签名树头", "signed tree heads")) ", " (format!("{secs:.2}")) " s"
                    },
                    Some(Err(e)) => p.error role="alert" { (l.t("验证失败", "Verification FAILED")) ": " (e) },
                    None => {},
                }
                form method="post" action="/ui/audit/verify" {
                    (f.csrf_field())
                    button type="submit" { (l.t("立即完整验证", "Verify the whole log now")) }
                }
            }
            section.card aria-labelledby="stats-h" {
                h2 id="stats-h" { (l.t("共享统计", "Sharing")) " · " (period) }
                table {
                    thead { tr { th { (l.t("医院", "Hospital")) } th.n { (l.t("审计记录", "Records")) } th.n { (l.t("调阅共享记录", "Shared-record views")) } th.n { (l.t("患者数", "Patients")) } th.n { (l.t("紧急授权", "Break-glass")) } th.n { (l.t("被拒绝", "Refused")) } } }
                    tbody { @for h in hospitals {
                        tr { td { (h.hospital) } td.n { (h.records) } td.n { (h.shared_views) } td.n { (h.patients) } td.n { (h.break_glass) } td.n { (h.refused) } }
                    } }
                }
            }
            section.card aria-labelledby="cds-h" {
                h2 id="cds-h" { (l.t("重复检查、重复用药与过敏提醒", "Repeated tests, repeated medication and allergy reminders")) }
                table {
                    thead { tr { th { (l.t("规则", "Rule")) } th.n { (l.t("触发", "Fired")) } th.n { (l.t("采纳", "Accepted")) } th.n { (l.t("忽略", "Overridden")) } th.n { (l.t("估计节省（元）", "Estimated saving (CNY)")) } } }
                    tbody { @for r in rules {
                        tr { td { (r.rule) } td.n { (r.fired) } td.n { (r.accepted) } td.n { (r.overridden) } td.n { (format!("{:.2}", r.saved)) } }
                    } }
                    tfoot { tr { th colspan="4" { (l.t("合计", "Total")) } th.n { (format!("{saved:.2}")) } } }
                }
            }
        },
    )
}

/// The access-log search: the form, and the rows it found.
pub fn log(f: &Frame, asked: &[(String, String)], rows: &[Row], problem: Option<&str>) -> Markup {
    let l = f.lang;
    let value = |k: &str| {
        asked
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    f.page(
        l.t("访问日志检索", "Access-log search"),
        html! {
            form.card.inline method="post" action="/ui/audit/log" {
                (f.csrf_field())
                label { (l.t("患者（Patient/ID）", "Patient (Patient/id)")) input name="patient" value=(value("patient")) autocomplete="off"; }
                label { (l.t("访问者", "Agent")) input name="agent" value=(value("agent")) autocomplete="off"; }
                label { (l.t("医院（Organization/ID）", "Hospital (Organization/id)")) input name="organization" value=(value("organization")); }
                label { (l.t("起始日期", "From")) input type="date" name="from" value=(value("from")); }
                label { (l.t("截止日期", "To")) input type="date" name="to" value=(value("to")); }
                button type="submit" { (l.t("检索", "Search")) }
            }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            (rows_table(l, rows))
        },
    )
}

pub fn anomalies(f: &Frame, period: &str, rows: &[Anomaly]) -> Markup {
    let l = f.lang;
    f.page(
        l.t("异常访问", "Anomalies"),
        html! {
            p { (period) " · " (rows.len()) " " (l.t("条", "found")) }
            table {
                thead { tr { th { "#" } th { (l.t("时间", "When")) } th { (l.t("规则", "Rule")) } th { (l.t("访问者", "Agent")) } th { (l.t("医院", "Hospital")) } th { (l.t("患者", "Patient")) } th { (l.t("说明", "Detail")) } th { (l.t("审查", "Review")) } } }
                tbody { @for a in rows {
                    tr {
                        td { (a.position) } td { (a.at) } td { (a.kind) } td { (a.agent) } td { (a.hospital) } td { (a.patient) } td { (a.detail) }
                        td { @match &a.review {
                            Some(r) => span.ok { (r) },
                            None => (review_form(f, a.position, None)),
                        } }
                    }
                } }
            }
        },
    )
}

pub fn break_glass(f: &Frame, rows: &[Glass]) -> Markup {
    let l = f.lang;
    f.page(
        l.t("紧急授权审查", "Break-glass review"),
        html! {
            @if rows.is_empty() { p.empty { (l.t("没有待审查的紧急授权。", "No break-glass grant awaits review.")) } }
            @for g in rows {
                section.card.warn {
                    h2 { (g.doctor) " · " (g.hospital) }
                    p { (l.t("时间", "When")) ": " (g.at) " · " (l.t("患者", "Patient")) ": " (g.patient) }
                    p { (l.t("理由", "Reason")) ": " q { (g.reason) } }
                    (review_form(f, 0, Some(&g.task)))
                }
            }
        },
    )
}

/// Each hospital's feeds (volumes, rejections by reason, late data) and unmapped codes.
pub fn quality(f: &Frame, report: &Value, unmapped: &Value) -> Markup {
    let l = f.lang;
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    f.page(
        l.t("数据质量", "Data quality"),
        html! {
            p { (s(&report["from"])) " – " (s(&report["to"])) }
            table {
                thead { tr { th { (l.t("医院", "Hospital")) } th.n { (l.t("消息", "Messages")) } th.n { (l.t("接收", "Accepted")) } th.n { (l.t("错误", "Errors")) } th.n { (l.t("拒收", "Rejected")) } th.n { (l.t("迟到", "Late")) } th.n { (l.t("未映射代码", "Unmapped codes")) } } }
                tbody { @for h in report["hospitals"].as_array().into_iter().flatten() {
                    tr { td { (s(&h["hospital"])) } td.n { (n(&h["messages"])) } td.n { (n(&h["accepted"])) } td.n { (n(&h["errors"])) } td.n { (n(&h["rejected"])) } td.n { (n(&h["late"])) } td.n { (n(&h["unmappedCodes"])) } }
                    @for r in h["refusals"].as_array().into_iter().flatten() {
                        tr.sub { td {} td colspan="6" { (s(&r["kind"])) " · " (s(&r["outcome"])) " · " (s(&r["reason"])) " × " (n(&r["messages"])) } }
                    }
                } }
            }
            h2 { (l.t("未映射的本地代码", "Unmapped local codes")) }
            p.hint { (l.t("医院上传 ConceptMap 后，相应代码即离开此队列。", "A hospital uploads a ConceptMap; the codes it covers leave this queue.")) }
            table {
                thead { tr { th { (l.t("医院", "Hospital")) } th { (l.t("代码系统", "System")) } th { (l.t("代码", "Code")) } th { (l.t("名称", "Display")) } th.n { (l.t("次数", "Seen")) } th { (l.t("最近", "Last seen")) } } }
                tbody { @for u in unmapped["items"].as_array().into_iter().flatten() {
                    tr { td { (s(&u["hospital"])) } td { small { (s(&u["system"])) } } td { code { (s(&u["code"])) } } td { (s(&u["display"])) } td.n { (n(&u["seen"])) } td { (s(&u["lastSeen"])) } }
                } }
            }
        },
    )
}

/// The patient-index review queue: pairs the matcher was unsure of, with its explanation.
pub fn identity(f: &Frame, tasks: &[Value]) -> Markup {
    let l = f.lang;
    let input = |t: &Value, name: &str| -> String {
        t["input"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["type"]["text"] == name)
            .map(|i| {
                i.get("valueString")
                    .or(i.get("valueDecimal"))
                    .or(i.pointer("/valueReference/reference"))
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    };
    f.page(
        l.t("患者索引审查", "Patient index review"),
        html! {
            p { (tasks.len()) " " (l.t("对登记待判断是否为同一人。", "pairs of registrations await a decision: one person or two?")) }
            table {
                thead { tr { th { (l.t("登记", "Registration")) } th { (l.t("候选", "Candidate")) } th.n { (l.t("概率", "Probability")) } th { (l.t("优先级", "Priority")) } th { (l.t("解释", "Explanation")) } } }
                tbody { @for t in tasks {
                    tr {
                        td { (t.pointer("/focus/reference").and_then(Value::as_str).unwrap_or("")) }
                        td { (input(t, "candidate")) }
                        td.n { (input(t, "score")) }
                        td { (t["priority"].as_str().unwrap_or("")) }
                        td { small { (input(t, "explanation")) } }
                    }
                } }
            }
            p.hint { (l.t("判断通过 API 的 $link、$unlink、$merge 作出，并记入审计日志。", "Decisions are made with the API's $link, $unlink and $merge, and are audited.")) }
        },
    )
}

fn review_form(f: &Frame, position: u64, task: Option<&str>) -> Markup {
    let l = f.lang;
    html! {
        form.review method="post" action="/ui/audit/review" {
            (f.csrf_field())
            input type="hidden" name="position" value=(position);
            @if let Some(t) = task { input type="hidden" name="task" value=(t); }
            label { (l.t("结论", "Finding"))
                select name="finding" {
                    option value="justified" { (l.t("合理", "justified")) }
                    option value="unjustified" { (l.t("不合理", "unjustified")) }
                    option value="noted" { (l.t("已知悉", "noted")) }
                }
            }
            label { (l.t("备注", "Note")) input name="note" required; }
            button type="submit" { (l.t("提交审查", "Record the review")) }
        }
    }
}

fn rows_table(l: Lang, rows: &[Row]) -> Markup {
    html! {
        @if rows.is_empty() { p.empty { (l.t("没有符合条件的记录。", "No record matches.")) } } @else {
            table {
                thead { tr { th { "#" } th { (l.t("时间", "When")) } th { (l.t("访问者", "Agent")) } th { (l.t("角色", "Role")) } th { (l.t("医院", "Hospital")) } th { (l.t("患者", "Patient")) } th { (l.t("操作", "Action")) } th { (l.t("目的", "Purpose")) } th { (l.t("结果", "Outcome")) } } }
                tbody { @for r in rows {
                    tr class=(if r.flags.contains(&"break-glass") { "glass" } else { "" }) {
                        td { (r.position) } td { (r.at) } td { (r.agent) } td { (r.role) } td { (r.hospital) } td { (r.patient) }
                        td { (r.action) @for fl in &r.flags { " " span.tag { (fl) } } } td { (r.purpose) } td { (r.outcome) }
                    }
                } }
            }
        }
    }
}
