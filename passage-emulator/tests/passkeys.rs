//! Passkeys on the emulator, driven over HTTP by a software authenticator (1Password's passkey
//! crates) as the login page's script drives a browser's: registration, discoverable and
//! identifier-first sign-in, and every relying-party rule refusing what it must.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Api, jwks, read, verify_with_jwks};
use passage_emulator::Emulator;
use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::{DefaultClientData, DefaultClientDataWithCustomHash};
use passkey_crypto::AvailableBackend;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use serde_json::{Value, json};
use webauthn_rs::prelude::Url;

/// Google Password Manager's AAGUID: the emulator knows its name and icons.
const GOOGLE_AAGUID: [u8; 16] = [
    0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4,
];

/// A user who verifies (a fingerprint, say) whenever asked, and refuses to re-register a
/// credential the relying party excludes.
struct Verifies;

#[async_trait::async_trait]
impl UserValidationMethod for Verifies {
    type PasskeyItem = passkey_types::Passkey;

    async fn check_user<'a>(
        &self,
        hint: UiHint<'a, Self::PasskeyItem>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        if matches!(hint, UiHint::InformExcludedCredentialFound(_)) {
            return Err(Ctap2Error::CredentialExcluded);
        }
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type Key = passkey_client::Client<
    Option<passkey_types::Passkey>,
    Verifies,
    AvailableBackend,
    public_suffix::PublicSuffixList,
    (),
>;

/// One authenticator holding (at most) one passkey.
fn authenticator(aaguid: [u8; 16], counter: bool) -> Key {
    let mut auth = Authenticator::new(Aaguid(aaguid), None, Verifies, AvailableBackend);
    auth.set_make_credentials_with_signature_counter(counter);
    passkey_client::Client::new(auth).allows_insecure_localhost(true)
}

/// The passkey the authenticator holds.
fn stored(key: &Key) -> &passkey_types::Passkey {
    key.authenticator()
        .store()
        .as_ref()
        .expect("the authenticator holds a passkey")
}

/// A browser on the login page: posts JSON to the page's endpoints with the page's origin.
struct Page {
    http: reqwest::Client,
    base: String,
    origin: Url,
}

/// An answer: status, JSON body, and the auth token of a `Set-Cookie`, if any.
struct Answer {
    status: u16,
    body: Value,
    token: Option<String>,
}

impl Page {
    fn new(emulator: &Emulator) -> Self {
        let login = emulator.login_url();
        Self {
            http: reqwest::Client::new(),
            base: emulator.origin().to_owned(),
            origin: Url::parse(&login).unwrap(),
        }
    }

