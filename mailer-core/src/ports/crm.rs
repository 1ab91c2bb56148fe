//! The CRM port: reads entities and carries out actions.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::model::{AccountId, ActionOutcome, CrmAction, EntityKind, EntityRecord, EntityRef, FieldDef, Pipeline};

/// The most entities one [`Crm::entities`] call is asked for (Kommo's largest page).
pub const MAX_BATCH_READ: usize = 250;

/// A CRM call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrmError {
    /// The entity (or field, stage, user) does not exist.
    #[error("{what} {id} not found in the CRM")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The CRM refused a value (a non-number for a numeric field, an unknown list value …).
    #[error("invalid value for {field}: {detail}")]
    InvalidValue {
        /// The field or parameter.
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// Too many requests; try again after the given time.
    #[error("rate limited by the CRM, retry after {retry_after:?}")]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The credentials are missing, expired or revoked.
    #[error("not authorised by the CRM")]
    Unauthorized,
    /// The account is blocked (Kommo answers 403): stop calling it.
    #[error("the CRM account is blocked")]
    Blocked,
    /// Network, protocol or server failure.
    #[error("CRM backend failed")]
    Backend(#[source] BoxError),
}

impl CrmError {
    /// True when the same call may work later (rate limits and backend failures).
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Backend(_))
    }
}

/// What a CRM adapter can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmCaps {
    /// It has companies.
    pub companies: bool,
    /// It has tasks.
    pub tasks: bool,
    /// It has pipelines with stages.
    pub pipelines: bool,
    /// It has tags.
    pub tags: bool,
}

impl CrmCaps {
    /// Everything.
    pub const ALL: Self = Self {
        companies: true,
        tasks: true,
        pipelines: true,
        tags: true,
    };
}

/// Reads CRM data for emails and carries out trigger actions.
///
/// # Contract
/// - [`Crm::entity`] returns the entity with its custom fields, tags, linked contacts (each with its
///   addresses), linked company, first lead and responsible user.
/// - [`Crm::apply`] carries out exactly one action, with these semantics: a text field is replaced; a
///   numeric field takes the number; a list takes the enum value; a multilist adds the value to its
///   selection; a switch turns on or off; a date is set to the day; `Reset` clears any field (lists emptied,
///   switch off); tags are added and removed; a created lead is linked to the contact.
/// - Implementations pass [`testkit::crm_conformance`](crate::testkit::crm_conformance).
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait Crm: Send + Sync + std::fmt::Debug {
    /// What this CRM can do.
    fn capabilities(&self) -> CrmCaps;

    /// True when [`Crm::entities`] reads many entities in one request: the engine then reads the records of
    /// a mailing's next emails ahead in batches (see
    /// [`EngineConfig::crm_max_age`](crate::engine::EngineConfig::crm_max_age) for how old they may get).
    /// The default, false, keeps one [`Crm::entity`] read per email at send time.
    fn batch_reads(&self) -> bool {
        false
    }

    /// Reads an entity and what is linked to it.
    ///
    /// # Errors
    /// [`CrmError::NotFound`] for an unknown entity, others as they come.
    async fn entity(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError>;

    /// Reads several entities and what is linked to each, as [`Crm::entity`] does for one; entities the
    /// CRM does not know are left out of the answer (the order of the answer is not significant). Callers
    /// pass at most [`MAX_BATCH_READ`] at once. The default reads them one by one; adapters whose CRM can
    /// read many entities in one request (Kommo: `filter[id][]`, 250 per page) override it.
    ///
    /// # Errors
    /// As [`Crm::entity`], except [`CrmError::NotFound`] for a single entity, which is left out instead.
    async fn entities(&self, account: AccountId, entities: &[EntityRef]) -> Result<Vec<EntityRecord>, CrmError> {
        let mut out = Vec::with_capacity(entities.len());
        for &entity in entities {
            match self.entity(account, entity).await {
                Ok(record) => out.push(record),
                Err(CrmError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The custom field definitions of an entity kind.
    ///
    /// # Errors
    /// As they come from the CRM.
    async fn fields(&self, account: AccountId, kind: EntityKind) -> Result<Vec<FieldDef>, CrmError>;

    /// The pipelines and their stages.
    ///
    /// # Errors
    /// As they come from the CRM.
    async fn pipelines(&self, account: AccountId) -> Result<Vec<Pipeline>, CrmError>;

    /// Carries out one action.
    ///
    /// # Errors
    /// [`CrmError::InvalidValue`] when the CRM refuses a value, [`CrmError::NotFound`] for unknown entities,
    /// fields or stages, others as they come.
    async fn apply(&self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError>;
}

/// A CRM behind a pointer.
pub type DynCrm = dyn Crm;
