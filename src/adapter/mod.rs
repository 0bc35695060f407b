//! The only code that touches the outside world: `fs` (workspace files, the local state file,
//! saved plans), `local_cloud` (the in-process cloud behind the state file) and `faulty_cloud`
//! (fault injection), `audit` (the signed JSON Lines log), `keys` (the operator key in the OS
//! keyring or a key file), `credentials` (AWS credentials in the OS keyring), `lock` (the apply
//! lock), `aws` (AWS through the official SDK), `s3_backend` and `s3_lock` (the shared S3 backend:
//! the audit log as objects and the lease lock), `bars` (live apply progress on a terminal) and
//! `interrupt` (Ctrl-C during an apply).

pub mod audit;
pub mod aws;
pub mod aws_rules;
pub mod bars;
pub mod credentials;
pub mod faulty_cloud;
pub mod fs;
pub mod interrupt;
pub mod keys;
pub mod local_cloud;
pub mod lock;
pub mod s3_backend;
pub mod s3_lock;
