//! The committed SDL is what the service speaks.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

#[test]
fn committed_sdl_matches_the_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert!(
        committed == keydeck::server::sdl(),
        "graphql/schema.graphql is out of date with the schema in src/server; \
         regenerate it with `cargo run -- schema > graphql/schema.graphql`"
    );
}
