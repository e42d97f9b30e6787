//! Benchmark B1 (docs/benchmarks.md (B1)): means against the reference figures, and the bulk
//! path against the general engine.

use super::{mean_se, Gbm};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{BadPrint, Cohort, Ladder, Liquidity, PathMetrics};

pub fn b1_cohort(m: usize) -> Cohort {
    Ladder::b1(m as u64).cohort(3000.0)
}

pub fn b1_spec() -> CdpSpec {
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.lt = Some(0.83);
    s.bonus = Some(0.05);
    s.close_factor = Some(1.0);
    s
}

pub fn b1_market(seed: u64) -> Gbm {
    Gbm {
        s0: 3000.0,
        mu: 0.0,
        sigma: 0.9,
        steps: 720,
        dt: 30.0 / 365.0 / 720.0,
        liquidity: Liquidity::Exponential { depth_eth: 1_000_000.0 },
        seed,
    }
}

fn metric(m: &PathMetrics, k: usize) -> f64 {
    match k {
        0 => m.exits as f64,
        1 => m.eth_sold,
        2 => m.fees_usd,
        3 => m.slippage_usd,
        4 => m.shortfall_usd,
        5 => m.max_cascade_rounds as f64,
        6 => m.min_price,
        _ => m.final_price,
    }
}

/// (name, reference mean, reference standard error over 100,000 paths).
const REFERENCE: [(&str, f64, f64); 8] = [
    ("exits", 1813.9, 5.0),
    ("eth_sold", 87_252.0, 241.0),
    ("fees_usd", 9_605_438.0, 23_726.0),
    ("slippage_usd", 273_453.0, 767.0),
    ("shortfall_usd", 0.0, 0.0),
    ("max_cascade_rounds", 5.42, 0.01),
    ("min_price", 2271.8, 1.6),
    ("final_price", 2798.9, 2.8),
];

#[test]
fn b1_means_agree_with_the_reference_within_4_combined_standard_errors() {
    let spec = b1_spec();
    let g = b1_market(20_251_101);
    let mut world = CdpWorld::new(&spec, &b1_cohort(5000), &g.env()).unwrap();
    assert!(world.uses_bulk_path());
    let n = 10_000;
    let rows: Vec<PathMetrics> = (0..n).map(|p| g.run(&mut world, &spec, p, false).0).collect();
    let mut report = String::new();
    let mut bad = Vec::new();
    for (k, &(name, ref_mean, ref_se)) in REFERENCE.iter().enumerate() {
        let xs: Vec<f64> = rows.iter().map(|m| metric(m, k)).collect();
        let (mean, se) = mean_se(&xs);
        let tol = 4.0 * (se * se + ref_se * ref_se).sqrt();
        report
            .push_str(&format!("{name}: {mean:.2} (se {se:.2}) vs {ref_mean} (se {ref_se}), tol {tol:.2}\n"));
        if (mean - ref_mean).abs() > tol {
            bad.push(name);
        }
    }
    eprintln!("{report}");
    assert!(bad.is_empty(), "B1 metrics off the reference: {bad:?}\n{report}");
    // Every liquidation closes a position, nothing is wrongful with a spot oracle; the bonus is
    // the cost, paid by the borrowers, and the liquidators pay the slippage out of it.
    for m in &rows {
        assert_eq!(m.exits, m.positions_hit);
        assert_eq!(m.wrongful_exits, 0);
        assert_eq!(m.interest_usd, Some(0.0));
        let l = &m.ledger;
        assert!(l.balances(1e-9));
        let tol = 1e-9 * (1.0 + m.fees_usd);
        assert!((l.borrower_usd + m.fees_usd).abs() <= tol, "{l:?}");
        assert!((l.takers_usd - (m.fees_usd - m.slippage_usd)).abs() <= tol, "{l:?}");
        assert!((l.cost() - m.fees_usd).abs() <= tol, "{l:?}");
        assert_eq!((l.lender_usd, l.protocol_usd), (0.0, 0.0));
        assert!((l.market_usd - m.slippage_usd).abs() <= 1e-9 * m.slippage_usd, "{l:?}");
    }
}

