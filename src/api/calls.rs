//! The operations the CLI and the TUI use, as plain async methods over [`ApiClient`].
//! Each turns a mutation's `ok: false` into [`ApiError::Refused`].

use super::ops::{self, AuditEntry, Identity, Key};
use super::{ApiClient, ApiError, Refusal};
use crate::ttl::Ttl;

/// One page of a cursor listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub end_cursor: Option<String>,
    /// Whether rows lie before the page, and the cursor that reads them (`before`).
    pub has_previous: bool,
    pub start_cursor: Option<String>,
    pub total: i64,
}

/// What a key listing is ordered by, on the service: every page comes in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySortField {
    Name,
    #[default]
    Created,
    Expires,
    LastUsed,
    State,
}

/// A key listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeySort {
    pub field: KeySortField,
    pub descending: bool,
}

/// What `keys list` and the Keys tab ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyQuery {
    /// Include disabled and expired keys.
    pub all: bool,
    pub search: Option<String>,
    /// Only the keys of the project with this slug.
    pub project: Option<String>,
    /// Only the keys this identity created (and, with `created_by_deep`, the keys those
    /// created, at any depth).
    pub created_by: Option<String>,
    pub created_by_deep: bool,
    /// Only the keys with no request since this time (Unix seconds), never-used ones included.
    pub unused_since: Option<i64>,
    /// Only the key with this id (or ids starting with it).
    pub id_prefix: Option<String>,
    pub sort: KeySort,
    pub first: i64,
    pub after: Option<String>,
    /// Read backward instead: the `last` keys before `before` (or at the end).
    pub last: Option<i64>,
    pub before: Option<String>,
}

/// A key's requests and refusals over one window (`keys show`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageTotal {
    /// `24h`, `7d` or `30d`.
    pub window: &'static str,
    pub requests: i64,
    pub refused: i64,
}

/// A key's requests and refusals in one interval of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePoint {
    pub start_ts: i64,
    pub end_ts: i64,
    pub requests: i64,
    pub refused: i64,
}

/// What `keydeck audit` and the TUI's Audit tab ask for: a page of the audit log, newest
/// first, narrowed by every filter given (the service shows each caller what it may read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// A key's id or its identity's id (the entries about that key), or a target as recorded
    /// (a project's id or slug).
    pub target: Option<String>,
    /// The acting identity's id.
    pub actor_id: Option<String>,
    /// The mutation's name, e.g. `disableApiKey`.
    pub action: Option<String>,
    /// `OK` or an error code, e.g. `FORBIDDEN`.
    pub outcome: Option<String>,
    /// Unix seconds: entries at or after.
    pub since: Option<i64>,
    /// Unix seconds: entries before.
    pub until: Option<i64>,
    pub first: i64,
    pub after: Option<String>,
}

/// What an identity listing is ordered by, on the service: every page comes in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentitySortField {
    /// The description, any case.
    Name,
    #[default]
    Created,
}

/// An identity listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdentitySort {
    pub field: IdentitySortField,
    pub descending: bool,
}

/// What `identities list` and the Identities tab ask for: a page, optionally narrowed by
/// `search`, in creation order unless `sort` says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityQuery {
    /// Case-insensitive substring of the description or id.
    pub search: Option<String>,
    /// Only identities holding this global role.
    pub role: Option<String>,
    pub sort: IdentitySort,
    pub first: i64,
    pub after: Option<String>,
    /// Read backward instead: the `last` identities before `before` (or at the end).
    pub last: Option<i64>,
    pub before: Option<String>,
}

/// One identity in a key's chain of creators; no description when the caller may not see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainLink {
    pub id: String,
    pub description: Option<String>,
}

/// Steps up a chain of creators read at most.
pub const MAX_OWNER_CHAIN: usize = 32;

/// One project membership: a role and its variables' values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MembershipSpec {
    pub role: String,
    pub variables: Vec<(String, Vec<String>)>,
}

