//! The REST API under `/api/v1`. Each module is one resource; the OpenAPI document is
//! generated from the handlers' annotations.

pub mod alerts;
pub mod asset_control;
pub mod asset_transfer;
pub mod assets;
pub mod audit;
pub mod event_searches;
pub mod events;
pub mod evidence;
pub mod findings;
pub mod identity;
pub mod incidents;
pub mod intel;
pub mod response;
pub mod risk;
pub mod rule_sets;
pub mod rules;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod work_orders;

use crate::state::AppState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
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
        (name = "events", description = "Event intake, search and counts (MO.1, MO.2.a, MO.4.d)"),
        (name = "alerts", description = "Detection alerts, suppressions and webhooks (MO.2.a, MO.3.c)"),
        (name = "rules", description = "Sigma detection rules per tenant (MO.2.a)"),
        (name = "intel", description = "Threat-intelligence feeds (MO.1.b)"),
        (name = "risk", description = "Threat catalog, risk register, heat map, trend and analysis report (I.2, I.3.b–c)"),
        (name = "findings", description = "Vulnerability findings, imports, work orders and SLAs (I.3)"),
        (name = "respond", description = "Incidents, the seven phases, plans and drills, playbooks, evidence, reports and metrics (R.1, R.2)"),
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
        .routes(routes!(
            asset_control::list_relations,
            asset_control::create_relation
        ))
        .routes(routes!(asset_control::delete_relation))
        .routes(routes!(asset_control::neighbourhood))
        .routes(routes!(asset_control::graph_svg))
        .routes(routes!(
            asset_control::list_rules,
            asset_control::create_rule
        ))
        .routes(routes!(
            asset_control::update_rule,
            asset_control::delete_rule
        ))
        .routes(routes!(asset_control::list_alerts))
        .routes(routes!(asset_control::get_alert))
        .routes(routes!(asset_control::decide_alert))
        .routes(routes!(
            asset_control::list_queries,
            asset_control::create_query
        ))
        .routes(routes!(asset_control::delete_query))
        .routes(routes!(asset_control::exposure))
        .routes(
            routes!(events::ingest).layer(axum::extract::DefaultBodyLimit::max(
                events::INGEST_BODY_LIMIT,
            )),
        )
        .routes(routes!(events::search))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert, alerts::patch_alert))
        .routes(routes!(alerts::comment_alert))
        .routes(routes!(
            alerts::list_suppressions,
            alerts::create_suppression
        ))
        .routes(routes!(alerts::end_suppression))
        .routes(routes!(alerts::list_webhooks, alerts::create_webhook))
        .routes(routes!(alerts::delete_webhook))
        .routes(
            routes!(findings::import_findings).layer(axum::extract::DefaultBodyLimit::max(
                findings::REPORT_BODY_LIMIT,
            )),
        )
        .routes(routes!(findings::list_findings))
        .routes(routes!(findings::finding_groups))
        .routes(routes!(findings::list_imports))
        .routes(routes!(findings::get_finding))
        .routes(routes!(findings::get_settings, findings::put_settings))
        .routes(routes!(work_orders::list_work_orders))
        .routes(routes!(work_orders::sla))
        .routes(routes!(work_orders::bulk_change))
        .routes(routes!(
            work_orders::get_work_order,
            work_orders::patch_work_order
        ))
        .routes(routes!(work_orders::comment_work_order))
        .routes(
            routes!(work_orders::attach).layer(axum::extract::DefaultBodyLimit::max(
                work_orders::ATTACHMENT_BODY_LIMIT,
            )),
        )
        .routes(routes!(work_orders::get_attachment))
        .routes(routes!(
            incidents::list_incidents,
            incidents::create_incident
        ))
        .routes(routes!(incidents::metrics))
        .routes(routes!(incidents::get_incident, incidents::patch_incident))
        .routes(routes!(incidents::add_link))
        .routes(routes!(incidents::add_observables))
        .routes(routes!(incidents::add_task))
        .routes(routes!(incidents::patch_task))
        .routes(routes!(incidents::notice_reported))
        .routes(routes!(incidents::add_improvement))
        .routes(routes!(incidents::report))
        .routes(routes!(incidents::archive))
        .routes(routes!(incidents::archived_report))
        .routes(routes!(evidence::upload, evidence::list).layer(
            axum::extract::DefaultBodyLimit::max(evidence::EVIDENCE_BODY_LIMIT + 1024 * 1024),
        ))
        .routes(routes!(evidence::capture_search))
        .routes(routes!(evidence::download))
        .routes(routes!(evidence::custody, evidence::transfer))
        .routes(routes!(evidence::export))
        .routes(routes!(response::list_plans, response::save_plan))
        .routes(routes!(response::get_plan))
        .routes(routes!(response::plan_versions))
        .routes(routes!(response::list_drills, response::schedule_drill))
        .routes(routes!(response::record_drill))
        .routes(routes!(response::add_drill_improvement))
        .routes(routes!(response::close_improvement))
        .routes(routes!(response::get_settings, response::put_settings))
        .routes(routes!(response::list_playbooks, response::save_playbook))
        .routes(routes!(response::switch_playbook))
        .routes(routes!(response::run_playbook))
        .routes(routes!(response::list_runs))
        .routes(routes!(response::get_run))
        .routes(routes!(response::decide))
        .routes(routes!(risk::list_threats, risk::create_threat))
        .routes(routes!(risk::refresh_threats))
        .routes(routes!(
            risk::get_threat,
            risk::put_threat,
            risk::delete_threat
        ))
        .routes(routes!(risk::list_risks, risk::create_risk))
        .routes(routes!(risk::heat_map))
        .routes(routes!(risk::trend))
        .routes(routes!(risk::reassess))
        .routes(routes!(risk::report))
        .routes(routes!(risk::get_risk, risk::put_risk))
        .routes(routes!(rules::list_rules))
        .routes(routes!(rule_sets::list_sets, rule_sets::create_set).layer(
            axum::extract::DefaultBodyLimit::max(rule_sets::SET_BODY_LIMIT + 1024 * 1024),
        ))
        .routes(routes!(rule_sets::delete_set))
        .routes(routes!(rules::get_rule))
        .routes(routes!(rules::put_enabled))
        .routes(
            routes!(rules::post_test).layer(axum::extract::DefaultBodyLimit::max(
                events::INGEST_BODY_LIMIT,
            )),
        )
        .routes(routes!(intel::list_feeds))
        .routes(
            routes!(intel::create_feed)
                .layer(axum::extract::DefaultBodyLimit::max(intel::FEED_BODY_LIMIT)),
        )
        .routes(routes!(intel::delete_feed))
        .routes(routes!(events::aggregate))
        .routes(routes!(
            event_searches::list_searches,
            event_searches::create_search
        ))
        .routes(routes!(event_searches::delete_search))
        .routes(routes!(event_searches::export))
        .routes(routes!(events::get_retention, events::set_retention))
        .routes(routes!(
            events::list_ingest_tokens,
            events::create_ingest_token
        ))
        .routes(routes!(events::revoke_ingest_token))
}
