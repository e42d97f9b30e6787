//! The summary statistics of a column on disk, exact and in bounded memory (docs/MODEL.md,
//! "Summary statistics out of core").
//!
//! The result is bit for bit [`stats_of_owned`] of the column's values in path order, whatever
//! their number: a column of at most `budget` values is read into memory and summarised there;
//! a longer one is read in passes, each in path order:
//!
//! 1. count, the compensated (Neumaier) sum in path order, the smallest and largest key;
//! 2. the corrected two-pass sums of the deviations, in path order, and a histogram of the keys
//!    (an f64's bits mapped so that unsigned order is `f64::total_cmp`'s) in `buckets` equal key
//!    ranges;
//! 3. the order statistics the quantiles and the tail need: each rank's bucket is known from the
//!    histogram; a bucket of one key gives its value at once, a bucket of at most `budget` values
//!    is collected and sorted, a larger one is split again by a histogram of its own range;
//! 4. the tail for es95: the worst `k` values are the tail edge's value (as many copies as fall
//!    in the tail) and every value beyond it, which are visited in ascending order in sorted
//!    windows of at most `budget` values and added one by one, as the in-memory sum of the sorted
//!    tail adds them.
//!
//! Memory is `budget` values plus the histogram, whatever the number of paths.

use crate::error::Result;
use crate::spill::ColumnSource;
use crate::stats::{interpolate, stats_of_owned, type7_ranks, Stats, Worst};
use std::sync::atomic::AtomicBool;

/// Values a summary job may hold in memory (2 MiB).
pub const BUDGET: usize = 1 << 18;

/// Buckets of a key histogram (512 KiB of counts).
pub const BUCKETS: usize = 1 << 16;

/// Anything that can give its values in path order, any number of times.
pub trait Values {
    /// Calls `f` with the values in path order, a block at a time.
    fn scan(&self, f: &mut dyn FnMut(&[f64])) -> Result<()>;
}

/// A spilled column with the cancellation flag its passes check.
pub struct Spilled<'a> {
    /// The column.
    pub source: &'a ColumnSource,
    /// Stops a pass with `Error::Interrupted` once set.
    pub cancel: Option<&'a AtomicBool>,
}

impl Values for Spilled<'_> {
    fn scan(&self, f: &mut dyn FnMut(&[f64])) -> Result<()> {
        self.source.scan(self.cancel, f)
    }
}

impl Values for &[f64] {
    fn scan(&self, f: &mut dyn FnMut(&[f64])) -> Result<()> {
        for block in self.chunks(4096) {
            f(block);
        }
        Ok(())
    }
}

