//! passage-warp through `warp::test::request`, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use http::{HeaderMap, StatusCode};
use passage_core::{AuthStrategy, Passage};
use passage_tests::adapter_fixtures::*;
use passage_warp::{PassageUser, handle_rejection, optional_user, user};
use warp::{Filter, Rejection, Reply};

fn routes(passage: Passage) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let required = warp::path!("required")
        .and(user(passage.clone()))
        .map(|user: PassageUser| user.user_id().to_string());
    let optional = warp::path!("optional")
        .and(optional_user(passage.clone()))
        .map(|user: Option<PassageUser>| {
            user.map_or_else(|| "anonymous".to_owned(), |u| u.user_id().to_string())
        });
    let me = warp::path!("me")
        .and(user(passage))
        .and_then(|user: PassageUser| async move {
            let fetched = user.fetch().await.map_err(|_| warp::reject::not_found())?;
            Ok::<_, Rejection>(format!("{} {}", fetched.id, fetched.email))
        });
    required.or(optional).or(me).recover(handle_rejection)
}

async fn get<F>(
    filter: &F,
    path: &str,
    header: Option<(&'static str, String)>,
) -> (StatusCode, HeaderMap, Vec<u8>)
where
    F: Filter + 'static,
    F::Extract: Reply + Send,
{
    let mut request = warp::test::request().method("GET").path(path);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.reply(filter).await;
    (
        response.status(),
        response.headers().clone(),
        response.body().to_vec(),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn valid_tokens_pass_in_both_strategies() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = routes(fx.passage(strategy));
        for path in ["/required", "/optional"] {
            let (status, _, body) = get(&app, path, Some(token_header(strategy, &fx.token))).await;
            assert_eq!(status, StatusCode::OK, "{strategy} {path}");
            assert_eq!(body, fx.user_id.as_bytes(), "{strategy} {path}");
        }
    }
}

#[tokio::test]
async fn absent_token_is_401_with_a_bare_challenge() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = routes(fx.passage(strategy));
        let (status, headers, body) = get(&app, "/required", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(header(&headers, "www-authenticate"), Some("Bearer"));
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_terse(&body);
        let other = match strategy {
            AuthStrategy::Cookie => AuthStrategy::Header,
            _ => AuthStrategy::Cookie,
        };
        let (status, _, _) = get(&app, "/required", Some(token_header(other, &fx.token))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn expired_and_forged_tokens_are_401_invalid_token() {
    let fx = Fixture::start().await;
    let stranger = Fixture::start().await;
    let stranger_token = stranger.emu.mint_token(&fx.user_id).unwrap();
    for strategy in BOTH {
        let app = routes(fx.passage(strategy));
        for token in [
            fx.expired(),
            fx.forged(),
            stranger_token.clone(),
            "not-a-jwt".to_owned(),
        ] {
            for path in ["/required", "/optional"] {
                let (status, headers, body) =
                    get(&app, path, Some(token_header(strategy, &token))).await;
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

#[tokio::test]
async fn optional_route_is_anonymous_without_a_token() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = routes(fx.passage(strategy));
        let (status, _, body) = get(&app, "/optional", None).await;
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::OK, &b"anonymous"[..])
        );
    }
}

#[tokio::test]
async fn unavailable_keys_are_503_with_retry_after_even_on_optional_routes() {
    let fx = Fixture::start().await;
    for strategy in BOTH {
        let app = routes(unreachable_passage(strategy));
        for path in ["/required", "/optional"] {
            let (status, headers, body) =
                get(&app, path, Some(token_header(strategy, &fx.token))).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let retry: u64 = header(&headers, "retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
            assert!(headers.get("www-authenticate").is_none());
            assert_terse(&body);
        }
    }
}

#[tokio::test]
async fn other_rejections_pass_through_the_recover_handler() {
    let fx = Fixture::start().await;
    let app = routes(fx.passage(AuthStrategy::Header));
    let (status, _, _) = get(&app, "/nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fetch_reads_the_user_through_the_management_api() {
    let fx = Fixture::start().await;
    let app = routes(fx.passage(AuthStrategy::Header));
    let (status, _, body) = get(
        &app,
        "/me",
        Some(token_header(AuthStrategy::Header, &fx.token)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!("{} alice@example.com", fx.user_id)
    );
}

#[tokio::test]
async fn without_recover_the_500_does_not_say_why_the_token_failed() {
    let fx = Fixture::start().await;
    let bare = warp::path!("required")
        .and(user(fx.passage(AuthStrategy::Header)))
        .map(|user: PassageUser| user.user_id().to_string());
    let response = warp::test::request()
        .path("/required")
        .header("authorization", format!("Bearer {}", fx.forged()))
        .reply(&bare)
        .await;
    let body = String::from_utf8_lossy(response.body()).into_owned();
    for word in LEAKY.iter().chain(&["BadSignature", "InvalidToken"]) {
        assert!(!body.contains(word), "leaks {word:?}: {body}");
    }
}
