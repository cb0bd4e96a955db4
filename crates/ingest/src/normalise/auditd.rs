//! Linux audit records (auditd's `audit.log`, or the same text through audisp/syslog):
//! `[node=H ]type=T msg=audit(SECONDS.MS:SERIAL): key=value …`.
//!
//! Values come in three encodings: `"quoted"`, bare, and hex for fields that may hold
//! spaces or control characters (auditd writes `proctitle`, `cmd`, `a0…` that way when they
//! need it). User-space records nest a second key=value list in `msg='…'`.

use super::{push, put};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Fields auditd hex-encodes when their value is not plain printable text.
const HEX_FIELDS: &[&str] = &[
    "proctitle",
    "cmd",
    "comm",
    "exe",
    "name",
    "path",
    "cwd",
    "acct",
    "data",
    "a0",
    "a1",
    "a2",
    "a3",
    "old-name",
    "new-name",
    "ocomm",
    "key",
];

fn decode_hex(s: &str) -> Option<String> {
    if s.len() < 2 || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(b'?'))
        .collect();
    // proctitle separates argv with NULs.
    let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
    Some(text.trim_end().to_string())
}

/// Splits `a=1 b="two words" msg='c=3 d=4'` into pairs; quotes are removed.
pub(crate) fn pairs(s: &str) -> Vec<(&str, String)> {
    let mut out = vec![];
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim();
        if key.is_empty() || key.contains(' ') {
            // Free text between pairs (`op=… acct=…` after prose): skip a word.
            rest = rest.find(' ').map_or("", |i| rest[i + 1..].trim_start());
            continue;
        }
        let after = &rest[eq + 1..];
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => (after[1..1 + end].to_string(), &after[end + 2..]),
                None => (after[1..].to_string(), ""),
            },
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                let raw = &after[..end];
                let v = if HEX_FIELDS.contains(&key) {
                    decode_hex(raw).unwrap_or_else(|| raw.to_string())
                } else {
                    raw.to_string()
                };
                (v, &after[end..])
            }
        };
        out.push((key, value));
        rest = next.trim_start();
    }
    out
}

/// `audit(1764057600.123:4567):` → (time, serial, rest after the colon).
fn stamp(s: &str) -> Option<(DateTime<Utc>, u64, &str)> {
    let inner = s.strip_prefix("audit(")?;
    let close = inner.find(')')?;
    let (time, serial) = inner[..close].split_once(':')?;
    let (secs, frac) = time.split_once('.').unwrap_or((time, "0"));
    let micros = secs.parse::<i64>().ok()? * 1_000_000
        + format!("{frac:0<6}").get(..6)?.parse::<i64>().ok()?;
    let ts = DateTime::from_timestamp_micros(micros)?;
    let rest = inner[close + 1..]
        .strip_prefix(':')
        .unwrap_or(&inner[close + 1..]);
    Some((ts, serial.parse().ok()?, rest))
}

/// Parses an audit record (the text from `type=` or `node=` on); `None` when it is not one.
pub fn parse(line: &str) -> Option<super::Normalised> {
    let mut d = Map::new();
    let mut rest = line.trim();
    if let Some(r) = rest.strip_prefix("node=") {
        let (node, r) = r.split_once(' ')?;
        put(&mut d, "host.name", node);
        rest = r.trim_start();
    }
    let r = rest.strip_prefix("type=")?;
    let (kind, r) = r.split_once(' ')?;
    let r = r.trim_start().strip_prefix("msg=")?;
    let (ts, serial, body) = stamp(r)?;
    put(&mut d, "event.dataset", "auditd.log");
    put(&mut d, "event.kind", "event");
    put(&mut d, "auditd.log.record_type", kind);
    put(&mut d, "auditd.log.sequence", serial);
    put(&mut d, "event.action", kind.to_ascii_lowercase());
    let mut fields = Map::new();
    for (k, v) in pairs(body) {
        if k == "msg" {
            // User-space records: the interesting pairs are inside msg='…'.
            for (ik, iv) in pairs(&v) {
                fields.insert(ik.to_string(), iv.into());
            }
        } else {
            fields.insert(k.to_string(), v.into());
        }
    }
    map_fields(kind, &fields, &mut d);
    let mut message = summary(kind, &fields);
    if kind == "EXECVE" {
        if let Some(cmd) = super::get(&d, "process.command_line").and_then(Value::as_str) {
            message = format!("{message} {cmd}");
        }
    }
    d.insert("message".into(), message.into());
    put(&mut d, "auditd.data", Value::Object(fields));
    Some((Some(ts), d))
}

