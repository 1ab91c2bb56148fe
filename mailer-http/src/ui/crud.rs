//! The save and delete of every list screen (mailboxes, triggers, trigger links, web pages, pipeline
//! rules), written once over the [`Resource`] the admin API serves: a screen says how its form reads into
//! the record and how it is drawn again with a refusal; saving and deleting are the resource's engine calls
//! as the signed-in user, behind the session's CSRF check.

use std::future::Future;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::UiError;
use super::form::FormData;
use super::session::Session;
use crate::resource::Resource;
use crate::server::AppState;

/// A list screen of one kind of record, with its form below the list.
pub(crate) trait ListScreen: Resource {
    /// The screen's path (`/ui/links`), where a save or a delete goes back to.
    const LIST: &'static str;

    /// The record of a submitted form, its id from the form (0 for a new one) and its account the session's.
    fn read(
        state: &AppState,
        session: &Session,
        form: &FormData,
    ) -> impl Future<Output = Result<Self::Record, UiError>> + Send;

    /// The screen with the form opened on `edit` (a new record when `None`) and `error` shown above it.
    fn render(
        state: &AppState,
        session: &Session,
        edit: Option<i64>,
        error: Option<&str>,
        status: StatusCode,
    ) -> impl Future<Output = Result<Response, UiError>> + Send;

    /// What follows a save: back to the list (so a reload does not post again).
    fn saved(
        state: &AppState,
        session: &Session,
        item: Self::Item,
    ) -> impl Future<Output = Result<Response, UiError>> + Send {
        let _ = (state, session, item);
        async { Ok(Redirect::to(Self::LIST).into_response()) }
    }
}

/// `POST /ui/{screen}`: the form saved through the resource (the engine checks rights, references and
/// loops); a refusal shows the screen again with the reason in words and the engine's status.
pub(crate) async fn save<S: ListScreen>(
    State(state): State<AppState>,
    session: Session,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    let edit = form.parse_opt::<i64>("id", "an id")?.filter(|id| *id != 0);
    let saved = async {
        let record = S::read(&state, &session, &form).await?;
        Ok::<_, UiError>(S::save(state.engine(), &session.caller(), record).await?)
    }
    .await;
    match saved {
        Ok(item) => S::saved(&state, &session, item).await,
        Err(e) => S::render(&state, &session, edit, Some(&e.to_string()), e.status()).await,
    }
}

/// `POST /ui/{screen}/{id}/delete`: refused while other records use it (the engine names them).
pub(crate) async fn delete<S: ListScreen>(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    S::delete(state.engine(), &session.caller(), id).await?;
    Ok(Redirect::to(S::LIST).into_response())
}
