//! The records the store keeps. Their serde form is the data file's, not the wire's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use webauthn_rs::prelude::{Passkey, Uuid};

/// The current UTC time truncated to microseconds (the precision of Passage's filters).
pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}

/// RFC 3339 text of a timestamp.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| String::from("0001-01-01T00:00:00Z"))
}

/// A user's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UserStatus {
    Active,
    Inactive,
    Pending,
}

impl UserStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Pending => "pending",
        }
    }
}

/// Where a magic link goes: which identifier it verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Channel {
    Email,
    Phone,
}

/// What a magic link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LinkKind {
    Login,
    VerifyIdentifier,
}

/// A WebAuthn credential's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeviceKind {
    Passkey,
    SecurityKey,
    Platform,
}

/// What an event was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EventAction {
    Register,
    Login,
    Other,
}

/// Whether an event completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EventStatus {
    Complete,
    Incomplete,
}

/// The social provider of a social login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SocialLoginType {
    Apple,
    Github,
    Google,
}

/// A Passage user.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: String,
    pub phone_verified: bool,
    pub external_id: String,
    pub status: UserStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    pub login_count: i64,
    pub user_metadata: Option<Map<String, Value>>,
    pub devices: Vec<Device>,
    pub events: Vec<Event>,
    /// Creation sequence number: a stable tie-breaker for ordering.
    pub seq: u64,
    /// Created by the keyless login page (these are capped).
    #[serde(default)]
    pub from_login_page: bool,
    /// The WebAuthn user handle of the user's passkeys (made when the first is registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webauthn_handle: Option<Uuid>,
}

impl User {
    pub(crate) fn new(id: String, email: String, phone: String, seq: u64) -> Self {
        let t = now();
        Self {
            id,
            email,
            email_verified: false,
            phone,
            phone_verified: false,
            external_id: String::new(),
            status: UserStatus::Active,
            created_at: t,
            updated_at: t,
            last_login_at: None,
            login_count: 0,
            user_metadata: None,
            devices: Vec::new(),
            events: Vec::new(),
            seq,
            from_login_page: false,
            webauthn_handle: None,
        }
    }
}

/// A WebAuthn device (credential) registered to a user.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Device {
    pub id: String,
    pub cred_id: String,
    pub friendly_name: String,
    pub kind: DeviceKind,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    pub usage_count: i64,
    pub icon_light: Option<String>,
    pub icon_dark: Option<String>,
    /// The credential (public key, signature counter) of a passkey registered through a
    /// WebAuthn ceremony; `None` for a device seeded through the emulator's controls, which no
    /// authenticator holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<Passkey>,
    /// The authenticator model's AAGUID, when it told (all zeros is left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<Uuid>,
    /// The highest signature counter seen (0 for authenticators that keep none).
    #[serde(default)]
    pub sign_count: u32,
}

/// A recent authentication event of a user.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Event {
    pub id: String,
    /// Free-form, e.g. `passkey_login` or `magic_link_login`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub ip_addr: String,
    pub status: EventStatus,
    pub user_agent: String,
    pub user_agent_display: String,
    pub action: EventAction,
    pub social_login_type: Option<SocialLoginType>,
}

/// A magic link.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct MagicLink {
    pub id: String,
    pub secret: String,
    pub user_id: String,
    pub identifier: String,
    pub channel: Channel,
    pub kind: LinkKind,
    pub redirect_url: String,
    pub url: String,
    pub ttl_minutes: i64,
    pub language: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub activated: bool,
}

impl MagicLink {
    /// Used, or past its expiry: kept only to answer a replay with 409 or 410.
    pub(crate) fn is_dead(&self, now: OffsetDateTime) -> bool {
        self.activated || now >= self.expires_at
    }
}

/// A message the emulator "sent": magic links land here instead of email or SMS. Its `Debug`
/// does not show the URL (it carries the link's secret).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), passage_emulator::EmulatorError> {
/// let emulator = passage_emulator::Emulator::builder().start().await?;
/// assert!(emulator.inbox().is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxMessage {
    /// Message ID (24 alphanumeric characters).
    pub id: String,
    /// `email` or `phone`.
    pub channel: String,
    /// The recipient: an email address or an E.164 phone number.
    pub to: String,
    /// ID of the magic link the message carries.
    pub magic_link_id: String,
    /// The magic link URL (contains the `psg_magic_link` secret).
    pub url: String,
    /// RFC 3339 creation time.
    pub created_at: String,
}

impl std::fmt::Debug for InboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("magic_link_id", &self.magic_link_id)
            .field("url", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}
