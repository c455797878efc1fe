use super::*;
use expect_test::{Expect, expect};
use serde_json::{Value, json};

const NOW: i64 = 1_795_996_800;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const AUD: &str = "https://yilian.example/fhir";
const TOKEN_URL: &str = "https://yilian.example/fhir/auth/token";

/// Test keys of two hospitals' systems (generated for these tests, P-384).
const H1_KEY: &[u8] = include_bytes!("testdata/h1-es384.pem");
const H2_KEY: &[u8] = include_bytes!("testdata/h2-es384.pem");

fn clients() -> Vec<Client> {
    let jwks = |kid: &str, x: &str, y: &str| -> JwkSet {
        serde_json::from_value(
            json!({"keys": [{"kty": "EC", "crv": "P-384", "x": x, "y": y,
            "kid": kid, "alg": "ES384", "use": "sig"}]}),
        )
        .expect("a JWK set")
    };
    vec![
        Client {
            client_id: "his-h1".into(),
            organization: "Organization/h1".into(),
            jwks: jwks(
                "h1-test",
                "IrVqydZkNNgkEZUQx7T74Hf2NtakBYBjG0JZfeJ-CjkqxB5dYYahR2CC_tYtDqbz",
                "Ulma-yn_KQVcHMwclST5UmwIJeDe1tJZV_SKTRuVlokLw6aVTlrYus391ICnmzKy",
            ),
            roles: vec![],
        },
        Client {
            client_id: "his-h2".into(),
            organization: "Organization/h2".into(),
            jwks: jwks(
                "h2-test",
                "gUYKJKH6pKH1kW4Qi3qY-QlyThJlpS5p88ypYreqv4I_CbFWO2sUXbG8mKi8jekE",
                "XajhCjaMa8Kz7iSW-CGbb5PhXkZVyXHQKk5egk9lZSoxWLYPCmywgxkVV9dU-Pat",
            ),
            roles: vec![],
        },
    ]
}

fn doctor() -> Principal {
    Principal {
        caller: Caller {
            role: Role::Doctor,
            purpose: Purpose::Treatment,
            organization: Some("Organization/h1".into()),
            practitioner: Some("Practitioner/d1".into()),
            person: None,
        },
        subject: "Practitioner/d1".into(),
        client: Some("his-h1".into()),
    }
}

fn show(r: Result<Principal, AuthError>) -> String {
    match r {
        Ok(p) => format!(
            "ok {} {} {} {:?} {:?} client {:?}",
            p.subject,
            p.caller.role.code(),
            p.caller.purpose.code(),
            p.caller.organization,
            p.caller.practitioner,
            p.client
        ),
        Err(e) => format!("{} {}: {e}", e.status(), e.oauth_code()),
    }
}

#[track_caller]
fn check(rows: Vec<(&str, String)>, expect: Expect) {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let text: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect();
    expect.assert_eq(&(text.join("\n") + "\n"));
}

