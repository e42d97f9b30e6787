//! The P/N world: the cohort's deposits split into P and N, rolled by a policy and settled at
//! maturity by the slow settlement oracle, as a [`Primitive`] the experiment runner drives.
//!
//! # Mapping from the cohort
//! Borrower `i` (collateral `c_i`, debt `d_i`) holds `u_i = c_i` units of P with strike
//! `K_i = d_i / c_i`, so P's USD claim equals the CDP lender's (docs/MODEL.md). The
//! put premium `sum_i (d_i - u_i P(S0, K_i, T))` is reported as `premium_usd`.
//!
//! # One step (after the runner has applied the step's return)
//! 1. Roll rounds. A round reads the roll oracle's price `x`; every holder the policy triggers
//!    rolls: `V = u P(x, K, tau)`, new strike `K' = x / roll_target`, new maturity
//!    `now + maturity`, `u' = V / P(x, K', maturity)`; it sheds `u Delta(K) - u' Delta(K')` ETH
//!    (sold when positive: a negative shed, a roll that adds ETH-delta, is not bought back,
//!    as in benchmark B2) and pays `fee V`. The round's sheds are summed and sold as one block
//!    through the world's liquidity (spread over `patience_steps` steps when patient); the
//!    oracle observes the new price and another round starts; rounds repeat while new holders
//!    trigger (crowding, measured like a liquidation cascade). A holder whose maturity has
//!    passed no longer rolls; at `tau = 0` exactly it still may (with `P = min(x, K)`, as in B2).
//! 2. The step-end market price joins the settlement oracle's history.
//! 3. Holders whose maturity `T` satisfies `T + delay <= now` settle through the slow
//!    settlement oracle ([`crate::settlement`]) and leave the world.
//! 4. Every `p_drift_every_steps` steps the cohort's P value is marked.
//!
//! At the end of the path, holders that have matured but wait for a delayed publication settle
//! at the final price; holders whose maturity lies beyond the horizon (rolled ones) are not
//! settled: their shortfall is marked at the final market price, `u max(K - g(x_final), 0)`
//! (`g` P's payoff; B2's `u max(K - x_final, 0)`), and they cause no settlement transfer.
//!
//! # Cost
//! Holders are sorted by strike once (shared by every thread). Holders that never rolled share
//! one maturity; they are consumed from the top of the sorted list by a cursor. Holders rolled in
//! the same round share their new strike and maturity, so they become one *roll group* (with
//! the member list kept for event rows); groups sit in a max-heap keyed by strike (by a bound
//! on the trigger price under the band policy) and in a queue ordered by maturity (groups are
//! created in time order, so creation order is maturity order). A step costs O(log n) plus the
//! rolls it performs; `P(x, K', maturity) / x` and `Delta(K')` are the same for every roll and
//! are computed once. The hot loop allocates nothing once the buffers have grown.

use crate::error::{check_positive, check_range, PnError};
use crate::payoff::Payoff;
use crate::pricing::{capped_p, p_value_delta_at, TauConsts};
use crate::settlement::{settle, PriceHistory, SettlementOutcome, SettlementSpec};
use crate::spec::{PnSpec, RollPolicy};
use headroom_market::oracle::HOURS_PER_YEAR;
use headroom_market::{
    Cohort, Event, EventKind, EventSink, PathMetrics, PathRng, Primitive, StepCtx, WorldEnv, WorldMarket,
};
use statrs::distribution::{ContinuousCDF, Normal};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

/// End of a member list.
const NONE: u32 = u32::MAX;

/// Relative tolerance of the P + N = x check (rounding of a few products and sums).
const INVARIANT_TOL: f64 = 1e-9;

/// One holder: a borrower's deposit split into P (and N).
#[derive(Clone, Copy, Debug)]
struct Holder {
    id: u64,
    units: f64,
    strike: f64,
    ln_strike: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupState {
    Live,
    Merged,
    Settled,
}

/// Holders rolled in the same round: one strike, one maturity, their units summed.
#[derive(Clone, Copy, Debug)]
struct Group {
    strike: f64,
    ln_strike: f64,
    maturity: f64,
    units: f64,
    members: u64,
    head: u32,
    tail: u32,
    state: GroupState,
}

/// A heap entry: the group with the largest key is on top.
#[derive(Clone, Copy, Debug)]
struct HeapEntry {
    key: f64,
    gid: u32,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.total_cmp(&other.key).then_with(|| other.gid.cmp(&self.gid))
    }
}

/// What every path of an experiment shares: the sorted holders and the resolved parameters.
#[derive(Debug)]
struct Shared {
    /// Sorted by strike, descending.
    holders: Vec<Holder>,
    /// `suf_u[i] = sum_{j >= i} u_j`, `suf_uk[i] = sum_{j >= i} u_j K_j` (length n + 1).
    suf_u: Vec<f64>,
    suf_uk: Vec<f64>,
    payoff: Payoff,
    capped: bool,
    policy: RollPolicy,
    vol: f64,
    rate: f64,
    maturity: f64,
    roll_before: f64,
    trigger: f64,
    target: f64,
    ln_target: f64,
    fee: f64,
    patience: usize,
    band_delta: f64,
    /// `Phi^{-1}(1 - band_delta)`.
    band_q: f64,
    calendar_every: usize,
    /// `P(x, x / roll_target, maturity) / x`.
    new_p_per_x: f64,
    /// `Delta(x, x / roll_target, maturity)`.
    new_delta: f64,
    settlement: SettlementSpec,
    window: f64,
    delay: f64,
    /// Time tolerance, years: `1e-9 dt`.
    eps: f64,
    dt: f64,
    p_drift_every: usize,
    max_rounds: u32,
    start_price: f64,
    premium_usd: f64,
    p_value0: f64,
}

