//! The PostgreSQL the query-statistics tests run against, from `KEYDECK_TEST_PG_URL`
//! (`eval "$(.ci/pg-cluster start)"` prints one); without it those tests skip, loudly, unless
//! `KEYDECK_REQUIRE_PG=1` turns the skip into a failure.

use std::io::Write as _;

/// The PostgreSQL to test against, or `None` (after saying so) when none is configured.
pub fn pg_url() -> Option<String> {
    match std::env::var("KEYDECK_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("KEYDECK_REQUIRE_PG").as_deref() == Ok("1") => {
            panic!("KEYDECK_REQUIRE_PG=1 but KEYDECK_TEST_PG_URL is not set")
        }
        _ => {
            // Straight to stderr: `eprintln!` would be swallowed by the test harness's capture.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: query statistics against PostgreSQL: set KEYDECK_TEST_PG_URL=postgres://… \
                 (e.g. `eval \"$(.ci/pg-cluster start)\"`) to run this test"
            );
            None
        }
    }
}
