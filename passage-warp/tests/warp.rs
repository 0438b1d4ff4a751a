//! passage-warp through `warp::test::request`, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use http::{HeaderMap, StatusCode};
use passage_core::{AuthStrategy, Passage};
use passage_tests::adapter_fixtures::*;
use passage_tests::conformance::{self, Get, Harness, Routes};
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

/// The conformance suite's harness: its routes as warp filters, called with `warp::test`.
struct Warp;

impl Harness for Warp {
    const NAME: &'static str = "warp";
    // warp has filters, not middleware: every route names its handle.
    const MIDDLEWARE: bool = false;

    async fn serve(&self, app: Routes, requests: Vec<Get>) -> Vec<conformance::Reply> {
        let filter = routes(app.state.expect("warp's filters take the handle"));
        let mut replies = Vec::new();
        for request in requests {
            let (status, headers, body) = get(&filter, request.path, request.header).await;
            replies.push(conformance::Reply::new(status.as_u16(), &headers, body));
        }
        replies
    }
}

passage_tests::conformance_suite!(tokio::test, Warp);

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