impl Shared {
    /// P's value and ETH-delta per unit.
    #[inline]
    fn price(&self, x: f64, ln_x: f64, k: f64, ln_k: f64, c: &TauConsts) -> (f64, f64) {
        if self.capped {
            capped_p(x, ln_x, k, ln_k, c)
        } else {
            p_value_delta_at(&self.payoff, x, k, c)
        }
    }

    #[inline]
    fn tau_consts(&self, tau: f64) -> TauConsts {
        TauConsts::new(self.vol, if tau <= self.eps { 0.0 } else { tau }, self.rate)
    }

    /// `max_{s in [0, tau]} r(s)` with `r(s) = exp(q sigma sqrt s - (r + sigma^2/2) s)`: an upper
    /// bound, for the rest of a group's life, of the ratio `x / K` under which the band policy
    /// rolls (`Phi(-d1) > b` iff `x < K r(tau)`).
    fn band_rmax(&self, tau: f64) -> f64 {
        let a = self.band_q * self.vol;
        let m = self.rate + 0.5 * self.vol * self.vol;
        let f = |s: f64| a * s - m * s * s;
        let top = tau.max(0.0).sqrt();
        let mut best = f(0.0).max(f(top));
        if m > 0.0 {
            let s = a / (2.0 * m);
            if s > 0.0 && s < top {
                best = best.max(f(s));
            }
        }
        best.exp()
    }

    fn value_at(&self, x: f64, holders: &[Holder], tau: f64) -> f64 {
        let c = self.tau_consts(tau);
        let ln_x = x.ln();
        holders.iter().map(|h| h.units * self.price(x, ln_x, h.strike, h.ln_strike, &c).0).sum()
    }
}

/// Counts of the P + N = x checks made (at every settlement, and at the end of every path for
/// the holders still open) and of the ones that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvariantStats {
    /// Checks made.
    pub checks: u64,
    /// Checks where `|P + N - u x| > 1e-9 u x`.
    pub violations: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct PathAcc {
    exits: u64,
    eth_sold: f64,
    fees: f64,
    slippage: f64,
    transfer_abs: f64,
    shortfall: f64,
    max_rounds: u64,
    hit: u64,
    paid_since_mark: f64,
    mark_prev: f64,
    drift_sum_sq: f64,
    drift_n: u64,
}

/// The result of one round's selection.
#[derive(Clone, Copy, Debug)]
struct RoundOut {
    rolled: u64,
    v_total: f64,
    sell: f64,
    head: u32,
    tail: u32,
}

/// The prices of one round.
#[derive(Clone, Copy, Debug)]
struct RoundCtx {
    x: f64,
    ln_x: f64,
    now: f64,
    /// A fresh roll's value per unit, `x P(1, 1/roll_target, maturity)`.
    p_new: f64,
    /// `Delta' / p_new`: the ETH-delta a fresh roll takes on per USD rolled.
    shed_per_value: f64,
    market_price: f64,
    step: u32,
    round: u32,
    events: bool,
}

/// Per-path state (one per worker thread).
#[derive(Clone, Debug)]
struct State {
    cursor: usize,
    untouched_settled: bool,
    groups: Vec<Group>,
    heap: BinaryHeap<HeapEntry>,
    fifo: VecDeque<u32>,
    recheck: Vec<HeapEntry>,
    /// Member lists over sorted holder indices.
    next: Vec<u32>,
    /// Each member's units, kept only on paths that record events.
    member_units: Vec<f64>,
    /// Patient execution: ETH to sell at step `s`, in slot `s % patience`.
    pending: Vec<f64>,
    /// No settlement is due before this time (a lower bound; `settle_due` recomputes it).
    next_due: f64,
    history: PriceHistory,
    acc: PathAcc,
    premium_usd: f64,
    stats: InvariantStats,
    round_cap_hits: u64,
    /// Trigger policy: `ln(K trigger)` of the highest untouched strike (-inf when none).
    key_untouched_ln: f64,
    /// Trigger policy: `ln(K trigger)` of the highest group strike (-inf when none).
    key_group_ln: f64,
    /// Whether the two keys are current (cleared whenever a round or a settlement may have
    /// moved the cursor or the heap).
    keys_valid: bool,
}

/// The P/N world of one experiment (see the module documentation).
#[derive(Clone, Debug)]
pub struct PnWorld {
    sh: Arc<Shared>,
    st: State,
}

