//! Calls and time per interval for each statement, from the refreshes the tab has seen.
//!
//! The service answers with totals over a window and keeps no series of its own yet, so the
//! tab keeps the totals of each refresh and charts the difference from one refresh to the
//! next. A total that went down (statistics reset, a server restart, or activity leaving a
//! sliding window) starts the statement over from the new total instead of charting a
//! negative amount.

use std::collections::{HashMap, VecDeque};

use crate::api::QueryStat;

/// Intervals kept per statement: at one refresh every 10 s, the last 20 minutes.
pub const KEEP: usize = 120;

/// What one statement did between two refreshes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub calls: u64,
    /// Execution time in milliseconds.
    pub ms: f64,
}

#[derive(Debug, Default)]
pub struct History {
    /// Per statement id: total calls and total milliseconds at the last refresh.
    last: HashMap<String, (i64, f64)>,
    intervals: HashMap<String, VecDeque<Interval>>,
}

impl History {
    /// Forgets everything: another database or another window has other totals.
    pub fn clear(&mut self) {
        self.last.clear();
        self.intervals.clear();
    }

    /// Takes the totals of one refresh.
    pub fn record(&mut self, stats: &[QueryStat]) {
        for stat in stats {
            let total_ms = stat.avg_time * stat.total_calls as f64;
            if let Some(&(calls, ms)) = self.last.get(&stat.id) {
                let series = self.intervals.entry(stat.id.clone()).or_default();
                if stat.total_calls >= calls && total_ms >= ms {
                    series.push_back(Interval {
                        calls: (stat.total_calls - calls).unsigned_abs(),
                        ms: total_ms - ms,
                    });
                    if series.len() > KEEP {
                        series.pop_front();
                    }
                }
            }
            self.last
                .insert(stat.id.clone(), (stat.total_calls, total_ms));
        }
    }

    /// The intervals seen for statement `id`, oldest first.
    pub fn of(&self, id: &str) -> Vec<Interval> {
        self.intervals
            .get(id)
            .map(|series| series.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(id: &str, calls: i64, avg_ms: f64) -> QueryStat {
        serde_json::from_value(serde_json::json!({
            "id": id, "queryUrl": "", "normalizedQuery": "", "truncatedQuery": "",
            "statementTypes": [], "tableNames": [], "totalCalls": calls, "avgTime": avg_ms,
            "bufferHitRatio": null, "pctOfTotal": 0.0, "avgIoTime": 0.0
        }))
        .unwrap()
    }

    #[test]
    fn intervals_are_differences_and_a_reset_starts_over() {
        let mut history = History::default();
        history.record(&[stat("1", 10, 2.0)]);
        assert!(history.of("1").is_empty());
        history.record(&[stat("1", 15, 2.0)]);
        history.record(&[stat("1", 15, 2.0)]);
        // Reset: fewer calls than before; nothing charted, the next refresh counts from 3.
        history.record(&[stat("1", 3, 2.0)]);
        history.record(&[stat("1", 7, 2.0)]);
        let calls: Vec<u64> = history.of("1").iter().map(|i| i.calls).collect();
        assert_eq!(calls, [5, 0, 4]);
        assert_eq!(history.of("1")[0].ms, 10.0);
        history.clear();
        assert!(history.of("1").is_empty());
    }
}
