//! Database audit and server logs: MariaDB's `server_audit` plugin (file and syslog output),
//! the MySQL audit JSON of Percona Server and MySQL Enterprise, and PostgreSQL's server log
//! (the default `stderr` format with Debian's prefix `%m [%p] %q%u@%d `, and `jsonlog`).

use super::{push, put};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

/// `20261125 09:19:08,host,user,client,conn,query,OP,db,object,retcode`
pub fn mariadb_audit_file(line: &str) -> Option<super::Normalised> {
    let (time, rest) = line.split_once(',')?;
    let ts = NaiveDateTime::parse_from_str(time, "%Y%m%d %H:%M:%S")
        .ok()?
        .and_utc();
    mariadb_audit_fields(rest).map(|d| (Some(ts), d))
}

/// The syslog form, without the time: `host,user,client,conn,query,OP,db,object,retcode`.
pub fn mariadb_audit_fields(s: &str) -> Option<Map<String, Value>> {
    let mut parts = s.trim().splitn(8, ',');
    let server = parts.next()?;
    let user = parts.next()?;
    let client = parts.next()?;
    let connection: u64 = parts.next()?.parse().ok()?;
    let query_id: u64 = parts.next()?.parse().ok()?;
    let op = parts.next()?;
    if op.is_empty() || !op.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return None;
    }
    let database = parts.next()?;
    let tail = parts.next()?;
    // The object may be a quoted statement holding commas and `\'`; the return code follows.
    let (object, retcode) = if let Some(q) = tail.strip_prefix('\'') {
        let bytes = q.as_bytes();
        let mut end = None;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'\'' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let end = end?;
        let after = q[end + 1..].strip_prefix(',').unwrap_or("");
        (q[..end].replace("\\'", "'"), after)
    } else {
        let (o, r) = tail.rsplit_once(',').unwrap_or((tail, ""));
        (o.to_string(), r)
    };
    let mut d = Map::new();
    put(&mut d, "event.dataset", "mysql.audit");
    put(&mut d, "event.action", op.to_ascii_lowercase());
    put(&mut d, "host.name", server);
    if !user.is_empty() {
        put(&mut d, "user.name", user);
    }
    put(&mut d, "source.address", client);
    if client.parse::<std::net::IpAddr>().is_ok() {
        put(&mut d, "source.ip", client);
    }
    put(&mut d, "mysql.audit.format", "mariadb_server_audit");
    put(&mut d, "mysql.audit.connection_id", connection);
    put(&mut d, "mysql.audit.query_id", query_id);
    if !database.is_empty() {
        put(&mut d, "mysql.audit.database", database);
    }
    let retcode = retcode.trim();
    if let Ok(code) = retcode.parse::<u64>() {
        put(
            &mut d,
            "event.outcome",
            if code == 0 { "success" } else { "failure" },
        );
        if code != 0 {
            put(&mut d, "error.code", retcode);
        }
    }
    let message = match op {
        "QUERY" | "QUERY_DDL" | "QUERY_DML" | "QUERY_DCL" | "QUERY_DML_NO_SELECT" => {
            push(&mut d, "event.category", "database");
            put(&mut d, "mysql.audit.query", object.as_str());
            object
        }
        "CONNECT" | "FAILED_CONNECT" | "DISCONNECT" | "CHANGEUSER" => {
            push(&mut d, "event.category", "authentication");
            if op == "FAILED_CONNECT" {
                put(&mut d, "event.outcome", "failure");
            }
            format!("{} {user}@{client}", op.to_ascii_lowercase())
        }
        _ => {
            push(&mut d, "event.category", "database");
            put(&mut d, "mysql.audit.object", object.as_str());
            format!("{} {database}.{object}", op.to_ascii_lowercase())
        }
    };
    d.insert("message".into(), message.into());
    Some(d)
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|x| !x.is_empty())
}

fn n(v: &Value, path: &[&str]) -> Option<i64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_i64().or_else(|| cur.as_str()?.parse().ok())
}

