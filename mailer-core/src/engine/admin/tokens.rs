//! API tokens: create (the secret is returned once, only its SHA-256 is kept), list, revoke, and
//! authenticate a bearer token to its account and user.
//!
//! A token reads `mk_<account>_<id>_<secret>`: the account and id find the record without scanning other
//! accounts; the secret (32 random bytes from the host, base64url) is checked against the stored hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::model::{AccountId, ApiToken, ApiTokenId, Role, User, UserId};
use crate::ports::StoreExt;

use super::{actor, check_name};
use crate::engine::{Engine, EngineError};

/// The prefix of every API token.
pub const TOKEN_PREFIX: &str = "mk_";

fn hash_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits `mk_<account>_<id>_<secret>`.
fn parse(token: &str) -> Option<(AccountId, ApiTokenId, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let mut parts = rest.splitn(3, '_');
    let account = parts.next()?.parse::<i64>().ok()?;
    let id = parts.next()?.parse::<i64>().ok()?;
    let secret = parts.next()?;
    (account > 0 && id > 0 && !secret.is_empty()).then_some((AccountId(account), ApiTokenId(id), secret))
}

fn forbidden(what: &str) -> EngineError {
    EngineError::Forbidden(what.to_owned())
}

impl Engine {
    /// Creates an API token for `user`, asked by `actor_id` (the user themself or an admin), from 32 random
    /// bytes the host drew. Returns the record and the token to give to the user — the only time it is seen.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::Invalid`] (`name`); [`EngineError::Store`] (`NotFound`
    /// for an unknown user).
    pub async fn create_api_token(
        &self,
        account: AccountId,
        actor_id: UserId,
        user: UserId,
        name: &str,
        secret: [u8; 32],
    ) -> Result<(ApiToken, String), EngineError> {
        let store = &*self.ports.store;
        let me = actor(store, account, actor_id).await?;
        if me.role != Role::Admin && me.id != user {
            return Err(forbidden("a member creates tokens for themselves only"));
        }
        actor(store, account, user).await?;
        check_name("name", name, 200)?;
        let secret = URL_SAFE_NO_PAD.encode(secret);
        let record = store
            .insert(ApiToken {
                id: ApiTokenId(0),
                account,
                user,
                name: name.to_owned(),
                hash: hash_hex(&secret),
                created_at: self.now(),
                revoked_at: None,
            })
            .await?;
        let token = format!("{TOKEN_PREFIX}{account}_{}_{secret}", record.id);
        Ok((record, token))
    }

    /// The tokens `actor_id` may see: their own (all of the account's for an admin), hashes included
    /// (a hash does not give the token).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn api_tokens(&self, account: AccountId, actor_id: UserId) -> Result<Vec<ApiToken>, EngineError> {
        let me = actor(&*self.ports.store, account, actor_id).await?;
        let all: Vec<ApiToken> = self.ports.store.list(account).await?;
        Ok(all
            .into_iter()
            .filter(|t| me.role == Role::Admin || t.user == me.id)
            .collect())
    }

    /// Revokes a token (its owner or an admin may); revoking twice keeps the first time.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::Store`] (`NotFound`).
    pub async fn revoke_api_token(
        &self,
        account: AccountId,
        actor_id: UserId,
        id: ApiTokenId,
    ) -> Result<ApiToken, EngineError> {
        let store = &*self.ports.store;
        let me = actor(store, account, actor_id).await?;
        let mut token: ApiToken = store.get(account, id).await?;
        if me.role != Role::Admin && token.user != me.id {
            return Err(forbidden("only the token's user or an admin revokes it"));
        }
        if token.revoked_at.is_none() {
            token.revoked_at = Some(self.now());
            store.update(&token).await?;
        }
        Ok(token)
    }

    /// The account and user a bearer token acts as; `None` for a malformed, unknown or revoked token, or one
    /// whose user is gone.
    ///
    /// # Errors
    /// [`EngineError::Store`] for a store failure other than "not found".
    pub async fn authenticate(&self, token: &str) -> Result<Option<(AccountId, User)>, EngineError> {
        let Some((account, id, secret)) = parse(token) else {
            return Ok(None);
        };
        let store = &*self.ports.store;
        let record: ApiToken = match store.get(account, id).await {
            Ok(r) => r,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if record.revoked_at.is_some() || !same(&record.hash, &hash_hex(secret)) {
            return Ok(None);
        }
        match store.get::<User>(account, record.user).await {
            Ok(user) => Ok(Some((account, user))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_only_in_their_shape() {
        assert_eq!(parse("mk_3_7_abc"), Some((AccountId(3), ApiTokenId(7), "abc")));
        assert_eq!(parse("mk_3_7_a_b"), Some((AccountId(3), ApiTokenId(7), "a_b")));
        for bad in [
            "",
            "mk_",
            "mk_3_7_",
            "xx_3_7_abc",
            "mk_a_7_abc",
            "mk_0_7_abc",
            "mk_3_-1_abc",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