/// The key of `x`: unsigned order of keys is `f64::total_cmp` order of values.
#[inline]
pub fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The value of a key.
#[inline]
pub fn from_key(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// The statistics of the column's values (`None` when it has none), as [`stats_of_owned`] gives
/// them for the same values in memory.
pub fn column_stats(col: &dyn Values, worst: Worst) -> Result<Option<Stats>> {
    column_stats_with(col, worst, BUDGET, BUCKETS)
}

/// [`column_stats`] with a given memory budget (values) and histogram size (tests use tiny
/// ones to take every branch).
pub fn column_stats_with(
    col: &dyn Values,
    worst: Worst,
    budget: usize,
    buckets: usize,
) -> Result<Option<Stats>> {
    let budget = budget.max(1);
    let buckets = buckets.max(2);
    // Pass 1: count, sum, key range; the values themselves while they fit.
    let mut n = 0u64;
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    let mut held: Option<Vec<f64>> = Some(Vec::new());
    col.scan(&mut |block| {
        for &x in block {
            let t = sum + x;
            comp += if sum.abs() >= x.abs() { (sum - t) + x } else { (x - t) + sum };
            sum = t;
            let k = key(x);
            lo = lo.min(k);
            hi = hi.max(k);
        }
        n += block.len() as u64;
        if let Some(v) = &mut held {
            if v.len() + block.len() <= budget {
                v.extend_from_slice(block);
            } else {
                held = None;
            }
        }
    })?;
    if n == 0 {
        return Ok(None);
    }
    if let Some(v) = held {
        return Ok(Some(stats_of_owned(v, worst)));
    }
    let nf = n as f64;
    let mean = (sum + comp) / nf;
    // Pass 2: the deviations' sums (n > budget >= 1, so n > 1) and the key histogram.
    let mut hist = Hist::new(lo, hi, buckets);
    let (mut ss, mut sr) = (0.0f64, 0.0f64);
    col.scan(&mut |block| {
        for &x in block {
            let d = x - mean;
            ss += d * d;
            sr += d;
            hist.add(key(x));
        }
    })?;
    let std = ((ss - sr * sr / nf).max(0.0) / (nf - 1.0)).sqrt();
    let se = std / nf.sqrt();
    // Pass 3: the order statistics.
    let un = n as usize;
    let k = ((0.05 * nf).ceil() as usize).max(1);
    let qs = [0.01, 0.05, 0.50, 0.95, 0.99];
    let mut ranks: Vec<u64> = Vec::with_capacity(2 * qs.len() + 1);
    for p in qs {
        let (a, b) = type7_ranks(un, p);
        ranks.extend([a as u64, b as u64]);
    }
    let edge = match worst {
        Worst::High => un - k,
        Worst::Low => k - 1,
    } as u64;
    ranks.push(edge);
    ranks.sort_unstable();
    ranks.dedup();
    let sel = Selector { col, budget, buckets };
    let mut picked = Vec::new();
    sel.select_in(&hist, 0, &ranks, &mut picked)?;
    picked.sort_by_key(|p| p.rank);
    let at = |r: usize| picked.iter().find(|p| p.rank == r as u64).map_or(f64::NAN, |p| p.value);
    let q = |p: f64| {
        let (a, b) = type7_ranks(un, p);
        interpolate(at(a), at(b), p, un)
    };
    // Pass 4: the tail, in ascending order.
    let e = picked.iter().find(|p| p.rank == edge).copied().unwrap_or(Picked {
        rank: edge,
        value: f64::NAN,
        below: 0,
        equal: 0,
    });
    let mut tail_sum: f64 = std::iter::empty::<f64>().sum();
    let ke = key(e.value);
    match worst {
        Worst::High => {
            let copies = e.below + e.equal - (n - k as u64);
            for _ in 0..copies {
                tail_sum += e.value;
            }
            let above = n - e.below - e.equal;
            if above > 0 {
                sel.ascending(ke + 1, hi, above, &mut |w| {
                    for &x in w {
                        tail_sum += x;
                    }
                })?;
            }
        }
        Worst::Low => {
            if e.below > 0 {
                sel.ascending(lo, ke - 1, e.below, &mut |w| {
                    for &x in w {
                        tail_sum += x;
                    }
                })?;
            }
            for _ in 0..(k as u64 - e.below) {
                tail_sum += e.value;
            }
        }
    }
    let es95 = tail_sum / k as f64;
    Ok(Some(Stats {
        n,
        mean,
        std,
        se,
        ci95_low: mean - crate::stats::ci95_multiplier(n) * se,
        ci95_high: mean + crate::stats::ci95_multiplier(n) * se,
        p01: q(0.01),
        p05: q(0.05),
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        es95,
    }))
}

/// An order statistic: its rank, its value, how many values are smaller and how many equal.
#[derive(Clone, Copy, Debug)]
struct Picked {
    rank: u64,
    value: f64,
    below: u64,
    equal: u64,
}

/// Counts of keys in `buckets` equal ranges of `[lo, hi]` (the last one may be shorter).
struct Hist {
    lo: u64,
    hi: u64,
    shift: u32,
    counts: Vec<u64>,
}

impl Hist {
    fn new(lo: u64, hi: u64, buckets: usize) -> Self {
        let width = hi - lo;
        let mut shift = 0;
        while (width >> shift) as u128 >= buckets as u128 {
            shift += 1;
        }
        let len = (width >> shift) as usize + 1;
        Hist { lo, hi, shift, counts: vec![0; len] }
    }

    #[inline]
    fn add(&mut self, k: u64) {
        if k >= self.lo && k <= self.hi {
            self.counts[((k - self.lo) >> self.shift) as usize] += 1;
        }
    }

    /// The key range of bucket `b`.
    fn range(&self, b: usize) -> (u64, u64) {
        let a = self.lo + ((b as u64) << self.shift);
        let end = (a as u128 + (1u128 << self.shift) - 1).min(self.hi as u128) as u64;
        (a, end)
    }
}

struct Selector<'a> {
    col: &'a dyn Values,
    budget: usize,
    buckets: usize,
}

