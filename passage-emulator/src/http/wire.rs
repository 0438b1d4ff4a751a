//! The wire format: typed bodies of requests and answers, in Passage's field names.
//!
//! Independent of `passage-core`'s models on purpose: both sides are written from Passage's
//! documents, so a test between them catches a mistake made on one side only.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::faults::{Fault, FaultMode, FaultTarget, FaultsRemaining};
use crate::ops::links::LinkRequest;
use crate::store::records::{self, Device, Event, InboxMessage, MagicLink, User, rfc3339};

/// The zero time Passage reports for timestamps that never happened (e.g. `last_login_at`).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn opt_time(t: Option<time::OffsetDateTime>) -> String {
    t.map_or_else(|| ZERO_TIME.to_string(), rfc3339)
}

/// An empty JSON object.
#[derive(Serialize)]
pub(crate) struct Empty {}

#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub code: &'static str,
    pub error: &'a str,
}

// ---- JWKS ----

#[derive(Serialize)]
pub(crate) struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Serialize)]
pub(crate) struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

impl Jwk {
    pub(crate) fn rsa(kid: String, (n, e): (String, String)) -> Self {
        Self {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid,
            n,
            e,
        }
    }
}

// ---- App ----

#[derive(Serialize)]
pub(crate) struct AppEnvelope {
    pub app: AppInfo,
}

#[derive(Serialize)]
pub(crate) struct Enabled {
    pub enabled: bool,
}

#[derive(Serialize)]
pub(crate) struct MethodWithTtl {
    pub enabled: bool,
    pub ttl: i64,
    pub ttl_display_unit: &'static str,
}

#[derive(Serialize)]
pub(crate) struct AuthMethods {
    pub passkeys: Enabled,
    pub otp: MethodWithTtl,
    pub magic_link: MethodWithTtl,
}

#[derive(Serialize)]
pub(crate) struct Layouts {
    pub profile: Vec<Value>,
    pub registration: Vec<Value>,
}

/// `AppInfo`: the emulated app's settings, with Passage's defaults for what it does not model.
#[derive(Serialize)]
pub(crate) struct AppInfo {
    pub additional_auth_origins: Vec<String>,
    pub allowed_callback_urls: Vec<String>,
    pub allowed_identifier: &'static str,
    pub allowed_logout_urls: Vec<String>,
    pub application_login_uri: String,
    pub auth_fallback_method: &'static str,
    pub auth_fallback_method_ttl: i64,
    pub auth_methods: AuthMethods,
    pub auth_origin: String,
    pub auto_theme_enabled: bool,
    pub created_at: String,
    pub dark_logo_url: &'static str,
    pub default_language: &'static str,
    pub element_customization: Empty,
    pub element_customization_dark: Empty,
    pub hosted: bool,
    pub hosted_subdomain: &'static str,
    pub hosted_theme: &'static str,
    pub id: String,
    pub id_token_lifetime: i64,
    pub layouts: Layouts,
    pub light_logo_url: &'static str,
    pub login_url: &'static str,
    pub name: String,
    pub passage_branding: bool,
    pub profile_management: bool,
    pub public_signup: bool,
    pub redirect_url: String,
    pub refresh_absolute_lifetime: i64,
    pub refresh_enabled: bool,
    pub refresh_inactivity_lifetime: i64,
    pub require_email_verification: bool,
    pub require_identifier_verification: bool,
    pub required_identifier: &'static str,
    pub role: &'static str,
    pub rsa_public_key: String,
    pub session_timeout_length: i64,
    pub technologies: Vec<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub user_metadata_schema: Vec<Value>,
}

