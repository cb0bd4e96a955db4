//! One flow record, whichever version carried it, and its ECS document.

use super::wire::uint;
use crate::normalise::put;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A decoded flow. Fields an exporter did not send stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// `netflow.v5`, `netflow.v9` or `ipfix`.
    pub dataset: &'static str,
    /// The exporter's address (the datagram's sender).
    pub exporter: Option<IpAddr>,
    /// v9 source id or IPFIX observation domain (v5: engine type << 8 | engine id).
    pub domain: u32,
    /// Template that described the record (v9, IPFIX).
    pub template_id: Option<u16>,
    /// When the exporter sent the datagram, ms since the epoch.
    pub export_ms: i64,
    /// Source address (IE 8 or 27).
    pub src_addr: Option<IpAddr>,
    /// Destination address (IE 12 or 28).
    pub dst_addr: Option<IpAddr>,
    /// Source port (IE 7).
    pub src_port: Option<u16>,
    /// Destination port (IE 11).
    pub dst_port: Option<u16>,
    /// IP protocol number (IE 4).
    pub protocol: Option<u8>,
    /// TCP flags seen (IE 6).
    pub tcp_flags: Option<u16>,
    /// Bytes (IE 1 delta, or 85 total).
    pub bytes: Option<u64>,
    /// Packets (IE 2 delta, or 86 total).
    pub packets: Option<u64>,
    /// First packet, ms since the epoch.
    pub start_ms: Option<i64>,
    /// Last packet, ms since the epoch.
    pub end_ms: Option<i64>,
    /// Input interface index (IE 10).
    pub input_interface: Option<u32>,
    /// Output interface index (IE 14).
    pub output_interface: Option<u32>,
    /// Type of service (IE 5).
    pub tos: Option<u8>,
    /// Next hop (IE 15 or 62).
    pub next_hop: Option<IpAddr>,
    /// Source AS (IE 16).
    pub src_as: Option<u32>,
    /// Destination AS (IE 17).
    pub dst_as: Option<u32>,
    /// Source prefix length (IE 9 or 29).
    pub src_mask: Option<u8>,
    /// Destination prefix length (IE 13 or 30).
    pub dst_mask: Option<u8>,
    /// ICMP type (IE 32/139 high byte, or 176/178).
    pub icmp_type: Option<u8>,
    /// ICMP code (IE 32/139 low byte, or 177/179).
    pub icmp_code: Option<u8>,
    /// Why the exporter ended the flow (IE 136).
    pub end_reason: Option<u8>,
    /// 0 ingress, 1 egress (IE 61).
    pub direction: Option<u8>,
    /// Sampling interval the exporter announced (v5 header), if any.
    pub sampling_interval: Option<u32>,
    // Times relative to the exporter's clock (IE 21/22, v5's first/last), resolved by
    // `resolve_times` once the header's clock is known.
    pub(crate) first_uptime: Option<u32>,
    pub(crate) last_uptime: Option<u32>,
    // Absolute times win over relative ones when a record carries both, and of absolute
    // ones the finest (rank: seconds 0 … nanoseconds 3), whatever the template's order.
    pub(crate) abs_start: Option<(u8, i64)>,
    pub(crate) abs_end: Option<(u8, i64)>,
    pub(crate) start_delta_us: Option<u32>,
    pub(crate) end_delta_us: Option<u32>,
}

/// The exporter's clock at export time, for turning relative times into absolute ones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Export time, ms since the epoch.
    pub export_ms: i64,
    /// Exporter uptime at export, ms (v5, v9 header; for IPFIX derived from
    /// systemInitTimeMilliseconds when an options record told it).
    pub uptime_ms: Option<u32>,
}

impl Clock {
    /// An uptime stamp as absolute time. Uptime is a 32-bit millisecond counter that wraps
    /// every 49.7 days, and exporters replaying captures stamp flows from before their own
    /// start: taking the difference as a signed 32-bit number places the flow within ±24
    /// days of the export, which is right for every flow a live exporter can still hold.
    fn at(&self, stamp: u32) -> Option<i64> {
        let up = self.uptime_ms?;
        Some(self.export_ms + i64::from(stamp.wrapping_sub(up) as i32))
    }
}

fn ipv4(b: &[u8]) -> Option<IpAddr> {
    <[u8; 4]>::try_from(b)
        .ok()
        .map(|a| Ipv4Addr::from(a).into())
}

fn ipv6(b: &[u8]) -> Option<IpAddr> {
    <[u8; 16]>::try_from(b)
        .ok()
        .map(|a| Ipv6Addr::from(a).into())
}

/// NTP timestamp (seconds since 1900 and a binary fraction) as ms since the Unix epoch.
fn ntp_ms(b: &[u8]) -> Option<i64> {
    let v = uint(b).filter(|_| b.len() == 8)?;
    let secs = (v >> 32) as i64 - 2_208_988_800;
    let frac_ms = ((v & 0xffff_ffff) * 1000) >> 32;
    Some(secs * 1000 + frac_ms as i64)
}

