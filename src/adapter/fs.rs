//! Files on disk: reading a workspace into `workspace::Files`, the local state file (format v1)
//! with first-use seeding and atomic writes, and saved plan files. The readers take bytes
//! (`parse_state`, `parse_plan`; the path readers use them) and refuse what vend did not write or
//! AWS could not hold: a snapshot whose `digest` does not match its content, a structurally
//! impossible snapshot (`model::snapshot_check`), a plan file edited after it was saved
//! (`Plan::integrity_problem`). Writers stamp the digests.

use crate::model::State;
use crate::model::snapshot_check::{self, SnapshotProblem};
use crate::plan::Plan;
use crate::workspace::Files;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The OS error is part of the message and deliberately not the error's `source`: a chain
    /// printer (`{:#}`) would repeat it (`missing.json: No such file … : No such file …`).
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{0} is not a vend workspace: it has neither catalog/ nor blueprints/ (use -C DIR)")]
    NotAWorkspace(String),
    #[error("{path}:{line}:{column}: {message}")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("state file {0} does not exist (omit --state to use the workspace's .vend/state.json)")]
    MissingState(String),
    #[error("{path}: unsupported format_version {found}; this vend reads format 1")]
    Format { path: String, found: String },
    #[error(
        "{path}: the snapshot was edited after vend saved it: {why}; restore it, or take a new one with `vend snapshot save --out FILE` (a hand-written snapshot has no `digest` field)"
    )]
    EditedSnapshot { path: String, why: String },
    #[error("{}", invalid_lines(.path, .problems))]
    InvalidSnapshot { path: String, problems: Vec<SnapshotProblem> },
    #[error("{path}: {why}; make a new plan with `vend plan --out FILE`")]
    EditedPlan { path: String, why: String },
}

fn invalid_lines(path: &str, problems: &[SnapshotProblem]) -> String {
    let mut lines: Vec<String> = problems.iter().map(|p| format!("{path}: {p}")).collect();
    lines.push(format!(
        "{path}: not a snapshot AWS could hold ({} problem(s)); fix the file or take a new one with `vend snapshot save --out FILE`",
        problems.len()
    ));
    lines.join("\n")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |error| FsError::Io { path: path.display().to_string(), error }
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

/// Parse a JSON document of type `T` from `bytes`, naming `name`, line and column on failure.
fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], name: &str) -> Result<T, FsError> {
    serde_json::from_slice(bytes).map_err(|e| FsError::Parse {
        path: name.to_string(),
        // serde_json counts the column of an error at a line's end as 0; name the line start.
        line: e.line().max(1),
        column: e.column().max(1),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
    })
}

/// Read a state file (snapshot format v1).
pub fn read_state(path: &Path) -> Result<State, FsError> {
    let bytes = fs::read(path).map_err(io(path))?;
    parse_state(&bytes, &path.display().to_string())
}

/// Parse a state file's bytes (snapshot format v1); `name` is the file named in errors. A
/// `digest` must match the content (then it is cleared); with or without one, the state must
/// pass `snapshot_check`.
pub fn parse_state(bytes: &[u8], name: &str) -> Result<State, FsError> {
    let mut state = decode_state(bytes, name)?;
    if let Some(digest) = state.digest.take() {
        if !is_sha256(&digest) {
            let why = format!("its digest {digest:?} is not sha256:<64 hex digits>");
            return Err(FsError::EditedSnapshot { path: name.to_string(), why });
        }
        let computed = state.content_digest();
        if digest != computed {
            let why = format!("its digest {digest} does not match its content ({computed})");
            return Err(FsError::EditedSnapshot { path: name.to_string(), why });
        }
    }
    let problems = snapshot_check::check(&state);
    if !problems.is_empty() {
        return Err(FsError::InvalidSnapshot { path: name.to_string(), problems });
    }
    Ok(state)
}

fn is_sha256(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// The JSON schema and format version of a state file, nothing more.
fn decode_state(bytes: &[u8], name: &str) -> Result<State, FsError> {
    let state: Result<State, FsError> = parse_json(bytes, name);
    // Name a wrong format version before any schema error it causes.
    let version_error = |found: String| FsError::Format { path: name.to_string(), found };
    match state {
        Ok(s) if s.format_version == crate::model::FORMAT_VERSION => Ok(s),
        Ok(s) => Err(version_error(s.format_version.to_string())),
        Err(e) => {
            match parse_json::<serde_json::Value>(bytes, name).ok().map(|v| v.get("format_version").cloned())
            {
                Some(Some(v)) if v != 1 => Err(version_error(v.to_string())),
                Some(None) => Err(version_error("(missing)".into())),
                _ => Err(e),
            }
        }
    }
}

/// The bytes `write_state` writes: the normalised state, pretty JSON, with its `digest`.
pub fn state_file_bytes(state: &State) -> Vec<u8> {
    let mut s = state.clone();
    s.normalize();
    // The digest covers every field but itself.
    s.digest = Some(s.content_digest());
    let mut bytes = serde_json::to_vec_pretty(&s).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Write `state` atomically: temp file in the same folder, fsync, rename, fsync the folder.
pub fn write_state(path: &Path, state: &State) -> Result<(), FsError> {
    write_atomic(path, &state_file_bytes(state))
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

/// Read a saved plan file.
pub fn read_plan(path: &Path) -> Result<Plan, FsError> {
    let bytes = fs::read(path).map_err(io(path))?;
    parse_plan(&bytes, &path.display().to_string())
}

/// Parse a saved plan file's bytes; `name` is the file named in errors. Refuses a plan that
/// was edited after it was saved (`Plan::integrity_problem`).
pub fn parse_plan(bytes: &[u8], name: &str) -> Result<Plan, FsError> {
    let plan = decode_plan(bytes, name)?;
    match plan.integrity_problem() {
        Some(why) => Err(FsError::EditedPlan { path: name.to_string(), why }),
        None => Ok(plan),
    }
}

/// The JSON schema of a plan file, without the integrity checks of `parse_plan`.
pub fn decode_plan(bytes: &[u8], name: &str) -> Result<Plan, FsError> {
    parse_json(bytes, name)
}

/// The bytes `write_plan` writes: the plan JSON with its `digest` (DESIGN §4).
pub fn plan_file_bytes(plan: &Plan) -> Vec<u8> {
    let mut p = plan.clone();
    p.digest = Some(p.compute_digest());
    crate::render::plan_json(&p).into_bytes()
}

/// Save a plan file (atomically), stamped with its `digest`.
pub fn write_plan(path: &Path, plan: &Plan) -> Result<(), FsError> {
    write_atomic(path, &plan_file_bytes(plan))
}
