//! Building a P/N world: validating the `[pn]` table against the experiment, resolving the
//! defaults that depend on it, mapping the cohort and pricing the start.

use super::fastmark::{self, FastMark};
use super::*;

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
            style: spec.execution,
            patience: match spec.execution {
                Execution::Twap { slices } => slices as usize,
                _ => 1,
            },
            buy_back: spec.hedge_buy_back,
            hedge_every: spec.hedge_every_steps.unwrap_or(0) as usize,
            delta0: 0.0,
            bridge_var: env.process_vol * env.process_vol * env.dt_years,
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
            gas: env.frictions.gas_usd,
            frontrun: env.frictions.frontrun_share,
            start_price: env.start_price,
            premium_usd: 0.0,
            p_value0: 0.0,
            fast: None,
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
        if sh.hedge_every > env.steps {
            return Err(PnError::invalid(
                "hedge_every_steps",
                sh.hedge_every,
                format!("must be <= the number of steps ({})", env.steps),
            ));
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
        let marks = sh.p_drift_every > 0 || maturity > horizon + sh.eps || sh.hedge_every > 0;
        if capped && marks && n <= fastmark::MAX_HOLDERS {
            sh.fast = Some(FastMark::new(&sh.holders));
        }
        sh.premium_usd = sh.suf_uk[0] - sh.p_value0;
        if sh.hedge_every > 0 {
            let (c, ln_s) = (sh.tau_consts(maturity), env.start_price.ln());
            sh.delta0 = sh
                .holders
                .iter()
                .map(|h| h.units * sh.price(env.start_price, ln_s, h.strike, h.ln_strike, &c).1)
                .sum();
        }

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
            pending: vec![Lot::default(); sh.patience],
            orders: Vec::with_capacity(64),
            order_fifo: VecDeque::with_capacity(64),
            asks: BinaryHeap::with_capacity(64),
            bids: BinaryHeap::with_capacity(64),
            live_orders: 0,
            last_log: 0.0,
            next_due: f64::NEG_INFINITY,
            history: PriceHistory::new(capacity),
            acc: PathAcc::default(),
            premium_usd: sh.premium_usd,
            p0: sh.p_value0,
            hedge: 0.0,
            stats: InvariantStats::default(),
            round_cap_hits: 0,
            key_untouched_ln: f64::NEG_INFINITY,
            key_group_ln: f64::NEG_INFINITY,
            keys_valid: false,
        };
        Ok(PnWorld { sh: Arc::new(sh), st })
    }
}
