//! Hand-built datagrams of each version, datagrams softflowd sent, and malformed input.

use super::*;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const A: &str = "192.0.2.1:2055";
const B: &str = "192.0.2.2:2055";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

/// 2026-11-25T08:00:00Z.
const T0: u32 = 1_795_593_600;

fn v5_record(
    src: [u8; 4],
    dst: [u8; 4],
    ports: (u16, u16),
    proto: u8,
    first: u32,
    last: u32,
) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend(src);
    r.extend(dst);
    r.extend([10, 0, 0, 254]); // next hop
    r.extend(3u16.to_be_bytes()); // input
    r.extend(4u16.to_be_bytes()); // output
    r.extend(2u32.to_be_bytes()); // packets
    r.extend(120u32.to_be_bytes()); // bytes
    r.extend(first.to_be_bytes());
    r.extend(last.to_be_bytes());
    r.extend(ports.0.to_be_bytes());
    r.extend(ports.1.to_be_bytes());
    r.push(0); // pad
    r.push(0x12); // SYN ACK
    r.push(proto);
    r.push(0x10); // tos
    r.extend(64512u16.to_be_bytes());
    r.extend(64513u16.to_be_bytes());
    r.push(24);
    r.push(16);
    r.extend([0, 0]);
    assert_eq!(r.len(), 48);
    r
}

fn v5_packet(records: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(5u16.to_be_bytes());
    p.extend((records.len() as u16).to_be_bytes());
    p.extend(100_000u32.to_be_bytes()); // uptime
    p.extend(T0.to_be_bytes());
    p.extend(500_000_000u32.to_be_bytes()); // + 0.5 s
    p.extend(7u32.to_be_bytes());
    p.extend([1, 2]); // engine type, id
    p.extend(0u16.to_be_bytes());
    for r in records {
        p.extend(r);
    }
    p
}

/// A set or flowset: id, length, body, padded to 4 bytes.
fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    b.resize(b.len().div_ceil(4) * 4, 0);
    let mut s = Vec::new();
    s.extend(id.to_be_bytes());
    s.extend(((b.len() + 4) as u16).to_be_bytes());
    s.extend(b);
    s
}

fn v9_packet(source_id: u32, uptime: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(9u16.to_be_bytes());
    p.extend((sets.len() as u16).to_be_bytes());
    p.extend(uptime.to_be_bytes());
    p.extend(T0.to_be_bytes());
    p.extend(1u32.to_be_bytes());
    p.extend(source_id.to_be_bytes());
    for s in sets {
        p.extend(s);
    }
    p
}

fn ipfix_packet(domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = sets.concat();
    let mut p = Vec::new();
    p.extend(10u16.to_be_bytes());
    p.extend(((16 + body.len()) as u16).to_be_bytes());
    p.extend(T0.to_be_bytes());
    p.extend(1u32.to_be_bytes());
    p.extend(domain.to_be_bytes());
    p.extend(body);
    p
}

/// A template record: id, then (element, length) pairs.
fn template(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend(id.to_be_bytes());
    t.extend((fields.len() as u16).to_be_bytes());
    for (ie, len) in fields {
        t.extend(ie.to_be_bytes());
        t.extend(len.to_be_bytes());
    }
    t
}