fn mysql_time(t: &str) -> Option<DateTime<Utc>> {
    let t = t.trim().trim_end_matches(" UTC").trim_end_matches('Z');
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| n.and_utc())
}

/// MySQL audit JSON: Percona (`{"audit_record": {…}}`) or Enterprise (`class`, `account`).
pub fn mysql_json(v: &Value) -> Option<super::Normalised> {
    let mut d = Map::new();
    put(&mut d, "event.dataset", "mysql.audit");
    let ts;
    let status;
    if let Some(r) = v.get("audit_record") {
        put(&mut d, "mysql.audit.format", "percona");
        ts = s(r, &["timestamp"]).and_then(mysql_time);
        let name = s(r, &["name"]).unwrap_or("unknown");
        put(&mut d, "event.action", name.to_ascii_lowercase());
        // "user": "root[root] @ localhost [127.0.0.1]"
        if let Some(u) = s(r, &["user"]).and_then(|u| u.split('[').next()) {
            put(&mut d, "user.name", u.trim());
        }
        if let Some(ip) = s(r, &["ip"]) {
            put(&mut d, "source.ip", ip);
        }
        if let Some(h) = s(r, &["host"]) {
            put(&mut d, "source.address", h);
        }
        if let Some(db) = s(r, &["db"]) {
            put(&mut d, "mysql.audit.database", db);
        }
        if let Some(c) = n(r, &["connection_id"]) {
            put(&mut d, "mysql.audit.connection_id", c);
        }
        if let Some(q) = s(r, &["sqltext"]) {
            put(&mut d, "mysql.audit.query", q);
        }
        status = n(r, &["status"]);
        let category = if name.contains("Connect") || name == "Quit" {
            "authentication"
        } else {
            "database"
        };
        push(&mut d, "event.category", category);
        let msg = s(r, &["sqltext"]).map_or_else(|| name.to_string(), str::to_string);
        d.insert("message".into(), msg.into());
    } else {
        put(&mut d, "mysql.audit.format", "mysql_enterprise");
        ts = s(v, &["timestamp"]).and_then(mysql_time);
        let class = s(v, &["class"]).unwrap_or("unknown");
        let event = s(v, &["event"]).unwrap_or("unknown");
        put(&mut d, "event.action", format!("{class}.{event}"));
        if let Some(u) = s(v, &["account", "user"]).or_else(|| s(v, &["login", "user"])) {
            put(&mut d, "user.name", u);
        }
        if let Some(ip) = s(v, &["login", "ip"]) {
            put(&mut d, "source.ip", ip);
        }
        if let Some(h) = s(v, &["account", "host"]) {
            put(&mut d, "source.address", h);
        }
        if let Some(c) = n(v, &["connection_id"]) {
            put(&mut d, "mysql.audit.connection_id", c);
        }
        let query = s(v, &["general_data", "query"]).or_else(|| s(v, &["query_data", "query"]));
        if let Some(q) = query {
            put(&mut d, "mysql.audit.query", q);
        }
        if let Some(db) = s(v, &["connection_data", "db"]) {
            put(&mut d, "mysql.audit.database", db);
        }
        status = n(v, &["connection_data", "status"])
            .or_else(|| n(v, &["general_data", "status"]))
            .or_else(|| n(v, &["query_data", "status"]));
        push(
            &mut d,
            "event.category",
            if class == "connection" {
                "authentication"
            } else {
                "database"
            },
        );
        let msg = query.map_or_else(|| format!("{class} {event}"), str::to_string);
        d.insert("message".into(), msg.into());
    }
    if let Some(code) = status {
        put(
            &mut d,
            "event.outcome",
            if code == 0 { "success" } else { "failure" },
        );
        if code != 0 {
            put(&mut d, "error.code", code.to_string());
        }
    }
    Some((ts, d))
}

