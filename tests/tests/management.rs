//! The management client against the emulator: every operation round-trips, errors map to typed
//! variants, and retries behave as promised under injected faults.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use passage_core::RetrySettings;
use passage_core::management::{
    CreateUser, ErrorCode, Filter, Language, ListUsers, MagicLinkChannel, MagicLinkRequest,
    MagicLinkType, ManagementError, Order, UpdateUser, UserStatus,
};
use passage_emulator::Emulator;
use passage_tests::{inject_fault, passage_for_emulator, passage_with};
use serde_json::json;

async fn emulator() -> Emulator {
    Emulator::builder()
        .app_name("Management tests")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn app_info_needs_no_api_key() {
    let emu = emulator().await;
    let passage = passage_with(&emu, |b| b);
    let app = passage.get_app().await.unwrap();
    assert_eq!(app.id, emu.app_id());
    assert_eq!(app.name, "Management tests");
    let keyless = passage_core::Passage::new(
        passage_core::Config::builder(emu.app_id())
            .origin(emu.origin())
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(keyless.get_app().await.unwrap().id, emu.app_id());
    // Calls that need the key fail before any request.
    let before = emu.api_requests();
    assert_eq!(
        keyless.user().get("someone").await.unwrap_err(),
        ManagementError::MissingApiKey
    );
    assert_eq!(emu.api_requests(), before);
}

#[tokio::test]
async fn user_lifecycle_round_trips() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    let users = passage.user();
    let mut metadata = serde_json::Map::new();
    metadata.insert("plan".into(), json!("pro"));
    let created = users
        .create(
            CreateUser::email("Ada@Example.com")
                .phone("+15005550006")
                .metadata(metadata),
        )
        .await
        .unwrap();
    assert_eq!(created.email, "ada@example.com", "emails are lowercased");
    assert_eq!(created.phone, "+15005550006");
    assert_eq!(created.user_metadata.as_ref().unwrap()["plan"], "pro");
    assert_eq!(created.login_count, 0);

    let fetched = users.get(&created.id).await.unwrap();
    assert_eq!(fetched.id, created.id);
    let by_email = users.get_by_identifier("  ADA@example.COM ").await.unwrap();
    assert_eq!(by_email.id, created.id);
    let by_phone = users.get_by_identifier("+15005550006").await.unwrap();
    assert_eq!(by_phone.id, created.id);
    let missing = users
        .get_by_identifier("nobody@example.com")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(&ErrorCode::UserNotFound));

    let updated = users
        .update(&created.id, UpdateUser::new().email("grace@example.com"))
        .await
        .unwrap();
    assert_eq!(updated.email, "grace@example.com");
    assert_eq!(updated.phone, "+15005550006", "fields not sent are kept");

    let inactive = users.deactivate(&created.id).await.unwrap();
    assert_eq!(inactive.status, UserStatus::Inactive);
    let active = users.activate(&created.id).await.unwrap();
    assert_eq!(active.status, UserStatus::Active);

    users.revoke_refresh_tokens(&created.id).await.unwrap();
    users.delete(&created.id).await.unwrap();
    let gone = users.get(&created.id).await.unwrap_err();
    assert!(gone.is_not_found());
    assert_eq!(gone.code(), Some(&ErrorCode::UserNotFound));
    assert_eq!(gone.status(), Some(404));
}

#[tokio::test]
async fn devices_are_listed_and_revoked() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    let user = emu.create_user("dev@example.com").unwrap();
    let url = format!(
        "{}/emulator/v1/apps/{}/users/{user}/devices",
        emu.origin(),
        emu.app_id()
    );
    let seeded: serde_json::Value = reqwest::Client::new()
        .post(url)
        .json(&json!({"friendly_name": "Laptop"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_id = seeded["device"]["id"].as_str().unwrap().to_owned();
    let devices = passage.user().list_devices(&user).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, device_id);
    assert_eq!(devices[0].friendly_name, "Laptop");
    let full = passage.user().get(&user).await.unwrap();
    assert_eq!(full.webauthn_devices.len(), 1);
    passage
        .user()
        .revoke_device(&user, &device_id)
        .await
        .unwrap();
    assert!(passage.user().list_devices(&user).await.unwrap().is_empty());
    let again = passage
        .user()
        .revoke_device(&user, &device_id)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(&ErrorCode::DeviceNotFound));
}

