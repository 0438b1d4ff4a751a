//! Out-of-range values answer 400 instead of crashing or corrupting state.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn huge_magic_link_ttls_are_refused_and_create_no_user() {
    let emu = start().await;
    let api = Api::new(&emu);
    for ttl in [json!(525_601), json!(1_000_000_000_000i64), json!(i64::MAX)] {
        let (status, body) = api
            .post(
                "/magic-links",
                json!({"email": "huge@example.com", "ttl": ttl}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "invalid_request");
    }
    let (status, list) = api.get("/users?identifier=huge@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(list["total_users"], 0, "a refused request creates nothing");
    let (status, _) = api
        .post(
            "/magic-links",
            json!({"email": "year@example.com", "ttl": 525_600}),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn huge_token_ttls_are_refused() {
    let emu = start().await;
    let api = Api::new(&emu);
    for ttl in [i64::MAX, i64::MIN, i64::MIN + 1, 315_360_001, -315_360_001] {
        let (status, body) = api
            .control_post("/tokens", json!({"user_id": "u1", "ttl_seconds": ttl}))
            .await;
        assert_eq!(status, 400, "{ttl}: {body}");
    }
    let (status, body) = api
        .control_post("/tokens", json!({"user_id": "u1", "ttl_seconds": -60}))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn fault_statuses_must_be_errors() {
    let emu = start().await;
    let api = Api::new(&emu);
    for status in [100, 101, 200, 204, 304, 600] {
        let (code, body) = api
            .control_post(
                "/faults",
                json!({"target": "api", "count": 1, "mode": "status", "status": status}),
            )
            .await;
        assert_eq!(code, 400, "{status}: {body}");
    }
}

#[tokio::test]
async fn huge_rotation_grace_does_not_overflow() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (status, body) = api
        .control_post("/keys/rotate", json!({"grace_seconds": i64::MAX}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(emu.rotate_key(Duration::MAX).is_ok());
    assert_eq!(jwks(&api).await["keys"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_secret_goes_before_a_fragment() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (status, body) = api
        .post(
            "/magic-links",
            json!({"email": "frag@example.com", "magic_link_path": "/login?x=1#top"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let url = body["magic_link"]["url"].as_str().unwrap();
    let secret = body["magic_link"]["secret"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/login?x=1&psg_magic_link={secret}#top")),
        "{url}"
    );
}