#[test]
fn bulk_path_equals_the_general_engine_on_b1() {
    cross_check(b1_spec());
}

#[test]
fn bulk_path_equals_the_general_engine_with_bad_prints_interest_and_a_protocol_fee() {
    let mut spec = b1_spec();
    spec.borrow_rate = 0.08;
    spec.protocol_fee = Some(0.1);
    // The oracle prints 6% low from hour 100 to hour 112 (ramping in and out over 2 hours).
    spec.oracle_errors.push(BadPrint {
        start_hours: 100.0,
        ramp_in_hours: 2.0,
        hold_hours: 8.0,
        ramp_out_hours: 2.0,
        error: -0.06,
    });
    let wrongful = cross_check(spec);
    assert!(wrongful > 0, "the bad print must cause wrongful liquidations");
}

/// Runs the same paths on both engines; returns the wrongful exits seen.
fn cross_check(spec: CdpSpec) -> u64 {
    let g = b1_market(99);
    let mut wrongful = 0;
    let cohort = b1_cohort(2000);
    let mut bulk = CdpWorld::new(&spec, &cohort, &g.env()).unwrap();
    let mut general = bulk.clone();
    assert!(!general.set_bulk_path(false));
    for path in 0..30 {
        let (a, ea) = bulk.run_path_for_test(&g, &spec, path);
        let (b, eb) = general.run_path_for_test(&g, &spec, path);
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()));
        assert_eq!(a.exits, b.exits, "path {path}");
        assert_eq!(a.positions_hit, b.positions_hit);
        assert_eq!(a.max_cascade_rounds, b.max_cascade_rounds);
        assert_eq!(a.wrongful_exits, b.wrongful_exits);
        wrongful += a.wrongful_exits;
        for (x, y) in [
            (a.eth_sold, b.eth_sold),
            (a.fees_usd, b.fees_usd),
            (a.slippage_usd, b.slippage_usd),
            (a.shortfall_usd, b.shortfall_usd),
            (a.min_price, b.min_price),
            (a.final_price, b.final_price),
            (a.oracle_loss_usd, b.oracle_loss_usd),
            (a.interest_usd.unwrap(), b.interest_usd.unwrap()),
            (a.ledger.borrower_usd, b.ledger.borrower_usd),
            (a.ledger.lender_usd, b.ledger.lender_usd),
            (a.ledger.protocol_usd, b.ledger.protocol_usd),
            (a.ledger.takers_usd, b.ledger.takers_usd),
            (a.ledger.market_usd, b.ledger.market_usd),
            (a.borrower_pnl_usd, b.borrower_pnl_usd),
            (a.lender_pnl_usd, b.lender_pnl_usd),
        ] {
            assert!(close(x, y), "path {path}: {x} vs {y}");
        }
        assert_eq!(ea.len(), eb.len());
        for (x, y) in ea.iter().zip(&eb) {
            assert_eq!((x.step, x.round, x.position), (y.step, y.round, y.position));
            assert!(close(x.eth, y.eth) && close(x.fee_usd, y.fee_usd));
            assert!(close(x.ledger.borrower_usd, y.ledger.borrower_usd));
            assert!(close(x.ledger.takers_usd, y.ledger.takers_usd));
            assert_eq!(x.wrongful, y.wrongful);
        }
        let (lb, lg) = (bulk.collateral_ledger(), general.collateral_ledger());
        assert!(close(lb.seized, lg.seized) && close(lb.returned, lg.returned) && close(lb.open, lg.open));
    }
    wrongful
}

trait RunPath {
    fn run_path_for_test(
        &mut self,
        g: &Gbm,
        spec: &CdpSpec,
        path: u64,
    ) -> (PathMetrics, Vec<headroom_market::Event>);
}

impl RunPath for CdpWorld {
    fn run_path_for_test(
        &mut self,
        g: &Gbm,
        spec: &CdpSpec,
        path: u64,
    ) -> (PathMetrics, Vec<headroom_market::Event>) {
        g.run(self, spec, path, path < 3)
    }
}