#[tokio::test]
async fn magic_links_create_the_user_and_carry_every_field() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    let link = passage
        .create_magic_link(
            MagicLinkRequest::email("Link@Example.com")
                .send(MagicLinkChannel::Email)
                .language(Language::De)
                .kind(MagicLinkType::Login)
                .redirect_url("http://localhost:8080/after")
                .ttl_minutes(30),
        )
        .await
        .unwrap();
    assert_eq!(link.identifier, "link@example.com");
    assert_eq!(link.ttl, 30);
    assert_eq!(link.kind, MagicLinkType::Login);
    assert!(!link.activated);
    assert!(
        link.url
            .contains(&format!("psg_magic_link={}", link.secret)),
        "{}",
        link.url
    );
    let user = passage.user().get(&link.user_id).await.unwrap();
    assert_eq!(user.email, "link@example.com");
    assert!(
        emu.inbox().iter().any(|m| m.magic_link_id == link.id),
        "sent links land in the inbox"
    );
    // Client-side validation, before any request.
    let before = emu.api_requests();
    for bad in [
        MagicLinkRequest::email("x@example.com")
            .channel(MagicLinkChannel::Email)
            .ttl_minutes(0),
        MagicLinkRequest::email(""),
    ] {
        assert!(matches!(
            passage.create_magic_link(bad).await,
            Err(ManagementError::InvalidArgument(_))
        ));
    }
    assert_eq!(emu.api_requests(), before);
}

#[tokio::test]
async fn listing_filters_orders_and_pages() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    for i in 0..5 {
        passage
            .user()
            .create(CreateUser::email(format!("team{i}@example.com")))
            .await
            .unwrap();
    }
    passage
        .user()
        .create(CreateUser::email("other@elsewhere.org"))
        .await
        .unwrap();
    let page = passage
        .user()
        .list_page(
            ListUsers::new()
                .limit(2)
                .identifier(Filter::like("example.com"))
                .order_by("email", Order::Asc),
        )
        .await
        .unwrap();
    assert_eq!(page.total_users, 5);
    assert_eq!(page.users.len(), 2);
    assert_eq!(page.users[0].email, "team0@example.com");
    assert_eq!(page.users[1].email, "team1@example.com");
    assert_eq!(page.page, 1);
    assert_eq!(page.links.previous.href, "");
    assert!(!page.links.next.href.is_empty());
    let not_like = passage
        .user()
        .list_page(ListUsers::new().identifier(Filter::not_like("example.com")))
        .await
        .unwrap();
    assert_eq!(not_like.users.len(), 1);
    let inactive = passage
        .user()
        .list_page(ListUsers::new().status(Filter::eq("inactive")))
        .await
        .unwrap();
    assert_eq!(inactive.total_users, 0);
    // Bad queries are refused: client-side for limits, by the API for unknown sort fields.
    assert!(matches!(
        passage.user().list_page(ListUsers::new().limit(501)).await,
        Err(ManagementError::InvalidArgument(_))
    ));
    let bad_order = passage
        .user()
        .list_page(ListUsers::new().order_by("identifier", Order::Asc))
        .await
        .unwrap_err();
    assert_eq!(bad_order.code(), Some(&ErrorCode::InvalidRequest));
}

#[tokio::test]
async fn the_stream_walks_1200_users_each_exactly_once() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    for i in 0..1200 {
        passage
            .user()
            .create(CreateUser::email(format!("bulk{i}@example.com")))
            .await
            .unwrap();
    }
    let users: Vec<_> = passage
        .user()
        .list(ListUsers::new().limit(500))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 1200);
    let mut ids: Vec<_> = users.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1200, "no user twice");
    // Users created while walking do not shift pages (the listing is anchored).
    let mut stream = Box::pin(passage.user().list(ListUsers::new().limit(100)));
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    while let Some(user) = stream.try_next().await.unwrap() {
        assert!(seen.insert(user.id), "duplicate while walking");
        n += 1;
        if n == 150 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            passage
                .user()
                .create(CreateUser::email("late@example.com"))
                .await
                .unwrap();
        }
    }
    assert_eq!(n, 1200);
}

