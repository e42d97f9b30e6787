//! "Who pays what": the ledger's six party columns, the cost of each primitive, the verdict on
//! their paired difference, the breakdown columns (parts of the ledger, never added to it) and
//! each side's whole result. Every figure is a row of summary.csv: the totals are the engine's,
//! not sums made here.

use super::data::{Side, SummaryRow};
use super::format::{fmt_ci, fmt_count, fmt_num, Out};
use super::render::find;
use headroom_montecarlo::spec::WorldKind;
use headroom_montecarlo::stats::STUDENT_BELOW;

/// One party of the ledger: its column and who it is in each world.
struct Party {
    column: &'static str,
    name: &'static str,
    cdp: &'static str,
    pn: &'static str,
}

const PARTIES: [Party; 6] = [
    Party { column: "borrower_usd", name: "borrower", cdp: "the borrower", pn: "the N holder" },
    Party {
        column: "lender_usd",
        name: "lender",
        cdp: "the suppliers, whose claim absorbs bad debt",
        pn: "the P holder",
    },
    Party {
        column: "protocol_usd",
        name: "protocol",
        cdp: "treasury, surplus buffer, reserves (fee share, chop, less the tip and chip it pays)",
        pn: "none",
    },
    Party {
        column: "takers_usd",
        name: "takers",
        cdp: "liquidators, keepers, stability-pool depositors, searchers",
        pn: "roll counterparties, auction takers, searchers",
    },
    Party { column: "market_usd", name: "market", cdp: "the other side of every sale", pn: "the same" },
    Party { column: "validators_usd", name: "validators", cdp: "gas", pn: "gas" },
];

/// One breakdown column: what it measures, and who pays and receives it.
struct Breakdown {
    column: &'static str,
    what: &'static str,
    payer: &'static str,
    payee: &'static str,
}

const CDP_BREAKDOWNS: [Breakdown; 5] = [
    Breakdown {
        column: "fees_usd",
        what: "incentive at the oracle's valuation (bonus, keeper discount, tip + chip, stability-pool gain)",
        payer: "borrower (lender for the unpaid debt; protocol for tip and chip)",
        payee: "takers (protocol for its fee share)",
    },
    Breakdown {
        column: "slippage_usd",
        what: "slippage of the forced sales",
        payer: "the seller of the seized collateral",
        payee: "market",
    },
    Breakdown {
        column: "oracle_loss_usd",
        what: "mispricing of every liquidation, seized units x (true - oracle price), signed",
        payer: "borrower when the oracle reads low",
        payee: "takers",
    },
    Breakdown {
        column: "shortfall_usd",
        what: "debt left unpaid (bad debt)",
        payer: "lender",
        payee: "borrower through limited liability for the part the price move made; takers for the part a discount made",
    },
    Breakdown { column: "interest_usd", what: "interest on the debt", payer: "borrower", payee: "lender" },
];

const PN_BREAKDOWNS: [Breakdown; 5] = [
    Breakdown {
        column: "fees_usd",
        what: "roll fees and auction discounts",
        payer: "P holder who rolls",
        payee: "takers",
    },
    Breakdown {
        column: "slippage_usd",
        what: "slippage of the rolls' sales",
        payer: "P holder who rolls",
        payee: "market",
    },
    Breakdown {
        column: "oracle_loss_usd",
        what: "settlement transfer (absolute), zero-sum between P and N",
        payer: "P or N holder, whichever the settlement error goes against",
        payee: "the other one",
    },
    Breakdown {
        column: "shortfall_usd",
        what: "P holders' shortfall below K at settlement",
        payer: "P holder (its exposure)",
        payee: "N holder's limited liability",
    },
    Breakdown {
        column: "premium_usd",
        what: "put premium at the start",
        payer: "borrower (N holder)",
        payee: "lender (P holder)",
    },
];

/// `mean [low, high]` of a row, or `n/a`.
fn mean_ci(r: Option<&SummaryRow>) -> String {
    r.map_or_else(|| "n/a".into(), |r| format!("{} {}", fmt_num(r.mean), fmt_ci(r.ci95_low, r.ci95_high)))
}

