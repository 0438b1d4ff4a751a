//! Operations: what the emulator does, as plain functions over the store. No HTTP here: the
//! HTTP layer parses a request, calls one operation and renders its result.

pub(crate) mod devices;
pub(crate) mod events;
pub(crate) mod keys;
pub(crate) mod links;
pub(crate) mod passkeys;
pub(crate) mod tokens;
pub(crate) mod user_query;
pub(crate) mod users;
pub(crate) mod validate;

use std::time::Duration;

use crate::error::EmulatorError;
use crate::relying_party::Missing;

/// Why an operation was refused. Each variant is one Passage error code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpError {
    /// `invalid_request`: the message says which fields and why.
    #[error("{0}")]
    Invalid(String),
    #[error("User not found")]
    UserNotFound,
    #[error("Device not found")]
    DeviceNotFound,
    #[error("Magic link not found")]
    MagicLinkNotFound,
    #[error("Magic link has already been used")]
    MagicLinkUsed,
    #[error("Magic link has expired")]
    MagicLinkExpired,
    #[error("User is not active")]
    UserNotActive,
    /// The login page created as many users as it may.
    #[error(
        "The login page has created {0} users, its limit: reset the emulator or delete some users"
    )]
    LoginPageFull(usize),
    /// A client sent too many login requests; it may try again after the wait.
    #[error("Too many sign-in requests from this client; try again in a few seconds")]
    RateLimited(Duration),
    /// A passkey ceremony's ID is unknown (never started, or already finished: challenges are
    /// single use) or its time ran out.
    #[error("{}", match .0 {
        Missing::Unknown => "This passkey request is unknown or was already used; start again",
        Missing::Expired => "This passkey request has expired; start again",
    })]
    CeremonyMissing(Missing),
    /// The authenticator's answer failed a relying-party check (challenge, origin, RP ID, user
    /// verification, signature, signature counter, user handle).
    #[error("The passkey was refused: {0}")]
    PasskeyRefused(String),
    /// No account has this passkey (it may have been removed).
    #[error(
        "This passkey is not registered here (it may have been removed from your account); \
         sign in with a magic link instead"
    )]
    PasskeyUnknown,
    /// The login page is on an IP address, which cannot be a WebAuthn RP ID.
    #[error(
        "Passkeys need the login page on a domain name such as localhost; this emulator's login \
         page is on an IP address (set its login origin)"
    )]
    PasskeysUnavailable,
    /// Somebody signing up named an identifier that already has an account.
    #[error("An account with this identifier exists; sign in instead")]
    IdentifierTaken,
    /// The credential being registered is registered already.
    #[error("This passkey is already registered")]
    CredentialTaken,
    /// Something on the emulator's side failed (a key, the data file).
    #[error("internal error")]
    Internal(#[source] EmulatorError),
}

impl OpError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// The Passage error code.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_request",
            Self::UserNotFound => "user_not_found",
            Self::DeviceNotFound => "device_not_found",
            Self::MagicLinkNotFound => "magic_link_not_found",
            Self::MagicLinkUsed => "magic_link_already_used",
            Self::MagicLinkExpired => "magic_link_expired",
            Self::UserNotActive => "user_not_active",
            Self::LoginPageFull(_) | Self::RateLimited(_) => "too_many_requests",
            Self::CeremonyMissing(_) => "webauthn_ceremony_not_found",
            Self::PasskeyRefused(_) => "invalid_credential",
            Self::PasskeyUnknown => "credential_not_found",
            Self::IdentifierTaken => "identifier_exists",
            Self::PasskeysUnavailable => "passkeys_unavailable",
            Self::CredentialTaken => "credential_exists",
            Self::Internal(_) => "internal_server_error",
        }
    }
}

impl From<EmulatorError> for OpError {
    fn from(e: EmulatorError) -> Self {
        Self::Internal(e)
    }
}

impl From<OpError> for EmulatorError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Internal(inner) => inner,
            refused => Self::Rejected {
                code: refused.code().to_string(),
                message: refused.to_string(),
            },
        }
    }
}
