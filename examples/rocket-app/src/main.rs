//! The Rocket example: the contract routes with `passage_rocket`'s guards, fairing and catchers,
//! plus `POST /me/sign-out-everywhere`, which revokes all the signed-in user's sessions.
//!
//! ```text
//! PASSAGE_APP_ID=... PASSAGE_API_KEY=... PORT=8080 cargo run -p rocket-app
//! ```

mod support;

use passage_core::management::{ManagementError, User};
use passage_rocket::{MaybePassageUser, PassageFairing, PassageUser};
use rocket::http::Status;
use rocket::serde::json::{Json, Value};
use rocket::{get, post, routes};
use support::{management_failure, user_id_body};

#[get("/health")]
fn health() -> &'static str {
    "ok"
}

/// Unguarded, with the shape of `/authenticated`'s answer: the load benchmark's baseline.
#[get("/control")]
fn control() -> Json<Value> {
    Json(user_id_body(Some(support::CONTROL_USER_ID)))
}

#[get("/authenticated")]
fn authenticated(user: PassageUser) -> Json<Value> {
    Json(user_id_body(Some(user.user_id())))
}

#[get("/optional")]
fn optional(user: MaybePassageUser) -> Json<Value> {
    Json(user_id_body(user.user_id().map(|id| id.as_str())))
}

#[get("/me")]
async fn me(user: PassageUser) -> Result<Json<User>, (Status, Json<Value>)> {
    user.fetch()
        .await
        .map(Json)
        .map_err(|error| failure(&error))
}

#[post("/me/sign-out-everywhere")]
async fn sign_out_everywhere(user: PassageUser) -> Result<Status, (Status, Json<Value>)> {
    match user
        .passage()
        .user()
        .revoke_refresh_tokens(user.user_id())
        .await
    {
        Ok(()) => Ok(Status::NoContent),
        Err(error) => Err(failure(&error)),
    }
}

fn failure(error: &ManagementError) -> (Status, Json<Value>) {
    let (status, body) = management_failure(error);
    (Status::new(status), Json(body))
}

fn main() {
    support::init_tracing();
    // Checked here for a clear message; the fairing would also refuse to ignite.
    let config = support::config_or_exit();
    let addr = support::listen_addr_or_exit();
    // `#[rocket::main]` sizes its runtime from Rocket's default configuration before `main`
    // runs: build it here so that `WORKERS` counts.
    let workers = support::workers_or_exit();
    let mut runtime = rocket::tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        runtime.worker_threads(workers);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(serve(config, addr, workers)),
        Err(error) => support::exit_misconfigured(format_args!("cannot start Tokio: {error}")),
    }
}

async fn serve(config: passage_core::Config, addr: std::net::SocketAddr, workers: Option<usize>) {
    let mut figment = rocket::Config::figment()
        .merge(("address", addr.ip()))
        .merge(("port", addr.port()))
        .merge(("log_level", rocket::config::LogLevel::Critical));
    if let Some(workers) = workers {
        figment = figment.merge(("workers", workers));
    }
    let launched = rocket::custom(figment)
        .attach(PassageFairing::new(config))
        .mount(
            "/",
            routes![
                health,
                control,
                authenticated,
                optional,
                me,
                sign_out_everywhere
            ],
        )
        .launch()
        .await;
    if let Err(error) = launched {
        eprintln!("error: {}", error.pretty_print());
        std::process::exit(1);
    }
}
