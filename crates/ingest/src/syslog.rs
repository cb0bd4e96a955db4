//! Syslog listeners: TCP and TLS (RFC 6587 / RFC 5425: newline or octet-counted framing,
//! detected per message) and UDP (one message per datagram). Each listener is bound to one
//! tenant.
//!
//! TCP readers submit a batch and wait until it is durable before reading on, so under
//! overload the kernel's receive window fills and senders slow down. UDP cannot push back:
//! a batch the log refuses is dropped and counted.

use crate::{Pipeline, RawRecord};
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

/// Largest message accepted; longer ones are cut (and still stored).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Messages per batch handed to the log.
const BATCH: usize = 512;

fn record(tenant: &str, source: &str, peer: SocketAddr, line: String) -> RawRecord {
    RawRecord {
        tenant: tenant.to_string(),
        source: source.to_string(),
        format: "auto".into(),
        peer: Some(peer.ip().to_string()),
        received_us: chrono::Utc::now().timestamp_micros(),
        line,
    }
}

fn clean(mut bytes: Vec<u8>) -> Option<String> {
    while bytes
        .last()
        .is_some_and(|b| *b == b'\n' || *b == b'\r' || *b == 0)
    {
        bytes.pop();
    }
    if bytes.is_empty() {
        return None;
    }
    bytes.truncate(MAX_MESSAGE);
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Serves syslog over TCP on `listener` for `tenant` until the task is dropped.
pub async fn serve_tcp(listener: TcpListener, tenant: String, pipeline: Pipeline) {
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "syslog tcp: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let tenant = tenant.clone();
        let pipeline = pipeline.clone();
        tokio::spawn(async move {
            if let Err(e) = read_stream(sock, peer, &tenant, "syslog-tcp", &pipeline).await {
                tracing::debug!(%peer, error = %e, "syslog tcp: connection ended");
            }
        });
    }
}

/// Serves syslog over TLS (RFC 5425) on `listener` for `tenant`.
pub async fn serve_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    tenant: String,
    pipeline: Pipeline,
) {
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "syslog tls: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (tenant, pipeline, acceptor) = (tenant.clone(), pipeline.clone(), acceptor.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                acceptor.accept(sock),
            )
            .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "syslog tls: handshake failed");
                    return;
                }
                Err(_) => return,
            };
            if let Err(e) = read_stream(stream, peer, &tenant, "syslog-tls", &pipeline).await {
                tracing::debug!(%peer, error = %e, "syslog tls: connection ended");
            }
        });
    }
}

async fn read_stream<S: AsyncRead + Unpin>(
    sock: S,
    peer: SocketAddr,
    tenant: &str,
    source: &str,
    pipeline: &Pipeline,
) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(256 * 1024, sock);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let buffered = r.fill_buf().await?;
        if buffered.is_empty() {
            break;
        }
        // Octet counting: "<len> <msg>"; otherwise a line.
        let msg = if buffered[0].is_ascii_digit() {
            let mut len_text = Vec::new();
            r.read_until(b' ', &mut len_text).await?;
            let digits = String::from_utf8_lossy(&len_text).trim().to_string();
            match digits.parse::<usize>() {
                Ok(n) if n <= 8 * MAX_MESSAGE && digits.chars().all(|c| c.is_ascii_digit()) => {
                    let mut body = vec![0u8; n];
                    r.read_exact(&mut body).await?;
                    clean(body)
                }
                // Not a frame length: the digits began a line.
                _ => {
                    let mut rest = Vec::new();
                    r.read_until(b'\n', &mut rest).await?;
                    len_text.extend(rest);
                    clean(len_text)
                }
            }
        } else {
            let mut line = Vec::new();
            r.read_until(b'\n', &mut line).await?;
            clean(line)
        };
        if let Some(m) = msg {
            batch.push(record(tenant, source, peer, m));
        }
        // Submit when the batch is full or nothing more is waiting in the buffer.
        if batch.len() >= BATCH || (r.buffer().is_empty() && !batch.is_empty()) {
            pipeline
                .submit_waiting(std::mem::take(&mut batch))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
    }
    if !batch.is_empty() {
        pipeline
            .submit_waiting(batch)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    Ok(())
}

/// Serves syslog over UDP on `socket` for `tenant`.
pub async fn serve_udp(socket: UdpSocket, tenant: String, pipeline: Pipeline) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let mut batch = Vec::new();
        match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                if let Some(m) = clean(buf[..n].to_vec()) {
                    batch.push(record(&tenant, "syslog-udp", peer, m));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "syslog udp: receive failed");
                continue;
            }
        }
        // Take whatever else has already arrived, without waiting.
        while batch.len() < BATCH {
            match socket.try_recv_from(&mut buf) {
                Ok((n, peer)) => {
                    if let Some(m) = clean(buf[..n].to_vec()) {
                        batch.push(record(&tenant, "syslog-udp", peer, m));
                    }
                }
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        let p = pipeline.clone();
        // UDP senders cannot be slowed: submit without waiting; a refusal is a counted loss.
        tokio::spawn(async move {
            if p.submit(batch).await.is_err() {
                metrics::counter!("yunshou_udp_dropped_total").increment(n);
            }
        });
    }
}