    fn origin_text(&self) -> String {
        self.origin.origin().ascii_serialization()
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Origin", self.origin_text())
            .json(body)
            .send()
            .await
            .unwrap();
        let token = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("psg_auth_token="))
            .map(|c| c.split(';').next().unwrap_or_default().to_owned());
        let (status, body) = read(resp).await;
        Answer {
            status,
            body,
            token,
        }
    }

    /// Starts a registration (`{identifier}` or `{ticket}`).
    async fn register_start(&self, body: Value) -> Value {
        let started = self.post("/passkeys/register/start", &body).await;
        assert_eq!(started.status, 200, "{}", started.body);
        started.body
    }

    /// The authenticator's answer to a registration's options, as the page's script sends it.
    async fn create(&self, key: &mut Key, started: &Value) -> Value {
        let options: CredentialCreationOptions =
            serde_json::from_value(started["options"].clone()).unwrap();
        let created = key
            .register(&self.origin, options, DefaultClientData)
            .await
            .expect("the authenticator registers");
        serde_json::to_value(&created).unwrap()
    }

    async fn register_finish(&self, ceremony: &Value, credential: Value) -> Answer {
        self.post(
            "/passkeys/register/finish",
            &json!({ "ceremony": ceremony, "credential": credential }),
        )
        .await
    }

    /// Registers a new user with a new passkey; returns the auth token.
    async fn sign_up(&self, key: &mut Key, identifier: &str) -> String {
        let started = self
            .register_start(json!({ "identifier": identifier }))
            .await;
        let credential = self.create(key, &started).await;
        let done = self.register_finish(&started["ceremony"], credential).await;
        assert_eq!(done.status, 200, "{}", done.body);
        done.token.expect("a sign-up signs in")
    }

    async fn sign_in_start(&self, identifier: Option<&str>) -> Value {
        let body = identifier.map_or_else(|| json!({}), |i| json!({ "identifier": i }));
        let started = self.post("/passkeys/sign-in/start", &body).await;
        assert_eq!(started.status, 200, "{}", started.body);
        started.body
    }

    /// The authenticator's assertion for a sign-in's options.
    async fn get(&self, key: &mut Key, started: &Value) -> Value {
        let mut options = started["options"].clone();
        options.as_object_mut().unwrap().remove("mediation");
        let options: CredentialRequestOptions = serde_json::from_value(options).unwrap();
        let asserted = key
            .authenticate(&self.origin, options, DefaultClientData)
            .await
            .expect("the authenticator signs");
        serde_json::to_value(&asserted).unwrap()
    }

    async fn sign_in_finish(&self, ceremony: &Value, credential: &Value) -> Answer {
        self.post(
            "/passkeys/sign-in/finish",
            &json!({ "ceremony": ceremony, "credential": credential }),
        )
        .await
    }

    /// A discoverable sign-in from start to finish.
    async fn sign_in(&self, key: &mut Key) -> Answer {
        let started = self.sign_in_start(None).await;
        let credential = self.get(key, &started).await;
        self.sign_in_finish(&started["ceremony"], &credential).await
    }
}

async fn emulator() -> Emulator {
    Emulator::builder()
        .app_name("Passkey App")
        .auth_origin("http://localhost:8080")
        .redirect_url("http://localhost:8080/profile")
        .start()
        .await
        .unwrap()
}

async fn user_by_email(api: &Api, email: &str) -> Value {
    let (status, list) = api
        .get(&format!("/users?identifier={}", email.replace('@', "%40")))
        .await;
    assert_eq!(status, 200, "{list}");
    let id = list["users"][0]["id"].as_str().expect("the user exists");
    let (status, user) = api.get(&format!("/users/{id}")).await;
    assert_eq!(status, 200, "{user}");
    user["user"].clone()
}

