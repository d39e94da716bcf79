//! The real binary in a pseudo-terminal: keys typed in, the screen read back through a
//! terminal emulator (vt100), and the raw bytes for escape sequences such as OSC 52.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use super::isolate;

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

/// Everything the child printed, and the screen as a terminal shows it.
pub struct Screen {
    raw: Arc<Mutex<Vec<u8>>>,
    /// Rows and columns of the terminal.
    size: (u16, u16),
}

impl Screen {
    pub fn contents(&self) -> String {
        let mut parser = vt100::Parser::new(self.size.0, self.size.1, 0);
        parser.process(&self.raw.lock().unwrap());
        parser.screen().contents()
    }

    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.contents();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "`{needle}` never appeared; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the raw output (escape sequences included) contains `needle`: bytes may
    /// still be in flight from the terminal after the child has exited.
    pub fn wait_for_raw(&self, needle: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.raw_text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "never seen in the raw output: {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).into_owned()
    }
}

/// The TUI running in a pseudo-terminal against `service`.
pub struct Tui {
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    pub screen: Screen,
    pub keys: Box<dyn Write + Send>,
    _home: tempfile::TempDir,
    // Keeps the terminal open while the child runs.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Tui {
    pub fn start(endpoint: &str, token: &str) -> Tui {
        Tui::spawn(
            &[],
            &[("KEYDECK_ENDPOINT", endpoint), ("KEYDECK_TOKEN", token)],
            (35, 120),
        )
    }

    /// `keydeck ARGS` in a terminal of `size` (rows, columns), with `env` set.
    pub fn spawn(args: &[&str], env: &[(&str, &str)], size: (u16, u16)) -> Tui {
        let home = tempfile::tempdir().unwrap();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: size.0,
                cols: size.1,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.env_clear();
        isolate(home.path(), |k, v| cmd.env(k, v));
        for (name, value) in env {
            cmd.env(name, value);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let sink = raw.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let keys = pty.master.take_writer().unwrap();
        Tui {
            child,
            screen: Screen { raw, size },
            keys,
            _home: home,
            _master: pty.master,
        }
    }

    /// Waits for the child to exit (30 s at most) and for `last` to arrive: its exit code and
    /// everything it printed, as raw text.
    pub fn finish(mut self, last: &str) -> (u32, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the command never exited");
            std::thread::sleep(Duration::from_millis(20));
        };
        self.screen.wait_for_raw(last, last);
        (status.exit_code(), self.screen.raw_text())
    }

    pub fn send(&mut self, text: &str) {
        self.keys.write_all(text.as_bytes()).unwrap();
        self.keys.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
}
