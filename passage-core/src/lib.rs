//! The framework-agnostic core of passage-rs, the Rust SDK for [Passage](https://passage.id):
//! configuration, token extraction from requests, one JWKS-backed verifier, and one management
//! client, shared behind a cheap-to-clone [`Passage`] handle.
//!
//! ```no_run
//! use passage_core::{AuthError, Config, Passage};
//!
//! # async fn handler(headers: http::HeaderMap) -> Result<(), Box<dyn std::error::Error>> {
//! let passage = Passage::new(Config::from_env()?)?;
//! match passage.authenticate_request(&headers).await {
//!     Ok(user_id) => println!("hello {user_id}"),
//!     Err(error @ AuthError::KeysUnavailable(_)) => println!("503: {error}"),
//!     Err(error) => println!("401: {error}"),
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod authenticated_user;
mod challenge;
pub mod clock;
mod config;
mod error;
mod jwks;
pub mod management;
mod passage;
mod refusal;
mod telemetry;
mod token_source;
mod transport;
mod user_id;
mod verifier;

pub use authenticated_user::AuthenticatedUser;
pub use challenge::{BearerError, Challenge};
pub use config::{
    AUTH_COOKIE_NAME, AuthStrategy, Config, ConfigBuilder, ConfigError, DEFAULT_API_ORIGIN,
    DEFAULT_AUTH_ORIGIN, DEFAULT_MAX_TOKEN_LIFETIME, JwksSettings, RetrySettings, Secret,
};
pub use error::{AuthError, ErrorResponse, InvalidTokenReason, KeysUnavailableReason};
pub use passage::Passage;
pub use refusal::Refusal;
/// The HTTP client crate the SDK uses, re-exported so that a client handed to
/// [`Passage::with_http_client`] is of the same version.
pub use reqwest;
pub use token_source::{MAX_TOKEN_BYTES, TokenSource, extract_token};
pub use user_id::UserId;
