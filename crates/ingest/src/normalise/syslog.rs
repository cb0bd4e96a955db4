//! Syslog (RFC 3164 and RFC 5424 headers, with or without a priority), CEF, and the kernel's
//! iptables/nftables LOG lines.

use super::{auth, push, put};
use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// `Nov 25 08:00:00` (single-digit days padded with a space), year from `now`: a time more
/// than a day ahead belongs to the previous year.
fn bsd_time(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = s.get(..15)?;
    let with_year = format!("{} {}", now.year(), s.replace("  ", " 0"));
    let t = NaiveDateTime::parse_from_str(&with_year, "%Y %b %d %H:%M:%S").ok()?;
    let t = Utc.from_utc_datetime(&t);
    if t > now + chrono::Duration::days(1) {
        let prev = format!("{} {}", now.year() - 1, s.replace("  ", " 0"));
        return NaiveDateTime::parse_from_str(&prev, "%Y %b %d %H:%M:%S")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t));
    }
    Some(t)
}

fn take_word(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], s[i + 1..].trim_start_matches(' ')),
        None => (s, ""),
    }
}

/// Programs whose message is a record of its own: auditd through audisp, MariaDB's
/// `server_audit` with `server_audit_output_type=syslog`, PostgreSQL with
/// `log_destination=syslog`. The syslog header's fields stay underneath the parsed ones.
fn program_message(
    program: &str,
    msg: &str,
    header: &Map<String, Value>,
) -> Option<super::Normalised> {
    let (ts, mut doc) = match program {
        "audit" | "audispd" | "audisp-syslog" | "auditd" => super::auditd::parse(msg)?,
        "mysql-server_auditing" | "mariadb-server_auditing" => {
            // `server_audit_syslog_info`, when set, comes first, then a space.
            let fields = super::database::mariadb_audit_fields(msg).or_else(|| {
                let (_, rest) = msg.trim_start().split_once(' ')?;
                super::database::mariadb_audit_fields(rest)
            })?;
            (None, fields)
        }
        "postgres" | "postgresql" => {
            // `[5-1] bob@gov LOG:  …`, `[5-1] user=bob,db=gov LOG:  …` or `[5-1] LOG:  …`:
            // the stderr parser wants a time and pid in front, so give it the header's.
            let body = msg
                .trim_start_matches(|c: char| {
                    c == '[' || c.is_ascii_digit() || c == '-' || c == ']'
                })
                .trim_start();
            let body = match body.split_once(' ') {
                Some((w, rest)) if w.starts_with("user=") => {
                    let kv = |k: &str| w.split(',').find_map(|p| p.strip_prefix(k)).unwrap_or("");
                    format!("{}@{} {rest}", kv("user="), kv("db="))
                }
                _ => body.to_string(),
            };
            let pid = header
                .get("process")
                .and_then(|p| p.get("pid"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            super::database::postgres_stderr(&format!("1970-01-01 00:00:00 UTC [{pid}] {body}"))
                .map(|(_, d)| (None, d))?
        }
        _ => return None,
    };
    for (k, v) in header {
        match (doc.get_mut(k), v) {
            (Some(Value::Object(mine)), Value::Object(theirs)) => {
                for (ik, iv) in theirs {
                    mine.entry(ik.clone()).or_insert_with(|| iv.clone());
                }
            }
            (Some(_), _) => {}
            (None, _) => {
                doc.insert(k.clone(), v.clone());
            }
        }
    }
    Some((ts, doc))
}

/// Parses a syslog line; `None` when it does not look like one.
pub fn parse(line: &str, now: DateTime<Utc>) -> Option<super::Normalised> {
    let mut d = Map::new();
    let mut rest = line;
    if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>')?;
        let pri: u32 = r[..end].parse().ok()?;
        if pri > 191 {
            return None;
        }
        put(&mut d, "log.syslog.priority", pri);
        put(&mut d, "log.syslog.facility.code", pri / 8);
        put(
            &mut d,
            "log.syslog.facility.name",
            FACILITIES[(pri / 8) as usize],
        );
        put(&mut d, "log.syslog.severity.code", pri % 8);
        put(
            &mut d,
            "log.syslog.severity.name",
            SEVERITIES[(pri % 8) as usize],
        );
        rest = &r[end + 1..];
    }
    let (ts, host, tag, msg) = if let Some(r5424) = rest.strip_prefix("1 ") {
        // RFC 5424: TIMESTAMP HOST APP PROCID MSGID SD MSG
        let (t, r) = take_word(r5424);
        let (host, r) = take_word(r);
        let (app, r) = take_word(r);
        let (procid, r) = take_word(r);
        let (msgid, r) = take_word(r);
        let (sd, msg) = structured_data(r);
        if !sd.is_empty() {
            put(&mut d, "log.syslog.structured_data", Value::Object(sd));
        }
        if msgid != "-" {
            put(&mut d, "log.syslog.msgid", msgid);
        }
        if procid != "-" {
            if let Ok(pid) = procid.parse::<u64>() {
                put(&mut d, "process.pid", pid);
            }
        }
        let ts = (t != "-")
            .then(|| yunshou_eventstore::parse_time(t))
            .flatten();
        put(&mut d, "log.syslog.version", 1);
        (
            ts,
            (host != "-").then_some(host),
            (app != "-").then_some(app.to_string()),
            msg.trim_start_matches('\u{feff}'),
        )
    } else {
        // RFC 3164 has `Nov 25 08:00:00`; rsyslog's forward formats put an RFC 3339 time there.
        let (ts, r) = match bsd_time(rest, now) {
            Some(ts) => (ts, rest.get(16..)?.trim_start()),
            None => {
                let (t, r) = take_word(rest);
                (
                    yunshou_eventstore::parse_time(t).filter(|_| t.contains('T'))?,
                    r,
                )
            }
        };
        // `host tag[pid]: msg`; some senders (logger --rfc3164 locally) leave the host out.
        let (first, after) = take_word(r);
        let (host, tagged) = if first.ends_with(':') || first.contains('[') {
            (None, r)
        } else {
            (Some(first), after)
        };
        let (tag, msg) = match tagged.find(": ") {
            Some(i) if !tagged[..i].contains(' ') => {
                (Some(tagged[..i].to_string()), &tagged[i + 2..])
            }
            _ => (None, tagged),
        };
        (Some(ts), host, tag, msg)
    };
    if let Some(h) = host {
        put(&mut d, "host.hostname", h);
    }
    let mut program = None;
    if let Some(tag) = tag {
        // `sshd[123]`, `sshd(pam_unix)[123]`
        let (name, pid) = match tag.find('[') {
            Some(i) => (
                &tag[..i],
                tag[i + 1..].trim_end_matches(']').parse::<u64>().ok(),
            ),
            None => (tag.as_str(), None),
        };
        if let Some(pid) = pid {
            put(&mut d, "process.pid", pid);
        }
        let (name, module) = match name.find('(') {
            Some(i) => (&name[..i], Some(name[i + 1..].trim_end_matches(')'))),
            None => (name, None),
        };
        put(&mut d, "process.name", name);
        program = Some((name.to_string(), module.map(str::to_string)));
    }
    d.insert("message".into(), msg.into());
    put(&mut d, "event.dataset", "syslog");
    if msg.starts_with("CEF:") {
        return cef(msg, d).map(|(t, doc)| (t.or(ts), doc));
    }
    if let Some((name, module)) = &program {
        auth::parse(name, module.as_deref(), msg, &mut d);
        if let Some(parsed) = program_message(name, msg, &d) {
            return Some((ts.or(parsed.0), parsed.1));
        }
    }
    if msg.contains("IN=") && msg.contains("SRC=") {
        firewall(msg, &mut d);
    }
    Some((ts, d))
}

fn structured_data(s: &str) -> (Map<String, Value>, &str) {
    let mut out = Map::new();
    if let Some(r) = s.strip_prefix("- ") {
        return (out, r);
    }
    if s == "-" {
        return (out, "");
    }
    let mut rest = s;
    while let Some(r) = rest.strip_prefix('[') {
        let Some(end) = find_sd_end(r) else { break };
        let element = &r[..end];
        let (id, params) = take_word(element);
        let mut p = Map::new();
        for (k, v) in sd_params(params) {
            p.insert(k, v.into());
        }
        out.insert(id.to_string(), Value::Object(p));
        rest = &r[end + 1..];
    }
    (out, rest.trim_start())
}

fn find_sd_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ']' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn sd_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().to_string();
        let mut value = String::new();
        let mut escaped = false;
        let mut end = None;
        for (i, c) in rest[eq + 2..].char_indices() {
            match c {
                _ if escaped => {
                    value.push(c);
                    escaped = false;
                }
                '\\' => escaped = true,
                '"' => {
                    end = Some(eq + 2 + i);
                    break;
                }
                c => value.push(c),
            }
        }
        let Some(end) = end else { break };
        out.push((key, value));
        rest = rest[end + 1..].trim_start();
    }
    out
}

