//! The selected statement's calls and time per interval of the window, as the service's
//! samples have them (`getQueryStatSeries`), fitted to the width of the charts.

use crate::api::QueryStatPoint;
use crate::ttl::Ttl;

/// Intervals asked for when the tab has not been drawn yet, and at most (the service's
/// bound): otherwise one per column of the charts.
pub const POINTS: u16 = 120;
pub const MAX_POINTS: u16 = 240;

/// One statement's series over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub database_id: String,
    pub query_id: String,
    pub since: Option<Ttl>,
    pub points: Vec<QueryStatPoint>,
}

/// What a chart shows in one column: `None` where no sampling round fell (no data, not idle).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub calls: Option<u64>,
    /// Milliseconds.
    pub ms: Option<f64>,
}

impl Series {
    /// The seconds from the oldest interval's start to the newest's end.
    pub fn covered(&self) -> i64 {
        match (self.points.first(), self.points.last()) {
            (Some(first), Some(last)) => last.end_ts - first.start_ts,
            _ => 0,
        }
    }

    /// The series in `width` columns, and how many seconds one interval spans. A column shows
    /// its intervals' mean (a chart narrower than the series puts two or more intervals in a
    /// column, a wider one repeats them), so that every column reads "per interval".
    pub fn bars(&self, width: usize) -> (Vec<Bar>, i64) {
        let n = self.points.len();
        if n == 0 || width == 0 {
            return (Vec::new(), 0);
        }
        let bars = (0..width)
            .map(|column| {
                let from = column * n / width;
                let to = ((column + 1) * n / width).max(from + 1).min(n);
                let sampled: Vec<&QueryStatPoint> = self.points[from..to]
                    .iter()
                    .filter(|p| p.rounds > 0)
                    .collect();
                if sampled.is_empty() {
                    return Bar {
                        calls: None,
                        ms: None,
                    };
                }
                let count = sampled.len() as f64;
                let calls: i64 = sampled.iter().map(|p| p.calls).sum();
                let ms: f64 = sampled.iter().map(|p| p.total_time).sum();
                Bar {
                    calls: Some((calls as f64 / count).round() as u64),
                    ms: Some(ms / count),
                }
            })
            .collect();
        let span = self.points[0].end_ts - self.points[0].start_ts;
        (bars, span)
    }
}

/// A span of seconds as a person says it: `45s`, `12m`, `3h`, `2d`, rounded.
pub fn span_label(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3_600 => format!("{}m", (s + 30) / 60),
        s if s < 2 * 86_400 => format!("{}h", (s + 1_800) / 3_600),
        s => format!("{}d", (s + 43_200) / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(start: i64, rounds: i64, calls: i64) -> QueryStatPoint {
        QueryStatPoint {
            start_ts: start,
            end_ts: start + 60,
            rounds,
            calls,
            total_time: 2.0 * calls as f64,
        }
    }

    #[test]
    fn narrow_charts_sum_neighbours_and_keep_no_data_apart() {
        let series = Series {
            database_id: "1".into(),
            query_id: "7".into(),
            since: None,
            points: vec![
                point(0, 0, 0),
                point(60, 0, 0),
                point(120, 1, 0),
                point(180, 0, 0),
                point(240, 1, 5),
                point(300, 2, 7),
            ],
        };
        let (bars, span) = series.bars(3);
        assert_eq!(span, 60);
        let calls: Vec<Option<u64>> = bars.iter().map(|b| b.calls).collect();
        // No round at all in the first pair: no data; a round with no calls: zero; the mean
        // of the sampled intervals otherwise.
        assert_eq!(calls, [None, Some(0), Some(6)]);
        assert_eq!(bars[2].ms, Some(12.0));
        // Wider than the series: every column is one interval, repeated.
        let (bars, _) = series.bars(12);
        let calls: Vec<Option<u64>> = bars.iter().map(|b| b.calls).collect();
        assert_eq!(calls.len(), 12);
        assert_eq!(&calls[8..], [Some(5), Some(5), Some(7), Some(7)]);
        assert!(series.bars(0).0.is_empty());
    }

    #[test]
    fn spans_are_said_in_the_largest_whole_unit() {
        assert_eq!(span_label(45), "45s");
        assert_eq!(span_label(720), "12m");
        assert_eq!(span_label(3 * 3_600), "3h");
        assert_eq!(span_label(7 * 86_400), "7d");
    }
}
