//! The per-path result row every primitive fills, and the events a path may record.

use crate::ledger::Ledger;

/// One path's result for one primitive (docs/MODEL.md). Costs are USD, positive when
/// someone loses. The optional fields are primitive-specific and blank in the other's rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathMetrics {
    /// CDP: liquidations; P/N: rolls.
    pub exits: u64,
    /// CDP: collateral seized and sold (units of the asset); P/N: ETH-delta sold by rolls.
    pub eth_sold: f64,
    /// CDP: liquidation bonus paid; P/N: roll fees. Transfers to third parties.
    pub fees_usd: f64,
    /// Slippage of the forced sales (CDP) or of the rolls (P/N). A loss.
    pub slippage_usd: f64,
    /// CDP: value lost by wrongful liquidations (true minus oracle value of the seized
    /// collateral); P/N: the absolute settlement transfer between P and N.
    pub oracle_loss_usd: f64,
    /// CDP: liquidations of positions solvent at the true price; P/N: always 0.
    pub wrongful_exits: u64,
    /// CDP: bad debt; P/N: P holders' shortfall below their strike at settlement.
    pub shortfall_usd: f64,
    /// The most liquidation (or roll) rounds in any one step.
    pub max_cascade_rounds: u64,
    /// Positions liquidated (or holders that rolled) at least once.
    pub positions_hit: u64,
    /// Lowest market price over the path, the start price and every step and round included.
    pub min_price: f64,
    /// Market price at the end of the path.
    pub final_price: f64,
    /// The ledger: what each of the six parties gained over the path, USD (docs/MODEL.md, The
    /// ledger). Its balances sum to zero.
    pub ledger: Ledger,
    /// The cost of the primitive, `takers + market + validators` of the ledger, USD.
    pub cost_usd: f64,
    /// `cost_usd` in percent a year of the cohort's collateral value at the start of the path:
    /// `100 cost_usd / deposit_usd / horizon_years`.
    pub cost_pct_year: f64,
    /// The borrower's (N holder's) whole result over the path, marked at the final market price.
    pub borrower_pnl_usd: f64,
    /// The lender's (P holder's) whole result over the path, marked at the final market price.
    pub lender_pnl_usd: f64,
    /// Liquidations (or rolls) that waited for a later step because the step's bound was reached.
    pub deferred: u64,
    /// CDP only: interest charged on the debt over the horizon.
    pub interest_usd: Option<f64>,
    /// P/N only: the put premium at the start, from borrower to P holder.
    pub premium_usd: Option<f64>,
    /// P/N only: realised annualised volatility of the cohort's P value in USD.
    pub p_drift: Option<f64>,
    /// P/N only: the annualised volatility P and N were priced at on this path (the experiment's
    /// `pricing_vol`, else what was known at the path's start: per window for `windows`).
    pub pricing_vol: Option<f64>,
}

impl PathMetrics {
    /// Sets `cost_usd` from the ledger and `cost_pct_year` from it, the deposit (the cohort's
    /// collateral value at the start of the path, USD) and the horizon (years).
    pub fn set_cost(&mut self, deposit_usd: f64, horizon_years: f64) {
        self.cost_usd = self.ledger.cost();
        let scale = deposit_usd * horizon_years;
        self.cost_pct_year = if scale > 0.0 { 100.0 * self.cost_usd / scale } else { 0.0 };
    }
}

/// What happened in an event row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A (possibly partial) liquidation.
    Liquidation,
    /// A borrower added collateral.
    TopUp,
    /// A P holder rolled to a lower strike.
    Roll,
    /// An auction settled (Maker flip or clip).
    Auction,
    /// Settlement at maturity.
    Settlement,
    /// A hedge trade of the P/N rolls (a block sale, a TWAP slice, a passive fill).
    Hedge,
    /// A Maker clip auction reset (`redo`): the keeper's reward, no collateral.
    AuctionReset,
    /// An auction still open at the end of the path (its lot and tab as they stand).
    AuctionOpen,
    /// The P/N roll counterparty rebalancing its hedge to the open P claims' delta (its
    /// transaction's gas; the trade itself follows as `hedge` rows).
    Rebalance,
}

impl EventKind {
    /// The label written in events.csv.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Liquidation => "liquidation",
            EventKind::TopUp => "topup",
            EventKind::Roll => "roll",
            EventKind::Auction => "auction",
            EventKind::Settlement => "settlement",
            EventKind::Hedge => "hedge",
            EventKind::AuctionReset => "auction_reset",
            EventKind::AuctionOpen => "auction_open",
            EventKind::Rebalance => "rebalance",
        }
    }

    /// Every kind, in the order of the enum.
    pub const ALL: [EventKind; 9] = [
        EventKind::Liquidation,
        EventKind::TopUp,
        EventKind::Roll,
        EventKind::Auction,
        EventKind::Settlement,
        EventKind::Hedge,
        EventKind::AuctionReset,
        EventKind::AuctionOpen,
        EventKind::Rebalance,
    ];

    /// The kind whose [`EventKind::label`] is `label`.
    pub fn from_label(label: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.label() == label)
    }
}

/// One row of events.csv: a liquidation, roll or other action on one position.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Step index (0-based) in which it happened.
    pub step: u32,
    /// Cascade or roll round within the step (0-based).
    pub round: u32,
    /// Id of the position (the cohort's `id`).
    pub position: u64,
    /// What happened.
    pub kind: EventKind,
    /// Units of the asset moved (seized, shed, added).
    pub eth: f64,
    /// USD amount of the action (debt repaid, value rolled, ...).
    pub usd: f64,
    /// Fee or bonus paid to a third party, USD.
    pub fee_usd: f64,
    /// Oracle price the action was decided on.
    pub oracle_price: f64,
    /// True market price at that moment.
    pub market_price: f64,
    /// Liquidated while solvent at the true price.
    pub wrongful: bool,
    /// What the event moved between the six parties (its balances sum to zero).
    pub ledger: Ledger,
}

/// Where a primitive records its events; disabled on all but the first `--event-paths` paths,
/// so the hot loop pays one branch when events are off.
#[derive(Clone, Debug, Default)]
pub struct EventSink {
    enabled: bool,
    rows: Vec<Event>,
}

impl EventSink {
    /// A sink that records (`enabled`) or drops every event.
    pub fn new(enabled: bool) -> Self {
        EventSink { enabled, rows: Vec::new() }
    }
    /// Whether events are recorded.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Records an event if enabled.
    #[inline]
    pub fn push(&mut self, e: Event) {
        if self.enabled {
            self.rows.push(e);
        }
    }
    /// Takes the recorded events, leaving the sink empty.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.rows)
    }
}