impl AppInfo {
    pub(crate) fn new(app: &crate::store::AppConfig, origin: &str, rsa_public_key: String) -> Self {
        Self {
            additional_auth_origins: Vec::new(),
            allowed_callback_urls: Vec::new(),
            allowed_identifier: "both",
            allowed_logout_urls: Vec::new(),
            application_login_uri: format!("{origin}/"),
            auth_fallback_method: "magic_link",
            auth_fallback_method_ttl: 300,
            auth_methods: AuthMethods {
                passkeys: Enabled { enabled: true },
                otp: MethodWithTtl {
                    enabled: false,
                    ttl: 300,
                    ttl_display_unit: "m",
                },
                magic_link: MethodWithTtl {
                    enabled: true,
                    ttl: 900,
                    ttl_display_unit: "m",
                },
            },
            auth_origin: app.auth_origin.clone(),
            auto_theme_enabled: false,
            created_at: rfc3339(app.created_at),
            dark_logo_url: "",
            default_language: "en",
            element_customization: Empty {},
            element_customization_dark: Empty {},
            hosted: false,
            hosted_subdomain: "",
            hosted_theme: "auto",
            id: app.id.clone(),
            id_token_lifetime: app.session_length,
            layouts: Layouts {
                profile: Vec::new(),
                registration: Vec::new(),
            },
            light_logo_url: "",
            login_url: "/",
            name: app.name.clone(),
            passage_branding: false,
            profile_management: true,
            public_signup: true,
            redirect_url: app.redirect_url.clone(),
            refresh_absolute_lifetime: 0,
            refresh_enabled: false,
            refresh_inactivity_lifetime: 0,
            require_email_verification: false,
            require_identifier_verification: false,
            required_identifier: "either",
            role: "admin",
            rsa_public_key,
            session_timeout_length: app.session_length,
            technologies: Vec::new(),
            kind: "complete",
            user_metadata_schema: Vec::new(),
        }
    }
}

// ---- Users ----

/// `ListPaginatedUsersItem`.
#[derive(Serialize)]
pub(crate) struct UserItem {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub phone: String,
    pub phone_verified: bool,
    pub external_id: String,
    pub status: records::UserStatus,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub login_count: i64,
    pub user_metadata: Option<Map<String, Value>>,
}

impl From<&User> for UserItem {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            phone: u.phone.clone(),
            phone_verified: u.phone_verified,
            external_id: u.external_id.clone(),
            status: u.status,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            last_login_at: opt_time(u.last_login_at),
            login_count: u.login_count,
            user_metadata: u.user_metadata.clone(),
        }
    }
}

/// `UserInfo`.
#[derive(Serialize)]
pub(crate) struct UserInfo {
    #[serde(flatten)]
    pub item: UserItem,
    pub webauthn: bool,
    pub webauthn_devices: Vec<DeviceInfo>,
    pub webauthn_types: Vec<records::DeviceKind>,
    pub recent_events: Vec<EventInfo>,
    pub social_connections: Empty,
}

impl From<&User> for UserInfo {
    fn from(u: &User) -> Self {
        let mut types = Vec::new();
        for d in &u.devices {
            if !types.contains(&d.kind) {
                types.push(d.kind);
            }
        }
        Self {
            item: UserItem::from(u),
            webauthn: !u.devices.is_empty(),
            webauthn_devices: u.devices.iter().map(DeviceInfo::from).collect(),
            webauthn_types: types,
            recent_events: u.events.iter().rev().map(EventInfo::from).collect(),
            social_connections: Empty {},
        }
    }
}

#[derive(Serialize)]
pub(crate) struct UserEnvelope {
    pub user: UserInfo,
}

