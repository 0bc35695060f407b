//! Fault injection for tests of apply and recovery: `FaultyCloud` wraps any `Cloud` and fails
//! chosen mutating calls (the k-th, counting from 1; reads and polls do not count), either
//! before the call reaches the inner cloud (nothing happens: a hard error, a throttling-like
//! rejection, or a server error that leaves the caller unsure) or after it was carried out (the
//! response is lost: an `ErrorKind::Unknown` error). A persistent fault fails every call of one
//! operation, reads included (as when AWS throttles one API longer than any retry budget).

use crate::model::State;
use crate::port::{Cloud, CloudError, ErrorKind, Op, Outcome};
use std::collections::BTreeMap;

/// The error code of every injected fault.
pub const INJECTED_FAULT: &str = "InjectedFault";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// The call is not carried out; the caller gets a hard error.
    Before,
    /// The call is not carried out; the caller gets a `Retryable` rejection (as for throttling).
    Rejected,
    /// The call is not carried out, but the caller gets an `Unknown` error (as for a 5xx): it
    /// must find out before sending a non-idempotent write again.
    ServerError,
    /// The call is carried out on the inner cloud, then the response is lost: the caller gets
    /// an `ErrorKind::Unknown` error whatever the inner cloud answered.
    After,
}

#[derive(Debug, Clone)]
pub struct FaultyCloud<C: Cloud> {
    inner: C,
    faults: BTreeMap<u64, FaultPoint>,
    /// Operation name -> the fault every call of it gets.
    op_faults: BTreeMap<String, FaultPoint>,
    mutating: u64,
    calls: u64,
    fired: Vec<(u64, String, FaultPoint)>,
}

impl<C: Cloud> FaultyCloud<C> {
    /// Fail the `k`-th mutating call (1-based) at `point`.
    pub fn new(inner: C, k: u64, point: FaultPoint) -> Self {
        FaultyCloud::passthrough(inner).with_fault(k, point)
    }

    /// No faults (add some with `with_fault`).
    pub fn passthrough(inner: C) -> Self {
        FaultyCloud {
            inner,
            faults: BTreeMap::new(),
            op_faults: BTreeMap::new(),
            mutating: 0,
            calls: 0,
            fired: vec![],
        }
    }

    /// Also fail the `k`-th mutating call (1-based) at `point`.
    pub fn with_fault(mut self, k: u64, point: FaultPoint) -> Self {
        self.faults.insert(k, point);
        self
    }

    /// Fail every call of operation `op` (`Op::name`: `AttachPolicy`, `DescribeCreateAccountStatus`,
    /// `FindCreateAccount`, …; reads too) at `point`, for as long as the fault is set.
    pub fn with_op_fault(mut self, op: &str, point: FaultPoint) -> Self {
        self.op_faults.insert(op.to_string(), point);
        self
    }

    /// Remove every persistent fault (`with_op_fault`).
    pub fn clear_op_faults(&mut self) {
        self.op_faults.clear();
    }

    /// Mutating calls made so far (including the failed ones).
    pub fn mutating_calls(&self) -> u64 {
        self.mutating
    }

    /// All calls made so far, reads and polls included.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The faults that fired: (mutating call number, operation name, point).
    pub fn fired(&self) -> &[(u64, String, FaultPoint)] {
        &self.fired
    }

    pub fn inner(&self) -> &C {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: Cloud> Cloud for FaultyCloud<C> {
    fn read_state(&mut self) -> Result<State, CloudError> {
        self.inner.read_state()
    }

    fn call(&mut self, op: &Op) -> Result<Outcome, CloudError> {
        self.calls += 1;
        let persistent = self.op_faults.get(&op.name()).copied();
        if op.is_read() && persistent.is_none() {
            return self.inner.call(op);
        }
        if !op.is_read() {
            self.mutating += 1;
        }
        let n = self.mutating;
        match persistent.or_else(|| self.faults.get(&n).copied()) {
            None => self.inner.call(op),
            Some(point) => {
                self.fired.push((n, op.name(), point));
                let which = if op.is_read() {
                    format!("read {}", op.name())
                } else {
                    format!("mutating call #{n} ({})", op.name())
                };
                match point {
                    FaultPoint::Before => Err(CloudError::hard(
                        INJECTED_FAULT,
                        format!("injected fault before {which}: not carried out"),
                    )),
                    FaultPoint::Rejected => Err(CloudError::retryable(
                        INJECTED_FAULT,
                        format!("injected rejection of {which}: not carried out"),
                    )),
                    FaultPoint::ServerError => Err(CloudError {
                        kind: ErrorKind::Unknown,
                        code: INJECTED_FAULT.into(),
                        message: format!("injected server error at {which}: not carried out"),
                        rule: None,
                    }),
                    FaultPoint::After => {
                        let inner = self.inner.call(op);
                        let what = match inner {
                            Ok(_) => "carried out".to_string(),
                            Err(e) => format!("failed inside: {e}"),
                        };
                        Err(CloudError {
                            kind: ErrorKind::Unknown,
                            code: INJECTED_FAULT.into(),
                            message: format!("injected fault after {which}: {what}; response lost"),
                            rule: None,
                        })
                    }
                }
            }
        }
    }
}
