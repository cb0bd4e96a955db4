//! OpenStack service logs (oslo.log's default format), the control plane of many gov clouds:
//! `2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-… user project - - -] …`
//! Collected files sometimes carry the file name first (`nova-api.log.1.… 2017-05-16 …`).

use super::{push, put};
use chrono::NaiveDateTime;
use serde_json::Map;

const LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "AUDIT", "WARNING", "ERROR", "CRITICAL",
];

/// Parses an oslo.log line; `None` when it is not one. oslo writes local time without a zone:
/// it is read as UTC, as the services in such clouds are configured.
pub fn parse(line: &str) -> Option<super::Normalised> {
    let mut words: Vec<&str> = line.splitn(6, ' ').collect();
    let mut file = None;
    if words
        .first()
        .is_some_and(|w| !w.starts_with(|c: char| c.is_ascii_digit()))
    {
        file = Some(words[0]);
        words = line.splitn(7, ' ').skip(1).collect();
    }
    let [date, time, pid, level, logger, rest] = words[..] else {
        return None;
    };
    let ts = NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S%.f")
        .ok()?
        .and_utc();
    let pid: u64 = pid.parse().ok()?;
    if !LEVELS.contains(&level) || !logger.contains('.') {
        return None;
    }
    let service = logger.split('.').next().unwrap_or(logger);
    let mut d = Map::new();
    put(&mut d, "event.dataset", format!("openstack.{service}"));
    put(&mut d, "service.name", service);
    put(&mut d, "process.pid", pid);
    put(&mut d, "log.level", level.to_ascii_lowercase());
    put(&mut d, "log.logger", logger);
    if let Some(f) = file {
        put(&mut d, "log.file.path", f);
    }
    let mut message = rest;
    if let Some(ctx) = rest.strip_prefix('[') {
        if let Some(end) = ctx.find(']') {
            let mut ids = ctx[..end].split(' ');
            if let Some(req) = ids.next().filter(|r| r.starts_with("req-")) {
                put(&mut d, "openstack.request_id", req);
            }
            if let Some(user) = ids.next().filter(|u| *u != "-") {
                put(&mut d, "openstack.user_id", user);
            }
            if let Some(project) = ids.next().filter(|p| *p != "-") {
                put(&mut d, "openstack.project_id", project);
            }
            message = ctx[end + 1..].trim_start();
        }
    }
    if let Some(inst) = message.strip_prefix("[instance: ") {
        if let Some(end) = inst.find(']') {
            put(&mut d, "openstack.instance_id", &inst[..end]);
            message = inst[end + 1..].trim_start();
        }
    }
    wsgi(message, &mut d);
    d.insert("message".into(), message.into());
    Some((Some(ts), d))
}

/// `10.11.10.1 "GET /v2/… HTTP/1.1" status: 200 len: 1893 time: 0.2477829`
fn wsgi(message: &str, d: &mut Map<String, serde_json::Value>) {
    let Some((client, rest)) = message.split_once(" \"") else {
        return;
    };
    // Behind a proxy the metadata service logs `client,proxy`: the first is who asked.
    let first = client.split(',').next().unwrap_or(client);
    if client
        .split(',')
        .any(|a| a.parse::<std::net::IpAddr>().is_err())
    {
        return;
    }
    let Some((request, tail)) = rest.split_once('"') else {
        return;
    };
    put(d, "source.ip", first);
    if first.len() != client.len() {
        put(d, "openstack.forwarded_for", client);
    }
    push(d, "event.category", "web");
    let mut req = request.split(' ');
    if let (Some(method), Some(url)) = (req.next(), req.next()) {
        put(d, "http.request.method", method);
        put(d, "url.original", url);
    }
    let mut words = tail.split_whitespace();
    while let Some(w) = words.next() {
        let value = words.next();
        match (w, value) {
            ("status:", Some(v)) => {
                if let Ok(code) = v.parse::<u64>() {
                    put(d, "http.response.status_code", code);
                    put(
                        d,
                        "event.outcome",
                        if code < 400 { "success" } else { "failure" },
                    );
                }
            }
            ("len:", Some(v)) => {
                if let Ok(n) = v.parse::<u64>() {
                    put(d, "http.response.body.bytes", n);
                }
            }
            ("time:", Some(v)) => {
                if let Ok(s) = v.parse::<f64>() {
                    put(d, "event.duration", (s * 1e9) as u64);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsgi_request_with_file_prefix() {
        let (ts, d) = parse(r#"nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829"#).unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2017-05-16T00:00:00.008+00:00");
        assert_eq!(d["event"]["dataset"], "openstack.nova");
        assert_eq!(d["source"]["ip"], "10.11.10.1");
        assert_eq!(d["http"]["response"]["status_code"], 200);
        assert_eq!(
            d["openstack"]["user_id"],
            "113d3a99c3da401fbd62cc2caa5b96d2"
        );
        assert_eq!(d["event"]["duration"], 247_782_900);
    }

    #[test]
    fn instance_lines_and_non_matches() {
        let (_, d) = parse("2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)").unwrap();
        assert_eq!(
            d["openstack"]["instance_id"],
            "b9000564-fe1a-409b-b8cc-1e88b294cd1d"
        );
        assert_eq!(d["message"], "VM Started (Lifecycle Event)");
        assert!(parse("2017-05-16 00:00:04.500 2931 NOPE nova.x y").is_none());
        assert!(parse("hello world").is_none());
        assert!(parse("").is_none());
    }
}
