//! The demo: a deterministic, realistic government-cloud setting that shows every capability
//! within a minute of the first command.
//!
//! A provider (the managed-security operator) and two customer organisations, with users in
//! every role, provider staff granted across tenants, and a little real history — made
//! through the same store calls the product uses, so the audit trail is genuine.
//! Later capabilities add their own seed data here.

mod asset_story;
mod assets;
pub mod detection;
pub mod events;
pub mod respond;
pub mod vuln;

use anyhow::Context;
use yunshou_model::{Actor, Role, Scope, TenantKind};
use yunshou_store::Store;

/// The password every demo account gets. Printed by `yunshou demo`; never use it elsewhere.
pub const DEMO_PASSWORD: &str = "Yunshou-Demo-2026";

/// The customer tenants of the demo: (name, display name).
pub const CUSTOMERS: [(&str, &str); 2] = [
    ("jiangning-dsj", "江宁市大数据管理局"),
    ("qinghe-rsj", "清河省人力资源和社会保障厅"),
];

/// Provider staff: (username, display name, role in the provider tenant).
const PROVIDER_STAFF: [(&str, &str, Role); 5] = [
    ("chen.jing", "陈静（安全分析）", Role::Analyst),
    ("li.qiang", "李强（应急响应）", Role::Responder),
    ("wang.fang", "王芳（资产管理）", Role::AssetOwner),
    ("zhao.min", "赵敏（安全审计）", Role::Auditor),
    ("sun.lei", "孙磊（值班观察）", Role::Viewer),
];

/// Customer accounts, one per role: (suffix, display name, role).
const CUSTOMER_STAFF: [(&str, &str, Role); 6] = [
    ("admin", "信息中心主任", Role::Admin),
    ("analyst", "网络安全专员", Role::Analyst),
    ("responder", "运维值班员", Role::Responder),
    ("owner", "业务系统负责人", Role::AssetOwner),
    ("auditor", "安全审计员", Role::Auditor),
    ("viewer", "领导查看账号", Role::Viewer),
];

/// What the seeding did.
#[derive(Debug, Default)]
pub struct Summary {
    /// False when the data directory already held the demo.
    pub seeded: bool,
    /// Accounts created.
    pub users: usize,
    /// Assets created.
    pub assets: usize,
}

/// A day of logs for each customer organisation, ending `end`: (tenant id, lines).
pub async fn event_days(
    store: &Store,
    end: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let mut out = Vec::new();
    for (i, (name, _)) in CUSTOMERS.iter().enumerate() {
        let (tenant, scope) = store.operator_scope(name).await?;
        let (ledger, _) = store
            .list_assets(
                &scope,
                &Default::default(),
                Default::default(),
                yunshou_store::Page {
                    limit: 1000,
                    offset: 0,
                },
            )
            .await?;
        out.push((tenant.id, events::day(&ledger, 0xE7E7 + i as u64, end)));
    }
    Ok(out)
}

