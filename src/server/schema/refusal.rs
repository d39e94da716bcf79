//! From a domain error to the reply the client reads: the one place where the domain's
//! refusals meet the contract's error codes. A refusal's message is the error's own text; a
//! failure of the store (or of the OS random source) is internal, logged and answered as a
//! top-level `INTERNAL_SERVER_ERROR`.

use std::fmt::Display;

use super::payload::{
    CreateApiKeyErrorCode, CreateProjectErrorCode, DisableApiKeyErrorCode, ErrorCode, Failure,
    GlobalIdentityRolesErrorCode, MutationError, ProjectMemberErrorCode, RotateApiKeyErrorCode,
};
use crate::server::domain::keys::{CreateKeyError, SetEnabledError};
use crate::server::domain::members::MemberError;
use crate::server::domain::memberships::MembershipValidationError;
use crate::server::domain::projects::CreateProjectError;
use crate::server::domain::roles::ChangeRolesError;
use crate::server::domain::rotation::RotateKeyError;

/// A refusal with `code` and the error's message.
fn refused<C: ErrorCode>(code: C, error: &dyn Display) -> Failure<C> {
    with_problems(code, error, None)
}

/// A refusal that also lists what is wrong with each membership.
fn with_problems<C: ErrorCode>(
    code: C,
    error: &dyn Display,
    problems: Option<Vec<MembershipValidationError>>,
) -> Failure<C> {
    Failure::Refused(MutationError {
        code,
        developer_message: error.to_string(),
        membership_validation: problems,
    })
}

impl From<CreateKeyError> for Failure<CreateApiKeyErrorCode> {
    fn from(e: CreateKeyError) -> Self {
        use CreateApiKeyErrorCode as Code;
        use CreateKeyError as E;
        let code = match &e {
            E::InvalidDescription(_) => Code::InvalidDescription,
            E::InvalidTtl(_) => Code::InvalidTtl,
            E::NoPermissions => Code::InvalidPermissions,
            E::MalformedTokenHash | E::TokenHashTaken => Code::InvalidTokenHash,
            E::UnknownRole(_) => Code::InvalidRole,
            E::ProjectNotFound(_) => Code::ProjectNotFound,
            E::Forbidden(_) => Code::Forbidden,
            E::NameTaken { .. } => Code::NameTaken,
            E::InvalidMemberships(m) => {
                return with_problems(Code::InvalidMembership, &e, Some(m.0.clone()));
            }
            E::NoRandomness(_) | E::Store(_) => return Failure::Internal(e.into()),
        };
        refused(code, &e)
    }
}

impl From<SetEnabledError> for Failure<DisableApiKeyErrorCode> {
    fn from(e: SetEnabledError) -> Self {
        use DisableApiKeyErrorCode as Code;
        use SetEnabledError as E;
        let code = match &e {
            E::KeyNotFound => Code::KeyNotFound,
            E::Forbidden(_) => Code::Forbidden,
            E::DisabledByAdmin => Code::DisabledByAdmin,
            E::KeyExpired => Code::KeyExpired,
            E::NameTaken(_) => Code::NameTaken,
            E::LastSuperAdmin => Code::LastSuperAdmin,
            E::Store(_) => return Failure::Internal(e.into()),
        };
        refused(code, &e)
    }
}

impl From<RotateKeyError> for Failure<RotateApiKeyErrorCode> {
    fn from(e: RotateKeyError) -> Self {
        use RotateApiKeyErrorCode as Code;
        use RotateKeyError as E;
        let code = match &e {
            E::KeyNotFound => Code::KeyNotFound,
            E::Forbidden(_) => Code::Forbidden,
            E::KeyDisabled => Code::KeyDisabled,
            E::KeyExpired => Code::KeyExpired,
            E::KeyRotated(_) => Code::KeyRotated,
            E::InvalidGracePeriod(_) | E::GraceOverMaximum { .. } => Code::InvalidGracePeriod,
            E::MalformedTokenHash | E::TokenHashTaken => Code::InvalidTokenHash,
            E::LastSuperAdmin => Code::LastSuperAdmin,
            E::NoRandomness(_) | E::Store(_) => return Failure::Internal(e.into()),
        };
        refused(code, &e)
    }
}

impl From<ChangeRolesError> for Failure<GlobalIdentityRolesErrorCode> {
    fn from(e: ChangeRolesError) -> Self {
        use ChangeRolesError as E;
        use GlobalIdentityRolesErrorCode as Code;
        let code = match &e {
            E::UnknownRole(_) => Code::InvalidRole,
            E::Forbidden(_) => Code::Forbidden,
            E::IdentityNotFound(_) => Code::IdentityNotFound,
            E::LastSuperAdmin => Code::LastSuperAdmin,
            E::Store(_) => return Failure::Internal(e.into()),
        };
        refused(code, &e)
    }
}

impl From<MemberError> for Failure<ProjectMemberErrorCode> {
    fn from(e: MemberError) -> Self {
        use MemberError as E;
        use ProjectMemberErrorCode as Code;
        let code = match &e {
            E::ProjectNotFound(_) => Code::ProjectNotFound,
            E::Forbidden(_) => Code::Forbidden,
            E::IdentityNotFound(_) => Code::IdentityNotFound,
            E::AlreadyMember => Code::AlreadyMember,
            E::NotMember => Code::NotMember,
            // Nothing to list per membership, but the list is there, empty, as with problems.
            E::NoMemberships => return with_problems(Code::InvalidMembership, &e, Some(vec![])),
            E::InvalidMemberships(m) => {
                return with_problems(Code::InvalidMembership, &e, Some(m.0.clone()));
            }
            E::Store(_) => return Failure::Internal(e.into()),
        };
        refused(code, &e)
    }
}

impl From<CreateProjectError> for Failure<CreateProjectErrorCode> {
    fn from(e: CreateProjectError) -> Self {
        use CreateProjectError as E;
        use CreateProjectErrorCode as Code;
        let code = match &e {
            E::Forbidden(_) => Code::Forbidden,
            E::InvalidSlug => Code::InvalidSlug,
            E::InvalidName(_) => Code::InvalidName,
            E::InvalidRoleDefinition(_) => Code::InvalidRoleDefinition,
            E::AlreadyExists(_) => Code::AlreadyExists,
            E::Store(_) => return Failure::Internal(e.into()),
        };
        refused(code, &e)
    }
}
