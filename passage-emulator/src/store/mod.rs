//! The store: everything the emulator knows, behind one lock, and its writer.
//!
//! Changes are made under the lock and never wait for the disk there. With a data file, a writer
//! task takes a snapshot under the lock (a clone), writes it on a blocking thread, and tells
//! waiters which change is now on disk. Changes made while a write runs are written together by
//! the next one (group commit), so a burst of changes costs a few writes, not one each.
//! [`Store::flush`] waits until the changes made so far are on disk: the HTTP layer awaits it
//! before acknowledging a change, so an acknowledged change survives `kill -9`.

pub(crate) mod file;
pub(crate) mod keys;
pub(crate) mod records;
mod state;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::error::EmulatorError;
use crate::faults::{FaultMode, FaultTarget, Faults};
pub(crate) use state::{AppConfig, State};

struct Inner {
    state: State,
    /// Bumped by every change.
    version: u64,
}

/// What the writer has done so far.
#[derive(Clone, Copy, Debug, Default)]
struct Saved {
    /// Changes up to this version are on disk.
    version: u64,
    /// The last write that failed covered changes up to this version.
    failed: u64,
}

/// The data file's writer.
struct Writer {
    path: PathBuf,
    wake: Notify,
    /// What the writer has done. Its sender is owned by the writer task, so when the task ends
    /// (the emulator stopped) every waiter learns it instead of waiting forever.
    saved: watch::Receiver<Saved>,
    /// The sender, until the writer task takes it.
    saved_sender: Mutex<Option<watch::Sender<Saved>>>,
    faults: Arc<Faults>,
    /// Writes of the data file done by the writer (successful ones).
    writes: AtomicU64,
}

/// A save failed (or the writer stopped): the change is in memory but not yet on disk; the writer
/// keeps trying.
#[derive(Debug, thiserror::Error)]
#[error("the data file could not be written")]
pub(crate) struct SaveFailed;

/// The state behind its lock, and the writer of the data file (if there is one).
pub(crate) struct Store {
    inner: Mutex<Inner>,
    writer: Option<Writer>,
}

impl Store {
    /// A store kept in memory only, or written to `data_file` (written once now, synchronously).
    pub(crate) async fn open(
        state: State,
        data_file: Option<PathBuf>,
        faults: Arc<Faults>,
    ) -> Result<Arc<Self>, EmulatorError> {
        let writer = match data_file {
            None => None,
            Some(path) => {
                let (path, snapshot) = (path.clone(), state.clone());
                let path_for_write = path.clone();
                tokio::task::spawn_blocking(move || file::write(&path_for_write, &snapshot))
                    .await
                    .map_err(|e| EmulatorError::Persistence(e.to_string()))??;
                let (sender, saved) = watch::channel(Saved::default());
                Some(Writer {
                    path,
                    wake: Notify::new(),
                    saved,
                    saved_sender: Mutex::new(Some(sender)),
                    faults,
                    writes: AtomicU64::new(0),
                })
            }
        };
        Ok(Arc::new(Self {
            inner: Mutex::new(Inner { state, version: 0 }),
            writer,
        }))
    }

    /// Locks the state (a poisoned lock is recovered: the data stays usable).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a read-only operation.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock().state)
    }

    /// Runs a change. `f` must check before it changes: an `Err` leaves the state as it was.
    /// The change is in memory when this returns; [`Store::flush`] waits until it is on disk.
    pub(crate) fn mutate<T, E>(&self, f: impl FnOnce(&mut State) -> Result<T, E>) -> Result<T, E> {
        let mut inner = self.lock();
        let out = f(&mut inner.state)?;
        inner.version += 1;
        drop(inner);
        if let Some(writer) = &self.writer {
            writer.wake.notify_one();
        }
        Ok(out)
    }

    /// Writes of the data file since start-up (not counting the one at start-up).
    pub(crate) fn writes(&self) -> u64 {
        self.writer
            .as_ref()
            .map_or(0, |w| w.writes.load(Ordering::Relaxed))
    }

    /// Waits until every change made so far is on disk (at once without a data file). An error
    /// if the write that covered them failed (the writer tries again, but this answer is not
    /// held for it), or if the writer has stopped.
    pub(crate) async fn flush(&self) -> Result<(), SaveFailed> {
        self.wait_saved(true).await
    }

    /// Like [`Store::flush`], but waits through failed writes for the writer's next tries.
    pub(crate) async fn settle(&self) -> Result<(), SaveFailed> {
        self.wait_saved(false).await
    }

    async fn wait_saved(&self, fail_fast: bool) -> Result<(), SaveFailed> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let target = self.lock().version;
        let mut saved = writer.saved.clone();
        loop {
            let now = *saved.borrow_and_update();
            if now.version >= target {
                return Ok(());
            }
            if fail_fast && now.failed >= target {
                return Err(SaveFailed);
            }
            if saved.changed().await.is_err() {
                return Err(SaveFailed);
            }
        }
    }

    /// The writer's loop (returns at once without a data file, or if it already runs). Runs
    /// until aborted. A failed write is tried again, after 100 ms and then twice as long each
    /// time up to 5 s, until one succeeds.
    pub(crate) async fn write_changes(self: Arc<Self>) {
        let Some(writer) = &self.writer else {
            return;
        };
        let taken = writer
            .saved_sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(saved) = taken else {
            return;
        };
        let mut retry: Option<Duration> = None;
        loop {
            match retry {
                None => writer.wake.notified().await,
                Some(wait) => {
                    tokio::select! {
                        () = writer.wake.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
            let (snapshot, version) = {
                let inner = self.lock();
                if inner.version <= saved.borrow().version {
                    retry = None;
                    continue;
                }
                (inner.state.clone(), inner.version)
            };
            let written = match writer.faults.take(FaultTarget::Save) {
                Some((fault, _)) if matches!(fault.mode, FaultMode::Status(_)) => Err(
                    EmulatorError::Persistence("a save fault was injected".into()),
                ),
                Some((fault, cleared)) => {
                    let hang = match fault.mode {
                        FaultMode::Hang(d) => d,
                        _ => Duration::ZERO,
                    };
                    tokio::select! {
                        () = tokio::time::sleep(hang) => {}
                        () = cleared.wait() => {}
                    }
                    Self::write_blocking(&writer.path, snapshot).await
                }
                None => Self::write_blocking(&writer.path, snapshot).await,
            };
            match written {
                Ok(()) => {
                    writer.writes.fetch_add(1, Ordering::Relaxed);
                    saved.send_modify(|s| s.version = version);
                    retry = None;
                }
                Err(error) => {
                    tracing::error!(%error, "failed to write the data file; will try again");
                    saved.send_modify(|s| s.failed = version);
                    retry = Some(retry.map_or(Duration::from_millis(100), |wait| {
                        (wait * 2).min(Duration::from_secs(5))
                    }));
                }
            }
        }
    }

    async fn write_blocking(path: &std::path::Path, snapshot: State) -> Result<(), EmulatorError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || file::write(&path, &snapshot))
            .await
            .map_err(|e| EmulatorError::Persistence(e.to_string()))?
    }
}
