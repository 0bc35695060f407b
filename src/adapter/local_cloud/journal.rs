//! The state file and its journal. It enforces no AWS rule and performs no operation.
//!
//! **Journal format 2** (`<state file>.journal`, JSON lines, written by this module only):
//!
//! ```text
//! {"format":2,"prev":"sha256:…","base":"sha256:…"}      header
//! {"state":{…},"extras":{…}}                           checkpoint: the state `base` names, and
//!                                                      what the state format cannot hold
//! {"seq":…,"requests":…,"closed":…,"accounts":{"id":{…}|null},"attached":[["p-…","id"]],…}
//! …                                                    one record per successful call
//! ```
//!
//! A record holds the call's after-images: for every entry the call touched, its new value, or
//! `null` when it is gone (OUs, accounts, creation requests, policies without their targets,
//! portfolios, products, provisioned products, the organization, the launch path (Service
//! Catalog's Organizations access and buckets, whole), uploaded templates, tokens,
//! pending creations, share polls, Service Catalog records, the access settings (whole) and each
//! touched account's access rows), policy attachments as pairs, and the id counters. Replaying
//! the records on the checkpoint gives the state after the last call — no rule runs again, so a
//! newer vend with other rules replays an older journal exactly.
//!
//! A call is durable once its record line is appended and synced. Compaction (when the records
//! since the checkpoint outgrow it, see `Settings::compact_after_bytes`, and when the cloud is
//! dropped: the end of every command) writes a new journal — header with `prev` = the state
//! file's fingerprint on disk and `base` = the new state's, then the checkpoint — atomically,
//! and then the state file atomically, and appends `{"state_file":base}` (the file is written).
//! Opening the state file reads it, then the journal:
//! - `base` is the state file's fingerprint: replay the records on it;
//! - `prev` is, and no `state_file` line follows (a crash after the new journal, before the
//!   state file): the checkpoint's state,
//!   then its records;
//! - neither (the state file was replaced or edited): ignore the journal but its id counters;
//! - a last line without its newline is a torn append of a call that never returned: dropped;
//!   any other line that does not parse refuses the open, naming the journal and line.
//!
//! Opening for apply (`LocalCloud::open`) brings the state file up to date at once; reading for
//! a plan (`LocalCloud::catch_up`) replays in memory and writes nothing. Format 1 (one JSON
//! object: the state after the last call, its fingerprint and its predecessor's) still opens.

use super::index::{self, Index};
use super::{Extras, LocalCloud, PendingAccount, Record, hard};
use crate::adapter::fs::{self, FsError};
use crate::model::{
    Access, Account, AlternateContact, Assignment, CreateAccountRequest, IdentityCenter, LaunchPath, OrgUnit,
    Organization, Policy, Portfolio, Product, ProvisionedProduct, State,
};
use crate::port::{CloudError, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

const JOURNAL_FORMAT: u32 = 2;

/// Format 1: the whole state after the last call.
#[derive(Deserialize)]
struct JournalV1 {
    prev: String,
    current: String,
    state: State,
    extras: Extras,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    #[serde(default)]
    prev: String,
    #[serde(default)]
    base: String,
}

#[derive(Serialize)]
struct CheckpointRef<'a> {
    state: &'a State,
    extras: &'a Extras,
}

#[derive(Deserialize)]
struct Checkpoint {
    state: State,
    extras: Extras,
}

type Images<'a, T> = BTreeMap<&'a str, Option<&'a T>>;

