//! The terminal UI (DESIGN §7), in the Elm shape: `model` (state, `Msg`, `Effect`), a pure
//! `update` returning effects, a pure `view`, the pure data helpers behind them (`catalog`,
//! `review`, `form`), and one impure `runtime` that owns the terminal and the background work.
//! Nothing but `runtime` touches the terminal, files, threads or the clock.

pub mod catalog;
pub mod form;
pub mod model;
pub mod review;
mod runtime;
pub mod update;
pub mod view;

pub use model::{Effect, Key, Model, Msg, Screen};
pub use runtime::run;
pub use update::update;
pub use view::view;
