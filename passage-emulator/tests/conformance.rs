//! Wire conformance of every management operation: statuses, envelopes, exact key sets, types.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn get_app_works_without_key_and_has_appinfo_fields() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = read(api.http.get(api.url("")).send().await.unwrap()).await;
    assert_eq!(s, 200, "{v}");
    assert_shape(&v, &[("app", T::Obj)]);
    let app = &v["app"];
    assert_has(
        app,
        &[
            ("additional_auth_origins", T::Arr),
            ("allowed_callback_urls", T::Arr),
            ("allowed_identifier", T::Str),
            ("allowed_logout_urls", T::Arr),
            ("application_login_uri", T::Str),
            ("auth_fallback_method", T::Str),
            ("auth_fallback_method_ttl", T::Int),
            ("auth_methods", T::Obj),
            ("auth_origin", T::Str),
            ("auto_theme_enabled", T::Bool),
            ("created_at", T::Time),
            ("default_language", T::Str),
            ("id", T::Str),
            ("layouts", T::Obj),
            ("login_url", T::Str),
            ("name", T::Str),
            ("hosted", T::Bool),
            ("hosted_subdomain", T::Str),
            ("hosted_theme", T::Str),
            ("passage_branding", T::Bool),
            ("profile_management", T::Bool),
            ("public_signup", T::Bool),
            ("redirect_url", T::Str),
            ("refresh_absolute_lifetime", T::Int),
            ("refresh_enabled", T::Bool),
            ("refresh_inactivity_lifetime", T::Int),
            ("require_email_verification", T::Bool),
            ("require_identifier_verification", T::Bool),
            ("required_identifier", T::Str),
            ("role", T::Str),
            ("rsa_public_key", T::Str),
            ("session_timeout_length", T::Int),
            ("type", T::Str),
            ("user_metadata_schema", T::Arr),
            ("technologies", T::Arr),
            ("element_customization", T::Obj),
            ("element_customization_dark", T::Obj),
        ],
    );
    assert_eq!(app["id"], emu.app_id());
    assert_eq!(app["name"], "Test App");
    assert_eq!(app["auth_origin"], "http://127.0.0.1:8080");
    assert_eq!(app["redirect_url"], "http://127.0.0.1:8080/profile");
    assert_eq!(app["session_timeout_length"], 3600);
    let methods = &app["auth_methods"];
    assert_shape(
        methods,
        &[
            ("passkeys", T::Obj),
            ("otp", T::Obj),
            ("magic_link", T::Obj),
        ],
    );
    assert_shape(&methods["passkeys"], &[("enabled", T::Bool)]);
    for m in ["otp", "magic_link"] {
        assert_shape(
            &methods[m],
            &[
                ("enabled", T::Bool),
                ("ttl", T::Int),
                ("ttl_display_unit", T::Str),
            ],
        );
    }
    assert_shape(
        &app["layouts"],
        &[("profile", T::Arr), ("registration", T::Arr)],
    );

    // Wrong app ID: 404 app_not_found.
    let (s, v) = read(
        api.http
            .get(format!("{}/v1/apps/nope", api.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    assert_shape(&v, ERROR);
    assert_eq!(
        v,
        json!({"code": "app_not_found", "error": "App not found"})
    );
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_with_exact_body() {
    let emu = start().await;
    let api = Api::new(&emu);
    let expected = json!({"code": "invalid_access_token", "error": "Invalid access token"});
    for (method, path) in [
        (Method::GET, "/users"),
        (Method::POST, "/users"),
        (Method::GET, "/users/x"),
        (Method::PATCH, "/users/x"),
        (Method::DELETE, "/users/x"),
        (Method::PATCH, "/users/x/activate"),
        (Method::PATCH, "/users/x/deactivate"),
        (Method::GET, "/users/x/devices"),
        (Method::DELETE, "/users/x/devices/y"),
        (Method::DELETE, "/users/x/tokens"),
        (Method::POST, "/magic-links"),
    ] {
        let (s, v) = read(
            api.http
                .request(method.clone(), api.url(path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((s, &v), (401, &expected), "{method} {path} without key");
        let (s, v) = read(
            api.http
                .request(method.clone(), api.url(path))
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((s, &v), (401, &expected), "{method} {path} wrong key");
    }
    // Wrong app ID with the right key: app_not_found.
    let (s, v) = read(
        api.http
            .get(format!("{}/v1/apps/other/users", api.base))
            .bearer_auth(&api.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("app_not_found")));
}

#[tokio::test]
async fn create_get_update_delete_user() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = api
        .post(
            "/users",
            json!({"email": "  Alice@Example.COM ", "user_metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_shape(&v, &[("user", T::Obj)]);
    let user = &v["user"];
    assert_shape(user, &user_info_fields());
    assert!(is_id(user["id"].as_str().unwrap()));
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["phone"], "");
    assert_eq!(user["status"], "active");
    assert_eq!(user["login_count"], 0);
    assert_eq!(user["last_login_at"], "0001-01-01T00:00:00Z");
    assert_eq!(user["user_metadata"], json!({"plan": "pro"}));
    assert_eq!(user["social_connections"], json!({}));
    let id = user["id"].as_str().unwrap().to_string();

    let (s, v) = api.get(&format!("/users/{id}")).await;
    assert_eq!(s, 200);
    assert_shape(&v, &[("user", T::Obj)]);
    assert_shape(&v["user"], &user_info_fields());
    // Trailing slash tolerated.
    let (s, _) = api.get(&format!("/users/{id}/")).await;
    assert_eq!(s, 200);

    let (s, v) = api
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"phone": "+15555550123", "email": "ALICE2@example.com"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_shape(&v["user"], &user_info_fields());
    assert_eq!(v["user"]["phone"], "+15555550123");
    assert_eq!(v["user"]["email"], "alice2@example.com");
    assert_eq!(v["user"]["user_metadata"], json!({"plan": "pro"}));

    let (s, v) = api
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"phone": "555-0123"})),
        )
        .await;
    assert_eq!(s, 400);
    assert_shape(&v, ERROR);
    assert_eq!(v["code"], "invalid_request");

    let (s, v) = api
        .call(Method::DELETE, &format!("/users/{id}"), None)
        .await;
    assert_eq!((s, v), (200, serde_json::Value::Null));
    let (s, v) = api.get(&format!("/users/{id}")).await;
    assert_eq!(s, 404);
    assert_eq!(
        v,
        json!({"code": "user_not_found", "error": "User not found"})
    );
    let (s, v) = api
        .call(Method::DELETE, &format!("/users/{id}"), None)
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));
    let (s, v) = api
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"email": "a@b.co"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));
}

