#![doc = include_str!("../README.md")]
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
