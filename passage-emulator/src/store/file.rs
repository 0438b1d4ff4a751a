//! The data file: its document, loading it, writing it atomically, and cleaning up after a crash.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::keys::{SigningKey, StoredKey};
use super::records::{InboxMessage, MagicLink, User};
use super::state::{AppConfig, State};
use crate::error::EmulatorError;

/// The on-disk document.
#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    app: AppConfig,
    keys: Vec<StoredKey>,
    users: Vec<User>,
    magic_links: Vec<MagicLink>,
    inbox: Vec<InboxMessage>,
    seq: u64,
}

/// Reads the state from `path`: `None` if there is no such file. Stale temp files of an
/// interrupted save are removed first.
pub(crate) fn load(path: &Path) -> Result<Option<State>, EmulatorError> {
    remove_stale_temp_files(path);
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EmulatorError::Io(e)),
    };
    let doc: Document = serde_json::from_slice(&bytes)
        .map_err(|e| EmulatorError::Persistence(format!("cannot parse {}: {e}", path.display())))?;
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
    Ok(Some(State {
        app: doc.app,
        keys,
        users: doc.users,
        links: doc.magic_links,
        inbox: doc.inbox,
        seq: doc.seq,
    }))
}

fn dir_and_name(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "passage-emulator.json".into());
    (dir, name)
}

/// Writes `state` atomically: a temp file in the same directory (owner-only), fsync, rename,
/// fsync of the directory. Blocking: call it off the async workers.
pub(crate) fn write(path: &Path, state: &State) -> Result<(), EmulatorError> {
    let doc = Document {
        version: 1,
        app: state.app.clone(),
        keys: state.keys.iter().map(SigningKey::to_stored).collect(),
        users: state.users.clone(),
        magic_links: state.links.clone(),
        inbox: state.inbox.clone(),
        seq: state.seq,
    };
    let bytes =
        serde_json::to_vec_pretty(&doc).map_err(|e| EmulatorError::Persistence(e.to_string()))?;
    let (dir, name) = dir_and_name(path);
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let written = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        // The file holds the API key and private keys: owner-only on Unix.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(EmulatorError::Io(e));
    }
    if let Ok(d) = fs::File::open(&dir) {
        // Persist the rename itself; not every platform supports syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes the temp files an interrupted save of `path` left behind (`.NAME.tmp-PID-N`): they hold
/// the private keys and the API key. A file of a process that is still running (another emulator
/// saving the same file right now) is left alone where that can be told (`/proc`).
fn remove_stale_temp_files(path: &Path) {
    let (dir, name) = dir_and_name(path);
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    let ours = std::process::id().to_string();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let alive = pid == ours || (!pid.is_empty() && Path::new("/proc").join(pid).exists());
        if alive {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => tracing::info!(
                file = %entry.path().display(),
                "removed a temp file left by an interrupted save"
            ),
            Err(error) => tracing::warn!(
                file = %entry.path().display(),
                %error,
                "could not remove a stale temp file"
            ),
        }
    }
}
