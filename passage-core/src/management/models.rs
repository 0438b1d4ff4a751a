//! The management API's response models. Unknown fields are kept in `extra`; enums keep unknown
//! values in an `Other` variant, so a server that adds fields or values never breaks decoding.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Declares a closed set of string values with a fallback that keeps unknown ones.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $value)] $variant,)+
            /// A value this SDK does not know yet, kept as sent.
            #[serde(untagged)]
            Other(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)+
                    Self::Other(other) => other,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// A user's status.
    ///
    /// ```
    /// use passage_core::management::UserStatus;
    /// let s: UserStatus = serde_json::from_str("\"suspended\"").unwrap();
    /// assert_eq!(s, UserStatus::Other("suspended".into()));
    /// assert_eq!(UserStatus::Active.as_str(), "active");
    /// ```
    UserStatus {
        /// Can sign in.
        Active = "active",
        /// Deactivated: cannot sign in.
        Inactive = "inactive",
        /// Created but not yet verified.
        Pending = "pending",
    }
}

string_enum! {
    /// The kind of a WebAuthn credential.
    WebAuthnType {
        /// A synced passkey.
        Passkey = "passkey",
        /// A roaming security key.
        SecurityKey = "security_key",
        /// A platform authenticator.
        Platform = "platform",
    }
}

string_enum! {
    /// Whether a recent event completed.
    EventStatus {
        /// Completed.
        Complete = "complete",
        /// Started, not completed.
        Incomplete = "incomplete",
    }
}

string_enum! {
    /// What a recent event did.
    EventAction {
        /// A registration.
        Register = "register",
        /// A sign-in.
        Login = "login",
        /// Anything else.
        OtherAction = "other",
    }
}

string_enum! {
    /// A social login provider.
    SocialLoginType {
        /// Sign in with Apple.
        Apple = "apple",
        /// GitHub.
        Github = "github",
        /// Google.
        Google = "google",
    }
}

string_enum! {
    /// What a magic link does.
    MagicLinkType {
        /// Signs the user in.
        Login = "login",
        /// Verifies the user's email or phone.
        VerifyIdentifier = "verify_identifier",
    }
}

string_enum! {
    /// How a magic link is sent.
    MagicLinkChannel {
        /// By email.
        Email = "email",
        /// By SMS.
        Phone = "phone",
    }
}

string_enum! {
    /// The language of a sent magic link.
    Language {
        /// German.
        De = "de",
        /// English.
        En = "en",
        /// Spanish.
        Es = "es",
        /// Italian.
        It = "it",
        /// Polish.
        Pl = "pl",
        /// Portuguese.
        Pt = "pt",
        /// Chinese.
        Zh = "zh",
    }
}

/// A Passage user as returned by get, create, update, activate and deactivate (`UserInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user ID.
    pub id: String,
    /// The email address (`""` when the user has none).
    pub email: String,
    /// Whether the email address was verified.
    pub email_verified: bool,
    /// The phone number in E.164 (`""` when the user has none).
    pub phone: String,
    /// Whether the phone number was verified.
    pub phone_verified: bool,
    /// An ID from an external system.
    #[serde(default)]
    pub external_id: String,
    /// The user's status.
    pub status: UserStatus,
    /// When the user was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the user was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the user last signed in (the zero time `0001-01-01T00:00:00Z` if never).
    #[serde(with = "time::serde::rfc3339")]
    pub last_login_at: OffsetDateTime,
    /// How many times the user signed in.
    pub login_count: u64,
    /// Custom metadata, or `None`.
    pub user_metadata: Option<Map<String, Value>>,
    /// Whether the user has a WebAuthn credential.
    pub webauthn: bool,
    /// The user's WebAuthn credentials.
    #[serde(default)]
    pub webauthn_devices: Vec<Device>,
    /// The kinds of the user's WebAuthn credentials.
    #[serde(default)]
    pub webauthn_types: Vec<WebAuthnType>,
    /// Recent sign-in and registration events.
    #[serde(default)]
    pub recent_events: Vec<RecentEvent>,
    /// Linked social accounts (`{}` when none).
    #[serde(default)]
    pub social_connections: SocialConnections,
    /// Fields this SDK does not model, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A user in a list page (`ListPaginatedUsersItem`): no devices, events or social connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserListItem {
    /// The user ID.
    pub id: String,
    /// The email address (`""` when none).
    pub email: String,
    /// Whether the email address was verified.
    pub email_verified: bool,
    /// The phone number (`""` when none).
    pub phone: String,
    /// Whether the phone number was verified.
    pub phone_verified: bool,
    /// An ID from an external system.
    #[serde(default)]
    pub external_id: String,
    /// The user's status.
    pub status: UserStatus,
    /// When the user was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the user was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the user last signed in.
    #[serde(with = "time::serde::rfc3339")]
    pub last_login_at: OffsetDateTime,
    /// How many times the user signed in.
    pub login_count: u64,
    /// Custom metadata, or `None`.
    pub user_metadata: Option<Map<String, Value>>,
    /// Fields this SDK does not model, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    /// Links to other pages (`href` is `""` where there is none).
    #[serde(rename = "_links")]
    pub links: PageLinks,
    /// The Unix time the listing is anchored at.
    pub created_before: i64,
    /// The page size.
    pub limit: u32,
    /// The page number, from 1.
    pub page: u32,
    /// How many users match in all.
    pub total_users: u64,
    /// The users of this page.
    pub users: Vec<UserListItem>,
}