impl PnWorld {
    /// Builds the world: validates `spec` (keys relative to `[pn]`), resolves the defaults that
    /// depend on the experiment (maturity = horizon, pricing volatility = the process's), maps
    /// the cohort (`u_i = c_i`, `K_i = d_i / c_i`; every collateral and debt must be finite and
    /// > 0) and prices the start (premium, initial P value).
    pub fn new(spec: &PnSpec, cohort: &Cohort, env: &WorldEnv) -> Result<PnWorld, PnError> {
        spec.validate()?;
        if env.steps < 1 {
            return Err(PnError::invalid("steps", env.steps, "must be >= 1"));
        }
        check_positive("dt_years", env.dt_years)?;
        check_positive("start_price", env.start_price)?;
        let horizon = env.horizon_years();
        let maturity = spec.maturity_days.map_or(horizon, |d| d / 365.0);
        let roll_before = spec.roll_before_days / 365.0;
        if spec.maturity_days.is_none() && roll_before >= maturity {
            return Err(PnError::invalid(
                "roll_before_days",
                spec.roll_before_days,
                format!("must be < the maturity (the horizon, {} days)", horizon * 365.0),
            ));
        }
        let vol = spec.pricing_vol.unwrap_or(env.process_vol);
        if spec.pricing_vol.is_none() {
            check_range("pricing_vol (default: the process's volatility)", vol, 0.0, 20.0)?;
        }
        let payoff = spec.payoff();
        let capped = payoff == Payoff::Capped;
        let rolling = spec.policy != RollPolicy::Hold;

        let mut sh = Shared {
            holders: Vec::new(),
            suf_u: Vec::new(),
            suf_uk: Vec::new(),
            payoff,
            capped,
            policy: spec.policy,
            vol,
            rate: spec.rate,
            maturity,
            roll_before,
            trigger: spec.roll_trigger,
            target: spec.roll_target,
            ln_target: spec.roll_target.ln(),
            fee: spec.fee,
            patience: spec.patience_steps as usize,
            band_delta: spec.band_delta.unwrap_or(1.0),
            band_q: 0.0,
            calendar_every: spec.calendar_every_steps.unwrap_or(1).max(1) as usize,
            new_p_per_x: 1.0,
            new_delta: 0.0,
            settlement: spec.settlement,
            window: spec.settlement.window_hours / HOURS_PER_YEAR,
            delay: spec.settlement.delay_hours / HOURS_PER_YEAR,
            eps: 1e-9 * env.dt_years,
            dt: env.dt_years,
            p_drift_every: spec.p_drift_every_steps as usize,
            max_rounds: spec.max_roll_rounds,
            start_price: env.start_price,
            premium_usd: 0.0,
            p_value0: 0.0,
        };

        // A fresh roll: x / K' = roll_target, tau = maturity, the same for every roll.
        let c_new = sh.tau_consts(maturity);
        let (p1, d1) = sh.price(1.0, 0.0, 1.0 / sh.target, -sh.ln_target, &c_new);
        if rolling && !(p1 > 0.0 && p1.is_finite()) {
            return Err(PnError::invalid(
                "roll_target",
                spec.roll_target,
                format!("a freshly rolled P is worth {p1} per unit of x: choose a smaller roll_target"),
            ));
        }
        sh.new_p_per_x = p1;
        sh.new_delta = d1;
        if spec.policy == RollPolicy::Band {
            let b = sh.band_delta;
            sh.band_q = Normal::standard().inverse_cdf(1.0 - b);
            if d1 >= b {
                return Err(PnError::invalid(
                    "band_delta",
                    b,
                    format!(
                        "must exceed the delta of a freshly rolled P ({d1:.6} at x/K = roll_target = {}); \
                         raise band_delta or roll_target",
                        spec.roll_target
                    ),
                ));
            }
        }
        if sh.p_drift_every > env.steps {
            return Err(PnError::invalid(
                "p_drift_every_steps",
                spec.p_drift_every_steps,
                format!("must be <= the number of steps ({})", env.steps),
            ));
        }

        // The cohort, sorted by strike descending (ties by source order).
        let mut holders = Vec::with_capacity(cohort.len());
        for b in &cohort.borrowers {
            if !(b.collateral.is_finite() && b.collateral > 0.0) {
                return Err(PnError::Cohort {
                    id: b.id,
                    message: format!("collateral = {}: must be > 0", b.collateral),
                });
            }
            if !(b.debt_usd.is_finite() && b.debt_usd > 0.0) {
                return Err(PnError::Cohort {
                    id: b.id,
                    message: format!(
                        "debt_usd = {}: must be > 0 (the strike is debt / collateral)",
                        b.debt_usd
                    ),
                });
            }
            let strike = b.strike();
            holders.push(Holder { id: b.id, units: b.collateral, strike, ln_strike: strike.ln() });
        }
        if holders.len() >= NONE as usize {
            return Err(PnError::invalid(
                "cohort",
                holders.len(),
                format!("must have fewer than {NONE} borrowers"),
            ));
        }
        holders.sort_by(|a, b| b.strike.total_cmp(&a.strike));
        let n = holders.len();
        let mut suf_u = vec![0.0; n + 1];
        let mut suf_uk = vec![0.0; n + 1];
        for i in (0..n).rev() {
            suf_u[i] = suf_u[i + 1] + holders[i].units;
            suf_uk[i] = suf_uk[i + 1] + holders[i].units * holders[i].strike;
        }
        sh.holders = holders;
        sh.suf_u = suf_u;
        sh.suf_uk = suf_uk;
        sh.p_value0 = sh.value_at(env.start_price, &sh.holders, maturity);
        sh.premium_usd = sh.suf_uk[0] - sh.p_value0;

        let steps_kept = ((sh.window + sh.delay) / env.dt_years).ceil();
        let capacity = if steps_kept.is_finite() && steps_kept < env.steps as f64 {
            steps_kept as usize + 3
        } else {
            env.steps + 2
        };
        let st = State {
            cursor: 0,
            untouched_settled: false,
            groups: Vec::with_capacity(env.steps + 16),
            heap: BinaryHeap::with_capacity(env.steps + 16),
            fifo: VecDeque::with_capacity(env.steps + 16),
            recheck: Vec::with_capacity(64),
            next: vec![NONE; n],
            member_units: vec![0.0; n],
            pending: vec![0.0; sh.patience],
            next_due: f64::NEG_INFINITY,
            history: PriceHistory::new(capacity),
            acc: PathAcc::default(),
            premium_usd: sh.premium_usd,
            stats: InvariantStats::default(),
            round_cap_hits: 0,
            key_untouched_ln: f64::NEG_INFINITY,
            key_group_ln: f64::NEG_INFINITY,
            keys_valid: false,
        };
        Ok(PnWorld { sh: Arc::new(sh), st })
    }

