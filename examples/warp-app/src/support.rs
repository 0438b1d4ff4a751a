//! Start-up from the environment, logging, and the mapping of management API failures to HTTP
//! answers. Every example app carries its own copy of this file, so that each one can be copied
//! out of the repository and built alone.

use std::net::{Ipv4Addr, SocketAddr};

use passage_core::management::ManagementError;
use passage_core::{Config, Passage};
use serde_json::{Value, json};

/// Log targets capped whatever `RUST_LOG` says: Rocket's server logs every request at info and
/// dumps whole requests and responses, headers (tokens, cookies) included, at debug. Per refused
/// request, Rocket also warns twice, under the targets it marks as indented (`::_`): the route
/// code it generates in this crate ("Request guard failed", under `<module>::_`) and its server
/// ("Responding with registered catcher"): lines an attacker can send at will, 2 to 5 µs each in
/// the load benchmark. Routes declared in another module need that module's `::_` target here
/// too. Request logging, where an app wants it, is opt-in and must never print headers.
const CAPPED_TARGETS: &[&str] = &[
    "rocket::server=warn",
    "rocket::server::_=error",
    "rocket::request=warn",
    concat!(env!("CARGO_CRATE_NAME"), "::_=error"),
];

/// Logs to stderr; `RUST_LOG` filters (default `info`), except that framework request dumps
/// (see `CAPPED_TARGETS`) never print, so no level writes a token to the log. Colour only when
/// stderr is a terminal.
pub fn init_tracing() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for directive in CAPPED_TARGETS {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Prints `message` on stderr and exits with status 2 (a configuration error).
pub fn exit_misconfigured(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// Reads the `PASSAGE_*` variables (see [`Config::from_env`]), or exits with a clear message.
pub fn config_or_exit() -> Config {
    Config::from_env().unwrap_or_else(|error| exit_misconfigured(error))
}

/// Builds the `Passage` handle from the environment, or exits with a clear message.
pub fn passage_or_exit() -> Passage {
    Passage::new(config_or_exit()).unwrap_or_else(|error| exit_misconfigured(error))
}

/// `127.0.0.1:$PORT` (default 8080), or exits when `PORT` is not a port number.
pub fn listen_addr_or_exit() -> SocketAddr {
    let port = match std::env::var("PORT") {
        Err(_) => 8080,
        Ok(value) => value.trim().parse::<u16>().unwrap_or_else(|_| {
            exit_misconfigured(format_args!("PORT={value:?} is not a port number"))
        }),
    };
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// The answer to a failed management call: 404 for a missing user or device, 400 for an
/// argument refused before sending, 502 for everything else (the upstream API failed or is
/// misconfigured, including its own 404s such as `app_not_found`).
pub fn management_failure(error: &ManagementError) -> (u16, Value) {
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(next) = source {
        cause.push_str(": ");
        cause.push_str(&next.to_string());
        source = next.source();
    }
    tracing::warn!(%error, cause, "management API call failed");
    if error.is_not_found() {
        return (404, json!({ "code": "not_found", "error": "not found" }));
    }
    if let ManagementError::InvalidArgument(reason) = error {
        return (400, json!({ "code": "bad_request", "error": reason }));
    }
    (
        502,
        json!({ "code": "management_api_error", "error": "the Passage management API failed" }),
    )
}

/// What `GET /control` answers in `user_id`: the shape and size of `/authenticated`'s answer
/// (24 characters, like a Passage user ID) with no verification behind it, the load benchmark's
/// baseline (`benches/load.py`).
pub const CONTROL_USER_ID: &str = "control-route-not-a-user";

/// Worker threads from `WORKERS` (a positive integer), or `None` for the framework's default.
pub fn workers_or_exit() -> Option<usize> {
    let value = std::env::var("WORKERS").ok()?;
    match value.trim().parse::<usize>() {
        Ok(workers) if workers > 0 => Some(workers),
        _ => exit_misconfigured(format_args!(
            "WORKERS={value:?} is not a positive number of worker threads"
        )),
    }
}

/// The body of `/authenticated` and `/optional`: `{"user_id": <id or null>}`.
pub fn user_id_body(user_id: Option<&str>) -> Value {
    json!({ "user_id": user_id })
}
