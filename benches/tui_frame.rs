//! Keys tab frame time with 100 and with 100,000 keys loaded. Rendering builds only the
//! visible rows, so the two should cost about the same: the ratio is the figure.

use criterion::{Criterion, criterion_group, criterion_main};
use keydeck::api::Page;
use keydeck::tui::action::Action;
use keydeck::tui::app::{App, Session};
use keydeck::tui::fixtures::sample_keys;
use keydeck::tui::keymap::Keymap;
use keydeck::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn app_with(n: usize) -> App {
    let session = Session {
        profile: "bench".into(),
        endpoint: "http://127.0.0.1:7100/graphql".into(),
        credential_store: "memory".into(),
    };
    let mut app = App::new(
        session,
        Keymap::defaults(),
        Theme::mono(),
        time::OffsetDateTime::now_utc(),
    );
    let items = sample_keys(n).expect("fixtures deserialize");
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(Page {
            items,
            has_next: false,
            end_cursor: None,
            total: n as i64,
        }),
    });
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
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
