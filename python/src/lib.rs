//! `headroom._headroom`: the engine behind the Python package `headroom` (python/headroom/),
//! which turns these functions' column arrays into polars DataFrames and their JSON into dicts.
//! Every function calls the same library code as the command line (`headroom run`, `sweep`,
//! `validate`, `position`, `price`), so the numbers are the command line's; runs release the GIL
//! and stop on Ctrl-C ([`detach`]).

mod detach;
mod errors;
mod experiment;
mod frames;

use detach::run_detached;
use errors::{number, whole, ExperimentError};
use experiment::Source;
use headroom_montecarlo::columns::summary_rows;
use headroom_montecarlo::frame::{paths_columns, summary_columns, sweep_columns};
use headroom_montecarlo::output::{manifest_of, write_result, RunInfo, WriteOptions};
use headroom_montecarlo::position::PositionInput;
use headroom_montecarlo::price::PriceInput;
use headroom_montecarlo::staging::Disk;
use headroom_montecarlo::sweep::{sweep_summaries, write_sweep};
use headroom_montecarlo::{Error, RunOptions};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The commit the module was built from, for manifest.json.
const GIT_COMMIT: &str = env!("HEADROOM_GIT_COMMIT");

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs an experiment: `(summary columns, paths columns, manifest JSON)`; with `out`, also
/// writes the result folder of `headroom run --out`.
#[pyfunction]
#[pyo3(signature = (experiment, *, paths=None, seed=None, threads=None, out=None))]
fn run<'py>(
    py: Python<'py>,
    experiment: &Bound<'py, PyAny>,
    paths: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyTuple>> {
    let source = Source::from_py(experiment)?;
    let (paths, seed) = (whole(paths, "--paths")?, whole(seed, "--seed")?);
    let threads = whole(threads, "--threads")?.map(|t| t as usize);
    let (summary, rows, manifest) = run_detached(py, threads, |cancel| {
        let exp = source.build(paths, seed)?;
        let started = Instant::now();
        let result =
            exp.run(&RunOptions { paths: 0..exp.spec.paths(), cancel: Some(cancel), ..Default::default() })?;
        let opts = WriteOptions {
            paths_csv: true,
            events_csv: false,
            shard: None,
            threads: threads.unwrap_or_else(cores),
            wall_seconds: Some(started.elapsed().as_secs_f64()),
            git_commit: GIT_COMMIT.to_string(),
            disk: Disk::real(),
            cancel: Some(cancel),
        };
        let info = RunInfo::of(&exp);
        let (summary, rows) = rayon::join(
            || summary_columns(&summary_rows(&result.kinds, &result.slices(), exp.se_method())),
            || paths_columns(&result),
        );
        if let Some(out) = &out {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            write_result(out, &info, &result, &opts)?;
        }
        Ok((summary, rows, manifest_of(&info, &result, &opts).to_string()))
    })?;
    (frames::to_py(py, &summary)?, frames::to_py(py, &rows)?, manifest).into_pyobject(py)
}

/// Runs the grid of the experiment's `[sweep]` table: sweep.csv's columns; with `out`, also
/// writes the folder of `headroom sweep --out`.
#[pyfunction]
#[pyo3(signature = (experiment, *, paths=None, seed=None, threads=None, out=None))]
fn sweep<'py>(
    py: Python<'py>,
    experiment: &Bound<'py, PyAny>,
    paths: Option<&Bound<'py, PyAny>>,
    seed: Option<&Bound<'py, PyAny>>,
    threads: Option<&Bound<'py, PyAny>>,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyList>> {
    let source = Source::from_py(experiment)?;
    let (paths, seed) = (whole(paths, "--paths")?, whole(seed, "--seed")?);
    let threads = whole(threads, "--threads")?.map(|t| t as usize);
    let columns = run_detached(py, threads, |cancel| {
        let sw = source.sweep(paths, seed)?;
        let started = Instant::now();
        let results = sweep_summaries(&sw, &RunOptions { cancel: Some(cancel), ..Default::default() })?;
        if let Some(out) = &out {
            write_sweep(out, &sw, &results, started.elapsed().as_secs_f64(), GIT_COMMIT)?;
        }
        Ok(sweep_columns(&sw, &results))
    })?;
    frames::to_py(py, &columns)
}

/// Checks an experiment and returns it resolved (every default filled in) as JSON.
#[pyfunction]
fn validate(py: Python<'_>, experiment: &Bound<'_, PyAny>) -> PyResult<String> {
    let source = Source::from_py(experiment)?;
    run_detached(py, None, |_| {
        let exp = source.build(None, None)?;
        Ok(headroom_montecarlo::output::resolved_config(&exp).to_string())
    })
}

/// `headroom position --json`.
#[pyfunction]
#[pyo3(signature = (*, collateral, debt, price, lt, bonus, vol, horizon_days, drift=None, oracle_minutes=None, gap=None, mc=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn position(
    py: Python<'_>,
    collateral: &Bound<'_, PyAny>,
    debt: &Bound<'_, PyAny>,
    price: &Bound<'_, PyAny>,
    lt: &Bound<'_, PyAny>,
    bonus: &Bound<'_, PyAny>,
    vol: &Bound<'_, PyAny>,
    horizon_days: &Bound<'_, PyAny>,
    drift: Option<&Bound<'_, PyAny>>,
    oracle_minutes: Option<&Bound<'_, PyAny>>,
    gap: Option<&Bound<'_, PyAny>>,
    mc: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let or_zero =
        |v: Option<&Bound<'_, PyAny>>, flag| v.filter(|v| !v.is_none()).map_or(Ok(0.0), |v| number(v, flag));
    let input = PositionInput {
        collateral: number(collateral, "--collateral")?,
        debt_usd: number(debt, "--debt")?,
        price: number(price, "--price")?,
        lt: number(lt, "--lt")?,
        bonus: number(bonus, "--bonus")?,
        vol: number(vol, "--vol")?,
        horizon_days: number(horizon_days, "--horizon-days")?,
        drift: or_zero(drift, "--drift")?,
        oracle_minutes: or_zero(oracle_minutes, "--oracle-minutes")?,
        gap: or_zero(gap, "--gap")?,
    };
    let mc = whole(mc, "--mc")?;
    let threads = whole(threads, "--threads")?.map(|t| t as usize);
    run_detached(py, threads, |_| {
        let r = input.report_with_mc(mc, None)?;
        Ok(serde_json::to_string(&r).unwrap_or_default())
    })
}

/// `headroom price --json`.
#[pyfunction]
#[pyo3(signature = (*, spot, strike, vol, days, rate=None))]
fn price(
    spot: &Bound<'_, PyAny>,
    strike: &Bound<'_, PyAny>,
    vol: &Bound<'_, PyAny>,
    days: &Bound<'_, PyAny>,
    rate: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let input = PriceInput {
        spot: number(spot, "--spot")?,
        strike: number(strike, "--strike")?,
        vol: number(vol, "--vol")?,
        days: number(days, "--days")?,
        rate: rate.filter(|v| !v.is_none()).map_or(Ok(0.0), |v| number(v, "--rate"))?,
    };
    let q = input.quote().map_err(errors::to_py)?;
    Ok(serde_json::to_string(&q).unwrap_or_default())
}

/// The compiled part of the `headroom` package.
#[pymodule]
fn _headroom(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ExperimentError", m.py().get_type::<ExperimentError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("GIT_COMMIT", GIT_COMMIT)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(position, m)?)?;
    m.add_function(wrap_pyfunction!(price, m)?)?;
    Ok(())
}