/// The section: headline, ledger table, breakdowns and each side's result.
pub fn section(out: &mut Out<'_>, summary: &[SummaryRow], label: &str) {
    let sides: Vec<Side> =
        Side::ALL.into_iter().filter(|s| find(summary, *s, "cost_usd").is_some()).collect();
    if sides.is_empty() {
        out.line("### Who pays what");
        out.line("");
        if summary.iter().any(|r| r.primitive != Side::Diff) {
            out.note(
                label,
                "summary.csv has no `cost_usd` row: it was written before the ledger columns; run the \
                 experiment again to see who pays what",
            );
        }
        return;
    }
    out.line("### Headline: the cost of each primitive");
    out.line("");
    for s in &sides {
        if let Side::World(_) = s {
            out.line(&format!(
                "- **{}**: {} USD per path {}, {} % a year of the deposit {}.",
                s.name(),
                fmt_num(find(summary, *s, "cost_usd").map_or(f64::NAN, |r| r.mean)),
                find(summary, *s, "cost_usd").map_or(String::new(), |r| fmt_ci(r.ci95_low, r.ci95_high)),
                fmt_num(find(summary, *s, "cost_pct_year").map_or(f64::NAN, |r| r.mean)),
                find(summary, *s, "cost_pct_year").map_or(String::new(), |r| fmt_ci(r.ci95_low, r.ci95_high)),
            ));
        }
    }
    out.line("");
    match find(summary, Side::Diff, "cost_usd") {
        Some(d) => out.line(&verdict(d, find(summary, Side::Diff, "cost_pct_year"))),
        None => out.line("Only one world was run: there is no CDP minus P/N difference to test."),
    }
    out.line("");

    out.line("### Who pays what: the ledger");
    out.line("");
    out.line(
        "Every event books, at the true market price just before it, what each party gains \
         (positive) or loses (negative); on every path the six columns sum to zero. The cost is \
         `cost_usd = takers_usd + market_usd + validators_usd`, what borrower, lender and protocol \
         lose together to everyone else; `cost_pct_year` is it in % a year of the cohort's \
         collateral value at the start. Mean USD per path [95% CI].",
    );
    out.line("");
    let mut head = vec!["party".to_string(), "CDP world".into(), "P/N world".into()];
    head.extend(sides.iter().map(|s| s.name().to_string()));
    out.line(&format!("| {} |", head.join(" | ")));
    out.line(&format!("| --- | --- | --- |{}", " ---: |".repeat(sides.len())));
    for p in &PARTIES {
        let mut row = vec![format!("{} (`{}`)", p.name, p.column), p.cdp.into(), p.pn.into()];
        row.extend(sides.iter().map(|s| mean_ci(find(summary, *s, p.column))));
        out.line(&format!("| {} |", row.join(" | ")));
    }
    for (name, col) in
        [("**cost** (`cost_usd`)", "cost_usd"), ("**cost, % a year** (`cost_pct_year`)", "cost_pct_year")]
    {
        let mut row = vec![name.to_string(), "takers + market + validators".into(), "the same".into()];
        row.extend(sides.iter().map(|s| format!("**{}**", mean_ci(find(summary, *s, col)))));
        out.line(&format!("| {} |", row.join(" | ")));
    }
    out.line("");

    out.line("### Breakdowns (parts of the ledger, never added to it)");
    out.line("");
    for s in &sides {
        let Side::World(w) = s else { continue };
        let items = match w {
            WorldKind::Cdp => &CDP_BREAKDOWNS,
            WorldKind::Pn => &PN_BREAKDOWNS,
        };
        out.line(&format!("**{} world**", s.name()));
        out.line("");
        out.line("| column | what it measures | paid by | received by | mean [95% CI] |");
        out.line("| --- | --- | --- | --- | ---: |");
        for b in items {
            let value = find(summary, *s, b.column).map_or("not in this run".into(), |r| mean_ci(Some(r)));
            out.line(&format!("| `{}` | {} | {} | {} | {value} |", b.column, b.what, b.payer, b.payee));
        }
        out.line("");
    }

    out.line("### Each side's whole result");
    out.line("");
    out.line(
        "What the borrower (N holder) and the lender (P holder) made over the path, marked at the \
         final market price: exposure, events, interest or premium. The P holder's line is how \
         USD-stable its claim was; the CDP lender's what lending earned on the same paths.",
    );
    out.line("");
    out.line(&format!("| result | {} |", sides.iter().map(|s| s.name()).collect::<Vec<_>>().join(" | ")));
    out.line(&format!("| --- |{}", " ---: |".repeat(sides.len())));
    for (name, col) in [
        ("borrower (`borrower_pnl_usd`)", "borrower_pnl_usd"),
        ("lender (`lender_pnl_usd`)", "lender_pnl_usd"),
    ] {
        let cells: Vec<String> = sides.iter().map(|s| mean_ci(find(summary, *s, col))).collect();
        out.line(&format!("| {name} | {} |", cells.join(" | ")));
    }
    out.line("");
    if let Some(line) = find(summary, Side::World(WorldKind::Pn), "p_drift").and_then(drift_line) {
        out.line(&line);
        out.line("");
    }
}

