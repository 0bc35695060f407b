//! Files on disk: reading a workspace into `workspace::Files`, the local state file (format v1)
//! with first-use seeding and atomic writes, and saved plan files.

use crate::model::State;
use crate::plan::Plan;
use crate::workspace::Files;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0} is not a vend workspace: it has neither catalog/ nor blueprints/ (use -C DIR)")]
    NotAWorkspace(String),
    #[error("{path}:{line}:{column}: {message}")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("state file {0} does not exist (omit --state to use the workspace's .vend/state.json)")]
    MissingState(String),
    #[error("{path}: unsupported format_version {found}; this vend reads format 1")]
    Format { path: String, found: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError::Io { path: path.display().to_string(), source }
}

/// Read catalog/ and blueprints/ under `root` (paths relative to `root`, `/`-separated).
pub fn read_workspace(root: &Path) -> Result<Files, FsError> {
    let mut files = Files::default();
    let mut found = false;
    for top in ["catalog", "blueprints"] {
        let dir = root.join(top);
        if dir.is_dir() {
            found = true;
            walk(&dir, top, &mut files)?;
        }
    }
    if !found {
        return Err(FsError::NotAWorkspace(root.display().to_string()));
    }
    Ok(files)
}

fn walk(dir: &Path, rel: &str, files: &mut Files) -> Result<(), FsError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel_path = format!("{rel}/{name}");
        let ft = entry.file_type().map_err(io(&path))?;
        if ft.is_dir() || (ft.is_symlink() && path.is_dir()) {
            if name.starts_with('.') {
                continue;
            }
            walk(&path, &rel_path, files)?;
        } else {
            let bytes = fs::read(&path).map_err(io(&path))?;
            files.entries.insert(rel_path, bytes);
        }
    }
    Ok(())
}

/// Parse a JSON document of type `T`, naming file, line and column on failure.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FsError> {
    let bytes = fs::read(path).map_err(io(path))?;
    serde_json::from_slice(&bytes).map_err(|e| FsError::Parse {
        path: path.display().to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
    })
}

/// Read a state file (snapshot format v1).
pub fn read_state(path: &Path) -> Result<State, FsError> {
    let state: Result<State, FsError> = read_json(path);
    // Name a wrong format version before any schema error it causes.
    let version_error = |found: String| FsError::Format { path: path.display().to_string(), found };
    match state {
        Ok(s) if s.format_version == crate::model::FORMAT_VERSION => Ok(s),
        Ok(s) => Err(version_error(s.format_version.to_string())),
        Err(e) => match read_json::<serde_json::Value>(path).ok().map(|v| v.get("format_version").cloned()) {
            Some(Some(v)) if v != 1 => Err(version_error(v.to_string())),
            Some(None) => Err(version_error("(missing)".into())),
            _ => Err(e),
        },
    }
}

/// Write `state` atomically: temp file in the same folder, fsync, rename, fsync the folder.
pub fn write_state(path: &Path, state: &State) -> Result<(), FsError> {
    let mut s = state.clone();
    s.normalize();
    let mut bytes = serde_json::to_vec_pretty(&s).unwrap_or_default();
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Where the state came from, for the user.
pub enum Seeded {
    No,
    FromSnapshot(PathBuf),
    Empty,
}

/// The local state: `explicit` if given (must exist), else `<workspace>/.vend/state.json`,
/// seeded on first use from `snapshots/demo.state.json` or an empty organization.
pub fn open_state(
    workspace: &Path,
    explicit: Option<&Path>,
    now: &str,
) -> Result<(State, PathBuf, Seeded), FsError> {
    if let Some(p) = explicit {
        if !p.exists() {
            return Err(FsError::MissingState(p.display().to_string()));
        }
        return Ok((read_state(p)?, p.to_path_buf(), Seeded::No));
    }
    let path = workspace.join(".vend").join("state.json");
    if path.exists() {
        return Ok((read_state(&path)?, path, Seeded::No));
    }
    let snapshot = workspace.join("snapshots").join("demo.state.json");
    let (mut state, seeded) = if snapshot.exists() {
        (read_state(&snapshot)?, Seeded::FromSnapshot(snapshot))
    } else {
        (State::empty(now), Seeded::Empty)
    };
    state.source = "state-file".into();
    write_state(&path, &state)?;
    // Run-time data, never committed: keep it out of git even without a root .gitignore.
    let ignore = workspace.join(".vend").join(".gitignore");
    if !ignore.exists() {
        fs::write(&ignore, "*\n").map_err(io(&ignore))?;
    }
    Ok((state, path, seeded))
}

pub fn read_plan(path: &Path) -> Result<Plan, FsError> {
    read_json(path)
}

pub fn write_plan(path: &Path, plan: &Plan) -> Result<(), FsError> {
    write_atomic(path, crate::render::plan_json(plan).as_bytes())
}