/// Pagination links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageLinks {
    /// The first page.
    pub first: Link,
    /// The last page.
    pub last: Link,
    /// The next page (`""` on the last page).
    pub next: Link,
    /// The previous page (`""` on the first page).
    pub previous: Link,
    /// This page.
    #[serde(rename = "self")]
    pub self_: Link,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The URL, or `""`.
    pub href: String,
}

/// A WebAuthn credential (`WebAuthnDevices`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// The device ID.
    pub id: String,
    /// The credential ID.
    pub cred_id: String,
    /// A name the user gave it.
    pub friendly_name: String,
    /// The kind of credential.
    #[serde(rename = "type")]
    pub kind: WebAuthnType,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last updated.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it was last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_login_at: OffsetDateTime,
    /// How many times it was used.
    pub usage_count: u64,
    /// Icons of the authenticator.
    pub icons: DeviceIcons,
    /// Fields this SDK does not model, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Icons of an authenticator, as URLs or data URIs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceIcons {
    /// For light themes.
    pub light: Option<String>,
    /// For dark themes.
    pub dark: Option<String>,
}

/// A recent sign-in or registration event (`UserRecentEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentEvent {
    /// The event ID.
    pub id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it completed, if it did.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// The client's IP address.
    pub ip_addr: String,
    /// Whether it completed.
    pub status: EventStatus,
    /// The client's user agent.
    pub user_agent: String,
    /// A readable form of the user agent.
    pub user_agent_display: String,
    /// What it did.
    pub action: EventAction,
    /// The social provider used, if any.
    pub social_login_type: Option<SocialLoginType>,
    /// Fields this SDK does not model, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Linked social accounts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SocialConnections {
    /// Sign in with Apple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<SocialConnection>,
    /// GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<SocialConnection>,
    /// Google.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google: Option<SocialConnection>,
    /// Providers this SDK does not model, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One linked social account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialConnection {
    /// The provider's user ID.
    pub provider_id: String,
    /// The identifier at the provider (usually an email).
    pub provider_identifier: String,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_login_at: OffsetDateTime,
}

/// A magic link (`MagicLink`). Its `Debug` shows neither the one-time secret nor the URL that
/// carries it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MagicLink {
    /// The link ID.
    pub id: String,
    /// Whether it was used.
    pub activated: bool,
    /// The app it belongs to.
    pub app_id: String,
    /// The email or phone it was made for.
    pub identifier: String,
    /// Where the user lands after using it.
    pub redirect_url: String,
    /// The one-time secret (also in `url`).
    pub secret: String,
    /// Its lifetime in minutes.
    pub ttl: u32,
    /// What it does.
    #[serde(rename = "type")]
    pub kind: MagicLinkType,
    /// The URL to send to the user; carries `psg_magic_link=<secret>`.
    pub url: String,
    /// The user it signs in.
    pub user_id: String,
    /// Fields this SDK does not model, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for MagicLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MagicLink")
            .field("id", &self.id)
            .field("activated", &self.activated)
            .field("app_id", &self.app_id)
            .field("identifier", &self.identifier)
            .field("redirect_url", &self.redirect_url)
            .field("secret", &"[redacted]")
            .field("ttl", &self.ttl)
            .field("kind", &self.kind)
            .field("url", &"[redacted]")
            .field("user_id", &self.user_id)
            .field("extra", &self.extra)
            .finish()
    }
}

/// An app's public settings (`AppInfo`); the many styling fields stay in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The app ID.
    pub id: String,
    /// The app's name.
    pub name: String,
    /// The origin the app's login element runs on.
    pub auth_origin: String,
    /// Where users land after signing in.
    pub redirect_url: String,
    /// The app's login page.
    #[serde(default)]
    pub login_url: String,
    /// Session length in seconds.
    pub session_timeout_length: i64,
    /// Whether Passage hosts the login page.
    #[serde(default)]
    pub hosted: bool,
    /// The hosted login subdomain.
    #[serde(default)]
    pub hosted_subdomain: String,
    /// Which identifiers users may use (`email`, `phone`, `both`).
    #[serde(default)]
    pub allowed_identifier: String,
    /// Which identifier is required.
    #[serde(default)]
    pub required_identifier: String,
    /// Enabled auth methods, as sent.
    #[serde(default)]
    pub auth_methods: Value,
    /// The custom metadata fields, as sent.
    #[serde(default)]
    pub user_metadata_schema: Value,
    /// The app's RSA public key (PEM or base64 DER).
    #[serde(default)]
    pub rsa_public_key: String,
    /// When the app was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
