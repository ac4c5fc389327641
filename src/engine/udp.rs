//! UDP flows: QUIC connections. A datagram joins the flow on its 5-tuple; one that starts a
//! QUIC connection (a long header of a version plainsight reads) opens a flow. The client is the
//! side whose Initial opens with the keys of its own connection ID; failing that, the side with
//! the higher port. QUIC flows share the flow table (ids, idle timeout, memcap, flow cap) with
//! TCP; they end by idle timeout, at the end of the capture, or evicted.

use std::net::SocketAddr;

use super::record::{At, Recorder};
use super::tcp::{context_of, FlowTracker, Opening};
use crate::decode::{Tunnel, UdpDatagram};
use crate::event::{Event, Transport};
use crate::flow::FlowKey;
use crate::proto::analysis::FlowAnalysis;
use crate::proto::quic;
use crate::proto::StreamContext;

impl FlowTracker {
    /// One UDP datagram from `src` to `dst`. Returns whether it belonged to a QUIC flow (a
    /// datagram that did not is left to the DNS reader).
    #[allow(clippy::too_many_arguments)]
    pub fn datagram<F: FnMut(Event)>(
        &mut self,
        at: At,
        src: SocketAddr,
        dst: SocketAddr,
        tunnel: Option<Tunnel>,
        udp: &UdpDatagram<'_>,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) -> bool {
        let key = FlowKey::udp(src, dst, tunnel.map_or(0, |t| t.id));
        if self.table.get_with_budget(&key).is_none() {
            let Some(start) = quic::opens_connection(udp.payload) else {
                return false;
            };
            self.open_quic(key, at, src, dst, tunnel, start, base, rec, out);
        }
        self.last_key = Some(key);
        let Some((flow, budget)) = self.table.get_with_budget(&key) else {
            return true;
        };
        flow.packets += 1;
        flow.last_ts = at.ts;
        flow.last_frame = at.frame;
        let dir = flow.direction_of(src);
        let ctx = context_of(flow, at);
        let stream_ctx = StreamContext {
            frame: at.frame,
            ..base
        };
        flow.app
            .on_datagram(dir, udp.payload, &stream_ctx, &mut rec.pending);
        let held = flow.app.held();
        flow.charge_app(held, budget);
        rec.emit_pending(&ctx, out);
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn open_quic<F: FnMut(Event)>(
        &mut self,
        key: FlowKey,
        at: At,
        src: SocketAddr,
        dst: SocketAddr,
        tunnel: Option<Tunnel>,
        start: quic::QuicStart,
        base: StreamContext<'_>,
        rec: &mut Recorder,
        out: &mut F,
    ) {
        let client_initial = start.client_initial;
        let (client, server) = if client_initial || src.port() > dst.port() {
            (src, dst)
        } else {
            (dst, src)
        };
        let opening = Opening {
            client,
            server,
            handshake_seen: client_initial,
            tunnel,
            transport: Transport::Udp,
        };
        self.open(key, at, opening, FlowAnalysis::quic(start), base, rec, out);
    }
}