#[tokio::test]
async fn api_errors_map_to_typed_variants() {
    let emu = emulator().await;
    let wrong_key = passage_with(&emu, |b| b.api_key("not-the-key"));
    let error = wrong_key
        .user()
        .list_page(ListUsers::new())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ManagementError::Api {
            status: 401,
            code: ErrorCode::InvalidAccessToken,
            message: "Invalid access token".into()
        }
    );
    let passage = passage_for_emulator(&emu);
    let bad_email = passage
        .user()
        .create(CreateUser::email("not-an-email"))
        .await
        .unwrap_err();
    assert_eq!(
        (bad_email.status(), bad_email.code()),
        (Some(400), Some(&ErrorCode::InvalidRequest))
    );
    let bad_phone = passage
        .user()
        .create(CreateUser::with_phone("12345"))
        .await
        .unwrap_err();
    assert_eq!(bad_phone.code(), Some(&ErrorCode::InvalidRequest));
    passage
        .user()
        .create(CreateUser::email("dup@example.com"))
        .await
        .unwrap();
    let duplicate = passage
        .user()
        .create(CreateUser::email("dup@example.com"))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Some(&ErrorCode::InvalidRequest));
    // Client-side validation: no request at all.
    let before = emu.api_requests();
    assert!(matches!(
        passage.user().get("").await,
        Err(ManagementError::InvalidArgument(_))
    ));
    assert!(matches!(
        passage.user().create(CreateUser::default()).await,
        Err(ManagementError::InvalidArgument(_))
    ));
    assert!(matches!(
        passage.user().update("u", UpdateUser::new()).await,
        Err(ManagementError::InvalidArgument(_))
    ));
    assert!(matches!(
        passage.user().revoke_device("u", " ").await,
        Err(ManagementError::InvalidArgument(_))
    ));
    assert_eq!(emu.api_requests(), before);
    // IDs are path segments, never path syntax: refused before sending.
    let traversal = passage.user().get("../../apps").await.unwrap_err();
    assert!(
        matches!(traversal, ManagementError::InvalidArgument(_)),
        "{traversal:?}"
    );
    assert_eq!(emu.api_requests(), before);
}

fn quick_retries(b: passage_core::ConfigBuilder) -> passage_core::ConfigBuilder {
    b.retry(RetrySettings {
        max_retries: 2,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_secs(2),
    })
}

#[tokio::test]
async fn a_503_then_success_is_retried_for_get() {
    let emu = emulator().await;
    let passage = passage_with(&emu, quick_retries);
    let user = emu.create_user("retry@example.com").unwrap();
    inject_fault(&emu, "api", 2, json!({"mode": "status", "status": 503})).await;
    let before = emu.api_requests();
    assert_eq!(passage.user().get(&user).await.unwrap().id, user);
    assert_eq!(emu.api_requests() - before, 3, "two failures, then success");
    // Past the retry budget the error comes back.
    inject_fault(&emu, "api", 3, json!({"mode": "status", "status": 503})).await;
    let error = passage.user().get(&user).await.unwrap_err();
    assert_eq!(error.status(), Some(503));
}

