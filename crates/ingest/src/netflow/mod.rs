//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) over UDP.
//!
//! Each datagram is decoded by hand with bounds checks ([`Collector::decode`] never panics;
//! malformed input is a [`DecodeError`]), and every flow becomes one ECS document submitted
//! to the pipeline as a [`RawRecord`] of format `netflow`, whose line is that document.
//!
//! Templates are kept per exporter: for v9 the key is the exporter's address and source id
//! (RFC 3954 §5.1), for IPFIX the transport session — address and port — and observation
//! domain (RFC 7011 §8). A data set whose template has not arrived yet is dropped and counted
//! (`yunshou_netflow_missing_template_total`) rather than held: exporters resend templates
//! every few seconds to minutes, so holding would need an unbounded buffer to save the first
//! moments after a restart. IPFIX uptime stamps (IE 21/22) are resolved with the
//! systemInitTimeMilliseconds (IE 160) an options record announced; until one has, such
//! flows carry only the export time.

mod flow;
mod template;
mod v5;
mod wire;

#[cfg(test)]
mod tests;

pub use flow::Flow;
pub use template::MAX_FIELDS;
pub use wire::DecodeError;

use crate::{Pipeline, RawRecord};
use flow::Clock;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use template::{Template, TemplateRecord};
use tokio::net::UdpSocket;
use wire::Reader;

/// Exporter sessions (exporter × observation domain) remembered at once.
pub const MAX_SESSIONS: usize = 4096;
/// Templates remembered at once, over all sessions.
pub const MAX_TEMPLATES: usize = 16_384;
/// A session not heard from for this long may be forgotten (with its templates) when room
/// is needed; exporters resend templates well within it.
pub const SESSION_IDLE: Duration = Duration::from_secs(3600);
/// Flows per batch handed to the log.
const BATCH: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SessionKey {
    exporter: SocketAddr,
    version: u16,
    domain: u32,
}

struct Session {
    templates: HashMap<u16, Template>,
    /// IPFIX systemInitTimeMilliseconds (IE 160), from an options record.
    init_ms: Option<i64>,
    last_seen: Instant,
    /// The collector's datagram counter when last heard from: a strict order for choosing
    /// whom to forget, which clock readings cannot promise.
    last_tick: u64,
}

/// What one datagram held.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The flows, in the order of the datagram.
    pub flows: Vec<Flow>,
    /// Data sets skipped because their template is not known (yet).
    pub missing_template: usize,
}

/// Decoder state: the templates each exporter announced.
#[derive(Default)]
pub struct Collector {
    sessions: HashMap<SessionKey, Session>,
    templates: usize,
    tick: u64,
}

impl Collector {
    /// A collector that knows no templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Templates held, over all exporters.
    pub fn template_count(&self) -> usize {
        self.templates
    }

    /// Decodes one datagram from `exporter`, learning the templates it carries.
    pub fn decode(&mut self, exporter: SocketAddr, packet: &[u8]) -> Result<Decoded, DecodeError> {
        self.tick += 1;
        let version = Reader::new(packet).u16("version")?;
        match version {
            5 => Ok(Decoded {
                flows: v5::decode(packet, exporter.ip())?,
                missing_template: 0,
            }),
            9 => self.v9(exporter, packet),
            10 => self.ipfix(exporter, packet),
            v => Err(DecodeError::Version(v)),
        }
    }

    fn v9(&mut self, exporter: SocketAddr, packet: &[u8]) -> Result<Decoded, DecodeError> {
        let mut r = Reader::new(packet);
        let mut h = r.sub(20, "v9 header")?;
        h.u16("version")?;
        // The record count is not checked: exporters disagree on what it counts.
        h.u16("count")?;
        let uptime = h.u32("sysUptime")?;
        let secs = h.u32("unix_secs")?;
        h.u32("sequence")?;
        let domain = h.u32("source id")?;
        let key = SessionKey {
            exporter: SocketAddr::new(exporter.ip(), 0),
            version: 9,
            domain,
        };
        let clock = Clock {
            export_ms: i64::from(secs) * 1000,
            uptime_ms: Some(uptime),
        };
        let mut out = Decoded::default();
        // Only templates create a session, so data and junk from spoofed senders cannot
        // crowd real exporters out of the table.
        if let Some(s) = self.sessions.get_mut(&key) {
            s.last_seen = Instant::now();
            s.last_tick = self.tick;
        }
        // Fewer than 4 bytes left is padding.
        while r.remaining() >= 4 {
            let (id, body) = set(&mut r, "v9 flowset")?;
            match id {
                0 => self.learn(key, template::v9_templates(body)?)?,
                1 => self.learn(key, template::v9_options(body)?)?,
                2..=255 => {}
                _ => self.data(key, id, body, "netflow.v9", clock, &mut out)?,
            }
        }
        Ok(out)
    }

