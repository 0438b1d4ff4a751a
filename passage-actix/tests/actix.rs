//! passage-actix through actix's own test harness, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use passage_actix::{MaybePassageUser, PassageAuth, PassageUser};
use passage_core::{AuthStrategy, Passage};
use passage_tests::adapter_fixtures::*;

async fn required(user: PassageUser) -> HttpResponse {
    HttpResponse::Ok().body(user.user_id().to_string())
}

async fn optional(user: MaybePassageUser) -> HttpResponse {
    let id = user
        .user_id()
        .map_or_else(|| "anonymous".to_owned(), ToString::to_string);
    HttpResponse::Ok().body(id)
}

/// How the app gets its handle.
#[derive(Clone, Copy, PartialEq)]
enum Provide {
    Data,
    Plain,
    Nothing,
}

macro_rules! app {
    ($passage:expr, $provide:expr) => {{
        let passage: Passage = $passage;
        let mut app = App::new();
        match $provide {
            Provide::Data => app = app.app_data(web::Data::new(passage.clone())),
            Provide::Plain => app = app.app_data(passage.clone()),
            Provide::Nothing => {}
        }
        test::init_service(
            app.route("/required", web::get().to(required))
                .route("/optional", web::get().to(optional))
                .service(
                    web::scope("/guarded")
                        .wrap(PassageAuth::new(passage.clone()))
                        .route("/me", web::get().to(required))
                        .route("/maybe", web::get().to(optional)),
                )
                .service(
                    web::scope("/from-data")
                        .wrap(PassageAuth::from_app_data())
                        .route("/me", web::get().to(required)),
                ),
        )
        .await
    }};
}

/// Sends a GET; answers (status, headers, body).
macro_rules! get {
    ($app:expr, $path:expr, $header:expr) => {{
        let mut request = test::TestRequest::get().uri($path);
        let header: Option<(&'static str, String)> = $header;
        if let Some(header) = header {
            request = request.insert_header(header);
        }
        let response = test::call_service($app, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = test::read_body(response).await.to_vec();
        (status, headers, body)
    }};
}

fn header<'a>(headers: &'a actix_web::http::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[actix_web::test]
async fn valid_tokens_pass_in_both_strategies_and_both_app_data_forms() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        for provide in [Provide::Data, Provide::Plain] {
            let app = app!(fx.passage(strategy), provide);
            for path in [
                "/required",
                "/optional",
                "/guarded/me",
                "/guarded/maybe",
                "/from-data/me",
            ] {
                let (status, _, body) = get!(&app, path, Some(token_header(strategy, &fx.token)));
                assert_eq!(status, StatusCode::OK, "{strategy} {path}");
                assert_eq!(body, fx.user_id.as_bytes(), "{strategy} {path}");
            }
        }
    }
}

#[actix_web::test]
async fn absent_token_is_401_with_a_bare_challenge() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app!(fx.passage(strategy), Provide::Data);
        for path in [
            "/required",
            "/guarded/me",
            "/guarded/maybe",
            "/from-data/me",
        ] {
            let (status, headers, body) = get!(&app, path, None);
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(header(&headers, "www-authenticate"), Some("Bearer"));
            assert_eq!(header(&headers, "content-type"), Some("application/json"));
            assert_terse(&body);
        }
        // The token in the other source does not count.
        let other = match strategy {
            AuthStrategy::Cookie => AuthStrategy::Header,
            _ => AuthStrategy::Cookie,
        };
        let (status, _, _) = get!(&app, "/required", Some(token_header(other, &fx.token)));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn expired_and_forged_tokens_are_401_invalid_token_everywhere() {
    let fx = Fixture::start().await;
    let stranger = Fixture::start().await;
    let stranger_token = stranger.emu.mint_token(&fx.user_id).unwrap();
    for strategy in BOTH {
        let app = app!(fx.passage(strategy), Provide::Data);
        for token in [
            fx.expired(),
            fx.forged(),
            stranger_token.clone(),
            "not-a-jwt".to_owned(),
        ] {
            for path in ["/required", "/optional", "/guarded/me", "/guarded/maybe"] {
                let (status, headers, body) =
                    get!(&app, path, Some(token_header(strategy, &token)));
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{strategy} {path} {token}"
                );
                assert_eq!(
                    header(&headers, "www-authenticate"),
                    Some(r#"Bearer error="invalid_token""#)
                );
                assert_terse(&body);
            }
        }
    }
}

#[actix_web::test]
async fn optional_route_is_anonymous_without_a_token() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app!(fx.passage(strategy), Provide::Plain);
        let (status, _, body) = get!(&app, "/optional", None);
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::OK, &b"anonymous"[..])
        );
    }
}

#[actix_web::test]
async fn unavailable_keys_are_503_with_retry_after_even_on_optional_routes() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = app!(unreachable_passage(strategy), Provide::Data);
        for path in ["/required", "/optional", "/guarded/me"] {
            let (status, headers, body) = get!(&app, path, Some(token_header(strategy, &fx.token)));
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let retry: u64 = header(&headers, "retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
            assert!(headers.get("www-authenticate").is_none());
            assert_terse(&body);
        }
    }
}

#[actix_web::test]
async fn missing_passage_is_a_500_not_a_panic() {
    let fx = Fixture::start().await;
    let app = app!(fx.passage(AuthStrategy::Header), Provide::Nothing);
    for path in ["/required", "/optional", "/from-data/me"] {
        let (status, _, body) = get!(
            &app,
            path,
            Some(token_header(AuthStrategy::Header, &fx.token))
        );
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "passage_not_configured");
    }
    // The middleware's own handle is enough: the extractor reuses the user it put in extensions.
    let (status, _, body) = get!(
        &app,
        "/guarded/me",
        Some(token_header(AuthStrategy::Header, &fx.token))
    );
    assert_eq!(
        (status, body),
        (StatusCode::OK, fx.user_id.clone().into_bytes())
    );
}

#[actix_web::test]
async fn fetch_reads_the_user_through_the_management_api() {
    let fx = Fixture::start().await;
    async fn me(user: PassageUser) -> HttpResponse {
        let fetched = user.fetch().await.unwrap();
        HttpResponse::Ok().body(format!("{} {}", fetched.id, fetched.email))
    }
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(fx.passage(AuthStrategy::Cookie)))
            .route("/me", web::get().to(me)),
    )
    .await;
    let (status, _, body) = get!(
        &app,
        "/me",
        Some(token_header(AuthStrategy::Cookie, &fx.token))
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!("{} alice@example.com", fx.user_id)
    );
}

#[actix_web::test]
async fn a_user_verified_by_another_handle_is_verified_again() {
    let fx = Fixture::start().await;
    // The middleware verifies with the fixture's handle; the app data names another one (that
    // cannot reach any keys). The extractor must not take the middleware's user for its own.
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(unreachable_passage(AuthStrategy::Header)))
            .service(
                web::scope("/guarded")
                    .wrap(PassageAuth::new(fx.passage(AuthStrategy::Header)))
                    .route("/me", web::get().to(required))
                    .route("/maybe", web::get().to(optional)),
            ),
    )
    .await;
    for path in ["/guarded/me", "/guarded/maybe"] {
        let (status, _, _) = get!(
            &app,
            path,
            Some(token_header(AuthStrategy::Header, &fx.token))
        );
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
}
