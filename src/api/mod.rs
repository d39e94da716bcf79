//! Client side of the contract: typed operations, one [`ApiClient`], typed errors.
//! No UI types here.

mod calls;
mod client;
pub mod ops;
pub mod wording;

pub use calls::{
    AuditQuery, Candidate, ChainLink, CreatedKey, Database, DatabaseProblem, IdentityQuery,
    IdentityRoles, IdentitySort, IdentitySortField, KeyQuery, KeyScope, KeySort, KeySortField,
    Lookup, Me, MembershipSpec, NewKey, Page, Project, ProjectMember, QueryStat, QueryStatPoint,
    Role, RotatedKey, UsagePoint, UsageTotal, last_day_window, parse_variables,
};
pub use client::{ApiClient, ApiError, AuthScheme, Refusal};
