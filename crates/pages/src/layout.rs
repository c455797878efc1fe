//! The frame around every page: language, who is signed in, the navigation of their role,
//! the sign-in page and the error page.

use crate::Lang;
use maud::{DOCTYPE, Markup, html};

/// Which desk the navigation shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    Doctor,
    Patient,
    Counter,
    Auditor,
    None,
}

/// What every page of a signed-in person carries.
pub struct Frame<'a> {
    pub lang: Lang,
    /// Who is signed in, as shown in the header (role and hospital, never a patient).
    pub who: &'a str,
    pub nav: Nav,
    /// The session's form token, echoed by every POST.
    pub csrf: &'a str,
}

impl Frame<'_> {
    /// The hidden field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    pub fn page(&self, title: &str, body: Markup) -> Markup {
        let l = self.lang;
        let links: &[(&str, &str, &str)] = match self.nav {
            Nav::Doctor => &[
                ("/ui/doctor", "查找患者", "Find a patient"),
                ("/ui/doctor/record", "当前患者", "Current patient"),
            ],
            Nav::Patient => &[
                ("/ui/patient", "我的记录", "My records"),
                ("/ui/patient/consent", "我的授权", "My consents"),
                (
                    "/ui/patient/access",
                    "谁看过我的记录",
                    "Who read my records",
                ),
                ("/ui/patient/print", "打印摘要", "Printable summary"),
            ],
            Nav::Counter => &[("/ui/counter", "窗口服务", "Counter")],
            Nav::Auditor => &[
                ("/ui/audit", "总览", "Overview"),
                ("/ui/audit/log", "访问日志", "Access log"),
                ("/ui/audit/anomalies", "异常访问", "Anomalies"),
                (
                    "/ui/audit/break-glass",
                    "紧急授权审查",
                    "Break-glass review",
                ),
                ("/ui/audit/quality", "数据质量", "Data quality"),
                ("/ui/audit/identity", "患者索引审查", "Patient index review"),
            ],
            Nav::None => &[],
        };
        shell(
            l,
            title,
            html! {
                header.top {
                    a.brand href="/ui" { "医联 Yilian" }
                    nav aria-label=(l.t("主导航", "Main")) {
                        @for (href, zh, en) in links { a href=(href) { (l.t(zh, en)) } }
                    }
                    div.who {
                        span { (self.who) }
                        form method="post" action="/ui/lang" {
                            (self.csrf_field())
                            @if l == Lang::Zh {
                                button.link name="lang" value="en" lang="en" { "English" }
                            } @else {
                                button.link name="lang" value="zh" lang="zh-CN" { "中文" }
                            }
                        }
                        form method="post" action="/ui/logout" {
                            (self.csrf_field())
                            button.link { (l.t("退出", "Sign out")) }
                        }
                    }
                }
                main id="main" { h1 { (title) } (body) }
            },
        )
    }
}

/// The sign-in page; `problem` says why the last attempt failed.
pub fn login_page(lang: Lang, problem: Option<&str>) -> Markup {
    let l = lang;
    shell(
        l,
        l.t("登录", "Sign in"),
        html! {
            header.top { span.brand { "医联 Yilian" } }
            main id="main" class="narrow" {
                h1 { (l.t("区域医疗信息共享平台", "Regional health record sharing")) }
                @if let Some(p) = problem { p.error role="alert" { (p) } }
                form method="post" action="/ui/login" {
                    label for="username" { (l.t("用户名", "User name")) }
                    input id="username" name="username" autocomplete="username" required autofocus;
                    label for="password" { (l.t("密码", "Password")) }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    input type="hidden" name="lang" value=(if l == Lang::Zh { "zh" } else { "en" });
                    button type="submit" { (l.t("登录", "Sign in")) }
                }
                p.hint { (l.t("医院系统可用启动链接直接打开患者（无需再次登录）。",
                    "A hospital's system can open a patient here with a launch link (no second sign-in).")) }
            }
        },
    )
}

/// An error as a page: what went wrong, never a patient's data.
pub fn error_page(lang: Lang, status: u16, message: &str) -> Markup {
    shell(
        lang,
        lang.t("出错了", "Something went wrong"),
        html! {
            header.top { a.brand href="/ui" { "医联 Yilian" } }
            main id="main" class="narrow" {
                h1 { (status) }
                p.error role="alert" { (message) }
                p { a href="/ui" { (lang.t("返回首页", "Back to the start")) } }
            }
        },
    )
}

fn shell(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · 医联 Yilian" }
                link rel="stylesheet" href="/ui/assets/style.css";
                script src="/ui/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { (lang.t("跳到正文", "Skip to content")) }
                (body)
            }
        }
    }
}
