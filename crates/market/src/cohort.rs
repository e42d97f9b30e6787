//! The borrowers of a cohort, shared by both worlds: the CDP world lends to them, the P/N world
//! splits their deposits.

/// One borrower: collateral in units of the asset, debt in USD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Borrower {
    /// The id written in events.csv (the CSV's `id`, or the index of a generated cohort).
    pub id: u64,
    /// Units of the asset deposited.
    pub collateral: f64,
    /// USD borrowed (CDP) or the P claim's strike value `K c` (P/N).
    pub debt_usd: f64,
}

impl Borrower {
    /// The price at which the position's health factor reaches 1 for liquidation threshold `lt`:
    /// `debt / (collateral lt)`.
    #[inline]
    pub fn liquidation_price(&self, lt: f64) -> f64 {
        self.debt_usd / (self.collateral * lt)
    }

    /// The strike of the P/N split that mirrors this position: `K = debt / collateral`.
    #[inline]
    pub fn strike(&self) -> f64 {
        self.debt_usd / self.collateral
    }
}

/// The cohort: every borrower of an experiment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cohort {
    /// The borrowers, in the order of their source (file or generator).
    pub borrowers: Vec<Borrower>,
}

impl Cohort {
    /// Number of borrowers.
    pub fn len(&self) -> usize {
        self.borrowers.len()
    }
    /// Whether the cohort is empty.
    pub fn is_empty(&self) -> bool {
        self.borrowers.is_empty()
    }
    /// Total collateral, units of the asset.
    pub fn total_collateral(&self) -> f64 {
        self.borrowers.iter().map(|b| b.collateral).sum()
    }
    /// Total debt, USD.
    pub fn total_debt_usd(&self) -> f64 {
        self.borrowers.iter().map(|b| b.debt_usd).sum()
    }
}

/// A ladder of positions, benchmark B1's cohort among them: position `i` of `n` has collateral
/// `c_i = collateral (1 + i mod cycle)`, health factor `h_i = hf_min + (hf_max - hf_min) (i +
/// 1/2) / n` and debt `d_i = c_i S0 lt / h_i` at start price `S0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ladder {
    /// Number of positions `n`.
    pub positions: u64,
    /// Collateral of the smallest position, units of the asset.
    pub collateral: f64,
    /// Number of distinct sizes (`1 + i mod cycle`), >= 1.
    pub cycle: u64,
    /// Lowest initial health factor.
    pub hf_min: f64,
    /// Highest initial health factor.
    pub hf_max: f64,
    /// The liquidation threshold the health factors refer to.
    pub lt: f64,
}

impl Ladder {
    /// Benchmark B1's cohort of `positions`: collateral `10 (1 + i mod 10)`, health factors
    /// from 1.02 to 2.0, LT 0.83 (5,000 positions in the benchmark).
    pub fn b1(positions: u64) -> Ladder {
        Ladder { positions, collateral: 10.0, cycle: 10, hf_min: 1.02, hf_max: 2.0, lt: 0.83 }
    }

    /// The cohort at start price `start_price` (ids `0..n`).
    pub fn cohort(&self, start_price: f64) -> Cohort {
        let n = self.positions as f64;
        let borrowers = (0..self.positions)
            .map(|i| {
                let c = self.collateral * (1 + i % self.cycle) as f64;
                let hf = self.hf_min + (self.hf_max - self.hf_min) * (i as f64 + 0.5) / n;
                Borrower { id: i, collateral: c, debt_usd: c * start_price * self.lt / hf }
            })
            .collect();
        Cohort { borrowers }
    }
}
