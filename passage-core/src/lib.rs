#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod authenticated_user;
mod challenge;
pub mod clock;
mod config;
mod error;
mod jwks;
pub mod management;
mod passage;
mod policy_claims;
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
