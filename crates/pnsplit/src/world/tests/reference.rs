//! The world against a brute-force reference that keeps every holder apart and scans the whole
//! cohort every round (none of the world's data structures), for every policy and payoff.

use super::*;

/// A brute-force reference: every holder kept apart, every round scans the whole cohort.
/// Same semantics as the module documentation, none of the world's data structures.
fn reference_path(spec: &PnSpec, cohort: &Cohort, prices: &[f64]) -> PathMetrics {
    #[derive(Clone, Copy)]
    struct H {
        units: f64,
        strike: f64,
        maturity: f64,
        open: bool,
        rolled: bool,
    }
    let dt = HOUR;
    let steps = prices.len();
    let eps = 1e-9 * dt;
    let vol = spec.pricing_vol.unwrap();
    let m_years = spec.maturity_days.map_or(steps as f64 * dt, |d| d / 365.0);
    let before = spec.roll_before_days / 365.0;
    let payoff = spec.payoff();
    let price = |x: f64, k: f64, tau: f64| {
        p_value_delta(&payoff, x, k, vol, if tau <= eps { 0.0 } else { tau }, spec.rate)
    };
    let (p1, d1) = price(1.0, 1.0 / spec.roll_target, m_years);
    let mut hs: Vec<H> = cohort
        .borrowers
        .iter()
        .map(|b| H { units: b.collateral, strike: b.strike(), maturity: m_years, open: true, rolled: false })
        .collect();
    let mut market = WorldMarket::new(
        3000.0,
        Liquidity::Exponential { depth_eth: 1e6 },
        None,
        &OracleModel::Spot,
        &[],
        dt,
    );
    let mut hist = PriceHistory::new(steps + 2);
    hist.push(0.0, 3000.0);
    let window = spec.settlement.window_hours / 8760.0;
    let delay = spec.settlement.delay_hours / 8760.0;
    let n_pat = match spec.execution {
        Execution::Twap { slices } => slices as usize,
        _ => 1,
    };
    // Pending slices: (ETH, basis: the ETH times the market price of the round that shed it).
    let mut pending = vec![(0.0, 0.0); n_pat];
    let mut m = PathMetrics::default();
    let mut prev = 3000.0;
    let value = |hs: &[H], x: f64, now: f64| -> f64 {
        hs.iter()
            .filter(|h| h.open)
            .map(|h| {
                let tau = h.maturity - now;
                h.units * if tau >= -eps { price(x, h.strike, tau).0 } else { payoff.p_usd(x, h.strike) }
            })
            .sum()
    };
    let mut mark_prev = value(&hs, 3000.0, 0.0);
    // The counterparty's hedge (market execution only here): the open claims' delta, priced one
    // by one; it starts at the claims' delta and follows every sale and settlement.
    let delta = |hs: &[H], x: f64, now: f64| -> f64 {
        hs.iter()
            .filter(|h| h.open)
            .map(|h| {
                let tau = h.maturity - now;
                h.units
                    * if tau >= -eps { price(x, h.strike, tau).1 } else { payoff.p_usd_slope(x, h.strike) }
            })
            .sum()
    };
    let hedge_every = spec.hedge_every_steps.unwrap_or(0) as usize;
    assert!(hedge_every == 0 || (n_pat == 1 && matches!(spec.execution, Execution::Market {})));
    let mut hedge = delta(&hs, 3000.0, 0.0);
    let (mut paid, mut sum_sq, mut n_ret) = (0.0, 0.0, 0u64);
    let settle_all = |hs: &mut [H],
                      hist: &mut PriceHistory,
                      now: f64,
                      x_d: f64,
                      at_end: bool,
                      m: &mut PathMetrics,
                      hedge: &mut f64|
     -> f64 {
        let mut paid = 0.0;
        for h in hs.iter_mut().filter(|h| h.open) {
            if h.maturity + delay <= now + eps || (at_end && h.maturity <= now + eps) {
                let xs = hist.settlement_price(&spec.settlement, h.maturity, window, eps);
                let xt = hist.price_at(h.maturity, eps);
                let o = settle(&payoff, h.units, h.strike, xs, xt, x_d);
                m.oracle_loss_usd += o.transfer_to_p_usd.abs();
                m.shortfall_usd += o.shortfall_usd;
                paid += o.p_usd;
                h.open = false;
                *hedge -= h.units * payoff.p_usd_slope(x_d, h.strike);
            }
        }
        paid
    };
    for (t, &p) in prices.iter().enumerate() {
        let now = (t + 1) as f64 * dt;
        let last = t + 1 == steps;
        market.begin_step((p / prev).ln(), now);
        prev = p;
        let (mut carry, mut carry_basis) = (0.0, 0.0);
        if n_pat > 1 {
            if last {
                carry = pending.iter().map(|l| l.0).sum();
                carry_basis = pending.iter().map(|l| l.1).sum();
                pending.fill((0.0, 0.0));
            } else {
                (carry, carry_basis) = pending[t % n_pat];
                pending[t % n_pat] = (0.0, 0.0);
            }
        }
        let calendar_step =
            spec.policy == RollPolicy::Calendar && (t + 1) % spec.calendar_every_steps.unwrap() as usize == 0;
        let mut rounds = 0;
        let mut iter = 0;
        loop {
            let x = market.oracle_price();
            let p0 = market.price();
            let calendar = calendar_step && iter == 0;
            iter += 1;
            let mut sell = 0.0;
            let mut rolled = 0;
            if spec.policy != RollPolicy::Hold {
                let (k_new, p_new) = (x / spec.roll_target, x * p1);
                let chosen: Vec<usize> = (0..hs.len())
                    .filter(|&i| {
                        let h = hs[i];
                        let tau = h.maturity - now;
                        if !h.open || tau < -eps {
                            return false;
                        }
                        // (A time to maturity a rounding below 0 is not under a roll_before of 0.)
                        calendar
                            || (before > 0.0 && tau < before)
                            || match spec.policy {
                                RollPolicy::Trigger => x / h.strike < spec.roll_trigger,
                                RollPolicy::Band => price(x, h.strike, tau).1 > spec.band_delta.unwrap(),
                                _ => false,
                            }
                    })
                    .collect();
                for i in chosen {
                    let h = &mut hs[i];
                    let (pv, d) = price(x, h.strike, h.maturity - now);
                    let v = h.units * pv;
                    let u_new = v / p_new;
                    sell += (h.units * d - u_new * d1).max(0.0);
                    m.fees_usd += spec.fee * v;
                    m.exits += 1;
                    if !h.rolled {
                        m.positions_hit += 1;
                    }
                    *h = H { units: u_new, strike: k_new, maturity: now + m_years, open: true, rolled: true };
                    rolled += 1;
                }
            }
            if rolled > 0 {
                rounds += 1;
            }
            let mut block = carry;
            if carry > 0.0 {
                // The slices due now realise their gain since their rolls: the P holder's.
                paid += carry * p0 - carry_basis;
            }
            carry = 0.0;
            if sell > 0.0 {
                if n_pat > 1 && !last {
                    let slice = sell / n_pat as f64;
                    block += slice;
                    for j in 1..n_pat {
                        pending[(t + j) % n_pat].0 += slice;
                        pending[(t + j) % n_pat].1 += slice * p0;
                    }
                } else {
                    block += sell;
                }
            }
            hedge -= sell;
            if block > 0.0 {
                let f = market.sell(block);
                m.eth_sold += block;
                m.slippage_usd += f.slippage_usd;
            } else if rolled == 0 {
                break;
            }
        }
        m.max_cascade_rounds = m.max_cascade_rounds.max(rounds);
        if hedge_every > 0 && (t + 1) % hedge_every == 0 {
            let x = market.price();
            let q = hedge - delta(&hs, x, now);
            hedge -= q;
            if q > 0.0 {
                m.eth_sold += q;
                m.slippage_usd += market.sell(q).slippage_usd;
            } else if q < 0.0 {
                m.slippage_usd += market.buy(-q).usd + q * x;
            }
        }
        hist.push(now, market.price());
        paid += settle_all(&mut hs, &mut hist, now, market.price(), false, &mut m, &mut hedge);
        if spec.p_drift_every_steps > 0 && (t + 1) % spec.p_drift_every_steps as usize == 0 {
            let x = market.price();
            let v = value(&hs, x, now) + pending.iter().map(|l| l.0 * x - l.1).sum::<f64>();
            if mark_prev > 0.0 && v + paid > 0.0 {
                let r = ((v + paid) / mark_prev).ln();
                sum_sq += r * r;
                n_ret += 1;
            }
            mark_prev = v;
            paid = 0.0;
        }
    }
    let now = steps as f64 * dt;
    let x_f = market.price();
    settle_all(&mut hs, &mut hist, now, x_f, true, &mut m, &mut hedge);
    for h in hs.iter().filter(|h| h.open) {
        m.shortfall_usd += h.units * (h.strike - payoff.p_usd(x_f, h.strike)).max(0.0);
    }
    m.min_price = market.min_price();
    m.final_price = x_f;
    if spec.p_drift_every_steps > 0 && n_ret > 0 {
        m.p_drift = Some((sum_sq / (n_ret as f64 * spec.p_drift_every_steps as f64 * dt)).sqrt());
    }
    m
}

