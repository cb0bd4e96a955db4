//! Linux authentication messages: sshd, sudo, su and pam_unix (auth.log / secure).

use super::{push, put};
use serde_json::{Map, Value};

fn word_after<'a>(msg: &'a str, marker: &str) -> Option<&'a str> {
    let i = msg.find(marker)? + marker.len();
    msg[i..].split_whitespace().next()
}

fn login(d: &mut Map<String, Value>, outcome: &str, action: &str) {
    put(d, "event.dataset", "linux.auth");
    push(d, "event.category", "authentication");
    put(d, "event.outcome", outcome);
    put(d, "event.action", action);
}

fn address(d: &mut Map<String, Value>, host: &str) {
    put(d, "source.address", host);
    if host.parse::<std::net::IpAddr>().is_ok() {
        put(d, "source.ip", host);
    } else {
        put(d, "source.domain", host);
    }
}

/// Adds what an authentication message says to `d`.
pub fn parse(program: &str, module: Option<&str>, msg: &str, d: &mut Map<String, Value>) {
    if module == Some("pam_unix") || msg.starts_with("pam_unix(") {
        pam(msg, d);
        return;
    }
    match program {
        "sshd" => sshd(msg, d),
        "sudo" => sudo(msg, d),
        "su" => su(msg, d),
        _ => {}
    }
}

fn sshd(msg: &str, d: &mut Map<String, Value>) {
    let (outcome, action) = if msg.starts_with("Failed ") {
        ("failure", "ssh_login")
    } else if msg.starts_with("Accepted ") {
        ("success", "ssh_login")
    } else if msg.starts_with("Invalid user ") {
        ("failure", "ssh_invalid_user")
    } else if msg.starts_with("Disconnected from") || msg.starts_with("Connection closed by") {
        put(d, "event.dataset", "linux.auth");
        put(d, "event.action", "ssh_disconnect");
        if let Some(ip) = msg
            .split_whitespace()
            .find(|w| w.parse::<std::net::IpAddr>().is_ok())
        {
            address(d, ip);
        }
        return;
    } else {
        return;
    };
    login(d, outcome, action);
    if let Some(method) = msg
        .split_whitespace()
        .nth(1)
        .filter(|_| action == "ssh_login")
    {
        put(d, "ssh.method", method);
    }
    let user = if let Some(u) = word_after(msg, "invalid user ") {
        Some(u)
    } else if let Some(u) = word_after(msg, "Invalid user ") {
        Some(u)
    } else {
        word_after(msg, " for ")
    };
    if let Some(u) = user {
        put(d, "user.name", u);
    }
    if let Some(host) = word_after(msg, " from ") {
        address(d, host);
    }
    if let Some(p) = word_after(msg, " port ").and_then(|p| p.parse::<u64>().ok()) {
        put(d, "source.port", p);
    }
}

fn pam(msg: &str, d: &mut Map<String, Value>) {
    let failure = msg.contains("authentication failure");
    if failure {
        login(d, "failure", "pam_authentication");
    } else if msg.contains("session opened") {
        put(d, "event.dataset", "linux.auth");
        push(d, "event.category", "session");
        put(d, "event.action", "session_opened");
    } else if msg.contains("check pass; user unknown") {
        login(d, "failure", "pam_user_unknown");
        return;
    } else {
        return;
    }
    for kv in msg.split([';', ' ']) {
        if let Some((k, v)) = kv.split_once('=') {
            if v.is_empty() {
                continue;
            }
            match k {
                "rhost" => address(d, v),
                "user" => put(d, "user.name", v),
                "ruser" => put(d, "source.user.name", v),
                "tty" => put(d, "process.tty", v),
                _ => {}
            }
        }
    }
    if let Some(u) = word_after(msg, "for user ") {
        put(
            d,
            "user.name",
            u.trim_end_matches(|c: char| !c.is_alphanumeric()),
        );
    }
}

fn sudo(msg: &str, d: &mut Map<String, Value>) {
    // `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls -l`
    let Some((user, rest)) = msg.split_once(" : ") else {
        return;
    };
    put(d, "event.dataset", "linux.auth");
    push(d, "event.category", "process");
    put(d, "user.name", user.trim());
    let failed = rest.contains("incorrect password") || rest.contains("NOT in sudoers");
    put(
        d,
        "event.outcome",
        if failed { "failure" } else { "success" },
    );
    put(d, "event.action", "sudo");
    for part in rest.split(" ; ") {
        if let Some((k, v)) = part.trim().split_once('=') {
            match k.trim_start_matches(|c: char| !c.is_ascii_uppercase()) {
                "TTY" => put(d, "process.tty", v),
                "PWD" => put(d, "process.working_directory", v),
                "USER" => put(d, "user.target.name", v),
                "COMMAND" => put(d, "process.command_line", v),
                _ => {}
            }
        }
    }
}

fn su(msg: &str, d: &mut Map<String, Value>) {
    // `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`
    let Some(i) = msg.find("(to ") else { return };
    let rest = &msg[i + 4..];
    let Some((target, after)) = rest.split_once(')') else {
        return;
    };
    login(
        d,
        if msg.starts_with("FAILED") {
            "failure"
        } else {
            "success"
        },
        "su",
    );
    put(d, "user.target.name", target);
    if let Some(user) = after.split_whitespace().next() {
        put(d, "user.name", user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(program: &str, module: Option<&str>, msg: &str) -> Value {
        let mut d = Map::new();
        parse(program, module, msg, &mut d);
        Value::Object(d)
    }

    #[test]
    fn sshd_logins() {
        let d = run(
            "sshd",
            None,
            "Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2",
        );
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["user"]["name"], "admin");
        assert_eq!(d["source"]["ip"], "203.0.113.9");
        assert_eq!(d["source"]["port"], 50022);
        let d = run(
            "sshd",
            None,
            "Accepted publickey for deploy from 10.20.1.5 port 40000 ssh2: ED25519 SHA256:abc",
        );
        assert_eq!(
            (d["event"]["outcome"].as_str(), d["user"]["name"].as_str()),
            (Some("success"), Some("deploy"))
        );
        assert_eq!(d["ssh"]["method"], "publickey");
        let d = run(
            "sshd",
            None,
            "Invalid user oracle from 198.51.100.3 port 2222",
        );
        assert_eq!(d["event"]["action"], "ssh_invalid_user");
        assert_eq!(d["user"]["name"], "oracle");
    }

    #[test]
    fn pam_sudo_and_su() {
        let d = run("sshd", Some("pam_unix"), "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["source"]["domain"], "220-135-151-1.hinet-ip.hinet.net");
        assert_eq!(d["user"]["name"], "root");
        let d = run("sudo", None, "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx");
        assert_eq!(d["user"]["name"], "alice");
        assert_eq!(d["user"]["target"]["name"], "root");
        assert_eq!(
            d["process"]["command_line"],
            "/usr/bin/systemctl restart nginx"
        );
        let d = run("sudo", None, "bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash");
        assert_eq!(d["event"]["outcome"], "failure");
        let d = run("su", None, "FAILED SU (to root) alice on pts/0");
        assert_eq!(
            (
                d["event"]["outcome"].as_str(),
                d["user"]["target"]["name"].as_str()
            ),
            (Some("failure"), Some("root"))
        );
    }
}
