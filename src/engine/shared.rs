//! What the steps in flight share: the cloud (called concurrently when it can take it, else one
//! call at a time), the audit log (one append at a time, in the order the steps reach it), the
//! ids earlier steps created, and the Organizations entities a call is writing right now (AWS
//! answers `ConcurrentModificationException` to a second write to one entity while the first
//! is in progress, so a call waits until the entities it writes are free).

use crate::plan::Address;
use crate::port::{
    Audit, AuditError, AuditEvent, Cloud, CloudError, ConcurrentCloud, ErrorKind, Op, Outcome,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex, MutexGuard};

/// The cloud as the steps call it.
pub struct Calls<'a> {
    cloud: Route<'a>,
    busy: Mutex<BTreeSet<String>>,
    freed: Condvar,
}

enum Route<'a> {
    Concurrent(&'a dyn ConcurrentCloud),
    Serial(Mutex<&'a mut dyn Cloud>),
}

fn poisoned(what: &str) -> CloudError {
    CloudError {
        kind: ErrorKind::Hard,
        code: "EngineError".into(),
        message: format!("{what}: another step panicked while holding it"),
        rule: None,
    }
}

impl<'a> Calls<'a> {
    pub fn new(cloud: &'a mut dyn Cloud) -> Calls<'a> {
        let route = if cloud.concurrent().is_none() {
            Route::Serial(Mutex::new(cloud))
        } else {
            let shared: &'a dyn Cloud = cloud;
            match shared.concurrent() {
                Some(c) => Route::Concurrent(c),
                // `concurrent` answered Some a moment ago; a cloud that changes its mind is
                // refused call by call rather than trusted.
                None => Route::Concurrent(&Undecided),
            }
        };
        Calls { cloud: route, busy: Mutex::new(BTreeSet::new()), freed: Condvar::new() }
    }

    /// Perform `op`, once the Organizations entities it writes are not being written by
    /// another call (all of them taken at once, so two calls never wait on each other).
    pub fn call(&self, op: &Op) -> Result<Outcome, CloudError> {
        let entities: Vec<String> = op.entities().into_iter().map(str::to_string).collect();
        if !entities.is_empty() {
            let mut busy = self.busy.lock().map_err(|_| poisoned("the entity locks"))?;
            while entities.iter().any(|e| busy.contains(e)) {
                busy = self.freed.wait(busy).map_err(|_| poisoned("the entity locks"))?;
            }
            busy.extend(entities.iter().cloned());
        }
        let result = match &self.cloud {
            Route::Concurrent(c) => c.call(op),
            Route::Serial(m) => match m.lock() {
                Ok(mut cloud) => cloud.call(op),
                Err(_) => Err(poisoned("the cloud")),
            },
        };
        if !entities.is_empty() {
            if let Ok(mut busy) = self.busy.lock() {
                for e in &entities {
                    busy.remove(e);
                }
            }
            self.freed.notify_all();
        }
        result
    }
}

struct Undecided;

impl ConcurrentCloud for Undecided {
    fn call(&self, op: &Op) -> Result<Outcome, CloudError> {
        Err(CloudError::hard(
            "EngineError",
            format!("{}: the cloud withdrew its concurrent calls", op.name()),
        ))
    }
}

/// The audit log, one append at a time.
pub struct SharedAudit<'a>(Mutex<&'a mut dyn Audit>);

impl<'a> SharedAudit<'a> {
    pub fn new(audit: &'a mut dyn Audit) -> Self {
        SharedAudit(Mutex::new(audit))
    }

    pub fn append(&self, event: AuditEvent) -> Result<(), AuditError> {
        let mut log =
            self.0.lock().map_err(|_| AuditError("another step panicked while appending".into()))?;
        log.append(event)
    }
}

/// Address -> id of what earlier steps created (`product_version:p@v` -> artifact id). A step
/// reads only the ids of changes it depends on, which finished before it started.
#[derive(Default)]
pub struct SharedIds(Mutex<BTreeMap<Address, String>>);

impl SharedIds {
    fn map(&self) -> MutexGuard<'_, BTreeMap<Address, String>> {
        // A panicking step cannot leave the map half-written (an insert is one call).
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get<Q: Ord + ?Sized>(&self, address: &Q) -> Option<String>
    where
        Address: std::borrow::Borrow<Q>,
    {
        self.map().get(address).cloned()
    }

    pub fn contains_key(&self, address: &Address) -> bool {
        self.map().contains_key(address)
    }

    pub fn insert(&self, address: Address, id: String) {
        self.map().insert(address, id);
    }
}
