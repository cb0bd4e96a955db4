//! Plain HTTP requests: firewall and identity APIs, webhooks and chat robots.

use std::time::Duration;

use serde_json::Value;

use crate::model::Method;

/// A rendered request.
pub(crate) struct HttpCall {
    pub method: Method,
    pub url: String,
    /// The URL with secrets redacted, for messages.
    pub shown_url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A WeCom/DingTalk robot: HTTP 200 with a non-zero `errcode` is a failure.
    pub robot: bool,
}

/// The answer: status and body (JSON when it parses, else text, cut to 4 KiB).
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

const MAX_BODY: usize = 4096;

/// Sends the request; `Err` for transport errors, non-2xx answers and robot errors.
pub(crate) async fn send(call: &HttpCall, timeout: Duration) -> Result<Answer, String> {
    // No redirects: a firewall API answering with a redirect elsewhere is an error, not a hop.
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let method =
        reqwest::Method::from_bytes(call.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut req = client.request(method, &call.url);
    for (k, v) in &call.headers {
        req = req.header(k, v);
    }
    if let Some(body) = &call.body {
        req = req.json(body);
    }
    let what = format!("{} {}", call.method.as_str(), call.shown_url);
    // reqwest errors may include the URL, which may hold a secret: show ours instead.
    let resp = req
        .send()
        .await
        .map_err(|e| format!("{what}: {}", describe(e)))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("{what}: reading the answer: {}", describe(e)))?;
    let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(&bytes);
        Value::String(text.chars().take(MAX_BODY).collect())
    });
    if !status.is_success() {
        return Err(format!("{what}: HTTP {status}"));
    }
    if call.robot {
        if let Some(code) = body.get("errcode").and_then(Value::as_i64) {
            if code != 0 {
                let msg = body.get("errmsg").and_then(Value::as_str).unwrap_or("");
                return Err(format!("{what}: robot errcode {code} {msg}"));
            }
        }
    }
    Ok(Answer {
        status: status.as_u16(),
        body,
    })
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.without_url().to_string()
    }
}
