//! The service's records. They are read from the store and exposed to GraphQL as they are:
//! one type per idea, internal columns marked `skip`. Relations (a key's identity, a
//! project's members) are resolved in `schema::objects`.

use async_graphql::{
    Enum, InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch; shown to clients as an RFC 3339 `DateTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(OffsetDateTime::now_utc().unix_timestamp())
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds))
    }

    pub fn rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }
}

/// An RFC 3339 date and time in UTC, e.g. `2026-11-23T13:43:24Z`.
#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
                .map(|t| Timestamp(t.unix_timestamp()))
                .map_err(|e| InputValueError::custom(format!("not an RFC 3339 date-time: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.rfc3339())
    }
}

/// What a key may do with this service's own API: queries need READ, mutations WRITE.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Read,
    Write,
}

/// Who sees and manages a key (Aggregations.io's personal and org-wide keys).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Visible to and manageable by its owner and super admins only.
    Personal,
    /// Visible to everyone; created and changed by super admins (or a project's admins).
    #[default]
    OrgWide,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Personal => "PERSONAL",
            Visibility::OrgWide => "ORG_WIDE",
        }
    }

    pub fn from_db(s: &str) -> Self {
        if s == "PERSONAL" {
            Visibility::Personal
        } else {
            Visibility::OrgWide
        }
    }
}

/// The authority a caller has over a key, weakest first: its owner, an admin of its project,
/// a super admin.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyAuthority {
    Owner,
    ProjectAdmin,
    SuperAdmin,
}

impl KeyAuthority {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAuthority::Owner => "OWNER",
            KeyAuthority::ProjectAdmin => "PROJECT_ADMIN",
            KeyAuthority::SuperAdmin => "SUPER_ADMIN",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "OWNER" => Some(KeyAuthority::Owner),
            "PROJECT_ADMIN" => Some(KeyAuthority::ProjectAdmin),
            "SUPER_ADMIN" => Some(KeyAuthority::SuperAdmin),
            _ => None,
        }
    }
}

/// A global key carries global roles; a project key carries memberships in one project.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyType {
    Global,
    Project,
}

/// Whether a key authenticates right now, and if not, why.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyState {
    Enabled,
    Disabled,
    Expired,
}

/// An API key's record. The token itself is never stored: only its hash (not exposed).
//
// Its fields resolve one after another (`serial`), as do those of the other objects listed
// by the hundred: async-graphql otherwise gives every field of every row its own boxed
// future in a `FuturesUnordered`, a visible share of a listing's CPU under load
// (`cargo bench --bench service_load`), to run side by side fields that are plain data.
// Relations are the exception: every query resolver that returns keys loads the relations
// its selection asks for before they resolve (`loaders::prime_keys`), so they wait for
// nothing; a key a mutation answers with waits for the loader's window (1 ms) once per
// relation it asks for.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex, serial)]
pub struct ApiKey {
    pub id: String,
    #[graphql(name = "type")]
    pub kind: ApiKeyType,
    /// The key's name: 1 to 200 characters, unique among the enabled, unexpired keys of its scope.
    pub description: String,
    pub enabled: bool,
    pub created_at: Timestamp,
    /// Updated at most once a minute, so authentication does not write on every request.
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub disabled_at: Option<Timestamp>,
    /// The identity that disabled the key (null while enabled).
    pub disabled_by: Option<String>,
    /// The authority it was disabled with: a key disabled by an admin (a super admin, or the
    /// project's admin) is enabled again only by someone with that authority.
    pub disabled_as: Option<KeyAuthority>,
    pub permissions: Vec<Permission>,
    pub visibility: Visibility,
    /// The first characters of a generated token (`kd_AbC123`); null for keys made from a tokenHash.
    pub token_prefix: Option<String>,
    #[graphql(skip)]
    pub seq: i64,
    #[graphql(skip)]
    pub identity_id: String,
    #[graphql(skip)]
    pub project_id: Option<String>,
    #[graphql(skip)]
    pub owner_id: Option<String>,
    /// The key this one replaced (`rotateApiKey`); resolved as `rotatedFrom`.
    #[graphql(skip)]
    pub rotated_from: Option<String>,
    /// The key that replaced this one; resolved as `rotatedTo`.
    #[graphql(skip)]
    pub rotated_to: Option<String>,
}

impl ApiKey {
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn state_at(&self, now: Timestamp) -> ApiKeyState {
        if !self.enabled {
            ApiKeyState::Disabled
        } else if self.is_expired_at(now) {
            ApiKeyState::Expired
        } else {
            ApiKeyState::Enabled
        }
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// Who acts: every API key authenticates as its own identity.
// Serial like `ApiKey`: the query resolvers that return identities load their relations
// first (`loaders::prime_identities`).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex, serial)]
pub struct Identity {
    pub id: String,
    pub description: String,
    pub created_at: Timestamp,
    #[graphql(skip)]
    pub seq: i64,
}

/// One role an identity holds in a project, with the values of the role's variables.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[graphql(input_name = "MembershipInput")]
pub struct Membership {
    pub role: String,
    pub variables: Vec<VariableEntry>,
}

/// The values given to one variable of a role, e.g. `language = [cs, en]`.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[graphql(input_name = "VariableEntryInput")]
pub struct VariableEntry {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Project {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A role a project defines, and the variables a membership in it must fill.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(serial)]
pub struct RoleDefinition {
    pub name: String,
    pub variables: Vec<RoleVariable>,
}

#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct RoleVariable {
    pub name: String,
}

/// A role definition given to `createProject`.
#[derive(InputObject, Debug, Clone)]
pub struct RoleDefinitionInput {
    pub name: String,
    #[graphql(default)]
    pub variables: Vec<String>,
}

/// A role of the global catalog.
#[derive(SimpleObject, Debug, Clone)]
pub struct Role {
    pub name: String,
    pub description: String,
}

/// One mutation as it happened: who, what, on what, when and how it ended.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuditEntry {
    #[graphql(skip)]
    pub seq: i64,
    pub at: Timestamp,
    /// The identity that called the mutation.
    pub actor_id: Option<String>,
    /// The mutation's name, e.g. `createApiKey`.
    pub action: String,
    pub target: Option<String>,
    /// `OK` or the error code the mutation answered.
    pub outcome: String,
    pub detail: Option<String>,
    /// How many times this happened: refusals of one action to one actor with one outcome
    /// within a minute share one entry (its target and detail are the first one's).
    pub count: i64,
    /// The project the entry is about: a project key's, a membership's, a project's own id.
    pub project_id: Option<String>,
    /// The key the entry is about: the key `target` names, or the key of the identity it
    /// names (its roles and memberships). A key's history is `auditLog(filter: { target: ID })`.
    pub key_id: Option<String>,
    /// What `target` names: a key, an identity or a project (none for `global` and the like).
    pub target_kind: Option<AuditTargetKind>,
    /// The target's name when the entry was written: the key's (or the identity's key's)
    /// name, the identity's description or the project's name.
    pub target_name: Option<String>,
    /// The acting identity's description when the entry was written.
    pub actor_name: Option<String>,
}

/// What an audit entry's `target` names.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditTargetKind {
    /// An API key, by its id.
    Key,
    /// An identity, by its id (its key is `keyId`).
    Identity,
    /// A project, by its id or (a refused creation) its slug.
    Project,
}

impl AuditTargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditTargetKind::Key => "KEY",
            AuditTargetKind::Identity => "IDENTITY",
            AuditTargetKind::Project => "PROJECT",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "KEY" => Some(AuditTargetKind::Key),
            "IDENTITY" => Some(AuditTargetKind::Identity),
            "PROJECT" => Some(AuditTargetKind::Project),
            _ => None,
        }
    }
}

/// What `auditLog` lists: every condition given must hold. A reader sees only the entries
/// it may (super admins all; project admins their projects'; everyone its own key's, its
/// keys', and what it did).
#[derive(InputObject, Debug, Clone, Default)]
pub struct AuditFilter {
    /// A key's id or its identity's id: the entries about that key, its identity's roles and
    /// memberships included. Any other value matches the target as recorded (a project's id
    /// or slug, `global`).
    pub target: Option<String>,
    /// The acting identity's id.
    pub actor_id: Option<String>,
    /// The mutation's name, e.g. `disableApiKey`.
    pub action: Option<String>,
    /// `OK` or an error code, e.g. `FORBIDDEN`.
    pub outcome: Option<String>,
    /// Unix seconds: entries written at or after.
    pub since: Option<i64>,
    /// Unix seconds: entries written before.
    pub until: Option<i64>,
}

/// Options from Grafana and Aggregations.io that Contember's API does not have.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CreateApiKeyOptions {
    /// Time to live in Grafana's syntax (`12h`, `30d`, `1M`); defaults to the service's maximum.
    pub expires_in: Option<String>,
    /// Defaults to READ and WRITE.
    pub permissions: Option<Vec<Permission>>,
    /// Defaults to ORG_WIDE.
    pub visibility: Option<Visibility>,
}

/// What `apiKeys` can be ordered by; ties go by creation, the same way.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyOrderField {
    /// The name, compared case-insensitively.
    Name,
    CreatedAt,
    /// Keys that never expire come last going up.
    ExpiresAt,
    /// Keys never used come first going up.
    LastUsedAt,
    /// Enabled, then disabled, then expired.
    State,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// The order of `apiKeys`: cursors are per order (a cursor of another order is refused).
#[derive(InputObject, Debug, Clone, Copy)]
pub struct ApiKeyOrder {
    pub field: ApiKeyOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// What `identities` can be ordered by; ties go by creation, the same way.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOrderField {
    /// The description, compared case-insensitively (as key names are).
    Name,
    CreatedAt,
}

/// The order of `identities`: cursors are per order (a cursor of another order is refused).
#[derive(InputObject, Debug, Clone, Copy)]
pub struct IdentityOrder {
    pub field: IdentityOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Narrows `apiKeys`. Disabled and expired keys are left out unless asked for.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ApiKeyFilter {
    #[graphql(default)]
    pub include_disabled: bool,
    #[graphql(default)]
    pub include_expired: bool,
    /// Case-insensitive substring of the key's name.
    pub search: Option<String>,
    /// Keys whose id starts with this text: how a client resolves the short id a user typed
    /// without paging through every key.
    pub id_prefix: Option<String>,
    pub project_slug: Option<String>,
    #[graphql(name = "type")]
    pub kind: Option<ApiKeyType>,
    pub visibility: Option<Visibility>,
    /// Keys whose token starts with this text: the printed prefix (`kd_0wIlep`, `kd_`
    /// included), a shorter start of it, or any longer start of the token (only its printed
    /// prefix is compared: the rest is not stored). Case-sensitive, as tokens are.
    pub token_prefix: Option<String>,
    /// The key of a whole token, by the SHA-256 of it (64 hexadecimal characters): how a
    /// leaked token is traced without sending it.
    pub token_hash: Option<String>,
    /// Keys created by this identity (personal or org-wide)…
    pub created_by: Option<String>,
    /// …and, when true, by the keys those created, at any depth.
    #[graphql(default)]
    pub created_by_deep: bool,
    /// Keys with no request since this time (Unix seconds), never-used keys included: the
    /// stale keys. `lastUsedAt` is recorded at most once a minute per key.
    pub unused_since: Option<i32>,
}

/// Narrows `identities`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct IdentityFilter {
    /// Case-insensitive substring of the identity's description or id.
    pub search: Option<String>,
    /// Identities whose id starts with this text (a short id typed by a user).
    pub id_prefix: Option<String>,
    /// Only identities holding this global role.
    pub role: Option<String>,
}