impl Selector<'_> {
    /// A histogram of the keys in `[lo, hi]` (one pass).
    fn histogram(&self, lo: u64, hi: u64) -> Result<Hist> {
        let mut h = Hist::new(lo, hi, self.buckets);
        self.col.scan(&mut |block| {
            for &x in block {
                h.add(key(x));
            }
        })?;
        Ok(h)
    }

    /// The values whose keys fall in each of the sorted, disjoint `ranges` (one pass).
    fn collect(&self, ranges: &[(u64, u64)]) -> Result<Vec<Vec<f64>>> {
        let mut out = vec![Vec::new(); ranges.len()];
        let (first, last) = match (ranges.first(), ranges.last()) {
            (Some(f), Some(l)) => (f.0, l.1),
            _ => return Ok(out),
        };
        self.col.scan(&mut |block| {
            for &x in block {
                let k = key(x);
                if k < first || k > last {
                    continue;
                }
                let i = ranges.partition_point(|r| r.0 <= k);
                if i > 0 && k <= ranges[i - 1].1 {
                    out[i - 1].push(x);
                }
            }
        })?;
        Ok(out)
    }

    /// The order statistics of `ranks` (sorted, distinct, global), all inside the range of
    /// `hist`; `below` values lie below that range.
    fn select_in(&self, hist: &Hist, below: u64, ranks: &[u64], out: &mut Vec<Picked>) -> Result<()> {
        // Each rank's bucket, with the count below the bucket.
        let mut wanted: Vec<(usize, u64, Vec<u64>)> = Vec::new();
        let mut cum = below;
        let mut r = 0;
        for (b, &c) in hist.counts.iter().enumerate() {
            let mut here = Vec::new();
            while r < ranks.len() && ranks[r] < cum + c {
                here.push(ranks[r]);
                r += 1;
            }
            if !here.is_empty() {
                wanted.push((b, cum, here));
            }
            cum += c;
        }
        // One-key buckets at once, small ones collected in batches, large ones split again.
        let mut batch: Vec<(usize, u64, Vec<u64>)> = Vec::new();
        let mut batch_len = 0u64;
        for (b, cum_b, here) in wanted {
            let (a, z) = hist.range(b);
            let c = hist.counts[b];
            if a == z {
                for rank in here {
                    out.push(Picked { rank, value: from_key(a), below: cum_b, equal: c });
                }
            } else if c as usize <= self.budget {
                if batch_len + c > self.budget as u64 {
                    self.pick_batch(hist, &batch, out)?;
                    batch.clear();
                    batch_len = 0;
                }
                batch.push((b, cum_b, here));
                batch_len += c;
            } else {
                let sub = self.histogram(a, z)?;
                self.select_in(&sub, cum_b, &here, out)?;
            }
        }
        if !batch.is_empty() {
            self.pick_batch(hist, &batch, out)?;
        }
        Ok(())
    }

    fn pick_batch(&self, hist: &Hist, batch: &[(usize, u64, Vec<u64>)], out: &mut Vec<Picked>) -> Result<()> {
        let ranges: Vec<(u64, u64)> = batch.iter().map(|(b, _, _)| hist.range(*b)).collect();
        let values = self.collect(&ranges)?;
        for ((_, cum_b, here), mut v) in batch.iter().zip(values) {
            v.sort_unstable_by(f64::total_cmp);
            for &rank in here {
                let value = v[(rank - cum_b) as usize];
                let lt = v.partition_point(|x| x.total_cmp(&value).is_lt()) as u64;
                let le = v.partition_point(|x| x.total_cmp(&value).is_le()) as u64;
                out.push(Picked { rank, value, below: cum_b + lt, equal: le - lt });
            }
        }
        Ok(())
    }

    /// Calls `f` with the `count` values whose keys lie in `[lo, hi]`, in ascending order, in
    /// sorted windows of at most `budget` values.
    fn ascending(&self, lo: u64, hi: u64, count: u64, f: &mut dyn FnMut(&[f64])) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        if lo == hi {
            let window = vec![from_key(lo); (count as usize).min(self.budget)];
            let mut left = count;
            while left > 0 {
                let m = (left as usize).min(window.len());
                f(&window[..m]);
                left -= m as u64;
            }
            return Ok(());
        }
        if count as usize <= self.budget {
            let mut v = self.collect(&[(lo, hi)])?.pop().unwrap_or_default();
            v.sort_unstable_by(f64::total_cmp);
            f(&v);
            return Ok(());
        }
        let h = self.histogram(lo, hi)?;
        let mut b = 0;
        while b < h.counts.len() {
            let c = h.counts[b];
            if c as usize > self.budget {
                let (a, z) = h.range(b);
                self.ascending(a, z, c, f)?;
                b += 1;
                continue;
            }
            // A window of consecutive buckets holding at most `budget` values.
            let start = b;
            let mut total = 0u64;
            while b < h.counts.len() && total + h.counts[b] <= self.budget as u64 {
                total += h.counts[b];
                b += 1;
            }
            if total > 0 {
                let (a, _) = h.range(start);
                let (_, z) = h.range(b - 1);
                self.ascending(a, z, total, f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::stats;

    fn same(a: &Stats, b: &Stats) -> bool {
        let bits = |s: &Stats| {
            [s.mean, s.std, s.se, s.ci95_low, s.ci95_high, s.p01, s.p05, s.p50, s.p95, s.p99, s.es95]
                .map(f64::to_bits)
        };
        a.n == b.n && bits(a) == bits(b)
    }

    #[test]
    fn keys_order_as_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1e300,
            f64::INFINITY,
            f64::NAN,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} {}", w[0], w[1]);
            assert_eq!(w[0].total_cmp(&w[1]), key(w[0]).cmp(&key(w[1])));
        }
        for x in xs {
            assert_eq!(from_key(key(x)).to_bits(), x.to_bits());
        }
        assert!(key(-f64::NAN) < key(f64::NEG_INFINITY));
    }

    /// Columns that take every branch: ties, one value, signed zeros, subnormals, infinities,
    /// values spread over many binades and packed in one.
    fn columns() -> Vec<Vec<f64>> {
        let mut state = 11u64;
        let mut u = || (headroom_market::rng::splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
        let mut cols = vec![
            vec![3.0; 1000],
            vec![0.0, -0.0, 0.0, -0.0, 1.0],
            (0..997).map(|i| (i % 5) as f64).collect(),
            (0..1500).map(|i| if i % 3 == 0 { 0.0 } else { -0.0 }).collect(),
            vec![f64::INFINITY, 1.0, f64::NEG_INFINITY, 2.0, 5e-324, -5e-324, 0.0],
        ];
        cols.push((0..2049).map(|_| 2000.0 + 1000.0 * u()).collect());
        cols.push(
            (0..3001).map(|_| (u() * 80.0 - 40.0).exp2() * if u() < 0.3 { -1.0 } else { 1.0 }).collect(),
        );
        cols.push((0..1777).map(|i| if i % 4 == 0 { 0.0 } else { (u() * 50.0).floor() }).collect());
        cols.push((0..1200).map(|_| u() * 1e-308).collect());
        cols
    }

    #[test]
    fn out_of_core_equals_in_memory_bit_for_bit() {
        for (c, values) in columns().iter().enumerate() {
            for worst in [Worst::High, Worst::Low] {
                let want = stats(values, worst);
                for (budget, buckets) in [(1, 2), (2, 3), (7, 4), (64, 16), (500, 1 << 16), (1 << 20, 4)] {
                    let got = column_stats_with(&values.as_slice(), worst, budget, buckets).unwrap().unwrap();
                    assert!(
                        same(&got, &want),
                        "column {c} ({} values) {worst:?} budget {budget} buckets {buckets}:\n{got:?}\n{want:?}",
                        values.len()
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_column_has_no_statistics() {
        let empty: &[f64] = &[];
        assert!(column_stats_with(&empty, Worst::High, 1, 2).unwrap().is_none());
    }

    #[test]
    fn passes_stay_within_the_budget() {
        // A counting source: no collect or window may hold more than the budget.
        struct Counting<'a>(&'a [f64], std::cell::Cell<usize>);
        impl Values for Counting<'_> {
            fn scan(&self, f: &mut dyn FnMut(&[f64])) -> Result<()> {
                self.1.set(self.1.get() + 1);
                self.0.scan(f)
            }
        }
        let values: Vec<f64> = (0..100_000).map(|i| ((i * 7919) % 10_007) as f64).collect();
        let src = Counting(&values, std::cell::Cell::new(0));
        let got = column_stats_with(&src, Worst::High, 10_000, 1 << 10).unwrap().unwrap();
        assert!(same(&got, &stats(&values, Worst::High)));
        // Two passes for the moments; the histogram's buckets are binades here (the keys of 0
        // and 10,006 are about 1,036 binades apart), so the three that hold more than the budget
        // are split by a pass each and then collected (six); one for the small buckets' ranks,
        // one for the tail of 5,000 values.
        assert!(src.1.get() <= 10, "{} passes", src.1.get());
    }
}
