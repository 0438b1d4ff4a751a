//! Passage authentication for [actix-web](https://actix.rs): extractors for the signed-in user,
//! a middleware that guards a whole scope, and errors that answer as RFC 6750 says.
//!
//! Token extraction and verification happen in [`passage_core`]; this crate only reads the
//! [`Passage`] handle from app data and translates results into actix idioms.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, Responder, web};
//! use passage_actix::{MaybePassageUser, PassageAuth, PassageUser};
//! use passage_core::Passage;
//!
//! async fn me(user: PassageUser) -> impl Responder {
//!     format!("hello {}", user.user_id())
//! }
//!
//! async fn home(user: MaybePassageUser) -> impl Responder {
//!     match user.user() {
//!         Some(user) => format!("hello {}", user.user_id()),
//!         None => "hello stranger".to_owned(),
//!     }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let passage = Passage::from_env().map_err(std::io::Error::other)?;
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(web::Data::new(passage.clone()))
//!             .route("/", web::get().to(home))
//!             .route("/me", web::get().to(me))
//!             // Every route of this scope requires a valid token.
//!             .service(web::scope("/admin").wrap(PassageAuth::from_app_data()).route("", web::get().to(me)))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
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
