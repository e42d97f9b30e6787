//! The cohort as the engine keeps it: sorted once by liquidation price, descending, in a
//! structure of arrays shared read-only by every clone of the world, with prefix sums of
//! collateral and debt for the bulk liquidations of the fast path, and a conservative log
//! threshold per key for the tests made in logarithms.

use crate::error::CdpError;
use headroom_market::Cohort;

/// Width of the chunks [`Book::advance`] compares at once.
const CHUNK: usize = 8;

/// `-inf` entries after the last key: one sentinel, and room for a whole chunk read from it.
pub(crate) const SENTINELS: usize = CHUNK + 1;

/// `ln(k)` moved up by `8 eps max(1, |ln k|)`: a log threshold that a log price reaches only
/// when `exp` of it is above `k`. The idle test compares logs, the rounds compare prices; with
/// `ln` and `exp` each within one rounding, the margin makes the log test never call a step idle
/// that the price test would act on (it may call a step live that then does nothing).
pub(crate) fn log_key_above(k: f64) -> f64 {
    let l = k.ln();
    l + 8.0 * f64::EPSILON * l.abs().max(1.0)
}

/// The sorted cohort.
#[derive(Debug)]
pub(crate) struct Book {
    /// Number of positions.
    pub n: usize,
    /// Normalised liquidation price `d / (c lt)`, descending, then [`SENTINELS`] entries of
    /// `-inf` from `n` on (so that a chunk read from any index up to `n` stays in bounds).
    pub liq0: Vec<f64>,
    /// [`log_key_above`] of each `liq0`, non-increasing (NaN for the sentinels): the log-domain
    /// tests of the idle step and of the cascade round.
    pub log_above: Vec<f64>,
    /// Collateral, units.
    pub coll: Vec<f64>,
    /// Debt, USD.
    pub debt: Vec<f64>,
    /// The cohort's ids.
    pub id: Vec<u64>,
    /// `cum_coll[j]` = sum of `coll[..j]`.
    pub cum_coll: Vec<f64>,
    /// `cum_debt[j]` = sum of `debt[..j]`.
    pub cum_debt: Vec<f64>,
}