#[tokio::test]
async fn create_user_validation() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = api.post("/users", json!({})).await;
    assert_eq!(s, 400);
    assert_eq!(
        v,
        json!({"code": "invalid_request", "error": "email: cannot be blank; phone: cannot be blank."})
    );
    let (s, v) = api.post("/users", json!({"email": "", "phone": ""})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_request")));
    let (s, v) = api.post("/users", json!({"email": "not-an-email"})).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "email: must be a valid email address.");
    for phone in [
        "5555550123",
        "+0123",
        "+1 555 555",
        "+1234567890123456",
        "+1abc",
    ] {
        let (s, v) = api.post("/users", json!({"phone": phone})).await;
        assert_eq!(s, 400, "{phone}");
        assert_eq!(v["error"], "phone: must be a valid E.164 phone number.");
    }
    let (s, v) = api.post("/users", json!({"email": 5})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_request")));
    assert_shape(&v, ERROR);
    let (s, v) = api
        .post("/users", json!({"email": "a@b.co", "user_metadata": [1]}))
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_request")));

    // Bad JSON: 400, never a panic.
    let (s, v) = read(
        api.http
            .post(api.url("/users"))
            .bearer_auth(&api.key)
            .header("content-type", "application/json")
            .body("{\"email\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert_shape(&v, ERROR);

    // Oversized body: rejected with a JSON error.
    let big = format!("{{\"email\":\"{}@x.co\"}}", "a".repeat(100_000));
    let (s, v) = read(
        api.http
            .post(api.url("/users"))
            .bearer_auth(&api.key)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 413);
    assert_shape(&v, ERROR);

    // Phone users: E.164 accepted, email "" in the response.
    let u = api.create_user(json!({"phone": "+447700900123"})).await;
    assert_eq!(u["email"], "");
    assert_eq!(u["phone"], "+447700900123");
}

#[tokio::test]
async fn duplicates_refused_and_emails_lowercased() {
    let emu = start().await;
    let api = Api::new(&emu);
    api.create_user(json!({"email": "Bob@Example.com", "phone": "+15555550100"}))
        .await;
    let (s, v) = api
        .post("/users", json!({"email": "bob@EXAMPLE.com"}))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    let (s, v) = api.post("/users", json!({"phone": "+15555550100"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    // Updating another user to a taken email is refused too.
    let other = api.create_user(json!({"email": "carol@example.com"})).await;
    let (s, _) = api
        .call(
            Method::PATCH,
            &format!("/users/{}", other["id"].as_str().unwrap()),
            Some(json!({"email": "BOB@example.com"})),
        )
        .await;
    assert_eq!(s, 400);
    // Lookup by identifier uses the lowercased email.
    let (s, v) = api.get("/users?limit=1&identifier=bob%40example.com").await;
    assert_eq!(s, 200);
    assert_eq!(v["users"][0]["email"], "bob@example.com");
}

#[tokio::test]
async fn activate_deactivate_devices_tokens() {
    let emu = start().await;
    let api = Api::new(&emu);
    let id = emu.create_user("dave@example.com").unwrap();

    let (s, v) = api
        .call(Method::PATCH, &format!("/users/{id}/deactivate"), None)
        .await;
    assert_eq!(s, 200);
    assert_shape(&v, &[("user", T::Obj)]);
    assert_shape(&v["user"], &user_info_fields());
    assert_eq!(v["user"]["status"], "inactive");
    let (s, v) = api
        .call(Method::PATCH, &format!("/users/{id}/activate"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["user"]["status"], "active");
    for path in ["/users/nobody/activate", "/users/nobody/deactivate"] {
        let (s, v) = api.call(Method::PATCH, path, None).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));
    }

    // No devices yet.
    let (s, v) = api.get(&format!("/users/{id}/devices")).await;
    assert_eq!(s, 200);
    assert_shape(&v, &[("devices", T::Arr)]);
    assert!(v["devices"].as_array().unwrap().is_empty());

    // Seed one via the emulator controls.
    let (s, v) = api
        .control_post(
            &format!("/users/{id}/devices"),
            json!({"friendly_name": "Dave's laptop", "type": "platform"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let device_id = v["device"]["id"].as_str().unwrap().to_string();
    assert!(is_id(&device_id));
    let (s, v) = api.get(&format!("/users/{id}/devices")).await;
    assert_eq!(s, 200);
    let d = &v["devices"][0];
    assert_shape(d, DEVICE);
    assert_shape(&d["icons"], ICONS);
    assert_eq!(d["friendly_name"], "Dave's laptop");
    assert_eq!(d["type"], "platform");
    assert_eq!(d["last_login_at"], "0001-01-01T00:00:00Z");

    let (_, v) = api.get(&format!("/users/{id}")).await;
    assert_eq!(v["user"]["webauthn"], true);
    assert_eq!(v["user"]["webauthn_types"], json!(["platform"]));
    assert_shape(&v["user"]["webauthn_devices"][0], DEVICE);

    // Seed an event.
    let (s, _) = api
        .control_post(
            &format!("/users/{id}/events"),
            json!({"action": "register"}),
        )
        .await;
    assert_eq!(s, 201);
    let (_, v) = api.get(&format!("/users/{id}")).await;
    let ev = &v["user"]["recent_events"][0];
    assert_shape(ev, EVENT);
    assert_eq!(ev["action"], "register");

    // Revoke device.
    let (s, v) = api
        .call(
            Method::DELETE,
            &format!("/users/{id}/devices/{device_id}"),
            None,
        )
        .await;
    assert_eq!((s, v), (200, serde_json::Value::Null));
    let (s, v) = api
        .call(
            Method::DELETE,
            &format!("/users/{id}/devices/{device_id}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        v,
        json!({"code": "device_not_found", "error": "Device not found"})
    );
    let (s, v) = api
        .call(
            Method::DELETE,
            &format!("/users/nobody/devices/{device_id}"),
            None,
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));
    let (s, v) = api.get("/users/nobody/devices").await;
    assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));

    // Revoke refresh tokens.
    let (s, v) = api
        .call(Method::DELETE, &format!("/users/{id}/tokens"), None)
        .await;
    assert_eq!((s, v), (200, serde_json::Value::Null));
    let (s, v) = api.call(Method::DELETE, "/users/nobody/tokens", None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));
}

#[tokio::test]
async fn create_magic_link_conformance() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = api
        .post("/magic-links", json!({"email": "Erin@Example.com"}))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_shape(&v, &[("magic_link", T::Obj)]);
    let link = &v["magic_link"];
    assert_shape(link, MAGIC_LINK);
    assert_eq!(link["activated"], false);
    assert_eq!(link["app_id"], emu.app_id());
    assert_eq!(link["identifier"], "erin@example.com");
    assert_eq!(link["ttl"], 15);
    assert_eq!(link["type"], "login");
    assert_eq!(link["redirect_url"], "http://127.0.0.1:8080/profile");
    let secret = link["secret"].as_str().unwrap();
    assert_eq!(
        link["url"],
        format!("{}?psg_magic_link={secret}", emu.login_url())
    );
    // The user was created.
    let (_, u) = api
        .get(&format!("/users/{}", link["user_id"].as_str().unwrap()))
        .await;
    assert_eq!(u["user"]["email"], "erin@example.com");
    // Not sent: the inbox stays empty.
    assert!(emu.inbox().is_empty());

    // magic_link_path, type and ttl.
    let (s, v) = api
        .post(
            "/magic-links",
            json!({"user_id": link["user_id"], "magic_link_path": "/auth/callback",
                   "type": "verify_identifier", "ttl": 5, "language": "de"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let l2 = &v["magic_link"];
    assert_eq!(l2["type"], "verify_identifier");
    assert_eq!(l2["ttl"], 5);
    assert_eq!(
        l2["url"],
        format!(
            "http://127.0.0.1:8080/auth/callback?psg_magic_link={}",
            l2["secret"].as_str().unwrap()
        )
    );

    // Errors.
    for (body, needle) in [
        (json!({}), "email: cannot be blank"),
        (
            json!({"email": "x@y.co", "send": true}),
            "channel: cannot be blank",
        ),
        (json!({"email": "x@y.co", "channel": "fax"}), "channel"),
        (json!({"email": "x@y.co", "type": "weird"}), "type"),
        (json!({"email": "x@y.co", "language": "xx"}), "language"),
        (
            json!({"email": "x@y.co", "magic_link_path": "https://evil.example/"}),
            "magic_link_path",
        ),
        (json!({"email": "x@y.co", "ttl": 0}), "ttl"),
        (json!({"email": "bad"}), "email"),
        (json!({"phone": "12345"}), "phone"),
    ] {
        let (s, v) = api.post("/magic-links", body.clone()).await;
        assert_eq!(s, 400, "{body} -> {v}");
        assert_shape(&v, ERROR);
        assert_eq!(v["code"], "invalid_request");
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{body} -> {v}"
        );
    }
    let (s, v) = api.post("/magic-links", json!({"user_id": "nobody"})).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("user_not_found")));
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = read(
        api.http
            .get(format!("{}/nope/nothing", api.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    assert_shape(&v, ERROR);
    let (s, v) = read(api.http.put(api.url("/users")).send().await.unwrap()).await;
    assert_eq!(s, 405);
    assert_shape(&v, ERROR);
}

#[tokio::test]
async fn bodies_must_be_json_objects_and_errors_speak_of_fields() {
    let emu = start().await;
    let api = Api::new(&emu);
    for body in [
        json!(["x@example.com", null, null]),
        json!("x@example.com"),
        json!(42),
        json!(null),
    ] {
        let (s, v) = api.post("/users", body.clone()).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["code"], "invalid_request", "{body}: {v}");
    }
    let (_, listed) = api.get("/users").await;
    assert_eq!(listed["total_users"], 0, "no user was created: {listed}");
    // A wrong type names the field's expectation in the API's words, never a Rust type.
    for body in [json!({"email": 5}), json!({"user_metadata": [1]})] {
        let (s, v) = api.post("/users", body.clone()).await;
        assert_eq!(s, 400, "{body}: {v}");
        let message = v["error"].as_str().unwrap_or_default();
        for leak in ["struct", "Body", "u32", "u64", "i64", "Option<", "Map<"] {
            assert!(!message.contains(leak), "{body}: {message}");
        }
    }
}