/// A magic link's URL from the management API.
async fn magic_link(api: &Api, email: &str) -> String {
    let (status, body) = api
        .post(
            "/magic-links",
            json!({ "email": email, "channel": "email" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["magic_link"]["url"].as_str().unwrap().to_owned()
}

/// Follows a magic link as a browser navigation (where the landing may offer a passkey): the
/// status, the `Set-Cookie` and the page.
async fn follow_as_browser(emulator: &Emulator, link: &str) -> (u16, Option<String>, String) {
    let path = link.trim_start_matches(&emulator.login_url());
    let landing = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/{path}", emulator.origin()))
        .header("Sec-Fetch-Dest", "document")
        .header("Sec-Fetch-Mode", "navigate")
        .send()
        .await
        .unwrap();
    let status = landing.status().as_u16();
    let cookie = landing
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .map(str::to_owned);
    let html = landing.text().await.unwrap();
    (status, cookie, html)
}

fn ticket_in(html: &str) -> String {
    html.split("data-ticket=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries an offer ticket")
        .to_owned()
}

/// Asserts a refusal: its status, its code, a phrase of its message (the reason), no cookie.
#[track_caller]
fn assert_refused(answer: &Answer, status: u16, code: &str, reason: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["code"], code, "{}", answer.body);
    assert!(
        answer.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains(reason),
        "refused for another reason than {reason:?}: {}",
        answer.body
    );
    assert!(answer.token.is_none(), "a refusal sets no cookie");
}

#[tokio::test]
async fn a_new_user_registers_a_passkey_and_signs_in_with_it_both_ways() {
    let emulator = emulator().await;
    let api = Api::new(&emulator);
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, true);

    let token = page.sign_up(&mut key, "ada@example.com").await;
    let keys = jwks(&api).await;
    verify_with_jwks(&token, &keys).expect("the sign-up's token is the emulator's");

    let user = user_by_email(&api, "ada@example.com").await;
    assert_eq!(user["login_count"], 1);
    let devices = user["webauthn_devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{user}");
    let device = &devices[0];
    assert_eq!(
        device["cred_id"],
        URL_SAFE_NO_PAD.encode(&*stored(&key).credential_id),
        "the device is the authenticator's credential"
    );
    assert_eq!(device["type"], "passkey");
    assert_eq!(device["friendly_name"], "Google Password Manager");
    assert!(
        device["icons"]["light"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml,")
    );
    assert_eq!(device["usage_count"], 1);
    assert_eq!(user["webauthn"], true, "{user}");

    // Discoverable: no identifier, the authenticator names the user.
    let done = page.sign_in(&mut key).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["redirect_url"], "http://localhost:8080/profile");
    let token = done.token.expect("a cookie");
    verify_with_jwks(&token, &keys).unwrap();
    assert_eq!(
        common::jwt_part(&token, 1)["sub"],
        user["id"],
        "the token is the passkey's user's"
    );

    // Identifier first: the user's passkeys are offered.
    let started = page.sign_in_start(Some("ADA@example.com")).await;
    assert_eq!(started["next"], "passkey");
    let allowed = &started["options"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], device["cred_id"], "{started}");
    let credential = page.get(&mut key, &started).await;
    let done = page.sign_in_finish(&started["ceremony"], &credential).await;
    assert_eq!(done.status, 200, "{}", done.body);

    let user = user_by_email(&api, "ada@example.com").await;
    assert_eq!(user["login_count"], 3);
    assert_eq!(user["webauthn_devices"][0]["usage_count"], 3);
    assert_eq!(
        user["webauthn_devices"][0]["last_login_at"],
        user["last_login_at"]
    );
    let (status, events) = api
        .get(&format!("/users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = events["user"]["recent_events"]
        .as_array()
        .map(|events| events.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        kinds.iter().filter(|k| **k == "passkey_login").count() >= 3,
        "{events}"
    );
}

#[tokio::test]
async fn sign_in_start_says_what_an_identifier_needs() {
    let emulator = emulator().await;
    let api = Api::new(&emulator);
    let page = Page::new(&emulator);
    assert_eq!(
        page.sign_in_start(Some("new@example.com")).await["next"],
        "register"
    );
    api.create_user(json!({ "email": "link@example.com" }))
        .await;
    assert_eq!(
        page.sign_in_start(Some("link@example.com")).await["next"],
        "magic_link"
    );
    let bad = page
        .post(
            "/passkeys/sign-in/start",
            &json!({ "identifier": "not an email" }),
        )
        .await;
    assert_refused(&bad, 400, "invalid_request", "valid email address");
    // Signing up with a taken identifier is refused: sign in instead.
    let taken = page
        .post(
            "/passkeys/register/start",
            &json!({ "identifier": "link@example.com" }),
        )
        .await;
    assert_refused(&taken, 409, "identifier_exists", "exists");
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut key, "replay@example.com").await;

    let started = page.sign_in_start(None).await;
    let credential = page.get(&mut key, &started).await;
    let first = page.sign_in_finish(&started["ceremony"], &credential).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The same answer to the same ceremony: its challenge was used up.
    let again = page.sign_in_finish(&started["ceremony"], &credential).await;
    assert_refused(&again, 400, "webauthn_ceremony_not_found", "already used");
    // The same answer to a new ceremony: its challenge is not the new one.
    let fresh = page.sign_in_start(None).await;
    let replayed = page.sign_in_finish(&fresh["ceremony"], &credential).await;
    assert_refused(&replayed, 401, "invalid_credential", "challenge differs");
}

#[tokio::test]
async fn an_answer_to_another_challenge_is_refused() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut key, "challenge@example.com").await;

    let answered = page.sign_in_start(None).await;
    let other = page.sign_in_start(None).await;
    let credential = page.get(&mut key, &answered).await;
    let refused = page.sign_in_finish(&other["ceremony"], &credential).await;
    assert_refused(&refused, 401, "invalid_credential", "challenge differs");
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("passkey was refused")
    );

    // And a registration answered for one ceremony and finished with another.
    let mut second = authenticator(GOOGLE_AAGUID, false);
    let a = page
        .register_start(json!({ "identifier": "a@example.com" }))
        .await;
    let b = page
        .register_start(json!({ "identifier": "b@example.com" }))
        .await;
    let created = page.create(&mut second, &a).await;
    let refused = page.register_finish(&b["ceremony"], created).await;
    assert_refused(&refused, 401, "invalid_credential", "challenge differs");
}

