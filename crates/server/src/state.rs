//! What every request handler shares.

use crate::auth::AuthCache;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use yunshou_store::Store;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The state store.
    pub store: Arc<Store>,
    /// Recently resolved credentials.
    pub auth_cache: Arc<AuthCache>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Cookies get `Secure` when served over TLS.
    pub secure_cookies: bool,
    /// Minutes a session may stay unused.
    pub session_idle_minutes: i64,
    /// The event pipeline (absent in tools that only serve the API on a store).
    pub pipeline: Option<yunshou_ingest::Pipeline>,
    /// Streaming detection (with the pipeline).
    pub detection: Option<Arc<crate::detection::StreamDetector>>,
    /// Threat-intelligence indicators per tenant.
    pub intel: Arc<crate::intel::IntelBook>,
    /// The respond stage: evidence key, report font, playbook mail relay.
    pub respond: Arc<crate::respond::Responder>,
}
