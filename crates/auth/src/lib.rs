//! Who is calling. Three ways in, one result (a [`Principal`]):
//! - Yilian's own access tokens: short-lived HS256 JWTs naming the acting person, their
//!   role, hospital and purpose of use; verified on every call ([`Keys`]).
//! - Hospitals' systems: OAuth2 client credentials with a signed JWT assertion, as SMART
//!   Backend Services define it (`private_key_jwt`, ES384 or RS384). The assertion also
//!   names the acting practitioner, role and purpose, signed by the hospital
//!   ([`exchange`]).
//! - People: a user name and an argon2id password hash ([`login`]).
//!
//! Pure: secrets, keys, time and the replay memory are passed in; nothing here reads a
//! clock, a file or a random source. Errors name what failed, never a token or a value.

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use policy::{Caller, Purpose, Role};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How long an access token lives, in seconds (SMART recommends at most five minutes).
pub const TOKEN_SECONDS: i64 = 300;
/// The longest a client assertion may live (`exp` at most this far ahead).
pub const MAX_ASSERTION_SECONDS: i64 = 300;
/// Clock skew tolerated between a hospital's clock and ours, in seconds.
pub const LEEWAY: i64 = 30;
pub const ISSUER: &str = "yilian";
/// The assertion type of `private_key_jwt`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub caller: Caller,
    /// Who: the practitioner reference, the user name, or the operator.
    pub subject: String,
    /// The OAuth client the token went to, for hospital systems.
    pub client: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("an Authorization: Bearer token is required")]
    MissingToken,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is issued for another audience")]
    WrongAudience,
    #[error("the token is issued by another issuer")]
    WrongIssuer,
    #[error("the token's algorithm is not accepted")]
    UnsupportedAlgorithm,
    #[error("the client is not registered")]
    UnknownClient,
    #[error("the client assertion was already used (jti seen before)")]
    Replayed,
    #[error("the client assertion lives longer than five minutes")]
    AssertionTooLong,
    #[error("the token lacks the claim {0}")]
    MissingClaim(&'static str),
    #[error("the token's claim {0} is not valid")]
    BadClaim(&'static str),
    #[error("the client acts for another hospital")]
    WrongOrganization,
    #[error("the role is not allowed for this client")]
    RoleNotAllowed,
    #[error("unknown user name or wrong password")]
    BadCredentials,
    #[error("the token secret must be at least 32 bytes")]
    WeakSecret,
}

impl AuthError {
    /// 401 when the caller is not who they say or not at all; 403 when they are, but may not.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::WrongOrganization | AuthError::RoleNotAllowed => 403,
            _ => 401,
        }
    }

    /// The OAuth 2.0 error code (RFC 6749 §5.2) at the token endpoint.
    pub fn oauth_code(&self) -> &'static str {
        match self {
            AuthError::UnknownClient
            | AuthError::BadSignature
            | AuthError::UnsupportedAlgorithm
            | AuthError::WrongAudience
            | AuthError::WrongIssuer => "invalid_client",
            AuthError::WrongOrganization | AuthError::RoleNotAllowed => "unauthorized_client",
            AuthError::MissingClaim(_) | AuthError::BadClaim(_) => "invalid_request",
            _ => "invalid_grant",
        }
    }
}

/// The claims of a Yilian access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    role: String,
    purpose_of_use: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    practitioner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
}

/// Issues and verifies Yilian's access tokens.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    audience: String,
}

impl Keys {
    /// Keys from the region's token secret (at least 32 random bytes); tokens name
    /// `audience` (the server's base URL) and are refused anywhere else.
    pub fn new(secret: &[u8], audience: &str) -> Result<Keys, AuthError> {
        if secret.len() < 32 {
            return Err(AuthError::WeakSecret);
        }
        Ok(Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            audience: audience.to_string(),
        })
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// A token for `p`, valid from `now` for `seconds`; `jti` must be unique.
    pub fn issue(&self, p: &Principal, now: i64, seconds: i64, jti: &str) -> String {
        let c = &p.caller;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: self.audience.clone(),
            sub: p.subject.clone(),
            iat: now,
            exp: now + seconds,
            jti: jti.into(),
            role: c.role.code().into(),
            purpose_of_use: c.purpose.code().into(),
            organization: c.organization.clone(),
            practitioner: c.practitioner.clone(),
            person: c.person.clone(),
            client_id: p.client.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 over serializable claims cannot fail")
    }

    /// The principal a token names, if it is ours, for us, and unexpired at `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        v.set_audience(&[&self.audience]);
        v.set_issuer(&[ISSUER]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map_err(jwt_error)?
            .claims;
        if claims.exp <= now {
            return Err(AuthError::Expired);
        }
        if claims.iat > now + LEEWAY {
            return Err(AuthError::BadClaim("iat"));
        }
        let role = Role::from_code(&claims.role).ok_or(AuthError::BadClaim("role"))?;
        let purpose = Purpose::from_code(&claims.purpose_of_use)
            .ok_or(AuthError::BadClaim("purpose_of_use"))?;
        Ok(Principal {
            caller: Caller {
                role,
                purpose,
                organization: claims.organization,
                practitioner: claims.practitioner,
                person: claims.person,
            },
            subject: claims.sub,
            client: claims.client_id,
        })
    }
}

