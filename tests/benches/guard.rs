//! The guard through each framework's own test harness, in one run: for axum (`tower`'s
//! `oneshot`), actix-web (`actix_web::test`), warp (`warp::test`) and Rocket (its local client),
//! an unguarded route answering the same shape of body (`control`), and a guarded route with a
//! token verified before (`warm`), a token verified on every request (`cold`: the token cache
//! off), a forged signature (`forged`) and no token (`missing`); and the RSA floor (the RS256
//! check alone with a parsed key) in the same run. Each harness's own cost is in its `control`:
//! the guard's cost is a case minus the control. Results and the command are in
//! `docs/BENCHMARKS.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use passage_core::{AuthStrategy, Config, Passage};
use passage_tests::keys::TestKey;
use serde_json::json;

const APP_ID: &str = "benchapp0123456789abcdef";
const ORIGIN: &str = "http://localhost:9";
const USER_ID: &str = "aBcDeFgHiJkLmNoPqRsTuVwX";
/// The control route's answer: the user ID's length and shape, without a guard.
const CONTROL_BODY: &str = "cOnTrOlRoUtEnOtAuSeRiD00";

/// What every framework's bench needs: handles with and without the token cache, and tokens.
struct Setup {
    key: TestKey,
    cached: Passage,
    uncached: Passage,
    valid: String,
    forged: String,
}

