//! Execution styles against closed forms and hand computations (docs/MODEL.md, Execution).

use super::*;
use crate::pricing::bs_call;
use headroom_market::liquidity::exp_impact_gap as h;
use headroom_market::{Ledger, Party};

/// One holder of 10 units at K = 2500 whose roll at 3000 in the first hour sheds
/// 1.9767021986395235 ETH (`hand_computed_roll`), on `liquidity`, prices flat at 3000 (or
/// `prices`), with frictions `fr`; returns the metrics and events of the path.
fn one_roll(
    execution: Execution,
    liquidity: Liquidity,
    prices: &[f64],
    fr: Frictions,
    buy_back: bool,
    maturity_days: f64,
    rng_seed: u64,
) -> (PathMetrics, Vec<Event>) {
    one_roll_at(2500.0, execution, liquidity, prices, fr, buy_back, maturity_days, rng_seed)
}

/// [`one_roll`] with another strike.
#[allow(clippy::too_many_arguments)]
fn one_roll_at(
    strike: f64,
    execution: Execution,
    liquidity: Liquidity,
    prices: &[f64],
    fr: Frictions,
    buy_back: bool,
    maturity_days: f64,
    rng_seed: u64,
) -> (PathMetrics, Vec<Event>) {
    let spec = PnSpec {
        maturity_days: Some(maturity_days),
        pricing_vol: Some(0.9),
        p_drift_every_steps: 0,
        execution,
        hedge_buy_back: buy_back,
        ..PnSpec::default()
    };
    let env = WorldEnv {
        steps: prices.len(),
        dt_years: HOUR,
        start_price: 3000.0,
        process_vol: 0.9,
        frictions: fr,
    };
    let mut world = PnWorld::new(&spec, &one_holder(10.0, strike), &env).unwrap();
    let mut market = WorldMarket::new(3000.0, liquidity, None, &OracleModel::Spot, &[], HOUR);
    drive(&mut world, &mut market, prices, rng_seed, true)
}

const SHED: f64 = 1.976_702_198_639_523_5;

/// TWAP over n slices on consecutive steps at a flat exogenous price: n equal sales of s = q/n,
/// each at the price the previous left. Closed forms of the total slippage, with S = 3000:
/// exponential `S Q h(s/Q) (1 - e^{-n s/Q}) / (1 - e^{-s/Q})`; linear `S s (1 - (1 - s/D)^n) / 2`;
/// square root `(2/3) S s (1 - (1 - I)^n)` with `I = Y sigma sqrt(s / V)`; constant product
/// (no fee) `sum_j L^2 s^2 / (x_j^2 x_{j+1})` with reserves `x_j = x_0 + j s`, `x_0 = L / sqrt S`.
#[test]
fn twap_matches_n_equal_sales_through_each_liquidity_model() {
    let n = 5usize;
    let s_ = 3000.0;
    type ClosedForm = Box<dyn Fn(f64) -> f64>;
    let cases: Vec<(Liquidity, ClosedForm)> = vec![
        (
            Liquidity::Exponential { depth_eth: 50.0 },
            Box::new(move |q: f64| {
                let (depth, u) = (50.0, q / n as f64 / 50.0);
                s_ * depth * h(u) * (1.0 - (-(n as f64) * u).exp()) / (1.0 - (-u).exp())
            }),
        ),
        (
            Liquidity::Linear { depth_eth: 40.0 },
            Box::new(move |q: f64| {
                let s = q / n as f64;
                s_ * s * (1.0 - (1.0 - s / 40.0).powi(n as i32)) / 2.0
            }),
        ),
        (
            Liquidity::SquareRoot { y: 1.0, sigma_daily: 0.05, daily_volume_eth: 100.0 },
            Box::new(move |q: f64| {
                let s = q / n as f64;
                let i = 0.05 * (s / 100.0).sqrt();
                2.0 / 3.0 * s_ * s * (1.0 - (1.0 - i).powi(n as i32))
            }),
        ),
        (
            Liquidity::ConstantProduct { reserve_eth: 30.0, reference_price: 3000.0, fee: 0.0 },
            Box::new(move |q: f64| {
                let s = q / n as f64;
                let l: f64 = 30.0 * 3000f64.sqrt();
                let x0 = l / s_.sqrt();
                (0..n)
                    .map(|j| {
                        let (xj, xk) = (x0 + j as f64 * s, x0 + (j + 1) as f64 * s);
                        l * l * s * s / (xj * xj * xk)
                    })
                    .sum()
            }),
        ),
    ];
    for (liq, closed) in cases {
        let twap = Execution::Twap { slices: n as u32 };
        let (m, ev) = one_roll(twap, liq.clone(), &[3000.0; 8], Frictions::default(), false, 30.0, 1);
        let q = ev.iter().find(|e| e.kind == EventKind::Roll).unwrap().eth;
        assert!(close(q, SHED, 1e-9));
        let want = closed(q);
        assert!(close(m.slippage_usd, want, 1e-9), "{liq:?}: {} vs {want}", m.slippage_usd);
        assert!(close(m.eth_sold, q, 1e-12), "{liq:?}");
        assert_eq!(ev.iter().filter(|e| e.kind == EventKind::Hedge).count(), n, "{liq:?}");
        assert!(m.ledger.balances(1e-9));
    }
}

