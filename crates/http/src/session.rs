//! Page sessions: a browser signed in to the pages holds only a random session id in an
//! HttpOnly, SameSite=Strict cookie; the principal, the patient in context and the form
//! token stay here, in memory. A session ends after 30 minutes idle or 10 hours in all, at
//! sign-out, or when the server restarts (people sign in again). Launch codes are the
//! same idea for a hospital system handing a doctor and a patient to the pages: opaque,
//! single use, two minutes.

use std::collections::HashMap;
use std::sync::Mutex;

pub const COOKIE: &str = "yilian_session";
const IDLE_SECONDS: i64 = 30 * 60;
const MAX_SECONDS: i64 = 10 * 3600;
const LAUNCH_SECONDS: i64 = 120;

/// One signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    pub principal: auth::Principal,
    pub lang: pages::Lang,
    /// The registration (`Patient/{id}` without the type) in context.
    pub patient: Option<String>,
    /// The doctor broke the glass for the patient in context: reads are for an emergency.
    pub emergency: bool,
    /// Counter mode: the staff member's own principal while acting for a patient.
    pub staff: Option<auth::Principal>,
    /// Echoed by every form of the session.
    pub csrf: String,
    started: i64,
    seen: i64,
}

#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    launches: Mutex<HashMap<String, (auth::Principal, String, i64)>>,
}

impl Sessions {
    /// Starts a session; returns its id (the cookie's value).
    pub fn start(&self, principal: auth::Principal, lang: pages::Lang, now: i64) -> String {
        let id = random();
        let session = Session {
            principal,
            lang,
            patient: None,
            emergency: false,
            staff: None,
            csrf: random(),
            started: now,
            seen: now,
        };
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, s| fresh(s, now));
        live.insert(id.clone(), session);
        id
    }

    /// The live session `id` names, its idle clock restarted.
    pub fn get(&self, id: &str, now: i64) -> Option<Session> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let s = live.get_mut(id)?;
        if !fresh(s, now) {
            live.remove(id);
            return None;
        }
        s.seen = now;
        Some(s.clone())
    }

    /// Changes the session `id` (the patient in context, the language...).
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Session)) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = live.get_mut(id) {
            change(s);
        }
    }

    pub fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// A launch code for `principal` with `patient` in context.
    pub fn launch(&self, principal: auth::Principal, patient: String, now: i64) -> String {
        let code = random();
        let mut launches = self.launches.lock().unwrap_or_else(|p| p.into_inner());
        launches.retain(|_, (_, _, at)| now - *at < LAUNCH_SECONDS);
        launches.insert(code.clone(), (principal, patient, now));
        code
    }

    /// Takes a launch code (once): the principal and patient it carries.
    pub fn redeem(&self, code: &str, now: i64) -> Option<(auth::Principal, String)> {
        let mut launches = self.launches.lock().unwrap_or_else(|p| p.into_inner());
        let (principal, patient, at) = launches.remove(code)?;
        (now - at < LAUNCH_SECONDS).then_some((principal, patient))
    }
}

fn fresh(s: &Session, now: i64) -> bool {
    now - s.seen < IDLE_SECONDS && now - s.started < MAX_SECONDS
}

/// 244 random bits as hex (two version-4 UUIDs).
fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
