//! The actix-web example: the contract routes, plus `/me/devices` (behind the `PassageAuth`
//! middleware) where signed-in users list and revoke their own passkey devices.
//!
//! ```text
//! PASSAGE_APP_ID=... PASSAGE_API_KEY=... PORT=8080 cargo run -p actix-app
//! ```

mod support;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use passage_actix::{MaybePassageUser, PassageAuth, PassageUser};
use passage_core::management::ManagementError;
use serde_json::json;
use support::{management_failure, user_id_body};

#[actix_web::main]
async fn main() {
    support::init_tracing();
    let passage = support::passage_or_exit();
    let addr = support::listen_addr_or_exit();

    let workers = support::workers_or_exit().unwrap_or(2);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(passage.clone()))
            .route("/health", web::get().to(|| async { "ok" }))
            .route("/control", web::get().to(control))
            .route("/authenticated", web::get().to(authenticated))
            .route("/optional", web::get().to(optional))
            .route("/me", web::get().to(me))
            .service(
                // The middleware verifies once for the whole scope; handlers reuse its user.
                web::scope("/me/devices")
                    .wrap(PassageAuth::from_app_data())
                    .route("", web::get().to(my_devices))
                    .route("/{device_id}", web::delete().to(revoke_my_device)),
            )
    })
    .workers(workers);
    let server = match server.bind(addr) {
        Ok(server) => server,
        Err(error) => support::exit_misconfigured(format_args!("cannot listen on {addr}: {error}")),
    };
    tracing::info!(%addr, "actix example listening");
    if let Err(error) = server.run().await {
        eprintln!("error: server failed: {error}");
        std::process::exit(1);
    }
}

/// Unguarded, with the shape of `/authenticated`'s answer: the load benchmark's baseline.
async fn control() -> HttpResponse {
    HttpResponse::Ok().json(user_id_body(Some(support::CONTROL_USER_ID)))
}

async fn authenticated(user: PassageUser) -> HttpResponse {
    HttpResponse::Ok().json(user_id_body(Some(user.user_id())))
}

async fn optional(user: MaybePassageUser) -> HttpResponse {
    HttpResponse::Ok().json(user_id_body(user.user_id().map(|id| id.as_str())))
}

async fn me(user: PassageUser) -> HttpResponse {
    match user.fetch().await {
        Ok(user) => HttpResponse::Ok().json(user),
        Err(error) => failure(&error),
    }
}

async fn my_devices(user: PassageUser) -> HttpResponse {
    match user.passage().user().list_devices(user.user_id()).await {
        Ok(devices) => HttpResponse::Ok().json(json!({ "devices": devices })),
        Err(error) => failure(&error),
    }
}

async fn revoke_my_device(user: PassageUser, device_id: web::Path<String>) -> HttpResponse {
    match user
        .passage()
        .user()
        .revoke_device(user.user_id(), &device_id)
        .await
    {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(error) => failure(&error),
    }
}

fn failure(error: &ManagementError) -> HttpResponse {
    let (status, body) = management_failure(error);
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)).json(body)
}
