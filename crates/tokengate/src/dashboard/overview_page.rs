//! (to be built)

/// Write forms for dashboard_tests (each page adds its own).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[];

use std::sync::Arc;

use axum::Router;

use super::dashboard_state::DashboardState;

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
}