/// A call's record as written, borrowing the cloud's data.
#[derive(Serialize)]
struct RecordOut<'a> {
    seq: u64,
    requests: u64,
    closed: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<&'a Organization>,
    /// The whole launch path after the call, when it changed (it is small).
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_path: Option<&'a LaunchPath>,
    /// `State::access`'s settings after the call, when they changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    access_settings: Option<AccessSettings<&'a IdentityCenter>>,
    /// The access rows of each account whose rows changed, after the call.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    access_accounts: BTreeMap<&'a str, AccountAccess<&'a Assignment, &'a AlternateContact>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    organizational_units: Images<'a, OrgUnit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    accounts: Images<'a, Account>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    create_account_requests: Images<'a, CreateAccountRequest>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    policies: BTreeMap<&'a str, Option<Policy>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attached: Vec<(&'a str, &'a str)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    detached: Vec<(&'a str, &'a str)>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    portfolios: Images<'a, Portfolio>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    products: Images<'a, Product>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    provisioned_products: Images<'a, ProvisionedProduct>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    templates: Images<'a, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tokens: Images<'a, Outcome>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pending_accounts: Images<'a, PendingAccount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    share_polls: Images<'a, u32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    records: Images<'a, Record>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    assignment_requests: Images<'a, super::access::AssignmentRequest>,
}

type Owned<T> = BTreeMap<String, Option<T>>;

/// What `State::access` holds besides the rows of each account.
#[derive(Serialize, Deserialize)]
struct AccessSettings<I> {
    account_management_access: bool,
    identity_center: Option<I>,
}

/// One account's rows in `State::access`: whether it was read, its assignments and contacts.
#[derive(Serialize, Deserialize)]
struct AccountAccess<A, C> {
    read: bool,
    assignments: Vec<A>,
    contacts: Vec<C>,
}

/// The line appended once a compaction has written the state file: from then on the state
/// file is `base`, so a state file equal to `prev` is one put back by hand, not a crash.
#[derive(Serialize)]
struct Written<'a> {
    state_file: &'a str,
}

/// A call's record (or a `Written` line) as read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RecordIn {
    state_file: Option<String>,
    seq: u64,
    requests: u64,
    closed: u32,
    organization: Option<Organization>,
    launch_path: Option<LaunchPath>,
    /// The whole of `State::access` (journals written before its rows were recorded per account).
    access: Option<Access>,
    access_settings: Option<AccessSettings<IdentityCenter>>,
    access_accounts: BTreeMap<String, AccountAccess<Assignment, AlternateContact>>,
    organizational_units: Owned<OrgUnit>,
    accounts: Owned<Account>,
    create_account_requests: Owned<CreateAccountRequest>,
    policies: Owned<Policy>,
    attached: Vec<(String, String)>,
    detached: Vec<(String, String)>,
    portfolios: Owned<Portfolio>,
    products: Owned<Product>,
    provisioned_products: Owned<ProvisionedProduct>,
    templates: Owned<String>,
    tokens: Owned<Outcome>,
    pending_accounts: Owned<PendingAccount>,
    share_polls: Owned<u32>,
    records: Owned<Record>,
    assignment_requests: Owned<super::access::AssignmentRequest>,
}

/// The open journal of a file-backed cloud.
#[derive(Debug)]
pub(super) struct Writer {
    file: std::fs::File,
    /// Bytes of the file that hold complete lines.
    len: u64,
    /// Bytes of the header and checkpoint, and of the records appended after them.
    checkpoint: u64,
    appended: u64,
    /// Fingerprints of the state file on disk and of the checkpoint.
    on_disk: String,
    base: String,
}

/// A journal file split into its lines (not yet parsed beyond the header).
struct Lines<'a> {
    header: Header,
    checkpoint: Option<&'a [u8]>,
    records: Vec<&'a [u8]>,
    /// Bytes of complete lines.
    complete: usize,
}

fn split(bytes: &[u8]) -> Option<Lines<'_>> {
    let mut lines = vec![];
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push(&bytes[start..i]);
            start = i + 1;
        }
    }
    let first = lines.first()?;
    let header: Header = serde_json::from_slice(first).ok()?;
    let records = lines.get(2..).unwrap_or_default().to_vec();
    Some(Lines { header, checkpoint: lines.get(1).copied(), records, complete: start })
}

fn corrupt(journal: &Path, line: usize, e: &serde_json::Error) -> FsError {
    FsError::Parse {
        path: journal.display().to_string(),
        line,
        column: e.column().max(1),
        message: format!("journal record does not parse: {e}"),
    }
}

