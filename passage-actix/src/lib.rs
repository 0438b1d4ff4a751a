#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod extract;
mod middleware;

pub use error::PassageError;
pub use extract::{MaybePassageUser, PassageUser, RequestHeaders};
pub use middleware::{PassageAuth, PassageAuthMiddleware};

use actix_web::HttpRequest;
use actix_web::web;
use passage_core::Passage;

/// Finds the [`Passage`] handle in app data: `web::Data<Passage>` first, then a plain `Passage`.
fn passage_from_app_data(request: &HttpRequest) -> Option<Passage> {
    if let Some(data) = request.app_data::<web::Data<Passage>>() {
        return Some(Passage::clone(data));
    }
    request.app_data::<Passage>().cloned()
}
