//! The four example apps (`examples/*-app`) honour one contract, end to end: each binary is
//! started against an in-process emulator, in both auth strategies, and probed over real HTTP.
//!
//! The binaries are taken from the target directory of this test (`target/debug/`), built (or
//! found fresh) first with `$CARGO build -p actix-app -p rocket-app -p warp-app -p axum-app`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use passage_emulator::{Emulator, TokenOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

const APPS: [&str; 4] = ["actix-app", "rocket-app", "warp-app", "axum-app"];

/// The directory holding the binaries (`target/debug/`, next to this test's `deps/`), after
/// `cargo build -p <each app>`: a no-op when they are fresh, and it keeps a stale
/// or missing binary from being tested.
fn bin_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // target/debug/deps/examples_contract-<hash> → target/debug
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target dir")
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .arg("build")
            .args(APPS.iter().flat_map(|app| ["-p", app]))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example binaries failed");
        for app in APPS {
            assert!(
                dir.join(app).exists(),
                "{app} not found in {}",
                dir.display()
            );
        }
        dir
    })
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running example app; killed on drop.
struct App {
    name: &'static str,
    child: Child,
    base: String,
    /// Where its stderr (the log) goes.
    log: PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl App {
    async fn start(name: &'static str, emu: &Emulator, strategy: &str, rust_log: &str) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "passage-contract-{name}-{strategy}-{}-{port}.log",
            std::process::id()
        ));
        let stderr = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin_dir().join(name))
            .env("PASSAGE_APP_ID", emu.app_id())
            .env("PASSAGE_API_KEY", emu.api_key())
            .env("PASSAGE_AUTH_STRATEGY", strategy)
            .env("PASSAGE_AUTH_ORIGIN", emu.origin())
            .env("PASSAGE_API_ORIGIN", emu.origin())
            .env("PORT", port.to_string())
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let mut app = Self {
            name,
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        app.wait_healthy().await;
        app
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited during startup: {status}", self.name);
            }
            if let Ok(response) = client.get(format!("{}/health", self.base)).send().await {
                assert_eq!(response.status(), StatusCode::OK, "{} /health", self.name);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never became healthy",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One probe's answer.
struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

struct Probe {
    client: reqwest::Client,
    base: String,
    strategy: &'static str,
    label: String,
}

impl Probe {
    fn new(app: &App, strategy: &'static str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: app.base.clone(),
            strategy,
            label: format!("{} ({strategy})", app.name),
        }
    }

    /// Sends `method path` with `token` in the strategy's source.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = match self.strategy {
                "cookie" => request.header("cookie", format!("psg_auth_token={token}")),
                _ => request.header("authorization", format!("Bearer {token}")),
            };
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {path}: {e}", self.label));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (challenge, retry_after) = (header("www-authenticate"), header("retry-after"));
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            challenge,
            retry_after,
            body,
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// Asserts a refusal: status, challenge, and a JSON body that says nothing of the reason.
    fn assert_refused(
        &self,
        answer: &Answer,
        status: StatusCode,
        challenge: Option<&str>,
        what: &str,
    ) {
        let label = &self.label;
        assert_eq!(answer.status, status, "{label}: {what}: {:?}", answer.body);
        assert_eq!(answer.challenge.as_deref(), challenge, "{label}: {what}");
        assert!(
            answer.body.get("code").is_some(),
            "{label}: {what}: body {:?}",
            answer.body
        );
        let text = answer.body.to_string();
        for leak in [
            "token expired",
            "signature",
            "kid",
            "JWKS",
            "issuer",
            "audience",
        ] {
            assert!(
                !text.contains(leak),
                "{label}: {what}: body leaks {leak:?}: {text}"
            );
        }
    }
}

async fn fault(emu: &Emulator, target: &str, status: u16) {
    let url = format!("{}/emulator/v1/apps/{}/faults", emu.origin(), emu.app_id());
    let spec = json!({ "target": target, "count": 1000, "mode": "status", "status": status });
    let response = reqwest::Client::new()
        .post(url)
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "arming a fault: {}",
        response.status()
    );
}

async fn clear_faults(emu: &Emulator) {
    let url = format!("{}/emulator/v1/apps/{}/faults", emu.origin(), emu.app_id());
    let response = reqwest::Client::new().delete(url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "clearing faults: {}",
        response.status()
    );
}

