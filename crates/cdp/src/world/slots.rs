//! The positions a path has touched, and the latency machine each of them runs twice: once for
//! its liquidation, once for its borrower's top-up.
//!
//! A touched position lives in a slot with its normalised collateral and debt (`c0`, `d0`: see
//! the module docs of [`super`]) and two [`Machine`]s. A machine is watched (in its heap, keyed by
//! the position's fixed key `k0`), then triggered when the round's threshold passes the key:
//! ready at once when its latency is 0, else pending in a FIFO queue until its latency has run
//! out. Entries carry the machine's version when pushed, so a heap or queue entry left behind by
//! a later move is skipped when popped. The liquidation's machine can also be parked (declined by
//! liquidators, in two heaps keyed by the oracle price that would make them look again) or
//! deferred (the step's bound was reached). Closing a position turns both machines off.

use super::CdpWorld;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Which of a slot's two machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// The liquidator's.
    Liq = 0,
    /// The borrower's top-up.
    Top = 1,
}

/// A machine's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// In its heap, keyed by `k0`.
    Watch,
    /// Triggered, waiting for its latency (or, for a liquidation, for the next step).
    Pending,
    /// In this round's candidates.
    Ready,
    /// A liquidation declined by liquidators: in the recheck heaps.
    Parked,
    /// The position is closed (or, for a top-up, not watched).
    Off,
}

/// A machine's phase and version.
#[derive(Clone, Copy, Debug)]
pub(super) struct Machine {
    pub phase: Phase,
    pub ver: u32,
}

/// A touched position.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    /// Its index in the book.
    pub idx: u32,
    pub c0: f64,
    pub d0: f64,
    /// The liquidation's and the top-up's machines.
    pub m: [Machine; 2],
    /// Liquidated at least once.
    pub hit: bool,
}

impl Slot {
    #[inline]
    pub fn phase(&self, k: Kind) -> Phase {
        self.m[k as usize].phase
    }
}

/// A heap entry: a key with total order, the slot, and the slot's version when pushed (stale
/// entries are skipped when popped).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub key: f64,
    pub slot: u32,
    pub ver: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.total_cmp(&other.key).then(other.slot.cmp(&self.slot)).then(other.ver.cmp(&self.ver))
    }
}

/// A machine waiting until step `due`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pend {
    pub due: u64,
    pub slot: u32,
    pub ver: u32,
}

/// One kind of machine's heap of watched slots, queue of pending ones and this round's
/// candidates.
#[derive(Clone, Debug, Default)]
pub(super) struct Queues {
    pub watch: BinaryHeap<Entry>,
    pub pend: VecDeque<Pend>,
    pub cand: Vec<u32>,
}

impl Queues {
    pub fn clear(&mut self) {
        self.watch.clear();
        self.pend.clear();
        self.cand.clear();
    }
}

impl CdpWorld {
    #[inline]
    pub(super) fn coll_of(&self, s: u32) -> f64 {
        self.st.slots[s as usize].c0 * self.st.a
    }

    #[inline]
    pub(super) fn debt_of(&self, s: u32) -> f64 {
        let sl = &self.st.slots[s as usize];
        self.st.g * (sl.d0 + sl.c0 * self.st.bb)
    }

    #[inline]
    pub(super) fn key_of(&self, s: u32) -> f64 {
        let sl = &self.st.slots[s as usize];
        sl.d0 / (sl.c0 * self.params.lt)
    }

    /// Number of open positions.
    pub(super) fn open_positions(&self) -> usize {
        self.book.n - self.st.cursor + self.st.touched_open
    }

    /// Collateral of the open positions, units.
    pub(super) fn open_collateral(&self) -> f64 {
        let b = &self.book;
        let st = &self.st;
        st.a * (b.coll_sum(st.cursor, b.n) + st.touched_c0)
    }

