//! Passage authentication for [axum](https://docs.rs/axum): extractors for the signed-in user and
//! a tower layer that guards a whole router.
//!
//! Token extraction and verification happen in [`passage_core`]; this crate only finds the
//! [`Passage`](passage_core::Passage) handle (in the router state, through [`FromRef`]) and translates results into axum
//! responses.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use passage_axum::{MaybePassageUser, PassageLayer, PassageUser};
//! use passage_core::Passage;
//!
//! async fn me(user: PassageUser) -> String {
//!     format!("hello {}", user.user_id())
//! }
//!
//! async fn home(MaybePassageUser(user): MaybePassageUser) -> String {
//!     match user {
//!         Some(user) => format!("hello {}", user.user_id()),
//!         None => "hello stranger".to_owned(),
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let passage = Passage::from_env()?;
//!     // Every route of this router requires a valid token.
//!     let admin = Router::new()
//!         .route("/", get(me))
//!         .layer(PassageLayer::new(passage.clone()));
//!     let app = Router::new()
//!         .route("/", get(home))
//!         .route("/me", get(me))
//!         .nest("/admin", admin)
//!         .with_state(passage);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]

mod extract;
mod layer;
mod rejection;

pub use extract::{MaybePassageUser, PassageUser};
pub use layer::{PassageLayer, PassageService};
pub use rejection::PassageRejection;

#[doc(no_inline)]
pub use axum::extract::FromRef;
