//! The state: everything the emulator knows, and the lookups every operation needs.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::keys::SigningKey;
use super::records::{InboxMessage, MagicLink, User};

/// App settings (persisted).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AppConfig {
    pub id: String,
    pub name: String,
    pub api_key: String,
    pub auth_origin: String,
    pub redirect_url: String,
    /// Session length in seconds (`exp - iat` of minted tokens).
    pub session_length: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl AppConfig {
    /// Where to send the browser after a login: the link's URL if it is on the app's auth origin or
    /// is the app's redirect URL, else the app's redirect URL (no open redirects).
    pub(crate) fn safe_redirect(&self, target: &str) -> String {
        let app = self;
        if target.chars().any(char::is_control) {
            return app.redirect_url.clone();
        }
        let origin = app.auth_origin.trim_end_matches('/');
        if target == app.redirect_url {
            return target.to_string();
        }
        if target.starts_with('/') && !target.starts_with("//") && !target.contains('\\') {
            return format!("{origin}{target}");
        }
        let same_origin = target == origin
            || target
                .strip_prefix(origin)
                .is_some_and(|rest| rest.starts_with(['/', '?', '#']));
        if same_origin && !target.contains('\\') {
            target.to_string()
        } else {
            app.redirect_url.clone()
        }
    }
}

/// Everything the emulator knows.
#[derive(Clone)]
pub(crate) struct State {
    pub app: AppConfig,
    /// Signing keys, oldest first; the last one signs new tokens.
    pub keys: Vec<SigningKey>,
    pub users: Vec<User>,
    pub links: Vec<MagicLink>,
    pub inbox: Vec<InboxMessage>,
    pub seq: u64,
}

impl State {
    pub(crate) fn new(app: AppConfig, key: SigningKey) -> Self {
        Self {
            app,
            keys: vec![key],
            users: Vec::new(),
            links: Vec::new(),
            inbox: Vec::new(),
            seq: 0,
        }
    }

    /// The next creation sequence number (saturating: a loaded file is checked far below it).
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq = self.seq.saturating_add(1);
        self.seq
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn user_mut(&mut self, id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| !email.is_empty() && u.email == email)
    }

    pub(crate) fn user_by_phone(&self, phone: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| !phone.is_empty() && u.phone == phone)
    }

    /// The key that signs new tokens.
    pub(crate) fn current_key(&self) -> Option<&SigningKey> {
        self.keys.last()
    }

    /// Keys still published in the JWKS at `now` (Unix seconds).
    pub(crate) fn published_keys(&self, now: i64) -> impl Iterator<Item = &SigningKey> {
        self.keys
            .iter()
            .filter(move |k| k.retire_at.is_none_or(|r| r > now))
    }
}
