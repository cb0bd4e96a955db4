//! Saved searches (I.1.e, MO.4): a query under a name, private to its author or shared with
//! the tenant, for the asset ledger and for event search.

use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use serde::Serialize;
use sqlx::Row;
use yunshou_model::{ids, Actor};

/// What a saved search searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedKind {
    /// The asset ledger (`GET /api/v1/assets` query strings).
    Assets,
    /// Events (the search language).
    Events,
}

impl SavedKind {
    fn as_str(self) -> &'static str {
        match self {
            SavedKind::Assets => "assets",
            SavedKind::Events => "events",
        }
    }

    /// The audit trail's object type (kept from before events had saved searches).
    fn audit_noun(self) -> &'static str {
        match self {
            SavedKind::Assets => "asset_query",
            SavedKind::Events => "event_search",
        }
    }
}

/// A saved search: a ledger or event query string under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SavedQuery {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// For the ledger, the query string of `GET /api/v1/assets` (`exposure=internet&port=22`);
    /// for events, the search language (`event.outcome:failure AND source.ip:10.0.0.0/8`).
    pub query: String,
    /// Visible to everyone in the tenant, not only its author.
    pub shared: bool,
    /// Author's user id.
    pub user_id: String,
    /// Created, RFC 3339.
    pub created_at: String,
}

impl Store {
    /// Saves a query for its author, or for the whole tenant when `shared`. The query string
    /// is checked by the caller (it must parse for its kind).
    pub async fn save_query(
        &self,
        scope: &TenantScope,
        kind: SavedKind,
        name: &str,
        query: &str,
        shared: bool,
        actor: &Actor,
    ) -> Result<SavedQuery> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(Error::Invalid("name: 1–80 characters".into()));
        }
        if query.len() > 2000 {
            return Err(Error::Invalid("query: at most 2000 characters".into()));
        }
        let user_id = actor
            .user_id
            .clone()
            .ok_or_else(|| Error::Invalid("user: saved queries belong to a user".into()))?;
        let saved = SavedQuery {
            id: ids::new_id(),
            name: name.into(),
            query: match kind {
                SavedKind::Assets => query.trim_start_matches('?').into(),
                SavedKind::Events => query.trim().into(),
            },
            shared,
            user_id,
            created_at: crate::now_text(),
        };
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO saved_searches (id, tenant_id, user_id, name, query, shared, created_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&saved.id)
            .bind(scope.tenant_id())
            .bind(&saved.user_id)
            .bind(&saved.name)
            .bind(&saved.query)
            .bind(i64::from(shared))
            .bind(&saved.created_at)
            .bind(kind.as_str())
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            &format!("{}.save", kind.audit_noun()),
            kind.audit_noun(),
            Some(&saved.id),
        );
        entry.after = Some(serde_json::to_value(&saved).expect("query serialises"));
        w.commit(entry).await?;
        Ok(saved)
    }

    /// The queries of `kind` that `user_id` may use: their own and the tenant's shared ones,
    /// by name.
    pub async fn saved_queries(
        &self,
        scope: &TenantScope,
        kind: SavedKind,
        user_id: &str,
    ) -> Result<Vec<SavedQuery>> {
        let rows = sqlx::query(
            "SELECT id, name, query, shared, user_id, created_at FROM saved_searches \
             WHERE tenant_id = $1 AND kind = $3 AND (user_id = $2 OR shared <> 0) ORDER BY name, id",
        )
        .bind(scope.tenant_id())
        .bind(user_id)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SavedQuery {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    query: r.try_get(2)?,
                    shared: r.try_get::<i64, _>(3)? != 0,
                    user_id: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Deletes a saved query: its author may, and so may whoever `may_delete_others`
    /// (the tenant's administrators). Anyone else is told it does not exist.
    pub async fn delete_saved_query(
        &self,
        scope: &TenantScope,
        kind: SavedKind,
        id: &str,
        may_delete_others: bool,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query("SELECT user_id, shared, name, query FROM saved_searches WHERE tenant_id = $1 AND id = $2 AND kind = $3")
            .bind(scope.tenant_id())
            .bind(id)
            .bind(kind.as_str())
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(Error::NotFound)?;
        let owner: String = row.try_get(0)?;
        let shared = row.try_get::<i64, _>(1)? != 0;
        let mine = actor.user_id.as_deref() == Some(owner.as_str());
        if !(mine || (shared && may_delete_others)) {
            return Err(Error::NotFound);
        }
        sqlx::query("DELETE FROM saved_searches WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            &format!("{}.delete", kind.audit_noun()),
            kind.audit_noun(),
            Some(id),
        );
        entry.before = Some(
            serde_json::json!({"name": row.try_get::<String, _>(2)?, "query": row.try_get::<String, _>(3)?}),
        );
        w.commit(entry).await?;
        Ok(())
    }
}