/// The world (cursor, groups, heap, queue, suffix-sum settlement) gives the brute-force
/// reference's figures on random cohorts and paths, for every policy and payoff.
#[test]
fn world_matches_brute_force_reference() {
    let mut rng = stream(99, 0, Purpose::Setup);
    for (name, spec) in variants() {
        let mut rerolls = 0;
        for trial in 0..3 {
            let n = 60;
            let cohort = Cohort {
                borrowers: (0..n)
                    .map(|i| {
                        let c: f64 = rng.random_range(1.0..100.0);
                        let k: f64 = rng.random_range(1200.0..2700.0);
                        Borrower { id: i, collateral: c, debt_usd: c * k }
                    })
                    .collect(),
            };
            // Hourly GBM-like path with vol 0.9 over 30 days, three drops of 20% on the way, so
            // rolled holders roll again.
            let steps = 720;
            let mut x = 3000.0;
            let prices: Vec<f64> = (0..steps)
                .map(|t| {
                    let z: f64 = rng.sample(rand_distr::StandardNormal);
                    let jump = if t % 200 == 199 { 0.8 } else { 1.0 };
                    x *= (0.9 * HOUR.sqrt() * z).exp() * jump;
                    x
                })
                .collect();
            let (got, world, _) = run_manual(&spec, &cohort, &prices, false);
            let want = reference_path(&spec, &cohort, &prices);
            let (g, w) = (metric_values(&got), metric_values(&want));
            let names = [
                "exits",
                "eth_sold",
                "fees",
                "slippage",
                "oracle_loss",
                "shortfall",
                "rounds",
                "hit",
                "min",
                "final",
                "p_drift",
            ];
            for i in 0..g.len() {
                assert!(
                    (g[i] - w[i]).abs() <= 1e-9 * w[i].abs().max(1e-6),
                    "{name} trial {trial}: {}: world {} vs reference {}",
                    names[i],
                    g[i],
                    w[i]
                );
            }
            rerolls += got.exits - got.positions_hit;
            assert_eq!(world.invariant_stats().violations, 0);
        }
        assert!(rerolls > 0 || spec.policy == RollPolicy::Hold, "{name}: no holder rolled twice");
    }
}