impl From<&User> for UserEnvelope {
    fn from(u: &User) -> Self {
        Self {
            user: UserInfo::from(u),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Href {
    pub href: String,
}

#[derive(Serialize)]
pub(crate) struct PageLinks {
    pub first: Href,
    pub last: Href,
    pub next: Href,
    pub previous: Href,
    #[serde(rename = "self")]
    pub this: Href,
}

/// `PaginatedUsersResponse`.
#[derive(Serialize)]
pub(crate) struct UserPage {
    pub _links: PageLinks,
    pub created_before: i64,
    pub limit: i64,
    pub page: i64,
    pub total_users: i64,
    pub users: Vec<UserItem>,
}

/// A create or update body (`CreateUserRequest`, `UpdateUserRequest`).
#[derive(Deserialize)]
pub(crate) struct UserBody {
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub user_metadata: Option<Value>,
}

impl From<UserBody> for crate::ops::users::UserFields {
    fn from(b: UserBody) -> Self {
        Self {
            email: b.email,
            phone: b.phone,
            user_metadata: b.user_metadata,
        }
    }
}

// ---- Devices and events ----

#[derive(Serialize)]
pub(crate) struct Icons {
    pub light: Option<String>,
    pub dark: Option<String>,
}

/// `WebAuthnDevices`.
#[derive(Serialize)]
pub(crate) struct DeviceInfo {
    pub id: String,
    pub cred_id: String,
    pub friendly_name: String,
    #[serde(rename = "type")]
    pub kind: records::DeviceKind,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: String,
    pub usage_count: i64,
    pub icons: Icons,
}

impl From<&Device> for DeviceInfo {
    fn from(d: &Device) -> Self {
        Self {
            id: d.id.clone(),
            cred_id: d.cred_id.clone(),
            friendly_name: d.friendly_name.clone(),
            kind: d.kind,
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
            last_login_at: opt_time(d.last_login_at),
            usage_count: d.usage_count,
            icons: Icons {
                light: d.icon_light.clone(),
                dark: d.icon_dark.clone(),
            },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct DeviceList {
    pub devices: Vec<DeviceInfo>,
}

#[derive(Serialize)]
pub(crate) struct DeviceEnvelope {
    pub device: DeviceInfo,
}

/// `UserRecentEvent`.
#[derive(Serialize)]
pub(crate) struct EventInfo {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub ip_addr: String,
    pub status: records::EventStatus,
    pub user_agent: String,
    pub user_agent_display: String,
    pub action: records::EventAction,
    pub social_login_type: Option<records::SocialLoginType>,
}

impl From<&Event> for EventInfo {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind.clone(),
            created_at: rfc3339(e.created_at),
            completed_at: e.completed_at.map(rfc3339),
            ip_addr: e.ip_addr.clone(),
            status: e.status,
            user_agent: e.user_agent.clone(),
            user_agent_display: e.user_agent_display.clone(),
            action: e.action,
            social_login_type: e.social_login_type,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct EventEnvelope {
    pub event: EventInfo,
}

/// The body of `POST .../users/{user_id}/devices`.
#[derive(Deserialize)]
pub(crate) struct DeviceBody {
    pub friendly_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The body of `POST .../users/{user_id}/events`.
#[derive(Deserialize)]
pub(crate) struct EventBody {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub ip_addr: Option<String>,
    pub user_agent: Option<String>,
    pub social_login_type: Option<String>,
}

// ---- Magic links ----

/// `CreateMagicLinkRequest`.
#[derive(Deserialize)]
pub(crate) struct MagicLinkBody {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub send: Option<bool>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub language: Option<String>,
    pub magic_link_path: Option<String>,
    pub redirect_url: Option<String>,
    pub ttl: Option<i64>,
}

impl From<MagicLinkBody> for LinkRequest {
    fn from(b: MagicLinkBody) -> Self {
        Self {
            email: b.email,
            phone: b.phone,
            user_id: b.user_id,
            channel: b.channel,
            send: b.send,
            kind: b.kind,
            language: b.language,
            magic_link_path: b.magic_link_path,
            redirect_url: b.redirect_url,
            ttl: b.ttl,
        }
    }
}

/// `MagicLink`.
#[derive(Serialize)]
pub(crate) struct MagicLinkInfo {
    pub activated: bool,
    pub app_id: String,
    pub id: String,
    pub identifier: String,
    pub redirect_url: String,
    pub secret: String,
    pub ttl: i64,
    #[serde(rename = "type")]
    pub kind: records::LinkKind,
    pub url: String,
    pub user_id: String,
}

#[derive(Serialize)]
pub(crate) struct MagicLinkEnvelope {
    pub magic_link: MagicLinkInfo,
}

impl MagicLinkEnvelope {
    pub(crate) fn new(link: MagicLink, app_id: String) -> Self {
        Self {
            magic_link: MagicLinkInfo {
                activated: link.activated,
                app_id,
                id: link.id,
                identifier: link.identifier,
                redirect_url: link.redirect_url,
                secret: link.secret,
                ttl: link.ttl_minutes,
                kind: link.kind,
                url: link.url,
                user_id: link.user_id,
            },
        }
    }
}

/// The body of `PATCH .../magic-link/activate`.
#[derive(Deserialize)]
pub(crate) struct ActivateBody {
    pub magic_link: Option<String>,
}

/// `AuthResult`.
#[derive(Serialize)]
pub(crate) struct AuthResult {
    pub auth_token: String,
    pub redirect_url: String,
    pub refresh_token: &'static str,
    pub refresh_token_expiration: i64,
}

#[derive(Serialize)]
pub(crate) struct AuthResultEnvelope {
    pub auth_result: AuthResult,
}

/// The login form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    pub identifier: String,
}

/// The login page's query: a magic link secret to exchange, if any.
#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    pub psg_magic_link: Option<String>,
}

// ---- Passkeys (the login page's own endpoints) ----

/// The body of `POST /passkeys/sign-in/start`: an identifier, or none for a discoverable
/// credential.
#[derive(Deserialize)]
pub(crate) struct SignInStartBody {
    pub identifier: Option<String>,
}

/// The body of `POST /passkeys/register/start`: a new user's identifier, or the ticket of the
/// offer made after a magic-link sign-in.
#[derive(Deserialize)]
pub(crate) struct RegisterStartBody {
    pub identifier: Option<String>,
    pub ticket: Option<String>,
}

/// What the page does next after `sign-in/start`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Next {
    Passkey,
    Register,
    MagicLink,
}

/// The answer of a ceremony's start: the options go to `navigator.credentials` as they are
/// (byte fields in base64url).
#[derive(Serialize)]
pub(crate) struct CeremonyStart<T> {
    pub next: Next,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<T>,
}

/// The body of a ceremony's finish: its ID and the authenticator's answer (a
/// `PublicKeyCredential` in the JSON form webauthn-rs reads: byte fields in base64url).
#[derive(Deserialize)]
pub(crate) struct CeremonyFinish<T> {
    pub ceremony: String,
    pub credential: T,
}

/// The answer of a ceremony's finish.
#[derive(Serialize)]
pub(crate) struct CeremonyDone {
    pub redirect_url: String,
}

// ---- Controls ----

/// The body of `POST .../tokens`.
#[derive(Deserialize)]
pub(crate) struct TokenBody {
    pub user_id: Option<String>,
    pub ttl_seconds: Option<i64>,
    pub claims: Option<Map<String, Value>>,
}

#[derive(Serialize)]
pub(crate) struct TokenAnswer {
    pub auth_token: String,
}

/// The body of `POST .../keys/rotate`.
#[derive(Deserialize)]
pub(crate) struct RotateBody {
    pub grace_seconds: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct RotateAnswer {
    pub kid: String,
    pub previous_kid: String,
}

#[derive(Serialize)]
pub(crate) struct InboxAnswer {
    pub messages: Vec<InboxMessage>,
}

#[derive(Serialize)]
pub(crate) struct StatsAnswer {
    pub jwks_requests: u64,
    pub api_requests: u64,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FaultTargetName {
    Jwks,
    Api,
    Save,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FaultModeName {
    Status,
    Hang,
    Garbage,
    Huge,
}

/// The body of `POST .../faults`.
#[derive(Deserialize)]
pub(crate) struct FaultBody {
    pub target: FaultTargetName,
    pub count: u32,
    pub mode: FaultModeName,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub hang_ms: Option<u64>,
}

impl From<FaultBody> for Fault {
    fn from(b: FaultBody) -> Self {
        let target = match b.target {
            FaultTargetName::Jwks => FaultTarget::Jwks,
            FaultTargetName::Api => FaultTarget::Api,
            FaultTargetName::Save => FaultTarget::Save,
        };
        let mode = match b.mode {
            FaultModeName::Status => FaultMode::Status(b.status.unwrap_or(503)),
            FaultModeName::Hang => FaultMode::Hang(std::time::Duration::from_millis(
                b.hang_ms.unwrap_or(30_000),
            )),
            FaultModeName::Garbage => FaultMode::Garbage,
            FaultModeName::Huge => FaultMode::Huge,
        };
        Self {
            target,
            count: b.count,
            mode,
            retry_after: b.retry_after,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Remaining {
    pub jwks: u32,
    pub api: u32,
    pub save: u32,
}

#[derive(Serialize)]
pub(crate) struct FaultsAnswer {
    pub remaining: Remaining,
}

impl From<FaultsRemaining> for FaultsAnswer {
    fn from(r: FaultsRemaining) -> Self {
        Self {
            remaining: Remaining {
                jwks: r.jwks,
                api: r.api,
                save: r.save,
            },
        }
    }
}
