//! Delivery metrics (`metrics::Metrics`) as lines for `vend metrics`: lead times per vended
//! account and pipeline, apply frequency, change failure rate and time to restore. Pure.

use super::{Line, Tone};
use crate::metrics::Metrics;

/// `3d 4h 5m` (seconds dropped once hours appear).
pub fn duration(seconds: i64) -> String {
    let (d, h, m, s) = (seconds / 86400, seconds % 86400 / 3600, seconds % 3600 / 60, seconds % 60);
    match (d, h) {
        (0, 0) => format!("{m}m {s}s"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

pub fn metrics_text(m: &Metrics) -> Vec<Line> {
    let mut out = vec![Line::new().push("Lead time (request to ready)", Tone::Heading)];
    if m.lead_times.is_empty() {
        out.push(Line::new().push(
            "    no vended account or pipeline has a request time and a ready record yet",
            Tone::Muted,
        ));
    }
    for l in &m.lead_times {
        out.push(Line::plain(format!(
            "    {:<50} {:>14}   {} -> {}",
            l.address,
            duration(l.seconds),
            l.requested_at,
            l.ready_at
        )));
    }
    if let Some(med) = m.lead_time_median_seconds {
        out.push(Line::plain(format!("    median: {}", duration(med))));
    }
    for a in &m.not_ready {
        out.push(Line::new().push(format!("    {a}: created, not ready yet"), Tone::Warning));
    }
    out.push(Line::new());
    out.push(Line::new().push("Applies", Tone::Heading));
    let pct = |x: Option<f64>| x.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "n/a".into());
    out.push(Line::plain(format!(
        "    {} applies over {:.1} week(s): {} per week",
        m.applies,
        m.weeks,
        m.applies_per_week.map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into())
    )));
    out.push(Line::plain(format!(
        "    change failure rate: {} ({} of {} failed)",
        pct(m.change_failure_rate),
        m.failed_applies,
        m.applies
    )));
    match m.mean_time_to_restore_seconds {
        Some(s) => out.push(Line::plain(format!(
            "    time to restore: {} (mean of {})",
            duration(s),
            m.restores.len()
        ))),
        None => out
            .push(Line::plain("    time to restore: n/a (no failed apply was followed by a successful one)")),
    }
    out
}
