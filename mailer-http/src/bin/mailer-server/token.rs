//! `token create|revoke`: API tokens for the admin API, made on the server (the first token of an account
//! cannot come from the API itself).

use clap::{Args, Subcommand};
use mailer_core::model::{AccountId, ApiTokenId, UserId};

use crate::BoxError;
use crate::config::Config;
use crate::wiring;

/// `mailer-server token …`.
#[derive(Debug, Clone, Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Debug, Clone, Subcommand)]
enum TokenAction {
    /// Creates a token acting as a user and prints it (only this once; only its hash is kept).
    Create {
        /// The account.
        #[arg(long)]
        account: i64,
        /// The user the token acts as (their rights apply).
        #[arg(long)]
        user: i64,
        /// A label for lists.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Revokes a token, acting as its user.
    Revoke {
        /// The account.
        #[arg(long)]
        account: i64,
        /// The token's user.
        #[arg(long)]
        user: i64,
        /// The token's id (the number after the account in `mk_<account>_<id>_…`).
        #[arg(long)]
        id: i64,
    },
}

/// Runs the action against the configured store.
pub(crate) async fn run(config: &Config, args: TokenArgs) -> Result<(), BoxError> {
    let store = wiring::store(config).await?;
    let metrics = std::sync::Arc::new(mailer_http::Metrics::default());
    let wired = wiring::wire(
        config,
        store.clone(),
        wiring::transport(config)?,
        wiring::kommo(config, &metrics)?,
        metrics,
    )?;
    let engine = wired.engine("token");
    let result = match args.action {
        TokenAction::Create { account, user, name } => {
            let (account, user) = (AccountId(account), UserId(user));
            mailer_http::api::tokens::create_token(&engine, account, user, user, &name)
                .await
                .map(|(record, token)| {
                    // Only the token on stdout (`TOKEN=$(mailer-server token create …)`); the note on stderr.
                    eprintln!("API token {} created for user {user} of account {account}", record.id);
                    println!("{token}");
                })
                .map_err(|e| BoxError::from(e.to_string()))
        }
        TokenAction::Revoke { account, user, id } => engine
            .revoke_api_token(AccountId(account), UserId(user), ApiTokenId(id))
            .await
            .map(|t| tracing::info!(id = %t.id, "API token revoked"))
            .map_err(BoxError::from),
    };
    store.close().await;
    result
}