/// The call records after the checkpoint, and whether the state file was written since it.
fn parse_records(journal: &Path, lines: &Lines<'_>) -> Result<(Vec<RecordIn>, bool), FsError> {
    let all: Vec<RecordIn> = lines
        .records
        .iter()
        .enumerate()
        .map(|(i, l)| serde_json::from_slice(l).map_err(|e| corrupt(journal, i + 3, &e)))
        .collect::<Result<_, _>>()?;
    let written = all.iter().any(|r| r.state_file.is_some());
    Ok((all.into_iter().filter(|r| r.state_file.is_none()).collect(), written))
}

fn parse_checkpoint(journal: &Path, lines: &Lines<'_>) -> Result<Option<Checkpoint>, FsError> {
    lines.checkpoint.map(|c| serde_json::from_slice(c).map_err(|e| corrupt(journal, 2, &e))).transpose()
}

/// What opening found: the state and extras to continue from, and whether the state file and
/// journal must be rewritten.
struct Resumed {
    state: State,
    x: Extras,
    records: Vec<RecordIn>,
    rewrite: bool,
}

fn counters_only(state: State, x: &Extras, records: &[RecordIn]) -> Resumed {
    // Keep only the counters, so ids and request ids are not handed out twice.
    let seq = records.iter().map(|r| r.seq).chain([x.seq]).max().unwrap_or(0);
    let requests = records.iter().map(|r| r.requests).chain([x.requests]).max().unwrap_or(0);
    Resumed { state, x: Extras { seq, requests, ..Extras::default() }, records: vec![], rewrite: true }
}

/// The state file's `file_state` (fingerprint `on_disk`) continued by the journal's `bytes`.
fn resume(journal: &Path, file_state: State, on_disk: &str, bytes: &[u8]) -> Result<Resumed, FsError> {
    let fresh = |state| Resumed { state, x: Extras::default(), records: vec![], rewrite: true };
    let Some(lines) = split(bytes) else {
        return Ok(match serde_json::from_slice::<JournalV1>(bytes) {
            Ok(j) if j.current == on_disk => {
                Resumed { state: file_state, x: j.extras, records: vec![], rewrite: true }
            }
            // The journal was written, the state file not: finish the interrupted write.
            Ok(j) if j.prev == on_disk => {
                Resumed { state: j.state, x: j.extras, records: vec![], rewrite: true }
            }
            Ok(j) => counters_only(file_state, &j.extras, &[]),
            Err(_) => fresh(file_state),
        });
    };
    if lines.header.format != JOURNAL_FORMAT {
        return Ok(fresh(file_state));
    }
    let (records, written) = parse_records(journal, &lines)?;
    let torn = lines.complete < bytes.len();
    let Some(checkpoint) = parse_checkpoint(journal, &lines)? else {
        return Ok(fresh(file_state));
    };
    Ok(if lines.header.base == on_disk {
        let rewrite = torn || !records.is_empty();
        Resumed { state: file_state, x: checkpoint.extras, records, rewrite }
    } else if lines.header.prev == on_disk && !written {
        Resumed { state: checkpoint.state, x: checkpoint.extras, records, rewrite: true }
    } else {
        counters_only(file_state, &checkpoint.extras, &records)
    })
}

/// Apply `changes` (id -> after-image or `None`) to `rows`.
fn upsert<T>(
    rows: &mut Vec<T>,
    pos: &mut HashMap<String, usize>,
    changes: Owned<T>,
    key: impl Fn(&T) -> &str + Copy,
) {
    for (id, image) in changes {
        match (image, pos.get(&id).copied()) {
            (Some(row), Some(i)) => rows[i] = row,
            (Some(row), None) => index::insert(rows, pos, &id, row),
            (None, _) => {
                index::remove(rows, pos, &id, key);
            }
        }
    }
}

fn upsert_map<T>(map: &mut BTreeMap<String, T>, changes: Owned<T>) {
    for (k, v) in changes {
        match v {
            Some(v) => map.insert(k, v),
            None => map.remove(&k),
        };
    }
}

