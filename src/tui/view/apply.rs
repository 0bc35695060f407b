//! The apply screen: the run's progress (counts, the steps in flight with their elapsed time)
//! and each step's line, or how to start an apply when none ran yet.

use super::{line, span, spinner};
use crate::render::Tone;
use crate::tui::apply;
use crate::tui::model::*;
use crate::tui::text::{mmss, short};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub(super) fn apply_screen(m: &Model, f: &mut Frame, area: Rect) {
    let Some(run) = &m.apply else {
        let lines = vec![
            Line::from(span(m, "No apply in this session yet.", Tone::Heading)),
            Line::from("Review the plan (3), exclude what should wait (space), then press a to apply."),
        ];
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    };
    let total = run.steps.len();
    let done = run.count(|s| matches!(s, StepState::Done));
    let failed = run.count(|s| matches!(s, StepState::Failed(_)));
    let skipped = run.count(|s| matches!(s, StepState::Skipped(_)));
    let finished = done + failed + skipped;
    let elapsed = run.finished_ms.unwrap_or(m.now_ms).saturating_sub(run.started_ms);
    let width = 20usize;
    let filled =
        if run.refused.is_some() { 0 } else { (finished * width).checked_div(total).unwrap_or(width) };
    let bar = format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled));
    let state = if run.running() {
        if run.stopping { format!("stopping {}", spinner(m)) } else { format!("running {}", spinner(m)) }
    } else if run.refused.is_some() {
        "REFUSED: nothing was sent".to_string()
    } else if run.error.is_some()
        || failed > 0
        || (skipped > 0 && run.report.as_ref().is_some_and(|r| !r.is_complete()))
    {
        "finished with problems".to_string()
    } else {
        "complete".to_string()
    };
    let head = vec![
        Line::from(vec![
            span(m, "Apply ", Tone::Heading),
            span(m, short(&run.plan_id), Tone::Heading),
            span(
                m,
                format!("  {state}"),
                if run.running() {
                    Tone::Plain
                } else if state == "complete" {
                    Tone::Create
                } else {
                    Tone::Error
                },
            ),
            span(
                m,
                if run.excluded > 0 { format!("  ({} excluded)", run.excluded) } else { String::new() },
                Tone::Warning,
            ),
        ]),
        Line::from(vec![
            span(m, bar, Tone::Create),
            span(
                m,
                format!(
                    " {finished}/{total}  done {done}  failed {failed}  not applied {skipped}  elapsed {}",
                    mmss(elapsed)
                ),
                Tone::Plain,
            ),
        ]),
    ];
    let foot_height = if run.refused.is_some() { 6 } else { 3 };
    // The steps in flight, each with its elapsed time, while the apply runs.
    let in_flight = run.progress.in_flight().len();
    let room = (usize::from(area.height).saturating_sub(8) / 3).max(2);
    let flight_height = if run.running() && in_flight > 0 { in_flight.min(room) as u16 + 1 } else { 0 };
    let [h, flight, list, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(flight_height),
        Constraint::Min(0),
        Constraint::Length(foot_height),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(head), h);
    if flight_height > 0 {
        let block = Block::default().borders(Borders::TOP).title(format!(" in flight ({in_flight}) "));
        let lines: Vec<Line> = run.progress.lines(m.now_ms, room).iter().map(|l| line(m, l)).collect();
        f.render_widget(Paragraph::new(lines).block(block), flight);
    }
    let block = Block::default().borders(Borders::TOP).title(" steps ");
    let inner = block.inner(list);
    f.render_widget(block, list);
    let height = inner.height as usize;
    let start = run.scroll.min(total.saturating_sub(height));
    let lines: Vec<Line> = run
        .steps
        .iter()
        .skip(start)
        .take(height)
        .map(|s| line(m, &apply::step_line(s, spinner(m))))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    let fl: Vec<Line> = apply::footer(run, done, elapsed).iter().map(|l| line(m, l)).collect();
    f.render_widget(Paragraph::new(fl).wrap(Wrap { trim: false }), foot);
}
