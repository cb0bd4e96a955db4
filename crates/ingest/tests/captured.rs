//! Parsers over lines captured from the real programs running on this machine: MariaDB's
//! `server_audit` plugin on the local MariaDB, and the local PostgreSQL's server log. Each test
//! produces its own activity with a unique marker, reads what the program wrote, and leaves the
//! server as it found it.

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use yunshou_ingest::normalise::parse;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn marker(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        now().timestamp_micros()
    )
}

fn mariadb(sql: &str) -> std::process::Output {
    Command::new("mysql")
        .args(["-uroot", "-h127.0.0.1", "-e", sql])
        .output()
        .expect("the mysql client (Debian package mariadb-client) must be installed")
}

fn mariadb_ok(sql: &str) -> String {
    let out = mariadb(sql);
    assert!(
        out.status.success(),
        "MariaDB on 127.0.0.1:3306 must be running: {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Turns the audit plugin back off (and uninstalls it if this test installed it), even when an
/// assertion fails.
struct AuditPluginGuard {
    installed_here: bool,
}

impl Drop for AuditPluginGuard {
    fn drop(&mut self) {
        mariadb("SET GLOBAL server_audit_logging=OFF");
        mariadb("SET GLOBAL server_audit_file_path='server_audit.log'");
        if self.installed_here {
            mariadb("UNINSTALL SONAME 'server_audit'");
        }
    }
}

#[test]
fn mariadb_server_audit_plugin_output_parses() {
    let dir = tempfile::tempdir().unwrap();
    // mysqld writes the file as its own user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = dir.path().join("audit.log");
    let plugins = mariadb_ok("SHOW PLUGINS");
    let installed_here = !plugins.contains("SERVER_AUDIT");
    if installed_here {
        mariadb_ok("INSTALL SONAME 'server_audit'");
    }
    let _guard = AuditPluginGuard { installed_here };
    mariadb_ok(&format!(
        "SET GLOBAL server_audit_file_path='{}'; SET GLOBAL server_audit_events='CONNECT,QUERY,TABLE'; SET GLOBAL server_audit_logging=ON",
        file.display()
    ));
    let table = marker("ys_audit");
    mariadb_ok(&format!(
        "CREATE TABLE test.{table} (id INT, note VARCHAR(40)); INSERT INTO test.{table} VALUES (1, 'it''s, quoted'); SELECT * FROM test.{table}; DROP TABLE test.{table}"
    ));
    let denied = Command::new("mysql")
        .args([
            "-uroot",
            "-pwrong-password",
            "-h127.0.0.1",
            "-e",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert!(!denied.status.success());
    mariadb_ok("SET GLOBAL server_audit_logging=OFF");

    let text = std::fs::read_to_string(&file).unwrap();
    let mut ours = vec![];
    for (i, line) in text.lines().enumerate() {
        let (ts, doc) = parse(line, "auto", now());
        assert!(ts.is_some(), "line {}: {line}", i + 1);
        assert_eq!(
            doc["event"]["dataset"],
            "mysql.audit",
            "line {}: {line}",
            i + 1
        );
        if line.contains(&table) {
            ours.push(Value::Object(doc));
        }
    }
    let insert = ours
        .iter()
        .find(|d| {
            d["mysql"]["audit"]["query"]
                .as_str()
                .is_some_and(|q| q.starts_with("INSERT"))
        })
        .expect("the INSERT was audited");
    assert_eq!(
        insert["mysql"]["audit"]["query"],
        format!("INSERT INTO test.{table} VALUES (1, 'it''s, quoted')")
    );
    assert_eq!(insert["user"]["name"], "root");
    assert_eq!(insert["event"]["outcome"], "success");
    assert!(ours
        .iter()
        .any(|d| d["event"]["action"] == "create" && d["mysql"]["audit"]["object"] == table));
    let failed = text
        .lines()
        .map(|l| Value::Object(parse(l, "auto", now()).1))
        .find(|d| d["event"]["action"] == "failed_connect")
        .expect("the refused login was audited");
    assert_eq!(failed["event"]["outcome"], "failure");
    assert_eq!(failed["error"]["code"], "1045");
}

fn postgres_log() -> std::path::PathBuf {
    std::fs::read_dir("/var/log/postgresql")
        .expect("PostgreSQL's log directory /var/log/postgresql (Debian's layout) must exist")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("postgresql-") && n.ends_with("-main.log"))
        })
        .expect("no postgresql-*-main.log in /var/log/postgresql")
}

fn psql(user: &str, sql: &str) -> std::process::Output {
    Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", user, "-d", "test", "-c", sql])
        // Session settings only: the server's configuration is left alone.
        .env(
            "PGOPTIONS",
            "-c log_statement=all -c log_min_duration_statement=0",
        )
        .output()
        .expect("the psql client must be installed")
}

#[test]
fn postgresql_server_log_parses() {
    let log = postgres_log();
    let start = std::fs::metadata(&log).unwrap().len();
    let tag = marker("ys_pg");
    let ok = psql("postgres", &format!("SELECT '{tag}' AS marker"));
    assert!(
        ok.status.success(),
        "PostgreSQL on 127.0.0.1:5432 must be running: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!psql("postgres", &format!("SELECT 1/0 AS {tag}_zero"))
        .status
        .success());
    let missing_role = format!("{tag}_nobody");
    assert!(!psql(&missing_role, "SELECT 1").status.success());

    let deadline = Instant::now() + Duration::from_secs(10);
    let fresh = loop {
        let bytes = std::fs::read(&log).unwrap();
        let fresh =
            String::from_utf8_lossy(&bytes[start.min(bytes.len() as u64) as usize..]).into_owned();
        if fresh.contains(&missing_role) || Instant::now() > deadline {
            break fresh;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut docs = vec![];
    for line in fresh.lines() {
        // Continuation lines of a multi-line statement start with a tab.
        if line.starts_with(char::is_whitespace) || line.is_empty() {
            continue;
        }
        let (ts, doc) = parse(line, "auto", now());
        assert!(ts.is_some(), "{line}");
        assert_eq!(doc["event"]["dataset"], "postgresql.log", "{line}");
        docs.push(Value::Object(doc));
    }
    let statement = docs
        .iter()
        .find(|d| {
            d["postgresql"]["log"]["query"] == format!("SELECT '{tag}' AS marker")
                && d["log"]["level"] == "log"
        })
        .expect("the statement was logged");
    assert_eq!(statement["user"]["name"], "postgres");
    assert_eq!(statement["postgresql"]["log"]["database"], "test");
    assert!(docs
        .iter()
        .any(|d| d["log"]["level"] == "error" && d["message"] == "division by zero"));
    let refused = docs
        .iter()
        .find(|d| d["user"]["name"] == missing_role.as_str() && d["log"]["level"] == "fatal")
        .expect("the unknown role was logged");
    assert_eq!(refused["event"]["outcome"], "failure");
}