/// iptables / nftables LOG lines: `PREFIX IN=eth0 OUT= SRC=… DST=… PROTO=TCP SPT=… DPT=…`.
fn firewall(msg: &str, d: &mut Map<String, Value>) {
    put(d, "event.dataset", "firewall");
    push(d, "event.category", "network");
    let start = msg.find("IN=").unwrap_or(0);
    let prefix = msg[..start].trim().trim_start_matches('[').trim();
    // The kernel's timestamp `[12345.678]` may precede the prefix.
    let prefix = prefix.split(']').next_back().unwrap_or(prefix).trim();
    if !prefix.is_empty() {
        put(
            d,
            "event.action",
            prefix.trim_end_matches(':').to_lowercase(),
        );
    }
    for kv in msg[start..].split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        let num = v.parse::<u64>().ok();
        match k {
            "IN" => put(d, "observer.ingress.interface.name", v),
            "OUT" => put(d, "observer.egress.interface.name", v),
            "SRC" => put(d, "source.ip", v),
            "DST" => put(d, "destination.ip", v),
            "PROTO" => put(d, "network.transport", v.to_lowercase()),
            "SPT" => put(d, "source.port", num.map(Value::from).unwrap_or(v.into())),
            "DPT" => put(
                d,
                "destination.port",
                num.map(Value::from).unwrap_or(v.into()),
            ),
            "LEN" => put(d, "network.bytes", num.map(Value::from).unwrap_or(v.into())),
            "TTL" => put(d, "iptables.ttl", num.map(Value::from).unwrap_or(v.into())),
            "MAC" => put(d, "source.mac", v),
            _ => {}
        }
    }
}

