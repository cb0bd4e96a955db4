//! The REST API under `/api/v1`. Each module is one resource; the OpenAPI document is
//! generated from the handlers' annotations.

pub mod asset_transfer;
pub mod assets;
pub mod audit;
pub mod identity;
pub mod tenants;
pub mod tokens;
pub mod users;

use crate::state::AppState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "yunshou 云守 API", description = "Security operations for government-cloud data centres: identify, protect, monitor, respond."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "identity", description = "Sign-in, the current user, tokens"),
        (name = "tenants", description = "Tenants (operation modes M.a–M.c)"),
        (name = "users", description = "Users and per-tenant roles"),
        (name = "audit", description = "The SM3 hash-chained audit trail"),
        (name = "assets", description = "The asset ledger (I.1)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(identity::login))
        .routes(routes!(identity::logout))
        .routes(routes!(identity::me))
        .routes(routes!(identity::change_password))
        .routes(routes!(identity::roles))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(tenants::list_tenants, tenants::create_tenant))
        .routes(routes!(tenants::get_tenant))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user))
        .routes(routes!(users::grant_role))
        .routes(routes!(users::revoke_role))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::unlock_user))
        .routes(routes!(users::set_disabled))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::export_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(audit::get_audit))
        .routes(routes!(assets::list_assets, assets::create_asset))
        .routes(routes!(assets::asset_stats))
        .routes(routes!(asset_transfer::import_assets))
        .routes(routes!(asset_transfer::export))
        .routes(routes!(assets::ledger_history))
        .routes(routes!(
            assets::get_asset,
            assets::patch_asset,
            assets::delete_asset
        ))
        .routes(routes!(assets::move_lifecycle))
        .routes(routes!(assets::asset_history))
}
