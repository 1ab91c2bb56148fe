//! A [`Crm`] that logs every change the engine makes in the CRM and every failed read, one line each, and
//! counts every call by operation and result in [`Metrics`].

use std::sync::Arc;

use async_trait::async_trait;
use mailer_core::model::{
    AccountId, ActionOutcome, CrmAction, EntityKind, EntityRecord, EntityRef, FieldDef, Pipeline,
};
use mailer_core::ports::{Crm, CrmCaps, CrmError, DynCrm};

use super::Metrics;

/// Wraps a CRM, logs each [`Crm::apply`] (`crm change`) with its outcome and each failed read (`crm read
/// failed`: the email that needed it is retried, which no other line says), and counts every call.
#[derive(Debug)]
pub struct LoggedCrm {
    inner: Arc<DynCrm>,
    metrics: Arc<Metrics>,
}

impl LoggedCrm {
    /// Wraps `inner`, counting its calls in `metrics`.
    pub fn new(inner: Arc<DynCrm>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    /// Counts a read and logs it when it failed.
    fn read<T>(&self, account: AccountId, op: &'static str, result: &Result<T, CrmError>) {
        self.count(op, result);
        if let Err(e) = result {
            tracing::warn!(account = %account, op, error = %e, "crm read failed");
        }
    }

    fn count<T>(&self, op: &'static str, result: &Result<T, CrmError>) {
        let label = match result {
            Ok(_) => "ok",
            Err(CrmError::RateLimited { .. }) => "rate_limited",
            Err(_) => "error",
        };
        self.metrics.crm_call(op, label);
    }
}

#[async_trait]
impl Crm for LoggedCrm {
    fn capabilities(&self) -> CrmCaps {
        self.inner.capabilities()
    }

    async fn entity(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError> {
        let result = self.inner.entity(account, entity).await;
        self.read(account, "entity", &result);
        result
    }

    async fn entities(&self, account: AccountId, entities: &[EntityRef]) -> Result<Vec<EntityRecord>, CrmError> {
        let result = self.inner.entities(account, entities).await;
        self.read(account, "entities", &result);
        result
    }

    async fn fields(&self, account: AccountId, kind: EntityKind) -> Result<Vec<FieldDef>, CrmError> {
        let result = self.inner.fields(account, kind).await;
        self.read(account, "fields", &result);
        result
    }

    async fn pipelines(&self, account: AccountId) -> Result<Vec<Pipeline>, CrmError> {
        let result = self.inner.pipelines(account).await;
        self.read(account, "pipelines", &result);
        result
    }

    async fn apply(&self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        let result = self.inner.apply(account, action).await;
        self.count("apply", &result);
        match &result {
            Ok(_) => tracing::info!(account = %account, ?action, "crm change"),
            Err(e) => tracing::warn!(account = %account, ?action, error = %e, "crm change failed"),
        }
        result
    }
}