    /// The put premium at the start, `sum_i (d_i - u_i P(S0, K_i, T))`, USD: a transfer from the
    /// borrowers to the P holders.
    pub fn premium_usd(&self) -> f64 {
        self.sh.premium_usd
    }

    /// The P + N = x checks this world (this clone) has made since it was built.
    pub fn invariant_stats(&self) -> InvariantStats {
        self.st.stats
    }

    /// Steps (over every path this clone ran) that reached `max_roll_rounds` and stopped rolling.
    pub fn round_cap_hits(&self) -> u64 {
        self.st.round_cap_hits
    }

    /// Number of holders (borrowers of the cohort).
    pub fn holders(&self) -> usize {
        self.sh.holders.len()
    }
}

impl State {
    #[inline]
    fn check(&mut self, p_usd: f64, n_usd: f64, total: f64) {
        self.stats.checks += 1;
        let holds = (p_usd + n_usd - total).abs() <= INVARIANT_TOL * total.abs();
        if !holds {
            self.stats.violations += 1;
        }
    }

    #[inline]
    fn append(&mut self, out: &mut RoundOut, j: u32) {
        self.next[j as usize] = NONE;
        if out.tail == NONE {
            out.head = j;
        } else {
            self.next[out.tail as usize] = j;
        }
        out.tail = j;
    }

    /// Rolls the untouched holder at the cursor, priced `(p, d)`.
    #[inline]
    fn roll_untouched(
        &mut self,
        sh: &Shared,
        rc: &RoundCtx,
        out: &mut RoundOut,
        p: f64,
        d: f64,
        ev: &mut EventSink,
    ) {
        let j = self.cursor;
        let h = sh.holders[j];
        let v = h.units * p;
        // shed = u d - u' Delta' with u' = V / p' = u p / p': u (d - p Delta'/p').
        let shed = h.units * (d - p * rc.shed_per_value);
        let fee = sh.fee * v;
        out.sell += shed.max(0.0);
        out.v_total += v;
        out.rolled += 1;
        self.acc.fees += fee;
        self.acc.exits += 1;
        self.acc.hit += 1;
        if rc.events {
            self.member_units[j] = v / rc.p_new;
            ev.push(roll_event(rc, h.id, shed, v, fee));
        }
        self.append(out, j as u32);
        self.cursor += 1;
    }

    /// Rolls group `gid`, priced `(p, d)` (value, delta) per unit; its members join the round's new group.
    fn roll_group(
        &mut self,
        sh: &Shared,
        rc: &RoundCtx,
        out: &mut RoundOut,
        gid: u32,
        (p, d): (f64, f64),
        ev: &mut EventSink,
    ) {
        let g = &mut self.groups[gid as usize];
        g.state = GroupState::Merged;
        let g = *g;
        let v = g.units * p;
        let shed = g.units * (d - p * rc.shed_per_value);
        out.sell += shed.max(0.0);
        out.v_total += v;
        out.rolled += g.members;
        self.acc.fees += sh.fee * v;
        self.acc.exits += g.members;
        if rc.events {
            let mut j = g.head;
            while j != NONE {
                let uj = self.member_units[j as usize];
                let vj = uj * p;
                let id = sh.holders[j as usize].id;
                ev.push(roll_event(rc, id, uj * (d - p * rc.shed_per_value), vj, sh.fee * vj));
                self.member_units[j as usize] = vj / rc.p_new;
                j = self.next[j as usize];
            }
        }
        if g.head != NONE {
            if out.tail == NONE {
                out.head = g.head;
            } else {
                self.next[out.tail as usize] = g.head;
            }
            out.tail = g.tail;
        }
    }

