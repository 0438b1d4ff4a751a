//! Shared helpers for the emulator's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passage_emulator::Emulator;
use serde_json::Value;

/// JSON type expectations for [`assert_shape`].
#[derive(Clone, Copy, Debug)]
pub enum T {
    Str,
    Bool,
    Int,
    Obj,
    Arr,
    /// An RFC 3339 timestamp string.
    Time,
    NullableStr,
    NullableObj,
    NullableTime,
}

fn is_time(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
    })
}

fn type_ok(t: T, v: &Value) -> bool {
    match t {
        T::Str => v.is_string(),
        T::Bool => v.is_boolean(),
        T::Int => v.is_i64() || v.is_u64(),
        T::Obj => v.is_object(),
        T::Arr => v.is_array(),
        T::Time => is_time(v),
        T::NullableStr => v.is_null() || v.is_string(),
        T::NullableObj => v.is_null() || v.is_object(),
        T::NullableTime => v.is_null() || is_time(v),
    }
}

/// Asserts that `v` is an object with exactly these keys, each of the given type.
#[track_caller]
pub fn assert_shape(v: &Value, fields: &[(&str, T)]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut expected: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    expected.sort_unstable();
    let mut actual: Vec<&str> = obj.keys().map(String::as_str).collect();
    actual.sort_unstable();
    assert_eq!(actual, expected, "key set differs in {v}");
    for (k, t) in fields {
        assert!(type_ok(*t, &obj[*k]), "field {k} is not {t:?}: {}", obj[*k]);
    }
}

/// Asserts that `v` has at least these keys with these types (for objects with many optional
/// fields such as `AppInfo`).
#[track_caller]
pub fn assert_has(v: &Value, fields: &[(&str, T)]) {
    for (k, t) in fields {
        let f = v.get(*k).unwrap_or_else(|| panic!("missing {k} in {v}"));
        assert!(type_ok(*t, f), "field {k} is not {t:?}: {f}");
    }
}

pub const ERROR: &[(&str, T)] = &[("code", T::Str), ("error", T::Str)];

pub const LIST_ITEM: &[(&str, T)] = &[
    ("created_at", T::Time),
    ("email", T::Str),
    ("email_verified", T::Bool),
    ("external_id", T::Str),
    ("id", T::Str),
    ("last_login_at", T::Time),
    ("login_count", T::Int),
    ("phone", T::Str),
    ("phone_verified", T::Bool),
    ("status", T::Str),
    ("updated_at", T::Time),
    ("user_metadata", T::NullableObj),
];

pub fn user_info_fields() -> Vec<(&'static str, T)> {
    let mut f = LIST_ITEM.to_vec();
    f.extend([
        ("recent_events", T::Arr),
        ("social_connections", T::Obj),
        ("webauthn", T::Bool),
        ("webauthn_devices", T::Arr),
        ("webauthn_types", T::Arr),
    ]);
    f
}

pub const DEVICE: &[(&str, T)] = &[
    ("created_at", T::Time),
    ("cred_id", T::Str),
    ("friendly_name", T::Str),
    ("id", T::Str),
    ("last_login_at", T::Time),
    ("type", T::Str),
    ("updated_at", T::Time),
    ("usage_count", T::Int),
    ("icons", T::Obj),
];

pub const ICONS: &[(&str, T)] = &[("light", T::NullableStr), ("dark", T::NullableStr)];

pub const EVENT: &[(&str, T)] = &[
    ("created_at", T::Time),
    ("completed_at", T::NullableTime),
    ("id", T::Str),
    ("ip_addr", T::Str),
    ("status", T::Str),
    ("type", T::Str),
    ("user_agent", T::Str),
    ("user_agent_display", T::Str),
    ("action", T::Str),
    ("social_login_type", T::NullableStr),
];

pub const MAGIC_LINK: &[(&str, T)] = &[
    ("activated", T::Bool),
    ("app_id", T::Str),
    ("id", T::Str),
    ("identifier", T::Str),
    ("redirect_url", T::Str),
    ("secret", T::Str),
    ("ttl", T::Int),
    ("type", T::Str),
    ("url", T::Str),
    ("user_id", T::Str),
];

/// A new, empty directory for one test's files.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "passage-emulator-{tag}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub async fn start() -> Emulator {
    Emulator::builder()
        .app_name("Test App")
        .auth_origin("http://127.0.0.1:8080")
        .redirect_url("http://127.0.0.1:8080/profile")
        .start()
        .await
        .unwrap()
}

/// A small API client bound to one emulator.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
    pub app: String,
}

impl Api {
    pub fn new(emu: &Emulator) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: emu.origin().to_string(),
            key: emu.api_key().to_string(),
            app: emu.app_id().to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/apps/{}{path}", self.base, self.app)
    }

    pub fn control(&self, path: &str) -> String {
        format!("{}/emulator/v1/apps/{}{path}", self.base, self.app)
    }

    /// Sends a request with the API key; returns status and JSON body (`Null` if empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn control_post(&self, path: &str, body: Value) -> (u16, Value) {
        read(
            self.http
                .post(self.control(path))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Exchanges a magic link secret (`PATCH .../magic-link/activate`, no key needed).
    pub async fn activate(&self, secret: &str) -> (u16, Value) {
        read(
            self.http
                .patch(self.url("/magic-link/activate"))
                .json(&serde_json::json!({ "magic_link": secret }))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn create_user(&self, body: Value) -> Value {
        let (s, v) = self.post("/users", body).await;
        assert_eq!(s, 201, "{v}");
        v["user"].clone()
    }
}

pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON body: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, v)
}

/// Decodes a JWT part (header or payload) to JSON.
pub fn jwt_part(token: &str, idx: usize) -> Value {
    let part = token.split('.').nth(idx).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies an RS256 token's signature against a JWKS document; returns the kid used.
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<String, String> {
    let header = jwt_part(token, 0);
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .ok_or_else(|| format!("kid {kid} not in JWKS"))?;
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let (signing_input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signing_input.as_bytes(),
            &sig,
        )
        .map_err(|_| "bad signature".to_string())?;
    Ok(kid.to_string())
}

pub async fn jwks(api: &Api) -> Value {
    let (s, v) = read(
        api.http
            .get(api.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    v
}
