//! Plans, diagnostics and reports -> styled lines (for the CLI and, later, the TUI), JSON, and
//! markdown for pull-request comments (`markdown.rs`).
//! Pure: returns values; printing is `main`'s job. Lines carry semantic `Tone`s, not escape
//! codes, so each front end chooses its own colours (`to_ansi` for terminals).

mod apply;
mod effective;
mod markdown;
mod metrics;
pub mod progress;
mod text;

pub use apply::{apply_event, apply_report};
pub use effective::{access_lines, effective_lines, effective_text};
pub use markdown::{ApprovalRules, GITHUB_COMMENT_LIMIT, MarkdownOptions, plan_markdown, thousands};
pub use metrics::{duration, metrics_text};
pub use text::{change_text, diagnostics_text, plan_text, summary_line, symbol, tone};

use crate::plan::Plan;

/// The meaning of a piece of text, mapped to a colour by each front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Heading,
    Muted,
    Create,
    Update,
    Move,
    Replace,
    Delete,
    Close,
    Adopt,
    Deprecate,
    Repair,
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub tone: Tone,
}

/// One output line made of styled spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line(pub Vec<Span>);

impl Line {
    pub fn new() -> Line {
        Line(vec![])
    }
    pub fn plain(text: impl Into<String>) -> Line {
        Line::new().push(text, Tone::Plain)
    }
    pub fn push(mut self, text: impl Into<String>, tone: Tone) -> Line {
        self.0.push(Span { text: text.into(), tone });
        self
    }
    pub fn text(&self) -> String {
        self.0.iter().map(|s| s.text.as_str()).collect()
    }
}

fn style(tone: Tone) -> anstyle::Style {
    use anstyle::{AnsiColor, Style};
    let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
    match tone {
        Tone::Plain => Style::new(),
        Tone::Heading => Style::new().bold(),
        Tone::Muted => Style::new().dimmed(),
        Tone::Create => fg(AnsiColor::Green),
        Tone::Update => fg(AnsiColor::Yellow),
        Tone::Move => fg(AnsiColor::Cyan),
        Tone::Replace => fg(AnsiColor::Magenta),
        Tone::Delete => fg(AnsiColor::Red),
        Tone::Close => fg(AnsiColor::Red).bold(),
        Tone::Adopt => fg(AnsiColor::Blue),
        Tone::Deprecate => fg(AnsiColor::Yellow).dimmed(),
        Tone::Repair => fg(AnsiColor::Magenta).bold(),
        Tone::Error => fg(AnsiColor::Red).bold(),
        Tone::Warning => fg(AnsiColor::Yellow).bold(),
    }
}

/// Lines -> text, with ANSI colours when `color` is set.
pub fn to_ansi(lines: &[Line], color: bool) -> String {
    let mut out = String::new();
    for line in lines {
        for span in &line.0 {
            let st = style(span.tone);
            if color && st != anstyle::Style::new() {
                out.push_str(&format!("{}{}{}", st.render(), span.text, st.render_reset()));
            } else {
                out.push_str(&span.text);
            }
        }
        out.push('\n');
    }
    out
}

/// The plan JSON document (format v1), pretty-printed with a trailing newline.
pub fn plan_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
