//! The overview's chart of gateway decisions over time, drawn on the server as SVG: stacked bars
//! (allowed below, denied above) in integer coordinates of a fixed view box, so the template only
//! places numbers and escaped text, and the page needs no script to show it.

use tokengate_proto::admin::AuditSummary;

/// The view box (the SVG scales to its container).
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 240;
/// Room for the count labels on the left and the time labels below.
const LEFT: u32 = 48;
const RIGHT: u32 = 8;
const TOP: u32 = 12;
const BOTTOM: u32 = 28;

/// One bucket's bar.
pub struct ChartBar {
    pub x: u32,
    pub width: u32,
    pub allowed_y: u32,
    pub allowed_height: u32,
    pub denied_y: u32,
    pub denied_height: u32,
    /// What a pointer or screen reader learns about the bar: `10:05 UTC: 3 allowed, 1 denied`.
    pub label: String,
}

/// A time under the axis.
pub struct TimeLabel {
    pub x: u32,
    pub text: String,
}

pub struct DecisionChart {
    pub width: u32,
    pub height: u32,
    pub bars: Vec<ChartBar>,
    pub time_labels: Vec<TimeLabel>,
    /// The top of the count axis (the tallest bar) and where it and the baseline are drawn.
    pub y_max: u64,
    pub top: u32,
    pub baseline: u32,
    pub left: u32,
    pub right: u32,
    /// The chart's accessible name: the window and its totals.
    pub title: String,
}

impl DecisionChart {
    pub fn of(summary: &AuditSummary) -> DecisionChart {
        let baseline = HEIGHT - BOTTOM;
        let plot_height = u64::from(baseline - TOP);
        let count = u32::try_from(summary.buckets.len()).unwrap_or(u32::MAX).max(1);
        let slot = (WIDTH - LEFT - RIGHT) / count;
        let gap = (slot / 5).max(1);
        let y_max = summary.buckets.iter().map(|b| b.allowed + b.denied).max().unwrap_or(0).max(1);
        // Heights scale to the tallest bar; a nonzero count always shows at least a pixel.
        let scaled = |n: u64| -> u32 {
            if n == 0 {
                return 0;
            }
            u32::try_from((n * plot_height).div_euclid(y_max)).unwrap_or(u32::MAX).max(1)
        };
        let mut bars = Vec::with_capacity(summary.buckets.len());
        for (i, bucket) in summary.buckets.iter().enumerate() {
            let x = LEFT + u32::try_from(i).unwrap_or(0) * slot + gap / 2;
            let allowed_height = scaled(bucket.allowed);
            let denied_height = scaled(bucket.denied);
            let allowed_y = baseline - allowed_height.min(baseline - TOP);
            let denied_y = allowed_y.saturating_sub(denied_height).max(TOP);
            bars.push(ChartBar {
                x,
                width: slot.saturating_sub(gap).max(1),
                allowed_y,
                allowed_height: baseline - allowed_y,
                denied_y,
                denied_height: allowed_y - denied_y,
                label: format!(
                    "{} UTC: {} allowed, {} denied{}",
                    clock(&bucket.start),
                    bucket.allowed,
                    bucket.denied,
                    if bucket.errors > 0 { format!(", {} errors", bucket.errors) } else { String::new() }
                ),
            });
        }
        DecisionChart {
            width: WIDTH,
            height: HEIGHT,
            time_labels: time_labels(summary, slot),
            bars,
            y_max,
            top: TOP,
            baseline,
            left: LEFT,
            right: WIDTH - RIGHT,
            title: format!(
                "Gateway decisions from {} to {} UTC: {} allowed, {} denied{}",
                clock(&summary.since),
                clock(&summary.until),
                summary.allowed,
                summary.denied,
                if summary.errors > 0 { format!(", {} errors", summary.errors) } else { String::new() }
            ),
        }
    }

    /// Where the count labels sit: just above their line.
    pub fn label_x(&self) -> u32 {
        self.left - 6
    }
}

/// About six times along the axis, at bucket starts.
fn time_labels(summary: &AuditSummary, slot: u32) -> Vec<TimeLabel> {
    let every = summary.buckets.len().div_euclid(6).max(1);
    summary
        .buckets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, b)| TimeLabel { x: LEFT + u32::try_from(i).unwrap_or(0) * slot, text: clock(&b.start) })
        .collect()
}

/// `HH:MM` of an RFC 3339 UTC time (the whole text when it is not one).
pub fn clock(iso: &str) -> String {
    iso.get(11..16).map_or_else(|| iso.to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_proto::admin::AuditSummaryBucket;

    fn summary(counts: &[(u64, u64)]) -> AuditSummary {
        AuditSummary {
            since: "2024-05-01T00:00:00Z".into(),
            until: "2024-05-01T00:15:00Z".into(),
            bucket_seconds: 300,
            buckets: counts
                .iter()
                .enumerate()
                .map(|(i, &(allowed, denied))| AuditSummaryBucket {
                    start: format!("2024-05-01T00:{:02}:00Z", i * 5),
                    start_ms: 0,
                    allowed,
                    denied,
                    errors: 0,
                })
                .collect(),
            allowed: counts.iter().map(|c| c.0).sum(),
            denied: counts.iter().map(|c| c.1).sum(),
            errors: 0,
            top_denial_reasons: vec![],
            top_clients: vec![],
            top_routes: vec![],
            max_records: 50_000,
            capped: false,
            counted_since: None,
        }
    }

    #[test]
    fn the_tallest_bar_fills_the_plot_and_bars_stack_on_the_baseline() {
        let chart = DecisionChart::of(&summary(&[(3, 1), (0, 0), (1, 0)]));
        assert_eq!(chart.y_max, 4);
        let tallest = &chart.bars[0];
        assert_eq!(tallest.allowed_y + tallest.allowed_height, chart.baseline);
        assert_eq!(tallest.denied_y + tallest.denied_height, tallest.allowed_y);
        assert_eq!(tallest.denied_y, chart.top, "the tallest bar reaches the top");
        assert_eq!((chart.bars[1].allowed_height, chart.bars[1].denied_height), (0, 0));
        assert!(chart.bars[2].allowed_height > 0);
        assert_eq!(tallest.label, "00:00 UTC: 3 allowed, 1 denied");
        assert_eq!(chart.title, "Gateway decisions from 00:00 to 00:15 UTC: 4 allowed, 1 denied");
        assert!(chart.bars.iter().all(|b| b.x + b.width <= chart.right));
    }

    #[test]
    fn an_empty_window_draws_no_bars_above_the_baseline() {
        let chart = DecisionChart::of(&summary(&[(0, 0), (0, 0)]));
        assert!(chart.bars.iter().all(|b| b.allowed_height == 0 && b.denied_height == 0));
        assert_eq!(chart.y_max, 1);
    }
}
