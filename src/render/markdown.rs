//! The plan as GitHub-flavoured markdown, for a pull-request comment (`vend plan|show --format
//! markdown`): a heading with the plan id and whether it can be applied, a summary table, the
//! errors and warnings, then per-kind collapsible sections in which every change has its symbol,
//! word, address and reason, and its field and line diffs in `diff` blocks (the text view's own
//! diffs: `text::field_diffs`, `text::doc_diffs`); destructive changes are flagged ⚠, listed in
//! the summary and first in their section; excluded changes are marked; the approvals close it.
//! User data (addresses, names, messages, documents) is escaped so that a crafted name cannot
//! break the comment. The comment is cut to a character budget (GitHub's limit by default):
//! diffs go first, then the lines of non-destructive changes (creations before the other
//! actions), then the warnings; the heading, the summary, every error and every destructive
//! change stay, with a note saying what was left out. Pure and deterministic: the same plan and options give the same text.

use super::text::{FieldDiff, doc_diffs, field_diffs, symbol};
use crate::model::{Diagnostic, Severity};
use crate::plan::{Action, Change, Kind, Plan, approval};
use similar::ChangeTag;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// GitHub refuses a longer comment body with "Body is too long (maximum is 65536 characters)"
/// (the API's validation error for issue and pull-request comments). Characters, not bytes.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// How to render the markdown plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// The most characters (not bytes) the text may hold; cut to fit (see the module doc).
    pub budget: usize,
    /// The command that shows the whole plan, named in the note when the text was cut
    /// (`vend show plan.json`).
    pub full_command: String,
    /// What decides which approvals count: the workspace's pinned operators and required
    /// approvals; `None` when the workspace could not be read (approvals listed without a verdict).
    pub approvals: Option<ApprovalRules>,
}

impl MarkdownOptions {
    /// GitHub's comment limit, no approval rules.
    pub fn new(full_command: impl Into<String>) -> MarkdownOptions {
        MarkdownOptions { budget: GITHUB_COMMENT_LIMIT, full_command: full_command.into(), approvals: None }
    }
}

/// The workspace's approval settings (`catalog/vend.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalRules {
    /// The pinned operators (`operators:`).
    pub pinned: crate::model::operators::Operators,
    /// `required_approvals`.
    pub required: u32,
}

/// The plan as markdown, at most `options.budget` characters unless its errors and destructive
/// changes alone, as compact lines, take more (the note then says so).
pub fn plan_markdown(plan: &Plan, options: &MarkdownOptions) -> String {
    let view = View::new(plan, options);
    let full = Cut {
        diffs: view.order.len(),
        lines: view.plain_count,
        warnings: true,
        extras: true,
        compact: false,
    };
    let fits = |cut: Cut| view.render(cut).chars().count() <= options.budget;
    if fits(full) {
        return view.render(full);
    }
    // Diffs first (and the effective-policy and unchanged lists), keeping as many as fit:
    // those of destructive changes longest, creations' first to go.
    let cut = Cut { diffs: 0, extras: false, ..full };
    if fits(cut) {
        let diffs = largest(view.order.len(), |k| fits(Cut { diffs: k, ..cut }));
        return view.render(Cut { diffs, ..cut });
    }
    // Then the non-destructive changes' lines: creations first, then the other actions.
    if fits(Cut { lines: 0, ..cut }) {
        let lines = largest(view.plain_count, |k| fits(Cut { lines: k, ..cut }));
        return view.render(Cut { lines, ..cut });
    }
    let cut = Cut { lines: 0, warnings: false, ..cut };
    if fits(cut) {
        return view.render(cut);
    }
    view.render(Cut { compact: true, ..cut })
}

/// The largest `k` in `0..=max` for which `fits(k)`, given `fits(0)` (binary search: the text
/// grows with `k`).
fn largest(max: usize, fits: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, max);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// How much is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    /// Changes whose diffs are shown (the first in [`View::rank`] order).
    diffs: usize,
    /// Non-destructive changes whose lines are shown (the first in that order).
    lines: usize,
    warnings: bool,
    /// The effective-policy preview and the unchanged list.
    extras: bool,
    /// Errors and destructive changes as compact lines, nothing else.
    compact: bool,
}

/// One change, pre-rendered.
struct Item<'a> {
    change: &'a Change,
    destructive: bool,
    /// Its line: flag, symbol, word, address, position, reason.
    line: String,
    /// Its diff blocks, indented into its list item (empty when it has none).
    diff: String,
}