fn text<'a>(f: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    f.get(k)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty() && *v != "?" && *v != "(null)")
}

fn number(f: &Map<String, Value>, k: &str) -> Option<u64> {
    text(f, k)?.parse().ok()
}

fn map_fields(kind: &str, f: &Map<String, Value>, d: &mut Map<String, Value>) {
    if let Some(pid) = number(f, "pid") {
        put(d, "process.pid", pid);
    }
    if let Some(ppid) = number(f, "ppid") {
        put(d, "process.parent.pid", ppid);
    }
    if let Some(exe) = text(f, "exe") {
        put(d, "process.executable", exe);
    }
    if let Some(comm) = text(f, "comm") {
        put(d, "process.name", comm);
    }
    if let Some(title) = text(f, "proctitle") {
        put(d, "process.title", title);
    }
    // auid is who logged in; uid who the process runs as. 4294967295 means "unset".
    if let Some(uid) = text(f, "uid").filter(|u| *u != "4294967295") {
        put(d, "user.id", uid);
    }
    if let Some(auid) = text(f, "auid").filter(|u| *u != "4294967295") {
        put(d, "user.audit.id", auid);
    }
    if let Some(euid) = text(f, "euid") {
        put(d, "user.effective.id", euid);
    }
    if let Some(name) = text(f, "acct").or_else(|| text(f, "AUID")) {
        put(d, "user.name", name);
    }
    if let Some(addr) = text(f, "addr") {
        if addr.parse::<std::net::IpAddr>().is_ok() {
            put(d, "source.ip", addr);
        }
    }
    if let Some(host) = text(f, "hostname").filter(|h| h.parse::<std::net::IpAddr>().is_err()) {
        put(d, "source.domain", host);
    }
    if let Some(tty) = text(f, "terminal").or_else(|| text(f, "tty")) {
        put(d, "process.tty.name", tty);
    }
    if let Some(key) = text(f, "key") {
        push(d, "tags", key);
        put(d, "auditd.log.key", key);
    }
    if let Some(path) = text(f, "name").filter(|_| kind == "PATH") {
        put(d, "file.path", path);
    }
    let outcome = match (text(f, "res"), text(f, "success")) {
        (Some("success" | "1" | "yes"), _) | (_, Some("yes")) => Some("success"),
        (Some("failed" | "0" | "no"), _) | (_, Some("no")) => Some("failure"),
        _ => None,
    };
    if let Some(o) = outcome {
        put(d, "event.outcome", o);
    }
    let category = match kind {
        "USER_AUTH" | "USER_LOGIN" | "USER_START" | "USER_END" | "USER_ERR" | "CRED_ACQ"
        | "CRED_DISP" | "CRED_REFR" | "LOGIN" | "USER_ACCT" => Some("authentication"),
        "ADD_USER" | "DEL_USER" | "USER_MGMT" | "ADD_GROUP" | "DEL_GROUP" | "GRP_MGMT"
        | "USER_CHAUTHTOK" | "ACCT_LOCK" | "ACCT_UNLOCK" => Some("iam"),
        "EXECVE" | "USER_CMD" => Some("process"),
        "CONFIG_CHANGE" | "DAEMON_CONFIG" | "MAC_POLICY_LOAD" => Some("configuration"),
        "AVC" | "USER_AVC" | "SELINUX_ERR" => Some("intrusion_detection"),
        k if k.starts_with("ANOM_") => Some("intrusion_detection"),
        "PATH" | "CWD" => Some("file"),
        _ => None,
    };
    if let Some(c) = category {
        push(d, "event.category", c);
    }
    if kind == "EXECVE" {
        let argc = number(f, "argc").unwrap_or(0).min(256);
        let args: Vec<Value> = (0..argc)
            .filter_map(|i| text(f, &format!("a{i}")).map(|a| Value::from(a.to_string())))
            .collect();
        if !args.is_empty() {
            let line = args
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ");
            put(d, "process.command_line", line);
            put(d, "process.args", Value::Array(args));
        }
    }
    if kind == "USER_CMD" {
        if let Some(cmd) = text(f, "cmd") {
            put(d, "process.command_line", cmd);
        }
    }
}

