//! Delivers queued notifications (the store's outbox) with retries and back-off: webhooks
//! by HTTP POST, `mailto:` recipients by SMTP through the organisation's relay.
//!
//! Notifications are queued in the transaction of the change they report, so this worker only
//! ever sends what was committed, and a crash between commit and delivery merely delays it.

use std::sync::Arc;
use std::time::Duration;
use yunshou_store::outbox::Notification;
use yunshou_store::Store;

/// How often the outbox is polled.
const POLL: Duration = Duration::from_secs(1);

/// Where e-mail goes.
#[derive(Debug, Clone)]
pub struct SmtpRelay {
    /// Relay host.
    pub host: String,
    /// Relay port (25 or 587 inside the organisation).
    pub port: u16,
    /// Sender address.
    pub from: String,
}

/// Runs forever: sends due notifications, records each attempt.
pub async fn deliver_forever(store: Arc<Store>, smtp: Option<SmtpRelay>) {
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
        let due = match store.due_notifications(20, smtp.is_some()).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reading the outbox failed");
                continue;
            }
        };
        for n in due {
            let error = match n.url.strip_prefix("mailto:") {
                Some(to) => mail(smtp.as_ref(), to, &n).await.err(),
                None => send(&client, &n).await.err(),
            };
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

/// Sends a notice as a plain-text e-mail (Chinese first, English after) through the relay.
async fn mail(relay: Option<&SmtpRelay>, to: &str, n: &Notification) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let relay = relay.ok_or("no SMTP relay configured (--smtp-relay); the notice stays queued")?;
    let payload: serde_json::Value = serde_json::from_str(&n.payload).map_err(|e| e.to_string())?;
    let (subject, body) = mail_text(&n.topic, &payload);
    use lettre::message::header::{ContentTransferEncoding, ContentType};
    use lettre::message::{Body, SinglePart};
    // Quoted-printable keeps work-order numbers and addresses readable in the raw message.
    let body = Body::new_with_encoding(body, ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| "the notice could not be encoded".to_string())?;
    let message = Message::builder()
        .from(relay.from.parse().map_err(|e| format!("sender: {e}"))?)
        .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
        .subject(subject)
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body),
        )
        .map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host.as_str())
        .port(relay.port)
        .timeout(Some(Duration::from_secs(20)))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The subject and body of a work-order notice.
pub fn mail_text(topic: &str, p: &serde_json::Value) -> (String, String) {
    let count = p["count"].as_u64().unwrap_or(0);
    let (zh, en) = match topic {
        "work_order.raised" => ("新整改工单", "new work orders"),
        "work_order.overdue" => ("整改工单已超期", "work orders overdue"),
        _ => ("通知", "notice"),
    };
    let subject = format!("【云守】{zh} {count} 个 / [yunshou] {count} {en}");
    let mut body = format!("{zh}：{count} 个 / {count} {en}\n\n");
    for w in p["work_orders"].as_array().into_iter().flatten() {
        let text = |k: &str| w[k].as_str().unwrap_or("").to_string();
        body.push_str(&format!(
            "{}  [{}] {}\n    资产 asset: {}  责任人 assignee: {}  期限 due: {}\n",
            text("number"),
            w["risk_level"].as_u64().unwrap_or(0),
            text("title"),
            text("asset"),
            text("assignee"),
            text("due_at"),
        ));
    }
    body.push_str("\n请登录云守控制台处理。/ Please handle them in the yunshou console.\n");
    (subject, body)
}