/// The plan and its changes pre-rendered, rendered at a given cut.
struct View<'a> {
    plan: &'a Plan,
    options: &'a MarkdownOptions,
    items: Vec<Item<'a>>,
    /// Display order (kinds in their order; destructive changes first, then plan order).
    order: Vec<usize>,
    /// Non-destructive changes.
    plain_count: usize,
    /// Each change's place in what a cut keeps longest: destructive changes, then the other
    /// changes that are not creations (fewer, and each one a decision), then creations; each
    /// group in display order.
    rank: Vec<usize>,
    excluded: BTreeSet<crate::plan::Address>,
}

impl<'a> View<'a> {
    fn new(plan: &'a Plan, options: &'a MarkdownOptions) -> View<'a> {
        let excluded = crate::engine::excluded_closure(plan);
        let items: Vec<Item> = plan
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| Item {
                change: c,
                destructive: c.action.is_destructive(),
                line: change_line(c, i + 1, excluded.contains(&c.address)),
                diff: diff_blocks(c),
            })
            .collect();
        let mut order: Vec<usize> = (0..items.len()).collect();
        let rank = |k: Kind| Kind::ALL.iter().position(|x| *x == k).unwrap_or(usize::MAX);
        order.sort_by_key(|&i| (rank(items[i].change.kind), !items[i].destructive, i));
        let plain_count = items.iter().filter(|i| !i.destructive).count();
        let mut by_rank = order.clone();
        by_rank.sort_by_key(|&i| match (items[i].destructive, items[i].change.action) {
            (true, _) => 0,
            (false, Action::Create) => 2,
            (false, _) => 1,
        });
        let mut rank = vec![0; items.len()];
        for (r, &i) in by_rank.iter().enumerate() {
            rank[i] = r;
        }
        View { plan, options, items, order, plain_count, rank, excluded }
    }

    fn render(&self, cut: Cut) -> String {
        let mut s = String::new();
        self.heading(&mut s);
        self.summary(&mut s);
        self.note(cut, &mut s);
        self.diagnostics(cut, &mut s);
        if !cut.compact {
            self.changes(cut, &mut s);
            if cut.extras {
                self.extras(&mut s);
            }
            self.approvals(&mut s);
        }
        s
    }

    fn heading(&self, s: &mut String) {
        let p = self.plan;
        let id = p.plan_id.strip_prefix("sha256:").unwrap_or(&p.plan_id);
        let short = id.get(..12).unwrap_or(id);
        let status = if p.applyable { "✅ applyable" } else { "❌ not applyable" };
        let _ = writeln!(s, "## vend plan {}: {status}\n", code(short));
        let source = if p.basis.source == "aws" { "AWS" } else { "the state file" };
        let _ = if !p.applyable {
            writeln!(s, "This plan cannot be applied: fix the errors below and plan again.\n")
        } else if p.changes.is_empty() {
            writeln!(s, "No changes: the organization ({source}) matches the workspace.\n")
        } else {
            writeln!(s, "{}, planned against {source}.\n", count(p.changes.len(), "change"))
        };
    }

    fn summary(&self, s: &mut String) {
        let p = self.plan;
        if p.changes.is_empty() {
            return;
        }
        s.push_str("| action | changes |\n|:--|--:|\n");
        for a in Action::ALL {
            let n = p.summary.get(a);
            if n > 0 {
                let flag = if a.is_destructive() { "⚠ " } else { "" };
                let _ = writeln!(s, "| {flag}{} {a} | {} |", code(symbol(a)), thousands(n));
            }
        }
        let _ = writeln!(s, "| **total** | **{}** |\n", thousands(p.summary.total()));
        if !self.excluded.is_empty() {
            let _ = writeln!(
                s,
                "**{} excluded** (left out in review or by `--target`/`--exclude`, or depending on such a change): not applied.\n",
                count(self.excluded.len(), "change")
            );
        }
        let destructive: Vec<&Item> =
            self.order.iter().map(|&i| &self.items[i]).filter(|i| i.destructive).collect();
        if !destructive.is_empty() {
            let _ = writeln!(s, "**⚠ {}:**\n", count(destructive.len(), "destructive change"));
            for item in destructive {
                let c = item.change;
                let mut line =
                    format!("- ⚠ {} {} {}", code(symbol(c.action)), c.action, code(c.address.as_str()));
                if self.excluded.contains(&c.address) {
                    line.push_str(" *(excluded)*");
                }
                let _ = writeln!(s, "{line}");
            }
            s.push('\n');
        }
    }

    /// What the cut left out, if anything.
    fn note(&self, cut: Cut, s: &mut String) {
        let mut parts = vec![];
        if cut.compact {
            parts.push(
                "its errors and destructive changes alone do not fit, so they are shown as compact lines and every other change is left out"
                    .to_string(),
            );
        } else {
            let shown = self.shown(cut);
            let no_diff = (0..self.items.len())
                .filter(|&i| {
                    shown.contains(&i) && self.rank[i] >= cut.diffs && !self.items[i].diff.is_empty()
                })
                .count();
            if no_diff > 0 {
                parts.push(format!("the diffs of {}", count(no_diff, "change")));
            }
            let hidden: Vec<&Change> = self
                .items
                .iter()
                .enumerate()
                .filter(|(i, _)| !shown.contains(i))
                .map(|(_, i)| i.change)
                .collect();
            if !hidden.is_empty() {
                parts.push(format!("{} ({})", count(hidden.len(), "change"), action_counts(&hidden)));
            }
            if !cut.extras && self.plan.effective_policies.as_ref().is_some_and(|e| !e.is_empty()) {
                parts.push("the effective-SCP preview".into());
            }
            if !cut.extras && self.plan.unchanged.as_ref().is_some_and(|u| !u.is_empty()) {
                parts.push("the unchanged list".into());
            }
        }
        let warnings = self.plan.diagnostics.iter().filter(|d| !d.is_error()).count();
        if !cut.warnings && warnings > 0 {
            parts.push(count(warnings, "warning"));
        }
        if parts.is_empty() {
            return;
        }
        let limit = if self.options.budget == GITHUB_COMMENT_LIMIT {
            format!("GitHub's comment limit ({} characters)", thousands(GITHUB_COMMENT_LIMIT))
        } else {
            format!("{} characters", thousands(self.options.budget))
        };
        let _ = writeln!(
            s,
            "> ✂️ **Shortened to fit {limit}:** not shown: {}. Run {} for all of it.\n",
            parts.join("; "),
            code(&self.options.full_command)
        );
    }

    /// The indexes of the changes whose lines are shown at `cut`: every destructive change
    /// (they rank first) and the first `cut.lines` others.
    fn shown(&self, cut: Cut) -> BTreeSet<usize> {
        let destructive = self.items.len() - self.plain_count;
        (0..self.items.len()).filter(|&i| self.rank[i] < destructive + cut.lines).collect()
    }

    fn diagnostics(&self, cut: Cut, s: &mut String) {
        let (errors, warnings): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
            self.plan.diagnostics.iter().partition(|d| d.is_error());
        if !errors.is_empty() {
            let _ = writeln!(s, "### ❌ Errors ({})\n", thousands(errors.len()));
            for d in &errors {
                let _ = writeln!(s, "{}", diagnostic_line(d, cut.compact));
            }
            s.push('\n');
        }
        if cut.warnings && !warnings.is_empty() {
            let _ = writeln!(s, "### Warnings ({})\n", thousands(warnings.len()));
            for d in &warnings {
                let _ = writeln!(s, "{}", diagnostic_line(d, false));
            }
            s.push('\n');
        }
    }

    fn changes(&self, cut: Cut, s: &mut String) {
        if self.items.is_empty() {
            return;
        }
        let shown = self.shown(cut);
        s.push_str("### Changes\n\n");
        for kind in Kind::ALL {
            let group: Vec<usize> =
                self.order.iter().copied().filter(|&i| self.items[i].change.kind == kind).collect();
            if group.is_empty() {
                continue;
            }
            let changes: Vec<&Change> = group.iter().map(|&i| self.items[i].change).collect();
            let destructive = group.iter().any(|&i| self.items[i].destructive);
            let (open, flag) = if destructive { (" open", "⚠ ") } else { ("", "") };
            let _ = writeln!(
                s,
                "<details{open}><summary>{flag}{} ({}: {})</summary>\n",
                kind.as_str(),
                thousands(group.len()),
                action_counts(&changes)
            );
            let mut hidden = vec![];
            for &i in &group {
                let item = &self.items[i];
                if shown.contains(&i) {
                    s.push_str(&item.line);
                    if self.rank[i] < cut.diffs {
                        s.push_str(&item.diff);
                    }
                } else {
                    hidden.push(item.change);
                }
            }
            if !hidden.is_empty() {
                let _ = writeln!(
                    s,
                    "- *… {} more not shown ({})*",
                    thousands(hidden.len()),
                    action_counts(&hidden)
                );
            }
            s.push_str("\n</details>\n\n");
        }
    }

    /// The effective-SCP preview and the unchanged list, when the plan has them.
    fn extras(&self, s: &mut String) {
        if let Some(list) = self.plan.effective_policies.as_ref().filter(|l| !l.is_empty()) {
            let _ = writeln!(
                s,
                "<details><summary>Effective SCPs, before -&gt; after ({})</summary>\n",
                count(list.len(), "account")
            );
            let lines: Vec<String> = super::effective_lines(list).iter().map(|l| l.text()).collect();
            fenced("text", &lines, "", s);
            s.push_str("\n</details>\n\n");
        }
        if let Some(list) = self.plan.effective_access.as_ref().filter(|l| !l.is_empty()) {
            let _ = writeln!(
                s,
                "<details><summary>Who gets in (Identity Center), after the plan ({})</summary>\n",
                count(list.len(), "account")
            );
            let lines: Vec<String> = super::access_lines(list).iter().map(|l| l.text()).collect();
            fenced("text", &lines, "", s);
            s.push_str("\n</details>\n\n");
        }
        if let Some(list) = self.plan.unchanged.as_ref().filter(|l| !l.is_empty()) {
            let _ = writeln!(s, "<details><summary>Unchanged ({})</summary>\n", thousands(list.len()));
            for a in list {
                let _ = writeln!(s, "- {}", code(a.as_str()));
            }
            s.push_str("\n</details>\n\n");
        }
    }

    /// Who saved the plan, who approved it, and which approvals count (`approval::check` with
    /// the workspace's pins), when the plan records any or the workspace requires some.
    fn approvals(&self, s: &mut String) {
        let p = self.plan;
        let (list, unreadable) = approval::approvals(p);
        let required = self.options.approvals.as_ref().map_or(0, |r| r.required);
        if p.author.is_none() && list.is_empty() && unreadable == 0 && required == 0 {
            return;
        }
        s.push_str("### Approvals\n\n");
        match &p.author {
            Some(a) => {
                let _ = writeln!(s, "Saved by {} (key {}).\n", code(&a.user), code(&key_prefix(&a.operator)));
            }
            None => s.push_str("The plan records no author.\n\n"),
        }
        for a in &list {
            let _ =
                writeln!(s, "- {} (key {}), {}", code(&a.user), code(&key_prefix(&a.operator)), code(&a.at));
        }
        if unreadable > 0 {
            let _ = writeln!(s, "- {unreadable} approval(s) not readable");
        }
        if !list.is_empty() || unreadable > 0 {
            s.push('\n');
        }
        let Some(rules) = &self.options.approvals else {
            s.push_str("*Not checked: the workspace (`catalog/vend.yaml`) could not be read here.*\n\n");
            return;
        };
        let verdict = approval::check(p, &rules.pinned);
        let _ = writeln!(
            s,
            "**{} approval(s) count; the workspace requires {}.**\n",
            verdict.counted.len(),
            rules.required
        );
        if let Some(problem) = &verdict.author_problem {
            let _ = writeln!(s, "- {}", inline(problem));
        }
        for why in &verdict.void {
            let _ = writeln!(s, "- {}", inline(why));
        }
        if verdict.author_problem.is_some() || !verdict.void.is_empty() {
            s.push('\n');
        }
    }
}