/// A sandwich of share f around the market sale of q under exponential impact (depth Q, price
/// x, u = q/Q): the P holder's extra slippage over the plain sale is `x Q (1 - e^{-u})
/// (1 - e^{-f u})`, and the searcher (takers) gains `x Q [(1 - e^{-f u}) - e^{-f u - u}
/// (e^{f u} - 1)]`.
#[test]
fn a_sandwiched_roll_costs_its_closed_form() {
    let (depth, f) = (20.0, 0.5);
    let liq = Liquidity::Exponential { depth_eth: depth };
    let market_style = Execution::Market {};
    let (plain, _) = one_roll(market_style, liq.clone(), &[3000.0], Frictions::default(), false, 30.0, 1);
    let fr = Frictions { gas_usd: 0.0, frontrun_share: f };
    let (sw, _) = one_roll(market_style, liq, &[3000.0], fr, false, 30.0, 1);
    let (x, u) = (3000.0, SHED / depth);
    let extra = x * depth * (1.0 - (-u).exp()) * (1.0 - (-f * u).exp());
    assert!(
        close(sw.slippage_usd - plain.slippage_usd, extra, 1e-6),
        "{} vs {extra}",
        sw.slippage_usd - plain.slippage_usd
    );
    let searcher = x * depth * ((1.0 - (-f * u).exp()) - (-f * u - u).exp() * ((f * u).exp() - 1.0));
    let fee = sw.fees_usd;
    assert!(
        close(sw.ledger.takers_usd - fee, searcher, 1e-9),
        "{} vs {searcher}",
        sw.ledger.takers_usd - fee
    );
    assert!(close(sw.ledger.market_usd, sw.slippage_usd - searcher, 1e-9));
    assert!(sw.ledger.balances(1e-12));
    // The price ends where the plain sale leaves it.
    assert!(close(sw.final_price, plain.final_price, 1e-12));
}

