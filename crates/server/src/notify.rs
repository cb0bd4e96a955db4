//! Delivers queued webhook notifications (the store's outbox) with retries and back-off.
//!
//! Notifications are queued in the transaction of the change they report, so this worker only
//! ever sends what was committed, and a crash between commit and delivery merely delays it.

use std::sync::Arc;
use std::time::Duration;
use yunshou_store::outbox::Notification;
use yunshou_store::Store;

/// How often the outbox is polled.
const POLL: Duration = Duration::from_secs(1);

/// Runs forever: sends due notifications, records each attempt.
pub async fn deliver_forever(store: Arc<Store>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("yunshou/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not start; notifications stay queued");
            return;
        }
    };
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        let due = match store.due_notifications(20).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reading the outbox failed");
                continue;
            }
        };
        for n in due {
            let error = send(&client, &n).await.err();
            if let Some(e) = &error {
                tracing::warn!(id = %n.id, url = %n.url, attempt = n.attempts + 1, error = %e, "webhook delivery failed");
            }
            metrics::counter!("yunshou_webhook_deliveries_total", "outcome" => if error.is_none() { "ok" } else { "failed" }).increment(1);
            if let Err(e) = store.notification_attempted(&n, error.as_deref()).await {
                tracing::warn!(error = %e, "recording a webhook attempt failed");
            }
        }
    }
}

async fn send(client: &reqwest::Client, n: &Notification) -> Result<(), String> {
    let response = client
        .post(&n.url)
        .header("content-type", "application/json")
        .header("x-yunshou-topic", &n.topic)
        .header("x-yunshou-delivery", &n.id)
        .body(n.payload.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}