impl Flow {
    /// Applies one IANA information element (enterprise 0). Elements the collector does not
    /// map, and values of a length the element cannot have, are ignored.
    pub(crate) fn apply(&mut self, ie: u16, v: &[u8]) {
        let n = uint(v);
        let n32 = n.and_then(|x| u32::try_from(x).ok());
        let n16 = n.and_then(|x| u16::try_from(x).ok());
        let n8 = n.and_then(|x| u8::try_from(x).ok());
        match ie {
            1 => self.bytes = n.or(self.bytes),
            2 => self.packets = n.or(self.packets),
            85 => self.bytes = self.bytes.or(n),
            86 => self.packets = self.packets.or(n),
            4 => self.protocol = n8,
            5 => self.tos = n8,
            6 => self.tcp_flags = n16,
            7 => self.src_port = n16,
            11 => self.dst_port = n16,
            8 => self.src_addr = ipv4(v).or(self.src_addr),
            12 => self.dst_addr = ipv4(v).or(self.dst_addr),
            27 => self.src_addr = ipv6(v).or(self.src_addr),
            28 => self.dst_addr = ipv6(v).or(self.dst_addr),
            9 | 29 => self.src_mask = n8,
            13 | 30 => self.dst_mask = n8,
            10 => self.input_interface = n32,
            14 => self.output_interface = n32,
            15 => self.next_hop = ipv4(v).or(self.next_hop),
            62 => self.next_hop = ipv6(v).or(self.next_hop),
            16 => self.src_as = n32,
            17 => self.dst_as = n32,
            21 => self.last_uptime = n32,
            22 => self.first_uptime = n32,
            32 | 139 => {
                if let Some(tc) = n16 {
                    self.icmp_type = Some((tc >> 8) as u8);
                    self.icmp_code = Some((tc & 0xff) as u8);
                }
            }
            176 | 178 => self.icmp_type = n8,
            177 | 179 => self.icmp_code = n8,
            61 => self.direction = n8,
            136 => self.end_reason = n8,
            150..=157 => {
                let ms = match ie {
                    150 | 151 => n.and_then(|s| i64::try_from(s).ok()?.checked_mul(1000)),
                    152 | 153 => n.and_then(|ms| i64::try_from(ms).ok()),
                    _ => ntp_ms(v),
                };
                let rank = ((ie - 150) / 2) as u8;
                let slot = if matches!(ie, 150 | 152 | 154 | 156) {
                    &mut self.abs_start
                } else {
                    &mut self.abs_end
                };
                if let Some(ms) = ms {
                    if slot.is_none_or(|(r, _)| r <= rank) {
                        *slot = Some((rank, ms));
                    }
                }
            }
            158 => self.start_delta_us = n32,
            159 => self.end_delta_us = n32,
            _ => {}
        }
    }

    /// Settles start and end: absolute elements first, then deltas from the export time,
    /// then uptime stamps.
    pub(crate) fn resolve_times(&mut self, clock: Clock) {
        self.export_ms = clock.export_ms;
        let delta = |us: u32| clock.export_ms - i64::from(us / 1000);
        self.start_ms = self
            .abs_start
            .map(|(_, ms)| ms)
            .or(self.start_delta_us.map(delta))
            .or_else(|| self.first_uptime.and_then(|s| clock.at(s)));
        self.end_ms = self
            .abs_end
            .map(|(_, ms)| ms)
            .or(self.end_delta_us.map(delta))
            .or_else(|| self.last_uptime.and_then(|s| clock.at(s)));
    }

