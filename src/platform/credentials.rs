//! Where the API token lives between runs.
//!
//! The token is a bearer credential for an admin API, so it goes into the operating system's
//! secret store, never into the config file: macOS Keychain, Windows Credential Manager, and on
//! Linux the kernel keyring (keyutils), which works on headless hosts without D-Bus.
//!
//! Two traps shaped this module:
//!
//! * keyring 3 without a platform store compiled in (or on an unknown OS) silently hands out an
//!   in-memory mock, so `keydeck login` would "succeed" and forget the token on exit. We never
//!   call `keyring::Entry::new`; every entry is built from a builder chosen here explicitly, and
//!   [`system_store`] probes it (set, get, delete) before anyone relies on it. If nothing works it
//!   fails closed with [`CredentialError::Unavailable`], naming the alternatives.
//! * keyring 3.6's own `linux-native` store links each key into the persistent keyring. On hosts
//!   that refuse that link (these machines do), it reports `NoEntry` from `set_password` even
//!   though the key was added. [`KernelKeyringCredential`] keeps the key in the session keyring
//!   (falling back to the user keyring) and never touches the persistent one.
//!
//! Every call into a real store runs on a helper thread with a deadline ([`STORE_TIMEOUT`]): a
//! Secret Service or Keychain prompt that never answers must not freeze the TUI.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use keyring::{CredentialBuilder, Entry};

/// The keyring service name; the keyring user is the profile name.
pub const SERVICE: &str = "keydeck";

/// How long one keyring call may take before we give up on it.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the user can do instead when no OS store works; part of every `Unavailable` message.
const ALTERNATIVES: &str = "set KEYDECK_TOKEN, pass --token-file PATH, or pass \
     --insecure-storage to keep the token in a 0600 file";

/// Why a credential operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// No working secret store on this machine; the message names the alternatives.
    #[error("no working credential store: {0}; {ALTERNATIVES}")]
    Unavailable(String),
    /// The store did not answer in time (a locked keychain waiting for a prompt, a hung D-Bus
    /// service). Names the operation.
    #[error(
        "the credential store did not answer within {secs} s ({0}); {ALTERNATIVES}",
        secs = STORE_TIMEOUT.as_secs()
    )]
    TimedOut(&'static str),
    /// The store answered with an error.
    #[error("credential store error: {0}")]
    Failed(String),
}

/// A place to keep one token per profile. Implementations: the OS store from
/// [`system_store`], [`MemoryStore`] for `keydeck demo` and tests, [`FileStore`] on request.
pub trait CredentialStore: Send + Sync {
    /// A short human name shown in the status bar, e.g. "kernel keyring".
    fn kind(&self) -> &'static str;
    /// The token stored for `profile`, or `None` if there is none.
    fn get(&self, profile: &str) -> Result<Option<String>, CredentialError>;
    /// Stores (or replaces) the token for `profile`.
    fn set(&self, profile: &str, token: &str) -> Result<(), CredentialError>;
    /// Removes the token for `profile`; `false` if there was none.
    fn delete(&self, profile: &str) -> Result<bool, CredentialError>;
}

// ---------------------------------------------------------------------------------------------
// Memory

/// Tokens in process memory only; gone when the process exits. Used by `keydeck demo` (whose
/// service itself is temporary) and by tests.
#[derive(Default)]
pub struct MemoryStore {
    tokens: Mutex<HashMap<String, String>>,
}

/// Shows how many tokens are held, never the tokens.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("profiles", &self.lock().len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding this lock cannot leave the map half-updated; keep going.
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CredentialStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }
    fn get(&self, profile: &str) -> Result<Option<String>, CredentialError> {
        Ok(self.lock().get(profile).cloned())
    }
    fn set(&self, profile: &str, token: &str) -> Result<(), CredentialError> {
        self.lock().insert(profile.to_owned(), token.to_owned());
        Ok(())
    }
    fn delete(&self, profile: &str) -> Result<bool, CredentialError> {
        Ok(self.lock().remove(profile).is_some())
    }
}

// ---------------------------------------------------------------------------------------------
// File

