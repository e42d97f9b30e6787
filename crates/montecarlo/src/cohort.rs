//! Building the cohort of an experiment: a ladder, random draws, or a CSV file.

use crate::error::{Error, Result};
use crate::spec::CohortSpec;
use headroom_market::{stream, Borrower, Cohort, Ladder, Purpose};
use rand::RngExt;
use rand_distr::StandardNormal;
use std::path::Path;

/// Builds the cohort described by `spec`; `start_price` turns health factors into debts and
/// `base_dir` resolves a CSV path; `seed` feeds the setup stream of a random cohort.
pub fn build_cohort(spec: &CohortSpec, start_price: f64, seed: u64, base_dir: &Path) -> Result<Cohort> {
    let borrowers = match *spec {
        CohortSpec::Ladder { positions, collateral, cycle, hf_min, hf_max, lt } => {
            return Ok(Ladder { positions, collateral, cycle, hf_min, hf_max, lt }.cohort(start_price));
        }
        CohortSpec::Random { positions, collateral_median, collateral_log_sd, hf_min, hf_max, lt } => {
            let mut rng = stream(seed, 0, Purpose::Setup);
            (0..positions)
                .map(|i| {
                    let z: f64 = rng.sample(StandardNormal);
                    let u: f64 = rng.random();
                    let c = collateral_median * (collateral_log_sd * z).exp();
                    let hf = hf_min + (hf_max - hf_min) * u;
                    Borrower { id: i, collateral: c, debt_usd: c * start_price * lt / hf }
                })
                .collect()
        }
        CohortSpec::Csv { ref file } => return load_cohort_csv(&base_dir.join(file)),
    };
    Ok(Cohort { borrowers })
}

/// Loads `id,collateral,debt` rows (debt in USD; extra columns are ignored). Collateral and debt
/// must be finite and > 0, ids unique; a bad row is an error naming its line.
pub fn load_cohort_csv(file: &Path) -> Result<Cohort> {
    let bad = |line: u64, message: String| Error::Csv { file: file.to_path_buf(), line, message };
    let mut rdr =
        csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(file).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::read(file, io),
            other => bad(1, format!("{other:?}")),
        })?;
    let headers = rdr.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(col_id), Some(col_coll), Some(col_debt)) = (col("id"), col("collateral"), col("debt")) else {
        return Err(bad(
            1,
            format!(
                "header must have columns id,collateral,debt; found {:?}",
                headers.iter().collect::<Vec<_>>()
            ),
        ));
    };
    let mut borrowers = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (k, rec) in rdr.records().enumerate() {
        let line = k as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let field = |i: usize, name: &str| -> Result<&str> {
            rec.get(i).ok_or_else(|| bad(line, format!("missing column {name}")))
        };
        let idv = field(col_id, "id")?;
        let id: u64 =
            idv.parse().map_err(|_| bad(line, format!("id = {idv:?}: must be a whole number >= 0")))?;
        let num = |i: usize, name: &str| -> Result<f64> {
            let s = field(i, name)?;
            let v: f64 = s.parse().map_err(|_| bad(line, format!("{name} = {s:?}: must be a number > 0")))?;
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(bad(line, format!("{name} = {s}: must be finite and > 0")))
            }
        };
        let collateral = num(col_coll, "collateral")?;
        let debt_usd = num(col_debt, "debt")?;
        if !seen.insert(id) {
            return Err(bad(line, format!("id {id} appears twice: ids must be unique")));
        }
        borrowers.push(Borrower { id, collateral, debt_usd });
    }
    if borrowers.is_empty() {
        return Err(bad(1, "no positions: the file needs at least one row".into()));
    }
    Ok(Cohort { borrowers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_matches_b1_formulas() {
        let spec = CohortSpec::Ladder {
            positions: 5000,
            collateral: 10.0,
            cycle: 10,
            hf_min: 1.02,
            hf_max: 2.0,
            lt: 0.83,
        };
        let c = build_cohort(&spec, 3000.0, 1, Path::new(".")).unwrap();
        assert_eq!(c.len(), 5000);
        let b = c.borrowers[13];
        assert_eq!(b.collateral, 40.0);
        let h = 1.02 + 0.98 * 13.5 / 5000.0;
        assert!((b.debt_usd - 40.0 * 3000.0 * 0.83 / h).abs() < 1e-9);
        assert!((b.liquidation_price(0.83) - 3000.0 / h).abs() < 1e-9);
    }

    #[test]
    fn random_cohort_is_reproducible_and_in_range() {
        let spec = CohortSpec::Random {
            positions: 300,
            collateral_median: 5.0,
            collateral_log_sd: 1.0,
            hf_min: 1.1,
            hf_max: 1.5,
            lt: 0.8,
        };
        let a = build_cohort(&spec, 2000.0, 7, Path::new(".")).unwrap();
        let b = build_cohort(&spec, 2000.0, 7, Path::new(".")).unwrap();
        assert_eq!(a, b);
        for x in &a.borrowers {
            let hf = x.collateral * 2000.0 * 0.8 / x.debt_usd;
            assert!((1.1..=1.5).contains(&hf), "hf {hf}");
        }
    }

    #[test]
    fn csv_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("headroom-cohort-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let check = |body: &str, line: u64, needle: &str| {
            let f = dir.join("c.csv");
            std::fs::write(&f, body).unwrap();
            let e = load_cohort_csv(&f).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::Csv { line: l, .. } if l == line), "{msg}");
            assert!(msg.contains(needle) && msg.contains("c.csv"), "{msg}");
        };
        check("id,collateral,debt\n1,2,3\n2,NaN,3\n", 3, "collateral");
        check("id,collateral,debt\n1,-2,3\n", 2, "collateral");
        check("id,collateral,debt\n1,2,0\n", 2, "debt");
        check("id,coll,debt\n1,2,3\n", 1, "id,collateral,debt");
        check("id,collateral,debt\n1,2,3\n1,2,3\n", 3, "twice");
        check("id,collateral,debt\n1,2\n", 2, "");
        let f = dir.join("ok.csv");
        std::fs::write(&f, "id,collateral,debt,extra\n7, 2.5 ,3000,x\n").unwrap();
        let c = load_cohort_csv(&f).unwrap();
        assert_eq!(c.borrowers, vec![Borrower { id: 7, collateral: 2.5, debt_usd: 3000.0 }]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
