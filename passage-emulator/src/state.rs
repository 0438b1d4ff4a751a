//! The emulator's in-memory store and its crash-safe persistence.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::EmulatorError;
use crate::error::ApiError;
use crate::faults::Faults;
use crate::keys::{SigningKey, StoredKey};
use crate::models::{InboxMessage, MagicLinkRecord, User, fmt_time, now};

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

/// Everything the emulator knows.
#[derive(Clone)]
pub(crate) struct State {
    pub app: AppConfig,
    /// Signing keys, oldest first; the last one signs new tokens.
    pub keys: Vec<SigningKey>,
    pub users: Vec<User>,
    pub links: Vec<MagicLinkRecord>,
    pub inbox: Vec<InboxMessage>,
    pub seq: u64,
}

/// The on-disk document.
#[derive(Serialize, Deserialize)]
struct Persisted {
    version: u32,
    app: AppConfig,
    keys: Vec<StoredKey>,
    users: Vec<User>,
    magic_links: Vec<MagicLinkRecord>,
    inbox: Vec<InboxMessage>,
    seq: u64,
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

    pub(crate) fn load(path: &Path) -> Result<Option<Self>, EmulatorError> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EmulatorError::Io(e)),
        };
        let doc: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
            EmulatorError::Persistence(format!("cannot parse {}: {e}", path.display()))
        })?;
        let keys = doc
            .keys
            .iter()
            .map(SigningKey::from_stored)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(EmulatorError::Persistence(format!(
                "{} holds no signing key",
                path.display()
            )));
        }
        // Counters near their maximum could only come from a hand-edited or hostile file; refuse
        // it here rather than overflow on the next create or login.
        if doc.seq >= u64::MAX / 2
            || doc
                .users
                .iter()
                .any(|u| !(0..i64::MAX / 2).contains(&u.login_count))
        {
            return Err(EmulatorError::Persistence(format!(
                "{} holds out-of-range counters (seq or login_count)",
                path.display()
            )));
        }
        remove_stale_temp_files(path);
        Ok(Some(Self {
            app: doc.app,
            keys,
            users: doc.users,
            links: doc.magic_links,
            inbox: doc.inbox,
            seq: doc.seq,
        }))
    }

    /// Writes the state atomically: a temp file in the same directory, fsync, rename, fsync dir.
    pub(crate) fn save(&self, path: &Path) -> Result<(), EmulatorError> {
        let doc = Persisted {
            version: 1,
            app: self.app.clone(),
            keys: self.keys.iter().map(SigningKey::to_stored).collect(),
            users: self.users.clone(),
            magic_links: self.links.clone(),
            inbox: self.inbox.clone(),
            seq: self.seq,
        };
        let bytes = serde_json::to_vec_pretty(&doc)
            .map_err(|e| EmulatorError::Persistence(e.to_string()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "passage-emulator.json".into());
        static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let save = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{save}", std::process::id()));
        {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            // The file holds the API key and private keys: owner-only on Unix.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(&dir) {
            // Persist the rename itself; not every platform supports syncing a directory.
            let _ = d.sync_all();
        }
        Ok(())
    }

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

    /// Creates a user; fails on a duplicate email/phone/ID.
    pub(crate) fn insert_user(
        &mut self,
        id: Option<String>,
        email: String,
        phone: String,
        metadata: Option<Map<String, Value>>,
    ) -> Result<&mut User, ApiError> {
        if self.user_by_email(&email).is_some() {
            return Err(ApiError::bad_request(
                "email: a user with this email already exists.",
            ));
        }
        if self.user_by_phone(&phone).is_some() {
            return Err(ApiError::bad_request(
                "phone: a user with this phone number already exists.",
            ));
        }
        let id = id.unwrap_or_else(crate::models::random_id);
        if self.user(&id).is_some() {
            return Err(ApiError::bad_request(
                "id: a user with this ID already exists.",
            ));
        }
        let seq = self.next_seq();
        let mut user = User::new(id, email, phone, seq);
        user.user_metadata = metadata;
        self.users.push(user);
        let last = self.users.len() - 1;
        Ok(&mut self.users[last])
    }

    /// The key that signs new tokens.
    pub(crate) fn current_key(&self) -> Option<&SigningKey> {
        self.keys.last()
    }

    /// Keys still published in the JWKS.
    pub(crate) fn published_keys(&self) -> impl Iterator<Item = &SigningKey> {
        let t = OffsetDateTime::now_utc().unix_timestamp();
        self.keys
            .iter()
            .filter(move |k| k.retire_at.is_none_or(|r| r > t))
    }

    /// Mints an auth token for `user_id` signed by the current key.
    pub(crate) fn mint(
        &self,
        origin: &str,
        user_id: &str,
        ttl: Option<i64>,
        extra: Option<&Map<String, Value>>,
    ) -> Result<String, EmulatorError> {
        let key = self
            .current_key()
            .ok_or_else(|| EmulatorError::Crypto("no signing key".into()))?;
        let iat = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = ttl.unwrap_or(self.app.session_length);
        let mut claims = Map::new();
        claims.insert(
            "iss".into(),
            json!(format!("{origin}/v1/apps/{}", self.app.id)),
        );
        claims.insert("aud".into(), json!([self.app.auth_origin, self.app.id]));
        claims.insert("sub".into(), json!(user_id));
        claims.insert("iat".into(), json!(iat));
        claims.insert("nbf".into(), json!(iat - 5));
        claims.insert("exp".into(), json!(iat.saturating_add(ttl)));
        if let Some(extra) = extra {
            for (k, v) in extra {
                claims.insert(k.clone(), v.clone());
            }
        }
        key.sign_jwt(&claims)
    }

    /// Adds a message to the dev inbox.
    pub(crate) fn deliver(&mut self, link: &MagicLinkRecord) {
        self.inbox.push(InboxMessage {
            id: crate::models::random_id(),
            channel: link.channel.clone(),
            to: link.identifier.clone(),
            magic_link_id: link.id.clone(),
            url: link.url.clone(),
            created_at: fmt_time(now()),
        });
    }
}

