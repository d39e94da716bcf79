//! Times as people read them in a table: relative to now, in the largest sensible unit.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seven days: expiries closer than this are marked.
pub const SOON_SECS: i64 = 7 * 86_400;

pub fn parse(ts: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(ts, &Rfc3339).ok()
}

/// `in 3d`, `5m ago`, `in 58s`, `now`.
pub fn relative(ts: &str, now: OffsetDateTime) -> String {
    let Some(at) = parse(ts) else {
        // Whatever the service sent instead of a time: shown, with its hidden characters.
        return crate::text::visible(ts).into_owned();
    };
    let delta = (at - now).whole_seconds();
    let amount = human(delta.abs());
    if delta == 0 {
        "now".into()
    } else if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Seconds until `ts` (negative when past).
pub fn seconds_until(ts: &str, now: OffsetDateTime) -> Option<i64> {
    parse(ts).map(|at| (at - now).whole_seconds())
}

/// Rounded to the nearest unit, so a 30-day key read a second later still says 30d.
fn human(secs: i64) -> String {
    let round = |unit: i64| (secs + unit / 2) / unit;
    match secs {
        // Seconds count down where they matter: a key about to expire.
        s if s < 60 => format!("{s}s"),
        s if s < 3_570 => format!("{}m", round(60)),
        s if s < 86_400 - 1_800 => format!("{}h", round(3_600)),
        s if s < 60 * 86_400 => format!("{}d", round(86_400)),
        s if s < 730 * 86_400 => format!("{}mo", round(30 * 86_400)),
        _ => format!("{}y", round(365 * 86_400)),
    }
}

/// `2026-12-23 14:17 UTC`.
pub fn absolute(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn relative_times_read_naturally() {
        let now = datetime!(2026-11-23 12:00 UTC);
        assert_eq!(relative("2026-11-26T12:00:00Z", now), "in 3d");
        assert_eq!(relative("2026-11-23T11:55:00Z", now), "5m ago");
        assert_eq!(relative("2026-11-23T12:00:58Z", now), "in 58s");
        assert_eq!(relative("2026-11-23T11:59:58Z", now), "2s ago");
        assert_eq!(relative("2026-11-23T12:00:00Z", now), "now");
        assert_eq!(relative("garbage", now), "garbage");
        assert_eq!(relative("\u{202e}2026\x1b[2J", now), "\\u{202e}2026␛[2J");
        assert_eq!(absolute(now), "2026-11-23 12:00 UTC");
    }
}