impl LocalCloud {
    /// A cloud over the state file at `path` (which must exist); every successful call is
    /// durable before it returns. Finishes what a crash interrupted (see the module docs) and
    /// brings the state file up to date. For apply, under the workspace lock.
    pub fn open(path: impl AsRef<Path>) -> Result<LocalCloud, FsError> {
        let path = path.as_ref().to_path_buf();
        let file_state = fs::read_state(&path)?;
        let on_disk = file_state.fingerprint();
        let journal = Self::journal_path(&path);
        let resumed = match std::fs::read(&journal) {
            Ok(bytes) => resume(&journal, file_state, &on_disk, &bytes)?,
            Err(_) => Resumed { state: file_state, x: Extras::default(), records: vec![], rewrite: true },
        };
        let mut cloud = LocalCloud::over(resumed.state, resumed.x, Some(path));
        for r in resumed.records {
            cloud.replay_record(r);
        }
        cloud.idx = Index::build(&cloud.state, &cloud.x);
        if resumed.rewrite {
            cloud.compact(on_disk).map_err(|e| FsError::Io {
                path: journal.display().to_string(),
                error: std::io::Error::other(e.message),
            })?;
        } else {
            cloud.journal = Some(Writer::append(&journal, on_disk.clone(), on_disk)?);
        }
        Ok(cloud)
    }

    /// The state the state file at `path` holds (`state`, as read from it) continued by its
    /// journal: what a crash left in the journal but not yet in the file. Writes nothing (a
    /// plan takes no lock, and an apply may be writing).
    pub fn catch_up(path: &Path, state: State) -> Result<State, FsError> {
        let journal = Self::journal_path(path);
        let Ok(bytes) = std::fs::read(&journal) else {
            return Ok(state);
        };
        if let Some(lines) = split(&bytes)
            && lines.header.format == JOURNAL_FORMAT
        {
            let (records, written) = parse_records(&journal, &lines)?;
            if records.is_empty() && (written || lines.header.prev == lines.header.base) {
                return Ok(state); // a checkpoint of the state file as it is, or of another state
            }
        }
        let on_disk = state.fingerprint();
        let resumed = resume(&journal, state, &on_disk, &bytes)?;
        let mut cloud = LocalCloud::over(resumed.state, resumed.x, None);
        for r in resumed.records {
            cloud.replay_record(r);
        }
        Ok(cloud.state())
    }

    /// The template bodies uploaded through the cloud of the state file at `path` (URL ->
    /// body), as its journal holds them; read only. The journal continues the file as written
    /// (not as `catch_up` continued it), so the file is its base. Empty without a journal, or
    /// with one that belongs to another state.
    pub fn uploaded_templates(path: &Path) -> std::collections::BTreeMap<String, String> {
        let journal = Self::journal_path(path);
        let (Ok(bytes), Ok(state)) = (std::fs::read(&journal), fs::read_state(path)) else {
            return Default::default();
        };
        let base = state.fingerprint();
        match resume(&journal, state, &base, &bytes) {
            Ok(resumed) => {
                let mut cloud = LocalCloud::over(resumed.state, resumed.x, None);
                for r in resumed.records {
                    cloud.replay_record(r);
                }
                std::mem::take(&mut cloud.x.templates)
            }
            Err(_) => Default::default(),
        }
    }

    /// Where the journal of the state file `state_path` lives: `<file name>.journal` beside it.
    pub fn journal_path(state_path: &Path) -> PathBuf {
        let name = state_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        state_path.with_file_name(format!("{name}.journal"))
    }

