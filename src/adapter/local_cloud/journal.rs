//! The state file and its journal: `LocalCloud::open` reads the state file and replays a
//! journal one step ahead of it (a crash between the two writes), and `persist` writes the
//! journal (the new state plus what the state format cannot hold) and then the state file, both
//! atomically. It enforces no AWS rule and performs no operation.

use super::{Extras, LocalCloud, Settings, hard};
use crate::adapter::fs::{self, FsError};
use crate::model::State;
use crate::port::{CloudError, ErrorKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const JOURNAL_FORMAT: u32 = 1;

/// The journal file: the state after the last call, its fingerprint and its predecessor's.
#[derive(Serialize, Deserialize)]
struct Journal {
    format: u32,
    prev: String,
    current: String,
    state: State,
    extras: Extras,
}

/// `Journal` as written, borrowing the cloud's state (no copy per call).
#[derive(Serialize)]
struct JournalRef<'a> {
    format: u32,
    prev: &'a str,
    current: &'a str,
    state: &'a State,
    extras: &'a Extras,
}
impl LocalCloud {
    /// A cloud over the state file at `path` (which must exist); every successful call is
    /// persisted before it returns. Replays the journal if a crash interrupted the last write.
    pub fn open(path: impl AsRef<Path>) -> Result<LocalCloud, FsError> {
        let path = path.as_ref().to_path_buf();
        let mut state = fs::read_state(&path)?;
        state.normalize();
        let mut fingerprint = state.fingerprint();
        let mut x = Extras::default();
        let journal_path = Self::journal_path(&path);
        let journal = std::fs::read(&journal_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Journal>(&b).ok())
            .filter(|j| j.format == JOURNAL_FORMAT);
        if let Some(j) = journal {
            if j.current == fingerprint {
                x = j.extras;
            } else if j.prev == fingerprint {
                // The journal was written, the state file not: finish the interrupted write.
                state = j.state;
                state.normalize();
                fs::write_state(&path, &state)?;
                fingerprint = j.current;
                x = j.extras;
            } else {
                // The state file was replaced or edited: the journal describes another state.
                // Keep only the counters, so ids and request ids are not handed out twice.
                x.seq = j.extras.seq;
                x.requests = j.extras.requests;
            }
        }
        Ok(LocalCloud { state, x, path: Some(path), fingerprint, settings: Settings::default() })
    }

    /// Where the journal of the state file `state_path` lives: `<file name>.journal` beside it.
    pub fn journal_path(state_path: &Path) -> PathBuf {
        let name = state_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        state_path.with_file_name(format!("{name}.journal"))
    }
    // ---------------------------------------------------------------- persistence

    pub(super) fn persist(&mut self) -> Result<(), CloudError> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let current = self.state.fingerprint();
        let journal = JournalRef {
            format: JOURNAL_FORMAT,
            prev: &self.fingerprint,
            current: &current,
            state: &self.state,
            extras: &self.x,
        };
        let bytes = serde_json::to_vec(&journal)
            .map_err(|e| hard("LocalStateWriteFailed", format!("cannot encode the journal: {e}")))?;
        fs::write_atomic(&Self::journal_path(&path), &bytes)
            .map_err(|e| hard("LocalStateWriteFailed", format!("the call was not carried out: {e}")))?;
        // From here on the call is durable: the journal is replayed on the next open.
        self.fingerprint = current;
        fs::write_state(&path, &self.state).map_err(|e| CloudError {
            kind: ErrorKind::Unknown,
            code: "LocalStateWriteFailed".into(),
            message: format!("the call was recorded in the journal but the state file was not written: {e}"),
            rule: None,
        })
    }
}