/// State shared by the server task and the [`crate::Emulator`] handle.
pub(crate) struct Shared {
    state: Mutex<State>,
    pub origin: String,
    pub data_file: Option<PathBuf>,
    pub jwks_requests: AtomicU64,
    pub api_requests: AtomicU64,
    pub faults: Mutex<Faults>,
}

impl Shared {
    pub(crate) fn new(state: State, origin: String, data_file: Option<PathBuf>) -> Self {
        Self {
            state: Mutex::new(state),
            origin,
            data_file,
            jwks_requests: AtomicU64::new(0),
            api_requests: AtomicU64::new(0),
            faults: Mutex::new(Faults::default()),
        }
    }

    /// Locks the state (a poisoned lock is recovered: the data stays usable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a read-only operation.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    /// Runs a mutating operation and persists the result (when a data file is set) before the
    /// caller acknowledges it.
    pub(crate) fn mutate<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.lock();
        if self.data_file.is_none() {
            return f(&mut state);
        }
        // Change a copy, save it, and only then make it the state: a failed save leaves the
        // state as the client last saw it acknowledged.
        let mut next = state.clone();
        let out = f(&mut next)?;
        self.persist(&next)?;
        *state = next;
        Ok(out)
    }

    pub(crate) fn persist(&self, state: &State) -> Result<(), ApiError> {
        if let Some(path) = &self.data_file {
            state.save(path).map_err(|e| {
                tracing::error!(error = %e, "failed to persist emulator state");
                ApiError::internal("failed to persist state")
            })?;
        }
        Ok(())
    }
}

/// Removes the temp files an interrupted save of `path` left behind (`.NAME.tmp-PID-N`): they hold
/// the private keys and the API key. A file of a process that is still running (another emulator
/// saving the same file right now) is left alone where that can be told (`/proc`).
fn remove_stale_temp_files(path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let ours = pid == std::process::id().to_string();
        let alive = !ours && !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive && !ours {
            if let Err(error) = fs::remove_file(entry.path()) {
                tracing::warn!(file = %entry.path().display(), %error, "could not remove a stale temp file");
            } else {
                tracing::info!(file = %entry.path().display(), "removed a temp file left by an interrupted save");
            }
        }
    }
}
