//! The outbox: notifications written in the transaction of the change they report and
//! delivered afterwards by a worker, with retries. A notification is never sent for a change
//! that was rolled back, and never lost for one that was committed.

use crate::db::Store;
use crate::error::Result;
use serde::Serialize;
use sqlx::Row;
use yunshou_model::ids;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Attempts before a notification is given up (about a day of back-off).
pub const MAX_ATTEMPTS: i64 = 12;

/// A notification waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Identifier.
    pub id: String,
    /// Tenant it belongs to.
    pub tenant_id: String,
    /// What it reports, e.g. `asset.change_alert`.
    pub topic: String,
    /// Where it goes.
    pub url: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Queues a notification inside the caller's transaction.
pub(crate) async fn enqueue(
    tx: &mut Tx,
    tenant_id: &str,
    topic: &str,
    url: &str,
    payload: &serde_json::Value,
) -> Result<()> {
    let now = crate::now_text();
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, topic, url, payload, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
    )
    .bind(ids::new_id())
    .bind(tenant_id)
    .bind(topic)
    .bind(url)
    .bind(payload.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Seconds to wait after the `attempts`-th failure: 5 s doubling, at most 4 hours.
pub fn backoff_seconds(attempts: i64) -> i64 {
    (5i64 << attempts.clamp(0, 20)).min(4 * 3600)
}

impl Store {
    /// Notifications due for delivery, oldest first. For the delivery worker only: it spans
    /// tenants, as the worker delivers for all of them.
    /// E-mail (`mailto:`) notifications are left queued unless `with_mail`: without a relay
    /// they wait for one rather than fail.
    pub async fn due_notifications(
        &self,
        limit: i64,
        with_mail: bool,
    ) -> Result<Vec<Notification>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, topic, url, payload, attempts FROM outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             AND ($3 = 1 OR url NOT LIKE 'mailto:%') ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(crate::now_text())
        .bind(limit)
        .bind(i64::from(with_mail))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Notification {
                    id: r.try_get(0)?,
                    tenant_id: r.try_get(1)?,
                    topic: r.try_get(2)?,
                    url: r.try_get(3)?,
                    payload: r.try_get(4)?,
                    attempts: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Records a delivery attempt: delivered, or failed with the reason (retried later with
    /// back-off, given up after [`MAX_ATTEMPTS`]).
    pub async fn notification_attempted(
        &self,
        n: &Notification,
        error: Option<&str>,
    ) -> Result<()> {
        let _lock = self.writer_lock().await;
        let now = chrono::Utc::now();
        let attempts = n.attempts + 1;
        let (delivered, failed, next) = match error {
            None => (Some(crate::time_text(now)), None, crate::time_text(now)),
            Some(_) if attempts >= MAX_ATTEMPTS => {
                (None, Some(crate::time_text(now)), crate::time_text(now))
            }
            Some(_) => (
                None,
                None,
                crate::time_text(now + chrono::Duration::seconds(backoff_seconds(attempts))),
            ),
        };
        sqlx::query("UPDATE outbox SET attempts = $1, delivered_at = $2, failed_at = $3, next_attempt_at = $4, last_error = $5 WHERE id = $6")
            .bind(attempts)
            .bind(delivered)
            .bind(failed)
            .bind(next)
            .bind(error)
            .bind(&n.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff_seconds(0), 5);
        assert_eq!(super::backoff_seconds(3), 40);
        assert_eq!(super::backoff_seconds(30), 4 * 3600);
    }
}
