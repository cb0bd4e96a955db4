//! Relations between a tenant's assets and the neighbourhood of an asset (I.1.b).

use crate::assets::{from_row, COLUMNS};
use crate::db::Store;
use crate::error::{Error, Result};
use crate::TenantScope;
use serde::Serialize;
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use yunshou_model::asset::Asset;
use yunshou_model::relation::{Relation, RelationKind};
use yunshou_model::{ids, Actor};

/// The most hops a neighbourhood reaches.
pub const MAX_DEPTH: u32 = 3;
/// The most assets a neighbourhood holds; beyond it, it is cut and says so.
pub const MAX_NODES: usize = 300;

/// An asset in a neighbourhood, with its distance from the centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NeighbourAsset {
    /// Hops from the centre asset (0 for the centre).
    pub depth: u32,
    /// The asset.
    pub asset: Asset,
}

/// The assets within some hops of one asset, and the relations among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Neighbourhood {
    /// The centre first, then by depth.
    pub nodes: Vec<NeighbourAsset>,
    /// Relations whose two ends are both in `nodes`.
    pub relations: Vec<Relation>,
    /// True when [`MAX_NODES`] cut the neighbourhood short.
    pub truncated: bool,
}

const RELATION_COLUMNS: &str = "id, from_id, to_id, kind, note, created_at";

fn relation_from_row(r: &sqlx::any::AnyRow) -> Result<Relation> {
    let kind: String = r.try_get(3)?;
    Ok(Relation {
        id: r.try_get(0)?,
        from_id: r.try_get(1)?,
        to_id: r.try_get(2)?,
        kind: RelationKind::parse(&kind)
            .ok_or_else(|| Error::Corrupt(format!("relation kind `{kind}`")))?,
        note: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Relates two assets of the tenant. Both must exist in the tenant; an asset does not
    /// relate to itself; the same relation twice is a conflict.
    pub async fn add_relation(
        &self,
        scope: &TenantScope,
        from_id: &str,
        to_id: &str,
        kind: RelationKind,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<Relation> {
        if from_id == to_id {
            return Err(Error::Invalid(
                "to_id: an asset cannot relate to itself".into(),
            ));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 200) {
            return Err(Error::Invalid("note: at most 200 characters".into()));
        }
        let mut w = self.begin_write().await?;
        for (field, id) in [("from_id", from_id), ("to_id", to_id)] {
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM assets WHERE tenant_id = $1 AND id = $2")
                    .bind(scope.tenant_id())
                    .bind(id)
                    .fetch_one(&mut *w.tx)
                    .await?;
            if n == 0 {
                return Err(if field == "from_id" {
                    Error::NotFound
                } else {
                    Error::Invalid("to_id: no such asset".into())
                });
            }
        }
        let relation = Relation {
            id: ids::new_id(),
            from_id: from_id.into(),
            to_id: to_id.into(),
            kind,
            note: note.map(str::to_string),
            created_at: crate::now_text(),
        };
        let inserted = sqlx::query(
            "INSERT INTO asset_relations (id, tenant_id, from_id, to_id, kind, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&relation.id)
        .bind(scope.tenant_id())
        .bind(from_id)
        .bind(to_id)
        .bind(kind.as_str())
        .bind(&relation.note)
        .bind(&relation.created_at)
        .execute(&mut *w.tx)
        .await;
        match inserted {
            Err(e) if Error::is_unique_violation(&e) => {
                return Err(Error::Conflict(format!(
                    "kind: the assets already have a {} relation",
                    kind.as_str()
                )))
            }
            r => r?,
        };
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset.relate",
            "asset",
            Some(from_id),
        );
        entry.after = Some(serde_json::to_value(&relation).expect("relation serialises"));
        w.commit(entry).await?;
        Ok(relation)
    }

    /// Removes a relation of the tenant.
    pub async fn delete_relation(
        &self,
        scope: &TenantScope,
        relation_id: &str,
        actor: &Actor,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {RELATION_COLUMNS} FROM asset_relations WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(scope.tenant_id())
        .bind(relation_id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(Error::NotFound)?;
        let relation = relation_from_row(&row)?;
        sqlx::query("DELETE FROM asset_relations WHERE id = $1")
            .bind(relation_id)
            .execute(&mut *w.tx)
            .await?;
        let mut entry = actor.entry(
            Some(scope.tenant_id()),
            "asset.unrelate",
            "asset",
            Some(&relation.from_id),
        );
        entry.before = Some(serde_json::to_value(&relation).expect("relation serialises"));
        w.commit(entry).await?;
        Ok(())
    }

    /// The relations touching one asset, either direction.
    pub async fn relations_of(&self, scope: &TenantScope, asset_id: &str) -> Result<Vec<Relation>> {
        self.get_asset(scope, asset_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {RELATION_COLUMNS} FROM asset_relations WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2) ORDER BY kind, created_at"
        ))
        .bind(scope.tenant_id())
        .bind(asset_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(relation_from_row).collect()
    }

    /// The assets within `depth` hops (1–[`MAX_DEPTH`]) of `asset_id`, following relations in
    /// both directions, at most [`MAX_NODES`] of them.
    pub async fn neighbourhood(
        &self,
        scope: &TenantScope,
        asset_id: &str,
        depth: u32,
    ) -> Result<Neighbourhood> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(Error::Invalid(format!("depth: 1–{MAX_DEPTH}")));
        }
        let centre = self.get_asset(scope, asset_id).await?;
        let mut depth_of: HashMap<String, u32> = HashMap::from([(centre.id.clone(), 0)]);
        let mut order = vec![centre.id.clone()];
        let mut frontier = vec![centre.id.clone()];
        let mut relations: HashMap<String, Relation> = HashMap::new();
        let mut truncated = false;
        for d in 1..=depth {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for chunk in frontier.chunks(200) {
                let ph = placeholders(2, chunk.len());
                let sql = format!(
                    "SELECT {RELATION_COLUMNS} FROM asset_relations WHERE tenant_id = $1 AND (from_id IN ({ph}) OR to_id IN ({ph})) ORDER BY kind, id"
                );
                let mut q = sqlx::query(&sql).bind(scope.tenant_id());
                for id in chunk {
                    q = q.bind(id);
                }
                for row in q.fetch_all(&self.pool).await? {
                    let r = relation_from_row(&row)?;
                    for end in [&r.from_id, &r.to_id] {
                        if depth_of.contains_key(end) {
                            continue;
                        }
                        if depth_of.len() >= MAX_NODES {
                            truncated = true;
                            continue;
                        }
                        depth_of.insert(end.clone(), d);
                        order.push(end.clone());
                        next.push(end.clone());
                    }
                    relations.insert(r.id.clone(), r);
                }
            }
            frontier = next;
        }
        let mut assets: HashMap<String, Asset> = HashMap::new();
        for chunk in order.chunks(200) {
            let sql = format!(
                "SELECT {COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(scope.tenant_id());
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&self.pool).await? {
                let a = from_row(&row)?;
                assets.insert(a.id.clone(), a);
            }
        }
        let nodes: Vec<NeighbourAsset> = order
            .iter()
            .filter_map(|id| {
                assets.remove(id).map(|asset| NeighbourAsset {
                    depth: depth_of[id],
                    asset,
                })
            })
            .collect();
        let present: HashSet<&str> = nodes.iter().map(|n| n.asset.id.as_str()).collect();
        let mut relations: Vec<Relation> = relations
            .into_values()
            .filter(|r| present.contains(r.from_id.as_str()) && present.contains(r.to_id.as_str()))
            .collect();
        relations.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Neighbourhood {
            nodes,
            relations,
            truncated,
        })
    }
}