/// PostgreSQL writes time zone abbreviations; these are the ones a Chinese gov cloud meets.
fn zone_offset(abbr: &str) -> Option<FixedOffset> {
    let hours = match abbr {
        "UTC" | "GMT" | "Z" => 0,
        "CST" | "PRC" | "HKT" | "+08" => 8,
        _ => {
            // Numeric forms: +08, -05, +0530.
            let sign = match abbr.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits = &abbr[1..];
            // Checked first: slicing at byte 2 needs ASCII, and `parse` would take a sign.
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i32>().ok()?, 0),
                4 => (digits[..2].parse().ok()?, digits[2..].parse::<i32>().ok()?),
                _ => return None,
            };
            return FixedOffset::east_opt(sign * (h * 3600 + m * 60));
        }
    };
    FixedOffset::east_opt(hours * 3600)
}

const PG_LEVELS: &[&str] = &[
    "DEBUG5",
    "DEBUG4",
    "DEBUG3",
    "DEBUG2",
    "DEBUG1",
    "LOG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "FATAL",
    "PANIC",
    "STATEMENT",
    "DETAIL",
    "HINT",
    "CONTEXT",
    "QUERY",
    "LOCATION",
];

/// `2026-11-25 09:19:13.802 UTC [6546] postgres@test ERROR:  division by zero`
pub fn postgres_stderr(line: &str) -> Option<super::Normalised> {
    let mut words = line.splitn(4, ' ');
    let date = words.next()?;
    let time = words.next()?;
    let zone = words.next()?;
    let rest = words.next()?;
    let naive =
        NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let ts = zone_offset(zone)
        .and_then(|z| z.from_local_datetime(&naive).single())
        .map(|t| t.with_timezone(&Utc));
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let pid: u64 = rest[..close].split('-').next()?.parse().ok()?;
    let mut after = rest[close + 1..].trim_start();
    let mut d = Map::new();
    put(&mut d, "process.pid", pid);
    // `%q%u@%d ` is empty for background processes.
    let (first, tail) = after.split_once(' ').unwrap_or((after, ""));
    if let Some((user, db)) = first.split_once('@').filter(|_| !first.ends_with(':')) {
        if !user.is_empty() && user != "[unknown]" {
            put(&mut d, "user.name", user);
        }
        if !db.is_empty() && db != "[unknown]" {
            put(&mut d, "postgresql.log.database", db);
        }
        after = tail.trim_start();
    }
    let (level, message) = after.split_once(':')?;
    if !PG_LEVELS.contains(&level) {
        return None;
    }
    postgres_message(level, message.trim_start(), &mut d);
    Some((ts, d))
}

/// `jsonlog` (PostgreSQL 15+): one JSON object per entry.
pub fn postgres_json(v: &Value) -> Option<super::Normalised> {
    let level = s(v, &["error_severity"])?;
    let message = s(v, &["message"])?;
    let ts = s(v, &["timestamp"]).and_then(|t| {
        let (stamp, zone) = t.rsplit_once(' ')?;
        let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f").ok()?;
        zone_offset(zone)?
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Utc))
    });
    let mut d = Map::new();
    if let Some(pid) = n(v, &["pid"]) {
        put(&mut d, "process.pid", pid);
    }
    if let Some(u) = s(v, &["user"]) {
        put(&mut d, "user.name", u);
    }
    if let Some(db) = s(v, &["dbname"]) {
        put(&mut d, "postgresql.log.database", db);
    }
    if let Some(h) = s(v, &["remote_host"]) {
        if h.parse::<std::net::IpAddr>().is_ok() {
            put(&mut d, "source.ip", h);
        }
    }
    if let Some(code) = s(v, &["state_code"]) {
        put(&mut d, "postgresql.log.sql_state_code", code);
    }
    if let Some(st) = s(v, &["statement"]) {
        put(&mut d, "postgresql.log.query", st);
    }
    if let Some(app) = s(v, &["application_name"]) {
        put(&mut d, "postgresql.log.application_name", app);
    }
    postgres_message(level, message, &mut d);
    Some((ts, d))
}