fn summary(kind: &str, f: &Map<String, Value>) -> String {
    let mut s = kind.to_string();
    for k in [
        "op",
        "acct",
        "exe",
        "cmd",
        "proctitle",
        "addr",
        "res",
        "key",
    ] {
        if let Some(v) = text(f, k) {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_with_hex_and_unset_auid() {
        let (ts, d) = parse(r#"type=SYSCALL msg=audit(1764057600.123:4567): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 ppid=812 pid=9001 auid=4294967295 uid=0 gid=0 euid=0 tty=(none) comm="curl" exe="/usr/bin/curl" key=6578656377617463686572"#).unwrap();
        assert_eq!(ts.unwrap().timestamp_micros(), 1_764_057_600_123_000);
        assert_eq!(d["event"]["dataset"], "auditd.log");
        assert_eq!(d["event"]["action"], "syscall");
        assert_eq!(d["event"]["outcome"], "success");
        assert_eq!(d["process"]["pid"], 9001);
        assert_eq!(d["process"]["parent"]["pid"], 812);
        assert_eq!(d["process"]["executable"], "/usr/bin/curl");
        assert_eq!(d["user"]["id"], "0");
        assert!(d["user"].get("audit").is_none());
        assert_eq!(d["auditd"]["log"]["key"], "execwatcher");
        assert_eq!(d["auditd"]["log"]["sequence"], 4567);
    }

    #[test]
    fn user_records_nest_their_pairs_in_msg() {
        let (_, d) = parse(r#"node=web-01 type=USER_LOGIN msg=audit(1764057601.5:88): pid=1201 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=login acct="admin" exe="/usr/sbin/sshd" hostname=? addr=203.0.113.7 terminal=sshd res=failed'"#).unwrap();
        assert_eq!(d["host"]["name"], "web-01");
        assert_eq!(d["user"]["name"], "admin");
        assert_eq!(d["source"]["ip"], "203.0.113.7");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["event"]["category"][0], "authentication");
        assert!(d["message"].as_str().unwrap().contains("acct=admin"));
    }

    #[test]
    fn execve_arguments_and_proctitle() {
        let (_, d) = parse(r#"type=EXECVE msg=audit(1764057602.000:90): argc=3 a0="bash" a1="-c" a2=69643B2077686F616D69"#).unwrap();
        assert_eq!(d["process"]["command_line"], "bash -c id; whoami");
        assert_eq!(d["message"], "EXECVE bash -c id; whoami");
        assert_eq!(d["process"]["args"][2], "id; whoami");
        let (_, d) = parse(
            "type=PROCTITLE msg=audit(1764057602.000:90): proctitle=2F62696E2F7368002D63006964",
        )
        .unwrap();
        assert_eq!(d["process"]["title"], "/bin/sh -c id");
    }

    #[test]
    fn not_audit_and_broken_records() {
        assert!(parse("Nov 25 08:00:00 host sshd[1]: hello").is_none());
        for junk in [
            "type=",
            "type=X",
            "type=X msg=audit(",
            "type=X msg=audit(1.2)",
            "type=X msg=audit(a.b:c):",
            "node= type=X",
            "type=EXECVE msg=audit(1.0:1): argc=99999999999 a0=\"x",
            "type=X msg=audit(1.0:1): =a =b k='unterminated",
        ] {
            let _ = parse(junk);
        }
        assert!(parse("type=X msg=audit(1.0:1): =a b").is_some());
    }
}