/// Tokens in a plain TOML file (`profile = "token"`), mode 0600. Only used when the user asks
/// for it with `--insecure-storage` or `--token-file`: anyone who can read the file (backups,
/// root, a stolen disk) has the token. Reading refuses a file that other users can read, like
/// ssh does for private keys.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    /// Serializes read-modify-write cycles within this process.
    lock: Mutex<()>,
}

impl FileStore {
    /// A store backed by `path`; the file is created on the first `set`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, what: &str, err: impl std::fmt::Display) -> CredentialError {
        CredentialError::Failed(format!("{what} {}: {err}", self.path.display()))
    }

    fn read(&self) -> Result<BTreeMap<String, String>, CredentialError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(self.failed("cannot read", e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&self.path)
                .map_err(|e| self.failed("cannot stat", e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(CredentialError::Failed(format!(
                    "{} is accessible by other users (mode {:o}); run `chmod 600 {}`",
                    self.path.display(),
                    mode & 0o777,
                    self.path.display()
                )));
            }
        }
        toml::from_str(&text).map_err(|e| self.failed("cannot parse", e.message().to_owned()))
    }

    fn write(&self, tokens: &BTreeMap<String, String>) -> Result<(), CredentialError> {
        use std::io::Write;
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        super::paths::create_private_dir(&dir).map_err(|e| self.failed("cannot write", e))?;
        let text = toml::to_string(tokens).map_err(|e| self.failed("cannot serialize", e))?;
        // tempfile creates the file with mode 0600 on Unix before any byte is written, and the
        // rename keeps that mode, so the token is never briefly world-readable.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)
            .map_err(|e| self.failed("cannot create a temporary file for", e))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| self.failed("cannot write", e))?;
        tmp.persist(&self.path)
            .map_err(|e| self.failed("cannot replace", e.error))?;
        Ok(())
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CredentialStore for FileStore {
    fn kind(&self) -> &'static str {
        "file (insecure)"
    }
    fn get(&self, profile: &str) -> Result<Option<String>, CredentialError> {
        let _guard = self.guard();
        Ok(self.read()?.remove(profile))
    }
    fn set(&self, profile: &str, token: &str) -> Result<(), CredentialError> {
        let _guard = self.guard();
        let mut tokens = self.read()?;
        tokens.insert(profile.to_owned(), token.to_owned());
        self.write(&tokens)
    }
    fn delete(&self, profile: &str) -> Result<bool, CredentialError> {
        let _guard = self.guard();
        let mut tokens = self.read()?;
        let removed = tokens.remove(profile).is_some();
        if removed {
            self.write(&tokens)?;
        }
        Ok(removed)
    }
}

// ---------------------------------------------------------------------------------------------
// OS keyring

/// An OS secret store reached through the keyring crate with an explicitly chosen builder.
pub struct KeyringStore {
    kind: &'static str,
    builder: Arc<CredentialBuilder>,
    timeout: Duration,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// Wraps `builder`; calls time out after [`STORE_TIMEOUT`].
    pub fn new(kind: &'static str, builder: Box<CredentialBuilder>) -> Self {
        KeyringStore {
            kind,
            builder: Arc::from(builder),
            timeout: STORE_TIMEOUT,
        }
    }

    /// The kernel keyring store (session keyring, falling back to the user keyring).
    #[cfg(target_os = "linux")]
    pub fn kernel() -> Self {
        Self::new("kernel keyring", Box::new(KernelKeyringBuilder))
    }

    /// Runs `op` on the entry for `profile` on a helper thread and waits at most the timeout.
    /// A call that times out is abandoned (its thread finishes or blocks on its own); the caller
    /// gets [`CredentialError::TimedOut`] and the UI stays responsive.
    fn call<T: Send + 'static>(
        &self,
        name: &'static str,
        profile: &str,
        op: impl FnOnce(&Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<T, CredentialError> {
        let builder = Arc::clone(&self.builder);
        let profile = profile.to_owned();
        with_timeout(name, self.timeout, move || {
            let credential = builder.build(None, SERVICE, &profile)?;
            op(&Entry::new_with_credential(credential))
        })?
        .map_err(|e| CredentialError::Failed(format!("{} {name}: {e}", self.kind)))
    }
}

/// Runs `f` on its own thread and waits up to `timeout` for its result.
pub fn with_timeout<T: Send + 'static>(
    name: &'static str,
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CredentialError> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name(format!("keyring-{name}"))
        .spawn(move || {
            // The receiver is gone if we already timed out; nothing to do then.
            let _ = tx.send(f());
        })
        .map_err(|e| CredentialError::Failed(format!("cannot start a thread for {name}: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(value) => Ok(value),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(CredentialError::TimedOut(name)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(CredentialError::Failed(format!(
            "the credential store crashed during {name}"
        ))),
    }
}