    /// Apply one journal record (the index's positions stay right; its other keys are rebuilt
    /// by the caller).
    fn replay_record(&mut self, r: RecordIn) {
        let (s, i) = (&mut self.state, &mut self.idx);
        if let Some(o) = r.organization {
            s.organization = o;
        }
        if let Some(l) = r.launch_path {
            s.launch_path = Some(l);
        }
        if let Some(a) = r.access {
            s.access = Some(a);
        }
        if let Some(settings) = r.access_settings {
            let a = s.access.get_or_insert_with(Access::default);
            a.account_management_access = settings.account_management_access;
            a.identity_center = settings.identity_center;
        }
        for (id, rows) in r.access_accounts {
            replace_account_access(s.access.get_or_insert_with(Access::default), &id, rows);
        }
        upsert(&mut s.organizational_units, &mut i.ous, r.organizational_units, |o| &o.id);
        upsert(&mut s.accounts, &mut i.accounts, r.accounts, |a| &a.id);
        upsert(&mut s.create_account_requests, &mut i.requests, r.create_account_requests, |q| &q.id);
        upsert(&mut s.policies, &mut i.policies, r.policies, |p| &p.id);
        for (p, t) in r.attached {
            if let Some(&k) = i.policies.get(&p) {
                index::insert_sorted(&mut s.policies[k].target_ids, t);
            }
        }
        for (p, t) in r.detached {
            if let Some(&k) = i.policies.get(&p) {
                index::remove_sorted(&mut s.policies[k].target_ids, &t);
            }
        }
        upsert(&mut s.portfolios, &mut i.portfolios, r.portfolios, |p| &p.id);
        upsert(&mut s.products, &mut i.products, r.products, |p| &p.id);
        upsert(&mut s.provisioned_products, &mut i.provisioned, r.provisioned_products, |p| &p.id);
        let x = &mut self.x;
        (x.seq, x.requests, x.closed) = (r.seq, r.requests, r.closed);
        upsert_map(&mut x.templates, r.templates);
        upsert_map(&mut x.tokens, r.tokens);
        upsert_map(&mut x.pending_accounts, r.pending_accounts);
        upsert_map(&mut x.share_polls, r.share_polls);
        upsert_map(&mut x.records, r.records);
        upsert_map(&mut x.assignment_requests, r.assignment_requests);
    }

