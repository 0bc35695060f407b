//! The only code that touches the outside world: `fs` (workspace files, the local state file,
//! saved plans), `local_cloud` (the in-process cloud behind the state file) and `faulty_cloud`
//! (fault injection), `audit` (the signed JSON Lines log), `keys` (the operator key in the OS
//! keyring or a key file), `lock` (the apply lock), `aws` (AWS through the official SDK).

pub mod audit;
pub mod aws;
pub mod faulty_cloud;
pub mod fs;
pub mod keys;
pub mod local_cloud;
pub mod lock;
