//! Mutation replies in Contember's shape: `{ ok error { code developerMessage } result }`.
//! One generic reply and one generic error, named per mutation family in the SDL.

use async_graphql::resolver_utils::EnumType;
use std::borrow::Cow;

use async_graphql::{Enum, OutputType, SimpleObject, TypeName};

use crate::server::domain::memberships::MembershipValidationError;
use crate::server::model::{ApiKey, Identity, Membership, Project};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateApiKeyErrorCode {
    ProjectNotFound,
    InvalidMembership,
    /// `expiresIn` is not valid TTL syntax or exceeds the service's maximum.
    InvalidTtl,
    /// An enabled, unexpired key of the same scope has this name.
    NameTaken,
    /// `tokenHash` is not 64 hexadecimal characters (a SHA-256), or is already registered.
    InvalidTokenHash,
    Forbidden,
    /// The name (`description`) must have 1 to 200 characters.
    InvalidDescription,
    /// A global role is not in the catalog.
    InvalidRole,
    /// `permissions` must name at least one of READ, WRITE.
    InvalidPermissions,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableApiKeyErrorCode {
    /// No such key, or not one the caller may see.
    KeyNotFound,
    Forbidden,
    /// Enabling a key an admin (a super admin, or the project's admin) disabled, without that
    /// authority over it: an owner cannot undo an admin's disable (see `ApiKey.disabledBy`).
    DisabledByAdmin,
    /// Enabling a key past its expiry: it would not authenticate, so it is not enabled.
    KeyExpired,
    /// Enabling: another enabled key of the same scope has taken the name meanwhile.
    NameTaken,
    /// Disabling: this would leave no enabled super_admin key that never expires.
    LastSuperAdmin,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateApiKeyErrorCode {
    /// No such key, or not one the caller may see.
    KeyNotFound,
    /// Only who may disable a key may rotate it, and a key cannot rotate a key above it in its
    /// chain of creators.
    Forbidden,
    /// A disabled key is not rotated: enable it first, or create a new key.
    KeyDisabled,
    /// An expired key is not rotated: create a new key.
    KeyExpired,
    /// The key was rotated already (see `ApiKey.rotatedTo`): rotate its successor.
    KeyRotated,
    /// `gracePeriod` is not TTL syntax (or `0s`), or exceeds the service's maximum.
    InvalidGracePeriod,
    /// `tokenHash` is not 64 hexadecimal characters (a SHA-256), or is already registered.
    InvalidTokenHash,
    /// This would leave no enabled super_admin key that never expires.
    LastSuperAdmin,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalIdentityRolesErrorCode {
    IdentityNotFound,
    /// A role is not in the global catalog.
    InvalidRole,
    Forbidden,
    /// Removing: this would leave no enabled super_admin key that never expires.
    LastSuperAdmin,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectMemberErrorCode {
    ProjectNotFound,
    IdentityNotFound,
    AlreadyMember,
    NotMember,
    InvalidMembership,
    Forbidden,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateProjectErrorCode {
    AlreadyExists,
    /// Slugs are 1 to 64 characters of a-z, 0-9 and `-`.
    InvalidSlug,
    InvalidName,
    /// Role and variable names must be non-empty, unique identifiers.
    InvalidRoleDefinition,
    Forbidden,
}

/// An error-code enum, naming the family of reply types it belongs to.
pub trait ErrorCode: OutputType + EnumType + Copy + PartialEq {
    /// `CreateApiKey` names `CreateApiKeyError` and `CreateApiKeyResponse`.
    const FAMILY: &'static str;
}

macro_rules! error_family {
    ($($code:ty => $family:literal),* $(,)?) => {
        $(impl ErrorCode for $code {
            const FAMILY: &'static str = $family;
        })*
    };
}

error_family! {
    CreateApiKeyErrorCode => "CreateApiKey",
    DisableApiKeyErrorCode => "DisableApiKey",
    RotateApiKeyErrorCode => "RotateApiKey",
    GlobalIdentityRolesErrorCode => "GlobalIdentityRoles",
    ProjectMemberErrorCode => "ProjectMember",
    CreateProjectErrorCode => "CreateProject",
}

/// Why a mutation did not happen.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name_type)]
pub struct MutationError<C: ErrorCode> {
    pub code: C,
    pub developer_message: String,
    /// Per-membership problems, for INVALID_MEMBERSHIP.
    pub membership_validation: Option<Vec<MembershipValidationError>>,
}

impl<C: ErrorCode> TypeName for MutationError<C> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Error", C::FAMILY).into()
    }
}

/// The reply of every mutation: `ok`, and either `error` or `result`.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name_type)]
pub struct Reply<C: ErrorCode, R: OutputType> {
    pub ok: bool,
    pub error: Option<MutationError<C>>,
    pub result: Option<R>,
}

impl<C: ErrorCode, R: OutputType> TypeName for Reply<C, R> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Response", C::FAMILY).into()
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct CreateApiKeyResult {
    pub api_key: ApiKeyWithToken,
}

/// A new key. `token` is shown this once and never again; null when created from a tokenHash.
#[derive(SimpleObject, Debug, Clone)]
pub struct ApiKeyWithToken {
    pub id: String,
    pub token: Option<String>,
    pub identity: Identity,
    /// The stored record of the new key.
    pub key: ApiKey,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct RotateApiKeyResult {
    /// The successor, with its token (shown this once; null when made from a tokenHash).
    pub api_key: ApiKeyWithToken,
    /// The rotated key, with its new `expiresAt` (the end of the grace period) and `rotatedTo`.
    pub previous: ApiKey,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ApiKeyResult {
    pub api_key: ApiKey,
    /// Ids of the personal keys disabled together with this one because it created them
    /// (directly or through keys it created); empty when enabling.
    pub also_disabled: Vec<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct IdentityResult {
    pub identity: Identity,
    /// Ids of the personal keys this identity created (directly or through keys it created)
    /// that lost what it lost: a personal key never holds more than its owner. Empty when
    /// granting.
    pub narrowed_keys: Vec<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct ProjectMemberResult {
    pub identity: Identity,
    /// The member's memberships after the change (empty after removal).
    pub memberships: Vec<Membership>,
    /// Ids of the personal keys this identity created (directly or through keys it created)
    /// that lost what it lost: a personal key never holds more than its owner.
    pub narrowed_keys: Vec<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct CreateProjectResult {
    pub project: Project,
}

/// How a mutation's work ended before it becomes a [`Reply`]: refused with a code, or an
/// infrastructure failure that surfaces as a top-level GraphQL error.
#[derive(Debug)]
pub enum Failure<C: ErrorCode> {
    Refused(MutationError<C>),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

/// The code's name as the SDL spells it (`NAME_TAKEN`), for the audit log.
pub fn code_name<C: ErrorCode>(code: &C) -> &'static str {
    C::items()
        .iter()
        .find(|item| item.value == *code)
        .map_or("UNKNOWN", |item| item.name)
}
