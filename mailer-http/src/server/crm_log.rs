//! A [`Crm`] that logs every change the engine makes in the CRM, one line each.

use std::sync::Arc;

use async_trait::async_trait;
use mailer_core::model::{
    AccountId, ActionOutcome, CrmAction, EntityKind, EntityRecord, EntityRef, FieldDef, Pipeline,
};
use mailer_core::ports::{Crm, CrmCaps, CrmError, DynCrm};

/// Wraps a CRM and logs each [`Crm::apply`] (`crm change`) with its outcome.
#[derive(Debug)]
pub struct LoggedCrm {
    inner: Arc<DynCrm>,
}

impl LoggedCrm {
    /// Wraps `inner`.
    pub fn new(inner: Arc<DynCrm>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl Crm for LoggedCrm {
    fn capabilities(&self) -> CrmCaps {
        self.inner.capabilities()
    }

    async fn entity(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError> {
        self.inner.entity(account, entity).await
    }

    async fn entities(&self, account: AccountId, entities: &[EntityRef]) -> Result<Vec<EntityRecord>, CrmError> {
        self.inner.entities(account, entities).await
    }

    async fn fields(&self, account: AccountId, kind: EntityKind) -> Result<Vec<FieldDef>, CrmError> {
        self.inner.fields(account, kind).await
    }

    async fn pipelines(&self, account: AccountId) -> Result<Vec<Pipeline>, CrmError> {
        self.inner.pipelines(account).await
    }

    async fn apply(&self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        let result = self.inner.apply(account, action).await;
        match &result {
            Ok(_) => tracing::info!(account = %account, ?action, "crm change"),
            Err(e) => tracing::warn!(account = %account, ?action, error = %e, "crm change failed"),
        }
        result
    }
}
