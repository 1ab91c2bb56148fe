//! Where a list screen's form goes once the engine has answered: back to the list when saved (so a reload
//! does not post again), or the screen again with the refusal in words and the engine's status.

use std::future::Future;

use axum::response::{IntoResponse, Redirect, Response};

use super::error::UiError;

/// Redirects to `list` when `saved` is `Ok`, else shows the screen again through `again`.
pub(crate) async fn after_save<T, Fut>(
    saved: Result<T, UiError>,
    list: &str,
    again: impl FnOnce(UiError) -> Fut,
) -> Result<Response, UiError>
where
    Fut: Future<Output = Result<Response, UiError>>,
{
    match saved {
        Ok(_) => Ok(Redirect::to(list).into_response()),
        Err(e) => again(e).await,
    }
}
