//! The emulator as a long-running server on a developer's machine: bounded growth under the
//! keyless login form, saves that never stall the JWKS, and defences against other sites' pages.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use passage_emulator::{Emulator, Fault, FaultMode, FaultTarget};
use serde_json::json;

/// Posts the login form as the emulator's own page does.
async fn login(api: &Api, identifier: &str) -> reqwest::Response {
    api.http
        .post(format!("{}/login", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &api.base)
        .body(format!("identifier={}", identifier.replace('@', "%40")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_login_form_cannot_grow_the_store_without_bound() {
    let emu = Emulator::builder()
        .inbox_capacity(5)
        .login_page_user_limit(8)
        .login_rate_limit(1_000, Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    // Users made with the API key do not count against the login page's cap.
    api.create_user(json!({"email": "staff@example.com"})).await;
    for i in 0..8 {
        let resp = login(&api, &format!("user{i}@example.com")).await;
        assert_eq!(resp.status(), 200, "login {i}");
    }
    let resp = login(&api, "one-too-many@example.com").await;
    assert_eq!(resp.status(), 429);
    let page = resp.text().await.unwrap();
    assert!(page.contains("limit"), "the page says why: {page}");
    // Known users can still sign in, and staff can still create users.
    assert_eq!(login(&api, "user0@example.com").await.status(), 200);
    assert_eq!(login(&api, "staff@example.com").await.status(), 200);
    api.create_user(json!({"email": "staff2@example.com"}))
        .await;
    let stats = emu.stats();
    assert_eq!(stats.users, 10);
    // The inbox keeps its newest messages only.
    let inbox = emu.inbox();
    assert_eq!(inbox.len(), 5);
    assert_eq!(inbox[4].to, "staff@example.com");
    // After a reset the login page may create users again.
    emu.reset();
    assert_eq!(login(&api, "fresh@example.com").await.status(), 200);
}

#[tokio::test]
async fn used_and_expired_links_are_dropped_beyond_the_most_recent() {
    let emu = start().await;
    let api = Api::new(&emu);
    let user = api.create_user(json!({"email": "many@example.com"})).await;
    let mut last_secret = String::new();
    for _ in 0..130 {
        let (s, link) = api
            .post("/magic-links", json!({"user_id": user["id"]}))
            .await;
        assert_eq!(s, 201, "{link}");
        last_secret = link["magic_link"]["secret"].as_str().unwrap().to_string();
        let (s, _) = api.activate(&last_secret).await;
        assert_eq!(s, 200);
    }
    assert_eq!(
        emu.stats().magic_links,
        100,
        "only the newest used links are kept"
    );
    // The newest used link still answers a replay with 409, not 404.
    let (s, v) = api.activate(&last_secret).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("magic_link_already_used"))
    );
    // Recent events are the newest fifty.
    let (_, v) = api
        .get(&format!("/users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(v["user"]["recent_events"].as_array().unwrap().len(), 50);
    assert_eq!(v["user"]["login_count"], 130);
}

#[tokio::test]
async fn the_login_form_is_rate_limited_per_client() {
    let emu = Emulator::builder()
        .login_rate_limit(3, Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    for i in 0..3 {
        assert_eq!(
            login(&api, &format!("r{i}@example.com")).await.status(),
            200
        );
    }
    let resp = login(&api, "r4@example.com").await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(emu.stats().users, 3, "a refused request creates nothing");
    // Another client (another loopback address) has its own allowance.
    let other = Api {
        http: reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap(),
        ..Api::new(&emu)
    };
    assert_eq!(login(&other, "other@example.com").await.status(), 200);
    // The management API is not limited by the form's allowance.
    let (s, _) = api
        .post("/magic-links", json!({"email": "api@example.com"}))
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn a_slow_save_never_stalls_the_jwks_or_tokens_and_changes_wait_for_it() {
    let dir = temp_dir("slow-save");
    let file = dir.join("state.json");
    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    let api = Api::new(&emu);
    let existing = api.create_user(json!({"email": "old@example.com"})).await;
    let (s, _) = api
        .control_post(
            "/faults",
            json!({"target": "save", "count": 1, "mode": "hang", "hang_ms": 600_000}),
        )
        .await;
    assert_eq!(s, 200);

    let (http, url, key) = (api.http.clone(), api.url("/users"), api.key.clone());
    let create = tokio::spawn(async move {
        read(
            http.post(url)
                .bearer_auth(key)
                .json(&json!({"email": "new@example.com"}))
                .send()
                .await
                .unwrap(),
        )
        .await
    });
    // The writer has taken the fault: it now holds a save for ten minutes.
    while emu.faults().save > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Reads, the JWKS and tokens for known users answer meanwhile.
    for _ in 0..5 {
        jwks(&api).await;
    }
    let (s, v) = api
        .control_post("/tokens", json!({"user_id": existing["id"]}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = api.get("/users").await;
    assert_eq!(s, 200);
    assert!(
        !create.is_finished(),
        "the change is not acknowledged before it is on disk"
    );
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(!on_disk.contains("new@example.com"));

    // Clearing the faults ends the hang; the change is saved, then acknowledged.
    emu.clear_faults();
    let (s, v) = create.await.unwrap();
    assert_eq!(s, 201, "{v}");
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("new@example.com"));
    emu.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn changes_that_come_together_share_a_save() {
    let dir = temp_dir("coalesce");
    let file = dir.join("state.json");
    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    let api = Api::new(&emu);
    emu.inject_fault(Fault::new(
        FaultTarget::Save,
        FaultMode::Hang(Duration::from_secs(600)),
    ))
    .unwrap();
    let creates: Vec<_> = (0..40)
        .map(|i| {
            let (http, url, key) = (api.http.clone(), api.url("/users"), api.key.clone());
            tokio::spawn(async move {
                let resp = http
                    .post(url)
                    .bearer_auth(key)
                    .json(&json!({"email": format!("burst{i}@example.com")}))
                    .send()
                    .await
                    .unwrap();
                resp.status().as_u16()
            })
        })
        .collect();
    // Every change is in memory while the first save hangs.
    while emu.stats().users < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    emu.clear_faults();
    for create in creates {
        assert_eq!(create.await.unwrap(), 201);
    }
    // At most one write before the clear (it hung, holding what had changed when it began) and
    // one after for all the rest: forty changes, one or two writes.
    let writes = emu.stats().data_file_writes;
    assert!((1..=2).contains(&writes), "{writes} writes");
    emu.shutdown().await;
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["users"].as_array().unwrap().len(), 40);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failed_save_is_answered_500() {
    let dir = temp_dir("failed-save");
    let file = dir.join("state.json");
    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    let api = Api::new(&emu);
    emu.inject_fault(Fault::new(FaultTarget::Save, FaultMode::Status(500)))
        .unwrap();
    let (s, v) = api
        .post("/users", json!({"email": "unlucky@example.com"}))
        .await;
    assert_eq!(s, 500, "{v}");
    assert_eq!(v["code"], "internal_server_error");
    // The writer tries again on its own: a graceful stop waits for it, so nothing is lost.
    emu.shutdown().await;
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("unlucky@example.com"));
    let emu = Emulator::builder().data_file(&file).start().await.unwrap();
    let api = Api::new(&emu);
    // Garbage and huge are not save faults.
    assert!(
        emu.inject_fault(Fault::new(FaultTarget::Save, FaultMode::Garbage))
            .is_err()
    );
    let (s, _) = api
        .control_post(
            "/faults",
            json!({"target": "save", "count": 1, "mode": "huge"}),
        )
        .await;
    assert_eq!(s, 400);
    emu.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn hosts_other_than_loopback_or_the_configured_origins_are_refused() {
    let emu = start().await;
    let api = Api::new(&emu);
    let port = emu.addr().port();
    for host in ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io"] {
        let (s, v) = read(
            api.http
                .get(api.url("/.well-known/jwks.json"))
                .header("host", format!("{host}:{port}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (403, Some("host_not_allowed")),
            "{host}"
        );
    }
    // An extra allowed host (a container's service name) is served too.
    let named = Emulator::builder()
        .allowed_host("passage-emulator")
        .start()
        .await
        .unwrap();
    let named_api = Api::new(&named);
    let resp = named_api
        .http
        .get(named_api.url("/.well-known/jwks.json"))
        .header("host", "passage-emulator:8788")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        // The app's auth origin (a reverse proxy may forward it).
        "127.0.0.1:8080".to_string(),
    ] {
        let resp = api
            .http
            .get(api.url("/.well-known/jwks.json"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn other_sites_pages_cannot_drive_the_controls_or_the_login_form() {
    let emu = start().await;
    let api = Api::new(&emu);
    let user = emu.create_user("keep@example.com").unwrap();

    // A form or no-cors fetch from another site: refused, nothing changes.
    for (path, body) in [
        ("/reset", "{}"),
        ("/keys/rotate", "{}"),
        ("/tokens", "{\"user_id\":\"x\"}"),
    ] {
        let post = |headers: &[(&str, &str)]| {
            let mut request = api.http.post(api.control(path)).body(body);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            async move { read(request.send().await.unwrap()).await }
        };
        let json = ("content-type", "application/json");
        let (s, _) = post(&[("origin", "https://evil.example"), json]).await;
        assert_eq!(s, 403, "{path}");
        let (s, _) = post(&[("sec-fetch-site", "cross-site"), json]).await;
        assert_eq!(s, 403, "{path}, Sec-Fetch-Site");
        // text/plain is what a page can send without a preflight.
        let (s, v) = post(&[("content-type", "text/plain")]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (400, Some("invalid_request")),
            "{path}"
        );
    }
    let (s, v) = read(
        api.http
            .post(api.control("/faults"))
            .header("origin", "null")
            .json(&json!({"target": "jwks", "count": 1, "mode": "garbage"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("cross_origin_request")));
    // A page on another address is another site, even when it is an IP literal.
    let resp = api
        .http
        .post(api.control("/reset"))
        .header("origin", "http://203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(emu.faults().jwks, 0);
    assert_eq!(emu.stats().users, 1, "nothing was reset or created");
    assert_eq!(emu.inbox().len(), 0);
    let (s, _) = api.get(&format!("/users/{user}")).await;
    assert_eq!(s, 200);

    // The login form from another site is refused; from the emulator's own page it works.
    let resp = api
        .http
        .post(format!("{}/login", api.base))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("identifier=victim%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(emu.stats().users, 1);
    assert_eq!(login(&api, "victim@example.com").await.status(), 200);

    // Same-origin JSON still works, with or without an Origin of ours.
    let resp = api
        .http
        .post(api.control("/reset"))
        .header("origin", emu.origin())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A management call sent as text/plain is refused like a control: JSON endpoints take JSON.
    let (s, _) = read(
        api.http
            .post(api.url("/users"))
            .bearer_auth(&api.key)
            .header("content-type", "text/plain")
            .body("{\"email\":\"plain@example.com\"}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn html_pages_cannot_be_framed_and_run_no_script() {
    let emu = start().await;
    let api = Api::new(&emu);
    for resp in [
        api.http.get(format!("{}/", api.base)).send().await.unwrap(),
        login(&api, "framed@example.com").await,
        api.http
            .get(format!("{}/?psg_magic_link=nope", api.base))
            .send()
            .await
            .unwrap(),
    ] {
        let headers = resp.headers();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(headers["x-frame-options"], "DENY");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    }
}

#[tokio::test]
async fn trailing_slashes_are_tolerated_everywhere() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, _) = api.get("/users/").await;
    assert_eq!(s, 200);
    let (s, _) = read(
        api.http
            .get(api.url("/.well-known/jwks.json/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = read(api.http.get(api.control("/stats/")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    let resp = api
        .http
        .post(format!("{}/login/", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("identifier=slash%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_rust_api_drives_faults_devices_events_and_reset() {
    let emu = start().await;
    let api = Api::new(&emu);
    emu.inject_fault(
        Fault::new(FaultTarget::Jwks, FaultMode::Status(503))
            .count(2)
            .retry_after(9),
    )
    .unwrap();
    let resp = api
        .http
        .get(api.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "9");
    assert_eq!(emu.faults().jwks, 1);
    emu.clear_faults();
    jwks(&api).await;
    assert!(
        emu.inject_fault(Fault::new(FaultTarget::Api, FaultMode::Status(200)))
            .is_err()
    );

    let user = emu.create_user("dev@example.com").unwrap();
    let device = emu.add_device(&user, "Laptop").unwrap();
    emu.add_login_event(&user, "passkey_login").unwrap();
    let (_, v) = api.get(&format!("/users/{user}")).await;
    assert_eq!(v["user"]["webauthn_devices"][0]["id"], device.as_str());
    assert_eq!(v["user"]["webauthn_devices"][0]["friendly_name"], "Laptop");
    assert_eq!(v["user"]["recent_events"][0]["type"], "passkey_login");
    assert!(emu.add_device("nobody", "x").is_err());
    // Expire a link from the Rust side; its use then answers 410.
    let (_, link) = api.post("/magic-links", json!({"user_id": user})).await;
    emu.expire_magic_link(link["magic_link"]["id"].as_str().unwrap())
        .unwrap();
    let (s, v) = api
        .activate(link["magic_link"]["secret"].as_str().unwrap())
        .await;
    assert_eq!((s, v["code"].as_str()), (410, Some("magic_link_expired")));
    emu.reset();
    let stats = emu.stats();
    assert_eq!(
        (stats.users, stats.magic_links, stats.inbox_messages),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn an_unknown_user_is_404_whatever_the_body() {
    let emu = start().await;
    let api = Api::new(&emu);
    for body in ["{not json", "[1]", "{\"email\": 5}"] {
        let (s, v) = read(
            api.http
                .patch(api.url("/users/nobody"))
                .bearer_auth(&api.key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (404, Some("user_not_found")),
            "{body}"
        );
    }
    // A wrong method is 405 before the key is asked for; an unknown route is 404 whatever the
    // content type.
    let (s, _) = read(
        api.http
            .put(api.url("/users"))
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 405);
    let (s, _) = read(
        api.http
            .post(api.url("/nothing-here"))
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
}