    /// Rolls group `gid` at the round's price, pricing it first.
    #[inline]
    fn price_and_roll_group(
        &mut self,
        sh: &Shared,
        rc: &RoundCtx,
        out: &mut RoundOut,
        gid: u32,
        ev: &mut EventSink,
    ) {
        let g = self.groups[gid as usize];
        let c = sh.tau_consts(g.maturity - rc.now);
        let (p, d) = sh.price(rc.x, rc.ln_x, g.strike, g.ln_strike, &c);
        self.roll_group(sh, rc, out, gid, (p, d), ev);
    }

    /// One roll round at roll-oracle price `x`: selects and rolls every triggered holder, and
    /// forms their new group. Returns what was rolled and the ETH to sell (before patience).
    #[allow(clippy::too_many_arguments)]
    fn round(
        &mut self,
        sh: &Shared,
        x: f64,
        now: f64,
        step: usize,
        round: u32,
        calendar: bool,
        market_price: f64,
        ev: &mut EventSink,
    ) -> RoundOut {
        let n = sh.holders.len();
        let empty = RoundOut { rolled: 0, v_total: 0.0, sell: 0.0, head: NONE, tail: NONE };
        // Fast exit for the trigger policy when neither the highest untouched strike nor the
        // highest group strike triggers (most steps): no logarithm, no pricing.
        if sh.policy == RollPolicy::Trigger && !calendar && sh.roll_before <= 0.0 {
            let untouched = !self.untouched_settled
                && self.cursor < n
                && now <= sh.maturity + sh.eps
                && x / sh.holders[self.cursor].strike < sh.trigger;
            let group = self.heap.peek().is_some_and(|top| x / top.key < sh.trigger);
            if !untouched && !group {
                return empty;
            }
        }
        if sh.policy == RollPolicy::Calendar && !calendar && sh.roll_before <= 0.0 {
            return empty;
        }
        let p_new = x * sh.new_p_per_x;
        let rc = RoundCtx {
            x,
            ln_x: x.ln(),
            now,
            p_new,
            shed_per_value: sh.new_delta / p_new,
            market_price,
            step: step as u32,
            round,
            events: ev.enabled(),
        };
        let mut out = empty;

        // Holders that never rolled: one maturity, sorted by strike.
        if !self.untouched_settled && self.cursor < n && now <= sh.maturity + sh.eps {
            let tau0 = sh.maturity - now;
            let all = calendar || tau0 < sh.roll_before;
            match sh.policy {
                RollPolicy::Trigger => {
                    if all || x / sh.holders[self.cursor].strike < sh.trigger {
                        let c = sh.tau_consts(tau0);
                        while self.cursor < n {
                            let h = sh.holders[self.cursor];
                            if !(all || x / h.strike < sh.trigger) {
                                break;
                            }
                            let (p, d) = sh.price(x, rc.ln_x, h.strike, h.ln_strike, &c);
                            self.roll_untouched(sh, &rc, &mut out, p, d, ev);
                        }
                    }
                }
                RollPolicy::Band => {
                    let c = sh.tau_consts(tau0);
                    while self.cursor < n {
                        let h = sh.holders[self.cursor];
                        let (p, d) = sh.price(x, rc.ln_x, h.strike, h.ln_strike, &c);
                        if !(all || d > sh.band_delta) {
                            break;
                        }
                        self.roll_untouched(sh, &rc, &mut out, p, d, ev);
                    }
                }
                RollPolicy::Calendar => {
                    if all {
                        let c = sh.tau_consts(tau0);
                        while self.cursor < n {
                            let h = sh.holders[self.cursor];
                            let (p, d) = sh.price(x, rc.ln_x, h.strike, h.ln_strike, &c);
                            self.roll_untouched(sh, &rc, &mut out, p, d, ev);
                        }
                    }
                }
                RollPolicy::Hold => {}
            }
        }

        // Roll groups by price.
        match sh.policy {
            RollPolicy::Trigger => {
                while let Some(&top) = self.heap.peek() {
                    let g = self.groups[top.gid as usize];
                    if g.state != GroupState::Live || g.maturity < now - sh.eps {
                        self.heap.pop();
                        continue;
                    }
                    if x / g.strike < sh.trigger {
                        self.heap.pop();
                        self.price_and_roll_group(sh, &rc, &mut out, top.gid, ev);
                    } else {
                        break;
                    }
                }
            }
            RollPolicy::Band => {
                self.recheck.clear();
                while let Some(&top) = self.heap.peek() {
                    if top.key <= x {
                        break;
                    }
                    self.heap.pop();
                    let g = self.groups[top.gid as usize];
                    if g.state != GroupState::Live || g.maturity < now - sh.eps {
                        continue;
                    }
                    let tau = g.maturity - now;
                    let c = sh.tau_consts(tau);
                    let (p, d) = sh.price(x, rc.ln_x, g.strike, g.ln_strike, &c);
                    if d > sh.band_delta {
                        self.roll_group(sh, &rc, &mut out, top.gid, (p, d), ev);
                    } else {
                        self.recheck.push(HeapEntry { key: g.strike * sh.band_rmax(tau), gid: top.gid });
                    }
                }
                for i in 0..self.recheck.len() {
                    let e = self.recheck[i];
                    self.heap.push(e);
                }
            }
            RollPolicy::Calendar | RollPolicy::Hold => {}
        }

        // Roll groups by time: close to maturity, or the calendar. The queue is in maturity
        // order, so the scan stops at the first group far enough from maturity.
        if calendar || sh.roll_before > 0.0 {
            for idx in 0..self.fifo.len() {
                let gid = self.fifo[idx];
                let g = self.groups[gid as usize];
                if g.state != GroupState::Live {
                    continue;
                }
                let tau = g.maturity - now;
                if !calendar && tau >= sh.roll_before {
                    break;
                }
                if tau < -sh.eps {
                    continue;
                }
                self.price_and_roll_group(sh, &rc, &mut out, gid, ev);
            }
        }

        if out.rolled > 0 {
            let gid = self.groups.len() as u32;
            let strike = x / sh.target;
            self.groups.push(Group {
                strike,
                ln_strike: rc.ln_x - sh.ln_target,
                maturity: now + sh.maturity,
                units: out.v_total / rc.p_new,
                members: out.rolled,
                head: out.head,
                tail: out.tail,
                state: GroupState::Live,
            });
            match sh.policy {
                RollPolicy::Trigger => self.heap.push(HeapEntry { key: strike, gid }),
                RollPolicy::Band => {
                    self.heap.push(HeapEntry { key: strike * sh.band_rmax(sh.maturity), gid })
                }
                RollPolicy::Calendar | RollPolicy::Hold => {}
            }
            self.fifo.push_back(gid);
            self.next_due = self.next_due.min(now + sh.maturity + sh.delay);
        }
        out
    }