    fn ipfix(&mut self, exporter: SocketAddr, packet: &[u8]) -> Result<Decoded, DecodeError> {
        let mut r = Reader::new(packet);
        let mut h = r.sub(16, "IPFIX header")?;
        h.u16("version")?;
        let len = usize::from(h.u16("message length")?);
        let secs = h.u32("export time")?;
        h.u32("sequence")?;
        let domain = h.u32("observation domain")?;
        if len < 16 {
            return Err(DecodeError::Length(format!(
                "IPFIX message length {len} is shorter than its header"
            )));
        }
        // Bytes past the message length are not part of it.
        let mut r = r.sub(len - 16, "IPFIX message")?;
        let key = SessionKey {
            exporter,
            version: 10,
            domain,
        };
        let export_ms = i64::from(secs) * 1000;
        let mut out = Decoded::default();
        // Only templates create a session, so data and junk from spoofed senders cannot
        // crowd real exporters out of the table.
        if let Some(s) = self.sessions.get_mut(&key) {
            s.last_seen = Instant::now();
            s.last_tick = self.tick;
        }
        while !r.is_empty() {
            let (id, body) = set(&mut r, "IPFIX set")?;
            match id {
                2 => self.learn(key, template::ipfix_templates(body, false)?)?,
                3 => self.learn(key, template::ipfix_templates(body, true)?)?,
                0..=255 => {}
                _ => {
                    // The uptime at export, so IE 21/22 resolve like v9's.
                    let init = self.sessions.get(&key).and_then(|s| s.init_ms);
                    let clock = Clock {
                        export_ms,
                        uptime_ms: init.map(|init| export_ms.wrapping_sub(init) as u32),
                    };
                    self.data(key, id, body, "ipfix", clock, &mut out)?
                }
            }
        }
        Ok(out)
    }

    /// Marks a session as heard from, making room for it if it is new.
    fn touch(&mut self, key: SessionKey) {
        let now = Instant::now();
        if !self.sessions.contains_key(&key) && self.sessions.len() >= MAX_SESSIONS {
            self.forget_idle(now, key);
            if self.sessions.len() >= MAX_SESSIONS {
                if let Some(oldest) = self
                    .sessions
                    .iter()
                    .min_by_key(|(_, s)| s.last_tick)
                    .map(|(k, _)| *k)
                {
                    self.forget(oldest);
                }
            }
        }
        let tick = self.tick;
        let s = self.sessions.entry(key).or_insert_with(|| Session {
            templates: HashMap::new(),
            init_ms: None,
            last_seen: now,
            last_tick: tick,
        });
        s.last_seen = now;
        s.last_tick = tick;
    }

    fn forget(&mut self, key: SessionKey) {
        if let Some(s) = self.sessions.remove(&key) {
            self.templates -= s.templates.len();
        }
    }

    fn forget_idle(&mut self, now: Instant, keep: SessionKey) {
        let idle: Vec<SessionKey> = self
            .sessions
            .iter()
            .filter(|(k, s)| **k != keep && now.duration_since(s.last_seen) > SESSION_IDLE)
            .map(|(k, _)| *k)
            .collect();
        for k in idle {
            self.forget(k);
        }
    }

    fn learn(&mut self, key: SessionKey, records: Vec<TemplateRecord>) -> Result<(), DecodeError> {
        for rec in records {
            match rec {
                TemplateRecord::Define(id, t) => {
                    let known = self.session(key).templates.contains_key(&id);
                    if !known && self.templates >= MAX_TEMPLATES {
                        self.forget_idle(Instant::now(), key);
                        if self.templates >= MAX_TEMPLATES {
                            return Err(DecodeError::TooManyTemplates(self.templates));
                        }
                    }
                    if self.session(key).templates.insert(id, t).is_none() {
                        self.templates += 1;
                    }
                }
                TemplateRecord::Withdraw(id) => {
                    let s = self.session(key);
                    let before = s.templates.len();
                    match id {
                        2 => s.templates.retain(|_, t| t.options),
                        3 => s.templates.retain(|_, t| !t.options),
                        id => {
                            s.templates.remove(&id);
                        }
                    }
                    let removed = before - s.templates.len();
                    self.templates -= removed;
                }
            }
        }
        Ok(())
    }

