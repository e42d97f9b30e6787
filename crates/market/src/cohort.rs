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