    /// The ECS document of the flow.
    pub fn to_document(&self) -> Map<String, Value> {
        let mut d = Map::new();
        let end = self.end_ms.unwrap_or(self.export_ms);
        if let Some(t) = time(end) {
            d.insert("@timestamp".into(), t.into());
        }
        put(&mut d, "event.dataset", self.dataset);
        put(&mut d, "event.kind", "event");
        put(&mut d, "event.category", vec!["network"]);
        put(&mut d, "event.type", vec!["connection"]);
        if let Some(t) = self.start_ms.and_then(time) {
            put(&mut d, "event.start", t);
        }
        if let Some(t) = self.end_ms.and_then(time) {
            put(&mut d, "event.end", t);
        }
        if let (Some(s), Some(e)) = (self.start_ms, self.end_ms) {
            if e >= s {
                // ECS durations are nanoseconds.
                put(&mut d, "event.duration", (e - s).saturating_mul(1_000_000));
            }
        }
        let opt = |d: &mut Map<String, Value>, path: &str, v: Option<Value>| {
            if let Some(v) = v {
                put(d, path, v);
            }
        };
        opt(
            &mut d,
            "source.ip",
            self.src_addr.map(|a| a.to_string().into()),
        );
        opt(
            &mut d,
            "source.port",
            self.ports()
                .then_some(self.src_port)
                .flatten()
                .map(Value::from),
        );
        opt(&mut d, "source.bytes", self.bytes.map(Value::from));
        opt(&mut d, "source.packets", self.packets.map(Value::from));
        opt(
            &mut d,
            "destination.ip",
            self.dst_addr.map(|a| a.to_string().into()),
        );
        opt(
            &mut d,
            "destination.port",
            self.ports()
                .then_some(self.dst_port)
                .flatten()
                .map(Value::from),
        );
        if let Some(p) = self.protocol {
            put(&mut d, "network.transport", transport(p));
            put(&mut d, "network.iana_number", p.to_string());
        }
        opt(
            &mut d,
            "network.type",
            self.src_addr
                .or(self.dst_addr)
                .map(|a| if a.is_ipv4() { "ipv4" } else { "ipv6" }.into()),
        );
        opt(&mut d, "network.bytes", self.bytes.map(Value::from));
        opt(&mut d, "network.packets", self.packets.map(Value::from));
        opt(
            &mut d,
            "observer.ip",
            self.exporter.map(|a| a.to_string().into()),
        );
        let nf = |d: &mut Map<String, Value>, key: &str, v: Option<Value>| {
            opt(d, &format!("netflow.{key}"), v)
        };
        nf(&mut d, "exporter.domain", Some(self.domain.into()));
        nf(&mut d, "template_id", self.template_id.map(Value::from));
        // Exporters fill the field with zero for other protocols.
        if let Some(f) = self
            .tcp_flags
            .filter(|_| matches!(self.protocol, Some(6) | None))
        {
            nf(&mut d, "tcp_flags", Some(f.into()));
            nf(&mut d, "tcp_flag_names", Some(tcp_flag_names(f).into()));
        }
        nf(
            &mut d,
            "input_interface",
            self.input_interface.map(Value::from),
        );
        nf(
            &mut d,
            "output_interface",
            self.output_interface.map(Value::from),
        );
        nf(&mut d, "tos", self.tos.map(Value::from));
        nf(
            &mut d,
            "next_hop",
            self.next_hop.map(|a| a.to_string().into()),
        );
        nf(&mut d, "src_as", self.src_as.map(Value::from));
        nf(&mut d, "dst_as", self.dst_as.map(Value::from));
        nf(&mut d, "src_mask", self.src_mask.map(Value::from));
        nf(&mut d, "dst_mask", self.dst_mask.map(Value::from));
        nf(&mut d, "icmp_type", self.icmp_type.map(Value::from));
        nf(&mut d, "icmp_code", self.icmp_code.map(Value::from));
        nf(
            &mut d,
            "flow_end_reason",
            self.end_reason.map(|r| end_reason(r).into()),
        );
        nf(
            &mut d,
            "direction",
            self.direction.map(|x| match x {
                0 => "ingress".into(),
                1 => "egress".into(),
                n => n.to_string().into(),
            }),
        );
        nf(
            &mut d,
            "sampling_interval",
            self.sampling_interval.map(Value::from),
        );
        d.insert("message".into(), self.summary().into());
        d
    }

    /// Ports mean something for TCP, UDP and SCTP; for ICMP v5 puts type and code there.
    fn ports(&self) -> bool {
        !matches!(self.protocol, Some(1 | 58))
    }

    /// `10.0.0.1:5353 -> 10.0.0.2:53 udp 120 bytes 2 packets`.
    pub fn summary(&self) -> String {
        let end = |a: Option<IpAddr>, p: Option<u16>| {
            let a = match a {
                Some(IpAddr::V6(a)) if p.is_some() && self.ports() => format!("[{a}]"),
                Some(a) => a.to_string(),
                None => "?".into(),
            };
            match p.filter(|_| self.ports()) {
                Some(p) => format!("{a}:{p}"),
                None => a,
            }
        };
        let mut s = format!(
            "{} -> {}",
            end(self.src_addr, self.src_port),
            end(self.dst_addr, self.dst_port)
        );
        if let Some(p) = self.protocol {
            s.push(' ');
            s.push_str(&transport(p));
        }
        if let Some(b) = self.bytes {
            s.push_str(&format!(" {b} bytes"));
        }
        if let Some(p) = self.packets {
            s.push_str(&format!(" {p} packets"));
        }
        s
    }
}

fn time(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// ECS `network.transport`: the IANA protocol keyword, lower case, or the number.
pub(crate) fn transport(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        2 => "igmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

fn tcp_flag_names(f: u16) -> Vec<&'static str> {
    [
        (0x01, "fin"),
        (0x02, "syn"),
        (0x04, "rst"),
        (0x08, "psh"),
        (0x10, "ack"),
        (0x20, "urg"),
        (0x40, "ece"),
        (0x80, "cwr"),
    ]
    .iter()
    .filter(|(bit, _)| f & bit != 0)
    .map(|(_, name)| *name)
    .collect()
}

/// IPFIX flowEndReason (IE 136) names.
fn end_reason(r: u8) -> String {
    match r {
        1 => "idle_timeout".into(),
        2 => "active_timeout".into(),
        3 => "end_of_flow".into(),
        4 => "forced_end".into(),
        5 => "lack_of_resources".into(),
        n => n.to_string(),
    }
}
