//! What the store's integration tests share.

use yunshou_model::{Actor, TenantKind};
use yunshou_store::{Store, TenantScope};

/// A store on a fresh SQLite file with two customer tenants, `tenant-a` and `tenant-b`.
pub async fn store() -> (tempfile::TempDir, Store, TenantScope, TenantScope) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.bootstrap(Some("Store-Test-Passw0rd")).await.unwrap();
    let cli = Actor::cli();
    let (_, provider) = store.operator_scope("default").await.unwrap();
    for t in ["tenant-a", "tenant-b"] {
        store
            .create_tenant(t, t, TenantKind::Customer, &cli, Some(&provider))
            .await
            .unwrap();
    }
    let (_, a) = store.operator_scope("tenant-a").await.unwrap();
    let (_, b) = store.operator_scope("tenant-b").await.unwrap();
    (dir, store, a, b)
}
