//! The command flows, one per job, over the resolved `Config`: `apply` (the one apply flow the
//! CLI and the TUI share: governance guard, lock, audit, engine, report), `confirm` (the pure
//! confirmation/close policy of an apply and the refusals' texts), `plan` (validate, plan, show,
//! snapshot save), `audit` (audit verify/log, metrics, approve, force-unlock), `request`, `auth`
//! and `extras` (`vend schema`, the files of `vend man --all`). A flow prints and asks only
//! through a `Console` that `main` implements over the process's standard streams; it never
//! reads flags or the environment. `confirm` is pure (the TUI's `update` builds its prompts from
//! it); the others do I/O through `app` and the adapters.

pub mod apply;
pub mod audit;
pub mod auth;
pub mod confirm;
pub mod extras;
pub mod import;
pub mod plan;
pub mod request;

use crate::render::Line;

/// The standard streams as a flow sees them (`main` implements it; tests may record it).
pub trait Console {
    /// Text for standard output, as is (flushed).
    fn out(&mut self, text: &str);
    /// Text for standard error, as is.
    fn err(&mut self, text: &str);
    /// Styled lines for standard output (coloured when it is a terminal and colour is allowed).
    fn out_lines(&mut self, lines: &[Line]);
    /// Styled lines for standard error.
    fn err_lines(&mut self, lines: &[Line]);
    /// One line from standard input, as typed.
    fn read_line(&mut self) -> anyhow::Result<String>;
    /// Ask for a secret on the terminal (not echoed).
    fn read_hidden(&mut self, prompt: &str) -> anyhow::Result<String>;
    /// All of standard input.
    fn read_all(&mut self) -> std::io::Result<String>;

    /// A line on standard output.
    fn say(&mut self, text: &str) {
        self.out(&format!("{text}\n"));
    }
    /// A line on standard error.
    fn note(&mut self, text: &str) {
        self.err(&format!("{text}\n"));
    }
    /// Show `prompt` on standard output and read the answer, trimmed.
    fn ask(&mut self, prompt: &str) -> anyhow::Result<String> {
        self.out(prompt);
        Ok(self.read_line()?.trim().to_string())
    }
}