impl MembershipSpec {
    /// `role` or `role(var=v1,v2;var2=v3)`, as listings print a membership
    /// ([`super::wording::membership_label`]), which [`MembershipSpec::parse`] reads back.
    pub fn label(&self) -> String {
        super::wording::membership_label(
            &self.role,
            self.variables
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice())),
        )
    }

    /// Parses `ROLE` or `ROLE:VAR=V1,V2;VAR2=V3` (the CLI's `--membership`), or
    /// `ROLE(VAR=V1,V2;VAR2=V3)` as listings print a membership.
    pub fn parse(text: &str) -> Result<MembershipSpec, String> {
        let text = text.trim();
        let listed = text.strip_suffix(')').and_then(|head| head.split_once('('));
        let (role, vars) = listed.unwrap_or_else(|| text.split_once(':').unwrap_or((text, "")));
        let role = role.trim();
        if role.is_empty() {
            return Err(format!("`{text}`: a membership starts with a role name"));
        }
        let variables = parse_variables(vars)?;
        Ok(MembershipSpec {
            role: role.to_owned(),
            variables,
        })
    }
}

/// Parses `VAR=V1,V2;VAR2=V3` (empty text gives no variables).
pub fn parse_variables(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, values) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: write variables as NAME=VALUE,VALUE"))?;
            let values: Vec<String> = values
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            Ok((name.trim().to_owned(), values))
        })
        .collect()
}

/// Where a new key belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    Global {
        roles: Vec<String>,
    },
    Project {
        slug: String,
        memberships: Vec<MembershipSpec>,
    },
}

/// The parts of a listing filter a [`Lookup`] sets.
#[derive(Default)]
struct LookupFilter {
    id_prefix: Option<String>,
    search: Option<String>,
    token_prefix: Option<String>,
    token_hash: Option<String>,
}

impl Lookup<'_> {
    fn filter(self) -> LookupFilter {
        let text = |t: &str| Some(t.to_owned());
        match self {
            Lookup::IdPrefix(p) => LookupFilter {
                id_prefix: text(p),
                ..LookupFilter::default()
            },
            Lookup::NameContains(n) => LookupFilter {
                search: text(n),
                ..LookupFilter::default()
            },
            Lookup::TokenPrefix(p) => LookupFilter {
                token_prefix: text(p),
                ..LookupFilter::default()
            },
            Lookup::TokenHash(h) => LookupFilter {
                token_hash: text(h),
                ..LookupFilter::default()
            },
        }
    }
}

/// A key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub name: String,
    pub scope: KeyScope,
    /// Grafana TTL syntax; `None` takes the service's maximum.
    pub ttl: Option<String>,
    pub read: bool,
    pub write: bool,
    pub personal: bool,
    /// Register this SHA-256 instead of letting the service generate a token.
    pub token_hash: Option<String>,
}

/// What creating a key returns; `token` is null when the key was made from a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedKey {
    pub id: String,
    pub token: Option<String>,
    pub expires_at: Option<String>,
}

/// What rotating a key returns: the successor as creation returns a key (its `token` null
/// when it was made from a hash), and the old key's id and new expiry (the end of its grace
/// period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedKey {
    pub created: CreatedKey,
    /// The name both keys share.
    pub name: String,
    pub previous_id: String,
    pub previous_expires_at: Option<String>,
}

/// A monitored database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Database {
    pub id: String,
    pub name: String,
    /// Why its statistics cannot be read right now (`None`: they can, or the service did
    /// not say).
    pub problem: Option<DatabaseProblem>,
}

/// What keeps a monitored database's statistics from being read, as the service probed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseProblem {
    /// A short label for a table cell: "unreachable", "no pg_stat_statements".
    pub label: &'static str,
    /// The service's reason, in its words (untrusted text).
    pub reason: String,
}

pub type QueryStat = ops::query_stats::QueryStatsGetQueryStats;
/// One interval of a statement's series.
pub type QueryStatPoint = ops::query_stat_series::QueryStatSeriesGetQueryStatSeries;
pub type Project = ops::projects::ProjectsProjects;
pub type ProjectMember = ops::project_members::ProjectMembersProjectBySlugMembers;
pub type Me = ops::me::MeMe;
pub type Role = ops::role_catalog::RoleCatalogRoles;
pub type IdentityRoles = ops::identity_roles::IdentityRolesIdentity;

/// A key or an identity that a name the user typed may stand for: its id and its name (a
/// key's name, an identity's description), and for keys its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub name: String,
    pub state: Option<String>,
}

