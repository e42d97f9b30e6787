//! What the CSV-driven processes (bootstrap, replay, windows) take from a loaded series: the
//! file's step, the bootstrap's tables, the replay's window and realised volatilities.

use super::SECS_PER_YEAR;
use crate::error::MarketError;
use crate::series::{self, PriceSeries};

/// The file's step in seconds; it must equal `dt_years`.
pub(super) fn file_step(s: &PriceSeries, dt_years: f64) -> Result<i64, MarketError> {
    let dt_secs = dt_years * SECS_PER_YEAR;
    let file = s.file.display().to_string();
    let step = s
        .step_secs()
        .ok_or_else(|| MarketError::invalid("file", &file, "must have at least two rows (one return)"))?;
    if (dt_secs - step as f64).abs() > 1e-3 {
        return Err(MarketError::invalid(
            "file",
            &file,
            format!(
                "its rows are {step} s apart but a step of the experiment is {dt_secs} s: the step must \
                 equal the file's"
            ),
        ));
    }
    Ok(step)
}

/// The bootstrap's returns (runs of consecutive rows, concatenated) and the indices where a block
/// of `block` returns may start without leaving its run.
pub(super) fn bootstrap_tables(
    s: &PriceSeries,
    step: i64,
    block: usize,
) -> Result<(Vec<f64>, Vec<u32>), MarketError> {
    let mut returns = Vec::with_capacity(s.closes.len());
    let mut starts = Vec::with_capacity(s.closes.len());
    let mut run_start = 0usize;
    let close_run = |returns: &Vec<f64>, starts: &mut Vec<u32>, run_start: usize| {
        let end = returns.len();
        if end >= run_start + block {
            starts.extend((run_start..=end - block).map(|i| i as u32));
        }
    };
    for i in 1..s.closes.len() {
        if s.times[i] - s.times[i - 1] == step {
            returns.push((s.closes[i] / s.closes[i - 1]).ln());
        } else {
            close_run(&returns, &mut starts, run_start);
            run_start = returns.len();
        }
    }
    close_run(&returns, &mut starts, run_start);
    if returns.len() > u32::MAX as usize {
        return Err(MarketError::invalid("file", s.file.display(), "must have fewer than 2^32 rows"));
    }
    if starts.is_empty() {
        return Err(MarketError::invalid(
            "block_hours",
            block as f64 * step as f64 / 3600.0,
            format!("no run of {block} consecutive returns in {} (gaps cut the runs)", s.file.display()),
        ));
    }
    Ok((returns, starts))
}

/// The replay's first row and its `steps` returns.
pub(super) fn replay_window(
    s: &PriceSeries,
    start: Option<&str>,
    dt_years: f64,
    steps: usize,
) -> Result<(usize, Vec<f64>), MarketError> {
    let file = s.file.display().to_string();
    let first = match start {
        None => 0,
        Some(text) => {
            let t = series::parse_timestamp(text).ok_or_else(|| {
                MarketError::invalid("start", text, "must be a UTC time of the form YYYY-MM-DDTHH:MM:SSZ")
            })?;
            s.find(t).ok_or_else(|| {
                MarketError::invalid("start", text, format!("must be a timestamp_utc of a row of {file}"))
            })?
        }
    };
    let rows = s.closes.len() - first;
    if rows < steps + 1 {
        return Err(MarketError::invalid(
            "file",
            &file,
            format!("has {rows} rows from the start: a replay of {steps} steps needs {}", steps + 1),
        ));
    }
    let dt_secs = dt_years * SECS_PER_YEAR;
    let mut returns = Vec::with_capacity(steps);
    for i in first + 1..=first + steps {
        let gap = (s.times[i] - s.times[i - 1]) as f64;
        if (gap - dt_secs).abs() > 1e-3 {
            return Err(MarketError::Csv {
                file: s.file.clone(),
                line: s.lines[i],
                message: format!(
                    "this row is {gap} s after the previous one but a step is {dt_secs} s: a replay needs \
                     consecutive rows one step apart (choose another start, or fill the gap)"
                ),
            });
        }
        returns.push((s.closes[i] / s.closes[i - 1]).ln());
    }
    Ok((first, returns))
}

/// `sd(r) / sqrt(dt)` with the sample standard deviation (`|r| / sqrt(dt)` for one return).
pub(super) fn realised_vol(returns: &[f64], dt_years: f64) -> f64 {
    let n = returns.len() as f64;
    if returns.len() < 2 {
        return returns.first().map_or(0.0, |r| r.abs() / dt_years.sqrt());
    }
    let mean = returns.iter().sum::<f64>() / n;
    let ss: f64 = returns.iter().map(|r| (r - mean) * (r - mean)).sum();
    (ss / (n - 1.0) / dt_years).sqrt()
}

/// The realised volatility a trader knew at row `row`: `sd(r) / sqrt(dt)` ([`realised_vol`]) of
/// the returns between consecutive rows `step_secs` apart whose both rows lie within the
/// `lookback_secs` before the row's time. `None` when the file does not reach back that far or
/// when fewer than two such returns exist.
pub(super) fn trailing_vol(
    s: &PriceSeries,
    row: usize,
    step_secs: i64,
    lookback_secs: i64,
    dt_years: f64,
    scratch: &mut Vec<f64>,
) -> Option<f64> {
    let from = s.times[row] - lookback_secs;
    if s.times[0] > from {
        return None;
    }
    let lo = s.times.partition_point(|&t| t < from);
    scratch.clear();
    for i in lo..row {
        if s.times[i + 1] - s.times[i] == step_secs {
            scratch.push((s.closes[i + 1] / s.closes[i]).ln());
        }
    }
    (scratch.len() >= 2).then(|| realised_vol(scratch, dt_years))
}

/// Each step's range from the candles, when the file has them: for the step from row `i` to row
/// `i + 1`, `(ln(H / c_i), ln(L / c_i))` with `H = max(high_{i+1}, c_i, c_{i+1})` and
/// `L = min(low_{i+1}, c_i, c_{i+1})`: the candle of the row that ends the step, widened so that
/// the range always holds both ends of the step.
pub(super) fn step_ranges(s: &PriceSeries) -> Option<Vec<(f64, f64)>> {
    let candles = s.candles.as_ref()?;
    let c = &s.closes;
    Some(
        (0..c.len().saturating_sub(1))
            .map(|i| {
                let (high, low) = candles[i + 1];
                let h = high.max(c[i]).max(c[i + 1]);
                let l = low.min(c[i]).min(c[i + 1]);
                ((h / c[i]).ln(), (l / c[i]).ln())
            })
            .collect(),
    )
}