/// An auction that clears at the taker's cost, by hand. The shed q = 1.97670 ETH is offered at
/// a discount rising by max_discount / ramp_steps = 0.001 a step; a taker's cost is its
/// slippage selling q through depth 1e6 at 3000, `3000 x 1e6 x h(q / 1e6)` = 0.00586102, plus
/// gas 20. The discount `q 3000 d_k` = 5.93011 k covers 20.00586 first at k = 4: taken at step
/// 4 for a discount of 23.72042638367... The roll itself also pays gas 20 (the P holder's).
#[test]
fn an_auction_clears_at_the_takers_cost_by_hand() {
    let style = Execution::Auction { max_discount: 0.01, ramp_steps: 10 };
    let fr = Frictions { gas_usd: 20.0, frontrun_share: 0.0 };
    let liq = Liquidity::Exponential { depth_eth: 1e6 };
    let (m, ev) = one_roll(style, liq, &[3000.0; 8], fr, false, 30.0, 1);
    let take: Vec<_> = ev.iter().filter(|e| e.kind == EventKind::Auction).collect();
    assert_eq!(take.len(), 1);
    let t = take[0];
    assert_eq!(t.step, 4);
    let discount = SHED * 3000.0 * 0.004;
    assert!(close(t.fee_usd, discount, 1e-9), "{} vs {discount}", t.fee_usd);
    let slip = 3000.0 * 1e6 * h(SHED / 1e6);
    assert!(close(slip, 0.005_861_023_511_188_89, 1e-6));
    assert!(close(t.ledger.takers_usd, discount - slip - 20.0, 1e-9), "{:?} {discount} {slip}", t.ledger);
    assert!(close(t.ledger.lender_usd, -discount, 1e-9), "{:?}", t.ledger);
    let fee = 0.003 * 24_007.849_183_750_943;
    let l = m.ledger;
    assert!(close(l.validators_usd, 40.0, 1e-12) && close(l.market_usd, slip, 1e-9), "{l:?}");
    assert!(close(l.takers_usd, fee + discount - slip - 20.0, 1e-9), "{l:?}");
    assert!(close(l.cost(), fee + discount + 20.0, 1e-9), "{l:?}");
    assert!(close(m.fees_usd, fee + discount, 1e-9));
    assert_eq!(m.slippage_usd, 0.0, "the taker's slippage is its own");
    assert!(close(m.eth_sold, SHED, 1e-9));
    // No gas and no depth: taken at once at no discount.
    let (m, ev) = one_roll(style, Liquidity::None, &[3000.0; 2], Frictions::default(), false, 30.0, 1);
    assert_eq!(ev.iter().find(|e| e.kind == EventKind::Auction).map(|e| (e.step, e.fee_usd)), Some((0, 0.0)));
    assert!(close(m.fees_usd, fee, 1e-9));
}

/// A passive ask over one step fills when the step's high reaches it. Unconditionally, for
/// log returns N(nu dt, sigma^2 dt) (GBM, nu = -sigma^2/2), the probability that the maximum
/// of the step reaches `h = ln(1 + spread)` is the first-passage law
/// `Phi((-h + nu dt) / (sigma sqrt dt)) + e^{2 nu h / sigma^2} Phi((-h - nu dt) / (sigma sqrt
/// dt))`; the world draws the maximum of the Brownian bridge between the step's end points
/// from its own stream. Matched within 4 standard errors over 20,000 paths.
#[test]
fn passive_fill_probability_matches_the_bridge_maximum() {
    let spread = 0.01;
    let style = Execution::Passive { spread, max_wait_steps: 100 };
    let (sigma, dt) = (0.9f64, HOUR);
    let nu = -0.5 * sigma * sigma;
    let sd = sigma * dt.sqrt();
    let hh = (1.0 + spread).ln();
    let phi = |z: f64| crate::pricing::norm_cdf(z);
    let want =
        phi((-hh + nu * dt) / sd) + (2.0 * nu * hh / (sigma * sigma)).exp() * phi((-hh - nu * dt) / sd);
    let trials = 20_000u64;
    let mut rng = stream(4, 0, Purpose::Setup);
    let mut fills = 0u64;
    for t in 0..trials {
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        let x1 = 3000.0 * (nu * dt + sd * z).exp();
        let (_, ev) = one_roll(style, Liquidity::None, &[3000.0, x1], Frictions::default(), false, 30.0, t);
        let filled = ev.iter().any(|e| e.kind == EventKind::Hedge && e.step == 1);
        fills += filled as u64;
    }
    let p = fills as f64 / trials as f64;
    let se = (want * (1.0 - want) / trials as f64).sqrt();
    assert!((p - want).abs() < 4.0 * se, "{p} vs {want} (se {se})");
    assert!(want > 0.2 && want < 0.5, "{want}");
}