    /// The record of the call that just ran: after-images of what it touched.
    fn record_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let (s, i, t) = (&self.state, &self.idx, &self.touched);
        fn images<'a, T>(
            ids: &'a std::collections::BTreeSet<String>,
            rows: &'a [T],
            pos: &HashMap<String, usize>,
        ) -> Images<'a, T> {
            ids.iter().map(|id| (id.as_str(), pos.get(id).map(|&k| &rows[k]))).collect()
        }
        fn entries<'a, T>(
            ids: &'a std::collections::BTreeSet<String>,
            map: &'a BTreeMap<String, T>,
        ) -> Images<'a, T> {
            ids.iter().map(|id| (id.as_str(), map.get(id))).collect()
        }
        let (mut attached, mut detached) = (vec![], vec![]);
        for (p, target) in &t.attachments {
            let on =
                i.policies.get(p).is_some_and(|&k| s.policies[k].target_ids.binary_search(target).is_ok());
            if on { &mut attached } else { &mut detached }.push((p.as_str(), target.as_str()));
        }
        let policies = t
            .policies
            .iter()
            .map(|id| (id.as_str(), i.policies.get(id).map(|&k| s.policies[k].clone())))
            .collect();
        let record = RecordOut {
            seq: self.x.seq,
            requests: self.x.requests,
            closed: self.x.closed,
            organization: t.organization.then_some(&s.organization),
            launch_path: if t.launch_path { s.launch_path.as_ref() } else { None },
            organizational_units: images(&t.ous, &s.organizational_units, &i.ous),
            accounts: images(&t.accounts, &s.accounts, &i.accounts),
            create_account_requests: images(&t.requests, &s.create_account_requests, &i.requests),
            policies,
            attached,
            detached,
            portfolios: images(&t.portfolios, &s.portfolios, &i.portfolios),
            products: images(&t.products, &s.products, &i.products),
            provisioned_products: images(&t.provisioned, &s.provisioned_products, &i.provisioned),
            templates: entries(&t.templates, &self.x.templates),
            tokens: entries(&t.tokens, &self.x.tokens),
            pending_accounts: entries(&t.pending_accounts, &self.x.pending_accounts),
            share_polls: entries(&t.share_polls, &self.x.share_polls),
            records: entries(&t.records, &self.x.records),
            access_settings: s.access.as_ref().filter(|_| t.access).map(|a| AccessSettings {
                account_management_access: a.account_management_access,
                identity_center: a.identity_center.as_ref(),
            }),
            access_accounts: t
                .access_accounts
                .iter()
                .map(|id| (id.as_str(), account_access(s.access.as_ref(), id)))
                .collect(),
            assignment_requests: entries(&t.assignment_requests, &self.x.assignment_requests),
        };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        Ok(line)
    }

    // ---------------------------------------------------------------- persistence

    /// Make the call that just ran durable: append its record. If that fails, the cloud goes
    /// back to what is on disk and the call is reported as not carried out.
    pub(super) fn persist(&mut self) -> Result<(), CloudError> {
        if self.journal.is_none() {
            return Ok(());
        }
        let line = self
            .record_line()
            .map_err(|e| hard("LocalStateWriteFailed", format!("cannot encode the journal record: {e}")));
        let written = line.and_then(|line| {
            let w = self.journal.as_mut().ok_or_else(|| hard("LocalStateWriteFailed", "no journal"))?;
            w.append_line(&line)
                .map_err(|e| hard("LocalStateWriteFailed", format!("the call was not carried out: {e}")))
        });
        if let Err(e) = written {
            self.reload();
            return Err(e);
        }
        let after = self.settings.compact_after_bytes;
        let due = self.journal.as_ref().is_some_and(|w| after == 0 || w.appended >= w.checkpoint.max(after));
        if due {
            // The call is durable in the journal; a compaction that fails is tried again later.
            let _ = self.sync();
        }
        Ok(())
    }

    /// Bring the state file up to date with the journal (compaction), if it is behind. Runs
    /// when the cloud is dropped; call it to see the error.
    pub fn sync(&mut self) -> Result<(), CloudError> {
        self.check_usable()?;
        let Some(w) = &self.journal else {
            return Ok(());
        };
        if w.appended == 0 && w.on_disk == w.base {
            return Ok(());
        }
        let on_disk = w.on_disk.clone();
        self.compact(on_disk)
    }

    /// Write a new journal (header + checkpoint of the current state) and then the state file;
    /// `on_disk` is the fingerprint of the state file as it is now.
    fn compact(&mut self, on_disk: String) -> Result<(), CloudError> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let failed =
            |e: &dyn std::fmt::Display| hard("LocalStateWriteFailed", format!("compacting the journal: {e}"));
        let state = self.state();
        let base = state.fingerprint();
        let journal = Self::journal_path(&path);
        let header = Header { format: JOURNAL_FORMAT, prev: on_disk.clone(), base: base.clone() };
        let mut bytes = serde_json::to_vec(&header).map_err(|e| failed(&e))?;
        bytes.push(b'\n');
        serde_json::to_writer(&mut bytes, &CheckpointRef { state: &state, extras: &self.x })
            .map_err(|e| failed(&e))?;
        bytes.push(b'\n');
        fs::write_atomic(&journal, &bytes).map_err(|e| failed(&e))?;
        // The new journal holds everything from here on; appends must go to it, not to the old
        // (now unlinked) file.
        let mut w = match Writer::append(&journal, on_disk.clone(), base.clone()) {
            Ok(w) => w,
            Err(e) => {
                self.journal = None;
                self.broken = Some(format!("the journal {} cannot be reopened: {e}", journal.display()));
                return Err(failed(&e));
            }
        };
        w.checkpoint = bytes.len() as u64;
        self.journal = Some(w);
        if on_disk != base {
            fs::write_state(&path, &state).map_err(|e| failed(&e))?;
            if let Some(w) = self.journal.as_mut() {
                let mut line = serde_json::to_vec(&Written { state_file: &base }).map_err(|e| failed(&e))?;
                line.push(b'\n');
                w.append_line(&line).map_err(|e| failed(&e))?;
                w.appended = 0;
                w.on_disk = base;
            }
        }
        Ok(())
    }

    /// After a failed append: go back to what is on disk (the state file and the journal's
    /// complete records), or refuse further calls if that cannot be done.
    fn reload(&mut self) {
        let restored = self.read_disk();
        match restored {
            Ok(c) => {
                (self.state, self.x) = (c.state.clone(), c.x.clone());
                self.idx = Index::build(&self.state, &self.x);
            }
            Err(e) => {
                self.broken =
                    Some(format!("a journal append failed and the state on disk cannot be re-read: {e}"))
            }
        }
    }

    /// An in-memory cloud holding what is on disk: the state file and the journal's complete
    /// records (a partial last line is cut off first).
    fn read_disk(&mut self) -> Result<LocalCloud, String> {
        let path = self.path.clone().ok_or("no state file")?;
        let w = self.journal.as_mut().ok_or("no journal")?;
        w.file.set_len(w.len).map_err(|e| e.to_string())?;
        let file_state = fs::read_state(&path).map_err(|e| e.to_string())?;
        let journal = Self::journal_path(&path);
        let bytes = std::fs::read(&journal).map_err(|e| e.to_string())?;
        let r = resume(&journal, file_state, &w.on_disk, &bytes).map_err(|e| e.to_string())?;
        let mut c = LocalCloud::over(r.state, r.x, None);
        for rec in r.records {
            c.replay_record(rec);
        }
        Ok(c)
    }

    pub(super) fn check_usable(&self) -> Result<(), CloudError> {
        match &self.broken {
            Some(why) => Err(hard("LocalStateWriteFailed", format!("{why}; open the state file again"))),
            None => Ok(()),
        }
    }
}

