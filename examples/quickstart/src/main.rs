//! The passage-rs quickstart: a small axum web app guarded by Passage (through `passage-axum`),
//! runnable without an account.
//!
//! ```text
//! cargo run -p quickstart
//! ```
//!
//! By default it starts an in-process Passage emulator on a free port and serves the app on
//! `http://localhost:8080` (`PORT` overrides the port; both listen on 127.0.0.1). Sign-in goes
//! through the emulator's login page on `localhost` (passkeys need a domain, and `localhost` is a
//! secure context over plain HTTP): a passkey, or a magic link. Either sets the `psg_auth_token`
//! cookie; the app verifies that cookie on every guarded page and loads the user with the
//! management client.
//!
//! Set `PASSAGE_APP_ID` and `PASSAGE_API_KEY` (and `PASSAGE_AUTH_ORIGIN` / `PASSAGE_API_ORIGIN`
//! for a Passage-compatible server other than Passage itself, `PASSAGE_LOGIN_URL` for a custom
//! login page) to use that app instead; then no emulator is started. (Passage's hosted service
//! was retired in January 2026: a Passage-compatible server serves the login page now.)
//!
//! Pages: `/` (home and sign-in link), `/profile` (guarded), `/devices` (guarded: the user's
//! passkeys, each removable), `POST /devices/{id}/remove` (revokes one), `POST /sign-out`
//! (revokes refresh tokens and clears the cookie).
#![forbid(unsafe_code)]

mod app;
mod html;
mod setup;

use std::future::IntoFuture as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

/// The port served when `PORT` is not set.
const DEFAULT_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,passage_core=info,passage_emulator=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quickstart: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The port to serve, from `PORT` (0 picks a free one).
fn port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|_| format!("PORT={value:?} is not a port number (0 to 65535)")),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(DEFAULT_PORT),
        Err(std::env::VarError::NotUnicode(_)) => Err("PORT is not valid UTF-8".to_owned()),
    }
}

async fn run() -> Result<(), String> {
    let port = port()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        format!(
            "cannot listen on {addr}: {error} (is another app using it? set PORT to another port)"
        )
    })?;
    let bound = listener.local_addr().map_err(|error| error.to_string())?;
    // The login page's cookie has no Domain, so the app must be opened on the login page's host
    // name: localhost, where passkeys work.
    let origin = format!("http://localhost:{}", bound.port());
    // A browser may try `localhost` as ::1 first: serve the same port there too (best effort).
    let ipv6 = tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, bound.port())))
        .await
        .inspect_err(|error| tracing::debug!(%error, "not serving [::1] too"))
        .ok();

    let setup = setup::build(&origin).await?;
    if let Err(error) = setup.passage.warm_up().await {
        tracing::warn!(%error, "could not fetch Passage's signing keys yet; sign-ins will be refused until they can be");
    }
    let state = app::AppState {
        passage: setup.passage.clone(),
        sign_in: setup.sign_in.clone(),
        emulator: setup.emulator_link(),
        origin: origin.clone(),
    };

    println!();
    println!("  Passage quickstart is running.");
    println!();
    println!("  Open:     {origin}");
    match &setup.emulator_link() {
        Some(emulator) => {
            println!("  Emulator: {} (app {})", emulator.origin, emulator.app_id);
            println!();
            println!("  Click \"Sign in\", enter any email address and create a passkey, or get a");
            println!(
                "  magic link the emulator shows you (no email is sent). Press Ctrl+C to stop."
            );
        }
        None => {
            let config = setup.passage.config();
            println!(
                "  Passage:  {} (app {})",
                config.auth_origin(),
                config.app_id()
            );
            println!();
            println!("  Press Ctrl+C to stop.");
        }
    }
    println!();
    tracing::info!(%origin, "listening");

    let router = app::router(state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let ctrl_c = async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    };
    let main = axum::serve(listener, router.clone())
        .with_graceful_shutdown(stopped(stop_rx.clone()))
        .into_future();
    let second = async move {
        match ipv6 {
            Some(listener) => {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stopped(stop_rx))
                    .await
            }
            None => Ok(()),
        }
    };
    let (served, served_ipv6, ()) = tokio::join!(main, second, ctrl_c);
    served
        .and(served_ipv6)
        .map_err(|error| format!("server error: {error}"))?;
    if let Some(emulator) = setup.emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
