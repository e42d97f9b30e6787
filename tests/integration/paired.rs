//! Paired runs: both worlds on common random numbers, and `diff` rows whose intervals are
//! narrower than those of two independent runs would be.

use crate::common::{run_in, stderr, tempdir, SMALL};
use std::collections::HashMap;

/// (primitive, metric) -> (mean, se) from a summary.csv.
fn summary(text: &str) -> HashMap<(String, String), (f64, f64)> {
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ((f[0].to_string(), f[1].to_string()), (f[3].parse().unwrap(), f[5].parse().unwrap()))
        })
        .collect()
}

#[test]
fn paired_interval_is_narrower_than_unpaired() {
    let dir = tempdir();
    let d = dir.path();
    let t = SMALL
        .replace("worlds = [\"cdp\"]", "worlds = [\"cdp\", \"pn\"]")
        .replace("paths = 300", "paths = 400")
        + "\n[pn]\nroll_trigger = 1.3\nroll_target = 2.0\np_drift_every_steps = 0\n";
    std::fs::write(d.join("e.toml"), t).unwrap();
    let o = run_in(d, &["run", "e.toml", "--out", "r"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&std::fs::read_to_string(d.join("r/summary.csv")).unwrap());
    let get = |p: &str, m: &str| s[&(p.to_string(), m.to_string())];
    for metric in ["eth_sold", "slippage_usd", "min_price", "final_price"] {
        let (mc, sc) = get("cdp", metric);
        let (mp, sp) = get("pn", metric);
        let (md, sd) = get("diff", metric);
        // The diff's mean is the difference of the means (same paths, per-path difference).
        assert!((md - (mc - mp)).abs() <= 1e-9 * (mc.abs() + mp.abs() + 1.0), "{metric}");
        // Two independent runs would have se sqrt(se_a^2 + se_b^2); common random numbers make
        // the worlds' costs positively correlated, so the paired se is smaller.
        let unpaired = (sc * sc + sp * sp).sqrt();
        assert!(sd < unpaired, "{metric}: paired se {sd} >= unpaired {unpaired}");
    }
    // Prices share the exogenous path: their paired se is far below the unpaired one.
    let (_, sc) = get("cdp", "final_price");
    let (_, sp) = get("pn", "final_price");
    let (_, sd) = get("diff", "final_price");
    assert!(sd < 0.2 * (sc * sc + sp * sp).sqrt(), "final_price: paired se {sd}");
}
