//! Fault injection, request counters, reset, and persistence across restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use passage_emulator::Emulator;
use serde_json::json;

async fn arm(api: &Api, body: serde_json::Value) {
    let (s, v) = api.control_post("/faults", body).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn status_faults_count_down_with_retry_after() {
    let emu = start().await;
    let api = Api::new(&emu);
    arm(
        &api,
        json!({"target": "jwks", "count": 2, "mode": "status", "status": 503, "retry_after": 7}),
    )
    .await;
    for _ in 0..2 {
        let resp = api
            .http
            .get(api.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "7");
        let (_, v) = read(resp).await;
        assert_shape(&v, ERROR);
        assert_eq!(v["code"], "internal_server_error");
    }
    // Third request succeeds; the API target was never affected.
    let v = jwks(&api).await;
    assert_eq!(v["keys"].as_array().unwrap().len(), 1);
    let (s, _) = api.get("/users").await;
    assert_eq!(s, 200);
    assert_eq!(emu.jwks_requests(), 3);
    assert_eq!(emu.api_requests(), 1);
    let (_, stats) = read(api.http.get(api.control("/stats")).send().await.unwrap()).await;
    assert_eq!(stats, json!({"jwks_requests": 3, "api_requests": 1}));

    // API faults; DELETE clears them.
    arm(
        &api,
        json!({"target": "api", "count": 5, "mode": "status", "status": 429}),
    )
    .await;
    let (s, v) = api.get("/users").await;
    assert_eq!(s, 429);
    assert_shape(&v, ERROR);
    let resp = api
        .http
        .delete(api.control("/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (s, _) = api.get("/users").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn garbage_huge_and_hang_faults() {
    let emu = start().await;
    let api = Api::new(&emu);
    arm(
        &api,
        json!({"target": "jwks", "count": 1, "mode": "garbage"}),
    )
    .await;
    let resp = api
        .http
        .get(api.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());

    arm(&api, json!({"target": "jwks", "count": 1, "mode": "huge"})).await;
    let resp = api
        .http
        .get(api.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().len() >= 10 * 1024 * 1024);

    arm(
        &api,
        json!({"target": "api", "count": 1, "mode": "hang", "hang_ms": 300}),
    )
    .await;
    let t = Instant::now();
    let (s, v) = api.get("/users").await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(s, 504);
    assert_shape(&v, ERROR);

    // A client timeout shorter than the hang fires.
    arm(&api, json!({"target": "api", "count": 1, "mode": "hang"})).await;
    let err = api
        .http
        .get(api.url("/users"))
        .bearer_auth(&api.key)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    let (s, v) = api
        .control_post(
            "/faults",
            json!({"target": "dns", "count": 1, "mode": "status"}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn reset_wipes_users_links_and_inbox() {
    let emu = start().await;
    let api = Api::new(&emu);
    api.post(
        "/magic-links",
        json!({"email": "j@example.com", "send": true, "channel": "email"}),
    )
    .await;
    assert_eq!(emu.inbox().len(), 1);
    let (s, _) = api.control_post("/reset", json!({})).await;
    assert_eq!(s, 200);
    assert!(emu.inbox().is_empty());
    let (_, v) = api.get("/users").await;
    assert_eq!(v["total_users"], 0);
}

#[tokio::test]
async fn state_survives_restart_with_data_file() {
    let dir = temp_dir("test");
    let file = dir.join("state.json");

    let emu = Emulator::builder()
        .app_name("Persisted")
        .data_file(&file)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    let (app_id, api_key) = (emu.app_id().to_string(), emu.api_key().to_string());
    let user = api
        .create_user(json!({"email": "k@example.com", "user_metadata": {"a": 1}}))
        .await;
    let user_id = user["id"].as_str().unwrap().to_string();
    api.control_post(&format!("/users/{user_id}/devices"), json!({}))
        .await;
    let (_, link) = api.post("/magic-links", json!({"user_id": user_id})).await;
    let token = emu.mint_token(&user_id).unwrap();
    let kid = jwt_part(&token, 0)["kid"].clone();
    emu.shutdown().await;

    // No temp files left behind; the document is valid JSON.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["state.json"]);

    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    assert_eq!(emu.app_id(), app_id);
    assert_eq!(emu.api_key(), api_key);
    let api = Api::new(&emu);
    let (s, v) = api.get(&format!("/users/{user_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["user"]["email"], "k@example.com");
    assert_eq!(v["user"]["user_metadata"], json!({"a": 1}));
    assert_eq!(v["user"]["webauthn_devices"].as_array().unwrap().len(), 1);
    // Same key: the old token still verifies against the new process's JWKS.
    let set = jwks(&api).await;
    assert_eq!(set["keys"][0]["kid"], kid);
    verify_with_jwks(&token, &set).unwrap();
    // The magic link survived too.
    let (s, _) = api
        .activate(link["magic_link"]["secret"].as_str().unwrap())
        .await;
    assert_eq!(s, 200);
    let (_, v) = read(api.http.get(api.url("")).send().await.unwrap()).await;
    assert_eq!(v["app"]["name"], "Persisted");
    emu.shutdown().await;

    // A corrupt file is refused rather than overwritten.
    std::fs::write(&file, b"{not json").unwrap();
    assert!(Emulator::builder().data_file(&file).start().await.is_err());
    assert_eq!(std::fs::read(&file).unwrap(), b"{not json");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn stale_temp_files_are_removed_and_hostile_counters_refused() {
    let dir = temp_dir("stale");
    let file = dir.join("state.json");
    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    Api::new(&emu)
        .create_user(json!({"email": "c@example.com"}))
        .await;
    emu.shutdown().await;
    // A crash mid-save left a temp copy (private keys, API key) of a process long gone.
    let stale = dir.join(".state.json.tmp-4000000000-7");
    std::fs::write(&stale, b"{\"secret\": true}").unwrap();
    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    assert!(
        !stale.exists(),
        "the stale temp file was removed at start-up"
    );
    emu.shutdown().await;

    // Counters at their maximum are refused at load with a clear error, never a later panic.
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for (pointer, value) in [
        ("/seq", json!(u64::MAX)),
        ("/users/0/login_count", json!(i64::MAX)),
    ] {
        let mut hostile = saved.clone();
        *hostile.pointer_mut(pointer).unwrap() = value;
        std::fs::write(&file, serde_json::to_vec(&hostile).unwrap()).unwrap();
        let error = Emulator::builder()
            .data_file(&file)
            .start()
            .await
            .expect_err("refused");
        assert!(
            error.to_string().contains("out-of-range"),
            "{pointer}: {error}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
