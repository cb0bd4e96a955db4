//! NetFlow v5, v9 and IPFIX from a real exporter: Debian's `softflowd` reads a capture this
//! test writes and exports its flows to `yunshou serve --netflow`; the flows must become
//! searchable events with the right addresses, ports, protocols and counts.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{api, free_port, Api, Server, ADMIN_PASSWORD};

/// softflowd, from PATH or where Debian installs it. Missing is a failure, not a skip.
fn softflowd() -> PathBuf {
    if let Ok(out) = Command::new("softflowd").arg("-h").output() {
        if !out.stdout.is_empty() || !out.stderr.is_empty() {
            return PathBuf::from("softflowd");
        }
    }
    let sbin = PathBuf::from("/usr/sbin/softflowd");
    assert!(
        sbin.exists(),
        "softflowd is not installed: the NetFlow tests need Debian's softflowd \
         (apt-get install softflowd; scripts/test installs it when run as root)"
    );
    sbin
}

/// One Ethernet/IPv4 frame with a TCP, UDP or ICMP header and `payload` zero bytes.
/// Checksums stay zero: softflowd does not check them.
fn frame(src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let l4: Vec<u8> = match proto {
        6 => {
            let mut h = Vec::new();
            h.extend(sport.to_be_bytes());
            h.extend(dport.to_be_bytes());
            h.extend(1u32.to_be_bytes()); // sequence
            h.extend(0u32.to_be_bytes()); // acknowledgement
            h.push(5 << 4); // data offset: 20 bytes
            h.push(0x18); // PSH ACK
            h.extend(65535u16.to_be_bytes());
            h.extend([0, 0, 0, 0]); // checksum, urgent pointer
            h
        }
        17 => {
            let mut h = Vec::new();
            h.extend(sport.to_be_bytes());
            h.extend(dport.to_be_bytes());
            h.extend(((8 + payload) as u16).to_be_bytes());
            h.extend([0, 0]);
            h
        }
        // ICMP echo request.
        _ => vec![8, 0, 0, 0, 0, 1, 0, 1],
    };
    let total = 20 + l4.len() + payload;
    let mut f = Vec::new();
    f.extend([0x02, 0, 0, 0, 0, 1]); // destination MAC
    f.extend([0x02, 0, 0, 0, 0, 2]); // source MAC
    f.extend([0x08, 0x00]); // IPv4
    f.extend([0x45, 0]);
    f.extend((total as u16).to_be_bytes());
    f.extend([0, 0, 0x40, 0]); // id, don't fragment
    f.extend([64, proto, 0, 0]); // ttl, protocol, checksum
    f.extend(src);
    f.extend(dst);
    f.extend(l4);
    f.extend(std::iter::repeat_n(0u8, payload));
    f
}

