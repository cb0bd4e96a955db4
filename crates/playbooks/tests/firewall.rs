//! block_ip over SSH against a real sshd, nftables and iptables inside a network namespace.
//!
//! Needs root and the Debian packages iproute2, nftables, iptables, openssh-server and
//! openssh-client. A missing tool fails the test with the package to install; it never skips.
//!
//! Layout per test: host side veth 10.213.N.1/30, namespace side 10.213.N.2/30; sshd in the
//! namespace listens on :22 (the adapter's way in) and :2222 (the probe). The firewall rule
//! drops blocked sources on :2222 only, so blocking the host's own address cuts the probe
//! while the ssh session that applied the block finishes normally.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestHost;
use serde_json::json;
use yunshou_playbooks::*;

fn require_tools() {
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the firewall tests need root (network namespaces, nftables, sshd)"
    );
    for (tool, package) in [
        ("/usr/sbin/ip", "iproute2"),
        ("/usr/sbin/nft", "nftables"),
        ("/usr/sbin/iptables", "iptables"),
        ("/usr/sbin/ip6tables", "iptables"),
        ("/usr/sbin/sshd", "openssh-server"),
        ("/usr/bin/ssh", "openssh-client"),
        ("/usr/bin/ssh-keygen", "openssh-client"),
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: apt-get install -y {package}"
        );
    }
}

/// Runs a command and fails the test with its output when it fails.
fn sh(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace with a veth pair and an sshd; torn down on drop, even after a failure.
struct Lab {
    ns: String,
    host_if: String,
    host_ip: String,
    ns_ip: String,
    dir: tempfile::TempDir,
    sshd: Option<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.sshd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .stderr(Stdio::null())
            .status();
    }
}