#[tokio::test]
async fn an_assertion_made_for_another_origin_is_refused() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut key, "origin@example.com").await;

    // A page on another origin under the same RP ID (another port would do too).
    let port = emulator.addr().port();
    let evil = Page {
        origin: Url::parse(&format!("http://evil.localhost:{port}/")).unwrap(),
        ..Page::new(&emulator)
    };
    let started = page.sign_in_start(None).await;
    let credential = evil.get(&mut key, &started).await;
    let refused = page.sign_in_finish(&started["ceremony"], &credential).await;
    assert_refused(&refused, 401, "invalid_credential", "origin does not match");

    // Registration too.
    let mut other = authenticator(GOOGLE_AAGUID, false);
    let started = page
        .register_start(json!({ "identifier": "evil@example.com" }))
        .await;
    let created = evil.create(&mut other, &started).await;
    let refused = page.register_finish(&started["ceremony"], created).await;
    assert_refused(&refused, 401, "invalid_credential", "origin does not match");
}

#[tokio::test]
async fn an_assertion_for_another_rp_id_is_refused() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut key, "rpid@example.com").await;

    let started = page.sign_in_start(None).await;
    let mut options = started["options"].clone();
    options.as_object_mut().unwrap().remove("mediation");
    let mut options: CredentialRequestOptions = serde_json::from_value(options).unwrap();
    // The authenticator signs for evil.example (its RP ID hash), while the client data it signs
    // over names the real challenge and origin.
    let client_data = json!({
        "type": "webauthn.get",
        "challenge": URL_SAFE_NO_PAD.encode(&*options.public_key.challenge),
        "origin": page.origin_text(),
        "crossOrigin": false,
    })
    .to_string();
    options.public_key.rp_id = Some("evil.example".into());
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, client_data.as_bytes())
        .as_ref()
        .to_vec();
    let mut asserted = key
        .authenticate(
            &Url::parse("https://evil.example").unwrap(),
            options,
            DefaultClientDataWithCustomHash(hash),
        )
        .await
        .expect("the authenticator signs for any RP ID it is asked");
    asserted.response.client_data_json = client_data.into_bytes().into();
    let credential = serde_json::to_value(&asserted).unwrap();
    let refused = page.sign_in_finish(&started["ceremony"], &credential).await;
    assert_refused(&refused, 401, "invalid_credential", "relying party id hash");
}

#[tokio::test]
async fn user_verification_is_required() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut key, "uv@example.com").await;

    let started = page.sign_in_start(None).await;
    let mut tampered = started.clone();
    tampered["options"]["publicKey"]["userVerification"] = json!("discouraged");
    let credential = page.get(&mut key, &tampered).await;
    let refused = page.sign_in_finish(&started["ceremony"], &credential).await;
    assert_refused(&refused, 401, "invalid_credential", "user verified bit");

    // Registration without user verification is refused too.
    let mut other = authenticator(GOOGLE_AAGUID, false);
    let started = page
        .register_start(json!({ "identifier": "no-uv@example.com" }))
        .await;
    let mut tampered = started.clone();
    tampered["options"]["publicKey"]["authenticatorSelection"]["userVerification"] =
        json!("discouraged");
    let created = page.create(&mut other, &tampered).await;
    let refused = page.register_finish(&started["ceremony"], created).await;
    assert_refused(&refused, 401, "invalid_credential", "user verified bit");
}

