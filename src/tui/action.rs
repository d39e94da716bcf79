//! Everything that changes the app's state is an [`Action`]; everything the app wants done
//! outside itself is an [`Effect`]. `App::update` turns the one into the other.

use std::time::Duration;

use crossterm::event::KeyEvent;

use super::built_in::BuiltIn;
use crate::api::ops::{AuditEntry, Identity, Key};
use crate::api::{
    ApiError, AuditQuery, CreatedKey, Database, IdentityQuery, KeyQuery, Me, MembershipSpec,
    NewKey, Page, Project, QueryStat, QueryStatPoint, Role, RotatedKey, UsagePoint,
};
use crate::platform::CopyPath;
use crate::ttl::Ttl;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// The terminal changed size; the next draw adapts.
    Resize,
    /// Spinner frames and the clock.
    Tick,
    Me(Result<Me, ApiError>),
    KeysLoaded {
        append: bool,
        result: Result<Page<Key>, ApiError>,
    },
    IdentitiesLoaded {
        append: bool,
        result: Result<Page<Identity>, ApiError>,
    },
    /// The keys an identity created, for its details.
    CreatedKeysLoaded {
        identity_id: String,
        result: Result<Page<Key>, ApiError>,
    },
    /// A key's requests over the last 24 hours, for its details' sparkline.
    KeyUsageLoaded {
        key_id: String,
        result: Result<Vec<UsagePoint>, ApiError>,
    },
    ProjectsLoaded(Result<Vec<Project>, ApiError>),
    /// A page of the audit log, newest first (the cursors are not kept: it pages forward).
    AuditLoaded(Result<Page<(String, AuditEntry)>, ApiError>),
    /// A details pane's history.
    HistoryLoaded {
        about: About,
        result: Result<Page<(String, AuditEntry)>, ApiError>,
    },
    RolesLoaded(Result<Vec<Role>, ApiError>),
    /// The longest key lifetime the service grants (`None`: no maximum).
    SettingsLoaded(Result<Option<Ttl>, ApiError>),
    DatabasesLoaded(Result<Vec<Database>, ApiError>),
    StatsLoaded {
        database_id: String,
        /// The window asked for: an answer for another window than the one now chosen is
        /// dropped.
        since: Option<Ttl>,
        result: Result<Vec<QueryStat>, ApiError>,
    },
    SeriesLoaded {
        database_id: String,
        query_id: String,
        since: Option<Ttl>,
        result: Result<Vec<QueryStatPoint>, ApiError>,
    },
    KeyCreated {
        /// The token generated here and sent only as a hash, if the user chose that.
        local_token: Option<String>,
        result: Result<CreatedKey, ApiError>,
    },
    /// A key rotated (or the service's refusal): the successor, its token, the old key's end.
    KeyRotated(Result<RotatedKey, ApiError>),
    /// Marked keys enabled or disabled: how many were, the personal keys disabled with them,
    /// and the refusals (key id, why).
    KeysToggled {
        enabled: bool,
        done: Vec<String>,
        cascaded: Vec<String>,
        failed: Vec<(String, String)>,
    },
    KeyToggled {
        id: String,
        name: String,
        enabled: bool,
        /// The ids of the personal keys disabled with it.
        result: Result<Vec<String>, ApiError>,
    },
    /// An identity's roles or memberships saved: the personal keys it created that the
    /// service narrowed with it.
    IdentityChanged(Result<Vec<String>, ApiError>),
    Copied(Result<CopyPath, String>),
    /// How `keydeck demo`'s own PostgreSQL stands (starting, up, failed, absent).
    BuiltIn(BuiltIn),
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ctrl-Z: stop until `fg`, the terminal given back meanwhile.
    Suspend,
    LoadMe,
    LoadKeys {
        query: KeyQuery,
        append: bool,
    },
    /// The keys of `query` that come just before the key `id` in its order (answered as
    /// `KeysLoaded`), so that the page holding it follows; the first page when the key is
    /// not in the listing.
    LocateKey {
        id: String,
        query: KeyQuery,
    },
    LoadIdentities {
        query: IdentityQuery,
        append: bool,
    },
    /// The keys an identity created (at any depth), for its details.
    LoadCreatedKeys {
        identity_id: String,
    },
    /// A page of the audit log.
    LoadAudit {
        query: AuditQuery,
    },
    /// The newest entries about a key, or by an identity, for its details.
    LoadHistory {
        about: About,
    },
    /// A key's requests over the last `seconds`, for its details.
    LoadKeyUsage {
        key_id: String,
        seconds: i64,
    },
    LoadProjects,
    LoadRoles,
    /// What the service allows (the longest key lifetime).
    LoadSettings,
    LoadDatabases,
    LoadStats {
        database_id: String,
        /// The last stretch of time to report; `None` is the service's default window.
        since: Option<Ttl>,
    },
    /// One statement's calls and time in `points` intervals of the window `since`.
    LoadSeries {
        database_id: String,
        query_id: String,
        since: Option<Ttl>,
        points: u16,
    },
    CreateKey {
        key: NewKey,
        local_token: Option<String>,
    },
    /// Rotates a key: the old one works for `grace` (TTL syntax, or `0s`).
    RotateKey {
        id: String,
        name: String,
        grace: String,
    },
    /// Enables or disables several keys, one request (and one audit entry) each.
    SetKeysEnabled {
        ids: Vec<String>,
        enabled: bool,
    },
    SetKeyEnabled {
        id: String,
        name: String,
        enabled: bool,
    },
    ChangeRoles {
        identity_id: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
    SetMembership {
        project_slug: String,
        identity_id: String,
        memberships: Vec<MembershipSpec>,
        already_member: bool,
    },
    Copy(String),
    /// Run `effect` after `delay` (retry with backoff while the service is down).
    Later {
        delay: Duration,
        effect: Box<Effect>,
    },
    Quit,
}

/// Whose history a details pane shows: the entries about a key, or what an identity did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Key(String),
    Actor(String),
}

/// Entries a details pane lists at most; the count says how many there are.
const HISTORY_SHOWN: i64 = 20;

impl About {
    /// The service's filter for it: the newest entries first.
    pub fn query(&self) -> AuditQuery {
        let (target, actor_id) = match self {
            About::Key(id) => (Some(id.clone()), None),
            About::Actor(id) => (None, Some(id.clone())),
        };
        AuditQuery {
            target,
            actor_id,
            first: HISTORY_SHOWN,
            ..AuditQuery::default()
        }
    }
}
