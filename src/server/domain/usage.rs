//! A key's usage over time (`ApiKey.usage`): the window asked for, cut into equal intervals of
//! whole minutes, and the stored counts (`store::usage`) summed into them.
//!
//! As `getQueryStatSeries`: `startTs`/`endTs` are Unix seconds (by default the last 24 hours),
//! `points` (60 by default, at most [`SERIES_POINTS`]'s 240) intervals are asked for and the
//! answer may hold fewer, wider ones, never more. No interval is shorter than a minute, the
//! resolution of the counts. The newest interval ends at the end of the minute holding `endTs`
//! (so the current minute counts), the oldest starts no earlier than `startTs`. Counts kept
//! per hour (older than a day) fall in the interval holding their hour's start.

use async_graphql::SimpleObject;

use crate::server::model::Timestamp;
use crate::server::stats::SERIES_POINTS;
use crate::server::store::{HOUR, MINUTE, MINUTE_ROWS_KEPT_S, UsageRead, UsageRow};

/// The default window: the last 24 hours.
const DEFAULT_WINDOW_S: i64 = 24 * 3600;

/// A key's requests in one interval.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(serial)]
pub struct KeyUsagePoint {
    /// The interval's start, Unix seconds.
    pub start_ts: i64,
    /// The interval's end (exclusive), Unix seconds.
    pub end_ts: i64,
    /// Requests the key authenticated in the interval (refused ones included).
    pub requests: i64,
    /// Of those, the ones refused to it (`FORBIDDEN` and the like).
    pub refused: i64,
}

/// What is wrong with the window asked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageWindowError {
    #[error("endTs ({end}) is before startTs ({start})")]
    EndsBeforeStart { start: i64, end: i64 },
    #[error("points must be 1 to {max}, not {0}", max = SERIES_POINTS.1)]
    BadPoints(i32),
}

/// The intervals of one `usage` series: `count` intervals of `width` seconds from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsageWindow {
    pub first: i64,
    pub width: i64,
    pub count: i64,
}

impl UsageWindow {
    /// The intervals for `startTs`, `endTs` and `points` as the client gave them, at `now`.
    pub fn new(
        start_ts: Option<i32>,
        end_ts: Option<i32>,
        points: Option<i32>,
        now: Timestamp,
    ) -> Result<Self, UsageWindowError> {
        let points = points.unwrap_or(SERIES_POINTS.0);
        if !(1..=SERIES_POINTS.1).contains(&points) {
            return Err(UsageWindowError::BadPoints(points));
        }
        let end = end_ts.map_or(now.0, i64::from);
        let start = start_ts.map_or(end - DEFAULT_WINDOW_S, i64::from);
        if end < start {
            return Err(UsageWindowError::EndsBeforeStart { start, end });
        }
        // The end of the minute holding `end`: the current minute counts.
        let last = (end.div_euclid(MINUTE) + 1) * MINUTE;
        let n = i64::from(points);
        let span = (end - start).max(MINUTE);
        let width = (span + n - 1) / n;
        let width = ((width + MINUTE - 1) / MINUTE).max(1) * MINUTE;
        let count = ((last - start) / width).clamp(1, n);
        Ok(UsageWindow {
            first: last - count * width,
            width,
            count,
        })
    }

    /// Where the window's intervals end (exclusive).
    pub fn end(&self) -> i64 {
        self.first + self.count * self.width
    }

    /// The interval holding the second `at` (at or after `first`).
    fn interval(&self, at: i64) -> i64 {
        (at - self.first).div_euclid(self.width)
    }

    /// Where this window's counts are read, when every minute from `minutes_from` on is still
    /// kept ([`minutes_kept_from`]): an hour that lies whole inside one interval from its hour
    /// row, one row rather than sixty; the hours split between intervals (or by the window's
    /// edges) from their minute rows; and an older hour, whose minutes are gone, from its
    /// hour row, in the interval holding its start. An older hour begun before the window is
    /// left out: the oldest interval starts no earlier than `startTs`.
    pub fn read(&self, minutes_from: i64) -> UsageRead {
        let end = self.end();
        let mut read = UsageRead {
            first: self.first,
            width: self.width,
            ..UsageRead::default()
        };
        let mut hour = self.first.div_euclid(HOUR) * HOUR;
        while hour < end {
            let next = hour + HOUR;
            let whole =
                hour >= self.first && next <= end && self.interval(hour) == self.interval(next - 1);
            if whole || hour < minutes_from {
                if hour >= self.first {
                    extend(&mut read.hours, hour, next);
                }
            } else {
                extend(&mut read.minutes, hour.max(self.first), next.min(end));
            }
            hour = next;
        }
        read
    }

    /// The intervals with `rows` (of one key) summed into them, oldest first.
    pub fn series<'a>(&self, rows: impl IntoIterator<Item = &'a UsageRow>) -> Vec<KeyUsagePoint> {
        let mut out: Vec<KeyUsagePoint> = (0..self.count)
            .map(|i| KeyUsagePoint {
                start_ts: self.first + i * self.width,
                end_ts: self.first + (i + 1) * self.width,
                requests: 0,
                refused: 0,
            })
            .collect();
        for row in rows {
            let i = (row.bucket - self.first).div_euclid(self.width);
            let Some(point) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) else {
                continue;
            };
            point.requests += row.requests;
            point.refused += row.refused;
        }
        out
    }
}

