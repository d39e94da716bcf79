//! The client's operations, checked at compile time against graphql/schema.graphql.
//! One derive per operation in graphql/*.graphql; the generated modules hold the types.

use graphql_client::GraphQLQuery;

// The derives read these files, but cargo does not know it: including them makes a change to
// the schema or an operation rebuild this module.
const _: [&str; 5] = [
    include_str!("../../graphql/schema.graphql"),
    include_str!("../../graphql/audit.graphql"),
    include_str!("../../graphql/keys.graphql"),
    include_str!("../../graphql/identities.graphql"),
    include_str!("../../graphql/stats.graphql"),
];

/// The service's `DateTime` scalar: RFC 3339 text.
pub type DateTime = String;

#[rustfmt::skip] // rustfmt re-indents attributes inside this macro on every run
macro_rules! operation {
    ($name:ident, $file:tt) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "graphql/schema.graphql",
            query_path = $file,
            response_derives = "Debug, Clone, PartialEq",
            variables_derives = "Debug, Clone"
        )]
        pub struct $name;
    };
}

operation!(ListKeys, "graphql/keys.graphql");
operation!(CreateProjectKey, "graphql/keys.graphql");
operation!(CreateGlobalKey, "graphql/keys.graphql");
operation!(DisableKey, "graphql/keys.graphql");
operation!(EnableKey, "graphql/keys.graphql");
operation!(RotateKey, "graphql/keys.graphql");
operation!(FindKeys, "graphql/keys.graphql");
operation!(KeyOwner, "graphql/keys.graphql");
operation!(KeyUsage, "graphql/keys.graphql");
operation!(KeyUsageSeries, "graphql/keys.graphql");
operation!(Me, "graphql/identities.graphql");
operation!(ListIdentities, "graphql/identities.graphql");
operation!(RoleCatalog, "graphql/identities.graphql");
operation!(Settings, "graphql/identities.graphql");
operation!(Projects, "graphql/identities.graphql");
operation!(AddGlobalRoles, "graphql/identities.graphql");
operation!(RemoveGlobalRoles, "graphql/identities.graphql");
operation!(AddMember, "graphql/identities.graphql");
operation!(UpdateMember, "graphql/identities.graphql");
operation!(RemoveMember, "graphql/identities.graphql");
operation!(CreateProject, "graphql/identities.graphql");
operation!(FindIdentities, "graphql/identities.graphql");
operation!(IdentityRoles, "graphql/identities.graphql");
operation!(ProjectMembers, "graphql/identities.graphql");
operation!(Databases, "graphql/stats.graphql");
operation!(QueryStats, "graphql/stats.graphql");
operation!(QueryStatSeries, "graphql/stats.graphql");
operation!(AuditLog, "graphql/audit.graphql");

/// A key as listings show it.
pub type Key = list_keys::KeyFields;

/// An audit entry as `keydeck audit` and the TUI show it.
pub type AuditEntry = audit_log::AuditFields;
/// What an audit entry's target names.
pub type AuditTargetKind = audit_log::AuditTargetKind;
/// An identity as listings show it.
pub type Identity = list_identities::IdentityFields;
