//! One CDP, spot oracle, no impact, checked every dt: the probability of liquidation before T
//! is the GBM first-passage probability with the Broadie-Glasserman-Kou barrier shift
//! (docs/MODEL.md).

use super::{bare_preset, Gbm};
use headroom_cdp::{CdpSpec, CdpWorld, Protocol};
use headroom_market::{Borrower, Cohort, Liquidity};
use statrs::distribution::{ContinuousCDF, Normal};

/// P(min over [0, T] of S < H), S a GBM with drift mu and volatility sigma from s0; with checks
/// every dt the barrier is shifted to H exp(-0.5826 sigma sqrt(dt)).
fn first_passage(s0: f64, h: f64, mu: f64, sigma: f64, t: f64, dt: f64) -> f64 {
    let h = h * (-0.5826 * sigma * dt.sqrt()).exp();
    let nu = mu - 0.5 * sigma * sigma;
    let b = (h / s0).ln();
    let sd = sigma * t.sqrt();
    let phi = |x: f64| Normal::standard().cdf(x);
    phi((b - nu * t) / sd) + (h / s0).powf(2.0 * nu / (sigma * sigma)) * phi((b + nu * t) / sd)
}

fn single(protocol: Protocol, barrier: f64) -> (CdpSpec, Cohort) {
    let spec = bare_preset(protocol);
    let lt = spec.resolve().unwrap().lt;
    // Liquidation price d / (c lt) = barrier.
    let mut borrowers = vec![Borrower { id: 0, collateral: 1.0, debt_usd: barrier * lt }];
    if matches!(protocol, Protocol::LiquityV1 | Protocol::LiquityV2) {
        // Liquity never liquidates the last trove: a second one, never at risk, stays open.
        borrowers.push(Borrower { id: 1, collateral: 1000.0, debt_usd: 0.0 });
    }
    (spec, Cohort { borrowers })
}

#[test]
fn liquidation_probability_matches_the_first_passage_law() {
    let g = Gbm {
        s0: 100.0,
        mu: 0.1,
        sigma: 0.8,
        steps: 720,
        dt: 30.0 / 365.0 / 720.0,
        liquidity: Liquidity::None,
        seed: 314_159,
    };
    let barrier = 85.0;
    // The barrier is ln(100 / 85) / (sigma sqrt(dt)) = 19 step deviations below the start.
    assert!((g.s0 / barrier).ln() >= 10.0 * g.sigma * g.dt.sqrt());
    let (spec, cohort) = single(Protocol::Generic, barrier);
    let mut world = CdpWorld::new(&spec, &cohort, &g.env()).unwrap();
    let n = 20_000u64;
    let hits: Vec<bool> = (0..n).map(|p| g.run(&mut world, &spec, p, false).0.positions_hit > 0).collect();
    let p_hat = hits.iter().filter(|&&h| h).count() as f64 / n as f64;
    let t = g.steps as f64 * g.dt;
    let p = first_passage(g.s0, barrier, g.mu, g.sigma, t, g.dt);
    let se = (p * (1.0 - p) / n as f64).sqrt();
    eprintln!("first passage: liquidated {p_hat}, formula {p}, se {se}");
    assert!((p_hat - p).abs() < 4.0 * se, "liquidated {p_hat} vs first passage {p} (se {se})");
    // Without the shift the continuous law is off by more than 4 standard errors: the test can
    // tell a discrete check from a continuous one.
    let p_cont = first_passage(g.s0, barrier, g.mu, g.sigma, t, 0.0);
    assert!((p_hat - p_cont).abs() > 4.0 * se, "{p_hat} vs continuous {p_cont}");

    // Every preset with instant liquidators liquidates on exactly the same paths.
    for protocol in [Protocol::AaveV3, Protocol::Maker2021, Protocol::LiquityV1, Protocol::CompoundV3] {
        let (spec, cohort) = single(protocol, barrier);
        let mut world = CdpWorld::new(&spec, &cohort, &g.env()).unwrap();
        for path in 0..1500u64 {
            let hit = g.run(&mut world, &spec, path, false).0.positions_hit > 0;
            assert_eq!(hit, hits[path as usize], "{protocol} path {path}");
        }
    }
}
