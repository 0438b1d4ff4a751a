//! Stored records and their Passage wire representations.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The zero time Passage reports for timestamps that never happened (e.g. `last_login_at`).
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random alphanumeric string of `len` characters from the system CSPRNG.
pub(crate) fn random_string(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        if aws_lc_rs::rand::fill(&mut buf).is_err() {
            // The system RNG failing is not recoverable in any meaningful way; fall back to the
            // clock so we never panic on a request path (IDs only need to be unique here).
            let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
            buf.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = (nanos >> (i % 16)) as u8 ^ i as u8);
        }
        for b in buf {
            // 248 = 4 * 62: rejection sampling keeps the distribution uniform.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHANUMERIC[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// A 24-character alphanumeric ID, the shape of Passage app, user, device and key IDs.
pub(crate) fn random_id() -> String {
    random_string(24)
}

/// The current UTC time truncated to microseconds (the precision of Passage's filters).
pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}

/// RFC 3339 text of a timestamp.
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| ZERO_TIME.to_string())
}

fn fmt_opt_time(t: Option<OffsetDateTime>) -> String {
    t.map_or_else(|| ZERO_TIME.to_string(), fmt_time)
}

/// A Passage user as stored by the emulator.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: String,
    pub phone_verified: bool,
    pub external_id: String,
    pub status: String,
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
            status: "active".into(),
            created_at: t,
            updated_at: t,
            last_login_at: None,
            login_count: 0,
            user_metadata: None,
            devices: Vec::new(),
            events: Vec::new(),
            seq,
        }
    }

    fn webauthn_types(&self) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for d in &self.devices {
            if !types.contains(&d.kind) {
                types.push(d.kind.clone());
            }
        }
        types
    }

    /// `ListPaginatedUsersItem`.
    pub(crate) fn list_item_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "email_verified": self.email_verified,
            "phone": self.phone,
            "phone_verified": self.phone_verified,
            "external_id": self.external_id,
            "status": self.status,
            "created_at": fmt_time(self.created_at),
            "updated_at": fmt_time(self.updated_at),
            "last_login_at": fmt_opt_time(self.last_login_at),
            "login_count": self.login_count,
            "user_metadata": self.user_metadata,
        })
    }

    /// `UserInfo`.
    pub(crate) fn info_json(&self) -> Value {
        let mut v = self.list_item_json();
        if let Value::Object(m) = &mut v {
            m.insert("webauthn".into(), Value::Bool(!self.devices.is_empty()));
            m.insert(
                "webauthn_devices".into(),
                Value::Array(self.devices.iter().map(Device::json).collect()),
            );
            m.insert("webauthn_types".into(), json!(self.webauthn_types()));
            m.insert(
                "recent_events".into(),
                Value::Array(self.events.iter().rev().map(Event::json).collect()),
            );
            m.insert("social_connections".into(), json!({}));
        }
        v
    }
}

/// A WebAuthn device (credential) registered to a user.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Device {
    pub id: String,
    pub cred_id: String,
    pub friendly_name: String,
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    pub usage_count: i64,
    pub icon_light: Option<String>,
    pub icon_dark: Option<String>,
}

impl Device {
    /// `WebAuthnDevices`.
    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "cred_id": self.cred_id,
            "friendly_name": self.friendly_name,
            "type": self.kind,
            "created_at": fmt_time(self.created_at),
            "updated_at": fmt_time(self.updated_at),
            "last_login_at": fmt_opt_time(self.last_login_at),
            "usage_count": self.usage_count,
            "icons": {"light": self.icon_light, "dark": self.icon_dark},
        })
    }
}

/// A recent authentication event of a user.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Event {
    pub id: String,
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub ip_addr: String,
    pub status: String,
    pub user_agent: String,
    pub user_agent_display: String,
    pub action: String,
    pub social_login_type: Option<String>,
}

impl Event {
    /// `UserRecentEvent`.
    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "created_at": fmt_time(self.created_at),
            "completed_at": self.completed_at.map(fmt_time),
            "ip_addr": self.ip_addr,
            "status": self.status,
            "user_agent": self.user_agent,
            "user_agent_display": self.user_agent_display,
            "action": self.action,
            "social_login_type": self.social_login_type,
        })
    }
}

/// A magic link as stored by the emulator.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct MagicLinkRecord {
    pub id: String,
    pub secret: String,
    pub user_id: String,
    pub identifier: String,
    /// `email` or `phone`: which identifier the link verifies.
    pub channel: String,
    pub kind: String,
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

impl MagicLinkRecord {
    /// `MagicLink`.
    pub(crate) fn json(&self, app_id: &str) -> Value {
        json!({
            "activated": self.activated,
            "app_id": app_id,
            "id": self.id,
            "identifier": self.identifier,
            "redirect_url": self.redirect_url,
            "secret": self.secret,
            "ttl": self.ttl_minutes,
            "type": self.kind,
            "url": self.url,
            "user_id": self.user_id,
        })
    }
}

/// A message the emulator "sent": magic links land here instead of email or SMS. Its `Debug`
/// does not show the URL (it carries the link's secret).
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

/// Lowercases and validates an email address (a pragmatic check, not full RFC 5322).
pub(crate) fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let domain_ok = !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains(['<', '>', '"', ',']);
    (domain_ok && local_ok).then_some(email)
}

/// Whether `phone` is an E.164 number: `+`, a non-zero digit, then up to 14 more digits.
pub(crate) fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}