fn quoted_after<'a>(msg: &'a str, marker: &str) -> Option<&'a str> {
    let i = msg.find(marker)? + marker.len();
    let r = &msg[i..];
    let end = r.find('"')?;
    Some(&r[..end])
}

fn kv<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.split([' ', ',']).find_map(|w| w.strip_prefix(key))
}

fn postgres_message(level: &str, message: &str, d: &mut Map<String, Value>) {
    put(d, "event.dataset", "postgresql.log");
    put(d, "log.level", level.to_ascii_lowercase());
    if level == "ERROR" || level == "FATAL" || level == "PANIC" {
        put(d, "event.type", Value::Array(vec!["error".into()]));
    }
    if let Some(q) = message.strip_prefix("statement: ") {
        put(d, "postgresql.log.query", q);
        push(d, "event.category", "database");
    } else if let Some(q) = message.strip_prefix("duration: ") {
        if let Some(ms) = q.split(' ').next().and_then(|x| x.parse::<f64>().ok()) {
            put(d, "event.duration", (ms * 1e6) as u64);
        }
        if let Some((_, stmt)) = q.split_once("statement: ") {
            put(d, "postgresql.log.query", stmt);
        }
        push(d, "event.category", "database");
    } else if level == "STATEMENT" {
        put(d, "postgresql.log.query", message);
        push(d, "event.category", "database");
    } else if message.starts_with("connection received:") {
        if let Some(h) = kv(message, "host=").filter(|h| h.parse::<std::net::IpAddr>().is_ok()) {
            put(d, "source.ip", h);
        }
        if let Some(p) = kv(message, "port=").and_then(|p| p.parse::<u64>().ok()) {
            put(d, "source.port", p);
        }
        push(d, "event.category", "network");
    } else if message.starts_with("connection authorized:") {
        if let Some(u) = kv(message, "user=") {
            put(d, "user.name", u);
        }
        push(d, "event.category", "authentication");
        put(d, "event.outcome", "success");
        put(d, "event.action", "login");
    } else if message.starts_with("password authentication failed")
        || message.contains("authentication failed for user")
        || (message.starts_with("role \"") && message.ends_with("does not exist"))
        || message.starts_with("no pg_hba.conf entry")
    {
        let user =
            quoted_after(message, "for user \"").or_else(|| quoted_after(message, "role \""));
        if let Some(u) = user {
            put(d, "user.name", u);
        }
        if let Some(h) = quoted_after(message, "host \"") {
            put(d, "source.ip", h);
        }
        push(d, "event.category", "authentication");
        put(d, "event.outcome", "failure");
        put(d, "event.action", "login");
    } else if message.starts_with("disconnection:") {
        push(d, "event.category", "session");
        put(d, "event.action", "disconnect");
    }
    d.insert("message".into(), message.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_offsets_take_only_names_and_signed_digits() {
        let east = |h: i32, m: i32| FixedOffset::east_opt(h * 3600 + m * 60);
        assert_eq!(zone_offset("CST"), east(8, 0));
        assert_eq!(zone_offset("+0530"), east(5, 30));
        assert_eq!(zone_offset("-05"), east(-5, 0));
        // A multi-byte character where digits belong, a second sign, a fraction: no zone.
        for bad in ["+0\u{fffd}", "+-1", "+-130", "+1.5", "+", "EST5"] {
            assert_eq!(zone_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn mariadb_server_audit_lines() {
        let (ts, d) = mariadb_audit_file(
            r"20261125 09:19:08,vm,root,localhost,12,20,QUERY,test,'select \'a,b\', 1',0",
        )
        .unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T09:19:08+00:00");
        assert_eq!(d["mysql"]["audit"]["query"], "select 'a,b', 1");
        assert_eq!(d["event"]["outcome"], "success");
        assert_eq!(d["event"]["action"], "query");
        let (_, d) =
            mariadb_audit_file("20261125 09:19:08,vm,root,127.0.0.1,13,0,FAILED_CONNECT,,,1045")
                .unwrap();
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["error"]["code"], "1045");
        assert_eq!(d["source"]["ip"], "127.0.0.1");
        let (_, d) =
            mariadb_audit_file("20261125 09:19:08,vm,root,localhost,12,21,CREATE,test,zz,")
                .unwrap();
        assert_eq!(d["mysql"]["audit"]["object"], "zz");
        assert!(mariadb_audit_file("20261125 09:19:08,a,b").is_none());
        assert!(mariadb_audit_file("20261125 09:19:08,vm,root,h,1,2,QUERY,db,'open").is_none());
    }

    #[test]
    fn mysql_audit_json_shapes() {
        let v: Value = serde_json::from_str(r#"{"audit_record":{"name":"Query","record":"4_2026","timestamp":"2026-11-25T09:00:00 UTC","command_class":"select","connection_id":"3","status":0,"sqltext":"select * from citizens","user":"app[app] @ web-01 [10.20.1.5]","host":"web-01","os_user":"","ip":"10.20.1.5","db":"gov"}}"#).unwrap();
        let (ts, d) = mysql_json(&v).unwrap();
        assert!(ts.is_some());
        assert_eq!(d["user"]["name"], "app");
        assert_eq!(d["source"]["ip"], "10.20.1.5");
        assert_eq!(d["mysql"]["audit"]["query"], "select * from citizens");
        let v: Value = serde_json::from_str(r#"{"timestamp":"2026-11-25 09:00:01","id":0,"class":"connection","event":"connect","connection_id":14,"account":{"user":"root","host":"localhost"},"login":{"user":"root","os":"","ip":"::1","proxy":""},"connection_data":{"connection_type":"ssl","status":1045,"db":""}}"#).unwrap();
        let (_, d) = mysql_json(&v).unwrap();
        assert_eq!(d["event"]["action"], "connection.connect");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["source"]["ip"], "::1");
    }

    #[test]
    fn postgres_stderr_lines() {
        let (ts, d) = postgres_stderr(
            "2026-11-25 09:19:13.802 UTC [6546] postgres@test ERROR:  division by zero",
        )
        .unwrap();
        assert_eq!(ts.unwrap().timestamp_millis() % 1000, 802);
        assert_eq!(d["user"]["name"], "postgres");
        assert_eq!(d["postgresql"]["log"]["database"], "test");
        assert_eq!(d["log"]["level"], "error");
        let (ts, d) = postgres_stderr("2026-11-25 17:19:13 CST [77] bob@gov FATAL:  password authentication failed for user \"bob\"").unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T09:19:13+00:00");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["user"]["name"], "bob");
        let (_, d) = postgres_stderr(
            "2026-11-25 09:15:50.720 UTC [2204] LOG:  listening on IPv4 address \"127.0.0.1\", port 5432",
        )
        .unwrap();
        assert!(d.get("user").is_none());
        let (_, d) = postgres_stderr("2026-11-25 09:15:50.720 UTC [2204] [unknown]@[unknown] LOG:  connection received: host=10.0.0.9 port=51234").unwrap();
        assert_eq!(d["source"]["ip"], "10.0.0.9");
        assert_eq!(d["source"]["port"], 51234);
        assert!(postgres_stderr("2026-11-25 09:15:50 UTC [x] LOG:  y").is_none());
        assert!(postgres_stderr("2026-11-25 09:15:50 UTC [1] NOPE:  y").is_none());
    }

    #[test]
    fn postgres_jsonlog() {
        let v: Value = serde_json::from_str(r#"{"timestamp":"2026-11-25 09:19:13.802 UTC","user":"postgres","dbname":"test","pid":6546,"remote_host":"127.0.0.1","error_severity":"ERROR","state_code":"22012","message":"division by zero","statement":"select 1/0","backend_type":"client backend"}"#).unwrap();
        let (ts, d) = postgres_json(&v).unwrap();
        assert!(ts.is_some());
        assert_eq!(d["postgresql"]["log"]["query"], "select 1/0");
        assert_eq!(d["postgresql"]["log"]["sql_state_code"], "22012");
    }
}