#[tokio::test]
async fn a_signature_counter_that_goes_backwards_is_refused() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, true);
    page.sign_up(&mut key, "counter@example.com").await;
    assert_eq!(page.sign_in(&mut key).await.status, 200);
    assert_eq!(page.sign_in(&mut key).await.status, 200);

    // A clone of the authenticator, behind the original: its counter is lower.
    key.authenticator_mut()
        .store_mut()
        .as_mut()
        .unwrap()
        .counter = Some(1);
    let refused = page.sign_in(&mut key).await;
    assert_refused(&refused, 401, "invalid_credential", "compromised");
}

#[tokio::test]
async fn a_revoked_passkey_cannot_sign_in() {
    let emulator = emulator().await;
    let api = Api::new(&emulator);
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut key, "revoke@example.com").await;
    let user = user_by_email(&api, "revoke@example.com").await;
    let (user_id, device_id) = (
        user["id"].as_str().unwrap(),
        user["webauthn_devices"][0]["id"].as_str().unwrap(),
    );

    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/users/{user_id}/devices/{device_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let refused = page.sign_in(&mut key).await;
    assert_refused(
        &refused,
        401,
        "credential_not_found",
        "may have been removed",
    );
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("may have been removed"),
        "{}",
        refused.body
    );
    // The user has no passkey now: the identifier goes to a magic link.
    assert_eq!(
        page.sign_in_start(Some("revoke@example.com")).await["next"],
        "magic_link"
    );
}

#[tokio::test]
async fn the_user_handle_must_be_the_credentials_account() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut ada = authenticator(GOOGLE_AAGUID, false);
    let mut bob = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut ada, "ada@example.com").await;
    page.sign_up(&mut bob, "bob@example.com").await;
    let bob_handle = stored(&bob).user_handle.clone().unwrap();

    // Ada's assertion, claiming to be Bob (the user handle is not signed), in both flows.
    for identifier in [None, Some("ada@example.com")] {
        let started = page.sign_in_start(identifier).await;
        let mut credential = page.get(&mut ada, &started).await;
        credential["response"]["userHandle"] = json!(URL_SAFE_NO_PAD.encode(&*bob_handle));
        let refused = page.sign_in_finish(&started["ceremony"], &credential).await;
        assert_refused(&refused, 401, "invalid_credential", "user handle");
    }
}

#[tokio::test]
async fn a_credential_registered_twice_is_refused() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut first = authenticator(GOOGLE_AAGUID, false);
    page.sign_up(&mut first, "first@example.com").await;
    let taken = stored(&first).credential_id.to_vec();

    // A second registration whose authenticator data carries the first credential's ID (with
    // attestation "none" nothing signs the authenticator data, so a client can send this).
    let mut second = authenticator(GOOGLE_AAGUID, false);
    let started = page
        .register_start(json!({ "identifier": "second@example.com" }))
        .await;
    let mut created = page.create(&mut second, &started).await;
    let object = URL_SAFE_NO_PAD
        .decode(created["response"]["attestationObject"].as_str().unwrap())
        .unwrap();
    let mut object: ciborium::Value = ciborium::from_reader(object.as_slice()).unwrap();
    let ciborium::Value::Map(entries) = &mut object else {
        panic!("attestation object is a map");
    };
    for (k, v) in entries.iter_mut() {
        if k.as_text() == Some("authData") {
            let ciborium::Value::Bytes(data) = v else {
                panic!("authData is bytes")
            };
            // rpIdHash 32, flags 1, counter 4, AAGUID 16, then the ID's length and the ID.
            let len = usize::from(u16::from_be_bytes([data[53], data[54]]));
            assert_eq!(
                len,
                taken.len(),
                "both authenticators make IDs of one length"
            );
            data[55..55 + len].copy_from_slice(&taken);
        }
    }
    let mut bytes = Vec::new();
    ciborium::into_writer(&object, &mut bytes).unwrap();
    let id = URL_SAFE_NO_PAD.encode(&taken);
    created["response"]["attestationObject"] = json!(URL_SAFE_NO_PAD.encode(&bytes));
    created["id"] = json!(id);
    created["rawId"] = json!(id);
    let refused = page.register_finish(&started["ceremony"], created).await;
    assert_refused(&refused, 409, "credential_exists", "already registered");
    assert!(
        emulator.create_user("second@example.com").is_ok(),
        "the refused registration created no user"
    );
}

