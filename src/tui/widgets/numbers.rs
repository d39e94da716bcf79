//! Counts as people read them: `3,129` where the exact figure matters (a title's count),
//! `3.1k` where a narrow column only needs its size.

/// `3129` as `3,129`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// At most five cells: `0`, `999`, `1.2k`, `12k`, `999k`, `1.2M`, `12M`, `1.2G`. Rounded
/// down, so that `999.9k` never reads as `1000k`, and a count never looks larger than it is.
pub fn compact(n: i64) -> String {
    if n < 0 {
        return format!("-{}", compact(n.saturating_neg()));
    }
    if n < 1000 {
        return n.to_string();
    }
    let mut unit_of = 1000_i64;
    for unit in ["k", "M", "G", "T", "P", "E"] {
        let whole = n / unit_of;
        if whole < 10 {
            let tenth = n % unit_of / (unit_of / 10);
            return format!("{whole}.{tenth}{unit}");
        }
        if whole < 1000 {
            return format!("{whole}{unit}");
        }
        unit_of = unit_of.saturating_mul(1000);
    }
    // i64 ends below 10E: the loop has answered.
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(3129), "3,129");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn compact_counts_fit_five_cells_and_never_round_up() {
        let cases = [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1000, "1.0k"),
            (1299, "1.2k"),
            (9999, "9.9k"),
            (12_345, "12k"),
            (999_999, "999k"),
            (1_000_000, "1.0M"),
            (45_600_000, "45M"),
            (2_500_000_000, "2.5G"),
            (i64::MAX, "9.2E"),
        ];
        for (n, want) in cases {
            assert_eq!(compact(n), want, "{n}");
            assert!(compact(n).chars().count() <= 5, "{n}");
        }
    }
}
