//! The apply lock: an OS file lock (`flock` on Unix, through `std::fs::File::try_lock`) on
//! `.vend/lock`. The kernel releases it when the holder exits, even after a kill, so a crash
//! never leaves a stale lock. The holder writes who it is (pid, user, since) into the file so a
//! second apply can name it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another apply holds the lock {path}: {holder}; wait for it, or pass --lock-timeout SECONDS")]
    Held { path: String, holder: String },
    #[error("gave up after {seconds} s waiting for the lock {path}, held by {holder}")]
    Timeout { path: String, seconds: u64, holder: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// A held lock; released on drop (or by the kernel when the process dies).
#[derive(Debug)]
pub struct ApplyLock {
    _file: File,
    pub path: PathBuf,
}

/// Take the lock at `path`, waiting up to `timeout` (none: fail at once).
pub fn acquire(
    path: &Path,
    user: &str,
    since: &str,
    timeout: Option<Duration>,
) -> Result<ApplyLock, LockError> {
    let io = |source| LockError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let holder = holder(&mut file);
                match timeout {
                    Some(t) if start.elapsed() < t => std::thread::sleep(Duration::from_millis(200)),
                    Some(t) => {
                        return Err(LockError::Timeout {
                            path: path.display().to_string(),
                            seconds: t.as_secs(),
                            holder,
                        });
                    }
                    None => return Err(LockError::Held { path: path.display().to_string(), holder }),
                }
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    let info = format!("pid {}, user {user}, since {since}\n", std::process::id());
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(info.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(ApplyLock { _file: file, path: path.to_path_buf() })
}

fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut s);
    let s = s.trim();
    if s.is_empty() { "holder unknown (it is just starting)".into() } else { s.to_string() }
}
