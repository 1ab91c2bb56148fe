//! A submitted form as name/value pairs (repeated names kept, for checkbox lists), with typed readers that
//! name the field they refuse; a multipart form (the template editor's, which uploads files) also keeps
//! its file parts.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::UiError;
use crate::upload::{FilePart, ReadError, UPLOAD_BODY_LIMIT, read_file};

/// Which record a list screen opens in its form (`?edit=ID`).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct EditQuery {
    /// The record's id.
    pub(crate) edit: Option<i64>,
}

/// A comma-separated list, trimmed, without empty items.
pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The fields of an `application/x-www-form-urlencoded` or `multipart/form-data` body.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormData {
    fields: Vec<(String, String)>,
    files: Vec<FilePart>,
}

impl FormData {
    /// The files chosen in the form's file inputs (an input left empty sends none).
    pub(crate) fn take_files(&mut self) -> Vec<FilePart> {
        std::mem::take(&mut self.files)
    }

    /// The first value of `name`, or `""`.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, when not empty.
    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when a checkbox named `name` was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// A number (or other parsed value) that must be there.
    pub(crate) fn parse<T: FromStr>(&self, name: &'static str, what: &str) -> Result<T, UiError> {
        self.get(name).trim().parse().map_err(|_| UiError::Invalid {
            field: name,
            reason: format!("must be {what}"),
        })
    }

    /// A parsed value, when the field is not empty.
    pub(crate) fn parse_opt<T: FromStr>(&self, name: &'static str, what: &str) -> Result<Option<T>, UiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(_) => self.parse(name, what).map(Some),
        }
    }

    /// Every value of `name` parsed as ids.
    pub(crate) fn ids(&self, name: &'static str) -> Result<Vec<i64>, UiError> {
        self.all(name)
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim().parse().map_err(|_| UiError::Invalid {
                    field: name,
                    reason: "must be a list of ids".into(),
                })
            })
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            let form = Multipart::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return read_multipart(form).await.map_err(|e| {
                let status = match &e {
                    ReadError::TooLarge(_) => axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    ReadError::Body(status, _) => *status,
                };
                (status, e.to_string()).into_response()
            });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            fields: form_urlencoded::parse(&bytes).into_owned().collect(),
            files: Vec::new(),
        })
    }
}

/// Text fields and file parts; a file input left empty (no file name, no bytes) is skipped. Each file is
/// read up to the route's body limit: the engine checks it against its own limit before storing it.
async fn read_multipart(mut form: Multipart) -> Result<FormData, ReadError> {
    let mut data = FormData::default();
    while let Some(field) = form.next_field().await? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        if field.file_name().is_some() {
            let file = read_file(field, UPLOAD_BODY_LIMIT as u64).await?;
            if !(file.name.is_empty() && file.bytes.is_empty()) {
                data.files.push(file);
            }
        } else {
            let value = field.text().await?;
            data.fields.push((name, value));
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_all_kept_and_numbers_name_their_field() {
        let form = FormData {
            fields: form_urlencoded::parse(b"t=1&t=2&n=x&e=").into_owned().collect(),
            files: Vec::new(),
        };
        assert_eq!(form.ids("t").unwrap(), [1, 2]);
        let err = form.parse::<u32>("n", "a whole number").unwrap_err();
        assert_eq!(err.to_string(), "n: must be a whole number");
        assert_eq!(form.parse_opt::<u32>("e", "a number").unwrap(), None);
    }
}
