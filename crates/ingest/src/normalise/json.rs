//! JSON events: generic documents, Suricata EVE and Zeek logs; MySQL audit and PostgreSQL
//! `jsonlog` are handed to [`super::database`], Windows events to [`super::windows`].

use super::{push, put};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

fn time(doc: &Map<String, Value>) -> Option<DateTime<Utc>> {
    ["@timestamp", "timestamp", "time"]
        .iter()
        .find_map(|k| doc.get(*k)?.as_str())
        .and_then(|s| {
            yunshou_eventstore::parse_time(s).or_else(|| {
                // Suricata: 2026-11-25T08:00:00.123456+0800
                DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            })
        })
        .or_else(|| {
            // Zeek: epoch seconds in `ts`.
            let ts = doc.get("ts")?.as_f64()?;
            DateTime::from_timestamp_micros((ts * 1e6) as i64)
        })
}

/// Parses a JSON object.
pub fn parse(line: &str) -> Option<super::Normalised> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(line) else {
        return None;
    };
    if doc.contains_key("audit_record")
        || (doc.contains_key("class") && doc.contains_key("connection_id"))
    {
        return super::database::mysql_json(&Value::Object(doc));
    }
    if doc.contains_key("error_severity") && doc.contains_key("message") {
        return super::database::postgres_json(&Value::Object(doc));
    }
    let ts = time(&doc);
    if doc.contains_key("event_type") && doc.contains_key("src_ip") {
        return Some((ts, suricata(doc)));
    }
    if doc.contains_key("id.orig_h") || doc.get("id").is_some_and(|v| v.get("orig_h").is_some()) {
        return Some((ts, zeek(doc)));
    }
    if let Some(w) = super::windows::normalise(&doc) {
        return Some(w);
    }
    let mut doc = doc;
    doc.remove("@timestamp");
    let dataset = doc.get("event").and_then(|e| e.get("dataset")).is_none();
    if dataset {
        put(&mut doc, "event.dataset", "json");
    }
    Some((ts, doc))
}

fn copy(from: &Map<String, Value>, key: &str, to: &mut Map<String, Value>, path: &str) {
    if let Some(v) = from.get(key).filter(|v| !v.is_null()) {
        put(to, path, v.clone());
    }
}

fn suricata(e: Map<String, Value>) -> Map<String, Value> {
    let mut d = Map::new();
    let kind = e
        .get("event_type")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
        .to_string();
    put(&mut d, "event.dataset", "suricata.eve");
    put(
        &mut d,
        "event.kind",
        if kind == "alert" { "alert" } else { "event" },
    );
    put(
        &mut d,
        "event.type",
        Value::Array(vec![kind.clone().into()]),
    );
    copy(&e, "src_ip", &mut d, "source.ip");
    copy(&e, "src_port", &mut d, "source.port");
    copy(&e, "dest_ip", &mut d, "destination.ip");
    copy(&e, "dest_port", &mut d, "destination.port");
    if let Some(p) = e.get("proto").and_then(|v| v.as_str()) {
        put(&mut d, "network.transport", p.to_lowercase());
    }
    copy(&e, "app_proto", &mut d, "network.protocol");
    copy(&e, "flow_id", &mut d, "network.community_id");
    copy(&e, "in_iface", &mut d, "observer.ingress.interface.name");
    if let Some(a) = e.get("alert").and_then(|v| v.as_object()) {
        copy(a, "signature_id", &mut d, "rule.id");
        copy(a, "signature", &mut d, "rule.name");
        copy(a, "category", &mut d, "rule.category");
        copy(a, "severity", &mut d, "event.severity");
        copy(a, "action", &mut d, "event.action");
        push(&mut d, "event.category", "intrusion_detection");
        if let Some(s) = a.get("signature").and_then(|v| v.as_str()) {
            d.insert("message".into(), s.into());
        }
    }
    if let Some(h) = e.get("http").and_then(|v| v.as_object()) {
        copy(h, "hostname", &mut d, "url.domain");
        copy(h, "url", &mut d, "url.original");
        copy(h, "http_method", &mut d, "http.request.method");
        copy(h, "status", &mut d, "http.response.status_code");
        copy(h, "http_user_agent", &mut d, "user_agent.original");
        copy(h, "length", &mut d, "http.response.body.bytes");
    }
    if let Some(q) = e.get("dns").and_then(|v| v.as_object()) {
        copy(q, "rrname", &mut d, "dns.question.name");
        copy(q, "rrtype", &mut d, "dns.question.type");
        copy(q, "rcode", &mut d, "dns.response_code");
        copy(q, "type", &mut d, "dns.type");
    }
    if let Some(t) = e.get("tls").and_then(|v| v.as_object()) {
        copy(t, "sni", &mut d, "tls.client.server_name");
        copy(t, "subject", &mut d, "tls.server.subject");
        copy(t, "issuerdn", &mut d, "tls.server.issuer");
        copy(t, "version", &mut d, "tls.version");
    }
    if let Some(f) = e.get("fileinfo").and_then(|v| v.as_object()) {
        copy(f, "filename", &mut d, "file.name");
        copy(f, "size", &mut d, "file.size");
        copy(f, "sha256", &mut d, "file.hash.sha256");
        copy(f, "md5", &mut d, "file.hash.md5");
    }
    if let Some(f) = e.get("flow").and_then(|v| v.as_object()) {
        let bytes = f
            .get("bytes_toserver")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            + f.get("bytes_toclient")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
        put(&mut d, "network.bytes", bytes);
        copy(f, "bytes_toserver", &mut d, "source.bytes");
        copy(f, "bytes_toclient", &mut d, "destination.bytes");
    }
    d.insert("suricata".into(), serde_json::json!({"eve": e}));
    d
}