    /// Sets a slot's actual collateral and debt (normalised through `A`, `B`, `g`).
    pub(super) fn set_actual(&mut self, s: u32, c: f64, d: f64) {
        let st = &mut self.st;
        let sl = &mut st.slots[s as usize];
        st.touched_c0 -= sl.c0;
        st.touched_d0 -= sl.d0;
        sl.c0 = c / st.a;
        sl.d0 = d / st.g - sl.c0 * st.bb;
        st.touched_c0 += sl.c0;
        st.touched_d0 += sl.d0;
    }

    /// Closes a slot: both machines off.
    pub(super) fn close_slot(&mut self, s: u32) {
        let st = &mut self.st;
        let sl = &mut st.slots[s as usize];
        st.touched_open -= 1;
        if st.touched_open == 0 {
            st.touched_c0 = 0.0;
            st.touched_d0 = 0.0;
        } else {
            st.touched_c0 -= sl.c0;
            st.touched_d0 -= sl.d0;
        }
        sl.c0 = 0.0;
        sl.d0 = 0.0;
        for m in &mut sl.m {
            m.phase = Phase::Off;
            m.ver = m.ver.wrapping_add(1);
        }
    }

    /// Moves machine `k` of slot `s` to `phase`, returning its new version.
    #[inline]
    fn set_phase(&mut self, k: Kind, s: u32, phase: Phase) -> u32 {
        let m = &mut self.st.slots[s as usize].m[k as usize];
        m.phase = phase;
        m.ver = m.ver.wrapping_add(1);
        m.ver
    }

    /// Watches machine `k` of slot `s` (again): keyed by `k0` in its heap.
    pub(super) fn watch(&mut self, k: Kind, s: u32) {
        let key = self.key_of(s);
        let ver = self.set_phase(k, s, Phase::Watch);
        self.st.q[k as usize].watch.push(Entry { key, slot: s, ver });
    }

    /// Triggers machine `k` of slot `s` at `step`: ready now, or pending until its latency has
    /// run out.
    pub(super) fn trigger(&mut self, k: Kind, s: u32, step: u64) {
        let latency = match k {
            Kind::Liq => self.params.liquidator.latency_steps,
            Kind::Top => self.params.topup.map_or(0, |t| t.latency_steps),
        };
        if latency == 0 {
            self.ready(k, s);
        } else {
            let ver = self.set_phase(k, s, Phase::Pending);
            self.st.q[k as usize].pend.push_back(Pend { due: step + latency as u64, slot: s, ver });
        }
    }

    /// Moves machine `k` of slot `s` to this round's candidates.
    pub(super) fn ready(&mut self, k: Kind, s: u32) {
        self.set_phase(k, s, Phase::Ready);
        self.st.q[k as usize].cand.push(s);
    }

    /// Parks slot `s`'s liquidation, declined at oracle price `x`, until the oracle moves by
    /// `recheck_move` either way.
    pub(super) fn park(&mut self, s: u32, x: f64) {
        let m = self.params.liquidator.recheck_move;
        let ver = self.set_phase(Kind::Liq, s, Phase::Parked);
        self.st.park_down.push(Entry { key: x * (1.0 - m), slot: s, ver });
        self.st.park_up.push(Entry { key: -(x * (1.0 + m)), slot: s, ver });
    }

    /// Pushes slot `s`'s liquidation to the next step (the step's bound is reached).
    pub(super) fn defer(&mut self, s: u32, step: u64) {
        let ver = self.set_phase(Kind::Liq, s, Phase::Pending);
        self.st.defer_liq.push(Pend { due: step + 1, slot: s, ver });
        self.st.acc.deferred += 1;
    }

    /// Machines `k` whose heap key the threshold `theta` has passed.
    fn pop_watched(&mut self, k: Kind, theta: f64, step: u64) {
        while let Some(&e) = self.st.q[k as usize].watch.peek() {
            if !(e.key > theta) {
                break;
            }
            self.st.q[k as usize].watch.pop();
            let m = self.st.slots[e.slot as usize].m[k as usize];
            if m.phase == Phase::Watch && m.ver == e.ver {
                self.trigger(k, e.slot, step);
            }
        }
    }