/// Seeds the demo into a store that has been bootstrapped. Does nothing if already seeded.
pub async fn seed(store: &Store) -> anyhow::Result<Summary> {
    if store.tenant_by_name(CUSTOMERS[0].0).await?.is_some() {
        return Ok(Summary::default());
    }
    let (_, provider_scope) = store
        .operator_scope("default")
        .await
        .context("bootstrap first")?;
    let admin = store
        .user_by_username("admin")
        .await?
        .context("bootstrap first")?;
    let admin_actor = Actor {
        user_id: Some(admin.id.clone()),
        name: admin.username.clone(),
        source_ip: Some("10.10.1.5".into()),
    };
    let mut users = 0;

    let mut staff = Vec::new();
    for (username, display, role) in PROVIDER_STAFF {
        let u = store
            .create_user(
                &provider_scope,
                username,
                display,
                DEMO_PASSWORD,
                role,
                &admin_actor,
            )
            .await?;
        staff.push(u.user);
        users += 1;
    }

    for (i, (name, display)) in CUSTOMERS.iter().enumerate() {
        // The provider's administrator creates the tenant and so becomes its admin too.
        let tenant = store
            .create_tenant(
                name,
                display,
                TenantKind::Customer,
                &admin_actor,
                Some(&provider_scope),
            )
            .await?;
        let (_, scope) = store.operator_scope(&tenant.name).await?;
        let prefix = if i == 0 { "jn" } else { "qh" };
        for (suffix, title, role) in CUSTOMER_STAFF {
            let username = format!("{prefix}.{suffix}");
            let display_name = format!("{title}（{}）", display);
            store
                .create_user(
                    &scope,
                    &username,
                    &display_name,
                    DEMO_PASSWORD,
                    role,
                    &admin_actor,
                )
                .await?;
            users += 1;
        }
        // Provider staff work for the customer under the managed-service contract (M.c).
        store
            .grant_role(&scope, &staff[0].id, Role::Analyst, true, &admin_actor)
            .await?;
        if i == 0 {
            store
                .grant_role(&scope, &staff[1].id, Role::Responder, true, &admin_actor)
                .await?;
        }
    }

    // A little real history: sign-ins, a brute-force attempt that locks an account, a token.
    for username in ["chen.jing", "jn.admin", "jn.analyst", "qh.auditor"] {
        store
            .login(username, DEMO_PASSWORD, Some("10.20.3.17"))
            .await?;
    }
    for _ in 0..yunshou_store::MAX_FAILED_LOGINS {
        store
            .login("jn.viewer", "guess-Password-1", Some("203.0.113.45"))
            .await?;
    }
    store
        .login("root", "toor-toor-toor", Some("203.0.113.45"))
        .await?;
    let jn_analyst = store
        .user_by_username("jn.analyst")
        .await?
        .context("seeded above")?;
    let expires = yunshou_store::time_text(chrono::Utc::now() + chrono::Duration::days(90));
    let (jn, _) = store.operator_scope(CUSTOMERS[0].0).await?;
    let analyst_actor = Actor {
        user_id: Some(jn_analyst.id.clone()),
        name: jn_analyst.username.clone(),
        source_ip: Some("10.20.3.17".into()),
    };
    store
        .create_api_token(
            &jn.id,
            &jn_analyst.id,
            "SIEM 联动脚本",
            &[Scope::Read],
            &expires,
            &analyst_actor,
        )
        .await?;
    let mut asset_count = 0;
    for (i, (name, _)) in CUSTOMERS.iter().enumerate() {
        let (_, scope) = store.operator_scope(name).await?;
        let prefix = if i == 0 { "jn" } else { "qh" };
        let owner = store
            .user_by_username(&format!("{prefix}.owner"))
            .await?
            .context("seeded above")?;
        let actor = Actor {
            user_id: Some(owner.id.clone()),
            name: owner.username.clone(),
            source_ip: Some("10.20.3.30".into()),
        };
        let ledger = store
            .import_assets(&scope, assets::ledger(i), "demo ledger", &actor)
            .await?;
        asset_count += ledger.len();
        let admin = store
            .user_by_username(&format!("{prefix}.admin"))
            .await?
            .context("seeded above")?;
        let admin = Actor {
            user_id: Some(admin.id.clone()),
            name: admin.username.clone(),
            source_ip: Some("10.20.3.5".into()),
        };
        asset_story::relate(store, &scope, &ledger, &actor).await?;
        asset_story::changes(store, &scope, &ledger, &actor, &admin).await?;
        asset_story::saved_queries(store, &scope, &actor).await?;
        asset_story::exposure_history(store, &scope, &admin).await?;
        detection::seed(store, &scope, &admin).await?;
        let analyst = store
            .user_by_username(&format!("{prefix}.analyst"))
            .await?
            .context("seeded above")?;
        let analyst = Actor {
            user_id: Some(analyst.id.clone()),
            name: analyst.username.clone(),
            source_ip: Some("10.20.3.17".into()),
        };
        vuln::seed(store, &scope, &ledger, &admin, &analyst, &actor).await?;
        respond::seed_response(store, name).await?;
    }
    Ok(Summary {
        seeded: true,
        users,
        assets: asset_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_every_role_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.bootstrap(Some(DEMO_PASSWORD)).await.unwrap();
        let first = seed(&store).await.unwrap();
        assert!(first.seeded);
        assert_eq!(first.users, 17);
        assert!(
            !seed(&store).await.unwrap().seeded,
            "seeding twice changes nothing"
        );
        for (name, _) in CUSTOMERS {
            let (_, scope) = store.operator_scope(name).await.unwrap();
            let (users, _) = store.list_users(&scope, Default::default()).await.unwrap();
            for role in Role::ALL {
                assert!(
                    users.iter().any(|u| u.roles.contains(&role)),
                    "{name} lacks {role}"
                );
            }
        }
        let locked = store.user_by_username("jn.viewer").await.unwrap().unwrap();
        assert!(
            locked.locked_until.is_some(),
            "the brute-force story locks jn.viewer"
        );
        assert_eq!(first.assets, 500);
        // The vulnerability story: findings, work orders in every state, a register.
        let (_, jn) = store.operator_scope(CUSTOMERS[0].0).await.unwrap();
        let findings = store
            .count_findings(&jn, &Default::default())
            .await
            .unwrap();
        assert!(findings > 30, "{findings}");
        let (orders, _) = store
            .work_orders(
                &jn,
                &Default::default(),
                yunshou_store::Page {
                    limit: 1000,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        for state in yunshou_model::work_order::WorkOrderState::ALL {
            assert!(
                orders.iter().any(|o| o.state == state),
                "no work order {state:?}"
            );
        }
        assert!(store.risks(&jn, false).await.unwrap().len() >= 5);
        assert_eq!(store.threats(&jn).await.unwrap().len(), 8);
        assert!(store.audit_verify().await.unwrap().is_intact());
    }
}
