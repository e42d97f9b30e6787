//! The ledger: every dollar of a path has a payer and a payee.
//!
//! Each event of a path (a liquidation, an auction take, an absorb, a redistribution, a roll, its
//! hedge sale, a settlement) moves value between six parties, booked in USD at the true market
//! price just before the event (docs/MODEL.md, The ledger):
//!
//! | party | CDP world | P/N world |
//! | --- | --- | --- |
//! | borrower | the borrower | the N holder |
//! | lender | the suppliers, whose claim absorbs bad debt | the P holder |
//! | protocol | treasury, surplus buffer, reserves | none unless the design adds one |
//! | takers | liquidators, keepers, stability-pool depositors, searchers | roll counterparties, auction takers, searchers |
//! | market | the other side of every sale (slippage) | the same |
//! | validators | gas | gas |
//!
//! A column is what the party *gains* (negative when it loses). Every booking is a transfer from
//! one party to another, so the six columns sum to zero on every event and on every path
//! ([`Ledger::imbalance`]). The cost of a primitive is what borrower, lender and protocol lose
//! together to everyone else: `cost = takers + market + validators` ([`Ledger::cost`]).

/// One of the six parties of the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    /// The borrower (CDP) or the N holder (P/N).
    Borrower,
    /// The suppliers of the debt (CDP) or the P holder (P/N).
    Lender,
    /// The protocol's treasury, surplus buffer or reserves.
    Protocol,
    /// Liquidators, keepers, stability-pool depositors, roll counterparties, auction takers,
    /// searchers.
    Takers,
    /// The other side of every sale: what it gains is the seller's slippage.
    Market,
    /// Block producers: gas.
    Validators,
}

impl Party {
    /// Every party, in the order of the columns.
    pub const ALL: [Party; 6] =
        [Party::Borrower, Party::Lender, Party::Protocol, Party::Takers, Party::Market, Party::Validators];

    /// The party's column in paths.csv.
    pub fn column(self) -> &'static str {
        match self {
            Party::Borrower => "borrower_usd",
            Party::Lender => "lender_usd",
            Party::Protocol => "protocol_usd",
            Party::Takers => "takers_usd",
            Party::Market => "market_usd",
            Party::Validators => "validators_usd",
        }
    }
}

/// What each party gained over one event or one path, USD (negative: lost).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ledger {
    /// The borrower's (or N holder's) gain.
    pub borrower_usd: f64,
    /// The lender's (or P holder's) gain.
    pub lender_usd: f64,
    /// The protocol's gain.
    pub protocol_usd: f64,
    /// The takers' gain.
    pub takers_usd: f64,
    /// The market's gain: the slippage of every sale.
    pub market_usd: f64,
    /// The validators' gain: gas.
    pub validators_usd: f64,
}

impl Ledger {
    /// A party's balance.
    #[inline]
    pub fn get(&self, p: Party) -> f64 {
        match p {
            Party::Borrower => self.borrower_usd,
            Party::Lender => self.lender_usd,
            Party::Protocol => self.protocol_usd,
            Party::Takers => self.takers_usd,
            Party::Market => self.market_usd,
            Party::Validators => self.validators_usd,
        }
    }

    #[inline]
    fn slot(&mut self, p: Party) -> &mut f64 {
        match p {
            Party::Borrower => &mut self.borrower_usd,
            Party::Lender => &mut self.lender_usd,
            Party::Protocol => &mut self.protocol_usd,
            Party::Takers => &mut self.takers_usd,
            Party::Market => &mut self.market_usd,
            Party::Validators => &mut self.validators_usd,
        }
    }

    /// Books `usd` from `payer` to `payee` (a negative amount moves it the other way).
    #[inline]
    pub fn transfer(&mut self, payer: Party, payee: Party, usd: f64) {
        *self.slot(payer) -= usd;
        *self.slot(payee) += usd;
    }

    /// Books a sale by `seller` of `qty` units at the pre-trade market price `price` for
    /// `proceeds` USD: the seller loses `qty price - proceeds` (its slippage) to the market.
    /// Returns the slippage.
    #[inline]
    pub fn sale(&mut self, seller: Party, qty: f64, price: f64, proceeds: f64) -> f64 {
        let slippage = qty * price - proceeds;
        self.transfer(seller, Party::Market, slippage);
        slippage
    }

    /// Books gas of `usd` paid by `sender` to the validators.
    #[inline]
    pub fn gas(&mut self, sender: Party, usd: f64) {
        self.transfer(sender, Party::Validators, usd);
    }

    /// Adds another ledger's balances to this one (an event's bookings to its path's).
    #[inline]
    pub fn add(&mut self, other: &Ledger) {
        for p in Party::ALL {
            *self.slot(p) += other.get(p);
        }
    }

    /// Every balance multiplied by `k` (the same event booked for `k` identical holders).
    pub fn scaled(&self, k: f64) -> Ledger {
        let mut l = *self;
        for p in Party::ALL {
            *l.slot(p) *= k;
        }
        l
    }

    /// The cost of the primitive: what borrower, lender and protocol lose together to everyone
    /// else, `takers + market + validators`.
    #[inline]
    pub fn cost(&self) -> f64 {
        self.takers_usd + self.market_usd + self.validators_usd
    }

    /// The sum of the six balances: zero up to rounding when every booking was a transfer.
    pub fn imbalance(&self) -> f64 {
        Party::ALL.iter().map(|&p| self.get(p)).sum()
    }

    /// The largest balance in absolute value (the scale of [`Self::imbalance`]'s rounding).
    pub fn largest(&self) -> f64 {
        Party::ALL.iter().map(|&p| self.get(p).abs()).fold(0.0, f64::max)
    }

    /// Whether the six balances sum to zero within `rel_tol` of the largest term (1e-9 in the
    /// conservation tests). NaN balances never balance.
    pub fn balances(&self, rel_tol: f64) -> bool {
        self.imbalance().abs() <= rel_tol * self.largest().max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_sales_and_gas_balance_and_cost_is_what_leaves_the_pair() {
        let mut l = Ledger::default();
        // A liquidator takes a bonus of 114.29 from borrower (100) and lender (14.29) ...
        l.transfer(Party::Borrower, Party::Takers, 100.0);
        l.transfer(Party::Lender, Party::Takers, 14.29);
        // ... sells 1 ETH at 2,400 for 2,390 ...
        assert_eq!(l.sale(Party::Takers, 1.0, 2400.0, 2390.0), 10.0);
        // ... and pays 5 of gas.
        l.gas(Party::Takers, 5.0);
        assert_eq!(l.borrower_usd, -100.0);
        assert_eq!(l.lender_usd, -14.29);
        assert!((l.takers_usd - (114.29 - 15.0)).abs() < 1e-12);
        assert_eq!(l.market_usd, 10.0);
        assert_eq!(l.validators_usd, 5.0);
        assert!(l.balances(1e-12));
        assert!((l.cost() - 114.29).abs() < 1e-12, "the cost is what borrower and lender lost");
        let mut path = Ledger::default();
        path.add(&l);
        path.add(&l.scaled(2.0));
        assert!((path.borrower_usd + 300.0).abs() < 1e-12);
        assert!(path.balances(1e-12));
        let mut bad = path;
        bad.protocol_usd += 1.0;
        assert!(!bad.balances(1e-9));
        bad.protocol_usd = f64::NAN;
        assert!(!bad.balances(1e-9));
        assert_eq!(Party::ALL.map(Party::column)[3], "takers_usd");
    }
}
