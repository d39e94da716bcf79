//! Everything drawn over the tabs, one file each: the new-key form (and its project picker
//! and grant rules), the role and membership editors, the rotation dialog, the confirmation and token dialogs, the
//! message log. Each implements [`Modal`]; `App` keeps one `Option<Overlay>` and routes to it.

pub mod create_key;
pub mod dialog;
pub mod form;
pub mod grantor;
pub mod log;
pub mod membership;
pub mod picker;
pub mod roles;
pub mod rotate;

use super::modal::Modal;
use create_key::CreateKeyForm;
use dialog::{Confirm, TokenDialog};
use log::LogView;
use membership::MembershipEditor;
use roles::RolesEditor;
use rotate::RotateKeyForm;

/// A modal layer over the tabs.
#[derive(Debug)]
pub enum Overlay {
    CreateKey(Box<CreateKeyForm>),
    Confirm(Confirm),
    Token(TokenDialog),
    Roles(RolesEditor),
    Rotate(RotateKeyForm),
    Membership(Box<MembershipEditor>),
    Log(LogView),
}

impl Overlay {
    pub fn modal(&self) -> &dyn Modal {
        match self {
            Overlay::CreateKey(m) => m.as_ref(),
            Overlay::Confirm(m) => m,
            Overlay::Token(m) => m,
            Overlay::Roles(m) => m,
            Overlay::Rotate(m) => m,
            Overlay::Membership(m) => m.as_ref(),
            Overlay::Log(m) => m,
        }
    }

    pub fn modal_mut(&mut self) -> &mut dyn Modal {
        match self {
            Overlay::CreateKey(m) => m.as_mut(),
            Overlay::Confirm(m) => m,
            Overlay::Token(m) => m,
            Overlay::Roles(m) => m,
            Overlay::Rotate(m) => m,
            Overlay::Membership(m) => m.as_mut(),
            Overlay::Log(m) => m,
        }
    }
}
