//! The terminal UI (DESIGN §7), in the Elm shape: `model` (state, `Msg`, `Effect`), a pure
//! `update` returning effects (`init` builds the first model; the screens' keys are in
//! `plan_keys` and `screen_keys`, their shared operations in `edit`), a pure `view`, the pure
//! data and screen state behind them (`catalog`, `access` (who gets into an account), `review`, `form`, `apply`, `org`, `text`; the
//! organization screen's keys in `org_keys`), and one
//! impure `runtime` that owns the terminal and the background work. Nothing but `runtime`
//! touches the terminal, files, threads or the clock. Files import downwards only: `model`
//! never imports `update`, and the data modules never import `model`'s `Model`.

pub mod access;
pub mod apply;
pub mod catalog;
mod edit;
pub mod form;
pub mod model;
pub mod org;
mod org_keys;
mod plan_keys;
pub mod review;
mod runtime;
mod screen_keys;
pub mod text;
pub mod update;
pub mod view;

pub use model::{Effect, Key, Model, Msg, Screen};
pub use runtime::run;
pub use update::update;
pub use view::view;