fn be(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn doc(f: &Flow) -> Value {
    Value::Object(f.to_document())
}

#[test]
fn v5_records_become_flows() {
    let p = v5_packet(&[
        v5_record([10, 0, 0, 1], [10, 0, 0, 2], (5353, 53), 17, 95_000, 99_000),
        // ICMP echo request: type 8 code 0 travels in the destination port.
        v5_record(
            [10, 0, 0, 3],
            [10, 0, 0, 4],
            (0, 0x0800),
            1,
            99_900,
            100_100,
        ),
    ]);
    let d = Collector::new().decode(addr(A), &p).unwrap();
    assert_eq!(d.flows.len(), 2);
    let f = &d.flows[0];
    assert_eq!(f.src_addr, ip("10.0.0.1"));
    assert_eq!(
        (f.src_port, f.dst_port, f.protocol),
        (Some(5353), Some(53), Some(17))
    );
    assert_eq!((f.bytes, f.packets), (Some(120), Some(2)));
    let export = i64::from(T0) * 1000 + 500;
    assert_eq!(f.start_ms, Some(export - 5000));
    assert_eq!(f.end_ms, Some(export - 1000));
    let v = doc(f);
    assert_eq!(v["event"]["dataset"], "netflow.v5");
    assert_eq!(v["event"]["kind"], "event");
    assert_eq!(v["event"]["category"][0], "network");
    assert_eq!(v["event"]["type"][0], "connection");
    assert_eq!(v["@timestamp"], "2026-11-25T07:59:59.500Z");
    assert_eq!(v["event"]["start"], "2026-11-25T07:59:55.500Z");
    assert_eq!(v["event"]["duration"], 4_000_000_000i64);
    assert_eq!(v["source"]["ip"], "10.0.0.1");
    assert_eq!(v["source"]["port"], 5353);
    assert_eq!(v["source"]["bytes"], 120);
    assert_eq!(v["destination"]["port"], 53);
    assert_eq!(v["network"]["transport"], "udp");
    assert_eq!(v["network"]["iana_number"], "17");
    assert_eq!(v["network"]["bytes"], 120);
    assert_eq!(v["network"]["packets"], 2);
    assert_eq!(v["observer"]["ip"], "192.0.2.1");
    assert_eq!(v["netflow"]["input_interface"], 3);
    assert_eq!(v["netflow"]["output_interface"], 4);
    assert_eq!(v["netflow"]["src_as"], 64512);
    assert_eq!(v["netflow"]["dst_as"], 64513);
    assert_eq!(v["netflow"]["next_hop"], "10.0.0.254");
    assert_eq!(v["netflow"]["tos"], 16);
    assert_eq!(v["netflow"]["exporter"]["domain"], 0x0102);
    assert!(
        v["netflow"].get("tcp_flags").is_none(),
        "tcp flags only for tcp"
    );
    assert_eq!(
        v["message"],
        "10.0.0.1:5353 -> 10.0.0.2:53 udp 120 bytes 2 packets"
    );
    let icmp = doc(&d.flows[1]);
    assert_eq!(icmp["netflow"]["icmp_type"], 8);
    assert_eq!(icmp["netflow"]["icmp_code"], 0);
    assert!(icmp["source"].get("port").is_none());
    assert_eq!(icmp["network"]["transport"], "icmp");
    assert_eq!(
        icmp["message"],
        "10.0.0.3 -> 10.0.0.4 icmp 120 bytes 2 packets"
    );
}

/// The fields softflowd and most routers send for IPv4.
const V9_FIELDS: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (15, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (5, 1),
    (1, 4),
    (2, 4),
    (22, 4),
    (21, 4),
    (10, 4),
    (14, 4),
    (16, 4),
    (17, 4),
    (136, 1),
];

fn v9_data(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, proto: u8, bytes: u32) -> Vec<u8> {
    be(&[
        &src,
        &dst,
        &[10, 0, 0, 254],
        &sport.to_be_bytes(),
        &dport.to_be_bytes(),
        &[proto, 0x1b, 0],
        &bytes.to_be_bytes(),
        &3u32.to_be_bytes(),
        &50_000u32.to_be_bytes(),
        &59_000u32.to_be_bytes(),
        &1u32.to_be_bytes(),
        &2u32.to_be_bytes(),
        &4_200_000_000u32.to_be_bytes(),
        &65_001u32.to_be_bytes(),
        &[3],
    ])
}

#[test]
fn v9_template_then_data() {
    let mut c = Collector::new();
    let t = set(0, &template(256, V9_FIELDS));
    let d = c.decode(addr(A), &v9_packet(0, 60_000, &[t])).unwrap();
    assert!(d.flows.is_empty());
    assert_eq!(c.template_count(), 1);
    let data = set(
        256,
        &be(&[
            &v9_data([10, 0, 0, 3], [10, 0, 0, 4], 40000, 443, 6, 280),
            &v9_data([10, 0, 0, 5], [10, 0, 0, 6], 40001, 80, 6, 1),
        ]),
    );
    let d = c.decode(addr(A), &v9_packet(0, 60_000, &[data])).unwrap();
    assert_eq!(d.flows.len(), 2);
    let v = doc(&d.flows[0]);
    assert_eq!(v["event"]["dataset"], "netflow.v9");
    assert_eq!(v["source"]["ip"], "10.0.0.3");
    assert_eq!(v["destination"]["port"], 443);
    assert_eq!(v["network"]["transport"], "tcp");
    assert_eq!(v["network"]["bytes"], 280);
    assert_eq!(v["netflow"]["tcp_flags"], 0x1b);
    assert_eq!(
        v["netflow"]["tcp_flag_names"],
        serde_json::json!(["fin", "syn", "psh", "ack"])
    );
    assert_eq!(v["netflow"]["src_as"], 4_200_000_000u32);
    assert_eq!(v["netflow"]["flow_end_reason"], "end_of_flow");
    assert_eq!(v["netflow"]["template_id"], 256);
    // 10 s and 1 s before the export (uptime 60 s).
    assert_eq!(v["event"]["start"], "2026-11-25T07:59:50.000Z");
    assert_eq!(v["@timestamp"], "2026-11-25T07:59:59.000Z");
    assert_eq!(d.flows[1].dst_port, Some(80));
    // Templates and data in one datagram work too, and a redefinition replaces.
    let t = set(0, &template(256, &[(8, 4), (12, 4), (1, 4)]));
    let data = set(
        256,
        &be(&[&[1, 1, 1, 1], &[2, 2, 2, 2], &9u32.to_be_bytes()]),
    );
    let d = c
        .decode(addr(A), &v9_packet(0, 60_000, &[t, data]))
        .unwrap();
    assert_eq!(d.flows[0].bytes, Some(9));
    assert_eq!(c.template_count(), 1);
}

#[test]
fn v9_data_for_an_unknown_template_is_counted_then_decoded_once_it_arrives() {
    let mut c = Collector::new();
    let data = set(300, &v9_data([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 17, 5));
    let d = c
        .decode(addr(A), &v9_packet(0, 1000, std::slice::from_ref(&data)))
        .unwrap();
    assert!(d.flows.is_empty());
    assert_eq!(d.missing_template, 1);
    let t = set(0, &template(300, V9_FIELDS));
    c.decode(addr(A), &v9_packet(0, 1000, &[t])).unwrap();
    let d = c.decode(addr(A), &v9_packet(0, 1000, &[data])).unwrap();
    assert_eq!((d.flows.len(), d.missing_template), (1, 0));
}

#[test]
fn v9_templates_are_per_exporter_and_source_id() {
    let mut c = Collector::new();
    // The same template id, two layouts.
    c.decode(
        addr(A),
        &v9_packet(
            0,
            1000,
            &[set(0, &template(256, &[(8, 4), (12, 4), (1, 4)]))],
        ),
    )
    .unwrap();
    c.decode(
        addr(B),
        &v9_packet(
            0,
            1000,
            &[set(0, &template(256, &[(1, 8), (11, 2), (12, 4), (8, 4)]))],
        ),
    )
    .unwrap();
    // Exporter A again, another source id: a third layout.
    c.decode(
        addr(A),
        &v9_packet(7, 1000, &[set(0, &template(256, &[(7, 2), (8, 4)]))]),
    )
    .unwrap();
    assert_eq!(c.template_count(), 3);
    let a = set(
        256,
        &be(&[&[10, 0, 0, 1], &[10, 0, 0, 2], &100u32.to_be_bytes()]),
    );
    let b = set(
        256,
        &be(&[
            &7_000_000_000u64.to_be_bytes(),
            &53u16.to_be_bytes(),
            &[10, 9, 9, 2],
            &[10, 9, 9, 1],
        ]),
    );
    let a7 = set(256, &be(&[&22u16.to_be_bytes(), &[10, 7, 7, 7]]));
    let fa = &c.decode(addr(A), &v9_packet(0, 1000, &[a])).unwrap().flows[0];
    assert_eq!(
        (fa.src_addr, fa.bytes, fa.dst_port),
        (ip("10.0.0.1"), Some(100), None)
    );
    // A v9 exporter is its address: another source port is the same exporter.
    let fb = &c
        .decode(addr("192.0.2.2:40000"), &v9_packet(0, 1000, &[b]))
        .unwrap()
        .flows[0];
    assert_eq!(
        (fb.src_addr, fb.dst_addr, fb.bytes, fb.dst_port),
        (
            ip("10.9.9.1"),
            ip("10.9.9.2"),
            Some(7_000_000_000),
            Some(53)
        )
    );
    assert_eq!(fb.exporter, ip("192.0.2.2"));
    let f7 = &c.decode(addr(A), &v9_packet(7, 1000, &[a7])).unwrap().flows[0];
    assert_eq!(
        (f7.src_port, f7.src_addr, f7.domain),
        (Some(22), ip("10.7.7.7"), 7)
    );
}

#[test]
fn v9_options_templates_are_understood_and_produce_no_flows() {
    let mut c = Collector::new();
    // Scope: system (1), 4 bytes; options: sampling interval (34) 4, algorithm (35) 1.
    let opt = set(
        1,
        &be(&[
            &260u16.to_be_bytes(),
            &4u16.to_be_bytes(),
            &8u16.to_be_bytes(),
            &[0, 1, 0, 4, 0, 34, 0, 4, 0, 35, 0, 1],
        ]),
    );
    let opt_data = set(260, &[0, 0, 0, 0, 0, 0, 0, 100, 2]);
    let t = set(0, &template(256, &[(8, 4), (12, 4)]));
    let data = set(256, &[10, 0, 0, 1, 10, 0, 0, 2]);
    let d = c
        .decode(addr(A), &v9_packet(0, 1000, &[opt, opt_data, t, data]))
        .unwrap();
    assert_eq!(d.flows.len(), 1);
    assert_eq!(d.missing_template, 0);
    assert_eq!(c.template_count(), 2);
}

/// An IPFIX template field with the enterprise bit.
fn enterprise_field(ie: u16, len: u16, pen: u32) -> Vec<u8> {
    be(&[
        &(ie | 0x8000).to_be_bytes(),
        &len.to_be_bytes(),
        &pen.to_be_bytes(),
    ])
}

#[test]
fn ipfix_variable_length_and_enterprise_fields() {
    let mut c = Collector::new();
    // interfaceName (82) variable, a vendor counter, a vendor string (variable), then the
    // ports and addresses that must still line up.
    let t = be(&[
        &400u16.to_be_bytes(),
        &8u16.to_be_bytes(),
        &82u16.to_be_bytes(),
        &0xffffu16.to_be_bytes(),
        &enterprise_field(1, 4, 29305),
        &enterprise_field(2, 0xffff, 9),
        &[0, 7, 0, 2, 0, 11, 0, 2],
        &[0, 8, 0, 4, 0, 12, 0, 4],
        &[0, 4, 0, 1],
    ]);
    let long = vec![b'x'; 300];
    let records = be(&[
        // Short form.
        &[4],
        b"eth0",
        &[0xde, 0xad, 0xbe, 0xef],
        &[3],
        b"abc",
        &5353u16.to_be_bytes(),
        &53u16.to_be_bytes(),
        &[10, 0, 0, 1, 10, 0, 0, 2, 17],
        // Long form: 255 then a 16-bit length.
        &[255],
        &300u16.to_be_bytes(),
        &long,
        &[0, 0, 0, 1],
        &[0],
        &40000u16.to_be_bytes(),
        &443u16.to_be_bytes(),
        &[10, 0, 0, 3, 10, 0, 0, 4, 6],
    ]);
    let d = c
        .decode(addr(A), &ipfix_packet(1, &[set(2, &t), set(400, &records)]))
        .unwrap();
    assert_eq!(d.flows.len(), 2);
    let (f, g) = (&d.flows[0], &d.flows[1]);
    assert_eq!(
        (f.src_port, f.dst_port, f.protocol),
        (Some(5353), Some(53), Some(17))
    );
    assert_eq!((g.src_addr, g.dst_addr), (ip("10.0.0.3"), ip("10.0.0.4")));
    assert_eq!((g.dst_port, g.protocol), (Some(443), Some(6)));
    let v = doc(f);
    assert_eq!(v["event"]["dataset"], "ipfix");
    // No time element and no system init time: the export time.
    assert_eq!(v["@timestamp"], "2026-11-25T08:00:00.000Z");
    assert!(v["event"].get("start").is_none());
}

#[test]
fn ipfix_withdrawal_forgets_templates() {
    let mut c = Collector::new();
    let ts = be(&[
        &template(256, &[(8, 4), (12, 4)]),
        &template(257, &[(8, 4)]),
    ]);
    let opts = be(&[
        &258u16.to_be_bytes(),
        &[0, 2, 0, 1],
        &[0, 149, 0, 4, 0, 160, 0, 8],
    ]);
    c.decode(addr(A), &ipfix_packet(0, &[set(2, &ts), set(3, &opts)]))
        .unwrap();
    assert_eq!(c.template_count(), 3);
    let data = set(256, &[10, 0, 0, 1, 10, 0, 0, 2]);
    assert_eq!(
        c.decode(addr(A), &ipfix_packet(0, std::slice::from_ref(&data)))
            .unwrap()
            .flows
            .len(),
        1
    );
    // Withdraw 256: its data is now missing its template.
    c.decode(addr(A), &ipfix_packet(0, &[set(2, &[1, 0, 0, 0])]))
        .unwrap();
    assert_eq!(c.template_count(), 2);
    let d = c.decode(addr(A), &ipfix_packet(0, &[data])).unwrap();
    assert_eq!((d.flows.len(), d.missing_template), (0, 1));
    // Withdraw all data templates (id 2): the options template stays.
    c.decode(addr(A), &ipfix_packet(0, &[set(2, &[0, 2, 0, 0])]))
        .unwrap();
    assert_eq!(c.template_count(), 1);
    c.decode(addr(A), &ipfix_packet(0, &[set(3, &[0, 3, 0, 0])]))
        .unwrap();
    assert_eq!(c.template_count(), 0);
}

#[test]
fn ipfix_sessions_are_address_port_and_domain() {
    let mut c = Collector::new();
    c.decode(
        addr(A),
        &ipfix_packet(0, &[set(2, &template(256, &[(8, 4)]))]),
    )
    .unwrap();
    let data = set(256, &[10, 0, 0, 1]);
    let d = c
        .decode(
            addr("192.0.2.1:9999"),
            &ipfix_packet(0, std::slice::from_ref(&data)),
        )
        .unwrap();
    assert_eq!(
        d.missing_template, 1,
        "another port is another transport session"
    );
    let d = c
        .decode(addr(A), &ipfix_packet(1, std::slice::from_ref(&data)))
        .unwrap();
    assert_eq!(d.missing_template, 1, "another observation domain");
    assert_eq!(
        c.decode(addr(A), &ipfix_packet(0, &[data]))
            .unwrap()
            .flows
            .len(),
        1
    );
}

#[test]
fn ipfix_times_absolute_and_from_system_init_time() {
    let mut c = Collector::new();
    let init_ms = i64::from(T0) * 1000 - 3_600_000; // booted an hour before the export
    let opts = be(&[
        &300u16.to_be_bytes(),
        &[0, 2, 0, 1],
        &[0, 149, 0, 4, 0, 160, 0, 8],
    ]);
    let opt_data = be(&[&[0, 0, 0, 1], &init_ms.to_be_bytes()]);
    let rel = template(
        256,
        &[
            (27, 16),
            (28, 16),
            (139, 2),
            (4, 1),
            (22, 4),
            (21, 4),
            (85, 8),
            (86, 8),
        ],
    );
    let abs = template(
        257,
        &[(8, 4), (12, 4), (152, 8), (153, 8), (150, 4), (2, 4)],
    );
    let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
    let rel_data = be(&[
        &src.octets(),
        &dst.octets(),
        &[128, 0], // echo request
        &[58],
        &3_000_000u32.to_be_bytes(),
        &3_599_000u32.to_be_bytes(),
        &64u64.to_be_bytes(),
        &1u64.to_be_bytes(),
    ]);
    let start = i64::from(T0) * 1000 - 2500;
    let abs_data = be(&[
        &[10, 0, 0, 1, 10, 0, 0, 2],
        &start.to_be_bytes(),
        &(start + 1500).to_be_bytes(),
        &(T0 - 100).to_be_bytes(), // seconds, overridden by the milliseconds
        &4u32.to_be_bytes(),
    ]);
    let d = c
        .decode(
            addr(A),
            &ipfix_packet(
                0,
                &[
                    set(3, &opts),
                    set(300, &opt_data),
                    set(2, &be(&[&rel, &abs])),
                    set(256, &rel_data),
                    set(257, &abs_data),
                ],
            ),
        )
        .unwrap();
    assert_eq!(d.flows.len(), 2);
    let v = doc(&d.flows[0]);
    assert_eq!(v["source"]["ip"], "2001:db8::1");
    assert_eq!(v["network"]["transport"], "ipv6-icmp");
    assert_eq!(v["network"]["type"], "ipv6");
    assert_eq!(v["network"]["bytes"], 64);
    assert_eq!(v["netflow"]["icmp_type"], 128);
    assert_eq!(v["event"]["start"], "2026-11-25T07:50:00.000Z");
    assert_eq!(v["event"]["end"], "2026-11-25T07:59:59.000Z");
    assert_eq!(
        v["message"],
        "2001:db8::1 -> 2001:db8::2 ipv6-icmp 64 bytes 1 packets"
    );
    let w = doc(&d.flows[1]);
    assert_eq!(w["event"]["start"], "2026-11-25T07:59:57.500Z");
    assert_eq!(w["@timestamp"], "2026-11-25T07:59:59.000Z");
    assert_eq!(w["network"]["packets"], 4);
    assert!(w["network"].get("bytes").is_none());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// `softflowd -a -r capture.pcap -v 9`: two UDP packets 10.0.0.1:5353 → 10.0.0.2:53 (60
/// bytes each) and two TCP packets 10.0.0.3:40000 → 10.0.0.4:443 (140 bytes each), one
/// second apart from 2025-11-25T08:00:00Z.
const SOFTFLOWD_V9: &str = "0009000200000bb8692562030000000100000000000000480400001000080004000c000400160004001500040001000400020004000a0004000e0004003d00010088000100070002000b00020004000100060001003c000100050001000000400401000e00080004000c000400160004001500040001000400020004000a0004000e0004003d0001008800010020000200040001003c0001000500010000004808000010001b0010001c001000160004001500040001000400020004000a0004000e0004003d00010088000100070002000b00020004000100060001003c000100050001000000400801000e001b0010001c001000160004001500040001000400020004000a0004000e0004003d000100880001008b000200040001003c0001000500010001001a01000004000c000200040022000400230001005200100100001d000000000000000101742e7063617000000000000000000000040000590a0000010a00000200000000000003e800000078000000020000000000000000000114e90035110004000a0000030a000004000007d000000bb80000011800000002000000000000000000019c4001bb0613040000";
/// The same capture, `-v 10`.
const SOFTFLOWD_IPFIX: &str = "000a01c4692562030000000200000000000200480400001000080004000c000400160004001500040001000400020004000a0004000e0004003d00010088000100070002000b00020004000100060001003c000100050001000200400401000e00080004000c000400160004001500040001000400020004000a0004000e0004003d0001008800010020000200040001003c0001000500010002004808000010001b0010001c001000160004001500040001000400020004000a0004000e0004003d00010088000100070002000b00020004000100060001003c000100050001000200400801000e001b0010001c001000160004001500040001000400020004000a0004000e0004003d000100880001008b000200040001003c00010005000100030022010000060001008f000400a00008013100040132000401300002005200100100002a000037b20000019aba06d00000000001000000000001742e7063617000000000000000000000040000580a0000010a00000200000000000003e800000078000000020000000000000000000114e90035110004000a0000030a000004000007d000000bb80000011800000002000000000000000000019c4001bb06130400";

#[test]
fn softflowd_datagrams_decode() {
    for (packet, dataset) in [(SOFTFLOWD_V9, "netflow.v9"), (SOFTFLOWD_IPFIX, "ipfix")] {
        let d = Collector::new().decode(addr(A), &hex(packet)).unwrap();
        assert_eq!(d.flows.len(), 2, "{dataset}");
        let (u, t) = (doc(&d.flows[0]), doc(&d.flows[1]));
        assert_eq!(u["event"]["dataset"], dataset);
        assert_eq!(
            u["message"],
            "10.0.0.1:5353 -> 10.0.0.2:53 udp 120 bytes 2 packets"
        );
        assert_eq!(u["event"]["start"], "2025-11-25T08:00:00.000Z", "{dataset}");
        assert_eq!(u["event"]["end"], "2025-11-25T08:00:01.000Z", "{dataset}");
        assert_eq!(
            t["message"],
            "10.0.0.3:40000 -> 10.0.0.4:443 tcp 280 bytes 2 packets"
        );
        assert_eq!(t["netflow"]["tcp_flags"], 0x13);
        assert_eq!(t["@timestamp"], "2025-11-25T08:00:03.000Z");
    }
}

#[test]
fn normalised_lines_keep_their_dataset_and_time() {
    let d = Collector::new()
        .decode(addr(A), &hex(SOFTFLOWD_IPFIX))
        .unwrap();
    let line = Value::Object(d.flows[0].to_document()).to_string();
    let (ts, doc) = crate::normalise::parse(&line, "netflow", chrono::Utc::now());
    assert_eq!(ts.unwrap().to_rfc3339(), "2025-11-25T08:00:01+00:00");
    assert_eq!(doc["event"]["dataset"], "ipfix");
    assert_eq!(doc["destination"]["port"], 53);
}

fn valid_packets() -> Vec<Vec<u8>> {
    vec![
        v5_packet(&[v5_record([10, 0, 0, 1], [10, 0, 0, 2], (1, 2), 6, 1, 2)]),
        hex(SOFTFLOWD_V9),
        hex(SOFTFLOWD_IPFIX),
    ]
}

#[test]
fn every_truncation_is_an_error_or_fewer_flows_and_never_a_panic() {
    for p in valid_packets() {
        let whole = Collector::new().decode(addr(A), &p).unwrap().flows.len();
        for n in 0..p.len() {
            match Collector::new().decode(addr(A), &p[..n]) {
                Ok(d) => assert!(d.flows.len() < whole || n >= p.len() - 3, "prefix {n}"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        // The headers alone are never enough.
        for n in 0..16 {
            assert!(
                Collector::new().decode(addr(A), &p[..n]).is_err(),
                "prefix {n}"
            );
        }
    }
}

#[test]
fn malformed_structures_are_clear_errors() {
    let mut c = Collector::new();
    let err = |c: &mut Collector, p: &[u8]| c.decode(addr(A), p).unwrap_err().to_string();
    assert_eq!(err(&mut c, &[0, 7, 0, 0]), "unsupported export version 7");
    assert!(err(&mut c, &[0, 5]).starts_with("truncated v5 header"));
    let mut p = v5_packet(&[v5_record([1, 1, 1, 1], [2, 2, 2, 2], (1, 2), 6, 1, 2)]);
    p[3] = 2;
    assert!(err(&mut c, &p).contains("announces 2 records"));
    // A flowset shorter than its own header.
    assert!(err(&mut c, &v9_packet(0, 0, &[vec![1, 0, 0, 2]])).contains("shorter than its header"));
    // A template whose records would be empty (it would never stop matching).
    assert!(err(
        &mut c,
        &v9_packet(0, 0, &[set(0, &template(256, &[(8, 0)]))])
    )
    .contains("would be empty"));
    assert!(
        err(&mut c, &v9_packet(0, 0, &[set(0, &template(5, &[(8, 4)]))])).contains("start at 256")
    );
    // IPFIX message length larger than the datagram, or smaller than the header.
    let mut p = ipfix_packet(0, &[]);
    p[3] = 40;
    assert!(err(&mut c, &p).starts_with("truncated IPFIX message"));
    p[3] = 4;
    assert!(err(&mut c, &p).contains("shorter than its header"));
    // A variable-length field running past its set.
    let t = set(2, &template(256, &[(82, 0xffff)]));
    assert!(err(&mut c, &ipfix_packet(0, &[t, set(256, &[9, b'a'])])).contains("data record field"));
    // "Withdraw all options templates" inside a template set.
    assert!(err(&mut c, &ipfix_packet(0, &[set(2, &[0, 3, 0, 0])])).contains("start at 256"));
    let many: Vec<(u16, u16)> = (0..=MAX_FIELDS as u16).map(|i| (i, 1)).collect();
    assert!(
        err(&mut c, &ipfix_packet(0, &[set(2, &template(256, &many))])).contains("more fields")
    );
}

#[test]
fn random_bytes_never_panic() {
    // A small LCG (Numerical Recipes constants): reproducible without a dependency.
    let mut x: u32 = 0x5eed;
    let mut next = || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    };
    let mut c = Collector::new();
    let bases = valid_packets();
    for i in 0..6000 {
        let len = usize::from(next()) * 2 + usize::from(next() % 8);
        let mut p: Vec<u8> = (0..len).map(|_| next()).collect();
        // Most random bytes fail the version check; aim a share at each decoder, and
        // corrupt valid datagrams so the deeper structures are reached too.
        match i % 4 {
            0 => {}
            1 => {
                if p.len() >= 2 {
                    p[0] = 0;
                    p[1] = [5, 9, 10][i % 3];
                }
            }
            _ => {
                p = bases[i % bases.len()].clone();
                for _ in 0..1 + next() % 4 {
                    let at = usize::from(next()) * 2 % p.len();
                    p[at] = next();
                }
            }
        }
        if let Ok(d) = c.decode(addr(A), &p) {
            for f in &d.flows {
                let _ = f.to_document();
            }
        }
    }
    assert!(c.template_count() <= MAX_TEMPLATES);
}

#[test]
fn the_template_table_is_bounded() {
    let mut c = Collector::new();
    let mut refused = 0;
    // 64 exporters × 256 templates each > MAX_TEMPLATES.
    for e in 0..=64u8 {
        let exporter = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, e)), 2055);
        let records: Vec<u8> = (0..256u16)
            .flat_map(|i| template(256 + i, &[(8, 4)]))
            .collect();
        if c.decode(exporter, &v9_packet(0, 0, &[set(0, &records)]))
            .is_err()
        {
            refused += 1;
        }
    }
    assert_eq!(c.template_count(), MAX_TEMPLATES);
    assert_eq!(refused, 1);
}

#[test]
fn the_oldest_exporter_makes_room_for_a_new_one() {
    let mut c = Collector::new();
    let exporter =
        |i: usize| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32)), 2055);
    let t = v9_packet(0, 0, &[set(0, &template(256, &[(8, 4)]))]);
    for i in 0..=MAX_SESSIONS {
        c.decode(exporter(i), &t).unwrap();
    }
    assert_eq!(c.template_count(), MAX_SESSIONS);
    let data = v9_packet(0, 0, &[set(256, &[10, 0, 0, 1])]);
    // The first exporter was forgotten; the newest is known.
    assert_eq!(c.decode(exporter(0), &data).unwrap().missing_template, 1);
    assert_eq!(
        c.decode(exporter(MAX_SESSIONS), &data).unwrap().flows.len(),
        1
    );
    // Data and junk create no sessions.
    c.decode(exporter(MAX_SESSIONS + 1), &data).unwrap();
    assert_eq!(c.template_count(), MAX_SESSIONS);
}
