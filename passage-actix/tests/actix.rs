//! passage-actix through actix's own test harness, against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use passage_actix::{MaybePassageUser, PassageAuth, PassageUser};
use passage_core::{AuthStrategy, Passage};
use passage_tests::adapter_fixtures::*;
use passage_tests::conformance::{Get, Harness, Reply, Routes};

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

/// The conformance suite's harness: its routes in an actix `App`, called through actix's test
/// service. The state is `web::Data<Passage>`; the middleware is [`PassageAuth`].
struct Actix;

impl Harness for Actix {
    const NAME: &'static str = "actix";
    const MIDDLEWARE: bool = true;

    async fn serve(&self, routes: Routes, requests: Vec<Get>) -> Vec<Reply> {
        let mut app = App::new();
        if let Some(passage) = routes.state {
            app = app.app_data(web::Data::new(passage));
        }
        let layer = routes.layer;
        let app = test::init_service(
            app.route("/required", web::get().to(required))
                .route("/optional", web::get().to(optional))
                .service(
                    web::scope("/guarded")
                        .wrap(match layer {
                            Some(passage) => PassageAuth::new(passage),
                            None => PassageAuth::from_app_data(),
                        })
                        .route("/me", web::get().to(required))
                        .route("/maybe", web::get().to(optional)),
                ),
        )
        .await;
        let mut replies = Vec::new();
        for request in requests {
            let (status, headers, body) = get!(&app, request.path, request.header);
            replies.push(Reply::new(status.as_u16(), &headers, body));
        }
        replies
    }
}

passage_tests::conformance_suite!(
    actix_web::test,
    Actix,
    a_missing_handle_is_a_500,
    middleware_users_are_reused_only_for_the_same_handle
);

/// Both forms of app data work: `web::Data<Passage>` and a plain `Passage`, and the middleware
/// can take its handle from either.
#[actix_web::test]
async fn both_app_data_forms_and_the_app_data_middleware_work() {
    let fx = Fixture::start().await;
    for provide in [Provide::Data, Provide::Plain] {
        let app = app!(fx.passage(AuthStrategy::Header), provide);
        for path in ["/required", "/optional", "/guarded/me", "/from-data/me"] {
            let (status, _, body) = get!(
                &app,
                path,
                Some(token_header(AuthStrategy::Header, &fx.token))
            );
            assert_eq!(
                (status, body),
                (StatusCode::OK, fx.user_id.clone().into_bytes()),
                "{path}"
            );
        }
        let (status, _, _) = get!(&app, "/from-data/me", None);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let app = app!(fx.passage(AuthStrategy::Header), Provide::Nothing);
    let (status, _, body) = get!(
        &app,
        "/from-data/me",
        Some(token_header(AuthStrategy::Header, &fx.token))
    );
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_terse(&body);
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