fn zeek(e: Map<String, Value>) -> Map<String, Value> {
    let mut d = Map::new();
    let g = |k: &str| -> Option<&Value> {
        e.get(k).or_else(|| {
            let (a, b) = k.split_once('.')?;
            e.get(a)?.get(b)
        })
    };
    let log = if g("query").is_some() {
        "dns"
    } else if g("method").is_some() || g("uri").is_some() {
        "http"
    } else if g("server_name").is_some() || g("cipher").is_some() {
        "ssl"
    } else if g("fuid").is_some() && g("mime_type").is_some() {
        "files"
    } else {
        "conn"
    };
    put(&mut d, "event.dataset", format!("zeek.{log}"));
    for (k, path) in [
        ("id.orig_h", "source.ip"),
        ("id.orig_p", "source.port"),
        ("id.resp_h", "destination.ip"),
        ("id.resp_p", "destination.port"),
        ("proto", "network.transport"),
        ("service", "network.protocol"),
        ("uid", "zeek.session_id"),
        ("orig_bytes", "source.bytes"),
        ("resp_bytes", "destination.bytes"),
        ("duration", "event.duration_seconds"),
        ("query", "dns.question.name"),
        ("qtype_name", "dns.question.type"),
        ("rcode_name", "dns.response_code"),
        ("method", "http.request.method"),
        ("host", "url.domain"),
        ("uri", "url.original"),
        ("status_code", "http.response.status_code"),
        ("user_agent", "user_agent.original"),
        ("server_name", "tls.client.server_name"),
        ("version", "tls.version"),
        ("subject", "tls.server.subject"),
        ("issuer", "tls.server.issuer"),
        ("mime_type", "file.mime_type"),
        ("filename", "file.name"),
        ("sha256", "file.hash.sha256"),
        ("md5", "file.hash.md5"),
    ] {
        if let Some(v) = g(k).filter(|v| !v.is_null()) {
            put(&mut d, path, v.clone());
        }
    }
    d.insert("zeek".into(), serde_json::json!({ log: e }));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suricata_alerts_map_to_ecs() {
        let line = r#"{"timestamp":"2026-11-25T08:01:02.123456+0800","flow_id":1234,"in_iface":"eth0","event_type":"alert","src_ip":"203.0.113.9","src_port":51515,"dest_ip":"10.20.10.21","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2024897,"rev":3,"signature":"ET WEB_SERVER Possible SQL Injection","category":"Web Application Attack","severity":1}}"#;
        let (ts, d) = parse(line).unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T00:01:02.123456+00:00");
        assert_eq!(d["event"]["dataset"], "suricata.eve");
        assert_eq!(d["source"]["ip"], "203.0.113.9");
        assert_eq!(d["destination"]["port"], 443);
        assert_eq!(d["rule"]["id"], 2024897);
        assert_eq!(d["network"]["transport"], "tcp");
        assert_eq!(d["message"], "ET WEB_SERVER Possible SQL Injection");
    }

    #[test]
    fn zeek_logs_are_told_apart_by_their_fields() {
        let (ts, d) = parse(r#"{"ts":1764057600.5,"uid":"CAbc12","id.orig_h":"10.20.1.5","id.orig_p":53000,"id.resp_h":"10.20.0.2","id.resp_p":53,"proto":"udp","query":"portal.example.gov.cn","qtype_name":"A","rcode_name":"NOERROR"}"#).unwrap();
        assert!(ts.is_some());
        assert_eq!(d["event"]["dataset"], "zeek.dns");
        assert_eq!(d["dns"]["question"]["name"], "portal.example.gov.cn");
        let (_, d) = parse(r#"{"ts":1764057600.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","service":"http","orig_bytes":10,"resp_bytes":20}"#).unwrap();
        assert_eq!(d["event"]["dataset"], "zeek.conn");
    }

    #[test]
    fn generic_json_keeps_its_fields() {
        let (ts, d) =
            parse(r#"{"@timestamp":"2026-11-25T08:00:00Z","user":{"name":"x"}}"#).unwrap();
        assert!(ts.is_some());
        assert_eq!(d["user"]["name"], "x");
        assert_eq!(d["event"]["dataset"], "json");
        assert!(parse("[1,2]").is_none());
    }
}