/// The proposal's claim for the P holder's "quadratic drift", % a year [P/N].
const CLAIMED_DRIFT_PCT: (f64, f64) = (1.0, 4.0);

/// The sentence on the P holder's value drift, `p_drift` x 100 in % a year with its 95%
/// interval, beside the proposal's 1-4% a year: inside, below or above the claim when the
/// interval is, else across one of its ends. `None` when the run did not mark (no value).
pub fn drift_line(r: &SummaryRow) -> Option<String> {
    if r.n == 0 || !r.mean.is_finite() {
        return None;
    }
    let (lo, hi) = (100.0 * r.ci95_low, 100.0 * r.ci95_high);
    let (a, b) = CLAIMED_DRIFT_PCT;
    let claim = format!("the {a}-{b}% a year the proposal quotes for it");
    let verdict = if !(lo.is_finite() && hi.is_finite()) {
        format!("to set beside {claim} (no interval over {} path)", fmt_count(r.n))
    } else if lo >= a && hi <= b {
        format!("**inside** {claim}")
    } else if hi < a {
        format!("**below** {claim}")
    } else if lo > b {
        format!("**above** {claim}")
    } else {
        let edge = if lo < a { a } else { b };
        format!("across the {edge}% end of {claim}")
    };
    Some(format!(
        "**The P holder's value drift** (`p_drift` x 100: the realised annualised volatility of the \
         cohort's P value between marks, mean over {} paths): **{} % a year** {}, {verdict}.",
        fmt_count(r.n),
        fmt_num(100.0 * r.mean),
        fmt_ci(lo, hi),
    ))
}

/// The sentence on the CDP minus P/N difference of cost, from its `diff` rows of summary.csv
/// (paired per path by the engine): exact when it has no spread, otherwise significant or not at
/// the 5% level, always saying how many paths it rests on.
pub fn verdict(cost: &SummaryRow, pct: Option<&SummaryRow>) -> String {
    let n = cost.n;
    let paths = format!("{} path{}", fmt_count(n), if n == 1 { "" } else { "s" });
    let pct_of = |r: Option<&SummaryRow>| {
        r.map_or(String::new(), |r| format!(" ({} % a year of the deposit)", fmt_num(r.mean.abs())))
    };
    let (more, by) = if cost.mean >= 0.0 { ("more", cost.mean) } else { ("less", -cost.mean) };
    if cost.std == 0.0 {
        if cost.mean == 0.0 {
            return format!(
                "The CDP and the P/N split cost exactly the same on each of the {paths}: the \
                 difference is 0 with no sampling error, nothing to test."
            );
        }
        return format!(
            "The CDP costs {} USD per path{} {more} than the P/N split on each of the {paths}: the \
             difference is **exact** (no sampling error), not a statistical estimate.",
            fmt_num(by),
            pct_of(pct)
        );
    }
    if !(cost.ci95_low.is_finite() && cost.ci95_high.is_finite()) {
        return format!(
            "The CDP minus P/N difference of cost averages {} USD per path; with {paths} it has no \
             interval.",
            fmt_num(cost.mean)
        );
    }
    let ci = fmt_ci(cost.ci95_low, cost.ci95_high);
    let pct_ci = pct.map_or(String::new(), |r| format!("; in % a year {}", fmt_ci(r.ci95_low, r.ci95_high)));
    let method = if n < STUDENT_BELOW { "paired, Student's t" } else { "paired" };
    if cost.ci95_low > 0.0 || cost.ci95_high < 0.0 {
        format!(
            "The difference is **significant** at the 5% level: the CDP costs {} USD per path{} \
             {more} than the P/N split (95% CI {ci}{pct_ci}; {method}, over {paths}).",
            fmt_num(by),
            pct_of(pct)
        )
    } else {
        format!(
            "The CDP minus P/N difference of cost, {} USD per path (95% CI {ci}{pct_ci}; {method}, \
             over {paths}), is **not significant** at the 5% level: the interval contains 0.",
            fmt_num(cost.mean)
        )
    }
}