fn jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    match e.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            AuthError::UnsupportedAlgorithm
        }
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(match c.as_str() {
            "exp" => "exp",
            "aud" => "aud",
            "iss" => "iss",
            _ => "sub",
        }),
        _ => AuthError::Malformed,
    }
}

/// A hospital system registered to call Yilian.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    /// `Organization/{id}`: the hospital it acts for.
    pub organization: String,
    /// Its public keys (SMART Backend Services: a JWK Set).
    pub jwks: JwkSet,
    /// The roles its tokens may name; empty means the clinical roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Client {
    fn allows(&self, role: Role) -> bool {
        if self.roles.is_empty() {
            matches!(role, Role::Doctor | Role::Nurse | Role::Pharmacist)
        } else {
            self.roles.iter().any(|r| r == role.code())
        }
    }
}

/// The client assertion identifiers seen and not yet expired: a `jti` is accepted once.
#[derive(Debug, Default)]
pub struct Replay {
    seen: HashMap<(String, String), i64>,
}

impl Replay {
    /// Records `jti` of `client` until `exp`; false when it was already there.
    fn first_use(&mut self, client: &str, jti: &str, exp: i64, now: i64) -> bool {
        self.seen.retain(|_, e| *e + LEEWAY > now);
        self.seen
            .insert((client.to_string(), jti.to_string()), exp)
            .is_none()
    }
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    purpose_of_use: Option<String>,
    #[serde(default)]
    practitioner: Option<String>,
    #[serde(default)]
    organization: Option<String>,
}

const ASSERTION_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES384,
    Algorithm::RS384,
    Algorithm::ES256,
    Algorithm::RS256,
];

/// Checks a client assertion posted to the token endpoint at `token_url` and returns the
/// principal an access token will name: the client's hospital, and the practitioner, role
/// and purpose the assertion states.
pub fn exchange(
    clients: &[Client],
    assertion: &str,
    token_url: &str,
    now: i64,
    replay: &mut Replay,
) -> Result<Principal, AuthError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AuthError::Malformed)?;
    if !ASSERTION_ALGORITHMS.contains(&header.alg) {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    // Which client: the unverified issuer only picks the key that must then verify it.
    let unverified = jsonwebtoken::dangerous::insecure_decode::<AssertionClaims>(assertion)
        .map_err(|_| AuthError::Malformed)?
        .claims;
    let client = clients
        .iter()
        .find(|c| c.client_id == unverified.iss)
        .ok_or(AuthError::UnknownClient)?;
    let keys = client
        .jwks
        .keys
        .iter()
        .filter(|k| header.kid.is_none() || k.common.key_id == header.kid);
    let mut v = Validation::new(header.alg);
    v.validate_exp = false;
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    v.set_audience(&[token_url]);
    v.set_issuer(&[&client.client_id]);
    let mut result = Err(AuthError::BadSignature);
    for jwk in keys {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        result = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &v).map_err(jwt_error);
        if !matches!(
            result,
            Err(AuthError::BadSignature | AuthError::UnsupportedAlgorithm)
        ) {
            break;
        }
    }
    let claims = result?.claims;
    if claims.sub != claims.iss {
        return Err(AuthError::BadClaim("sub"));
    }
    if claims.exp + LEEWAY <= now {
        return Err(AuthError::Expired);
    }
    if claims.exp > now + MAX_ASSERTION_SECONDS + LEEWAY {
        return Err(AuthError::AssertionTooLong);
    }
    let jti = claims
        .jti
        .as_deref()
        .ok_or(AuthError::MissingClaim("jti"))?;
    if claims
        .organization
        .as_ref()
        .is_some_and(|o| *o != client.organization)
    {
        return Err(AuthError::WrongOrganization);
    }
    let role = claims
        .role
        .as_deref()
        .ok_or(AuthError::MissingClaim("role"))?;
    let role = Role::from_code(role).ok_or(AuthError::BadClaim("role"))?;
    if !client.allows(role) {
        return Err(AuthError::RoleNotAllowed);
    }
    let purpose = claims
        .purpose_of_use
        .as_deref()
        .ok_or(AuthError::MissingClaim("purpose_of_use"))?;
    let purpose = Purpose::from_code(purpose).ok_or(AuthError::BadClaim("purpose_of_use"))?;
    let practitioner = claims
        .practitioner
        .filter(|p| p.starts_with("Practitioner/"))
        .ok_or(AuthError::MissingClaim("practitioner"))?;
    // Last, so a refused assertion does not use up its jti.
    if !replay.first_use(&client.client_id, jti, claims.exp, now) {
        return Err(AuthError::Replayed);
    }
    Ok(Principal {
        caller: Caller {
            role,
            purpose,
            organization: Some(client.organization.clone()),
            practitioner: Some(practitioner.clone()),
            person: None,
        },
        subject: practitioner,
        client: Some(client.client_id.clone()),
    })
}