#[tokio::test]
async fn a_ceremony_past_its_time_is_refused() {
    let emulator = Emulator::builder()
        .passkey_timeout(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, false);
    let started = page
        .register_start(json!({ "identifier": "late@example.com" }))
        .await;
    let created = page.create(&mut key, &started).await;
    let refused = page.register_finish(&started["ceremony"], created).await;
    assert_refused(&refused, 400, "webauthn_ceremony_not_found", "expired");
    assert!(refused.body["error"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn ceremonies_in_progress_are_bounded() {
    let emulator = Emulator::builder()
        .login_rate_limit(5_000, Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let page = Page::new(&emulator);
    for _ in 0..1_050 {
        page.sign_in_start(None).await;
    }
    assert_eq!(emulator.stats().passkey_ceremonies, 1_000);
}

#[tokio::test]
async fn a_magic_link_user_is_offered_a_passkey_and_adds_one() {
    let emulator = emulator().await;
    let api = Api::new(&emulator);
    let page = Page::new(&emulator);
    let link = magic_link(&api, "offer@example.com").await;
    assert!(link.starts_with(&emulator.login_url()), "{link}");

    // A browser following the link: signed in, then offered a passkey.
    let (status, cookie, html) = follow_as_browser(&emulator, &link).await;
    assert_eq!(status, 200);
    assert!(
        cookie.is_some_and(|c| c.starts_with("psg_auth_token=")),
        "signed in before the offer"
    );
    assert!(html.contains("id=\"create-passkey\""), "{html}");
    assert!(
        html.contains("href=\"http://localhost:8080/profile\""),
        "Not now goes on"
    );
    let ticket = ticket_in(&html);

    let mut key = authenticator(GOOGLE_AAGUID, false);
    let started = page.register_start(json!({ "ticket": ticket })).await;
    let created = page.create(&mut key, &started).await;
    let done = page.register_finish(&started["ceremony"], created).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["redirect_url"], "http://localhost:8080/profile");
    assert!(done.token.is_none(), "already signed in: no new token");
    let user = user_by_email(&api, "offer@example.com").await;
    assert_eq!(user["webauthn_devices"].as_array().unwrap().len(), 1);
    assert_eq!(user["login_count"], 1);
    assert_eq!(page.sign_in(&mut key).await.status, 200);
    // The offer added one passkey: its ticket adds no more.
    let again = page
        .post("/passkeys/register/start", &json!({ "ticket": ticket }))
        .await;
    assert_refused(&again, 401, "invalid_credential", "has a passkey already");

    // A user with a passkey is not offered another: the link redirects as for an API client.
    let second = magic_link(&api, "offer@example.com").await;
    let (status, cookie, _) = follow_as_browser(&emulator, &second).await;
    assert_eq!(status, 303);
    assert!(cookie.is_some_and(|c| c.starts_with("psg_auth_token=")));

    // A made-up ticket starts nothing.
    let bogus = page
        .post(
            "/passkeys/register/start",
            &json!({ "ticket": "not-a-ticket" }),
        )
        .await;
    assert_refused(&bogus, 400, "webauthn_ceremony_not_found", "unknown");
}

#[tokio::test]
async fn passkeys_persist_with_the_data_file() {
    let dir = common::temp_dir("passkeys");
    let file = dir.join("state.json");
    let mut key = authenticator(GOOGLE_AAGUID, true);
    {
        let emulator = Emulator::builder()
            .data_file(&file)
            .port(0)
            .start()
            .await
            .unwrap();
        let page = Page::new(&emulator);
        page.sign_up(&mut key, "kept@example.com").await;
        assert_eq!(page.sign_in(&mut key).await.status, 200);
        emulator.shutdown().await;
    }
    let emulator = Emulator::builder().data_file(&file).start().await.unwrap();
    let page = Page::new(&emulator);
    let done = page.sign_in(&mut key).await;
    assert_eq!(done.status, 200, "{}", done.body);
    // The counter was kept too: a clone behind it is still refused after the restart.
    key.authenticator_mut()
        .store_mut()
        .as_mut()
        .unwrap()
        .counter = Some(1);
    assert_refused(
        &page.sign_in(&mut key).await,
        401,
        "invalid_credential",
        "compromised",
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn another_sites_page_cannot_start_a_ceremony() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/passkeys/sign-in/start", emulator.origin()))
        .header("Origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = http
        .post(format!("{}/passkeys/sign-in/start", emulator.origin()))
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "only JSON bodies");
}

#[tokio::test]
async fn the_login_page_loads_its_script_from_its_own_origin() {
    let emulator = emulator().await;
    let http = reqwest::Client::new();
    let page = http.get(emulator.origin()).send().await.unwrap();
    let csp = page
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<script src=\"/passkeys.js\"></script>"));
    assert!(html.contains("id=\"passkey-sign-in\""));
    let script = http
        .get(format!("{}/passkeys.js", emulator.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn an_offer_adds_nothing_to_a_deactivated_user() {
    let emulator = emulator().await;
    let api = Api::new(&emulator);
    let page = Page::new(&emulator);
    let link = magic_link(&api, "gone@example.com").await;
    let ticket = ticket_in(&follow_as_browser(&emulator, &link).await.2);
    let user = user_by_email(&api, "gone@example.com").await;
    let (status, _) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/users/{}/deactivate", user["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let refused = page
        .post("/passkeys/register/start", &json!({ "ticket": ticket }))
        .await;
    assert_refused(&refused, 403, "user_not_active", "not active");
}

#[tokio::test]
async fn two_ceremonies_answered_with_one_counter_value_cannot_both_pass() {
    let emulator = emulator().await;
    let page = Page::new(&emulator);
    let mut key = authenticator(GOOGLE_AAGUID, true);
    page.sign_up(&mut key, "race@example.com").await;
    // Both started before either finishes: each saw the same stored counter.
    let first = page.sign_in_start(Some("race@example.com")).await;
    let second = page.sign_in_start(Some("race@example.com")).await;
    let counter = stored(&key).counter;
    let a = page.get(&mut key, &first).await;
    // A clone of the authenticator answers the second with the same counter value.
    key.authenticator_mut()
        .store_mut()
        .as_mut()
        .unwrap()
        .counter = counter;
    let b = page.get(&mut key, &second).await;
    assert_eq!(
        page.sign_in_finish(&first["ceremony"], &a).await.status,
        200
    );
    let refused = page.sign_in_finish(&second["ceremony"], &b).await;
    assert_refused(
        &refused,
        401,
        "invalid_credential",
        "counter went backwards",
    );
}

#[tokio::test]
async fn a_timeout_beyond_an_hour_is_refused_at_start() {
    let refused = Emulator::builder()
        .passkey_timeout(Duration::from_secs(u64::MAX))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(refused, passage_emulator::EmulatorError::Config(_)),
        "{refused}"
    );
}

#[tokio::test]
async fn an_app_on_an_ip_address_keeps_the_login_page_there_without_passkeys() {
    let emulator = Emulator::builder()
        .auth_origin("http://127.0.0.1:3000")
        .start()
        .await
        .unwrap();
    let port = emulator.addr().port();
    assert_eq!(emulator.login_url(), format!("http://127.0.0.1:{port}/"));
    let page = Page::new(&emulator);
    let refused = page.post("/passkeys/sign-in/start", &json!({})).await;
    assert_refused(&refused, 400, "passkeys_unavailable", "domain name");
    let html = reqwest::get(emulator.origin())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-passkey-origin=\"\""), "{html}");
    // Magic links still sign in, on the app's host.
    let api = Api::new(&emulator);
    let link = magic_link(&api, "ip@example.com").await;
    assert!(link.starts_with(&format!("http://127.0.0.1:{port}/?psg_magic_link=")));
}
