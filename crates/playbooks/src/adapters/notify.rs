//! Notice formats: WeCom and DingTalk robots, and e-mail through an SMTP relay.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{json, Value};
use sha2::Sha256;

/// WeCom group robot markdown message.
pub(crate) fn wecom_body(content: &str) -> Value {
    json!({"msgtype": "markdown", "markdown": {"content": content}})
}

/// DingTalk group robot markdown message.
pub(crate) fn dingtalk_body(title: &str, text: &str) -> Value {
    json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
}

/// DingTalk's signature: base64(HMAC-SHA256(key = secret, "timestamp\nsecret")).
pub(crate) fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The robot URL with `timestamp` and `sign` query parameters added (URL-encoded).
pub(crate) fn dingtalk_signed_url(
    url: &str,
    secret: &str,
    timestamp_ms: i64,
) -> Result<String, String> {
    let mut u = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    u.query_pairs_mut()
        .append_pair("timestamp", &timestamp_ms.to_string())
        .append_pair("sign", &dingtalk_sign(secret, timestamp_ms));
    Ok(u.into())
}

/// A recipient must be a plain address or `Name <address>`.
pub(crate) fn check_mailbox(s: &str) -> Result<(), String> {
    s.parse::<Mailbox>()
        .map(|_| ())
        .map_err(|e| format!("`{s}` is not a mail address: {e}"))
}

/// A message to send.
pub(crate) struct Mail<'a> {
    pub relay: &'a str,
    pub from: &'a str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub subject: &'a str,
    pub text: &'a str,
}

/// Sends a plain-text UTF-8 message through the relay (`host:port`, plain SMTP: the relay is
/// the organisation's own, inside the network).
pub(crate) async fn send_mail(m: &Mail<'_>, timeout: Duration) -> Result<String, String> {
    let (host, port) = m
        .relay
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("SMTP relay `{}` is not host:port", m.relay))?;
    let mailbox = |s: &str| {
        s.parse::<Mailbox>()
            .map_err(|e| format!("`{s}` is not a mail address: {e}"))
    };
    let mut b = Message::builder().from(mailbox(m.from)?).subject(m.subject);
    for r in m.to {
        b = b.to(mailbox(r)?);
    }
    for r in m.cc {
        b = b.cc(mailbox(r)?);
    }
    let msg = b
        .header(ContentType::TEXT_PLAIN)
        .body(m.text.to_string())
        .map_err(|e| format!("building the message: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(timeout))
        .build();
    let resp = tokio::time::timeout(timeout, transport.send(msg))
        .await
        .map_err(|_| format!("SMTP relay {} did not answer within {timeout:?}", m.relay))?
        .map_err(|e| format!("SMTP relay {}: {e}", m.relay))?;
    Ok(resp.message().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_url_keeps_token_and_adds_signature() {
        let u = dingtalk_signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            "SECx",
            1_700_000_000_000,
        )
        .unwrap();
        assert!(u.starts_with(
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign="
        ));
        assert!(!u.ends_with("sign="));
    }
}
