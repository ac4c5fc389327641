//! The flow table: bidirectional TCP flows on the 5-tuple, their reassemblers, idle timeouts,
//! and the memory cap.
//!
//! Each flow carries an application state `A` (the protocol analysers); the table knows nothing
//! of it beyond creating and dropping it.

pub mod reassembly;

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;

use crate::base::{FlowId, Timestamp};

crate::base::wire_names! {
    /// Why a flow ended.
    pub enum CloseReason {
        Fin = "fin",
        Rst = "rst",
        Timeout = "timeout",
        EndOfCapture = "end_of_capture",
        Evicted = "evicted",
    }
}
pub use reassembly::{Chunk, MemoryBudget, TcpReassembler};

/// Direction of a segment relative to the flow's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    /// Both directions, client to server first (the order of [`Flow::streams`]).
    pub const BOTH: [Direction; 2] = [Direction::ClientToServer, Direction::ServerToClient];

    /// The position of this direction in two-element arrays kept per direction.
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }

    /// The way back.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// Words for people: `client to server`.
    pub fn describe(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client to server",
            Direction::ServerToClient => "server to client",
        }
    }
}

/// The two endpoints of a flow, in a canonical order so both directions find the same entry.
/// Packed into plain integers: hashing and comparing it is on every packet's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    low: PackedEndpoint,
    high: PackedEndpoint,
    /// The tunnel's identity (0: none): the same inner addresses in two tunnels are two flows.
    tunnel: u64,
}

/// An endpoint as (IPv6 or IPv4-mapped address, port and family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PackedEndpoint(u128, u32);

impl PackedEndpoint {
    fn new(addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(a) => {
                PackedEndpoint(a.ip().to_ipv6_mapped().to_bits(), u32::from(a.port()))
            }
            SocketAddr::V6(a) => PackedEndpoint(a.ip().to_bits(), u32::from(a.port()) | 1 << 16),
        }
    }
}

impl FlowKey {
    /// Which of `n` shards the flow belongs to (`report -j` on one file): the same for both
    /// directions, and the same on every run.
    pub fn shard(&self, n: usize) -> usize {
        let hash = ahash::RandomState::with_seeds(0x706c, 0x6169, 0x6e73, 0x6967).hash_one(self);
        (hash % n.max(1) as u64) as usize
    }

    /// A TCP flow's key.
    pub fn new(a: SocketAddr, b: SocketAddr, tunnel: u64) -> FlowKey {
        let (a, b) = (PackedEndpoint::new(a), PackedEndpoint::new(b));
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        FlowKey { low, high, tunnel }
    }

