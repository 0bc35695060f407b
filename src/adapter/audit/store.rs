//! Where a log's bytes live: the [`LogStore`] trait (records oldest first or newest first, the
//! tail a writer resumes from, the head) and its local implementation [`FileStore`] (JSON Lines
//! plus a head file, fsynced appends, atomic head replacement). A store only moves bytes.

use super::record::head_path;
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Longest torn-line preview kept in a recovery record.
const PREVIEW_BYTES: usize = 256;

/// One stored record as a [`LogStore`] yields it, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Where it is, for messages: `line 3`, `object s3://bucket/prefix/audit/000000000003.json`.
    pub label: String,
    /// The seq its storage name claims (an S3 object's key); `None` where the name says nothing
    /// (a line of the local file).
    pub named_seq: Option<u64>,
    /// The record's line, without a line terminator.
    pub bytes: Vec<u8>,
    /// Bytes after the file's last `\n`: a line torn by a crash (local file only; an object put
    /// is atomic).
    pub torn: bool,
}

/// Bytes a crash left after the last complete record (local file only).
#[derive(Debug, Clone, PartialEq)]
pub struct Torn {
    pub offset: u64,
    pub bytes: u64,
    pub sha256: String,
    pub preview: String,
}

/// The end of a log as the writer resumes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreTail {
    /// The last complete record.
    pub last: Option<StoredRecord>,
    pub torn: Option<Torn>,
}

