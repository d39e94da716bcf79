//! The PostgreSQL the PostgreSQL-backed tests run against, from `KEYDECK_TEST_PG_URL`
//! (`eval "$(.ci/pg-cluster start)"` prints one).

use std::io::Write as _;

/// `KEYDECK_TEST_PG_URL`; without it `None` and a loud note that `what` is skipped, or a
/// failure under `KEYDECK_REQUIRE_PG=1` (CI, where the cluster must be there).
pub fn pg_url(what: &str) -> Option<String> {
    match std::env::var("KEYDECK_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("KEYDECK_REQUIRE_PG").as_deref() == Ok("1") => {
            panic!("KEYDECK_REQUIRE_PG=1 but KEYDECK_TEST_PG_URL is not set")
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {what}: set KEYDECK_TEST_PG_URL=postgres://… \
                 (e.g. `eval \"$(.ci/pg-cluster start)\"`) to run this test"
            );
            None
        }
    }
}
