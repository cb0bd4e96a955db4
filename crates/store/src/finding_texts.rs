//! Finding texts (description, solution, evidence, references, risk assessment) stored once
//! per tenant and named by id: a scanner repeats a check's texts for every host it finds the
//! weakness on, and written per finding they were most of an import's bytes. A text is found
//! again by its SHA-256, so the same text is one row however often and by whichever import
//! it arrives.

use crate::error::Result;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The SQL expression reading the text a finding's `column` names (`f` is the finding).
macro_rules! text_of {
    ($column:literal) => {
        concat!(
            "(SELECT t.body FROM finding_texts t WHERE t.id = f.",
            $column,
            ")"
        )
    };
}
pub(crate) use text_of;

/// SHA-256 of a text, hex: what the text is found again by.
pub(crate) fn digest(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Bytes of text bodies a [`FindingTexts`] keeps to find repeated texts without hashing
/// them with SHA-256.
const BODIES_BUDGET: usize = 8 << 20;

/// The texts one write transaction names: ids of texts already stored or queued, and the
/// next id to give (ids are taken under the store's writer lock, so rows can be written in
/// batches after the findings that name them are prepared).
pub(crate) struct FindingTexts {
    tenant: String,
    ids: HashMap<String, i64>,
    /// Texts met before, by their body under a fast hash: a report repeats a check's texts
    /// for every host, and their SHA-256 was an eighth of an import's own work. Holds at
    /// most `BODIES_BUDGET` bytes; texts past it are found by digest alone.
    bodies: HashMap<Box<str>, i64, foldhash::fast::RandomState>,
    body_bytes: usize,
    next_id: i64,
}

/// A text to insert: its id, digest and body.
pub(crate) struct NewText {
    pub id: i64,
    pub digest: String,
    pub body: String,
}

impl FindingTexts {
    /// Starts naming texts for the tenant inside a write transaction.
    pub(crate) async fn begin(tx: &mut Tx, tenant: &str) -> Result<FindingTexts> {
        let next_id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM finding_texts")
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        Ok(FindingTexts {
            tenant: tenant.to_string(),
            ids: HashMap::new(),
            bodies: HashMap::default(),
            body_bytes: 0,
            next_id,
        })
    }

    /// The id of `body`: a text stored before, one queued in this transaction, or a new one
    /// pushed onto `new` (to be written before anything naming it is).
    pub(crate) async fn id_of(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        mut body: String,
        new: &mut Vec<NewText>,
    ) -> Result<i64> {
        if let Some(id) = self.bodies.get(body.as_str()) {
            return Ok(*id);
        }
        let digest = digest(&body);
        if let Some(id) = self.ids.get(&digest) {
            return Ok(*id);
        }
        let remembered = self.body_bytes + body.len() <= BODIES_BUDGET;
        let stored =
            sqlx::query("SELECT id FROM finding_texts WHERE tenant_id = $1 AND digest = $2")
                .bind(&self.tenant)
                .bind(&digest)
                .fetch_optional(&mut *conn)
                .await?;
        let id = match stored {
            Some(row) => row.try_get(0)?,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                // Copied only when the body map keeps the text too.
                let body = if remembered {
                    body.clone()
                } else {
                    std::mem::take(&mut body)
                };
                new.push(NewText {
                    id,
                    digest: digest.clone(),
                    body,
                });
                id
            }
        };
        self.ids.insert(digest, id);
        if remembered {
            self.body_bytes += body.len();
            self.bodies.insert(body.into_boxed_str(), id);
        }
        Ok(id)
    }

    /// [`FindingTexts::id_of`] for a text that may be absent.
    pub(crate) async fn id_of_some(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        body: Option<String>,
        new: &mut Vec<NewText>,
    ) -> Result<Option<i64>> {
        match body {
            Some(body) => self.id_of(conn, body, new).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Gives the texts moved out of `findings` by migration 12 their digests (SQL has none).
/// Runs at every open; once done, a look at an empty partial index.
pub(crate) async fn fill_digests(pool: &AnyPool) -> Result<()> {
    let rows = sqlx::query("SELECT id, body FROM finding_texts WHERE digest IS NULL")
        .fetch_all(pool)
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let body: String = r.try_get(1)?;
        sqlx::query("UPDATE finding_texts SET digest = $1 WHERE id = $2")
            .bind(digest(&body))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use yunshou_model::asset::{AssetFields, Lifecycle};
    use yunshou_model::Actor;

    /// A finding row as schema 11 kept it, texts inline.
    async fn old_finding(store: &Store, tenant: &str, asset: &str, n: u32, evidence: &str) {
        sqlx::query(
            "INSERT INTO findings (id, tenant_id, asset_id, fingerprint, identity, title, description, solution, evidence, \
             check_id, sources, cves, cwes, cvss_score, severity, severity_rank, refs, target, place, known_exploited, \
             risk_level, risk_value, risk_priority, risk, status, first_seen, last_seen, reopened, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'Shared description', 'Upgrade.', $7, 'c1', '[\"nessus\"]', '[]', '[]', 75, \
             'high', 3, '[\"https://example.org/advisory\"]', '{}', '22/tcp', 0, 3, 9.0, 3009, '{\"level\":3}', 'open', \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        )
        .bind(format!("00000000-0000-7000-8000-00000000000{n}"))
        .bind(tenant)
        .bind(asset)
        .bind(format!("fp{n}"))
        .bind(format!("check{n}"))
        .bind(format!("Finding {n}"))
        .bind(evidence)
        .execute(&store.pool)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn migration_12_moves_texts_out_once_and_keeps_every_finding_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_to(dir.path(), 11).await.unwrap();
        store.bootstrap(Some("Test-Admin-Passw0rd")).await.unwrap();
        let (_, scope) = store.operator_scope("default").await.unwrap();
        let fields = AssetFields {
            name: "web-01".into(),
            kind: "host".into(),
            ips: vec!["10.0.0.5".into()],
            ..Default::default()
        };
        let (asset, _) = store
            .create_asset(&scope, fields, Lifecycle::Onboarding, &Actor::cli())
            .await
            .unwrap();
        old_finding(
            &store,
            scope.tenant_id(),
            &asset.id,
            1,
            "SSH-2.0-OpenSSH_7.4",
        )
        .await;
        old_finding(
            &store,
            scope.tenant_id(),
            &asset.id,
            2,
            "SSH-2.0-OpenSSH_8.0",
        )
        .await;
        store.pool.close().await;
        drop(store);

        let store = Store::open(dir.path()).await.unwrap();
        for (n, evidence) in [(1, "SSH-2.0-OpenSSH_7.4"), (2, "SSH-2.0-OpenSSH_8.0")] {
            let f = store
                .finding(&scope, &format!("00000000-0000-7000-8000-00000000000{n}"))
                .await
                .unwrap();
            assert_eq!(f.description.as_deref(), Some("Shared description"));
            assert_eq!(f.solution.as_deref(), Some("Upgrade."));
            assert_eq!(f.evidence.as_deref(), Some(evidence));
            assert_eq!(f.references, ["https://example.org/advisory"]);
            assert_eq!(f.risk["level"], 3);
        }
        // Description, solution, references and risk once; the two outputs apart.
        let rows = sqlx::query("SELECT digest, body FROM finding_texts ORDER BY id")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows.len(), 6);
        for r in rows {
            let stored: Option<String> = r.try_get(0).unwrap();
            let body: String = r.try_get(1).unwrap();
            assert_eq!(stored, Some(digest(&body)), "digest filled for {body}");
        }
        // A later import finds the moved texts by their digests rather than storing them again.
        let mut w = store.begin_write().await.unwrap();
        let mut texts = FindingTexts::begin(&mut w.tx, scope.tenant_id())
            .await
            .unwrap();
        let mut new = vec![];
        let known = texts
            .id_of(&mut w.tx, "Shared description".into(), &mut new)
            .await
            .unwrap();
        let fresh = texts
            .id_of(&mut w.tx, "SSH-2.0-OpenSSH_9.6".into(), &mut new)
            .await
            .unwrap();
        let again = texts
            .id_of(&mut w.tx, "SSH-2.0-OpenSSH_9.6".into(), &mut new)
            .await
            .unwrap();
        assert!(known <= 6 && fresh == 7 && again == fresh);
        // Met again, a stored text is found by its body without another lookup.
        let known_again = texts
            .id_of(&mut w.tx, "Shared description".into(), &mut new)
            .await
            .unwrap();
        assert_eq!(known_again, known);
        assert_eq!(new.len(), 1, "only the new text is queued, once");
    }
}
