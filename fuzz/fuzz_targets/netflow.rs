//! NetFlow v5/v9 and IPFIX datagrams from anyone on the network: decoding never panics, and
//! templates learnt from earlier datagrams (the collector is kept across inputs, as in the
//! listener) never make a later datagram panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;
use yunshou_ingest::netflow::Collector;

static COLLECTOR: Mutex<Option<Collector>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let Some((first, packet)) = data.split_first() else {
        return;
    };
    // The first byte picks one of four exporters, so templates of several meet.
    let exporter = std::net::SocketAddr::from(([192, 0, 2, first % 4], 2055));
    let mut guard = COLLECTOR.lock().unwrap_or_else(|e| e.into_inner());
    let collector = guard.get_or_insert_with(Collector::new);
    if let Ok(decoded) = collector.decode(exporter, packet) {
        for flow in decoded.flows {
            let _ = flow.to_document();
        }
    }
});
