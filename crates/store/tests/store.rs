//! The store on a real SQLite file: sign-in rules, grants, scoping and the audit chain.

use yunshou_model::{Actor, Role, TenantKind};
use yunshou_store::{AuditFilter, Error, LoginOutcome, Page, Store, SCHEMA_VERSION};

const PASSWORD: &str = "Store-Test-Passw0rd";

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.bootstrap(Some(PASSWORD)).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn bootstrap_runs_once_and_generates_a_password_when_none_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let generated = store
        .bootstrap(None)
        .await
        .unwrap()
        .expect("a generated password");
    assert!(matches!(
        store.login("admin", &generated, None).await.unwrap(),
        LoginOutcome::Success(_)
    ));
    assert!(
        store.bootstrap(None).await.unwrap().is_none(),
        "second start creates nothing"
    );
    drop(store);
    let reopened = Store::open(dir.path()).await.unwrap();
    assert_eq!(reopened.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert!(reopened.audit_verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn an_expired_lock_starts_a_fresh_count() {
    let (dir, store) = store().await;
    for i in 1..=5 {
        let outcome = store
            .login("admin", "wrong-Password-1", Some("192.0.2.1"))
            .await
            .unwrap();
        assert!(
            matches!(outcome, LoginOutcome::BadCredentials { locked_now } if locked_now == (i == 5))
        );
    }
    assert!(matches!(
        store.login("admin", PASSWORD, None).await.unwrap(),
        LoginOutcome::Locked { .. }
    ));
    // Let the lock run out, as 15 minutes would.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("yunshou.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE users SET locked_until = '2020-01-01T00:00:00.000000Z'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let outcome = store
        .login("admin", "wrong-Password-1", None)
        .await
        .unwrap();
    assert!(
        matches!(outcome, LoginOutcome::BadCredentials { locked_now: false }),
        "one failure after expiry does not relock"
    );
    assert!(matches!(
        store.login("admin", PASSWORD, None).await.unwrap(),
        LoginOutcome::Success(_)
    ));
}

#[tokio::test]
async fn scopes_keep_tenants_apart() {
    let (_dir, store) = store().await;
    let cli = Actor::cli();
    let (_, provider) = store.operator_scope("default").await.unwrap();
    store
        .create_tenant("tenant-a", "A", TenantKind::Customer, &cli, Some(&provider))
        .await
        .unwrap();
    store
        .create_tenant("tenant-b", "B", TenantKind::Customer, &cli, Some(&provider))
        .await
        .unwrap();
    let (_, a) = store.operator_scope("tenant-a").await.unwrap();
    let (_, b) = store.operator_scope("tenant-b").await.unwrap();
    let alice = store
        .create_user(&a, "alice", "Alice", PASSWORD, Role::Admin, &cli)
        .await
        .unwrap();
    let bob = store
        .create_user(&b, "bob", "Bob", PASSWORD, Role::Admin, &cli)
        .await
        .unwrap();
    assert!(matches!(
        store.get_user(&a, &bob.user.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store
            .grant_role(&a, &bob.user.id, Role::Viewer, false, &cli)
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store
            .set_password(&a, &bob.user.id, "Other-Passw0rd-1", &cli)
            .await,
        Err(Error::NotFound)
    ));
    let (users, total) = store.list_users(&a, Page::default()).await.unwrap();
    assert_eq!((users.len(), total), (1, 1));
    assert_eq!(users[0].user.id, alice.user.id);
    let (records, _) = store
        .audit_list(&a, &AuditFilter::default(), Page::default())
        .await
        .unwrap();
    assert!(records
        .iter()
        .all(|r| r.tenant_id.as_deref() == Some(a.tenant_id())));
    assert!(store
        .access(&alice.user.id, b.tenant_id())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_last_admin_cannot_be_revoked() {
    let (_dir, store) = store().await;
    let (_, provider) = store.operator_scope("default").await.unwrap();
    let admin = store.user_by_username("admin").await.unwrap().unwrap();
    let err = store
        .revoke_role(&provider, &admin.id, Role::Admin, &Actor::cli())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("last admin"));
}

#[tokio::test]
async fn audit_filters_treat_wildcards_literally() {
    let (_dir, store) = store().await;
    let (_, provider) = store.operator_scope("default").await.unwrap();
    let all = store
        .audit_list(&provider, &AuditFilter::default(), Page::default())
        .await
        .unwrap()
        .1;
    assert!(all > 0);
    let filter = |action: &str| AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .audit_list(&provider, &filter("%"), Page::default())
            .await
            .unwrap()
            .1,
        0
    );
    assert_eq!(
        store
            .audit_list(&provider, &filter("user_"), Page::default())
            .await
            .unwrap()
            .1,
        0
    );
    assert!(
        store
            .audit_list(&provider, &filter("user."), Page::default())
            .await
            .unwrap()
            .1
            > 0
    );
}