/// The first hour whose minute rows are all still stored at `now`: the hourly upkeep (at
/// some time up to `now`) deletes the minutes before the hour holding "a day before", so
/// every minute from that hour on is there.
pub fn minutes_kept_from(now: Timestamp) -> i64 {
    (now.0 - MINUTE_ROWS_KEPT_S).div_euclid(HOUR) * HOUR
}

/// Adds `[from, to)` to `ranges`, joined to the last one when they meet.
fn extend(ranges: &mut Vec<(i64, i64)>, from: i64, to: i64) {
    match ranges.last_mut() {
        Some(last) if last.1 == from => last.1 = to,
        _ => ranges.push((from, to)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bucket: i64, requests: i64, refused: i64) -> UsageRow {
        UsageRow {
            key_id: "k".into(),
            bucket,
            requests,
            refused,
        }
    }

    #[test]
    fn the_default_window_is_the_last_day_in_sixty_points() {
        let now = Timestamp(1_700_000_030);
        let w = UsageWindow::new(None, None, None, now).unwrap();
        assert_eq!(w.count, 60);
        assert_eq!(w.width % MINUTE, 0);
        assert!(w.end() > now.0 && w.end() - now.0 <= MINUTE);
        assert!(w.first >= now.0 - DEFAULT_WINDOW_S);
    }

    #[test]
    fn intervals_are_never_shorter_than_a_minute() {
        let now = Timestamp(1_700_000_000);
        let w = UsageWindow::new(Some(1_700_000_000 - 300), None, Some(240), now).unwrap();
        assert_eq!(w.width, MINUTE);
        assert!(w.count <= 6);
    }

    #[test]
    fn rows_fall_in_their_interval_and_outside_ones_are_left_out() {
        let w = UsageWindow {
            first: 600,
            width: 120,
            count: 3,
        };
        let rows = [
            row(540, 9, 9),
            row(600, 1, 0),
            row(660, 2, 1),
            row(840, 4, 2),
            row(960, 9, 9),
        ];
        let points = w.series(&rows);
        let counts: Vec<(i64, i64)> = points.iter().map(|p| (p.requests, p.refused)).collect();
        assert_eq!(counts, [(3, 1), (0, 0), (4, 2)]);
        assert_eq!((points[0].start_ts, points[2].end_ts), (600, 960));
    }

    /// The window the Keys tab's "Req 24h" column asks for: the 24 clock hours up to the end
    /// of the current one, in one interval.
    #[test]
    fn a_day_of_whole_hours_in_one_interval_is_read_from_24_hour_rows() {
        let now = Timestamp(1_700_000_000);
        let hour = now.0.div_euclid(HOUR) * HOUR;
        let w = UsageWindow::new(
            i32::try_from(hour - 23 * HOUR).ok(),
            i32::try_from(hour + HOUR - 1).ok(),
            Some(1),
            now,
        )
        .unwrap();
        let read = w.read(minutes_kept_from(now));
        assert_eq!(read.hours, [(hour - 23 * HOUR, hour + HOUR)]);
        assert!(read.minutes.is_empty(), "{read:?}");
    }

    #[test]
    fn hours_split_by_the_edges_or_by_intervals_are_read_from_minutes() {
        let now = Timestamp(1_700_000_000);
        // The default window: the last 24 hours to the end of the current minute.
        let w = UsageWindow::new(None, None, Some(1), now).unwrap();
        let read = w.read(minutes_kept_from(now));
        let (first, end) = (w.first, w.end());
        let first_hour_end = (first.div_euclid(HOUR) + 1) * HOUR;
        let last_hour = end.div_euclid(HOUR) * HOUR;
        assert_eq!(read.minutes, [(first, first_hour_end), (last_hour, end)]);
        assert_eq!(read.hours, [(first_hour_end, last_hour)]);
        // Half-hour intervals split every hour: minutes throughout.
        let w = UsageWindow::new(None, None, Some(48), now).unwrap();
        let read = w.read(minutes_kept_from(now));
        assert_eq!(read.minutes, [(w.first, w.end())]);
        assert!(read.hours.is_empty(), "{read:?}");
    }

    #[test]
    fn hours_older_than_the_minutes_kept_are_read_from_hour_rows() {
        let now = Timestamp(1_700_000_000);
        // A week in 48 intervals of 3.5 hours: the hours split between intervals are read
        // from minutes only within the last day; before it, from their hour rows.
        let w = UsageWindow::new(Some(1_700_000_000 - 7 * 86_400), None, Some(48), now).unwrap();
        let kept = minutes_kept_from(now);
        let read = w.read(kept);
        assert!(
            read.minutes.iter().all(|&(from, _)| from >= kept),
            "{read:?}"
        );
        assert!(!read.minutes.is_empty());
        // Never both sources for one second, and every hour of the window read once.
        let mut covered: Vec<(i64, i64)> =
            read.minutes.iter().chain(&read.hours).copied().collect();
        covered.sort_unstable();
        for pair in covered.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{covered:?}");
        }
        let first_whole_hour = (w.first + HOUR - 1).div_euclid(HOUR) * HOUR;
        assert_eq!(covered.first().map(|r| r.0), Some(first_whole_hour));
        assert_eq!(covered.last().map(|r| r.1), Some(w.end()));
    }

    #[test]
    fn bad_windows_are_refused() {
        let now = Timestamp(1_700_000_000);
        assert!(UsageWindow::new(Some(10), Some(5), None, now).is_err());
        assert!(UsageWindow::new(None, None, Some(0), now).is_err());
        assert!(UsageWindow::new(None, None, Some(241), now).is_err());
    }
}