#[test]
fn access_tokens() {
    let keys = Keys::new(SECRET, AUD).expect("keys");
    let token = keys.issue(&doctor(), NOW, TOKEN_SECONDS, "t1");
    let other_secret = Keys::new(b"another secret of thirty-two bytes!", AUD).expect("keys");
    let other_audience = Keys::new(SECRET, "https://elsewhere/fhir").expect("keys");
    // The payload changed after signing: the role raised to admin.
    let tampered = {
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value =
            serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("json");
        claims["role"] = json!("admin");
        let body = b64.encode(serde_json::to_vec(&claims).expect("json"));
        format!("{}.{body}.{}", parts[0], parts[2])
    };
    let unsigned = {
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        )
    };
    let rows = vec![
        ("valid", show(keys.verify(&token, NOW + 10))),
        ("expired", show(keys.verify(&token, NOW + TOKEN_SECONDS))),
        (
            "another secret",
            show(keys.verify(&other_secret.issue(&doctor(), NOW, 60, "t2"), NOW)),
        ),
        (
            "another audience",
            show(keys.verify(&other_audience.issue(&doctor(), NOW, 60, "t3"), NOW)),
        ),
        ("tampered", show(keys.verify(&tampered, NOW))),
        ("alg none", show(keys.verify(&unsigned, NOW))),
        ("garbage", show(keys.verify("not.a.jwt", NOW))),
        (
            "issued in the future",
            show(keys.verify(&keys.issue(&doctor(), NOW + 3600, 60, "t4"), NOW)),
        ),
    ];
    check(
        rows,
        expect![[r#"
        valid                 ok Practitioner/d1 doctor TREAT Some("Organization/h1") Some("Practitioner/d1") client Some("his-h1")
        expired               401 invalid_grant: the token has expired
        another secret        401 invalid_client: the token's signature does not verify
        another audience      401 invalid_client: the token is issued for another audience
        tampered              401 invalid_client: the token's signature does not verify
        alg none              401 invalid_grant: the token is not a well-formed JWT
        garbage               401 invalid_grant: the token is not a well-formed JWT
        issued in the future  401 invalid_request: the token's claim iat is not valid
    "#]],
    );
    assert_eq!(Keys::new(b"short", AUD).err(), Some(AuthError::WeakSecret));
}

/// A client assertion signed with `key`, with `claims` over the defaults.
fn assertion(key: &[u8], kid: &str, claims: Value) -> String {
    let mut c = json!({
        "iss": "his-h1", "sub": "his-h1", "aud": TOKEN_URL, "exp": NOW + 240,
        "jti": "a1", "role": "doctor", "purpose_of_use": "TREAT",
        "practitioner": "Practitioner/d1"
    });
    for (k, v) in claims.as_object().expect("object") {
        if v.is_null() {
            c.as_object_mut().expect("object").remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &c,
        &EncodingKey::from_ec_pem(key).expect("a PEM key"),
    )
    .expect("signed")
}

#[test]
fn client_assertions() {
    let clients = clients();
    let run = |jwt: String| {
        let mut replay = Replay::default();
        show(exchange(&clients, &jwt, TOKEN_URL, NOW, &mut replay))
    };
    let h1 = |claims: Value| assertion(H1_KEY, "h1-test", claims);
    let mut replay = Replay::default();
    let once = h1(json!({"jti": "once"}));
    let first = show(exchange(&clients, &once, TOKEN_URL, NOW, &mut replay));
    let second = show(exchange(&clients, &once, TOKEN_URL, NOW + 1, &mut replay));
    let rows = vec![
        ("valid", run(h1(json!({})))),
        ("first use", first),
        ("replayed", second),
        (
            "h2's key, h1's name",
            run(assertion(H2_KEY, "h1-test", json!({}))),
        ),
        ("h2's key, no kid", run(assertion(H2_KEY, "", json!({})))),
        (
            "h2 itself",
            run(assertion(
                H2_KEY,
                "h2-test",
                json!({"iss": "his-h2", "sub": "his-h2"}),
            )),
        ),
        (
            "unknown client",
            run(h1(json!({"iss": "his-h9", "sub": "his-h9"}))),
        ),
        (
            "another audience",
            run(h1(json!({"aud": "https://elsewhere/token"}))),
        ),
        ("expired", run(h1(json!({"exp": NOW - 60})))),
        ("ten minutes long", run(h1(json!({"exp": NOW + 600})))),
        ("sub differs", run(h1(json!({"sub": "his-h2"})))),
        ("no jti", run(h1(json!({"jti": null})))),
        (
            "another hospital",
            run(h1(json!({"organization": "Organization/h2"}))),
        ),
        (
            "own hospital named",
            run(h1(json!({"organization": "Organization/h1"}))),
        ),
        ("admin role", run(h1(json!({"role": "admin"})))),
        ("unknown role", run(h1(json!({"role": "janitor"})))),
        ("no purpose", run(h1(json!({"purpose_of_use": null})))),
        ("emergency", run(h1(json!({"purpose_of_use": "ETREAT"})))),
        ("no practitioner", run(h1(json!({"practitioner": null})))),
        (
            "practitioner not a reference",
            run(h1(json!({"practitioner": "d1"}))),
        ),
        (
            "HS256 with the name",
            run({
                let c = json!({"iss": "his-h1", "sub": "his-h1", "aud": TOKEN_URL, "exp": NOW + 60, "jti": "x"});
                jsonwebtoken::encode(
                    &Header::new(Algorithm::HS256),
                    &c,
                    &EncodingKey::from_secret(SECRET),
                )
                .expect("jwt")
            }),
        ),
    ];
    check(
        rows,
        expect![[r#"
        valid                         ok Practitioner/d1 doctor TREAT Some("Organization/h1") Some("Practitioner/d1") client Some("his-h1")
        first use                     ok Practitioner/d1 doctor TREAT Some("Organization/h1") Some("Practitioner/d1") client Some("his-h1")
        replayed                      401 invalid_grant: the client assertion was already used (jti seen before)
        h2's key, h1's name           401 invalid_client: the token's signature does not verify
        h2's key, no kid              401 invalid_client: the token's signature does not verify
        h2 itself                     ok Practitioner/d1 doctor TREAT Some("Organization/h2") Some("Practitioner/d1") client Some("his-h2")
        unknown client                401 invalid_client: the client is not registered
        another audience              401 invalid_client: the token is issued for another audience
        expired                       401 invalid_grant: the token has expired
        ten minutes long              401 invalid_grant: the client assertion lives longer than five minutes
        sub differs                   401 invalid_request: the token's claim sub is not valid
        no jti                        401 invalid_request: the token lacks the claim jti
        another hospital              403 unauthorized_client: the client acts for another hospital
        own hospital named            ok Practitioner/d1 doctor TREAT Some("Organization/h1") Some("Practitioner/d1") client Some("his-h1")
        admin role                    403 unauthorized_client: the role is not allowed for this client
        unknown role                  401 invalid_request: the token's claim role is not valid
        no purpose                    401 invalid_request: the token lacks the claim purpose_of_use
        emergency                     ok Practitioner/d1 doctor ETREAT Some("Organization/h1") Some("Practitioner/d1") client Some("his-h1")
        no practitioner               401 invalid_request: the token lacks the claim practitioner
        practitioner not a reference  401 invalid_request: the token lacks the claim practitioner
        HS256 with the name           401 invalid_client: the token's algorithm is not accepted
    "#]],
    );
}

#[test]
fn passwords_and_sign_in() {
    let hash = hash_password("correct horse", &[7; 16]);
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(verify_password(&hash, "correct horse"));
    assert!(!verify_password(&hash, "correct hors"));
    assert!(!verify_password("not a hash", "correct horse"));
    // The stand-in for unknown users is a real hash, so checking it costs the same.
    assert!(argon2::password_hash::PasswordHash::new(DUMMY).is_ok());
    let users = vec![User {
        username: "dr.wang".into(),
        password: hash,
        role: "doctor".into(),
        organization: Some("Organization/h1".into()),
        practitioner: Some("Practitioner/d1".into()),
        person: None,
    }];
    let rows = vec![
        (
            "right password",
            show(login(&users, "dr.wang", "correct horse")),
        ),
        ("wrong password", show(login(&users, "dr.wang", "wrong"))),
        (
            "unknown user",
            show(login(&users, "dr.li", "correct horse")),
        ),
    ];
    check(
        rows,
        expect![[r#"
        right password  ok dr.wang doctor TREAT Some("Organization/h1") Some("Practitioner/d1") client None
        wrong password  401 invalid_grant: unknown user name or wrong password
        unknown user    401 invalid_grant: unknown user name or wrong password
    "#]],
    );
}

#[test]
fn config_round_trips() {
    let mut c = Config::with_secret(&[9; 32]);
    c.clients = clients();
    let text = serde_json::to_string(&c).expect("json");
    let back: Config = serde_json::from_str(&text).expect("json");
    assert_eq!(back.secret_bytes().expect("secret"), vec![9; 32]);
    assert_eq!(back.clients.len(), 2);
}

#[test]
fn feeds_are_admitted_by_address_and_facility() {
    let feed = crate::Feed {
        hospital: "h02".into(),
        facilities: vec!["H02".into(), "BJ-CHAOYANG".into()],
        addresses: vec!["10.8.0.0/16".into(), "192.168.1.7".into(), "::1".into()],
    };
    let rows: Vec<String> = [
        "10.8.3.4",
        "10.9.0.1",
        "192.168.1.7",
        "192.168.1.8",
        "::1",
        "::ffff:10.8.0.9",
        "127.0.0.1",
    ]
    .iter()
    .map(|a| format!("{a}: {}", feed.admits(a.parse().expect("an address"))))
    .chain(
        ["h02", "bj-chaoyang ", "H03"]
            .iter()
            .map(|f| format!("MSH-4 {f:?}: {}", feed.names(f))),
    )
    .collect();
    expect![[r#"
        10.8.3.4: true
        10.9.0.1: false
        192.168.1.7: true
        192.168.1.8: false
        ::1: true
        ::ffff:10.8.0.9: true
        127.0.0.1: false
        MSH-4 "h02": true
        MSH-4 "bj-chaoyang ": true
        MSH-4 "H03": false
    "#]]
    .assert_eq(&(rows.join("\n") + "\n"));
    assert!(!crate::within(
        "10.0.0.0/33",
        "10.0.0.1".parse().expect("ip")
    ));
    assert!(!crate::within(
        "not an address",
        "10.0.0.1".parse().expect("ip")
    ));
    assert!(crate::within("0.0.0.0/0", "8.8.8.8".parse().expect("ip")));
}
