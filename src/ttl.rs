//! Time to live in Grafana's syntax: a whole number and one unit of `s m h d w M`
//! (`M` is 30 days), e.g. `12h`, `1M`. Shared by the server (validation, the maximum)
//! and the client (validation as the user types, the resulting expiry date).

use std::fmt;
use std::str::FromStr;

/// A parsed, positive duration in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ttl {
    seconds: i64,
}

/// Why a TTL string was refused; the message is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    #[error("TTL is empty: enter a number and a unit, e.g. 12h or 30d")]
    Empty,
    #[error("TTL `{0}` needs a unit: s, m, h, d, w or M (30 days), e.g. 12h")]
    MissingUnit(String),
    #[error("TTL `{0}` has an unknown unit: use s, m, h, d, w or M (30 days)")]
    UnknownUnit(String),
    #[error("TTL `{0}` must start with a whole number greater than zero")]
    BadNumber(String),
    #[error("TTL `{0}` is too long")]
    TooLong(String),
}

impl Ttl {
    /// A TTL of this many seconds (must be positive).
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        (seconds > 0).then_some(Ttl { seconds })
    }

    pub fn seconds(self) -> i64 {
        self.seconds
    }
}

fn unit_seconds(unit: char) -> Option<i64> {
    Some(match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' => 30 * 86_400,
        _ => return None,
    })
}

impl FromStr for Ttl {
    type Err = TtlError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        let Some(unit) = s.chars().last() else {
            return Err(TtlError::Empty);
        };
        if unit.is_ascii_digit() {
            return Err(TtlError::MissingUnit(s.to_owned()));
        }
        let per_unit = unit_seconds(unit).ok_or_else(|| TtlError::UnknownUnit(s.to_owned()))?;
        let digits = &s[..s.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TtlError::BadNumber(s.to_owned()));
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| TtlError::TooLong(s.to_owned()))?;
        if n == 0 {
            return Err(TtlError::BadNumber(s.to_owned()));
        }
        // Cap at about 1000 years so every expiry stays a valid timestamp.
        n.checked_mul(per_unit)
            .filter(|&secs| secs <= 1000 * 365 * 86_400)
            .map(|seconds| Ttl { seconds })
            .ok_or_else(|| TtlError::TooLong(s.to_owned()))
    }
}

/// A time window reaching back from now (`keydeck stats --since`, the Query Stats tab's
/// custom window) in the same syntax as a TTL, with a message that speaks of a window.
pub fn parse_window(text: &str) -> Result<Ttl, String> {
    text.parse::<Ttl>().map_err(|_| {
        format!(
            "“{}” is not a time window: write a whole number and a unit (s, m, h, d, w or M for 30 days), e.g. 90m, 1h, 24h, 7d or 1M",
            text.trim()
        )
    })
}

/// A grace period (`rotateApiKey(gracePeriod:)`, `keys rotate --grace`): a TTL, or zero in
/// any unit (`0s`, `0h`) for "at once". Answers its seconds.
pub fn parse_grace(text: &str) -> Result<i64, TtlError> {
    let s = text.trim();
    let mut chars = s.chars();
    let unit = chars.next_back();
    let digits = chars.as_str();
    let zero = !digits.is_empty()
        && digits.bytes().all(|b| b == b'0')
        && unit.and_then(unit_seconds).is_some();
    if zero {
        return Ok(0);
    }
    s.parse::<Ttl>().map(Ttl::seconds)
}

impl fmt::Display for Ttl {
    /// The largest unit that divides the duration exactly: `2592000` seconds shows as `30d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, per) in [('w', 604_800), ('d', 86_400), ('h', 3_600), ('m', 60)] {
            if self.seconds % per == 0 {
                return write!(f, "{}{unit}", self.seconds / per);
            }
        }
        write!(f, "{}s", self.seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("45s", 45),
            ("10m", 600),
            ("12h", 43_200),
            ("30d", 2_592_000),
            ("2w", 1_209_600),
            ("1M", 2_592_000),
        ];
        for (text, secs) in cases {
            assert_eq!(text.parse::<Ttl>().unwrap().seconds(), secs, "{text}");
        }
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        assert_eq!("".parse::<Ttl>(), Err(TtlError::Empty));
        assert_eq!("12".parse::<Ttl>(), Err(TtlError::MissingUnit("12".into())));
        assert_eq!("3y".parse::<Ttl>(), Err(TtlError::UnknownUnit("3y".into())));
        assert_eq!("0d".parse::<Ttl>(), Err(TtlError::BadNumber("0d".into())));
        assert_eq!("-1d".parse::<Ttl>(), Err(TtlError::BadNumber("-1d".into())));
        assert_eq!(
            "1.5h".parse::<Ttl>(),
            Err(TtlError::BadNumber("1.5h".into()))
        );
        assert_eq!("d".parse::<Ttl>(), Err(TtlError::BadNumber("d".into())));
        assert!(matches!(
            "99999999999999999999M".parse::<Ttl>(),
            Err(TtlError::TooLong(_))
        ));
        assert!(matches!("5ä".parse::<Ttl>(), Err(TtlError::UnknownUnit(_))));
    }

    /// The largest TTL the parser accepts (about 1000 years).
    const MAX_SECONDS: i64 = 1000 * 365 * 86_400;

    proptest::proptest! {
        #[test]
        fn display_parses_back_to_the_same_ttl(seconds in 1..=MAX_SECONDS) {
            let ttl = Ttl::from_seconds(seconds).unwrap();
            proptest::prop_assert_eq!(ttl.to_string().parse::<Ttl>(), Ok(ttl));
        }

        #[test]
        fn every_unit_parses_to_its_multiple(n in 1..=1000i64, unit in "[smhdwM]") {
            let c = unit.chars().next().unwrap();
            let ttl: Ttl = format!("{n}{unit}").parse().unwrap();
            proptest::prop_assert_eq!(ttl.seconds(), n * unit_seconds(c).unwrap());
        }

        /// Whatever is typed, the answer is a TTL or a reason, never a panic.
        #[test]
        fn parse_never_panics(s in "\\PC*", shaped in " ?-?[0-9]{0,25}[smhdwMy.ä]? ?") {
            for input in [&s, &shaped] {
                if let Ok(ttl) = input.parse::<Ttl>() {
                    proptest::prop_assert!(ttl.seconds() > 0 && ttl.seconds() <= MAX_SECONDS);
                }
            }
        }
    }

    #[test]
    fn a_grace_period_may_be_zero() {
        assert_eq!(parse_grace("0s"), Ok(0));
        assert_eq!(parse_grace(" 00h "), Ok(0));
        assert_eq!(parse_grace("2s"), Ok(2));
        assert_eq!(parse_grace("24h"), Ok(86_400));
        assert_eq!(parse_grace("0"), Err(TtlError::MissingUnit("0".into())));
        assert_eq!(parse_grace("0y"), Err(TtlError::UnknownUnit("0y".into())));
        assert_eq!(parse_grace(""), Err(TtlError::Empty));
        assert!(parse_grace("0ä").is_err());
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!("1M".parse::<Ttl>().unwrap().to_string(), "30d");
        assert_eq!("90m".parse::<Ttl>().unwrap().to_string(), "90m");
        assert_eq!("14d".parse::<Ttl>().unwrap().to_string(), "2w");
        assert_eq!("61s".parse::<Ttl>().unwrap().to_string(), "61s");
    }
}
