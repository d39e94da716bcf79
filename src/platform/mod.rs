//! OS side effects behind small types: the config file and its paths, the credential store
//! (OS keyring, memory, or an explicitly requested file), and the clipboard (native or OSC 52).
//! Each has a real implementation and one that tests can use without touching the machine.

pub mod clipboard;
pub mod config;
pub mod credentials;
pub mod paths;

pub use clipboard::{Clipboard, ClipboardError, CopyPath, auto_prefers_osc52, osc52};
pub use config::{ClipboardMode, Config, DEFAULT_PROFILE, Profile, ThemeName};
pub use credentials::{
    CredentialError, CredentialStore, FileStore, KeyringStore, MemoryStore, system_store,
};
pub use paths::state_dir;
