//! A real relay in front of yunshou: programs log to a local rsyslog (through its Unix socket,
//! as on every Linux host), which forwards over TCP to yunshou in both of rsyslog's usual
//! shapes — RFC 5424 with octet-counted framing and the traditional RFC 3164 forward format
//! with newline framing. Every line must arrive twice, parsed.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{api, free_port, Server, ADMIN_PASSWORD};

/// rsyslogd in the foreground; killed when the test ends, however it ends.
struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sshd_messages() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/logs/Linux_2k.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| l.contains(" sshd(pam_unix)["))
        .filter_map(|l| l.split_once("]: ").map(|(_, m)| m.to_string()))
        .collect()
}

#[tokio::test]
async fn rsyslog_forwards_over_tcp_in_both_framings() {
    let port = free_port();
    let server = Server::start_with(false, &["--syslog-tcp", &format!("127.0.0.1:{port}")]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;

    let work = tempfile::tempdir().unwrap();
    let socket = work.path().join("log.sock");
    let conf = work.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{socket}" RateLimit.Interval="0")
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
       template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted")
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
       template="RSYSLOG_ForwardFormat")
"#,
            dir = work.path().display(),
            socket = socket.display(),
        ),
    )
    .unwrap();
    let rsyslog = Rsyslog(
        Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(work.path().join("rsyslog.pid"))
            .stdout(Stdio::null())
            .spawn()
            .expect("rsyslogd (Debian package rsyslog) must be installed"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "rsyslogd did not open {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let messages = sshd_messages();
    assert!(messages.len() > 300, "{}", messages.len());
    let input = work.path().join("messages.txt");
    std::fs::write(&input, messages.join("\n") + "\n").unwrap();
    let status = Command::new("logger")
        .arg("--socket")
        .arg(&socket)
        .args([
            "--socket-errors=on",
            "-p",
            "auth.info",
            "-t",
            "sshd(pam_unix)",
            "-f",
        ])
        .arg(&input)
        .status()
        .expect("logger (util-linux) runs");
    assert!(status.success());

    let want = 2 * messages.len() as u64;
    let failures = messages
        .iter()
        .filter(|m| m.starts_with("authentication failure") && m.contains("rhost=150.183.249.110"))
        .count() as u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    let query = |q: &str| {
        format!(
            "/api/v1/events/search?from=2020-01-01&limit=5&q={}",
            q.replace(' ', "%20").replace(':', "%3A")
        )
    };
    loop {
        let v = a.ok("GET", &query("process.name:sshd"), None).await;
        if v["total"].as_u64() == Some(want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {want} forwarded lines arrived",
            v["total"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(rsyslog);
    // Both shapes parse alike: the same failures, with the remote host as source.ip, from
    // RFC 5424 (version 1) and from the traditional format.
    let v = a
        .ok(
            "GET",
            &query("event.outcome:failure AND source.ip:150.183.249.110"),
            None,
        )
        .await;
    assert_eq!(v["total"].as_u64(), Some(2 * failures));
    let v = a
        .ok(
            "GET",
            &query("source.ip:150.183.249.110 AND log.syslog.version:1"),
            None,
        )
        .await;
    assert_eq!(v["total"].as_u64(), Some(failures));
    let ev = &v["items"][0]["event"];
    assert_eq!(ev["event"]["dataset"], "linux.auth", "{ev}");
    assert_eq!(ev["process"]["name"], "sshd", "{ev}");
}