/// `- ⚠ `-` **delete** `address` (step 3): reason`, marked when excluded.
fn change_line(c: &Change, n: usize, excluded: bool) -> String {
    let flag = if c.action.is_destructive() { "⚠ " } else { "" };
    let mut head = format!("{} **{}** {}", code(symbol(c.action)), c.action, code(c.address.as_str()));
    if let (Action::Rename, Some(crate::plan::Payload::Ou(old))) = (c.action, &c.before) {
        let _ = write!(head, " (renamed from {})", code(&old.path));
    }
    if excluded {
        head = format!("~~{head}~~ *(excluded: not applied)*");
    }
    format!("- {flag}{head} (step {n}): {}\n", inline(&c.reason))
}

/// A change's field diffs and document/template line diffs as `diff` blocks inside its list
/// item (an update's field as its old and new line, so GitHub colours both).
fn diff_blocks(c: &Change) -> String {
    let mut s = String::new();
    let fields: Vec<String> = field_diffs(c)
        .into_iter()
        .flat_map(|f| match f {
            FieldDiff::Added { key, value } => vec![format!("+ {key} = {value}")],
            FieldDiff::Removed { key, value } => vec![format!("- {key} = {value}")],
            FieldDiff::Changed { key, before, after } => {
                vec![format!("- {key} = {before}"), format!("+ {key} = {after}")]
            }
        })
        .collect();
    if !fields.is_empty() {
        fenced("diff", &fields, "  ", &mut s);
    }
    for doc in doc_diffs(c) {
        let _ = writeln!(s, "\n  {}:", inline(&doc.label));
        let mut lines = vec![];
        for hunk in doc.hunks {
            lines.push(hunk.header);
            for (tag, text) in hunk.lines {
                let sign = match tag {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                lines.push(format!("{sign}{text}"));
            }
        }
        fenced("diff", &lines, "  ", &mut s);
    }
    s
}

/// `- **error** `code` `file:line:col` `address`: message` (compact: without the message).
fn diagnostic_line(d: &Diagnostic, compact: bool) -> String {
    let word = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut line = format!("- **{word}** {}", code(&d.code));
    if let Some(loc) = d.location() {
        let _ = write!(line, " {}", code(&loc));
    }
    if let Some(address) = &d.address {
        let _ = write!(line, " {}", code(address));
    }
    if !compact {
        let _ = write!(line, ": {}", inline(&d.message));
    }
    line
}

/// `2 create, 1 move`: the changes counted per action, in action order.
fn action_counts(changes: &[&Change]) -> String {
    Action::ALL
        .iter()
        .filter_map(|a| {
            let n = changes.iter().filter(|c| c.action == *a).count();
            (n > 0).then(|| format!("{} {a}", thousands(n)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_prefix(key: &str) -> String {
    format!("{}…", key.get(..12).unwrap_or(key))
}

/// `1 change`, `1,812 changes`.
fn count(n: usize, word: &str) -> String {
    format!("{} {word}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// `1812` -> `1,812`: how the comment writes counts.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// User text in running markdown: on one line, with every character that markdown, GitHub
/// (mentions, math) or HTML gives a meaning backslash-escaped (CommonMark lets any ASCII
/// punctuation be escaped, so the text reads as given).
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!' | '#' | '@' | '$' => {
                out.push('\\');
                out.push(ch);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// User text as a code span on one line, its fence longer than any run of backticks inside.
fn code(text: &str) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let fence = "`".repeat(longest_run(&text) + 1);
    let pad =
        if text.starts_with('`') || text.ends_with('`') || (text.starts_with(' ') && text.ends_with(' ')) {
            " "
        } else {
            ""
        };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced code block, each line prefixed with `indent`, its fence longer than any run of
/// backticks inside (at least three).
fn fenced(info: &str, lines: &[String], indent: &str, s: &mut String) {
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.chars().map(|c| if c.is_control() && c != '\t' { ' ' } else { c }).collect())
        .collect();
    let fence = "`".repeat(lines.iter().map(|l| longest_run(l)).max().unwrap_or(0).max(2) + 1);
    let _ = writeln!(s, "{indent}{fence}{info}");
    for l in &lines {
        let _ = writeln!(s, "{indent}{l}");
    }
    let _ = writeln!(s, "{indent}{fence}");
}

/// The longest run of backticks in `text`.
fn longest_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Address, Basis, Payload};
    use serde_json::json;

    fn change(address: Address, action: Action, reason: &str) -> Change {
        Change {
            kind: address.kind(),
            address,
            action,
            before: None,
            after: None,
            depends_on: vec![],
            reason: reason.into(),
        }
    }

    /// A policy update whose name, tag and document are hostile.
    fn hostile_policy() -> Change {
        let name = "evil|`x`</details>@team";
        let side = |content: &str, tag: &str| {
            json!({"id": "p-1", "name": name, "type": "SERVICE_CONTROL_POLICY", "aws_managed": false,
                   "content": content, "target_ids": [], "tags": {"vend:managed": "true", "note": tag}})
        };
        let read = |after: bool, v: serde_json::Value| {
            Payload::read(Kind::Policy, Action::Update, after, &v).unwrap()
        };
        let mut c =
            change(Address::policy(name), Action::Update, "document <b>changed</b> | see `x`\n</details>");
        c.before = Some(read(false, side("a\n````\n</details>\n", "old")));
        c.after = Some(read(true, side("a\n`````\n</details>\n<script>\n", "| ``` |")));
        c
    }

    fn plan(changes: Vec<Change>, diagnostics: Vec<Diagnostic>) -> Plan {
        Plan::new(Basis::default(), changes, diagnostics)
    }

    /// Lines outside fenced blocks (whose content is literal).
    fn outside_fences(md: &str) -> Vec<&str> {
        let mut fence: Option<String> = None;
        let mut out = vec![];
        for line in md.lines() {
            let t = line.trim_start();
            let run: String = t.chars().take_while(|c| *c == '`').collect();
            match &fence {
                Some(f) if t == f.as_str() => fence = None,
                Some(_) => {}
                None if run.len() >= 3 => fence = Some(run),
                None => out.push(line),
            }
        }
        assert!(fence.is_none(), "a fence is left open");
        out
    }

    #[test]
    fn a_hostile_name_cannot_break_the_comment() {
        let mut d = Diagnostic::error("custom-rule", "account 'x|y' <img src=x> @here `z` ### no");
        d.file = Some("catalog/accounts/a|b.yaml".into());
        d.address = Some("account:`a`".into());
        let p = plan(vec![hostile_policy(), change(Address::account("`tick"), Action::Delete, "r")], vec![d]);
        let md = plan_markdown(&p, &MarkdownOptions::new("vend show p.json"));
        let lines = outside_fences(&md);
        // The structure is vend's: sections open and close on their own lines, one per kind.
        let opened = lines.iter().filter(|l| l.starts_with("<details")).count();
        let closed = lines.iter().filter(|l| l.starts_with("</details>")).count();
        assert_eq!((opened, closed), (2, 2), "{md}");
        // No user text starts a line or leaves markup unescaped outside code.
        for l in lines.iter().filter(|l| !l.starts_with('<')) {
            let bare: String = strip_code_spans(l);
            for raw in ["<b>", "<img", "<script", "</details>", "@here", "@team", "|"] {
                let unescaped = bare.match_indices(raw).any(|(i, _)| !bare[..i].ends_with('\\'));
                assert!(!unescaped || (raw == "|" && l.starts_with('|')), "unescaped {raw:?} in {l:?}");
            }
            assert!(!l.starts_with("###") || l.starts_with("### "), "{l}");
        }
        assert!(md.contains("document \\<b\\>changed\\</b\\> \\| see \\`x\\` \\</details\\>"), "{md}");
        // Code spans and blocks are fenced longer than what they hold.
        assert!(md.contains("``policy:evil|`x`</details>@team``"), "{md}");
        assert!(md.contains("``account:`tick``"), "{md}");
        assert!(md.contains("`` account:`a` ``"), "{md}");
        assert!(md.contains("  ``````diff\n  @@ "), "{md}");
        assert!(md.contains("+ tags.note = \"| ``` |\""), "{md}");
        // The summary table keeps its two columns.
        for row in lines.iter().filter(|l| l.starts_with('|')) {
            assert_eq!(row.matches('|').count(), 3, "{row}");
        }
    }

    /// `l` without its code spans.
    fn strip_code_spans(l: &str) -> String {
        let mut out = String::new();
        let mut rest = l;
        while let Some(start) = rest.find('`') {
            out.push_str(&rest[..start]);
            let run = rest[start..].chars().take_while(|c| *c == '`').count();
            let fence = "`".repeat(run);
            let body = &rest[start + run..];
            match body.find(&fence) {
                Some(end) => rest = &body[end + run..],
                None => return out + &rest[start..],
            }
        }
        out + rest
    }

    fn many(n: usize) -> Plan {
        let mut changes: Vec<Change> = (0..n)
            .map(|i| change(Address::account(&format!("acct-{i:04}")), Action::Create, "new request"))
            .collect();
        changes.push(change(Address::ou("Old"), Action::Delete, "no longer declared"));
        changes.push(change(Address::account("gone"), Action::Close, "lifecycle: close"));
        let errors = (0..3).map(|i| {
            Diagnostic::error("required-tag-missing", format!("account acct-{i:04} lacks cost-center"))
        });
        let warnings = (0..50)
            .map(|i| Diagnostic::warning("custom-rule", format!("warning number {i} about something")));
        plan(changes, errors.chain(warnings).collect())
    }

    #[test]
    fn cut_to_the_budget_it_keeps_the_summary_errors_and_destructive_changes() {
        let p = many(500);
        let full =
            plan_markdown(&p, &MarkdownOptions { budget: usize::MAX, ..MarkdownOptions::new("vend plan") });
        assert!(!full.contains("Shortened"));
        for budget in [20_000, 5_000, 2_500] {
            let md = plan_markdown(&p, &MarkdownOptions { budget, ..MarkdownOptions::new("vend plan") });
            assert!(md.chars().count() <= budget, "{budget}: {}", md.chars().count());
            assert!(md.contains(&format!("Shortened to fit {} characters", thousands(budget))), "{md}");
            assert!(md.contains("| **total** | **502** |"));
            assert_eq!(md.matches("- **error** ").count(), 3, "{budget}");
            assert!(
                md.contains("- ⚠ `-` **delete** `ou:Old`") && md.contains("- ⚠ `!` **close** `account:gone`")
            );
            assert!(md.contains("Run `vend plan` for all of it."));
            assert_eq!(
                md,
                plan_markdown(&p, &MarkdownOptions { budget, ..MarkdownOptions::new("vend plan") })
            );
        }
        // Changes go before warnings; warnings before errors and destructive changes.
        let md = plan_markdown(&p, &MarkdownOptions { budget: 20_000, ..MarkdownOptions::new("vend plan") });
        assert!(
            md.contains("### Warnings (50)") && md.contains("more not shown (") && md.contains("create)")
        );
        let md = plan_markdown(&p, &MarkdownOptions { budget: 2_500, ..MarkdownOptions::new("vend plan") });
        assert!(!md.contains("### Warnings") && md.contains("50 warnings"), "{md}");
        assert_eq!((count(1, "change"), count(1812, "change")), ("1 change".into(), "1,812 changes".into()));
        // Below what errors and destructive changes need: compact lines, said so, still all there.
        let md = plan_markdown(&p, &MarkdownOptions { budget: 300, ..MarkdownOptions::new("vend plan") });
        assert!(md.contains("alone do not fit"), "{md}");
        assert_eq!(md.matches("- **error** `required-tag-missing`\n").count(), 3, "{md}");
        assert!(md.contains("- ⚠ `-` delete `ou:Old`") && md.contains("- ⚠ `!` close `account:gone`"));
    }

    #[test]
    fn excluded_changes_and_approvals_are_shown() {
        let mut p = many(2);
        p.excluded = Some(json!(["account:gone"]));
        let key = "ab".repeat(32);
        p.approvals =
            Some(json!([{"operator": key, "user": "bob", "aws": null, "at": "2026-12-06T10:00:00Z",
                                   "plan_id": p.plan_id, "sig": "00".repeat(64)}]));
        let unchecked = plan_markdown(&p, &MarkdownOptions::new("vend show p.json"));
        assert!(
            unchecked.contains("- ⚠ ~~`!` **close** `account:gone`~~ *(excluded: not applied)*"),
            "{unchecked}"
        );
        assert!(unchecked.contains("**1 change excluded**"));
        assert!(unchecked.contains("- `bob` (key `abababababab…`), `2026-12-06T10:00:00Z`"), "{unchecked}");
        assert!(unchecked.contains("*Not checked:"), "{unchecked}");
        // Pinned (without pins nothing would count, whatever the signature).
        let rules = ApprovalRules {
            pinned: crate::model::operators::Operators::from_keys(std::slice::from_ref(&key)),
            required: 1,
        };
        let checked =
            plan_markdown(&p, &MarkdownOptions { approvals: Some(rules), ..MarkdownOptions::new("x") });
        assert!(checked.contains("**0 approval(s) count; the workspace requires 1.**"), "{checked}");
        assert!(checked.contains("is void: its signature does not verify"), "{checked}");
        assert!(!checked.contains("Not checked"));
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(
            (thousands(0), thousands(999), thousands(1812), thousands(65_536)),
            ("0".into(), "999".into(), "1,812".into(), "65,536".into())
        );
        assert_eq!(largest(10, |k| k <= 7), 7);
        assert_eq!(largest(10, |_| true), 10);
        assert_eq!(largest(0, |_| true), 0);
    }
}
