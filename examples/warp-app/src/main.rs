//! The warp example: the contract routes, with `passage_warp`'s filters and its `recover`
//! handler, plus `POST /me/magic-link`, which emails the signed-in user a sign-in link.
//!
//! ```text
//! PASSAGE_APP_ID=... PASSAGE_API_KEY=... PORT=8080 cargo run -p warp-app
//! ```

mod support;

use std::convert::Infallible;

use passage_core::management::{MagicLinkChannel, MagicLinkRequest, ManagementError};
use passage_warp::{PassageUser, handle_rejection, optional_user, user};
use support::{management_failure, user_id_body};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response, json, with_status};

fn main() {
    support::init_tracing();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = support::workers_or_exit() {
        runtime.worker_threads(workers);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(serve()),
        Err(error) => support::exit_misconfigured(format_args!("cannot start Tokio: {error}")),
    }
}

async fn serve() {
    let passage = support::passage_or_exit();
    let addr = support::listen_addr_or_exit();

    let health = warp::path!("health").map(|| "ok");
    // Unguarded, with the shape of `/authenticated`'s answer: the load benchmark's baseline.
    let control =
        warp::path!("control").map(|| json(&user_id_body(Some(support::CONTROL_USER_ID))));
    let authenticated = warp::path!("authenticated")
        .and(user(passage.clone()))
        .map(|user: PassageUser| json(&user_id_body(Some(user.user_id()))));
    let optional = warp::path!("optional")
        .and(optional_user(passage.clone()))
        .map(|user: Option<PassageUser>| {
            json(&user_id_body(user.as_ref().map(|u| u.user_id().as_str())))
        });
    let me = warp::path!("me").and(user(passage.clone())).and_then(me);
    let magic_link = warp::path!("me" / "magic-link")
        .and(warp::post())
        .and(user(passage))
        .and_then(magic_link);

    let routes = warp::get()
        .and(health.or(control).or(authenticated).or(optional).or(me))
        .or(magic_link)
        .recover(handle_rejection);

    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => support::exit_misconfigured(format_args!("cannot listen on {addr}: {error}")),
    };
    tracing::info!(%addr, "warp example listening");
    warp::serve(routes).incoming(listener).run().await;
}

async fn me(user: PassageUser) -> Result<Response, Infallible> {
    Ok(match user.fetch().await {
        Ok(user) => json(&user).into_response(),
        Err(error) => failure(&error),
    })
}

async fn magic_link(user: PassageUser) -> Result<Response, Infallible> {
    // Passage sends the link to the user's own email; the response never carries the one-time
    // secret, so a stolen session cannot mint itself a fresh one.
    let request = MagicLinkRequest::user_id(user.user_id().as_str()).send(MagicLinkChannel::Email);
    Ok(match user.passage().create_magic_link(request).await {
        Ok(link) => with_status(
            json(&serde_json::json!({ "id": link.id, "sent_to": link.identifier })),
            StatusCode::ACCEPTED,
        )
        .into_response(),
        Err(error) => failure(&error),
    })
}

fn failure(error: &ManagementError) -> Response {
    let (status, body) = management_failure(error);
    with_status(
        json(&body),
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
    )
    .into_response()
}
