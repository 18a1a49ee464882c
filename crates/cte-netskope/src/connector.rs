//! [`NetskopeConnector`]: builds a [`NetskopeClient`] from a stored tenant, for callers that know
//! only the core's [`TenantConnector`] port.

use std::sync::Arc;

use cte_core::tenant::{TenantClient, TenantError};
use cte_core::tenant_config::{NetskopeTenant, TenantConnector};

use crate::settings::{RetryPolicy, Secret, TenantSettings};
use crate::NetskopeClient;

/// Connects to tenants with the given retry policy (the default one unless set).
#[derive(Debug, Clone, Default)]
pub struct NetskopeConnector {
    /// Retry policy of every client made; `None` keeps the client's default.
    pub retry: Option<RetryPolicy>,
}

impl TenantConnector for NetskopeConnector {
    fn connect(
        &self,
        tenant: &NetskopeTenant,
        ssl_validation: bool,
    ) -> Result<Arc<dyn TenantClient>, TenantError> {
        let mut settings =
            TenantSettings::new(&tenant.tenant_name, Secret::new(tenant.v2_token.expose()))
                .map_err(|e| TenantError::InvalidInput(format!("tenant '{}': {e}", tenant.name)))?;
        settings.v1_token = tenant.v1_token.as_ref().map(|t| Secret::new(t.expose()));
        settings.ssl_validation = ssl_validation;
        settings.use_system_proxy = tenant.use_system_proxy;
        if let Some(retry) = &self.retry {
            settings.retry = *retry;
        }
        let client = NetskopeClient::new(settings)
            .map_err(|e| TenantError::InvalidInput(format!("tenant '{}': {e}", tenant.name)))?;
        Ok(Arc::new(client))
    }
}
