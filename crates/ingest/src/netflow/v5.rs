//! NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records, no templates.

use super::flow::{Clock, Flow};
use super::wire::{DecodeError, Reader};
use std::net::{IpAddr, Ipv4Addr};

const HEADER: usize = 24;
const RECORD: usize = 48;

/// Decodes a v5 datagram (the version is already checked).
pub(crate) fn decode(packet: &[u8], exporter: IpAddr) -> Result<Vec<Flow>, DecodeError> {
    let mut r = Reader::new(packet);
    let mut h = r.sub(HEADER, "v5 header")?;
    h.u16("version")?;
    let count = usize::from(h.u16("count")?);
    let uptime = h.u32("sysUptime")?;
    let secs = h.u32("unix_secs")?;
    let nsecs = h.u32("unix_nsecs")?;
    h.u32("flow_sequence")?;
    let engine_type = h.u8("engine_type")?;
    let engine_id = h.u8("engine_id")?;
    let sampling = h.u16("sampling")?;
    if count * RECORD > r.remaining() {
        return Err(DecodeError::Length(format!(
            "v5 header announces {count} records ({} bytes), {} bytes follow",
            count * RECORD,
            r.remaining()
        )));
    }
    let clock = Clock {
        export_ms: i64::from(secs) * 1000 + i64::from(nsecs / 1_000_000),
        uptime_ms: Some(uptime),
    };
    let mut flows = Vec::with_capacity(count);
    for _ in 0..count {
        let mut rec = r.sub(RECORD, "v5 record")?;
        let mut f = Flow {
            dataset: "netflow.v5",
            exporter: Some(exporter),
            domain: u32::from(engine_type) << 8 | u32::from(engine_id),
            // The low 14 bits are the interval; 0 means unsampled.
            sampling_interval: Some(u32::from(sampling & 0x3fff)).filter(|i| *i > 0),
            ..Flow::default()
        };
        let addr = |rec: &mut Reader| -> Result<IpAddr, DecodeError> {
            Ok(Ipv4Addr::from(rec.u32("v5 address")?).into())
        };
        f.src_addr = Some(addr(&mut rec)?);
        f.dst_addr = Some(addr(&mut rec)?);
        f.next_hop = Some(addr(&mut rec)?);
        f.input_interface = Some(u32::from(rec.u16("input")?));
        f.output_interface = Some(u32::from(rec.u16("output")?));
        f.packets = Some(u64::from(rec.u32("dPkts")?));
        f.bytes = Some(u64::from(rec.u32("dOctets")?));
        f.first_uptime = Some(rec.u32("first")?);
        f.last_uptime = Some(rec.u32("last")?);
        let src_port = rec.u16("srcport")?;
        let dst_port = rec.u16("dstport")?;
        rec.u8("pad1")?;
        f.tcp_flags = Some(u16::from(rec.u8("tcp_flags")?));
        let proto = rec.u8("prot")?;
        f.protocol = Some(proto);
        f.tos = Some(rec.u8("tos")?);
        f.src_as = Some(u32::from(rec.u16("src_as")?));
        f.dst_as = Some(u32::from(rec.u16("dst_as")?));
        f.src_mask = Some(rec.u8("src_mask")?);
        f.dst_mask = Some(rec.u8("dst_mask")?);
        if proto == 1 {
            // v5 has no ICMP fields: exporters put type and code in the destination port.
            f.icmp_type = Some((dst_port >> 8) as u8);
            f.icmp_code = Some((dst_port & 0xff) as u8);
        } else {
            f.src_port = Some(src_port);
            f.dst_port = Some(dst_port);
        }
        f.resolve_times(clock);
        flows.push(f);
    }
    Ok(flows)
}
