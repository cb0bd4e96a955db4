//! Web server logs: nginx and Apache access logs (common and combined formats), Apache error
//! logs (2.2 and 2.4 forms) and nginx error logs.

use super::{push, put};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Map;

/// Parses an access or error line; `None` when it is neither.
pub fn parse(line: &str) -> Option<super::Normalised> {
    access(line)
        .or_else(|| apache_error(line))
        .or_else(|| nginx_error(line))
}

fn quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start().strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

/// `1.2.3.4 - user [25/Nov/2026:08:00:00 +0800] "GET /p?q HTTP/1.1" 200 123 "ref" "ua"`
fn access(line: &str) -> Option<super::Normalised> {
    let mut parts = line.splitn(4, ' ');
    let client = parts.next()?;
    client.parse::<std::net::IpAddr>().ok()?;
    let _ident = parts.next()?;
    let user = parts.next()?;
    let rest = parts.next()?;
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let ts = DateTime::parse_from_str(&rest[..close], "%d/%b/%Y:%H:%M:%S %z")
        .ok()?
        .with_timezone(&Utc);
    let (request, rest) = quoted(&rest[close + 1..])?;
    let mut d = Map::new();
    put(&mut d, "event.dataset", "web.access");
    push(&mut d, "event.category", "web");
    put(&mut d, "source.ip", client);
    if user != "-" {
        put(&mut d, "user.name", user);
    }
    let mut req = request.split(' ');
    if let (Some(method), Some(target)) = (req.next(), req.next()) {
        put(&mut d, "http.request.method", method);
        put(&mut d, "url.original", target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        put(&mut d, "url.path", path);
        if !query.is_empty() {
            put(&mut d, "url.query", query);
        }
        if let Some(v) = req.next().and_then(|v| v.strip_prefix("HTTP/")) {
            put(&mut d, "http.version", v);
        }
    }
    let mut nums = rest.split_whitespace();
    if let Some(status) = nums.next().and_then(|s| s.parse::<u64>().ok()) {
        put(&mut d, "http.response.status_code", status);
        put(
            &mut d,
            "event.outcome",
            if status < 400 { "success" } else { "failure" },
        );
    }
    if let Some(bytes) = nums.next().and_then(|s| s.parse::<u64>().ok()) {
        put(&mut d, "http.response.body.bytes", bytes);
    }
    let after_numbers = rest.find('"').map(|i| &rest[i..]).unwrap_or("");
    if let Some((referrer, rest)) = quoted(after_numbers) {
        if referrer != "-" {
            put(&mut d, "http.request.referrer", referrer);
        }
        if let Some((ua, _)) = quoted(rest) {
            put(&mut d, "user_agent.original", ua);
        }
    }
    d.insert("message".into(), line.into());
    Some((Some(ts), d))
}

/// `[Sun Dec 04 04:47:44 2005] [error] msg` or `[Wed Nov 25 08:00:00.123456 2026] [core:error] [pid 1:tid 2] [client 1.2.3.4:5] msg`
fn apache_error(line: &str) -> Option<super::Normalised> {
    let r = line.strip_prefix('[')?;
    let close = r.find(']')?;
    let t = &r[..close];
    let ts = NaiveDateTime::parse_from_str(t, "%a %b %d %H:%M:%S%.f %Y")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%a %b %d %H:%M:%S %Y"))
        .ok()
        .map(|t| Utc.from_utc_datetime(&t))?;
    let mut rest = r[close + 1..].trim_start();
    let mut d = Map::new();
    put(&mut d, "event.dataset", "apache.error");
    while let Some(r) = rest.strip_prefix('[') {
        let Some(end) = r.find(']') else { break };
        let field = &r[..end];
        if let Some(client) = field.strip_prefix("client ") {
            let ip = client.rsplit_once(':').map(|(a, _)| a).unwrap_or(client);
            put(&mut d, "source.ip", ip);
        } else if let Some(pid) = field.strip_prefix("pid ") {
            if let Ok(p) = pid.split(':').next().unwrap_or(pid).parse::<u64>() {
                put(&mut d, "process.pid", p);
            }
        } else {
            let level = field.rsplit(':').next().unwrap_or(field);
            if let Some(module) = field.split_once(':').map(|x| x.0) {
                put(&mut d, "apache.error.module", module);
            }
            put(&mut d, "log.level", level);
        }
        rest = r[end + 1..].trim_start();
    }
    d.insert("message".into(), rest.into());
    Some((Some(ts), d))
}

/// `2026/11/25 08:00:00 [error] 123#0: *1 msg, client: 1.2.3.4, server: x, request: "GET / HTTP/1.1"`
fn nginx_error(line: &str) -> Option<super::Normalised> {
    let ts = NaiveDateTime::parse_from_str(line.get(..19)?, "%Y/%m/%d %H:%M:%S").ok()?;
    let rest = line.get(20..)?.strip_prefix('[')?;
    let close = rest.find(']')?;
    let mut d = Map::new();
    put(&mut d, "event.dataset", "nginx.error");
    put(&mut d, "log.level", &rest[..close]);
    let msg = rest[close + 1..].trim_start();
    if let Some(pid) = msg.split('#').next().and_then(|p| p.parse::<u64>().ok()) {
        put(&mut d, "process.pid", pid);
    }
    if let Some(i) = msg.find("client: ") {
        let ip = msg[i + 8..].split(',').next().unwrap_or("");
        put(&mut d, "source.ip", ip);
    }
    d.insert("message".into(), msg.into());
    Some((Some(Utc.from_utc_datetime(&ts)), d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_access_lines() {
        let (ts, d) = parse(r#"203.0.113.9 - - [25/Nov/2026:16:00:00 +0800] "GET /admin/login.php?next=%2F HTTP/1.1" 404 153 "-" "sqlmap/1.7.2#stable (https://sqlmap.org)""#).unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T08:00:00+00:00");
        assert_eq!(d["url"]["path"], "/admin/login.php");
        assert_eq!(d["url"]["query"], "next=%2F");
        assert_eq!(d["http"]["response"]["status_code"], 404);
        assert_eq!(
            d["user_agent"]["original"],
            "sqlmap/1.7.2#stable (https://sqlmap.org)"
        );
        assert!(d["http"]["request"].get("referrer").is_none());
    }

    #[test]
    fn error_logs() {
        let (ts, d) =
            parse("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6")
                .unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2005-12-04T04:47:44+00:00");
        assert_eq!(d["log"]["level"], "error");
        assert_eq!(d["message"], "mod_jk child workerEnv in error state 6");
        let (_, d) = parse("[Wed Nov 25 08:00:00.123456 2026] [core:error] [pid 1234:tid 5678] [client 10.20.1.5:51000] AH00126: Invalid URI in request").unwrap();
        assert_eq!(d["source"]["ip"], "10.20.1.5");
        assert_eq!(d["process"]["pid"], 1234);
        let (_, d) = parse(r#"2026/11/25 08:00:00 [error] 2911#0: *17 open() "/srv/www/x" failed (2: No such file or directory), client: 198.51.100.4, server: portal, request: "GET /x HTTP/1.1""#).unwrap();
        assert_eq!(d["event"]["dataset"], "nginx.error");
        assert_eq!(d["source"]["ip"], "198.51.100.4");
    }
}
