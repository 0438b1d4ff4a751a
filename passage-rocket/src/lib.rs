//! Passage authentication for [Rocket](https://rocket.rs): request guards for the signed-in user,
//! a fairing that builds the [`Passage`](passage_core::Passage) handle at ignite, and catchers that answer refusals as
//! RFC 6750 says.
//!
//! Token extraction and verification happen in [`passage_core`]; this crate only reads the
//! handle from managed state and translates results into Rocket idioms. A failing guard answers
//! `Outcome::Error((status, PassageError))`; the [`catchers`], which [`PassageFairing`] registers,
//! render that error (status, `WWW-Authenticate`, `Retry-After`, JSON body) from the
//! request-local cache.
//!
//! ```no_run
//! use passage_rocket::{MaybePassageUser, PassageFairing, PassageUser};
//! use rocket::{get, launch, routes};
//!
//! #[get("/me")]
//! fn me(user: PassageUser) -> String {
//!     format!("hello {}", user.user_id())
//! }
//!
//! #[get("/")]
//! fn home(user: MaybePassageUser) -> String {
//!     match user.user() {
//!         Some(user) => format!("hello {}", user.user_id()),
//!         None => "hello stranger".to_owned(),
//!     }
//! }
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build()
//!         .attach(PassageFairing::from_env())
//!         .mount("/", routes![me, home])
//! }
//! ```
//!
//! # Keep tokens out of your logs
//!
//! At `debug`, Rocket's server logs every request and response in full, headers included: the
//! `Authorization` header and the `psg_auth_token` cookie end up in the log. Rocket's own logger
//! is kept at `normal` or below by its `log_level` setting (the default in release builds), but
//! when the app routes the `log` crate into `tracing` (as `tracing-subscriber` does by default),
//! `log_level` no longer applies and only your filter does. Cap Rocket's server target there,
//! whatever `RUST_LOG` says:
//!
//! ```no_run
//! let filter = tracing_subscriber::EnvFilter::from_default_env()
//!     .add_directive("rocket::server=warn".parse().expect("a valid directive"));
//! tracing_subscriber::fmt().with_env_filter(filter).init();
//! ```
//!
//! (`rocket::server` also logs each request at `info`, which costs about as much as the request
//! itself; the example apps cap it for that reason too.)
#![forbid(unsafe_code)]

mod error;
mod fairing;
mod guard;

pub use error::PassageError;
pub use fairing::PassageFairing;
pub use guard::{MaybePassageUser, PassageUser, RequestHeaders};

use rocket::Catcher;
use rocket::http::Status;
use rocket::request::Request;

use crate::error::Fallback;

/// Catchers for 401, 503 and 500 that answer with the error a Passage guard cached for the
/// request (so 401s carry `WWW-Authenticate`, 503s `Retry-After`, and all a terse JSON body).
/// [`PassageFairing`] registers them at `/`; register them yourself (at the base where the guarded
/// routes are mounted) when the handle is managed with `.manage(passage)` or the fairing is built
/// [`without_catchers`](PassageFairing::without_catchers). A 401/503/500 from elsewhere is answered
/// with a generic JSON body.
///
/// ```no_run
/// let rocket = rocket::build().register("/", passage_rocket::catchers());
/// ```
pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![unauthorized, unavailable, internal]
}

#[rocket::catch(401)]
fn unauthorized(request: &Request<'_>) -> Result<PassageError, Fallback> {
    guard::cached_error(request, Status::Unauthorized).ok_or(Fallback(Status::Unauthorized))
}

#[rocket::catch(503)]
fn unavailable(request: &Request<'_>) -> Result<PassageError, Fallback> {
    guard::cached_error(request, Status::ServiceUnavailable)
        .ok_or(Fallback(Status::ServiceUnavailable))
}

#[rocket::catch(500)]
fn internal(request: &Request<'_>) -> Result<PassageError, Fallback> {
    guard::cached_error(request, Status::InternalServerError)
        .ok_or(Fallback(Status::InternalServerError))
}