    /// Accounts one settlement outcome of `units` pairs (`total = units x_d`).
    #[inline]
    fn account_settlement(&mut self, o: &SettlementOutcome, total: f64) {
        self.acc.transfer_abs += o.transfer_to_p_usd.abs();
        self.acc.shortfall += o.shortfall_usd;
        self.acc.paid_since_mark += o.p_usd;
        self.check(o.p_usd, o.n_usd, total);
    }

    /// Settles every holder that never rolled, at maturity `sh.maturity`, delivered at `x_d`.
    /// The metrics are computed the same way whether events are recorded or not.
    fn settle_untouched(&mut self, sh: &Shared, x_d: f64, step: usize, ev: &mut EventSink) {
        let n = sh.holders.len();
        let t = sh.maturity;
        let x_s = self.history.settlement_price(&sh.settlement, t, sh.window, sh.eps);
        let x_t = self.history.price_at(t, sh.eps);
        let start = self.cursor;
        let mut i = start;
        // Capped payoff: holders with K <= min(x_s, x_T) receive K/x_s units, owe no shortfall,
        // and their transfer is linear in u K: one block from the suffix sums.
        let m = if sh.capped { x_s.min(x_t) } else { f64::NEG_INFINITY };
        while i < n && sh.holders[i].strike > m {
            let h = sh.holders[i];
            let o = settle(&sh.payoff, h.units, h.strike, x_s, x_t, x_d);
            self.account_settlement(&o, h.units * x_d);
            i += 1;
        }
        if i < n {
            let (su, suk) = (sh.suf_u[i], sh.suf_uk[i]);
            let gap = 1.0 / x_s - 1.0 / x_t;
            let o = SettlementOutcome {
                p_usd: x_d * suk / x_s,
                n_usd: x_d * (su - suk / x_s),
                p_eth: suk / x_s,
                transfer_to_p_usd: x_d * suk * gap,
                transfer_to_n_usd: -x_d * suk * gap,
                shortfall_usd: 0.0,
            };
            self.account_settlement(&o, su * x_d);
        }
        if ev.enabled() {
            for h in &sh.holders[start..] {
                let o = settle(&sh.payoff, h.units, h.strike, x_s, x_t, x_d);
                ev.push(settlement_event(step, h.id, &o, x_s, x_d));
            }
        }
        self.untouched_settled = true;
    }

    /// Settles group `gid` delivered at `x_d`.
    fn settle_group(&mut self, sh: &Shared, gid: u32, x_d: f64, step: usize, ev: &mut EventSink) {
        let g = self.groups[gid as usize];
        let x_s = self.history.settlement_price(&sh.settlement, g.maturity, sh.window, sh.eps);
        let x_t = self.history.price_at(g.maturity, sh.eps);
        let o = settle(&sh.payoff, g.units, g.strike, x_s, x_t, x_d);
        self.account_settlement(&o, g.units * x_d);
        self.groups[gid as usize].state = GroupState::Settled;
        if ev.enabled() {
            let mut j = g.head;
            while j != NONE {
                let uj = self.member_units[j as usize];
                let oj = settle(&sh.payoff, uj, g.strike, x_s, x_t, x_d);
                ev.push(settlement_event(step, sh.holders[j as usize].id, &oj, x_s, x_d));
                j = self.next[j as usize];
            }
        }
    }