fn forge(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let start = token.rfind('.').unwrap() + 1;
    let i = start + (bytes.len() - start) / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Every route of the contract, for one app in one strategy, on a fresh emulator.
async fn check_contract(name: &'static str, strategy: &'static str) {
    let emu = Emulator::builder().start().await.unwrap();
    let user_id = emu.create_user("alice@example.com").unwrap();
    let token = emu.mint_token(&user_id).unwrap();
    // The challenges name the app as realm (RFC 6750).
    let bare = format!(r#"Bearer realm="{}""#, emu.app_id());
    let invalid = format!(r#"Bearer realm="{}", error="invalid_token""#, emu.app_id());
    let (bare, invalid) = (Some(bare.as_str()), Some(invalid.as_str()));
    let expired = emu
        .mint_token_with(
            &user_id,
            TokenOptions {
                ttl: Some(-300),
                claims: None,
            },
        )
        .unwrap();
    let stranger = Emulator::builder().start().await.unwrap();
    let foreign = stranger.mint_token(&user_id).unwrap();

    // The JWKS is down before the app ever fetched it: 503 with Retry-After, even when optional.
    fault(&emu, "jwks", 503).await;
    // The most verbose logging there is, so the log check at the end sees everything.
    let rust_log = if strategy == "cookie" {
        "trace"
    } else {
        "debug"
    };
    let app = App::start(name, &emu, strategy, rust_log).await;
    let probe = Probe::new(&app, strategy);
    assert_eq!(probe.get("/health", None).await.status, StatusCode::OK);
    for path in ["/authenticated", "/optional"] {
        let answer = probe.get(path, Some(&token)).await;
        probe.assert_refused(
            &answer,
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            &format!("{path} in a JWKS outage"),
        );
        let retry: u64 = answer
            .retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(
            (1..=60).contains(&retry),
            "{}: Retry-After {retry}",
            probe.label
        );
    }
    clear_faults(&emu).await;
    // Recovery once the backoff has passed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = probe.get("/authenticated", Some(&token)).await;
        if answer.status == StatusCode::OK {
            break;
        }
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            probe.label
        );
        assert!(
            Instant::now() < deadline,
            "{}: no recovery after the outage",
            probe.label
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // /control: unguarded, the shape of /authenticated's answer, token or not.
    for token in [Some(token.as_str()), None, Some("forged.token.value")] {
        let answer = probe.get("/control", token).await;
        assert_eq!(
            (answer.status, &answer.body),
            (
                StatusCode::OK,
                &json!({ "user_id": "control-route-not-a-user" })
            ),
            "{}",
            probe.label
        );
    }

    // /authenticated
    let answer = probe.get("/authenticated", Some(&token)).await;
    assert_eq!(
        (answer.status, &answer.body),
        (StatusCode::OK, &json!({ "user_id": user_id })),
        "{}",
        probe.label
    );
    let answer = probe.get("/authenticated", None).await;
    probe.assert_refused(
        &answer,
        StatusCode::UNAUTHORIZED,
        bare,
        "/authenticated without a token",
    );
    for (what, bad) in [
        ("expired", &expired),
        ("forged", &forge(&token)),
        ("foreign", &foreign),
    ] {
        let answer = probe.get("/authenticated", Some(bad)).await;
        probe.assert_refused(
            &answer,
            StatusCode::UNAUTHORIZED,
            invalid,
            &format!("/authenticated {what}"),
        );
    }
    // The token in the other source does not count.
    let other = match strategy {
        "cookie" => probe
            .client
            .get(format!("{}/authenticated", probe.base))
            .bearer_auth(&token),
        _ => probe
            .client
            .get(format!("{}/authenticated", probe.base))
            .header("cookie", format!("psg_auth_token={token}")),
    };
    assert_eq!(
        other.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "{}",
        probe.label
    );

    // /optional
    let answer = probe.get("/optional", None).await;
    assert_eq!(
        (answer.status, &answer.body),
        (StatusCode::OK, &json!({ "user_id": null })),
        "{}",
        probe.label
    );
    let answer = probe.get("/optional", Some(&token)).await;
    assert_eq!(
        (answer.status, &answer.body),
        (StatusCode::OK, &json!({ "user_id": user_id })),
        "{}",
        probe.label
    );
    for (what, bad) in [("expired", &expired), ("forged", &forge(&token))] {
        let answer = probe.get("/optional", Some(bad)).await;
        probe.assert_refused(
            &answer,
            StatusCode::UNAUTHORIZED,
            invalid,
            &format!("/optional {what}"),
        );
    }

    // /me
    let answer = probe.get("/me", Some(&token)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}: /me {:?}",
        probe.label,
        answer.body
    );
    assert_eq!(answer.body["id"], json!(user_id), "{}", probe.label);
    assert_eq!(
        answer.body["email"],
        json!("alice@example.com"),
        "{}",
        probe.label
    );
    let answer = probe.get("/me", None).await;
    probe.assert_refused(
        &answer,
        StatusCode::UNAUTHORIZED,
        bare,
        "/me without a token",
    );
    let answer = probe.get("/me", Some(&forge(&token))).await;
    probe.assert_refused(&answer, StatusCode::UNAUTHORIZED, invalid, "/me forged");
    fault(&emu, "api", 503).await;
    let answer = probe.get("/me", Some(&token)).await;
    assert_eq!(
        answer.status,
        StatusCode::BAD_GATEWAY,
        "{}: /me in an API outage",
        probe.label
    );
    clear_faults(&emu).await;
    assert_eq!(
        probe.get("/me", Some(&token)).await.status,
        StatusCode::OK,
        "{}",
        probe.label
    );

    if name == "axum-app" {
        check_axum_admin(&probe, &token, &emu, &user_id).await;
        check_axum_metrics(&probe).await;
    }
    if name == "warp-app" {
        // The link goes to the user's inbox; the answer never carries its one-time secret.
        let before = emu.inbox().len();
        let answer = probe
            .send(reqwest::Method::POST, "/me/magic-link", Some(&token), None)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::ACCEPTED,
            "{}: {:?}",
            probe.label,
            answer.body
        );
        assert!(answer.body.get("secret").is_none() && answer.body.get("url").is_none());
        assert_eq!(
            emu.inbox().len(),
            before + 1,
            "{}: the link was sent",
            probe.label
        );
    }
    // Nothing secret reached the log: no token (valid, expired, foreign or forged), no API key,
    // no magic-link secret.
    let log = std::fs::read_to_string(&app.log).unwrap();
    assert!(!log.is_empty(), "{}: the log was captured", probe.label);
    let signature = |t: &str| t.rsplit('.').next().unwrap().to_owned();
    let mut secrets = vec![
        ("the API key", emu.api_key().to_owned()),
        ("a token", token.clone()),
        ("a token's signature", signature(&token)),
        ("an expired token", signature(&expired)),
        ("a foreign token", signature(&foreign)),
        ("a forged token", signature(&forge(&token))),
    ];
    for message in emu.inbox() {
        if let Some((_, secret)) = message.url.split_once("psg_magic_link=") {
            let secret = secret.split(['&', '#']).next().unwrap_or(secret);
            secrets.push(("a magic-link secret", secret.to_owned()));
        }
    }
    for (what, secret) in secrets {
        assert!(
            !log.contains(&secret),
            "{} at RUST_LOG={rust_log} logged {what}",
            probe.label
        );
    }
    drop(app);
    emu.shutdown().await;
    stranger.shutdown().await;
}

/// The axum example's `/metrics`: the SDK's counters, in Prometheus' text format, after the
/// contract's requests (valid, missing and invalid tokens, management calls).
async fn check_axum_metrics(probe: &Probe) {
    let answer = probe.get("/metrics", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", probe.label);
    let Value::String(text) = answer.body else {
        panic!("{}: /metrics is not text: {:?}", probe.label, answer.body);
    };
    for line in [
        r#"passage_verifications_total{outcome="valid",reason="none"}"#,
        r#"passage_verifications_total{outcome="missing_token",reason="none"}"#,
        r#"passage_verifications_total{outcome="invalid_token",reason="bad_signature"}"#,
        r#"passage_token_cache_total{result="hit"}"#,
        r#"passage_jwks_fetches_total{cause="missing",outcome="updated"}"#,
        r#"passage_management_calls_total{method="GET",path="/v1/apps/{app_id}/users/{user_id}",status="200"}"#,
    ] {
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix(line)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{}: no {line} in\n{text}", probe.label));
        assert!(count >= 1.0, "{}: {line} {count}", probe.label);
    }
}

/// The management routes of the axum example.
async fn check_axum_admin(probe: &Probe, token: &str, emu: &Emulator, user_id: &str) {
    use reqwest::Method;
    let label = &probe.label;
    let answer = probe.get("/admin/users/nobody", None).await;
    let bare = format!(r#"Bearer realm="{}""#, emu.app_id());
    probe.assert_refused(
        &answer,
        StatusCode::UNAUTHORIZED,
        Some(&bare),
        "/admin without a token",
    );
    // Signed in but not an administrator: refused, and nothing is created.
    for (method, path, body) in [
        (Method::GET, format!("/admin/users/{user_id}"), None),
        (
            Method::POST,
            "/admin/magic-links".to_owned(),
            Some(json!({ "email": "victim@example.com" })),
        ),
        (Method::DELETE, format!("/admin/users/{user_id}"), None),
    ] {
        let answer = probe.send(method, &path, Some(token), body).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{label}: {path} as a non-admin"
        );
        assert!(
            answer.body.get("url").is_none(),
            "{label}: no magic link leaks"
        );
    }
    // Make the signed-in user an administrator, through the management API.
    let made_admin = reqwest::Client::new()
        .patch(format!(
            "{}/v1/apps/{}/users/{user_id}",
            emu.origin(),
            emu.app_id()
        ))
        .bearer_auth(emu.api_key())
        .json(&json!({ "user_metadata": { "role": "admin" } }))
        .send()
        .await
        .expect("update metadata");
    assert!(
        made_admin.status().is_success(),
        "{label}: {}",
        made_admin.status()
    );

    let answer = probe
        .send(
            Method::POST,
            "/admin/users",
            Some(token),
            Some(json!({ "email": "bob@example.com" })),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{label}: create {:?}",
        answer.body
    );
    let id = answer.body["id"].as_str().expect("user id").to_owned();
    let user = format!("/admin/users/{id}");

    let answer = probe
        .send(
            Method::PATCH,
            &user,
            Some(token),
            Some(json!({ "email": "robert@example.com" })),
        )
        .await;
    assert_eq!(
        (answer.status, &answer.body["email"]),
        (StatusCode::OK, &json!("robert@example.com")),
        "{label}: update"
    );
    let answer = probe
        .send(
            Method::POST,
            &format!("{user}/deactivate"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        (answer.status, &answer.body["status"]),
        (StatusCode::OK, &json!("inactive")),
        "{label}: deactivate"
    );
    let answer = probe
        .send(Method::POST, &format!("{user}/activate"), Some(token), None)
        .await;
    assert_eq!(
        (answer.status, &answer.body["status"]),
        (StatusCode::OK, &json!("active")),
        "{label}: activate"
    );
    let answer = probe.get(&format!("{user}/devices"), Some(token)).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{label}: devices {:?}",
        answer.body
    );
    assert!(
        answer.body["devices"].is_array(),
        "{label}: devices {:?}",
        answer.body
    );
    let answer = probe
        .send(
            Method::DELETE,
            &format!("{user}/devices/nodevice"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::NOT_FOUND,
        "{label}: revoke a missing device {:?}",
        answer.body
    );
    let answer = probe
        .send(
            Method::POST,
            &format!("{user}/revoke-sessions"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::NO_CONTENT,
        "{label}: revoke sessions {:?}",
        answer.body
    );
    let answer = probe
        .send(
            Method::POST,
            "/admin/magic-links",
            Some(token),
            Some(json!({ "email": "carol@example.com" })),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{label}: magic link {:?}",
        answer.body
    );
    assert!(
        answer.body["url"]
            .as_str()
            .is_some_and(|url| url.contains("psg_magic_link=")),
        "{label}: {:?}",
        answer.body
    );
    let answer = probe.send(Method::DELETE, &user, Some(token), None).await;
    assert_eq!(
        answer.status,
        StatusCode::NO_CONTENT,
        "{label}: delete {:?}",
        answer.body
    );
    assert_eq!(
        probe.get(&user, Some(token)).await.status,
        StatusCode::NOT_FOUND,
        "{label}: deleted user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_app_honours_the_contract() {
    for strategy in ["cookie", "header"] {
        check_contract("actix-app", strategy).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocket_app_honours_the_contract() {
    for strategy in ["cookie", "header"] {
        check_contract("rocket-app", strategy).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warp_app_honours_the_contract() {
    for strategy in ["cookie", "header"] {
        check_contract("warp-app", strategy).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_app_honours_the_contract() {
    for strategy in ["cookie", "header"] {
        check_contract("axum-app", strategy).await;
    }
}

#[test]
fn misconfiguration_is_a_clear_message_and_a_non_zero_exit() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "PASSAGE_APP_ID"),
        (
            &[
                ("PASSAGE_APP_ID", "app"),
                ("PASSAGE_AUTH_STRATEGY", "sometimes"),
            ],
            "auth strategy",
        ),
        (&[("PASSAGE_APP_ID", "app"), ("PORT", "eighty")], "PORT"),
        (&[("PASSAGE_APP_ID", "app"), ("WORKERS", "0")], "WORKERS"),
    ];
    for app in APPS {
        for (vars, expected) in cases {
            let mut command = Command::new(bin_dir().join(app));
            for name in [
                "PASSAGE_APP_ID",
                "PASSAGE_API_KEY",
                "PASSAGE_AUTH_STRATEGY",
                "PASSAGE_AUTH_ORIGIN",
                "PASSAGE_API_ORIGIN",
                "PORT",
                "WORKERS",
            ] {
                command.env_remove(name);
            }
            command.envs(vars.iter().copied()).stdin(Stdio::null());
            let output = command.output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{app} {vars:?} started anyway");
            assert!(
                stderr.contains(expected),
                "{app} {vars:?}: stderr {stderr:?}"
            );
        }
    }
}
