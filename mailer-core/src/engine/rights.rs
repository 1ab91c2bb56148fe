//! Who may see, use and edit records: the widget's owner/public rules.
//!
//! - Templates and mailboxes have an owner: a member edits their own, an admin edits any; only an admin
//!   changes an owner or makes a template public.
//! - Triggers, trigger links, web pages and pipeline rules are the account's settings, "set up by the
//!   administrator in widget settings" (the manual): every user sees and uses them, only an admin edits them.
//! - Users: an admin manages every user; a member edits their own name and signature only.

use crate::model::{AccountId, Role, Template, User, UserId};

use super::EngineError;

/// A member sees and uses their own and public templates; an admin sees all of the account's.
pub fn can_use(user: &User, template: &Template) -> bool {
    user.account == template.account && (user.role == Role::Admin || template.owner == user.id || template.public)
}

/// A member edits their own templates; an admin edits any.
pub fn can_edit(user: &User, template: &Template) -> bool {
    user.account == template.account && (user.role == Role::Admin || template.owner == user.id)
}

/// Checks that `user` may save `new` over `old` (`None` for a new template): members edit only their own,
/// and only an admin changes a template's owner or makes it public.
///
/// # Errors
/// [`EngineError::Forbidden`] saying what is not allowed.
pub fn check_save(user: &User, old: Option<&Template>, new: &Template) -> Result<(), EngineError> {
    let forbidden = |what: &str| Err(EngineError::Forbidden(what.to_owned()));
    if user.account != new.account {
        return forbidden("the template belongs to another account");
    }
    if user.role == Role::Admin {
        return Ok(());
    }
    match old {
        Some(old) if old.owner != user.id => forbidden("only the owner or an admin edits a template"),
        Some(old) if old.owner != new.owner => forbidden("only an admin changes a template's owner"),
        Some(old) if !old.public && new.public => forbidden("only an admin makes a template public"),
        None if new.owner != user.id => forbidden("a member creates templates for themselves only"),
        None if new.public => forbidden("only an admin makes a template public"),
        _ => Ok(()),
    }
}

/// A member edits records they own; an admin edits any of the account's.
pub fn can_edit_owned(user: &User, account: AccountId, owner: UserId) -> bool {
    user.account == account && (user.role == Role::Admin || owner == user.id)
}

/// Checks that `user` may save a record of `what` owned by `new_owner` over one owned by `old_owner`
/// (`None` for a new record): members edit only their own and never give one away.
///
/// # Errors
/// [`EngineError::Forbidden`] saying what is not allowed.
pub fn check_owned_save(
    user: &User,
    account: AccountId,
    old_owner: Option<UserId>,
    new_owner: UserId,
    what: &str,
) -> Result<(), EngineError> {
    if user.account != account {
        return Err(EngineError::Forbidden(format!("the {what} belongs to another account")));
    }
    if user.role == Role::Admin {
        return Ok(());
    }
    let reason = match old_owner {
        Some(old) if old != user.id => format!("only the owner or an admin edits a {what}"),
        Some(old) if old != new_owner => format!("only an admin changes a {what}'s owner"),
        None if new_owner != user.id => format!("a member creates a {what} for themselves only"),
        _ => return Ok(()),
    };
    Err(EngineError::Forbidden(reason))
}

/// Checks that `user` is an admin of `account`, who alone edits `what` (the account's settings).
///
/// # Errors
/// [`EngineError::Forbidden`] for a member or a user of another account.
pub fn require_admin(user: &User, account: AccountId, what: &str) -> Result<(), EngineError> {
    if user.account != account || user.role != Role::Admin {
        return Err(EngineError::Forbidden(format!("only an admin edits {what}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, UserId};
    use crate::testkit::fixture::{sample_template, sample_user};

    fn users() -> (User, User, User) {
        let mut admin = sample_user(AccountId(1));
        admin.id = UserId(1);
        let mut anna = sample_user(AccountId(1));
        (anna.id, anna.role) = (UserId(2), Role::Member);
        let mut boris = sample_user(AccountId(1));
        (boris.id, boris.role) = (UserId(3), Role::Member);
        (admin, anna, boris)
    }

    #[test]
    fn members_see_own_and_public_templates_admins_see_all() {
        let (admin, anna, boris) = users();
        let mut t = sample_template(AccountId(1), anna.id);
        assert!(can_use(&anna, &t) && can_use(&admin, &t) && !can_use(&boris, &t));
        t.public = true;
        assert!(can_use(&boris, &t), "a public template is for everyone");
        assert!(
            !can_edit(&boris, &t),
            "a public template is still edited by its owner only"
        );
        assert!(can_edit(&admin, &t) && can_edit(&anna, &t));
        let mut other = sample_user(AccountId(2));
        other.role = Role::Admin;
        assert!(!can_use(&other, &t), "an admin of another account saw the template");
    }

    #[test]
    fn only_admins_change_owner_or_publish() {
        let (admin, anna, boris) = users();
        let old = sample_template(AccountId(1), anna.id);
        let mut publish = old.clone();
        publish.public = true;
        assert!(check_save(&anna, Some(&old), &publish).is_err());
        assert!(check_save(&admin, Some(&old), &publish).is_ok());
        let mut give = old.clone();
        give.owner = boris.id;
        assert!(check_save(&anna, Some(&old), &give).is_err());
        assert!(check_save(&admin, Some(&old), &give).is_ok());
        let mut edit = old.clone();
        edit.name = "Renamed".into();
        assert!(check_save(&anna, Some(&old), &edit).is_ok());
        assert!(
            check_save(&boris, Some(&old), &edit).is_err(),
            "a member edited another's template"
        );
        assert!(check_save(&boris, None, &sample_template(AccountId(1), boris.id)).is_ok());
        assert!(check_save(&boris, None, &sample_template(AccountId(1), anna.id)).is_err());
    }
}