    /// Settles what is due at `now`: maturity plus delay reached, or (at the end of the path)
    /// maturity reached.
    fn settle_due(&mut self, sh: &Shared, now: f64, x_d: f64, step: usize, at_end: bool, ev: &mut EventSink) {
        let due = |maturity: f64| maturity + sh.delay <= now + sh.eps || (at_end && maturity <= now + sh.eps);
        if !self.untouched_settled {
            if self.cursor >= sh.holders.len() {
                self.untouched_settled = true;
            } else if due(sh.maturity) {
                self.settle_untouched(sh, x_d, step, ev);
            }
        }
        self.next_due = if self.untouched_settled { f64::INFINITY } else { sh.maturity + sh.delay };
        while let Some(&gid) = self.fifo.front() {
            let g = self.groups[gid as usize];
            if g.state != GroupState::Live {
                self.fifo.pop_front();
                continue;
            }
            if due(g.maturity) {
                self.settle_group(sh, gid, x_d, step, ev);
                self.fifo.pop_front();
            } else {
                self.next_due = self.next_due.min(g.maturity + sh.delay);
                break;
            }
        }
    }

    /// The cohort's open P value at market price `x`: priced before maturity, the payoff at `x`
    /// after it (awaiting a delayed settlement).
    fn open_p_value(&self, sh: &Shared, now: f64, x: f64) -> f64 {
        let mut v = 0.0;
        if !self.untouched_settled && self.cursor < sh.holders.len() {
            let rest = &sh.holders[self.cursor..];
            if now <= sh.maturity + sh.eps {
                v += sh.value_at(x, rest, sh.maturity - now);
            } else {
                v += rest.iter().map(|h| h.units * sh.payoff.p_usd(x, h.strike)).sum::<f64>();
            }
        }
        let ln_x = x.ln();
        for &gid in &self.fifo {
            let g = self.groups[gid as usize];
            if g.state != GroupState::Live {
                continue;
            }
            let tau = g.maturity - now;
            v += g.units
                * if tau >= -sh.eps {
                    sh.price(x, ln_x, g.strike, g.ln_strike, &sh.tau_consts(tau)).0
                } else {
                    sh.payoff.p_usd(x, g.strike)
                };
        }
        v
    }

    /// Marks the cohort's P value for `p_drift`: the log total return since the last mark,
    /// settlement payouts included.
    fn mark(&mut self, sh: &Shared, now: f64, x: f64) {
        let v = self.open_p_value(sh, now, x);
        let prev = self.acc.mark_prev;
        let total = v + self.acc.paid_since_mark;
        if prev > 0.0 && total > 0.0 {
            let r = (total / prev).ln();
            self.acc.drift_sum_sq += r * r;
            self.acc.drift_n += 1;
        }
        self.acc.mark_prev = v;
        self.acc.paid_since_mark = 0.0;
    }

    /// Recomputes the trigger policy's two log keys from the cursor and the heap's top.
    fn refresh_keys(&mut self, sh: &Shared) {
        let ln_trigger = sh.trigger.ln();
        self.key_untouched_ln = match sh.holders.get(self.cursor) {
            Some(h) if !self.untouched_settled => h.strike.ln() + ln_trigger,
            _ => f64::NEG_INFINITY,
        };
        self.key_group_ln = self.heap.peek().map_or(f64::NEG_INFINITY, |top| top.key.ln() + ln_trigger);
        self.keys_valid = true;
    }

    fn step(&mut self, sh: &Shared, ctx: &StepCtx, market: &mut WorldMarket, ev: &mut EventSink) {
        let now = ctx.time_years;
        let last = ctx.step + 1 >= ctx.steps;
        let mut carry = 0.0;
        if sh.patience > 1 {
            if last {
                carry = self.pending.iter().sum();
                self.pending.fill(0.0);
            } else {
                let s = ctx.step % sh.patience;
                carry = self.pending[s];
                self.pending[s] = 0.0;
            }
        }
        let rolling = sh.policy != RollPolicy::Hold;
        let calendar = sh.policy == RollPolicy::Calendar && (ctx.step + 1) % sh.calendar_every == 0;
        let mut rounds = 0u64;
        // Fast exit of the trigger policy, in logarithms (no `exp` under a spot oracle): no
        // untouched holder and no group triggers when ln x >= ln(K trigger) for the highest
        // strikes. `round` checks again in prices, so a tie that rounds differently costs a
        // call, never a roll.
        let quiet =
            sh.policy == RollPolicy::Trigger && !calendar && sh.roll_before <= 0.0 && carry == 0.0 && {
                if !self.keys_valid {
                    self.refresh_keys(sh);
                }
                let lx = market.oracle_log_price();
                let untouched = !self.untouched_settled
                    && self.cursor < sh.holders.len()
                    && now <= sh.maturity + sh.eps
                    && lx < self.key_untouched_ln;
                !untouched && lx >= self.key_group_ln
            };
        if (rolling || carry > 0.0) && !quiet {
            self.keys_valid = false;
            let mut iter = 0u32;
            loop {
                if iter >= sh.max_rounds {
                    self.round_cap_hits += 1;
                    break;
                }
                let x = market.oracle_price();
                let out = if rolling && x > 0.0 && x.is_finite() {
                    self.round(sh, x, now, ctx.step, rounds as u32, calendar && iter == 0, market.price(), ev)
                } else {
                    RoundOut { rolled: 0, v_total: 0.0, sell: 0.0, head: NONE, tail: NONE }
                };
                iter += 1;
                if out.rolled > 0 {
                    rounds += 1;
                }
                let mut sell = carry;
                carry = 0.0;
                if out.sell > 0.0 {
                    if sh.patience > 1 && !last {
                        let slice = out.sell / sh.patience as f64;
                        sell += slice;
                        for j in 1..sh.patience {
                            self.pending[(ctx.step + j) % sh.patience] += slice;
                        }
                    } else {
                        sell += out.sell;
                    }
                }
                if sell > 0.0 {
                    let fill = market.sell(sell);
                    self.acc.eth_sold += sell;
                    self.acc.slippage += fill.slippage_usd;
                } else if out.rolled == 0 {
                    break;
                }
            }
        }
        self.acc.max_rounds = self.acc.max_rounds.max(rounds);
        self.history.push_ln(now, market.log_price());
        if self.next_due <= now + sh.eps {
            self.settle_due(sh, now, market.price(), ctx.step, false, ev);
            self.keys_valid = false;
        }
        if sh.p_drift_every > 0 && (ctx.step + 1) % sh.p_drift_every == 0 {
            self.mark(sh, now, market.price());
        }
    }
}