    /// Machines `k` whose latency has run out by `step`.
    fn pop_pending(&mut self, k: Kind, step: u64) {
        while let Some(&e) = self.st.q[k as usize].pend.front() {
            if e.due > step {
                break;
            }
            self.st.q[k as usize].pend.pop_front();
            let m = self.st.slots[e.slot as usize].m[k as usize];
            if m.phase == Phase::Pending && m.ver == e.ver {
                self.ready(k, e.slot);
            }
        }
    }

    /// Positions the threshold has reached at oracle price `x` (liquidations at `x_liq`, see
    /// `liquidation_price`): from the cursor (each becomes a slot) and from the heaps.
    pub(super) fn discover(&mut self, step: u64, x: f64, x_liq: f64) {
        let lt = self.params.lt;
        let (a, g, bb) = (self.st.a, self.st.g, self.st.bb);
        let theta_liq = x_liq * a / g - bb / lt;
        let topup = self.params.topup;
        let theta_top = match topup {
            Some(t) => x * a / (g * t.target_hf) - bb / lt,
            None => theta_liq,
        };
        // Top-up targets are above the liquidation threshold (theta_top <= theta_liq), except
        // in Liquity's recovery mode.
        let theta = theta_top.min(theta_liq);
        while self.book.liq0[self.st.cursor] > theta {
            let j = self.st.cursor;
            self.st.cursor += 1;
            let (c0, d0, k0) = (self.book.coll[j], self.book.debt[j], self.book.liq0[j]);
            let s = self.st.slots.len() as u32;
            let off = Machine { phase: Phase::Off, ver: 0 };
            self.st.slots.push(Slot { idx: j as u32, c0, d0, m: [off; 2], hit: false });
            self.st.touched_c0 += c0;
            self.st.touched_d0 += d0;
            self.st.touched_open += 1;
            if topup.is_some() {
                if k0 > theta_top {
                    self.trigger(Kind::Top, s, step);
                } else {
                    self.watch(Kind::Top, s);
                }
            }
            if k0 > theta_liq {
                self.trigger(Kind::Liq, s, step);
            } else {
                self.watch(Kind::Liq, s);
            }
        }
        self.st.next_key = self.book.liq0[self.st.cursor];
        self.st.next_log_key = self.book.log_above[self.st.cursor];
        if topup.is_some() {
            self.pop_watched(Kind::Top, theta_top, step);
        }
        self.pop_watched(Kind::Liq, theta_liq, step);
    }

    /// Liquidations the last step's bound deferred, then top-ups and liquidations whose latency
    /// has run out, at the start of a step.
    pub(super) fn pop_due(&mut self, step: u64) {
        for i in 0..self.st.defer_liq.len() {
            let e = self.st.defer_liq[i];
            let m = self.st.slots[e.slot as usize].m[Kind::Liq as usize];
            if m.phase == Phase::Pending && m.ver == e.ver {
                self.ready(Kind::Liq, e.slot);
            }
        }
        self.st.defer_liq.clear();
        self.pop_pending(Kind::Top, step);
        self.pop_pending(Kind::Liq, step);
    }

    /// Declined liquidations whose oracle price has moved by `recheck_move` either way.
    pub(super) fn pop_parked(&mut self, x: f64) {
        for (down, key_of_x) in [(true, x), (false, -x)] {
            loop {
                let heap = if down { &mut self.st.park_down } else { &mut self.st.park_up };
                let Some(&e) = heap.peek() else { break };
                if !(e.key > key_of_x) {
                    break;
                }
                heap.pop();
                let m = self.st.slots[e.slot as usize].m[Kind::Liq as usize];
                if m.phase == Phase::Parked && m.ver == e.ver {
                    self.ready(Kind::Liq, e.slot);
                }
            }
        }
    }
}