    fn session(&mut self, key: SessionKey) -> &mut Session {
        self.touch(key);
        self.sessions
            .get_mut(&key)
            .expect("touch inserts the session")
    }

    /// Decodes a data set with template `id`: flows into `out`, options records into the
    /// session's state.
    fn data(
        &mut self,
        key: SessionKey,
        id: u16,
        body: Reader,
        dataset: &'static str,
        clock: Clock,
        out: &mut Decoded,
    ) -> Result<(), DecodeError> {
        let Some(session) = self.sessions.get_mut(&key) else {
            out.missing_template += 1;
            return Ok(());
        };
        let Some(t) = session.templates.get(&id) else {
            out.missing_template += 1;
            return Ok(());
        };
        if t.options {
            let mut init = None;
            template::records(t, body, |fields| {
                for (f, v) in fields {
                    if f.enterprise == 0 && f.ie == 160 {
                        init = wire::uint(v).and_then(|ms| i64::try_from(ms).ok()).or(init);
                    }
                }
            })?;
            if init.is_some() {
                session.init_ms = init;
            }
            return Ok(());
        }
        template::records(t, body, |fields| {
            let mut f = Flow {
                dataset,
                exporter: Some(key.exporter.ip()),
                domain: key.domain,
                template_id: Some(id),
                ..Flow::default()
            };
            for (spec, v) in fields {
                // Enterprise-specific elements are skipped: their meaning is the vendor's.
                if spec.enterprise == 0 {
                    f.apply(spec.ie, v);
                }
            }
            f.resolve_times(clock);
            out.flows.push(f);
        })
    }
}

/// Splits off one set (or flowset): its id and its body.
fn set<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<(u16, Reader<'a>), DecodeError> {
    let id = r.u16(what)?;
    let len = usize::from(r.u16(what)?);
    if len < 4 {
        return Err(DecodeError::Length(format!(
            "{what} {id} has length {len}, shorter than its header"
        )));
    }
    Ok((id, r.sub(len - 4, what)?))
}

fn flows_of(
    collector: &mut Collector,
    packet: &[u8],
    peer: SocketAddr,
    tenant: &str,
    batch: &mut Vec<RawRecord>,
) {
    // A fixed set of label values: a sender must not be able to mint new series.
    let version = match packet.get(..2) {
        Some([0, 5]) => "5",
        Some([0, 9]) => "9",
        Some([0, 10]) => "10",
        _ => "other",
    };
    metrics::counter!("yunshou_netflow_packets_total", "version" => version).increment(1);
    match collector.decode(peer, packet) {
        Ok(d) => {
            if d.missing_template > 0 {
                metrics::counter!("yunshou_netflow_missing_template_total")
                    .increment(d.missing_template as u64);
            }
            let now = chrono::Utc::now().timestamp_micros();
            batch.extend(d.flows.iter().map(|f| RawRecord {
                tenant: tenant.to_string(),
                source: "netflow".into(),
                format: "netflow".into(),
                peer: Some(peer.ip().to_string()),
                received_us: now,
                line: serde_json::Value::Object(f.to_document()).to_string(),
            }));
        }
        Err(e) => {
            metrics::counter!("yunshou_ingest_events_total", "source" => "netflow", "stage" => "failed")
                .increment(1);
            tracing::debug!(%peer, error = %e, "netflow: undecodable datagram");
        }
    }
}

/// Serves NetFlow v5/v9 and IPFIX on `socket` for `tenant`: each datagram's flows become
/// events. UDP cannot push back, so a batch the log refuses is dropped and counted
/// (`yunshou_udp_dropped_total{source="netflow"}`, in datagrams).
pub async fn serve_netflow(socket: UdpSocket, tenant: String, pipeline: Pipeline) {
    let mut collector = Collector::new();
    // The largest UDP payload, so no datagram is cut.
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut batch = Vec::new();
        let mut datagrams = 0u64;
        match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                datagrams += 1;
                flows_of(&mut collector, &buf[..n], peer, &tenant, &mut batch);
            }
            Err(e) => {
                tracing::warn!(error = %e, "netflow: receive failed");
                continue;
            }
        }
        // Take whatever else has already arrived, without waiting.
        while batch.len() < BATCH {
            match socket.try_recv_from(&mut buf) {
                Ok((n, peer)) => {
                    datagrams += 1;
                    flows_of(&mut collector, &buf[..n], peer, &tenant, &mut batch);
                }
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let p = pipeline.clone();
        tokio::spawn(async move {
            if p.submit(batch).await.is_err() {
                metrics::counter!("yunshou_udp_dropped_total", "source" => "netflow")
                    .increment(datagrams);
            }
        });
    }
}