/// A classic pcap file (microsecond timestamps, Ethernet).
fn write_pcap(path: &Path, packets: &[(i64, Vec<u8>)]) {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend(0i32.to_le_bytes()); // thiszone
    out.extend(0u32.to_le_bytes()); // sigfigs
    out.extend(65535u32.to_le_bytes()); // snaplen
    out.extend(1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (us, frame) in packets {
        out.extend(((us / 1_000_000) as u32).to_le_bytes());
        out.extend(((us % 1_000_000) as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend(frame);
    }
    std::fs::write(path, out).expect("write the capture");
}

async fn search(a: &Api<'_>, q: &str) -> Value {
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    a.ok(
        "GET",
        &format!("/api/v1/events/search?from=2020-01-01&q={q}"),
        None,
    )
    .await
}

/// Waits until `q` finds exactly `n` events.
async fn wait_total(a: &Api<'_>, q: &str, n: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = search(a, q).await;
        if v["total"].as_u64() == Some(n) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{q}: {} events, want {n}: {v}",
            v["total"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn softflowd_v5_v9_and_ipfix_flows_become_searchable() {
    let exporter = softflowd();
    let port = free_port();
    let server = Server::start_with(false, &["--netflow", &format!("127.0.0.1:{port}")]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;

    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("capture.pcap");
    // Recent times, so the flows sit inside the retention window and the exporter's
    // uptime arithmetic is exercised as on a live interface.
    let t0 = chrono::Utc::now().timestamp_micros() - 10_000_000;
    let (c, s) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    write_pcap(
        &pcap,
        &[
            // DNS: 2 × (20 IP + 8 UDP + 32) = 120 bytes.
            (t0, frame(c, s, 17, 5353, 53, 32)),
            (t0 + 500_000, frame(c, s, 17, 5353, 53, 32)),
            // HTTPS: 3 × (20 + 20 + 100) = 420 bytes.
            (
                t0 + 1_000_000,
                frame([10, 0, 0, 3], [10, 0, 0, 4], 6, 40000, 443, 100),
            ),
            (
                t0 + 1_500_000,
                frame([10, 0, 0, 3], [10, 0, 0, 4], 6, 40000, 443, 100),
            ),
            (
                t0 + 2_000_000,
                frame([10, 0, 0, 3], [10, 0, 0, 4], 6, 40000, 443, 100),
            ),
            // Ping: 20 + 8 + 56 = 84 bytes.
            (
                t0 + 2_500_000,
                frame([10, 0, 0, 5], [10, 0, 0, 6], 1, 0, 0, 56),
            ),
        ],
    );

    for version in ["5", "9", "10"] {
        // -r reads the file, exports every flow at its end and exits. `-c none`: no control
        // socket (softflowd 1.1.0 with -r and a socket blocks in accept() forever).
        let log = work.path().join(format!("softflowd-{version}.log"));
        let mut child = Command::new(&exporter)
            .arg("-r")
            .arg(&pcap)
            .args([
                "-n",
                &format!("127.0.0.1:{port}"),
                "-v",
                version,
                "-T",
                "full",
            ])
            .args(["-c", "none"])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(work.path().join("stderr")).unwrap())
            .spawn()
            .expect("run softflowd");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("softflowd -v {version} did not finish reading the capture in 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "softflowd -v {version}: {status}\n{}{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(work.path().join("stderr")).unwrap_or_default()
        );
    }

    for dataset in ["netflow.v5", "netflow.v9", "ipfix"] {
        wait_total(&a, &format!("event.dataset:{dataset}"), 3).await;

        let v = wait_total(
            &a,
            &format!("event.dataset:{dataset} AND destination.port:53"),
            1,
        )
        .await;
        let e = &v["items"][0]["event"];
        assert_eq!(e["source"]["ip"], "10.0.0.1", "{dataset}: {e}");
        assert_eq!(e["source"]["port"], 5353, "{dataset}: {e}");
        assert_eq!(e["destination"]["ip"], "10.0.0.2", "{dataset}: {e}");
        assert_eq!(e["network"]["transport"], "udp", "{dataset}: {e}");
        assert_eq!(e["network"]["iana_number"], "17", "{dataset}: {e}");
        assert_eq!(e["network"]["bytes"], 120, "{dataset}: {e}");
        assert_eq!(e["network"]["packets"], 2, "{dataset}: {e}");
        assert_eq!(e["observer"]["ip"], "127.0.0.1", "{dataset}: {e}");
        assert_eq!(e["event"]["module"], "netflow", "{dataset}: {e}");
        assert_eq!(
            e["message"], "10.0.0.1:5353 -> 10.0.0.2:53 udp 120 bytes 2 packets",
            "{dataset}"
        );
        // The flow's own times, not the time it arrived: the last packet 0.5 s after the
        // first.
        let start = chrono::DateTime::parse_from_rfc3339(e["event"]["start"].as_str().unwrap())
            .unwrap()
            .timestamp_micros();
        let end = chrono::DateTime::parse_from_rfc3339(e["event"]["end"].as_str().unwrap())
            .unwrap()
            .timestamp_micros();
        // v9 and IPFIX headers carry whole seconds, so allow a second either way.
        assert!(
            (start - t0).abs() <= 1_000_000,
            "{dataset}: start {start} vs {t0}"
        );
        assert!((end - start - 500_000).abs() <= 1_000, "{dataset}: {e}");

        let v = wait_total(
            &a,
            &format!("event.dataset:{dataset} AND destination.port:443 AND network.transport:tcp"),
            1,
        )
        .await;
        let e = &v["items"][0]["event"];
        assert_eq!(e["source"]["ip"], "10.0.0.3", "{dataset}: {e}");
        assert_eq!(e["source"]["port"], 40000, "{dataset}: {e}");
        assert_eq!(e["network"]["bytes"], 420, "{dataset}: {e}");
        assert_eq!(e["network"]["packets"], 3, "{dataset}: {e}");
        assert_eq!(e["netflow"]["tcp_flags"], 0x18, "{dataset}: {e}");

        let v = wait_total(
            &a,
            &format!("event.dataset:{dataset} AND network.transport:icmp"),
            1,
        )
        .await;
        let e = &v["items"][0]["event"];
        assert_eq!(e["source"]["ip"], "10.0.0.5", "{dataset}: {e}");
        assert_eq!(e["destination"]["ip"], "10.0.0.6", "{dataset}: {e}");
        assert_eq!(e["network"]["bytes"], 84, "{dataset}: {e}");
        assert_eq!(e["netflow"]["icmp_type"], 8, "{dataset}: {e}");
    }
    // CIDR search over the flows' addresses works like any event's.
    wait_total(&a, "source.ip:10.0.0.0/30 AND network.transport:udp", 3).await;
}

/// A NetFlow v5 datagram with one UDP flow, exported now.
fn v5_datagram() -> Vec<u8> {
    let now = chrono::Utc::now().timestamp() as u32;
    let mut p = Vec::new();
    p.extend(5u16.to_be_bytes());
    p.extend(1u16.to_be_bytes()); // count
    p.extend(10_000u32.to_be_bytes()); // uptime
    p.extend(now.to_be_bytes());
    p.extend([0; 4]); // nanoseconds
    p.extend([0; 4]); // sequence
    p.extend([0; 4]); // engine, sampling
    p.extend([172, 16, 0, 9, 172, 16, 0, 53, 0, 0, 0, 0]); // src, dst, next hop
    p.extend([0, 1, 0, 2]); // interfaces
    p.extend(1u32.to_be_bytes()); // packets
    p.extend(77u32.to_be_bytes()); // bytes
    p.extend(9_000u32.to_be_bytes()); // first
    p.extend(9_500u32.to_be_bytes()); // last
    p.extend(40_053u16.to_be_bytes());
    p.extend(53u16.to_be_bytes());
    p.extend([0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    p
}

#[tokio::test]
async fn the_config_file_enables_netflow_and_bad_datagrams_are_counted() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("yunshou.toml");
    std::fs::write(&config, format!("netflow = \"127.0.0.1:{port}\"\n")).unwrap();
    let server = Server::start_with(false, &["--config", config.to_str().unwrap()]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = format!("127.0.0.1:{port}");
    sock.send_to(b"not a flow export", &to).unwrap();
    sock.send_to(&v5_datagram(), &to).unwrap();
    let v = wait_total(&a, "event.dataset:netflow.v5 AND destination.port:53", 1).await;
    let e = &v["items"][0]["event"];
    assert_eq!(e["source"]["ip"], "172.16.0.9", "{e}");
    assert_eq!(e["network"]["bytes"], 77, "{e}");
    let metrics = support::client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
            .to_string()
    };
    assert!(
        line(r#"yunshou_ingest_events_total{source="netflow",stage="failed"}"#).ends_with(" 1"),
        "{metrics}"
    );
    assert!(
        line(r#"yunshou_netflow_packets_total{version="5"}"#).ends_with(" 1"),
        "{metrics}"
    );
    assert!(
        line(r#"yunshou_netflow_packets_total{version="other"}"#).ends_with(" 1"),
        "{metrics}"
    );
}