impl Setup {
    fn new() -> Self {
        let key = TestKey::generate("bench");
        let jwks = json!({"keys": [key.jwk()]}).to_string();
        let handle = |entries| {
            let config = Config::builder(APP_ID)
                .auth_origin(ORIGIN)
                .auth_strategy(AuthStrategy::Header)
                .token_cache_entries(entries)
                .build()
                .unwrap();
            Passage::with_jwks(config, jwks.as_bytes()).unwrap()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let valid = key.sign(&json!({
            "sub": USER_ID, "iss": format!("{ORIGIN}/v1/apps/{APP_ID}"),
            "aud": ["http://localhost:8080", APP_ID], "iat": now, "nbf": now - 5,
            "exp": now + 3600,
        }));
        let forged = passage_tests::adapter_fixtures::forge(&valid);
        Self {
            key,
            cached: handle(10_000),
            uncached: handle(0),
            valid,
            forged,
        }
    }

    /// The cases: name, which handle, and the request's path and `Authorization` header.
    fn cases(&self) -> Vec<(&'static str, bool, &'static str, Option<String>)> {
        let bearer = |token: &str| Some(format!("Bearer {token}"));
        vec![
            ("control", true, "/control", bearer(&self.valid)),
            ("warm", true, "/required", bearer(&self.valid)),
            ("cold", false, "/required", bearer(&self.valid)),
            ("forged", true, "/required", bearer(&self.forged)),
            ("missing", true, "/required", None),
        ]
    }
}

fn floor(c: &mut Criterion, setup: &Setup) {
    let (n, e) = setup.key.components();
    let key: ParsedPublicKey = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
    let (input, signature) = setup.valid.rsplit_once('.').unwrap();
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    c.bench_function("floor/rsa_check_parsed_key", |b| {
        b.iter(|| {
            key.verify_sig(black_box(input.as_bytes()), black_box(&signature))
                .unwrap()
        })
    });
}

/// Runs each case through `send` (which answers the status and body length) after checking
/// that the case answers what it should.
fn cases<F>(group: &mut BenchmarkGroup<'_, WallTime>, setup: &Setup, mut send: F)
where
    F: FnMut(bool, &'static str, Option<&str>) -> (u16, usize),
{
    for (name, cached, path, header) in setup.cases() {
        let expected = match name {
            "control" | "warm" | "cold" => 200,
            _ => 401,
        };
        let (status, _) = send(cached, path, header.as_deref());
        assert_eq!(status, expected, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| send(cached, path, black_box(header.as_deref())))
        });
    }
}

fn axum(c: &mut Criterion, setup: &Setup) {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let app = |passage: &Passage| {
        axum::Router::new()
            .route(
                "/required",
                get(|user: passage_axum::PassageUser| async move { user.user_id().to_string() }),
            )
            .route("/control", get(|| async { CONTROL_BODY.to_owned() }))
            .with_state(passage.clone())
    };
    let (cached, uncached) = (app(&setup.cached), app(&setup.uncached));
    let mut group = c.benchmark_group("guard/axum");
    cases(&mut group, setup, |use_cached, path, header| {
        let app = if use_cached { &cached } else { &uncached };
        let mut request = axum::http::Request::get(path);
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        rt.block_on(async {
            let response = app
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            (status, body.len())
        })
    });
    group.finish();
}

fn actix(c: &mut Criterion, setup: &Setup) {
    use actix_web::{App, test, web};
    let system = actix_web::rt::System::new();
    let app = |passage: &Passage| {
        let app = App::new()
            .app_data(web::Data::new(passage.clone()))
            .route(
                "/required",
                web::get().to(|user: passage_actix::PassageUser| async move {
                    user.user_id().to_string()
                }),
            )
            .route(
                "/control",
                web::get().to(|| async { CONTROL_BODY.to_owned() }),
            );
        system.block_on(test::init_service(app))
    };
    let (cached, uncached) = (app(&setup.cached), app(&setup.uncached));
    let mut group = c.benchmark_group("guard/actix");
    cases(&mut group, setup, |use_cached, path, header| {
        let mut request = test::TestRequest::get().uri(path);
        if let Some(value) = header {
            request = request.insert_header(("authorization", value));
        }
        system.block_on(async {
            let response = if use_cached {
                test::call_service(&cached, request.to_request()).await
            } else {
                test::call_service(&uncached, request.to_request()).await
            };
            let status = response.status().as_u16();
            (status, test::read_body(response).await.len())
        })
    });
    group.finish();
}

fn warp(c: &mut Criterion, setup: &Setup) {
    use warp::Filter as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let routes = |passage: &Passage| {
        let required = warp::path!("required")
            .and(passage_warp::user(passage.clone()))
            .map(|user: passage_warp::PassageUser| user.user_id().to_string());
        let control = warp::path!("control").map(|| CONTROL_BODY.to_owned());
        required.or(control).recover(passage_warp::handle_rejection)
    };
    let (cached, uncached) = (routes(&setup.cached), routes(&setup.uncached));
    let mut group = c.benchmark_group("guard/warp");
    cases(&mut group, setup, |use_cached, path, header| {
        let mut request = warp::test::request().path(path);
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        rt.block_on(async {
            let response = if use_cached {
                request.reply(&cached).await
            } else {
                request.reply(&uncached).await
            };
            (response.status().as_u16(), response.body().len())
        })
    });
    group.finish();
}

#[rocket::get("/required")]
fn rocket_required(user: passage_rocket::PassageUser) -> String {
    user.user_id().to_string()
}

#[rocket::get("/control")]
fn rocket_control() -> String {
    CONTROL_BODY.to_owned()
}

fn rocket(c: &mut Criterion, setup: &Setup) {
    use rocket::local::asynchronous::Client;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = |passage: &Passage| {
        let rocket = rocket::custom(
            rocket::Config::figment().merge(("log_level", rocket::config::LogLevel::Off)),
        )
        .attach(passage_rocket::PassageFairing::with_passage(
            passage.clone(),
        ))
        .mount("/", rocket::routes![rocket_required, rocket_control]);
        rt.block_on(Client::untracked(rocket)).unwrap()
    };
    let (cached, uncached) = (client(&setup.cached), client(&setup.uncached));
    let mut group = c.benchmark_group("guard/rocket");
    cases(&mut group, setup, |use_cached, path, header| {
        let client = if use_cached { &cached } else { &uncached };
        rt.block_on(async {
            let mut request = client.get(path);
            if let Some(value) = header {
                request =
                    request.header(rocket::http::Header::new("authorization", value.to_owned()));
            }
            let response = request.dispatch().await;
            let status = response.status().code;
            (
                status,
                response.into_bytes().await.unwrap_or_default().len(),
            )
        })
    });
    group.finish();
}

fn guard(c: &mut Criterion) {
    let setup = Setup::new();
    floor(c, &setup);
    axum(c, &setup);
    actix(c, &setup);
    warp(c, &setup);
    rocket(c, &setup);
}

criterion_group!(benches, guard);
criterion_main!(benches);
