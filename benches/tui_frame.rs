//! Keys tab frame time with 100 and with 100,000 keys loaded. Rendering builds only the
//! visible rows, so the two should cost about the same: the ratio is the figure.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use criterion::{Criterion, criterion_group, criterion_main};
use keydeck::tui::app::App;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

mod common;

fn app_with(n: usize) -> App {
    let mut app = common::empty_app();
    common::load_keys(&mut app, n).expect("fixtures deserialize");
    app
}

fn frame(c: &mut Criterion) {
    let area = Rect::new(0, 0, 120, 35);
    let mut group = c.benchmark_group("keys_tab_frame_120x35");
    for n in [100usize, 100_000] {
        let app = app_with(n);
        let mut buf = Buffer::empty(area);
        group.bench_function(format!("{n}_keys"), |b| {
            b.iter(|| {
                buf.reset();
                app.render(area, &mut buf);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