#[inline]
fn roll_event(rc: &RoundCtx, id: u64, shed: f64, v: f64, fee: f64) -> Event {
    Event {
        step: rc.step,
        round: rc.round,
        position: id,
        kind: EventKind::Roll,
        eth: shed,
        usd: v,
        fee_usd: fee,
        oracle_price: rc.x,
        market_price: rc.market_price,
        wrongful: false,
    }
}

fn settlement_event(step: usize, id: u64, o: &SettlementOutcome, x_s: f64, x_d: f64) -> Event {
    Event {
        step: step as u32,
        round: 0,
        position: id,
        kind: EventKind::Settlement,
        eth: o.p_eth,
        usd: o.p_usd,
        fee_usd: 0.0,
        oracle_price: x_s,
        market_price: x_d,
        wrongful: false,
    }
}

impl Primitive for PnWorld {
    fn begin_path(&mut self, market: &WorldMarket) {
        let sh = &*self.sh;
        let st = &mut self.st;
        st.cursor = 0;
        st.untouched_settled = false;
        st.groups.clear();
        st.heap.clear();
        st.fifo.clear();
        st.pending.fill(0.0);
        st.next_due = f64::NEG_INFINITY;
        st.history.clear();
        st.history.push_ln(0.0, market.log_price());
        st.keys_valid = false;
        st.acc = PathAcc::default();
        let (v0, premium) = if market.start_price() == sh.start_price {
            (sh.p_value0, sh.premium_usd)
        } else {
            let v0 = sh.value_at(market.start_price(), &sh.holders, sh.maturity);
            (v0, sh.suf_uk[0] - v0)
        };
        st.acc.mark_prev = v0;
        st.premium_usd = premium;
    }

    fn step(&mut self, ctx: &StepCtx, market: &mut WorldMarket, _rng: &mut PathRng, events: &mut EventSink) {
        let sh = &*self.sh;
        self.st.step(sh, ctx, market, events);
    }

    fn end_path(&mut self, ctx: &StepCtx, market: &WorldMarket, metrics: &mut PathMetrics) {
        let sh = &*self.sh;
        let st = &mut self.st;
        let now = ctx.time_years;
        let x_f = market.price();
        let mut no_events = EventSink::new(false);
        st.settle_due(sh, now, x_f, ctx.step, true, &mut no_events);
        // Holders still open: shortfall marked at the final price, P + N = x at that price.
        if !st.untouched_settled {
            for h in &sh.holders[st.cursor..] {
                if sh.capped && h.strike <= x_f {
                    break; // sorted: no shortfall below here
                }
                let (p, n) = (sh.payoff.p_usd(x_f, h.strike), sh.payoff.n_usd(x_f, h.strike));
                st.acc.shortfall += h.units * (h.strike - p).max(0.0);
                st.check(p, n, x_f);
            }
        }
        for i in 0..st.fifo.len() {
            let g = st.groups[st.fifo[i] as usize];
            if g.state != GroupState::Live {
                continue;
            }
            let (p, n) = (sh.payoff.p_usd(x_f, g.strike), sh.payoff.n_usd(x_f, g.strike));
            st.acc.shortfall += g.units * (g.strike - p).max(0.0);
            st.check(g.units * p, g.units * n, g.units * x_f);
        }
        let a = &st.acc;
        metrics.exits = a.exits;
        metrics.eth_sold = a.eth_sold;
        metrics.fees_usd = a.fees;
        metrics.slippage_usd = a.slippage;
        metrics.oracle_loss_usd = a.transfer_abs;
        metrics.wrongful_exits = 0;
        metrics.shortfall_usd = a.shortfall;
        metrics.max_cascade_rounds = a.max_rounds;
        metrics.positions_hit = a.hit;
        metrics.interest_usd = None;
        metrics.premium_usd = Some(st.premium_usd);
        metrics.p_drift = if sh.p_drift_every > 0 && a.drift_n > 0 {
            let years = a.drift_n as f64 * sh.p_drift_every as f64 * sh.dt;
            Some((a.drift_sum_sq / years).sqrt())
        } else {
            None
        };
    }
}

#[cfg(test)]
#[path = "world_tests.rs"]
mod tests;
