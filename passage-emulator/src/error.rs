//! The library's public error.

/// Errors of the emulator's library API.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// let refused = emulator.create_user("not an email").unwrap_err();
/// assert!(matches!(
///     refused,
///     passage_emulator::EmulatorError::Rejected { ref code, .. } if code == "invalid_request"
/// ));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Binding the listener or reading/writing the data file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A key could not be generated, loaded or used.
    #[error("crypto error: {0}")]
    Crypto(String),
    /// The data file is unreadable or inconsistent.
    #[error("persistence error: {0}")]
    Persistence(String),
    /// A setting is unusable, e.g. a passkey RP ID that is not a domain of the login page's
    /// origin.
    #[error("configuration error: {0}")]
    Config(String),
    /// An operation was refused (for example an invalid email or an unknown user).
    #[error("{code}: {message}")]
    Rejected {
        /// Passage error code, e.g. `invalid_request`.
        code: String,
        /// Human-readable message.
        message: String,
    },
}
