//! Magic links end to end: create, inbox, exchange once, reuse/expiry refused, login page.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

fn form_identifier(v: &str) -> String {
    let enc: String = v
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("identifier={enc}")
}

#[tokio::test]
async fn send_lands_in_inbox_and_exchanges_once() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (s, v) = api
        .post(
            "/magic-links",
            json!({"email": "frank@example.com", "send": true, "channel": "email",
                   "redirect_url": "http://127.0.0.1:8080/dashboard"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let link = v["magic_link"].clone();
    let secret = link["secret"].as_str().unwrap();

    // The dev inbox (library and HTTP views agree).
    let inbox = emu.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].channel, "email");
    assert_eq!(inbox[0].to, "frank@example.com");
    assert_eq!(inbox[0].magic_link_id, link["id"].as_str().unwrap());
    assert_eq!(inbox[0].url, link["url"].as_str().unwrap());
    let (s, v) = read(api.http.get(api.control("/inbox")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_shape(&v, &[("messages", T::Arr)]);
    assert_shape(
        &v["messages"][0],
        &[
            ("id", T::Str),
            ("channel", T::Str),
            ("to", T::Str),
            ("magic_link_id", T::Str),
            ("url", T::Str),
            ("created_at", T::Time),
        ],
    );

    // Exchange.
    let (s, v) = api.activate(secret).await;
    assert_eq!(s, 200, "{v}");
    assert_shape(&v, &[("auth_result", T::Obj)]);
    let ar = &v["auth_result"];
    assert_shape(
        ar,
        &[
            ("auth_token", T::Str),
            ("redirect_url", T::Str),
            ("refresh_token", T::Str),
            ("refresh_token_expiration", T::Int),
        ],
    );
    assert_eq!(ar["redirect_url"], "http://127.0.0.1:8080/dashboard");
    let token = ar["auth_token"].as_str().unwrap();
    assert_eq!(jwt_part(token, 1)["sub"], link["user_id"]);
    verify_with_jwks(token, &jwks(&api).await).unwrap();

    // The user is verified, logged in once, with a recent event.
    let (_, u) = api
        .get(&format!("/users/{}", link["user_id"].as_str().unwrap()))
        .await;
    let u = &u["user"];
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["login_count"], 1);
    assert_ne!(u["last_login_at"], "0001-01-01T00:00:00Z");
    assert_shape(&u["recent_events"][0], EVENT);
    assert_eq!(u["recent_events"][0]["action"], "login");

    // Reuse refused.
    let (s, v) = api.activate(secret).await;
    assert!((400..500).contains(&s), "{s}");
    assert_shape(&v, ERROR);
    assert_eq!(v["code"], "magic_link_already_used");
    // Unknown refused.
    let (s, v) = api.activate("not-a-secret").await;
    assert_eq!(s, 404);
    assert_shape(&v, ERROR);
    let (s, v) = api.activate("").await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn expired_links_and_inactive_users_refused() {
    let emu = start().await;
    let api = Api::new(&emu);
    let (_, v) = api
        .post("/magic-links", json!({"phone": "+15555550142"}))
        .await;
    let link = v["magic_link"].clone();
    let (s, _) = read(
        api.http
            .post(api.control(&format!(
                "/magic-links/{}/expire",
                link["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = api.activate(link["secret"].as_str().unwrap()).await;
    assert_eq!(s, 410, "{v}");
    assert_eq!(v["code"], "magic_link_expired");

    // Inactive user.
    let (_, v) = api
        .post("/magic-links", json!({"phone": "+15555550142"}))
        .await;
    let link = v["magic_link"].clone();
    api.call(
        Method::PATCH,
        &format!("/users/{}/deactivate", link["user_id"].as_str().unwrap()),
        None,
    )
    .await;
    let (s, v) = api.activate(link["secret"].as_str().unwrap()).await;
    assert_eq!(s, 403, "{v}");
    assert_shape(&v, ERROR);
}

#[tokio::test]
async fn login_page_form_cookie_and_redirect() {
    let emu = start().await;
    let api = Api::new(&emu);
    let resp = api.http.get(format!("{}/", api.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("<form") && html.contains("action=\"/login\""));
    assert!(html.contains("Test App"));

    // Submit an email.
    let resp = api
        .http
        .post(format!("{}/login", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_identifier("Grace@Example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let start = html.find("id=\"magic-link\" href=\"").unwrap() + "id=\"magic-link\" href=\"".len();
    let href = html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&");
    // Links point at the login page on localhost, where passkeys work.
    assert!(href.starts_with(&format!("{}?psg_magic_link=", emu.login_url())));
    let inbox = emu.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].url, href);
    assert_eq!(inbox[0].to, "grace@example.com");

    // Follow the link: cookie + 303 to the app redirect URL.
    let resp = api.http.get(&href).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "http://127.0.0.1:8080/profile");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let token = cookie
        .strip_prefix("psg_auth_token=")
        .unwrap()
        .strip_suffix("; Path=/; HttpOnly; SameSite=Lax")
        .unwrap();
    assert!(!cookie.contains("Domain"));
    verify_with_jwks(token, &jwks(&api).await).unwrap();

    // Following it again: an HTML error with a 4xx status.
    let resp = api.http.get(&href).send().await.unwrap();
    assert!(resp.status().is_client_error());
    assert!(resp.headers().get("set-cookie").is_none());
    assert!(resp.text().await.unwrap().contains("already been used"));

    // Bad input is escaped and rejected.
    let resp = api
        .http
        .post(format!("{}/login", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_identifier("<script>alert(1)</script>"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;"));
    let resp = api
        .http
        .post(format!("{}/login", api.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_identifier("+123-456"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = api
        .http
        .get(format!("{}/?psg_magic_link=bogus", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn login_redirect_is_never_open() {
    let emu = start().await;
    let api = Api::new(&emu);
    for (target, expected) in [
        (
            "https://evil.example/steal",
            "http://127.0.0.1:8080/profile",
        ),
        ("//evil.example/x", "http://127.0.0.1:8080/profile"),
        (
            "http://127.0.0.1:8080.evil.example/",
            "http://127.0.0.1:8080/profile",
        ),
        (
            "http://127.0.0.1:8080/settings?tab=1",
            "http://127.0.0.1:8080/settings?tab=1",
        ),
        ("/relative/page", "http://127.0.0.1:8080/relative/page"),
    ] {
        let (_, v) = api
            .post(
                "/magic-links",
                json!({"email": "henry@example.com", "redirect_url": target}),
            )
            .await;
        let url = v["magic_link"]["url"].as_str().unwrap();
        let resp = api.http.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{target}");
        assert_eq!(resp.headers()["location"], expected, "{target}");
    }
}