impl Lab {
    /// `slot` keeps concurrent tests (and concurrent runs, through the pid) apart.
    fn start(slot: u32) -> Lab {
        require_tools();
        let pid = std::process::id();
        let n = (pid % 60) * 4 + slot;
        let mut lab = Lab {
            ns: format!("ysp-{pid}-{slot}"),
            host_if: format!("ysh{}{slot}", pid % 100_000),
            host_ip: format!("10.213.{n}.1"),
            ns_ip: format!("10.213.{n}.2"),
            dir: tempfile::tempdir().unwrap(),
            sshd: None,
        };
        let ns_if = format!("ysn{}{slot}", pid % 100_000);
        let ns = lab.ns.clone();
        sh(&["ip", "netns", "add", &ns]);
        sh(&[
            "ip",
            "link",
            "add",
            &lab.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns_if,
        ]);
        sh(&["ip", "link", "set", &ns_if, "netns", &ns]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", lab.host_ip),
            "dev",
            &lab.host_if,
        ]);
        sh(&["ip", "link", "set", &lab.host_if, "up"]);
        let in_ns = |args: &[&str]| {
            let mut v = vec!["ip", "netns", "exec", &ns];
            v.extend_from_slice(args);
            sh(&v)
        };
        in_ns(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", lab.ns_ip),
            "dev",
            &ns_if,
        ]);
        in_ns(&["ip", "link", "set", &ns_if, "up"]);
        in_ns(&["ip", "link", "set", "lo", "up"]);
        lab.start_sshd();
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn in_ns(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", &self.ns];
        v.extend_from_slice(args);
        sh(&v)
    }

    fn start_sshd(&mut self) {
        let d = self.dir.path().to_str().unwrap().to_string();
        sh(&["mkdir", "-p", "/run/sshd"]);
        sh(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &format!("{d}/host_key"),
        ]);
        sh(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &format!("{d}/client_key"),
        ]);
        std::fs::copy(self.path("client_key.pub"), self.path("authorized_keys")).unwrap();
        let host_pub = std::fs::read_to_string(self.path("host_key.pub")).unwrap();
        std::fs::write(
            self.path("known_hosts"),
            format!("{} {host_pub}", self.ns_ip),
        )
        .unwrap();
        let cfg = format!(
            "ListenAddress {ip}:22\nListenAddress {ip}:2222\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n",
            ip = self.ns_ip
        );
        std::fs::write(self.path("sshd_config"), cfg).unwrap();
        let log = std::fs::File::create(self.path("sshd.log")).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
            ])
            .arg(self.path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        self.sshd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.reachable(22) {
            if let Some(status) = self.sshd.as_mut().unwrap().try_wait().unwrap() {
                panic!("sshd exited ({status}): {}", self.sshd_log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                self.sshd_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sshd_log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    /// A TCP connect from the host to the namespace, with a short deadline (a dropped SYN
    /// would otherwise wait for the kernel's retries).
    fn reachable(&self, port: u16) -> bool {
        let addr: SocketAddr = format!("{}:{port}", self.ns_ip).parse().unwrap();
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(700)).is_ok()
    }

    fn ssh_yaml(&self) -> String {
        format!(
            "ssh: {{host: '{}', user: root, identity_file: '{}', known_hosts: '{}'}}",
            self.ns_ip,
            self.path("client_key").display(),
            self.path("known_hosts").display()
        )
    }
}

fn block_playbook(adapter: &str) -> Playbook {
    let yaml = format!(
        "id: block\nname: 封禁\ntrigger:\n  alert: {{}}\nsteps:\n  - id: block\n    action: block_ip\n    with:\n      ip: '{{{{ alert.entities.source_ip }}}}'\n{adapter}"
    );
    parse(&yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn approved() -> RunOptions {
    RunOptions {
        approved_by: Some("值班长".into()),
        timeout: Duration::from_secs(20),
        ..RunOptions::default()
    }
}

fn ctx(ip: &str) -> serde_json::Value {
    context(TriggerKind::Alert, &common::alert(ip))
}

#[tokio::test(flavor = "multi_thread")]
async fn nftables_block_over_ssh_cuts_the_source_off() {
    let lab = Lab::start(0);
    lab.in_ns(&["nft", "add", "table", "inet", "yunshou_test"]);
    lab.in_ns(&[
        "nft",
        "add",
        "set",
        "inet",
        "yunshou_test",
        "blocklist",
        "{ type ipv4_addr; flags timeout; }",
    ]);
    lab.in_ns(&[
        "nft",
        "add",
        "chain",
        "inet",
        "yunshou_test",
        "input",
        "{ type filter hook input priority 0; policy accept; }",
    ]);
    lab.in_ns(&[
        "nft",
        "add",
        "rule",
        "inet",
        "yunshou_test",
        "input",
        "tcp",
        "dport",
        "2222",
        "ip",
        "saddr",
        "@blocklist",
        "drop",
    ]);
    let pb = block_playbook(&format!(
        "      timeout: 1h\n      adapter:\n        nftables:\n          {}\n          family: inet\n          table: yunshou_test\n          set: blocklist\n",
        lab.ssh_yaml()
    ));
    assert!(
        lab.reachable(2222),
        "the probe port answers before the block"
    );

    // Dry run first: the exact ssh argv, nothing changed.
    let dry = RunOptions {
        dry_run: true,
        ..approved()
    };
    let out = run_step(&pb, 0, &ctx(&lab.host_ip), &TestHost::default(), &dry).await;
    assert_eq!(out.status, StepStatus::Skipped);
    let argv = out.rendered["argv"].as_array().unwrap();
    assert_eq!(
        argv.last().unwrap(),
        &json!(format!(
            "nft add element inet yunshou_test blocklist '{{' {} timeout 1h '}}'",
            lab.host_ip
        ))
    );
    assert!(!lab
        .in_ns(&["nft", "list", "set", "inet", "yunshou_test", "blocklist"])
        .contains(&lab.host_ip));

    let out = run_step(
        &pb,
        0,
        &ctx(&lab.host_ip),
        &TestHost::default(),
        &approved(),
    )
    .await;
    assert_eq!(
        out.status,
        StepStatus::Succeeded,
        "{} / sshd: {}",
        out.detail,
        lab.sshd_log()
    );
    assert_eq!(out.output["ip"], json!(lab.host_ip));
    assert_eq!(out.output["exit_code"], 0);
    let set = lab.in_ns(&["nft", "list", "set", "inet", "yunshou_test", "blocklist"]);
    assert!(set.contains(&lab.host_ip), "{set}");
    assert!(set.contains("expires"), "element timeout applied: {set}");
    assert!(
        !lab.reachable(2222),
        "the host is cut off from the probe port after the block"
    );
    assert!(lab.reachable(22), "only the probe port is filtered");

    // An unknown set: the remote command fails and says why.
    let bad = block_playbook(&format!(
        "      adapter:\n        nftables:\n          {}\n          table: yunshou_test\n          set: nosuchset\n",
        lab.ssh_yaml()
    ));
    let out = run_step(
        &bad,
        0,
        &ctx("192.0.2.10"),
        &TestHost::default(),
        &approved(),
    )
    .await;
    assert_eq!(out.status, StepStatus::Failed);
    assert!(out.detail.contains("exit 1"), "{}", out.detail);
}

#[tokio::test(flavor = "multi_thread")]
async fn iptables_block_over_ssh_cuts_the_source_off() {
    let lab = Lab::start(1);
    lab.in_ns(&["iptables", "-N", "YUNSHOU"]);
    lab.in_ns(&[
        "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "2222", "-j", "YUNSHOU",
    ]);
    let pb = block_playbook(&format!(
        "      adapter:\n        iptables:\n          {}\n          chain: YUNSHOU\n",
        lab.ssh_yaml()
    ));
    assert!(lab.reachable(2222));
    let out = run_step(
        &pb,
        0,
        &ctx(&lab.host_ip),
        &TestHost::default(),
        &approved(),
    )
    .await;
    assert_eq!(
        out.status,
        StepStatus::Succeeded,
        "{} / sshd: {}",
        out.detail,
        lab.sshd_log()
    );
    let rules = lab.in_ns(&["iptables", "-S", "YUNSHOU"]);
    assert!(
        rules.contains(&format!("-A YUNSHOU -s {}/32 -j DROP", lab.host_ip)),
        "{rules}"
    );
    assert!(!lab.reachable(2222));
    assert!(lab.reachable(22));

    // IPv6 goes to ip6tables.
    lab.in_ns(&["ip6tables", "-N", "YUNSHOU"]);
    let out = run_step(
        &pb,
        0,
        &ctx("2001:db8::7"),
        &TestHost::default(),
        &approved(),
    )
    .await;
    assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    let rules = lab.in_ns(&["ip6tables", "-S", "YUNSHOU"]);
    assert!(
        rules.contains("-A YUNSHOU -s 2001:db8::7/128 -j DROP"),
        "{rules}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_host_key_is_refused() {
    let lab = Lab::start(2);
    std::fs::write(lab.path("known_hosts"), "").unwrap();
    lab.in_ns(&["iptables", "-N", "YUNSHOU"]);
    let pb = block_playbook(&format!(
        "      adapter:\n        iptables:\n          {}\n          chain: YUNSHOU\n",
        lab.ssh_yaml()
    ));
    let out = run_step(
        &pb,
        0,
        &ctx("192.0.2.99"),
        &TestHost::default(),
        &approved(),
    )
    .await;
    assert_eq!(out.status, StepStatus::Failed);
    assert!(out.detail.contains("exit 255"), "{}", out.detail);
    assert!(!lab
        .in_ns(&["iptables", "-S", "YUNSHOU"])
        .contains("192.0.2.99"));
}