impl Drop for LocalCloud {
    /// The end of a command: the state file catches up with the journal (other tools read it).
    fn drop(&mut self) {
        if self.broken.is_none() {
            let _ = self.sync();
        }
    }
}

impl Writer {
    fn append(journal: &Path, on_disk: String, base: String) -> Result<Writer, FsError> {
        let io = |error| FsError::Io { path: journal.display().to_string(), error };
        let file = std::fs::OpenOptions::new().append(true).open(journal).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        Ok(Writer { file, len, checkpoint: len, appended: 0, on_disk, base })
    }

    fn append_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.file.write_all(line)?;
        self.file.sync_data()?;
        let n = line.len() as u64;
        self.len += n;
        self.appended += n;
        Ok(())
    }
}

/// The rows of `account_id` in `access` (each list is sorted by account first, so they are
/// one run).
fn account_access<'a>(
    access: Option<&'a Access>,
    account_id: &str,
) -> AccountAccess<&'a Assignment, &'a AlternateContact> {
    let Some(a) = access else {
        return AccountAccess { read: false, assignments: vec![], contacts: vec![] };
    };
    AccountAccess {
        read: a.read_accounts.binary_search_by(|x| x.as_str().cmp(account_id)).is_ok(),
        assignments: a.assignments[run(&a.assignments, account_id, |x| &x.account_id)].iter().collect(),
        contacts: a.contacts[run(&a.contacts, account_id, |x| &x.account_id)].iter().collect(),
    }
}

/// Put the rows of `account_id` in `access` in place of those it has.
fn replace_account_access(
    access: &mut Access,
    account_id: &str,
    rows: AccountAccess<Assignment, AlternateContact>,
) {
    if rows.read {
        index::insert_sorted(&mut access.read_accounts, account_id.to_string());
    } else {
        index::remove_sorted(&mut access.read_accounts, &account_id.to_string());
    }
    let at = run(&access.assignments, account_id, |x| &x.account_id);
    access.assignments.splice(at, rows.assignments);
    let at = run(&access.contacts, account_id, |x| &x.account_id);
    access.contacts.splice(at, rows.contacts);
}

/// Where the rows of `account_id` are (or would go) in `rows`, sorted by account first.
fn run<T>(rows: &[T], account_id: &str, key: impl Fn(&T) -> &String) -> std::ops::Range<usize> {
    let start = rows.partition_point(|x| key(x).as_str() < account_id);
    let end = start + rows[start..].partition_point(|x| key(x).as_str() == account_id);
    start..end
}