    /// A UDP flow's key (QUIC): never the same as a TCP flow's on the same ports.
    pub fn udp(a: SocketAddr, b: SocketAddr, tunnel: u64) -> FlowKey {
        let mut key = FlowKey::new(a, b, tunnel);
        key.low.1 |= 1 << 17;
        key.high.1 |= 1 << 17;
        key
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    Open,
    /// Closed (FIN both ways or RST) and already reported; kept a little while so that trailing
    /// ACKs do not open a new flow. A new SYN replaces it.
    Closed,
}

/// One TCP connection.
#[derive(Debug)]
pub struct Flow<A> {
    pub id: FlowId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub handshake_seen: bool,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// The flow's latest packet (1-based in its capture).
    pub last_frame: u64,
    pub packets: u64,
    pub state: FlowState,
    /// Indexed by [`Direction::index`].
    pub streams: [TcpReassembler; 2],
    pub app: A,
    /// Memory the application state holds, as last charged to the budget.
    pub app_memory: usize,
}

impl<A> Flow<A> {
    pub fn direction_of(&self, src: SocketAddr) -> Direction {
        if src == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    pub fn missing_bytes(&self) -> u64 {
        self.streams[0].missing_bytes() + self.streams[1].missing_bytes()
    }

    /// Bytes charged to the budget for this flow: out-of-order segments, retransmission windows
    /// and the application state.
    pub fn held(&self) -> usize {
        self.streams
            .iter()
            .map(|s| s.pending_bytes() + s.retained_bytes())
            .sum::<usize>()
            + self.app_memory
    }

    /// Charges the application state's current size to the budget.
    pub fn charge_app(&mut self, held: usize, budget: &mut MemoryBudget) {
        budget.used = (budget.used + held).saturating_sub(self.app_memory);
        self.app_memory = held;
    }

    /// Gives back every byte this flow had charged (its buffers are dropped with it).
    pub fn release(&mut self, budget: &mut MemoryBudget) {
        for s in self.streams.iter_mut() {
            s.release(budget);
        }
        budget.used = budget.used.saturating_sub(self.app_memory);
        self.app_memory = 0;
    }
}

/// Limits of the flow table.
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    /// Bytes of reassembly buffers and flow state held at most.
    pub memcap: usize,
    /// Flows held at most (open and recently closed).
    pub max_flows: usize,
    /// An open flow idle this long (capture time) is closed with `timeout`.
    pub idle_timeout_micros: u64,
    /// A closed flow is forgotten after this long.
    pub closed_linger_micros: u64,
}

/// Memory a flow is taken to need, for the first bound on how many flows a memory cap allows
/// ([`FlowLimits::from_memcap`]); [`FlowTable::new`] then fits the table itself in its share.
pub const FLOW_OVERHEAD: usize = 1024;
/// Heap a flow may hold beyond its table entry and its charged buffers (its parsers' small
/// allocations), charged per flow held.
pub const FLOW_HEAP: usize = 256;
/// The share of the memory cap (in percent) the flow table's own arrays may take at their
/// largest: its entries and its age queue.
const TABLE_SHARE_PERCENT: usize = 45;
/// Hash buckets a table starts with: it doubles as flows come, while the cap allows.
const FIRST_BUCKETS: usize = 32;

impl FlowLimits {
    /// Limits derived from a memory cap: at most half of it goes on flow state.
    pub fn from_memcap(memcap: usize) -> FlowLimits {
        FlowLimits {
            memcap,
            max_flows: (memcap / 2 / FLOW_OVERHEAD).max(64),
            idle_timeout_micros: 300 * 1_000_000,
            closed_linger_micros: 30 * 1_000_000,
        }
    }
}

/// The age queue's length at most for `max_flows` flows: stale entries are dropped once they
/// pile up past twice the flows (see [`FlowTable::insert`]).
fn age_queue_len(max_flows: usize) -> usize {
    2 * max_flows + 66
}

/// Flows a table of `buckets` holds. hashbrown keeps a power of two of buckets, at most 7/8 of
/// them full; removed entries leave tombstones, and when they use up the room it rehashes in
/// place only while at most half of that is live: past it, it allocates a table twice the size
/// by itself, holding both. So flows are kept to half of 7/8 of the buckets, and the table grows
/// only when [`FlowTable::insert`] decides it may.
fn flows_in(buckets: usize) -> usize {
    buckets / 16 * 7
}

/// Bytes of a table's arrays at `buckets`: the entries (and a control byte each) and the age
/// queue.
fn arrays_bytes<A>(buckets: usize) -> usize {
    buckets * (std::mem::size_of::<(FlowKey, Flow<A>)>() + 1)
        + age_queue_len(flows_in(buckets)) * std::mem::size_of::<AgeEntry>()
}

/// When a flow falls due (its last activity plus its state's timeout), as queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AgeEntry {
    due: Timestamp,
    id: FlowId,
    key: FlowKey,
}

impl Ord for AgeEntry {
    /// Reversed, so the standard (max-)heap gives the earliest due first, then the lowest id.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.id).cmp(&(self.due, self.id))
    }
}