/// How a candidate is looked for: by the start of its id, or by a piece of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    IdPrefix(&'a str),
    NameContains(&'a str),
    /// The start of a token (`kd_0wIlep`, as listings print it).
    TokenPrefix(&'a str),
    /// The SHA-256 of a whole token, as hexadecimal.
    TokenHash(&'a str),
}

/// The page size of a lookup. The service prices a request by its whole document, and
/// graphql/identities.graphql shares `$first` with the heavier `ListIdentities`: 200 keeps
/// both under the budget.
const LOOKUP_PAGE: i64 = 200;

/// Turns a mutation's optional `{ ok error }` reply into `Ok(())` or the refusal it carries.
macro_rules! refusal {
    ($reply:expr) => {{
        let reply = $reply.ok_or_else(|| ApiError::Garbage("a mutation without a reply".into()))?;
        if reply.ok {
            Ok(())
        } else {
            Err(ApiError::Refused(reply.error.map_or_else(
                || Refusal {
                    code: "UNKNOWN".into(),
                    message: "the service refused without saying why".into(),
                    memberships: Vec::new(),
                },
                |e| Refusal {
                    code: code_text(format!("{:?}", e.code)),
                    message: e.developer_message,
                    memberships: Vec::new(),
                },
            )))
        }
    }};
}

/// The reply of a mutation that takes access away: the ids of the personal keys the service
/// narrowed with it, or the refusal.
macro_rules! narrowed {
    ($reply:expr) => {{
        let reply = $reply;
        let narrowed = reply
            .as_ref()
            .and_then(|r| r.result.as_ref())
            .map(|r| r.narrowed_keys.clone())
            .unwrap_or_default();
        refusal!(reply).map(|()| narrowed)
    }};
}

/// [`narrowed!`] of a mutation that checks memberships: a refusal carries the membership
/// problems the service listed (`membershipValidation`).
macro_rules! narrowed_checked {
    ($reply:expr) => {{
        let reply = $reply;
        let problems: Vec<(String, String, Option<String>)> = reply
            .as_ref()
            .and_then(|r| r.error.as_ref())
            .and_then(|e| e.membership_validation.as_ref())
            .map(|list| {
                list.iter()
                    .map(|m| {
                        let code = code_text(format!("{:?}", m.code));
                        (code, m.role.clone(), m.variable.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        narrowed!(reply).map_err(|e| match e {
            ApiError::Refused(mut refusal) => {
                refusal.memberships = problems;
                ApiError::Refused(refusal)
            }
            other => other,
        })
    }};
}

/// Turns graphql_client's generated enum debug name (`NAME_TAKEN` or `Other("X")`) into text.
fn code_text(debug: String) -> String {
    debug
        .strip_prefix("Other(\"")
        .and_then(|s| s.strip_suffix("\")"))
        .map_or(debug.clone(), str::to_owned)
}

/// The window of a key's "Req 24h" figures at `now`: the 24 clock hours up to the end of the
/// current one, which lie whole in one interval, so the service reads each from its hour row.
pub fn last_day_window(now: i64) -> (i64, i64) {
    let hour = now.div_euclid(3600) * 3600;
    (hour - 23 * 3600, hour + 3599)
}

impl ApiClient {
    pub async fn me(&self) -> Result<Me, ApiError> {
        Ok(self.execute::<ops::Me>(ops::me::Variables).await?.me)
    }

    pub async fn list_keys(&self, query: &KeyQuery) -> Result<Page<Key>, ApiError> {
        use ops::list_keys::{ApiKeyFilter, Variables};
        let filter = ApiKeyFilter {
            include_disabled: query.all,
            include_expired: query.all,
            search: query.search.clone(),
            id_prefix: query.id_prefix.clone(),
            project_slug: query.project.clone(),
            type_: None,
            visibility: None,
            token_prefix: None,
            token_hash: None,
            created_by: query.created_by.clone(),
            created_by_deep: query.created_by_deep,
            unused_since: query.unused_since,
        };
        use ops::list_keys::{ApiKeyOrder, ApiKeyOrderField, OrderDirection};
        let field = match query.sort.field {
            KeySortField::Name => ApiKeyOrderField::NAME,
            KeySortField::Created => ApiKeyOrderField::CREATED_AT,
            KeySortField::Expires => ApiKeyOrderField::EXPIRES_AT,
            KeySortField::LastUsed => ApiKeyOrderField::LAST_USED_AT,
            KeySortField::State => ApiKeyOrderField::STATE,
        };
        let direction = if query.sort.descending {
            OrderDirection::DESC
        } else {
            OrderDirection::ASC
        };
        let backward = query.last.is_some();
        let (day_from, day_to) = last_day_window(time::OffsetDateTime::now_utc().unix_timestamp());
        let data = self
            .execute::<ops::ListKeys>(Variables {
                day_from: Some(day_from),
                day_to: Some(day_to),
                filter: Some(filter),
                order_by: Some(ApiKeyOrder { field, direction }),
                first: (!backward).then_some(query.first),
                after: if backward { None } else { query.after.clone() },
                last: query.last,
                before: query.before.clone(),
            })
            .await?;
        let keys = data.api_keys;
        Ok(Page {
            items: keys.nodes,
            has_next: keys.page_info.has_next_page,
            end_cursor: keys.page_info.end_cursor,
            has_previous: keys.page_info.has_previous_page,
            start_cursor: keys.page_info.start_cursor,
            total: keys.total_count,
        })
    }

    /// A page of the audit log, newest first: each entry with its cursor (`after` reads on
    /// from it); `end_cursor` reads the next page.
    pub async fn audit_log(
        &self,
        query: &AuditQuery,
    ) -> Result<Page<(String, AuditEntry)>, ApiError> {
        use ops::audit_log::{AuditFilter, Variables};
        let filter = AuditFilter {
            target: query.target.clone(),
            actor_id: query.actor_id.clone(),
            action: query.action.clone(),
            outcome: query.outcome.clone(),
            since: query.since,
            until: query.until,
        };
        let data = self
            .execute::<ops::AuditLog>(Variables {
                filter: Some(filter),
                first: Some(query.first),
                after: query.after.clone(),
            })
            .await?;
        let log = data.audit_log;
        Ok(Page {
            items: log.edges.into_iter().map(|e| (e.cursor, e.node)).collect(),
            has_next: log.page_info.has_next_page,
            end_cursor: log.page_info.end_cursor,
            has_previous: false,
            start_cursor: None,
            total: log.total_count,
        })
    }

    pub async fn create_key(&self, key: &NewKey) -> Result<CreatedKey, ApiError> {
        let mut permissions = Vec::new();
        if key.read {
            permissions.push("READ");
        }
        if key.write {
            permissions.push("WRITE");
        }
        macro_rules! options {
            ($m:ident) => {
                ops::$m::CreateApiKeyOptions {
                    expires_in: key.ttl.clone(),
                    permissions: Some(
                        permissions
                            .iter()
                            .map(|p| match *p {
                                "READ" => ops::$m::Permission::READ,
                                _ => ops::$m::Permission::WRITE,
                            })
                            .collect(),
                    ),
                    visibility: Some(if key.personal {
                        ops::$m::Visibility::PERSONAL
                    } else {
                        ops::$m::Visibility::ORG_WIDE
                    }),
                }
            };
        }
        macro_rules! created {
            ($reply:expr) => {{
                let reply = $reply;
                if !reply.ok {
                    let e = reply.error;
                    return Err(ApiError::Refused(match e {
                        Some(e) => Refusal {
                            code: code_text(format!("{:?}", e.code)),
                            message: e.developer_message,
                            memberships: e
                                .membership_validation
                                .unwrap_or_default()
                                .into_iter()
                                .map(|m| (code_text(format!("{:?}", m.code)), m.role, m.variable))
                                .collect(),
                        },
                        None => Refusal {
                            code: "UNKNOWN".into(),
                            message: "the service refused without saying why".into(),
                            memberships: Vec::new(),
                        },
                    }));
                }
                let api_key = reply
                    .result
                    .ok_or_else(|| ApiError::Garbage("ok without a result".into()))?
                    .api_key;
                CreatedKey {
                    id: api_key.id,
                    token: api_key.token,
                    expires_at: api_key.key.expires_at,
                }
            }};
        }
        Ok(match &key.scope {
            KeyScope::Global { roles } => {
                let data = self
                    .execute::<ops::CreateGlobalKey>(ops::create_global_key::Variables {
                        description: key.name.clone(),
                        roles: Some(roles.clone()),
                        token_hash: key.token_hash.clone(),
                        options: Some(options!(create_global_key)),
                    })
                    .await?;
                created!(
                    data.create_global_api_key
                        .ok_or_else(|| ApiError::Garbage("no reply".into()))?
                )
            }
            KeyScope::Project { slug, memberships } => {
                use ops::create_project_key::{MembershipInput, VariableEntryInput};
                let memberships = memberships
                    .iter()
                    .map(|m| MembershipInput {
                        role: m.role.clone(),
                        variables: m
                            .variables
                            .iter()
                            .map(|(name, values)| VariableEntryInput {
                                name: name.clone(),
                                values: values.clone(),
                            })
                            .collect(),
                    })
                    .collect();
                let data = self
                    .execute::<ops::CreateProjectKey>(ops::create_project_key::Variables {
                        project_slug: slug.clone(),
                        memberships,
                        description: key.name.clone(),
                        token_hash: key.token_hash.clone(),
                        options: Some(options!(create_project_key)),
                    })
                    .await?;
                created!(
                    data.create_api_key
                        .ok_or_else(|| ApiError::Garbage("no reply".into()))?
                )
            }
        })
    }

    /// Enables or disables a key; disabling answers the ids of the personal keys the service
    /// disabled with it (those the key created, at any depth).
    pub async fn set_key_enabled(&self, id: &str, enabled: bool) -> Result<Vec<String>, ApiError> {
        if enabled {
            let data = self
                .execute::<ops::EnableKey>(ops::enable_key::Variables { id: id.to_owned() })
                .await?;
            refusal!(data.enable_api_key).map(|()| Vec::new())
        } else {
            let data = self
                .execute::<ops::DisableKey>(ops::disable_key::Variables { id: id.to_owned() })
                .await?;
            let also = data
                .disable_api_key
                .as_ref()
                .and_then(|r| r.result.as_ref())
                .map(|r| r.also_disabled.clone())
                .unwrap_or_default();
            refusal!(data.disable_api_key).map(|()| also)
        }
    }

    /// Rotates the key `id`: a successor with everything it holds, the old key working for
    /// `grace` (TTL syntax or `0s`; `None`: the service's default of 24h). `token_hash`
    /// registers a token chosen here instead of one generated by the service.
    pub async fn rotate_key(
        &self,
        id: &str,
        grace: Option<&str>,
        token_hash: Option<String>,
    ) -> Result<RotatedKey, ApiError> {
        let data = self
            .execute::<ops::RotateKey>(ops::rotate_key::Variables {
                id: id.to_owned(),
                grace_period: grace.map(str::to_owned),
                token_hash,
            })
            .await?;
        let reply = data.rotate_api_key;
        let result = reply.as_ref().and_then(|r| r.result.clone());
        refusal!(reply)?;
        let result = result.ok_or_else(|| ApiError::Garbage("ok without a result".into()))?;
        Ok(RotatedKey {
            created: CreatedKey {
                id: result.api_key.id,
                token: result.api_key.token,
                expires_at: result.api_key.key.expires_at,
            },
            name: result.api_key.key.description,
            previous_id: result.previous.id,
            previous_expires_at: result.previous.expires_at,
        })
    }

    pub async fn identities(&self, query: &IdentityQuery) -> Result<Page<Identity>, ApiError> {
        let filter = (query.search.is_some() || query.role.is_some()).then(|| {
            ops::list_identities::IdentityFilter {
                search: query.search.clone(),
                role: query.role.clone(),
                id_prefix: None,
            }
        });
        use ops::list_identities::{IdentityOrder, IdentityOrderField, OrderDirection};
        let field = match query.sort.field {
            IdentitySortField::Name => IdentityOrderField::NAME,
            IdentitySortField::Created => IdentityOrderField::CREATED_AT,
        };
        let direction = if query.sort.descending {
            OrderDirection::DESC
        } else {
            OrderDirection::ASC
        };
        let backward = query.last.is_some();
        let data = self
            .execute::<ops::ListIdentities>(ops::list_identities::Variables {
                filter,
                // Creation order, oldest first, is the service's own default: left unsaid.
                order_by: (query.sort != IdentitySort::default())
                    .then_some(IdentityOrder { field, direction }),
                first: (!backward).then_some(query.first),
                after: if backward { None } else { query.after.clone() },
                last: query.last,
                before: query.before.clone(),
            })
            .await?;
        let list = data.identities;
        Ok(Page {
            items: list.nodes,
            has_next: list.page_info.has_next_page,
            end_cursor: list.page_info.end_cursor,
            has_previous: list.page_info.has_previous_page,
            start_cursor: list.page_info.start_cursor,
            total: list.total_count,
        })
    }

    /// The chain of creators above a key, from its owner `owner_id` up: each identity, then
    /// the one that created its key, to the bootstrap admin. It stops at an identity the
    /// caller may not see (listed without a description), at a loop, or after
    /// [`MAX_OWNER_CHAIN`] steps.
    pub async fn owner_chain(&self, owner_id: &str) -> Result<Vec<ChainLink>, ApiError> {
        let mut chain: Vec<ChainLink> = Vec::new();
        let mut next = Some(owner_id.to_owned());
        while let Some(id) = next.take() {
            if chain.len() >= MAX_OWNER_CHAIN || chain.iter().any(|l| l.id == id) {
                break;
            }
            let identity = self
                .execute::<ops::KeyOwner>(ops::key_owner::Variables {
                    identity_id: id.clone(),
                })
                .await?
                .identity;
            let Some(identity) = identity else {
                chain.push(ChainLink {
                    id,
                    description: None,
                });
                break;
            };
            next = identity.api_key.and_then(|k| k.owner).map(|o| o.id);
            chain.push(ChainLink {
                id: identity.id,
                description: Some(identity.description),
            });
        }
        Ok(chain)
    }

    /// Key `id`'s requests and refusals over the last 24 hours, 7 days and 30 days, in that
    /// order (one request); `None` when no key the caller sees has that id.
    pub async fn key_usage_totals(&self, id: &str) -> Result<Option<[UsageTotal; 3]>, ApiError> {
        use ops::key_usage::Variables;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let ago = |s: i64| Some(now - s);
        let data = self
            .execute::<ops::KeyUsage>(Variables {
                id: id.to_owned(),
                day: ago(86_400),
                week: ago(7 * 86_400),
                month: ago(30 * 86_400),
            })
            .await?;
        let Some(key) = data.api_keys.nodes.into_iter().find(|k| k.id == id) else {
            return Ok(None);
        };
        let total = |window: &'static str, points: Vec<(i64, i64)>| UsageTotal {
            window,
            requests: points.iter().map(|p| p.0).sum(),
            refused: points.iter().map(|p| p.1).sum(),
        };
        Ok(Some([
            total(
                "24h",
                key.day.iter().map(|p| (p.requests, p.refused)).collect(),
            ),
            total(
                "7d",
                key.week.iter().map(|p| (p.requests, p.refused)).collect(),
            ),
            total(
                "30d",
                key.month.iter().map(|p| (p.requests, p.refused)).collect(),
            ),
        ]))
    }

    /// Key `id`'s usage since `start_ts` (Unix seconds) in at most `points` intervals, oldest
    /// first; empty when no key the caller sees has that id.
    pub async fn key_usage_series(
        &self,
        id: &str,
        start_ts: i64,
        points: i64,
    ) -> Result<Vec<UsagePoint>, ApiError> {
        use ops::key_usage_series::Variables;
        let data = self
            .execute::<ops::KeyUsageSeries>(Variables {
                id: id.to_owned(),
                start_ts: Some(start_ts),
                points: Some(points),
            })
            .await?;
        Ok(data
            .api_keys
            .nodes
            .into_iter()
            .find(|k| k.id == id)
            .map(|k| {
                k.usage
                    .into_iter()
                    .map(|p| UsagePoint {
                        start_ts: p.start_ts,
                        end_ts: p.end_ts,
                        requests: p.requests,
                        refused: p.refused,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Keys (disabled and expired ones too) matching `lookup`, every page of them: a name is
    /// looked up as a substring, and the exact match may be anywhere among the results.
    pub async fn find_keys(&self, lookup: Lookup<'_>) -> Result<Vec<Candidate>, ApiError> {
        use ops::find_keys::{ApiKeyFilter, Variables};
        let lookup = lookup.filter();
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let data = self
                .execute::<ops::FindKeys>(Variables {
                    filter: Some(ApiKeyFilter {
                        include_disabled: true,
                        include_expired: true,
                        search: lookup.search.clone(),
                        id_prefix: lookup.id_prefix.clone(),
                        project_slug: None,
                        type_: None,
                        visibility: None,
                        token_prefix: lookup.token_prefix.clone(),
                        token_hash: lookup.token_hash.clone(),
                        created_by: None,
                        created_by_deep: false,
                        unused_since: None,
                    }),
                    first: Some(LOOKUP_PAGE),
                    after,
                })
                .await?;
            let keys = data.api_keys;
            found.extend(keys.nodes.into_iter().map(|k| {
                // A rotated key still in its grace period is not the key in use: its
                // successor is, under the same name.
                let state = format!("{:?}", k.state).to_lowercase();
                let state = if state == "enabled" && k.rotated_to.is_some() {
                    "rotated".to_owned()
                } else {
                    state
                };
                Candidate {
                    id: k.id,
                    name: k.description,
                    state: Some(state),
                }
            }));
            if !keys.page_info.has_next_page {
                return Ok(found);
            }
            after = keys.page_info.end_cursor;
        }
    }

    /// Identities matching `lookup`, every page of them.
    pub async fn find_identities(&self, lookup: Lookup<'_>) -> Result<Vec<Candidate>, ApiError> {
        use ops::find_identities::{IdentityFilter, Variables};
        let lookup = lookup.filter();
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let data = self
                .execute::<ops::FindIdentities>(Variables {
                    filter: Some(IdentityFilter {
                        search: lookup.search.clone(),
                        id_prefix: lookup.id_prefix.clone(),
                        role: None,
                    }),
                    first: Some(LOOKUP_PAGE),
                    after,
                })
                .await?;
            let identities = data.identities;
            found.extend(identities.nodes.into_iter().map(|i| Candidate {
                id: i.id,
                name: i.description,
                state: None,
            }));
            if !identities.page_info.has_next_page {
                return Ok(found);
            }
            after = identities.page_info.end_cursor;
        }
    }

    /// One identity's global roles; `None` when there is no such identity (or the caller
    /// may not see it).
    pub async fn identity_roles(&self, id: &str) -> Result<Option<IdentityRoles>, ApiError> {
        Ok(self
            .execute::<ops::IdentityRoles>(ops::identity_roles::Variables { id: id.to_owned() })
            .await?
            .identity)
    }

    /// The longest key lifetime the service grants; `None` when it sets no maximum.
    pub async fn max_key_ttl(&self) -> Result<Option<Ttl>, ApiError> {
        let settings = self
            .execute::<ops::Settings>(ops::settings::Variables)
            .await?
            .settings;
        Ok(settings.max_key_ttl_seconds.and_then(Ttl::from_seconds))
    }

    pub async fn role_catalog(&self) -> Result<Vec<Role>, ApiError> {
        Ok(self
            .execute::<ops::RoleCatalog>(ops::role_catalog::Variables)
            .await?
            .roles)
    }

    pub async fn projects(&self) -> Result<Vec<Project>, ApiError> {
        Ok(self
            .execute::<ops::Projects>(ops::projects::Variables)
            .await?
            .projects)
    }

    /// Adds (`grant`) or removes global roles of an identity; answers the ids of the personal
    /// keys the service narrowed because the identity created them (at any depth).
    pub async fn change_roles(
        &self,
        identity_id: &str,
        roles: &[String],
        grant: bool,
    ) -> Result<Vec<String>, ApiError> {
        if grant {
            let data = self
                .execute::<ops::AddGlobalRoles>(ops::add_global_roles::Variables {
                    identity_id: identity_id.to_owned(),
                    roles: roles.to_vec(),
                })
                .await?;
            narrowed!(data.add_global_identity_roles)
        } else {
            let data = self
                .execute::<ops::RemoveGlobalRoles>(ops::remove_global_roles::Variables {
                    identity_id: identity_id.to_owned(),
                    roles: roles.to_vec(),
                })
                .await?;
            narrowed!(data.remove_global_identity_roles)
        }
    }

    /// Sets an identity's memberships in a project: adds it as a member, or replaces its
    /// memberships when it is one already. An empty list removes it. Answers the ids of the
    /// personal keys the service narrowed because the identity created them.
    pub async fn set_membership(
        &self,
        project_slug: &str,
        identity_id: &str,
        memberships: &[MembershipSpec],
        already_member: bool,
    ) -> Result<Vec<String>, ApiError> {
        macro_rules! inputs {
            ($m:ident) => {
                memberships
                    .iter()
                    .map(|m| ops::$m::MembershipInput {
                        role: m.role.clone(),
                        variables: m
                            .variables
                            .iter()
                            .map(|(name, values)| ops::$m::VariableEntryInput {
                                name: name.clone(),
                                values: values.clone(),
                            })
                            .collect(),
                    })
                    .collect()
            };
        }
        let (project_slug, identity_id) = (project_slug.to_owned(), identity_id.to_owned());
        if memberships.is_empty() {
            let data = self
                .execute::<ops::RemoveMember>(ops::remove_member::Variables {
                    project_slug,
                    identity_id,
                })
                .await?;
            narrowed!(data.remove_project_member)
        } else if already_member {
            let data = self
                .execute::<ops::UpdateMember>(ops::update_member::Variables {
                    project_slug,
                    identity_id,
                    memberships: inputs!(update_member),
                })
                .await?;
            narrowed_checked!(data.update_project_member)
        } else {
            let data = self
                .execute::<ops::AddMember>(ops::add_member::Variables {
                    project_slug,
                    identity_id,
                    memberships: inputs!(add_member),
                })
                .await?;
            narrowed_checked!(data.add_project_member)
        }
    }

    /// The members of the project `slug` and their memberships (the first 500), or `None`
    /// when no project the caller can see has that slug. Empty unless the caller administers it.
    pub async fn project_members(
        &self,
        slug: &str,
    ) -> Result<Option<Vec<ProjectMember>>, ApiError> {
        Ok(self
            .execute::<ops::ProjectMembers>(ops::project_members::Variables {
                slug: slug.to_owned(),
            })
            .await?
            .project_by_slug
            .map(|p| p.members))
    }

    pub async fn create_project(
        &self,
        slug: &str,
        name: &str,
        roles: &[(&str, &[&str])],
    ) -> Result<(), ApiError> {
        let data = self
            .execute::<ops::CreateProject>(ops::create_project::Variables {
                slug: slug.to_owned(),
                name: name.to_owned(),
                roles: roles
                    .iter()
                    .map(|(name, vars)| ops::create_project::RoleDefinitionInput {
                        name: (*name).to_owned(),
                        variables: vars.iter().map(|v| (*v).to_owned()).collect(),
                    })
                    .collect(),
            })
            .await?;
        refusal!(data.create_project)
    }

    pub async fn databases(&self) -> Result<Vec<Database>, ApiError> {
        Ok(self
            .execute::<ops::Databases>(ops::databases::Variables)
            .await?
            .databases
            .into_iter()
            .map(|d| {
                use ops::databases::DatabaseState;
                let label = match d.state {
                    DatabaseState::OK => None,
                    DatabaseState::UNREACHABLE => Some("unreachable"),
                    DatabaseState::PG_STAT_STATEMENTS_MISSING => Some("no pg_stat_statements"),
                    DatabaseState::Other(_) => Some("unknown state"),
                };
                Database {
                    id: d.id,
                    name: d.name,
                    problem: label.map(|label| DatabaseProblem {
                        label,
                        reason: d.state_reason.unwrap_or_default(),
                    }),
                }
            })
            .collect())
    }

    /// The statements of `database_id` over the last `since` (see [`window_start`]), or over
    /// the service's default window when `since` is `None`.
    pub async fn query_stats(
        &self,
        database_id: &str,
        since: Option<Ttl>,
    ) -> Result<Vec<QueryStat>, ApiError> {
        Ok(self
            .execute::<ops::QueryStats>(ops::query_stats::Variables {
                database_id: database_id.to_owned(),
                start_ts: window_start(since),
                end_ts: None,
            })
            .await?
            .get_query_stats)
    }

    /// What statement `query_id` of `database_id` did in at most `points` equal intervals of
    /// the window `since` (as [`ApiClient::query_stats`] takes it), oldest first: fewer, wider
    /// ones when `points` would be finer than the service samples.
    pub async fn query_stat_series(
        &self,
        database_id: &str,
        query_id: &str,
        since: Option<Ttl>,
        points: u16,
    ) -> Result<Vec<QueryStatPoint>, ApiError> {
        Ok(self
            .execute::<ops::QueryStatSeries>(ops::query_stat_series::Variables {
                database_id: database_id.to_owned(),
                query_id: query_id.to_owned(),
                start_ts: window_start(since),
                points: Some(points.into()),
            })
            .await?
            .get_query_stat_series)
    }
}

/// `startTs` of the last `since`: now minus `since`, reckoned as the request leaves, so a
/// refreshed window slides with the clock; `None` asks for the service's default window.
fn window_start(since: Option<Ttl>) -> Option<i64> {
    since.map(|since| time::OffsetDateTime::now_utc().unix_timestamp() - since.seconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_parse_from_cli_text() {
        assert_eq!(
            MembershipSpec::parse("editor:language=cs,en;site=blog").unwrap(),
            MembershipSpec {
                role: "editor".into(),
                variables: vec![
                    ("language".into(), vec!["cs".into(), "en".into()]),
                    ("site".into(), vec!["blog".into()])
                ],
            }
        );
        assert_eq!(MembershipSpec::parse("viewer").unwrap().variables, vec![]);
        assert!(MembershipSpec::parse(":x=1").is_err());
        assert!(MembershipSpec::parse("editor:language").is_err());
    }

    #[test]
    fn generated_enum_names_become_codes() {
        assert_eq!(code_text("NAME_TAKEN".into()), "NAME_TAKEN");
        assert_eq!(code_text("Other(\"NEW_CODE\")".into()), "NEW_CODE");
    }
}
