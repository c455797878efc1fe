//! Authentication at the edge: the token endpoint (SMART Backend Services client
//! credentials), sign-in with a password, SMART discovery, and the bearer check every other
//! endpoint passes. What a caller may then do is the service's and the policy's business.

use crate::response::json_response;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use service::{Caller, Error};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a sign-in attempt claimed and how it ended, for the audit log.
pub struct Attempt {
    /// The user name or client id claimed (never the password or assertion).
    pub who: String,
    pub caller: Option<Caller>,
    /// Why it was refused.
    pub refused: Option<String>,
}

impl Attempt {
    fn refused(who: &str, why: &str) -> Attempt {
        Attempt {
            who: who.to_string(),
            caller: None,
            refused: Some(why.to_string()),
        }
    }

    fn granted(who: &str, p: &auth::Principal) -> Attempt {
        Attempt {
            who: who.to_string(),
            caller: Some(Caller::User(p.clone())),
            refused: None,
        }
    }
}

/// The region's credentials, loaded at start.
pub struct Authn {
    keys: auth::Keys,
    clients: Vec<auth::Client>,
    users: Vec<auth::User>,
    replay: Mutex<auth::Replay>,
    /// The pages' sessions and launch codes.
    pub sessions: crate::session::Sessions,
}

impl Authn {
    /// From the region's `auth.json`; tokens name `audience`.
    pub fn new(config: &auth::Config, audience: &str) -> Result<Authn, auth::AuthError> {
        Ok(Authn {
            keys: auth::Keys::new(&config.secret_bytes()?, audience)?,
            clients: config.clients.clone(),
            users: config.users.clone(),
            replay: Mutex::default(),
            sessions: crate::session::Sessions::default(),
        })
    }

    pub fn keys(&self) -> &auth::Keys {
        &self.keys
    }

    /// The caller a request's `Authorization: Bearer` token names.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, Error> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| Error::Unauthenticated(auth::AuthError::MissingToken.to_string()))?;
        self.keys
            .verify(token, now())
            .map(Caller::User)
            .map_err(|e| refused(&e))
    }

    /// `POST /auth/token`: client credentials with a signed assertion.
    pub fn token(&self, form: &[(String, String)], token_url: &str) -> (Response, Attempt) {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let who = "client assertion";
        let fail = |status, code: &str, why: &str| {
            (oauth_error(status, code, why), Attempt::refused(who, code))
        };
        if get("grant_type") != Some("client_credentials") {
            return fail(
                400,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            );
        }
        if get("client_assertion_type") != Some(auth::ASSERTION_TYPE) {
            return fail(
                400,
                "invalid_request",
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            );
        }
        let Some(assertion) = get("client_assertion") else {
            return fail(400, "invalid_request", "client_assertion is required");
        };
        let principal = {
            let mut replay = self.replay.lock().unwrap_or_else(|p| p.into_inner());
            auth::exchange(&self.clients, assertion, token_url, now(), &mut replay)
        };
        match principal {
            Ok(p) => {
                let client = p.client.clone().unwrap_or_else(|| who.to_string());
                (
                    self.grant(&p, get("scope").unwrap_or("system/*.read")),
                    Attempt::granted(&format!("client:{client}"), &p),
                )
            }
            Err(e) => (auth_error(&e), Attempt::refused(who, e.oauth_code())),
        }
    }

    /// `POST /auth/login`: a person's user name and password, optionally a purpose.
    pub fn login(&self, form: &[(String, String)]) -> (Response, Attempt) {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (Some(user), Some(password)) = (get("username"), get("password")) else {
            return (
                oauth_error(400, "invalid_request", "username and password are required"),
                Attempt::refused("-", "invalid_request"),
            );
        };
        let who = format!("user:{user}");
        match auth::login(&self.users, user, password) {
            Ok(mut p) => {
                if let Some(code) = get("purpose_of_use") {
                    match policy::Purpose::from_code(code) {
                        Some(purpose) => p.caller.purpose = purpose,
                        None => {
                            return (
                                oauth_error(
                                    400,
                                    "invalid_request",
                                    "purpose_of_use is not a known PurposeOfUse code",
                                ),
                                Attempt::refused(&who, "invalid_request"),
                            );
                        }
                    }
                }
                (self.grant(&p, "user/*.read"), Attempt::granted(&who, &p))
            }
            Err(e) => (auth_error(&e), Attempt::refused(&who, e.oauth_code())),
        }
    }

    /// The pages' sign-in: a person's user name and password.
    pub fn password(&self, user: &str, password: &str) -> (Option<auth::Principal>, Attempt) {
        let who = format!("user:{user}");
        match auth::login(&self.users, user, password) {
            Ok(p) => {
                let attempt = Attempt::granted(&who, &p);
                (Some(p), attempt)
            }
            Err(e) => (None, Attempt::refused(&who, e.oauth_code())),
        }
    }

    fn grant(&self, p: &auth::Principal, scope: &str) -> Response {
        let jti = uuid::Uuid::new_v4().to_string();
        let token = self.keys.issue(p, now(), auth::TOKEN_SECONDS, &jti);
        let mut r = json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": auth::TOKEN_SECONDS,
                "scope": scope,
            }),
        );
        oauth_headers(&mut r);
        r
    }
}

/// `GET /.well-known/smart-configuration`.
pub fn smart_configuration(base: &str) -> serde_json::Value {
    json!({
        "issuer": base,
        "token_endpoint": format!("{base}/auth/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES384", "RS384", "ES256", "RS256"],
        "scopes_supported": ["system/*.read", "system/*.write", "user/*.read"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1"]
    })
}

/// Seconds since the epoch: the edge reads the clock and passes it in.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn refused(e: &auth::AuthError) -> Error {
    if e.status() == 403 {
        Error::Forbidden(e.to_string())
    } else {
        Error::Unauthenticated(e.to_string())
    }
}

/// An OAuth error (RFC 6749 §5.2): invalid_client is 401, the rest 400.
fn auth_error(e: &auth::AuthError) -> Response {
    let code = e.oauth_code();
    let status = if code == "invalid_client" || matches!(e, auth::AuthError::BadCredentials) {
        401
    } else if e.status() == 403 {
        403
    } else {
        400
    };
    oauth_error(status, code, &e.to_string())
}

fn oauth_error(status: u16, code: &str, description: &str) -> Response {
    let mut r = json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &json!({"error": code, "error_description": description}),
    );
    oauth_headers(&mut r);
    r
}

/// OAuth answers are plain JSON and never cached (RFC 6749 §5.1).
fn oauth_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
}

/// The challenge a 401 carries.
pub fn challenge(mut r: Response) -> Response {
    if r.status() == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"yilian\""),
        );
    }
    r.into_response()
}