impl Book {
    /// Sorts `cohort` by liquidation price `d / (c lt)`, descending (ties by cohort order).
    pub fn new(cohort: &Cohort, lt: f64) -> Result<Self, CdpError> {
        let n = cohort.len();
        if n >= u32::MAX as usize {
            return Err(CdpError::invalid("cohort", n, "at most 4,294,967,294 positions"));
        }
        for (i, b) in cohort.borrowers.iter().enumerate() {
            if !(b.collateral.is_finite() && b.collateral > 0.0) {
                return Err(CdpError::InvalidPosition {
                    id: b.id,
                    index: i,
                    message: format!("collateral = {}: must be finite and > 0", b.collateral),
                });
            }
            if !(b.debt_usd.is_finite() && b.debt_usd >= 0.0) {
                return Err(CdpError::InvalidPosition {
                    id: b.id,
                    index: i,
                    message: format!("debt_usd = {}: must be finite and >= 0", b.debt_usd),
                });
            }
        }
        let key = |i: usize| {
            let b = &cohort.borrowers[i];
            b.debt_usd / (b.collateral * lt)
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        let mut liq0 = Vec::with_capacity(n + SENTINELS);
        let mut coll = Vec::with_capacity(n);
        let mut debt = Vec::with_capacity(n);
        let mut id = Vec::with_capacity(n);
        let mut cum_coll = Vec::with_capacity(n + 1);
        let mut cum_debt = Vec::with_capacity(n + 1);
        let (mut sc, mut sd) = (0.0, 0.0);
        cum_coll.push(0.0);
        cum_debt.push(0.0);
        for &i in &order {
            let b = &cohort.borrowers[i];
            liq0.push(key(i));
            coll.push(b.collateral);
            debt.push(b.debt_usd);
            id.push(b.id);
            sc += b.collateral;
            sd += b.debt_usd;
            cum_coll.push(sc);
            cum_debt.push(sd);
        }
        liq0.extend([f64::NEG_INFINITY; SENTINELS]);
        // Made non-increasing (a running maximum from the end) so that it can be searched like
        // the keys; raising a threshold keeps it conservative.
        let mut log_above: Vec<f64> = liq0.iter().map(|&k| log_key_above(k)).collect();
        for j in (0..n.saturating_sub(1)).rev() {
            if log_above[j] < log_above[j + 1] {
                log_above[j] = log_above[j + 1];
            }
        }
        Ok(Book { n, liq0, log_above, coll, debt, id, cum_coll, cum_debt })
    }

    /// Total collateral of positions `a..b`.
    #[inline]
    pub fn coll_sum(&self, a: usize, b: usize) -> f64 {
        self.cum_coll[b] - self.cum_coll[a]
    }

    /// Total debt of positions `a..b`.
    #[inline]
    pub fn debt_sum(&self, a: usize, b: usize) -> f64 {
        self.cum_debt[b] - self.cum_debt[a]
    }

    /// The first index `j >= from` with `liq0[j] <= theta` (`from <= n`; the sentinels stop it
    /// at `n`).
    #[inline]
    pub fn advance(&self, from: usize, theta: f64) -> usize {
        advance_in(&self.liq0, self.n, from, theta)
    }

    /// The first index `j >= from` with `log_above[j] <= log_price` (`from <= n`): every position
    /// before it may be liquidatable at `exp(log_price)`, none from it on is (see
    /// [`log_key_above`]).
    #[inline]
    pub fn advance_log(&self, from: usize, log_price: f64) -> usize {
        advance_in(&self.log_above, self.n, from, log_price)
    }

    /// The first index in `a..b` whose `liq0` is not above `k` (`b` if none).
    #[inline]
    pub fn split_above(&self, a: usize, b: usize, k: f64) -> usize {
        if a >= b || !(self.liq0[a] > k) {
            return a;
        }
        if self.liq0[b - 1] > k {
            return b;
        }
        a + self.liq0[a..b].partition_point(|&x| x > k)
    }

    /// The first index in `a..b` whose `liq0` is below `k` (`b` if none).
    #[inline]
    pub fn split_at_least(&self, a: usize, b: usize, k: f64) -> usize {
        if a >= b || self.liq0[a] < k {
            return a;
        }
        if self.liq0[b - 1] >= k {
            return b;
        }
        a + self.liq0[a..b].partition_point(|&x| x >= k)
    }
}

/// The first index `j >= from` with `!(keys[j] > theta)` in descending `keys` of `n` entries
/// followed by at least [`CHUNK`] + 1 sentinels that stop it (`from <= n`): chunks of
/// [`CHUNK`] keys first, then galloping and a binary search for long runs. (Always inlined: a
/// cascade round waits for it.)
#[inline(always)]
fn advance_in(keys: &[f64], n: usize, from: usize, theta: f64) -> usize {
    let mut j = from;
    // Most cascade rounds liquidate a few dozen positions. The keys descend, so the number of a
    // chunk's keys above `theta` is the offset of the first that is not: a count without a
    // branch per key (one unpredictable branch per round instead of one per key).
    for _ in 0..64 / CHUNK {
        let chunk: &[f64; CHUNK] = keys[j..j + CHUNK].try_into().expect("a chunk is CHUNK keys");
        let above = chunk.iter().map(|&k| usize::from(k > theta)).sum::<usize>();
        if above < CHUNK {
            return j + above;
        }
        j += CHUNK;
    }
    // Gallop: find hi with !(keys[hi] > theta).
    let mut step = 64;
    let mut lo = j; // keys[lo - 1] > theta is known
    let mut hi = j;
    loop {
        if hi >= n {
            hi = n;
            break;
        }
        if !(keys[hi] > theta) {
            break;
        }
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    // First index in [lo, hi] with !(keys > theta) (keys[hi] fails or hi = n).
    lo + keys[lo..hi].partition_point(|&x| x > theta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_market::Borrower;

    fn book(liqs: &[f64]) -> Book {
        let borrowers = liqs
            .iter()
            .enumerate()
            .map(|(i, &l)| Borrower { id: i as u64, collateral: 1.0, debt_usd: l })
            .collect();
        Book::new(&Cohort { borrowers }, 1.0).unwrap()
    }

    #[test]
    fn sorted_descending_with_sentinel_and_prefix_sums() {
        let b = book(&[3.0, 5.0, 1.0, 5.0]);
        assert_eq!(b.liq0[..5], [5.0, 5.0, 3.0, 1.0, f64::NEG_INFINITY]);
        assert_eq!(b.liq0.len(), 4 + SENTINELS);
        assert!(b.liq0[4..].iter().all(|&k| k == f64::NEG_INFINITY));
        assert_eq!(b.id, vec![1, 3, 0, 2]);
        assert_eq!(b.debt_sum(1, 3), 8.0);
        assert_eq!(b.coll_sum(0, 4), 4.0);
    }

    #[test]
    fn advance_matches_a_linear_scan_at_every_start_near_the_chunk_edges() {
        // Small books around the chunk width, with ties, from every start, at thetas equal to
        // keys (strictly above is the rule) and between them.
        for n in [1usize, 7, 8, 9, 16, 17, 64, 65, 66, 200] {
            let liqs: Vec<f64> = (0..n).map(|i| (n - i / 3) as f64).collect();
            let b = book(&liqs);
            for from in 0..=n {
                for theta in [f64::INFINITY, n as f64 + 1.0, n as f64, n as f64 - 2.5, 50.0, 3.0, 0.5] {
                    let mut j = from;
                    while j < b.n && b.liq0[j] > theta {
                        j += 1;
                    }
                    assert_eq!(b.advance(from, theta), j, "n {n} from {from} theta {theta}");
                }
            }
        }
    }

    #[test]
    fn the_log_search_never_stops_before_the_price_search() {
        // Keys packed within a few ulps of prices the search is asked about: the log search's
        // end is never before the exact one, and the key it stops at is never liquidatable.
        let mut state = 5u64;
        let mut next = || headroom_market::rng::splitmix64(&mut state);
        for base in [0.999_999_7, 1.0, 2.5, 1000.0, 2847.123, 1e7] {
            let mut liqs: Vec<f64> = (0..300)
                .map(|_| {
                    let ulps = (next() % 41) as f64 - 20.0;
                    base * (1.0 + ulps * f64::EPSILON)
                })
                .collect();
            liqs.push(base * 0.5);
            let b = book(&liqs);
            for _ in 0..300 {
                let ulps = (next() % 61) as f64 - 30.0;
                let lp = (base * (1.0 + ulps * f64::EPSILON)).ln();
                let x = lp.exp();
                let from = (next() % 20) as usize;
                let exact = b.advance(from, x);
                let jl = b.advance_log(from, lp);
                assert!(jl >= exact, "base {base} lp {lp}: log {jl} < exact {exact}");
                assert!(!(b.liq0[jl] > x), "base {base}: the log search stopped at a liquidatable key");
            }
        }
        // Non-increasing, so the chunked search is valid.
        let b = book(&[3.0, 5.0, 1.0, 5.0, 0.9999999999999999, 1.0]);
        assert!(b.log_above[..b.n].windows(2).all(|w| w[0] >= w[1]));
        assert!(b.log_above[b.n..].iter().all(|k| k.is_nan()));
    }

    #[test]
    fn advance_matches_a_linear_scan() {
        let liqs: Vec<f64> = (0..1000).map(|i| 1000.0 - i as f64).collect();
        let b = book(&liqs);
        for from in [0usize, 3, 17, 500, 999, 1000] {
            for theta in [2000.0, 999.5, 990.0, 700.0, 10.5, 0.5, -1.0] {
                let mut j = from;
                while j < b.n && b.liq0[j] > theta {
                    j += 1;
                }
                assert_eq!(b.advance(from, theta), j, "from {from} theta {theta}");
            }
        }
        assert_eq!(b.split_above(0, 10, 995.0), 5);
        assert_eq!(b.split_at_least(0, 10, 995.0), 6);
        assert_eq!(b.split_above(0, 10, 2000.0), 0);
        assert_eq!(b.split_at_least(0, 10, 0.0), 10);
    }

    #[test]
    fn bad_positions_are_rejected_with_their_row() {
        let c = Cohort { borrowers: vec![Borrower { id: 7, collateral: -1.0, debt_usd: 1.0 }] };
        let e = Book::new(&c, 0.8).unwrap_err().to_string();
        assert_eq!(e, "position 7 (cohort row 0): collateral = -1: must be finite and > 0");
        let c = Cohort { borrowers: vec![Borrower { id: 7, collateral: 1.0, debt_usd: f64::NAN }] };
        assert!(Book::new(&c, 0.8).is_err());
    }

    #[test]
    fn the_log_threshold_is_never_reached_while_the_price_is_under_the_key() {
        // At the threshold itself the price is already above the key, so a log price that
        // passes the idle test is a price the rounds would not liquidate at. Keys near 1 (tiny
        // logs), typical liquidation prices and extremes; without the margin the price at
        // ln(k) rounds to k or below for many of them.
        let mut state = 11u64;
        let mut without_margin = 0;
        for i in 0..200_000u64 {
            let u = headroom_market::rng::splitmix64(&mut state) as f64 / u64::MAX as f64;
            let k = match i % 4 {
                0 => 1.0 + (u - 0.5) * 1e-6,
                1 => 500.0 + 4500.0 * u,
                2 => (u * 80.0 - 40.0).exp(),
                _ => 2847.0 * (1.0 + (u - 0.5) * 1e-12),
            };
            assert!(log_key_above(k).exp() > k, "k = {k:e}");
            if k.ln().exp() <= k {
                without_margin += 1;
            }
        }
        assert!(without_margin > 1000, "the margin is needed ({without_margin} keys)");
        assert!(log_key_above(f64::NEG_INFINITY).is_nan(), "no position left: never acts");
    }
}