impl CredentialStore for KeyringStore {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn get(&self, profile: &str) -> Result<Option<String>, CredentialError> {
        self.call("get", profile, |entry| match entry.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }
    fn set(&self, profile: &str, token: &str) -> Result<(), CredentialError> {
        let token = token.to_owned();
        self.call("set", profile, move |entry| entry.set_password(&token))
    }
    fn delete(&self, profile: &str) -> Result<bool, CredentialError> {
        self.call("delete", profile, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
    }
}

/// Proves that `store` really keeps a secret: set, read back, delete a throwaway entry. The
/// entry name includes the process id so concurrent keydeck processes do not trip each other.
pub fn probe(store: &dyn CredentialStore) -> Result<(), CredentialError> {
    let name = format!("__keydeck_probe_{}", std::process::id());
    let value = "probe";
    store.set(&name, value)?;
    let read = store.get(&name);
    let deleted = store.delete(&name);
    match read? {
        Some(v) if v == value => {}
        Some(_) => {
            return Err(CredentialError::Failed(
                "probe entry read back with a different value".into(),
            ));
        }
        None => {
            return Err(CredentialError::Failed(
                "probe entry was stored but cannot be read back".into(),
            ));
        }
    }
    if !deleted? {
        return Err(CredentialError::Failed(
            "probe entry vanished before it was deleted".into(),
        ));
    }
    Ok(())
}

/// The OS secret store for this platform, probed. Fails closed with
/// [`CredentialError::Unavailable`] (naming `KEYDECK_TOKEN`, `--token-file` and
/// `--insecure-storage`) when none works, instead of silently keeping tokens in memory.
///
/// Linux: the kernel keyring. Secret Service would be preferred on desktops with a D-Bus
/// session, but keyring is built without it (only `linux-native`) to keep the dependency tree
/// small and because the kernel keyring works everywhere including headless hosts; add the
/// keyring feature `sync-secret-service` and a branch here on `DBUS_SESSION_BUS_ADDRESS` to
/// change that.
pub fn system_store() -> Result<Box<dyn CredentialStore>, CredentialError> {
    let store = platform_store()?;
    match probe(&store) {
        Ok(()) => {
            tracing::debug!(kind = store.kind(), "credential store probe succeeded");
            Ok(Box::new(store))
        }
        Err(e) => {
            tracing::warn!(kind = store.kind(), error = %e, "credential store probe failed");
            Err(CredentialError::Unavailable(format!(
                "the {} does not work here ({e})",
                store.kind()
            )))
        }
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<KeyringStore, CredentialError> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        tracing::debug!("D-Bus session present, but Secret Service is not compiled in");
    }
    Ok(KeyringStore::kernel())
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<KeyringStore, CredentialError> {
    Ok(KeyringStore::new(
        "macOS Keychain",
        keyring::macos::default_credential_builder(),
    ))
}

#[cfg(target_os = "windows")]
fn platform_store() -> Result<KeyringStore, CredentialError> {
    Ok(KeyringStore::new(
        "Windows Credential Manager",
        keyring::windows::default_credential_builder(),
    ))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> Result<KeyringStore, CredentialError> {
    Err(CredentialError::Unavailable(format!(
        "keydeck has no OS credential store for {}",
        std::env::consts::OS
    )))
}

// ---------------------------------------------------------------------------------------------
// Linux kernel keyring

#[cfg(target_os = "linux")]
pub use kernel::{KernelKeyringBuilder, KernelKeyringCredential};

#[cfg(target_os = "linux")]
mod kernel {
    use keyring::credential::{
        Credential, CredentialApi, CredentialBuilderApi, CredentialPersistence,
    };
    use linux_keyutils::{
        Key, KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission,
    };

    /// Builds [`KernelKeyringCredential`]s for keyring's `Entry`.
    #[derive(Debug, Clone, Copy)]
    pub struct KernelKeyringBuilder;

    impl CredentialBuilderApi for KernelKeyringBuilder {
        fn build(
            &self,
            target: Option<&str>,
            service: &str,
            user: &str,
        ) -> keyring::Result<Box<Credential>> {
            Ok(Box::new(KernelKeyringCredential::new(
                target, service, user,
            )?))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn persistence(&self) -> CredentialPersistence {
            CredentialPersistence::UntilReboot
        }
    }

    /// One token as a `user` key in the Linux kernel keyring.
    ///
    /// The key goes into the session keyring, which every process of the login session shares
    /// (children inherit it), so `keydeck login` and a later `keydeck keys list` in the same
    /// shell see the same token, and it disappears at logout or reboot. When the session keyring
    /// is not writable (e.g. after `su`, when it belongs to another user) the key goes into the
    /// user keyring instead. Unlike keyring's own `linux-native` store it is never linked into
    /// the persistent keyring: hosts that refuse that link made every `set` fail.
    ///
    /// The description is `keyring-rs:<profile>@keydeck`, the format keyring's own store uses,
    /// so `keyctl search @s user keyring-rs:default@keydeck` finds it.
    #[derive(Debug, Clone)]
    pub struct KernelKeyringCredential {
        description: String,
    }

    impl KernelKeyringCredential {
        /// The credential for `user@service`, or the explicit `target` description.
        pub fn new(target: Option<&str>, service: &str, user: &str) -> keyring::Result<Self> {
            let description = match target {
                Some("") => {
                    return Err(keyring::Error::Invalid(
                        "target".into(),
                        "cannot be empty".into(),
                    ));
                }
                Some(target) => target.to_owned(),
                None => format!("keyring-rs:{user}@{service}"),
            };
            Ok(KernelKeyringCredential { description })
        }

        /// The key's description in the kernel keyring.
        pub fn description(&self) -> &str {
            &self.description
        }

        /// Finds the key: a recursive search from the session keyring (which normally links
        /// the user keyring), then the user keyring directly.
        fn find(&self) -> Result<Key, KeyError> {
            let from_session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
                .and_then(|ring| ring.search(&self.description));
            match from_session {
                Ok(key) => Ok(key),
                Err(first) => KeyRing::from_special_id(KeyRingIdentifier::User, false)
                    .and_then(|ring| ring.search(&self.description))
                    .map_err(|second| {
                        // Prefer the more informative of the two errors.
                        if second == KeyError::KeyDoesNotExist {
                            first
                        } else {
                            second
                        }
                    }),
            }
        }
    }

    impl KernelKeyringCredential {
        /// Puts the key into the user keyring, readable by every process of this user.
        ///
        /// A key added straight to the user keyring is not "possessed" by a process whose
        /// session keyring does not link the user keyring (the very case this fallback is
        /// for), so its default permissions (possessor all, user view) would make it
        /// unreadable, even to us, and we could not change them. So the key is created in this
        /// process's own keyring (possessed), given user read/search permission, linked into
        /// the user keyring, and unlinked again. Processes of the same uid can already inspect
        /// each other's memory, so the extra permission grants nothing new.
        pub(super) fn add_to_user_keyring(&self, secret: &[u8]) -> Result<(), KeyError> {
            let user = KeyRing::from_special_id(KeyRingIdentifier::User, true)?;
            let staging = KeyRing::from_special_id(KeyRingIdentifier::Process, true)?;
            let key = staging.add_key(&self.description, secret)?;
            let perms = KeyPermissionsBuilder::builder()
                .posessor(Permission::ALL)
                .user(Permission::VIEW | Permission::READ | Permission::SEARCH)
                .build();
            let linked = key.set_perms(perms).and_then(|()| user.link_key(key));
            // Whatever happened, the staging link goes: on failure that destroys the key.
            let _ = staging.unlink_key(key);
            linked
        }
    }

    impl CredentialApi for KernelKeyringCredential {
        fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
            if secret.is_empty() {
                return Err(keyring::Error::Invalid(
                    "secret".into(),
                    "cannot be empty".into(),
                ));
            }
            // `create = false`: without a session keyring the kernel installs the shared
            // user-session keyring, instead of a fresh one that would die with this process.
            let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
                .and_then(|ring| ring.add_key(&self.description, secret));
            match session {
                Ok(_) => Ok(()),
                Err(session_err) => self.add_to_user_keyring(secret).map_err(|user_err| {
                    failure(format!(
                        "cannot add a key to the session keyring ({session_err:?}) \
                         or the user keyring ({user_err:?})"
                    ))
                }),
            }
        }

        fn get_secret(&self) -> keyring::Result<Vec<u8>> {
            let key = self.find().map_err(decode)?;
            key.read_to_vec().map_err(decode)
        }

        fn delete_credential(&self) -> keyring::Result<()> {
            let key = self.find().map_err(decode)?;
            key.invalidate().map_err(decode)?;
            // A copy may sit in both the session and the user keyring (e.g. after a fallback);
            // remove them all so `logout` really logs out. Bounded in case invalidation lags.
            for _ in 0..8 {
                match self.find() {
                    Ok(key) => key.invalidate().map_err(decode)?,
                    Err(_) => break,
                }
            }
            Ok(())
        }

        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    /// Only a missing (or revoked/expired) key is `NoEntry`. keyring's own store also maps
    /// `AccessDenied` to `NoEntry`, which turned a refused link into "not found"; here a refusal
    /// is reported as what it is.
    fn decode(err: KeyError) -> keyring::Error {
        match err {
            KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired => {
                keyring::Error::NoEntry
            }
            other => failure(format!("{other:?}")),
        }
    }

    fn failure(message: String) -> keyring::Error {
        keyring::Error::PlatformFailure(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(store: &dyn CredentialStore) {
        let profile = format!("test-{}-{}", std::process::id(), store.kind().len());
        assert_eq!(store.get(&profile).unwrap(), None);
        assert!(!store.delete(&profile).unwrap());
        store.set(&profile, "kd_first").unwrap();
        assert_eq!(store.get(&profile).unwrap().as_deref(), Some("kd_first"));
        store.set(&profile, "kd_second").unwrap();
        assert_eq!(store.get(&profile).unwrap().as_deref(), Some("kd_second"));
        assert!(store.delete(&profile).unwrap());
        assert_eq!(store.get(&profile).unwrap(), None);
        assert!(!store.delete(&profile).unwrap());
    }

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::new();
        assert_eq!(store.kind(), "memory");
        round_trip(&store);
        probe(&store).unwrap();
    }

    #[test]
    fn file_store_round_trip_and_mode_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub/tokens.toml");
        let store = FileStore::new(&path);
        assert_eq!(store.kind(), "file (insecure)");
        round_trip(&store);
        store.set("default", "kd_a=b\"c").unwrap();
        store.set("other profile", "kd_x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        // A second store on the same file (another process) sees the same tokens.
        let again = FileStore::new(&path);
        assert_eq!(again.get("default").unwrap().as_deref(), Some("kd_a=b\"c"));
        assert_eq!(again.get("other profile").unwrap().as_deref(), Some("kd_x"));
    }

    #[cfg(unix)]
    #[test]
    fn file_store_refuses_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("tokens.toml");
        std::fs::write(&path, "default = \"kd_x\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = FileStore::new(&path)
            .get("default")
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn timeout_helper_gives_up() {
        let err = with_timeout("get", Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
        })
        .unwrap_err();
        assert!(matches!(err, CredentialError::TimedOut("get")));
        assert!(err.to_string().contains("KEYDECK_TOKEN"), "{err}");
        assert_eq!(
            with_timeout("get", Duration::from_secs(5), || 7).unwrap(),
            7
        );
    }

    #[test]
    fn unavailable_names_the_alternatives() {
        let msg = CredentialError::Unavailable("x".into()).to_string();
        for needle in ["KEYDECK_TOKEN", "--token-file", "--insecure-storage"] {
            assert!(msg.contains(needle), "{msg}");
        }
    }

    /// Is the kernel keyring usable at all for this process? Containers with a restrictive
    /// seccomp profile deny the keyctl syscalls. Returns `true` (after a loud SKIPPED line) when
    /// the test cannot run; with `KEYDECK_REQUIRE_KEYRING=1` (CI) that is a failure instead.
    #[cfg(target_os = "linux")]
    fn kernel_keyring_denied(test: &str) -> bool {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        let Err(reason) = KeyRing::from_special_id(KeyRingIdentifier::Session, false) else {
            return false;
        };
        assert!(
            std::env::var("KEYDECK_REQUIRE_KEYRING").as_deref() != Ok("1"),
            "KEYDECK_REQUIRE_KEYRING=1 but the kernel denies keyrings here ({reason:?})"
        );
        eprintln!(
            "\n*** SKIPPED {test}: the kernel denies keyrings here ({reason:?}); \
             set KEYDECK_REQUIRE_KEYRING=1 to make this a failure ***\n"
        );
        true
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_keyring_round_trip() {
        if kernel_keyring_denied("kernel_keyring_round_trip") {
            return;
        }
        let store = KeyringStore::kernel();
        assert_eq!(store.kind(), "kernel keyring");
        round_trip(&store);
        probe(&store).unwrap();
        // The system store on Linux is this one, and it passes its probe.
        assert_eq!(system_store().unwrap().kind(), "kernel keyring");
    }

    /// The user-keyring fallback (used when the session keyring is not writable, e.g. after
    /// `su`) leaves a key that the same user can read without possessing it.
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_user_keyring_fallback() {
        use linux_keyutils::{KeyRing, KeyRingIdentifier, Permission};
        if kernel_keyring_denied("kernel_user_keyring_fallback") {
            return;
        }
        let profile = format!("fallback-{}", std::process::id());
        let credential = KernelKeyringCredential::new(None, SERVICE, &profile).unwrap();
        credential.add_to_user_keyring(b"kd_user").unwrap();
        let key = KeyRing::from_special_id(KeyRingIdentifier::User, false)
            .unwrap()
            .search(credential.description())
            .unwrap();
        let perms = key.metadata().unwrap().get_perms().bits();
        let user = Permission::from_bits_truncate((perms >> 16) as u8);
        assert!(
            user.contains(Permission::READ | Permission::SEARCH),
            "{perms:x}"
        );
        let store = KeyringStore::kernel();
        assert_eq!(store.get(&profile).unwrap().as_deref(), Some("kd_user"));
        assert!(store.delete(&profile).unwrap());
        assert_eq!(store.get(&profile).unwrap(), None);
    }

    /// The key must be readable by another process of the same session: that is what
    /// `keydeck login` followed by `keydeck keys list` relies on. This test stores a key, then
    /// runs this same test binary again as a child process whose only test reads it back
    /// through [`KeyringStore::kernel`] and deletes it; finally `keyctl` (if installed)
    /// confirms the key is gone.
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_keyring_is_shared_with_another_process() {
        if kernel_keyring_denied("kernel_keyring_is_shared_with_another_process") {
            return;
        }
        let profile = format!("xproc-{}", std::process::id());
        let store = KeyringStore::kernel();
        store.set(&profile, "kd_cross_process").unwrap();
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "platform::credentials::tests::kernel_keyring_child_reader",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_PROFILE_VAR, &profile)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let leftover = store.delete(&profile);
        assert!(
            output.status.success(),
            "child failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("1 passed"), "child did not run: {stdout}");
        // The child deleted the key, so it is gone for this process too.
        assert!(
            !leftover.unwrap(),
            "the child's delete was not visible here"
        );
    }

    #[cfg(target_os = "linux")]
    const CHILD_PROFILE_VAR: &str = "KEYDECK_TEST_CHILD_PROFILE";

    /// The child half of [`kernel_keyring_is_shared_with_another_process`]; a no-op unless that
    /// test started this process.
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_keyring_child_reader() {
        let Ok(profile) = std::env::var(CHILD_PROFILE_VAR) else {
            return;
        };
        let store = KeyringStore::kernel();
        assert_eq!(
            store.get(&profile).unwrap().as_deref(),
            Some("kd_cross_process")
        );
        assert!(store.delete(&profile).unwrap());
    }
}
