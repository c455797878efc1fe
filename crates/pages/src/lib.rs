//! Yilian's web pages, server-rendered: the doctor's record browser, the patient's own view
//! and the auditor's desk, in Chinese and English.
//!
//! Pure: every page is a function from what the service answered (FHIR resources, audit
//! records, reports) to HTML. Nothing here reads a clock, a store or a request; `http`
//! does the I/O, signs people in and calls the service with the same authorization as the
//! API. Every value is escaped by `maud`; no page puts patient data in a URL (the patient
//! in context lives in the session, forms are POSTed).

pub mod auditor;
pub mod chart;
pub mod doctor;
mod layout;
pub mod patient;
pub mod view;

pub use layout::{Frame, Nav, error_page, login_page};
pub use maud::Markup;

/// The stylesheet every page links (`/ui/assets/style.css`).
pub const STYLE: &str = include_str!("../assets/style.css");
/// The little JavaScript the pages use: the signature pad and the scan upload.
pub const SCRIPT: &str = include_str!("../assets/app.js");

/// The page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// `zh` or `en`; anything else is `None`.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" | "zh-CN" | "zh-Hans" => Some(Lang::Zh),
            "en" | "en-US" | "en-GB" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header that the pages speak; Chinese
    /// when none is.
    pub fn negotiate(accept: &str) -> Lang {
        accept
            .split(',')
            .filter_map(|part| part.split(';').next())
            .map(|tag| tag.trim().to_ascii_lowercase())
            .find_map(|tag| match tag.split('-').next() {
                Some("zh") => Some(Lang::Zh),
                Some("en") => Some(Lang::En),
                _ => None,
            })
            .unwrap_or_default()
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The text in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests;