/// Where a log's records and its signed head are kept: the local JSON Lines file
/// ([`FileStore`]) or one object per record (`adapter::s3_backend::S3LogStore`). A store only
/// moves bytes; chaining, signing, verifying and crash recovery are [`AuditLog`]'s and
/// [`verify_store`]'s, the same for every store.
pub trait LogStore: Send {
    /// The log, for messages (a path or an `s3://` URL).
    fn location(&self) -> String;
    /// The head, for messages.
    fn head_location(&self) -> String;
    /// Whether each record's storage name carries its seq ([`StoredRecord::named_seq`]), which
    /// verification then checks against its position.
    fn names_records(&self) -> bool {
        false
    }
    /// Visit every record oldest first (a torn remainder last); stop when `visit` returns false.
    fn for_each(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String>;
    /// Visit the complete records newest first; stop when `visit` returns false.
    fn for_each_back(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String>;
    /// The last complete record and anything torn after it.
    fn tail(&mut self) -> Result<StoreTail, String>;
    /// The head's bytes, `None` when there is none.
    fn read_head(&mut self) -> Result<Option<String>, String>;
    /// Store `line` (a record's canonical line, no terminator) as record `seq`, over any torn
    /// remainder the last `tail` found. Fails when the log changed since that `tail` (another
    /// writer); never overwrites a stored record.
    fn append(&mut self, seq: u64, line: &str) -> Result<(), String>;
    /// Replace the head with `text` (a [`Head::to_line`]).
    fn write_head(&mut self, text: &str) -> Result<(), String>;
}

/// The local log: JSON Lines at `log`, the head in its own file. Appends are fsynced; the head is
/// replaced atomically (temporary file, fsync, rename, fsync of the directory).
#[derive(Debug, Clone)]
pub struct FileStore {
    log: PathBuf,
    head: PathBuf,
    /// The file's length when `tail` or `append` last saw it (`None`: not looked yet).
    expected_len: Option<u64>,
    /// Length of its complete lines.
    end: u64,
}

impl FileStore {
    /// The log at `log` with its head at [`head_path`].
    pub fn new(log: impl Into<PathBuf>) -> FileStore {
        let log = log.into();
        let head = head_path(&log);
        FileStore::with_head(log, head)
    }

    /// The log at `log` with its head at `head`.
    pub fn with_head(log: impl Into<PathBuf>, head: impl Into<PathBuf>) -> FileStore {
        FileStore { log: log.into(), head: head.into(), expected_len: None, end: 0 }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn head_path(&self) -> &Path {
        &self.head
    }
}

impl LogStore for FileStore {
    fn location(&self) -> String {
        self.log.display().to_string()
    }

    fn head_location(&self) -> String {
        self.head.display().to_string()
    }

    fn for_each(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String> {
        let file = match File::open(&self.log) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let mut reader = BufReader::new(file);
        let mut line_no: u64 = 0;
        loop {
            let mut buf = Vec::new();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| format!("line {}: {e}", line_no + 1))?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            let torn = buf.last() != Some(&b'\n');
            if !torn {
                buf.pop();
            }
            let record = StoredRecord { label: format!("line {line_no}"), named_seq: None, bytes: buf, torn };
            if !visit(record) || torn {
                return Ok(());
            }
        }
    }

    fn for_each_back(&mut self, visit: &mut dyn FnMut(StoredRecord) -> bool) -> Result<(), String> {
        let mut file = match File::open(&self.log) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut hi = match rfind_newline(&mut file, len).map_err(|e| e.to_string())? {
            Some(pos) => pos + 1,
            None => return Ok(()),
        };
        while hi > 0 {
            let start = rfind_newline(&mut file, hi - 1).map_err(|e| e.to_string())?.map_or(0, |p| p + 1);
            let mut line = vec![0u8; usize::try_from(hi - 1 - start).unwrap_or(0)];
            file.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
            file.read_exact(&mut line).map_err(|e| e.to_string())?;
            hi = start;
            let record =
                StoredRecord { label: format!("offset {start}"), named_seq: None, bytes: line, torn: false };
            if !visit(record) {
                return Ok(());
            }
        }
        Ok(())
    }

    fn tail(&mut self) -> Result<StoreTail, String> {
        let (tail, len) = match File::open(&self.log) {
            Ok(mut file) => {
                let len = file.metadata().map_err(|e| e.to_string())?.len();
                (read_tail(&mut file).map_err(|e| e.to_string())?, len)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Tail::default(), 0),
            Err(e) => return Err(e.to_string()),
        };
        self.expected_len = Some(len);
        self.end = tail.end;
        Ok(StoreTail {
            last: tail.last_line.map(|bytes| StoredRecord {
                label: "the last line".into(),
                named_seq: None,
                bytes,
                torn: false,
            }),
            torn: tail.torn,
        })
    }

    fn read_head(&mut self) -> Result<Option<String>, String> {
        match fs::read_to_string(&self.head) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn append(&mut self, _seq: u64, line: &str) -> Result<(), String> {
        if self.expected_len.is_none() {
            self.tail()?;
        }
        if let Some(dir) = self.log.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.log)
            .map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let expected = self.expected_len.unwrap_or(0);
        if len != expected {
            self.expected_len = None;
            return Err(format!(
                "the log changed since it was opened ({len} bytes, expected {expected}); is another vend writing?"
            ));
        }
        // Until the write is durable the file's state is unknown: read it again next time.
        self.expected_len = None;
        let new_end = self.end + line.len() as u64 + 1;
        file.seek(SeekFrom::Start(self.end)).map_err(|e| e.to_string())?;
        file.write_all(format!("{line}\n").as_bytes()).map_err(|e| e.to_string())?;
        if len > new_end {
            file.set_len(new_end).map_err(|e| e.to_string())?;
        }
        file.sync_all().map_err(|e| e.to_string())?;
        if self.end == 0 {
            sync_dir(&self.log);
        }
        self.end = new_end;
        self.expected_len = Some(new_end);
        Ok(())
    }

    fn write_head(&mut self, text: &str) -> Result<(), String> {
        write_atomic(&self.head, text.as_bytes()).map_err(|e| format!("{}: {e}", self.head.display()))
    }
}

#[derive(Debug, Default)]
struct Tail {
    /// Length of the complete lines.
    end: u64,
    /// The last complete line, without its `\n`.
    last_line: Option<Vec<u8>>,
    torn: Option<Torn>,
}

/// The last complete line and any torn bytes after it, reading backwards from the end.
fn read_tail(file: &mut File) -> std::io::Result<Tail> {
    let len = file.metadata()?.len();
    let end = match rfind_newline(file, len)? {
        Some(pos) => pos + 1,
        None => 0,
    };
    let torn = if end < len {
        file.seek(SeekFrom::Start(end))?;
        let mut hasher = Sha256::new();
        let mut preview = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            let room = PREVIEW_BYTES.saturating_sub(preview.len());
            preview.extend_from_slice(chunk.get(..room.min(n)).unwrap_or_default());
        }
        Some(Torn {
            offset: end,
            bytes: len - end,
            sha256: format!("sha256:{}", hex::encode(hasher.finalize())),
            preview: String::from_utf8_lossy(&preview).into_owned(),
        })
    } else {
        None
    };
    let last_line = if end == 0 {
        None
    } else {
        let start = rfind_newline(file, end - 1)?.map_or(0, |p| p + 1);
        let mut line = vec![0u8; usize::try_from(end - 1 - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut line)?;
        Some(line)
    };
    Ok(Tail { end, last_line, torn })
}

/// Position of the last `\n` before byte offset `before`.
fn rfind_newline(file: &mut File, before: u64) -> std::io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut hi = before;
    let mut buf = Vec::new();
    while hi > 0 {
        let lo = hi.saturating_sub(CHUNK);
        buf.resize(usize::try_from(hi - lo).unwrap_or(0), 0);
        file.seek(SeekFrom::Start(lo))?;
        file.read_exact(&mut buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// Replace `path` with `bytes` atomically: temporary file beside it, fsync, rename, fsync of the
/// directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let result = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let result = result.and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(path);
    Ok(())
}

/// fsync the directory holding `path` (best effort; unix only).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