#[tokio::test]
async fn a_429_with_retry_after_waits_as_told() {
    let emu = emulator().await;
    let passage = passage_with(&emu, quick_retries);
    let user = emu.create_user("slow@example.com").unwrap();
    inject_fault(
        &emu,
        "api",
        1,
        json!({"mode": "status", "status": 429, "retry_after": 1}),
    )
    .await;
    let start = Instant::now();
    assert!(passage.user().get(&user).await.is_ok());
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        start.elapsed()
    );
    // A Retry-After longer than the budget is not waited for.
    inject_fault(
        &emu,
        "api",
        1,
        json!({"mode": "status", "status": 429, "retry_after": 60}),
    )
    .await;
    let start = Instant::now();
    assert_eq!(
        passage.user().get(&user).await.unwrap_err().status(),
        Some(429)
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn posts_are_never_retried() {
    let emu = emulator().await;
    let passage = passage_with(&emu, quick_retries);
    inject_fault(&emu, "api", 1, json!({"mode": "status", "status": 503})).await;
    let before = emu.api_requests();
    let error = passage
        .user()
        .create(CreateUser::email("once@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(emu.api_requests() - before, 1);
    inject_fault(&emu, "api", 1, json!({"mode": "status", "status": 503})).await;
    let error = passage
        .create_magic_link(MagicLinkRequest::email("once@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(emu.api_requests() - before, 2);
}

#[tokio::test]
async fn a_hung_api_times_out_within_the_configured_timeout() {
    let emu = emulator().await;
    let passage = passage_with(&emu, |b| {
        quick_retries(b).request_timeout(Duration::from_millis(500))
    });
    let user = emu.create_user("hang@example.com").unwrap();
    inject_fault(&emu, "api", 1, json!({"mode": "hang", "hang_ms": 10_000})).await;
    let start = Instant::now();
    assert_eq!(
        passage.user().get(&user).await.unwrap_err(),
        ManagementError::Timeout
    );
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn garbage_bodies_are_decode_errors() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    let user = emu.create_user("garbage@example.com").unwrap();
    inject_fault(&emu, "api", 1, json!({"mode": "garbage"})).await;
    assert!(matches!(
        passage.user().get(&user).await,
        Err(ManagementError::Decode { status: 200, .. })
    ));
}

#[tokio::test]
async fn the_api_key_never_shows_in_debug_output() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    let debug = format!("{passage:?}");
    assert!(!debug.contains(emu.api_key()), "{debug}");
}

#[tokio::test]
async fn filter_values_cannot_smuggle_an_operator() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    emu.create_user("alice@corp.example").unwrap();
    emu.create_user("bob@other.example").unwrap();
    let before = emu.api_requests();
    for typed in [
        "like:%",
        "like:corp",
        "ne:nobody@x.example",
        "not_like:zzz",
        "gt:a",
        "LIKE:%",
        "bogus_op:x",
    ] {
        let result = passage.user().get_by_identifier(typed).await;
        assert!(
            matches!(result, Err(ManagementError::InvalidArgument(_))),
            "{typed}: {result:?}"
        );
        let listed = passage
            .user()
            .list_page(ListUsers::new().identifier(Filter::eq(typed)))
            .await;
        assert!(
            matches!(listed, Err(ManagementError::InvalidArgument(_))),
            "{typed}: {listed:?}"
        );
    }
    assert_eq!(emu.api_requests(), before, "nothing was sent");
    // Real identifiers still work, and a match must be the identifier itself.
    let alice = passage
        .user()
        .get_by_identifier(" Alice@Corp.example ")
        .await
        .unwrap();
    assert_eq!(alice.email, "alice@corp.example");
    assert!(
        passage
            .user()
            .get_by_identifier("corp.example")
            .await
            .unwrap_err()
            .is_not_found()
    );
    // Explicit operators keep their meaning.
    let page = passage
        .user()
        .list_page(ListUsers::new().identifier(Filter::like("corp")))
        .await
        .unwrap();
    assert_eq!(page.users.len(), 1);
}

#[tokio::test]
async fn ids_that_could_name_another_endpoint_are_refused_before_sending() {
    let emu = emulator().await;
    let passage = passage_for_emulator(&emu);
    let victim = emu.create_user("victim@example.com").unwrap();
    let before = emu.api_requests();
    for id in [
        "..",
        ".",
        "",
        "a/b",
        "../users",
        "%2e%2e",
        "a b",
        "tokens?x=1",
        "é",
    ] {
        let users = passage.user();
        let results = [
            users.revoke_refresh_tokens(id).await.err(),
            users.activate(id).await.err(),
            users.deactivate(id).await.err(),
            users.get(id).await.err(),
            users.delete(id).await.err(),
            users.list_devices(id).await.err(),
            users.revoke_device(&victim, id).await.err(),
            users.revoke_device(id, "device").await.err(),
        ];
        for (i, error) in results.into_iter().enumerate() {
            assert!(
                matches!(error, Some(ManagementError::InvalidArgument(_))),
                "{id:?} call {i}: {error:?}"
            );
        }
    }
    assert_eq!(emu.api_requests(), before, "nothing was sent");
    let user = passage.user().get(&victim).await.unwrap();
    assert_eq!(user.email, "victim@example.com");
}

#[tokio::test]
async fn transport_failures_keep_their_cause() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let passage = passage_core::Passage::new(
        quick_retries(
            passage_core::Config::builder("app0123456789abcdefghijk")
                .origin(&origin)
                .api_key("key"),
        )
        .build()
        .unwrap(),
    )
    .unwrap();
    let error = passage.user().get("user0123").await.unwrap_err();
    assert!(matches!(error, ManagementError::Transport(_)), "{error:?}");
    let cause = std::error::Error::source(&error).expect("the cause is kept");
    assert!(!cause.to_string().is_empty());
    assert!(
        std::error::Error::source(cause).is_some(),
        "reqwest's own cause (the refused connection) is kept too"
    );
}

/// A proxy in front of the emulator that drops every list query, as an API that ignored or
/// misread the identifier filter would: the list then returns somebody else.
async fn filter_ignoring_proxy(emu: &Emulator) -> String {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    let upstream = emu.origin().to_string();
    let app = axum::Router::new()
        .fallback(
            |State(upstream): State<String>, uri: Uri, headers: HeaderMap| async move {
                let mut request = reqwest::Client::new().get(format!("{upstream}{}", uri.path()));
                if let Some(auth) = headers.get("authorization") {
                    request = request.header("authorization", auth.to_str().unwrap());
                }
                let response = request.send().await.unwrap();
                let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
                let body = response.bytes().await.unwrap();
                (
                    status,
                    [("content-type", "application/json")],
                    body.to_vec(),
                )
            },
        )
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    origin
}

#[tokio::test]
async fn get_by_identifier_never_returns_a_user_that_does_not_match() {
    let emu = emulator().await;
    passage_for_emulator(&emu)
        .user()
        .create(CreateUser::email("someone-else@example.com"))
        .await
        .unwrap();
    let origin = filter_ignoring_proxy(&emu).await;
    let passage = passage_with(&emu, |b| b.api_origin(&origin));
    let error = passage
        .user()
        .get_by_identifier("nobody@example.com")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::UserNotFound), "{error:?}");
    let found = passage
        .user()
        .get_by_identifier("Someone-Else@example.com")
        .await
        .unwrap();
    assert_eq!(found.email, "someone-else@example.com");
}