/// A passive order never filled keeps its delta: its gain or loss at the final price is the P
/// holder's, `q (x_f - 3000)`, with no booking; an order that fills pays no slippage and earns
/// its spread as the same kind of gain, `q 3000 spread`.
#[test]
fn unfilled_inventory_is_the_p_holders() {
    let far = Execution::Passive { spread: 0.5, max_wait_steps: 100 };
    let prices = [3000.0, 3000.0, 2700.0];
    let (m, _) = one_roll(far, Liquidity::None, &prices, Frictions::default(), false, 30.0, 1);
    assert_eq!((m.eth_sold, m.slippage_usd), (0.0, 0.0));
    let u_new = 16.011_662_614_583_138;
    let p_bs = |x: f64, k: f64, tau: f64| x - bs_call(x, k, 0.9, tau, 0.0);
    let p0 = 10.0 * p_bs(3000.0, 2500.0, 30.0 / 365.0);
    let fee = 0.003 * 24_007.849_183_750_943;
    let want = u_new * p_bs(2700.0, 1500.0, 30.0 / 365.0 - 2.0 * HOUR) + SHED * (2700.0 - 3000.0) - fee - p0;
    assert!((m.lender_pnl_usd - want).abs() < 25e-6, "{} vs {want}", m.lender_pnl_usd);
    assert!(m.ledger.balances(1e-12) && close(m.ledger.cost(), fee, 1e-9));
    // A near ask fills on a rise through it: no slippage; the spread is the P holder's gain.
    let near = Execution::Passive { spread: 0.001, max_wait_steps: 100 };
    let (m, ev) = one_roll(near, Liquidity::None, &[3000.0, 3010.0], Frictions::default(), false, 30.0, 1);
    let fill = ev.iter().find(|e| e.kind == EventKind::Hedge).unwrap();
    assert!(close(fill.usd, SHED * 3003.0, 1e-9), "{fill:?}");
    assert_eq!(fill.ledger, Ledger::default());
    assert_eq!(m.slippage_usd, 0.0);
    // Waited too long: sold at market (through the liquidity model) at max_wait_steps.
    let waited = Execution::Passive { spread: 0.5, max_wait_steps: 2 };
    let liq = Liquidity::Exponential { depth_eth: 1e6 };
    let (m, ev) =
        one_roll(waited, liq, &[3000.0, 3000.0, 2900.0, 2900.0], Frictions::default(), false, 30.0, 1);
    let sale = ev.iter().find(|e| e.kind == EventKind::Hedge).unwrap();
    assert_eq!(sale.step, 2);
    assert!(close(m.slippage_usd, 2900.0 * 1e6 * h(SHED / 1e6), 1e-6));
}

/// A roll at maturity of a P between its strike and the trigger sheds a negative amount (its
/// delta is 0, the new P's is not): dropped by default, bought back through the same execution
/// with `hedge_buy_back`.
#[test]
fn negative_sheds_are_bought_back_when_asked() {
    let liq = Liquidity::Exponential { depth_eth: 1e4 };
    // K = 2000, maturity 30 days: x / K falls to 1.2 < 1.25 in the last hour, at maturity.
    let mut prices = vec![3000.0; 720];
    prices[719] = 2400.0;
    let run = |buy_back| {
        one_roll_at(
            2000.0,
            Execution::Market {},
            liq.clone(),
            &prices,
            Frictions::default(),
            buy_back,
            30.0,
            1,
        )
    };
    let (m, ev) = run(false);
    let roll = ev.iter().find(|e| e.kind == EventKind::Roll).unwrap();
    assert!(roll.eth < 0.0, "{}", roll.eth);
    assert!(ev.iter().all(|e| e.kind != EventKind::Hedge) && m.slippage_usd == 0.0);
    let (m, ev) = run(true);
    let buy = ev.iter().find(|e| e.kind == EventKind::Hedge).unwrap();
    assert!(close(buy.eth, roll.eth, 1e-12));
    // Buying q at 2400 through depth Q costs 2400 Q (e^{q/Q} - 1): slippage over q 2400.
    let q = -roll.eth;
    let want = 2400.0 * 1e4 * (q / 1e4).exp_m1() - 2400.0 * q;
    assert!(close(m.slippage_usd, want, 1e-6), "{} vs {want}", m.slippage_usd);
    assert!(m.final_price > 2400.0 && m.ledger.balances(1e-12));
    assert_eq!(m.eth_sold, 0.0);
    assert!(close(m.ledger.get(Party::Market), want, 1e-6));
}
