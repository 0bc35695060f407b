//! The only code that touches the outside world. `fs`: workspace files, the local state file
//! (read, seed, atomic write) and saved plans. Later: the AWS SDK, the audit log, the keyring.

pub mod fs;
pub mod lock;