impl PartialOrd for AgeEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Hash buckets and flows of a table at its largest, within its share of `limits.memcap` (and
/// at most `limits.max_flows` flows).
fn table_size<A>(limits: FlowLimits) -> (usize, usize) {
    let share = limits.memcap / 100 * TABLE_SHARE_PERCENT;
    let mut buckets = FIRST_BUCKETS;
    while flows_in(buckets) < limits.max_flows && arrays_bytes::<A>(buckets * 2) <= share {
        buckets *= 2;
    }
    (buckets, flows_in(buckets).min(limits.max_flows.max(56)))
}

/// The table of flows.
pub struct FlowTable<A> {
    flows: HashMap<FlowKey, Flow<A>, ahash::RandomState>,
    /// Flows by when they fall due, earliest first. Every flow has an entry due no later than
    /// it is (entries are re-queued lazily when found to have been active since), so when the
    /// earliest is not due, no flow is: expiry takes exactly the flows due, whatever else the
    /// table holds (a table split across threads expires the same flows).
    by_age: BinaryHeap<AgeEntry>,
    pub budget: MemoryBudget,
    pub limits: FlowLimits,
    /// Flows evicted to stay within the limits.
    pub evicted: u64,
    /// Hash buckets now, and at most.
    buckets: usize,
    full_buckets: usize,
}

/// A flow that left the table open, and why.
pub struct Removed<A> {
    pub flow: Flow<A>,
    pub reason: CloseReason,
}

impl<A> FlowTable<A> {
    /// A table for `limits`: its flow count is lowered until the table's arrays at their
    /// largest fit in their share of the memory cap. It starts small and doubles as flows come.
    pub fn new(limits: FlowLimits) -> Self {
        let mut limits = limits;
        let (full_buckets, max_flows) = table_size::<A>(limits);
        limits.max_flows = max_flows;
        let buckets = FIRST_BUCKETS.min(full_buckets);
        FlowTable {
            flows: HashMap::with_capacity_and_hasher(buckets / 8 * 7, ahash::RandomState::new()),
            by_age: BinaryHeap::with_capacity(age_queue_len(flows_in(buckets))),
            budget: MemoryBudget {
                retained_cap: limits.memcap / 8,
                ..Default::default()
            },
            limits,
            evicted: 0,
            buckets,
            full_buckets,
        }
    }

    /// Doubles the table when it is full, if the memory cap has room for its old and new
    /// arrays at once (they are both held while the flows move).
    fn grow(&mut self) {
        let next = self.buckets * 2;
        if next > self.full_buckets || self.memory() + arrays_bytes::<A>(next) > self.limits.memcap
        {
            return;
        }
        let mut bigger =
            HashMap::with_capacity_and_hasher(next / 8 * 7, self.flows.hasher().clone());
        bigger.extend(self.flows.drain());
        self.flows = bigger;
        let queue = age_queue_len(flows_in(next));
        self.by_age
            .reserve_exact(queue.saturating_sub(self.by_age.len()));
        self.buckets = next;
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Memory held now: buffers, the table's arrays, and what each flow holds besides.
    pub fn memory(&self) -> usize {
        self.budget.used
            + self.budget.retained
            + arrays_bytes::<A>(self.buckets)
            + self.flows.len() * FLOW_HEAP
    }

    /// Splits the table so a flow and the shared budget can be borrowed together.
    pub fn get_with_budget(&mut self, key: &FlowKey) -> Option<(&mut Flow<A>, &mut MemoryBudget)> {
        let flow = self.flows.get_mut(key)?;
        Some((flow, &mut self.budget))
    }

    /// Inserts a new flow, replacing (and returning) any closed one on the same key. When the
    /// table is full, the least recently active flows make room: they are returned too.
    pub fn insert(&mut self, key: FlowKey, flow: Flow<A>) -> Vec<Removed<A>> {
        let mut removed = Vec::new();
        if let Some(old) = self.flows.remove(&key) {
            if old.state == FlowState::Open {
                // A new connection on a 5-tuple whose old one was never closed: it was abandoned.
                removed.push(Removed {
                    flow: old,
                    reason: CloseReason::Timeout,
                });
            }
        }
        if self.flows.len() >= flows_in(self.buckets) {
            self.grow();
        }
        while self.flows.len() >= flows_in(self.buckets).min(self.limits.max_flows) {
            match self.pop_oldest() {
                Some(old) if old.state == FlowState::Open => {
                    self.evicted += 1;
                    removed.push(Removed {
                        flow: old,
                        reason: CloseReason::Evicted,
                    })
                }
                Some(_) => {}
                None => break,
            }
        }
        self.by_age.push(AgeEntry {
            due: self.due(&flow),
            id: flow.id,
            key,
        });
        self.flows.insert(key, flow);
        self.compact_queue();
        removed
    }

    /// Entries of flows that left the table, and those a flow left behind (its state or
    /// activity changed), are dropped lazily; when they pile up, the queue is built again with
    /// one entry per flow, so that it is done once per as many entries as the table holds.
    fn compact_queue(&mut self) {
        if self.by_age.len() > 2 * self.flows.len() + 64 {
            self.rebuild_queue();
        }
    }

    /// One entry per flow, when it falls due.
    fn rebuild_queue(&mut self) {
        let mut entries = std::mem::take(&mut self.by_age).into_vec();
        entries.clear();
        entries.extend(self.flows.iter().map(|(key, flow)| AgeEntry {
            due: self.due(flow),
            id: flow.id,
            key: *key,
        }));
        self.by_age = BinaryHeap::from(entries);
    }

    /// When a flow falls due: its last activity plus its state's timeout.
    fn due(&self, flow: &Flow<A>) -> Timestamp {
        let timeout = match flow.state {
            FlowState::Open => self.limits.idle_timeout_micros,
            FlowState::Closed => self.limits.closed_linger_micros,
        };
        Timestamp(flow.last_ts.0.saturating_add(timeout))
    }

    /// Takes the earliest queue entry that is still a flow's and up to date (re-queueing those
    /// found active since they were queued); its flow stays in the table.
    fn pop_earliest(&mut self) -> Option<AgeEntry> {
        while let Some(entry) = self.by_age.pop() {
            let Some(flow) = self.flows.get(&entry.key).filter(|f| f.id == entry.id) else {
                continue;
            };
            let due = self.due(flow);
            if due > entry.due {
                self.by_age.push(AgeEntry { due, ..entry });
                continue;
            }
            return Some(entry);
        }
        None
    }

    /// The flow falling due first leaves the table.
    fn pop_oldest(&mut self) -> Option<Flow<A>> {
        let entry = self.pop_earliest()?;
        let mut flow = self.flows.remove(&entry.key)?;
        flow.release(&mut self.budget);
        Some(flow)
    }

    /// The capture's clock went back for good (captures joined out of order): no flow's last
    /// activity may stay in its future, or it would never idle out and hold up those behind it.
    pub fn cap_activity(&mut self, ts: Timestamp) {
        for flow in self.flows.values_mut() {
            flow.last_ts = flow.last_ts.min(ts);
        }
        self.rebuild_queue();
    }

    /// Removes flows idle for longer than their timeout: exactly those, in order of their last
    /// activity (then of their ids). Open ones are returned, buffers intact, for the caller to
    /// flush and release.
    pub fn expire(&mut self, now: Timestamp) -> Vec<Removed<A>> {
        let mut removed = Vec::new();
        while self.by_age.peek().is_some_and(|e| e.due < now) {
            let Some(entry) = self.pop_earliest() else {
                break;
            };
            if entry.due >= now {
                // Found active since it was queued, and not due after all.
                self.by_age.push(entry);
                break;
            }
            if let Some(flow) = self.flows.remove(&entry.key) {
                if flow.state == FlowState::Open {
                    removed.push(Removed {
                        flow,
                        reason: CloseReason::Timeout,
                    });
                }
            }
        }
        removed.sort_unstable_by_key(|r| (r.flow.last_ts, r.flow.id));
        removed
    }

    /// When over the memory cap, evicts the flows holding the most (buffered segments,
    /// retransmission windows, parser state) until memory is back under 90% of the cap; among
    /// flows holding as much, the least recently active first, then the oldest. The order is the
    /// same on every run: the table's hash order never decides it. Returns the evicted flows.
    pub fn enforce_memcap(&mut self) -> Vec<Removed<A>> {
        let mut removed = Vec::new();
        if self.memory() <= self.limits.memcap {
            return removed;
        }
        let target = self.limits.memcap / 10 * 9;
        let mut by_size: Vec<(std::cmp::Reverse<usize>, Timestamp, FlowId, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, f)| f.state == FlowState::Open)
            .map(|(k, f)| (std::cmp::Reverse(f.held()), f.last_ts, f.id, *k))
            .collect();
        by_size.sort_unstable_by_key(|&(held, last, id, _)| (held, last, id));
        for (_, _, _, key) in by_size {
            if self.memory() <= target {
                break;
            }
            if let Some(mut flow) = self.flows.remove(&key) {
                flow.release(&mut self.budget);
                self.evicted += 1;
                removed.push(Removed {
                    flow,
                    reason: CloseReason::Evicted,
                });
            }
        }
        removed
    }

    /// Marks a flow closed (already reported) and releases its buffers.
    pub fn mark_closed(&mut self, key: &FlowKey) {
        if let Some(flow) = self.flows.get_mut(key) {
            flow.state = FlowState::Closed;
            flow.release(&mut self.budget);
            // It falls due sooner now.
            let entry = AgeEntry {
                due: Timestamp(
                    flow.last_ts
                        .0
                        .saturating_add(self.limits.closed_linger_micros),
                ),
                id: flow.id,
                key: *key,
            };
            self.by_age.push(entry);
            self.compact_queue();
        }
    }

    /// Takes every flow out (end of a capture), open ones in order of their ids.
    pub fn drain_open(&mut self) -> Vec<Flow<A>> {
        let mut open: Vec<Flow<A>> = self
            .flows
            .drain()
            .map(|(_, f)| f)
            .filter(|f| f.state == FlowState::Open)
            .collect();
        self.by_age.clear();
        self.budget.used = 0;
        self.budget.retained = 0;
        open.sort_unstable_by_key(|f| f.id);
        open
    }
}