/// A person who signs in to Yilian's pages.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    /// The argon2id hash in PHC form.
    pub password: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practitioner: Option<String>,
    /// For a patient: their `Person/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

/// The usual purpose of each role when a person signs in.
pub fn default_purpose(role: Role) -> Purpose {
    match role {
        Role::Doctor | Role::Nurse | Role::Pharmacist => Purpose::Treatment,
        Role::Patient => Purpose::PatientAccess,
        Role::Auditor => Purpose::Audit,
        Role::Admin => Purpose::Operations,
        Role::Researcher => Purpose::Research,
    }
}

/// An argon2id hash of `password` with `salt` (16 random bytes), in PHC form.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(salt).expect("16 bytes is a valid salt length");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A well-formed hash no password matches, checked against when the user name is unknown.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$eWlsaWFuLWR1bW15LXNhbHQ$\
                     8m7IpC2lYpJo8n8Y1Vq1F9Oa0lS1a3m0A7J3oG5W5iA";

/// Signs a person in: the principal their account names. An unknown user name costs the
/// same hash as a wrong password, so timing does not tell which.
pub fn login(users: &[User], username: &str, password: &str) -> Result<Principal, AuthError> {
    let user = users.iter().find(|u| u.username == username);
    let ok = verify_password(user.map_or(DUMMY, |u| u.password.as_str()), password);
    let user = user.filter(|_| ok).ok_or(AuthError::BadCredentials)?;
    let role = Role::from_code(&user.role).ok_or(AuthError::BadClaim("role"))?;
    Ok(Principal {
        caller: Caller {
            role,
            purpose: default_purpose(role),
            organization: user.organization.clone(),
            practitioner: user.practitioner.clone(),
            person: user.person.clone(),
        },
        subject: user.username.clone(),
        client: None,
    })
}

/// The authentication configuration a region keeps (`auth.json` beside the data).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// The token secret, base64.
    pub secret: String,
    /// The audience Yilian's tokens name: this server (its base URL, or a region name).
    #[serde(default = "default_audience")]
    pub audience: String,
    #[serde(default)]
    pub clients: Vec<Client>,
    #[serde(default)]
    pub users: Vec<User>,
    /// The audit log's Ed25519 secret, base64 (32 bytes): it signs tree heads and seals
    /// records. Every server of a region holds the same one.
    #[serde(default)]
    pub audit_key: String,
    /// The hospital systems that send HL7 v2 over MLLP.
    #[serde(default)]
    pub feeds: Vec<Feed>,
}

/// A hospital's feed: the addresses its interface engine connects from, and the sending
/// facility names (MSH-4) its messages carry. A connection is admitted only from a listed
/// address, and each message only under a facility of a hospital admitted on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feed {
    /// The registered hospital (`Organization/{id}`'s id).
    pub hospital: String,
    /// MSH-4 values its systems send (compared without case).
    pub facilities: Vec<String>,
    /// Addresses or networks (`10.8.0.0/16`, `::1`) it connects from.
    pub addresses: Vec<String>,
}

impl Feed {
    /// Whether `ip` is one of the feed's addresses or inside one of its networks.
    pub fn admits(&self, ip: std::net::IpAddr) -> bool {
        self.addresses.iter().any(|a| within(a, ip))
    }

    /// Whether MSH-4 names this hospital.
    pub fn names(&self, facility: &str) -> bool {
        self.facilities
            .iter()
            .any(|f| f.eq_ignore_ascii_case(facility.trim()))
    }
}

/// Whether `ip` matches `spec`, an address or a CIDR network. A malformed spec matches
/// nothing.
pub fn within(spec: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let (addr, bits) = match spec.trim().split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (spec.trim(), None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        _ => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32);
            if bits > 32 {
                return false;
            }
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128);
            if bits > 128 {
                return false;
            }
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

impl Config {
    /// A configuration with a fresh secret (the caller supplies the random bytes).
    pub fn with_secret(random: &[u8; 32]) -> Config {
        Config {
            secret: base64::engine::general_purpose::STANDARD.encode(random),
            audience: default_audience(),
            ..Config::default()
        }
    }

    /// The audit key's 32 secret bytes; `None` when absent or malformed.
    pub fn audit_seed(&self) -> Option<[u8; 32]> {
        base64::engine::general_purpose::STANDARD
            .decode(self.audit_key.trim())
            .ok()?
            .try_into()
            .ok()
    }

    pub fn secret_bytes(&self) -> Result<Vec<u8>, AuthError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.secret.trim())
            .map_err(|_| AuthError::WeakSecret)
    }
}

fn default_audience() -> String {
    "yilian".to_string()
}

#[cfg(test)]
mod tests;