fn cef_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(x) => out.push(x),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// ArcSight CEF: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value …`.
pub fn cef(line: &str, mut d: Map<String, Value>) -> Option<super::Normalised> {
    let body = line.strip_prefix("CEF:")?;
    // Header fields are split on unescaped pipes.
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    let mut ext_start = None;
    for (i, c) in body.char_indices() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '|' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == 7 {
                    ext_start = Some(i + 1);
                    break;
                }
            }
            c => cur.push(c),
        }
    }
    let ext_start = ext_start?;
    put(&mut d, "event.dataset", "cef");
    put(&mut d, "observer.vendor", fields[1].as_str());
    put(&mut d, "observer.product", fields[2].as_str());
    put(&mut d, "observer.version", fields[3].as_str());
    put(&mut d, "event.code", fields[4].as_str());
    put(&mut d, "message", fields[5].as_str());
    if let Ok(sev) = fields[6].parse::<u64>() {
        put(&mut d, "event.severity", sev);
    }
    // Extension: keys are words followed by `=`; a value runs to the next ` key=`.
    let ext = &body[ext_start..];
    let mut pairs: Vec<(String, String)> = Vec::new();
    let bytes = ext.as_bytes();
    let mut key_start = 0;
    let mut i = 0;
    let mut current: Option<(String, usize)> = None;
    while i < bytes.len() {
        if bytes[i] == b'=' && (i == 0 || bytes[i - 1] != b'\\') {
            // The key is the word before '='.
            let k_start = ext[..i].rfind(' ').map(|p| p + 1).unwrap_or(key_start);
            if let Some((k, v_start)) = current.take() {
                let v_end = k_start.saturating_sub(1).max(v_start);
                pairs.push((k, cef_unescape(ext[v_start..v_end].trim())));
            }
            current = Some((ext[k_start..i].to_string(), i + 1));
            key_start = i + 1;
        }
        i += 1;
    }
    if let Some((k, v_start)) = current {
        pairs.push((k, cef_unescape(ext[v_start..].trim())));
    }
    let mut cef_ext = Map::new();
    for (k, v) in pairs {
        let path = match k.as_str() {
            "src" => Some("source.ip"),
            "dst" => Some("destination.ip"),
            "spt" => Some("source.port"),
            "dpt" => Some("destination.port"),
            "suser" => Some("user.name"),
            "duser" => Some("destination.user.name"),
            "act" => Some("event.action"),
            "proto" => Some("network.transport"),
            "request" => Some("url.original"),
            "msg" => Some("message"),
            "shost" => Some("source.domain"),
            "dhost" => Some("destination.domain"),
            "fname" => Some("file.name"),
            "outcome" => Some("event.outcome"),
            _ => None,
        };
        if let Some(path) = path {
            let value: Value = if path.ends_with(".port") {
                v.parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(v.clone().into())
            } else if path == "network.transport" {
                v.to_lowercase().into()
            } else {
                v.clone().into()
            };
            put(&mut d, path, value);
        }
        cef_ext.insert(k, v.into());
    }
    put(&mut d, "cef.extensions", Value::Object(cef_ext));
    Some((None, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-25T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn rfc3164_with_and_without_priority() {
        let (ts, d) = parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ", now()).unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-06-14T15:16:01+00:00");
        assert_eq!(d["host"]["hostname"], "combo");
        assert_eq!(d["process"]["name"], "sshd");
        assert_eq!(d["process"]["pid"], 19939);
        let (ts, d) = parse(
            "<38>Dec  1 23:59:59 web-01 sshd[7]: Connection closed",
            now(),
        )
        .unwrap();
        assert_eq!(
            ts.unwrap().to_rfc3339(),
            "2025-12-01T23:59:59+00:00",
            "a December line read in November is last year's"
        );
        assert_eq!(d["log"]["syslog"]["facility"]["name"], "auth");
        assert_eq!(d["log"]["syslog"]["severity"]["name"], "informational");
    }

    #[test]
    fn programs_logging_records_of_their_own() {
        let (ts, d) = parse("<134>Nov 25 09:37:44 db-02 postgres[7094]: [3-1] archive@gov_archive LOG:  statement: SELECT 1", now()).unwrap();
        assert!(ts.is_some());
        assert_eq!(d["event"]["dataset"], "postgresql.log");
        assert_eq!(d["user"]["name"], "archive");
        assert_eq!(d["process"]["pid"], 7094);
        assert_eq!(d["host"]["hostname"], "db-02");
        let (_, d) = parse("<134>Nov 25 09:37:44 db-02 postgres[7]: [3-1] user=bob,db=gov FATAL:  password authentication failed for user \"bob\"", now()).unwrap();
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["postgresql"]["log"]["database"], "gov");
        let (_, d) = parse("<110>Nov 25 09:37:44 db-01 mysql-server_auditing:  db-01,app_rw,10.20.3.4,201,5,QUERY,gov,'SELECT 1',0", now()).unwrap();
        assert_eq!(d["event"]["dataset"], "mysql.audit");
        assert_eq!(d["mysql"]["audit"]["query"], "SELECT 1");
        let (_, d) = parse("<110>Nov 25 09:37:44 db-01 mysql-server_auditing: prod-gov db-01,app_rw,10.20.3.4,201,5,CONNECT,gov,,0", now()).unwrap();
        assert_eq!(d["event"]["action"], "connect");
        let (_, d) = parse("<110>Nov 25 09:37:44 app-01 audispd: type=USER_CMD msg=audit(1764063464.100:77): pid=1 uid=0 msg='cwd=\"/root\" cmd=\"id\" res=success'", now()).unwrap();
        assert_eq!(d["event"]["dataset"], "auditd.log");
        assert_eq!(d["process"]["command_line"], "id");
        assert_eq!(d["host"]["hostname"], "app-01");
    }

    #[test]
    fn rsyslog_forward_format_with_rfc3339_time() {
        let (ts, d) = parse(
            "<38>2026-11-25T09:30:01.123456+08:00 web-01 sshd(pam_unix)[812]: session opened for user test by (uid=509)",
            now(),
        )
        .unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T01:30:01.123456+00:00");
        assert_eq!(d["host"]["hostname"], "web-01");
        assert_eq!(d["process"]["name"], "sshd");
        assert_eq!(d["process"]["pid"], 812);
        assert!(parse("<38>2026-11-25 web-01 x: y", now()).is_none());
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let (ts, d) = parse(r#"<165>1 2026-11-25T08:00:00.003Z mymachine.example.com evntslog 42 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][x@1 a="b\"c"] An application event"#, now()).unwrap();
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T08:00:00.003+00:00");
        assert_eq!(d["host"]["hostname"], "mymachine.example.com");
        assert_eq!(d["process"]["name"], "evntslog");
        assert_eq!(d["process"]["pid"], 42);
        assert_eq!(d["log"]["syslog"]["msgid"], "ID47");
        assert_eq!(
            d["log"]["syslog"]["structured_data"]["exampleSDID@32473"]["eventSource"],
            "Application"
        );
        assert_eq!(d["log"]["syslog"]["structured_data"]["x@1"]["a"], "b\"c");
        assert_eq!(d["message"], "An application event");
        let (_, d) = parse("<13>1 2026-11-25T08:00:00Z host app - - - hello", now()).unwrap();
        assert_eq!(d["message"], "hello");
    }

    #[test]
    fn firewall_lines() {
        let (_, d) = parse("<4>Nov 25 08:00:01 gw kernel: [12345.678] NFT-DROP: IN=eth0 OUT= MAC=00:11 SRC=198.51.100.7 DST=10.20.0.5 LEN=60 TTL=49 PROTO=TCP SPT=44321 DPT=22 WINDOW=64240 SYN", now()).unwrap();
        assert_eq!(d["event"]["dataset"], "firewall");
        assert_eq!(d["event"]["action"], "nft-drop");
        assert_eq!(d["source"]["ip"], "198.51.100.7");
        assert_eq!(d["destination"]["port"], 22);
        assert_eq!(d["network"]["transport"], "tcp");
    }

    #[test]
    fn cef_with_escapes() {
        let (_, d) = cef(r"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 suser=zhang\=wei msg=a b\|c act=blocked", Map::new()).unwrap();
        assert_eq!(d["observer"]["vendor"], "Security");
        assert_eq!(d["event"]["severity"], 10);
        assert_eq!(d["source"]["ip"], "10.0.0.1");
        assert_eq!(d["source"]["port"], 1232);
        assert_eq!(d["user"]["name"], "zhang=wei");
        assert_eq!(d["message"], "a b|c");
        assert_eq!(d["event"]["action"], "blocked");
        assert!(cef("CEF:0|a|b", Map::new()).is_none());
    }
}
