//! Historical simulation (the `windows` process): every window of a price series, the same rules
//! on each. Window `i` is the `i`-th run of `steps + 1` consecutive rows, one step apart, among
//! starts `stride` apart from the first start; a candidate that spans a missing row is skipped
//! and counted. What a trader knew at each start, the realised volatility of the
//! [`LOOKBACK_DAYS`] before it, is computed here once. The file's returns are loaded once and
//! shared: a path reads them by offset, never copies them (docs/MODEL.md, `windows`).

use super::csv_series::{file_step, step_ranges, trailing_vol};
use crate::error::MarketError;
use crate::series::{self, PriceSeries};

/// Days of returns before a window (or a replay) whose realised volatility is the pricing
/// volatility a trader knew at its start.
pub const LOOKBACK_DAYS: f64 = 30.0;

/// One window of a `windows` process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Time of the window's first row, seconds since 1970-01-01 00:00 UTC.
    pub start_time: i64,
    /// The close of its first row: the path's start price.
    pub start_price: f64,
    /// The realised annualised volatility of the [`LOOKBACK_DAYS`] of returns before the start
    /// (sample standard deviation / sqrt(dt)): the volatility a trader knew at the start.
    pub known_vol: f64,
}

/// What a `windows` process covers, for the manifest and the summary's standard errors.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowsInfo {
    /// Windows kept (the paths available).
    pub count: usize,
    /// Candidates skipped because they span a missing row (or have fewer than two returns in
    /// the look-back before them).
    pub skipped: usize,
    /// Steps between the starts of two candidates.
    pub stride_steps: usize,
    /// Steps of the look-back before each window (its known volatility reads them).
    pub lookback_steps: usize,
    /// Start of the first window, `YYYY-MM-DDTHH:MM:SSZ`.
    pub first_start: String,
    /// End (last row) of the last window.
    pub last_end: String,
}

impl WindowsInfo {
    /// How many consecutive candidates share rows of the file with one window: a window of
    /// `steps` reads its look-back and its own steps, `lookback + steps` steps in all, so windows
    /// at least `ceil((lookback + steps) / stride)` candidates apart read disjoint rows.
    pub fn overlap_windows(&self, steps: usize) -> usize {
        (self.lookback_steps + steps).div_ceil(self.stride_steps).max(1)
    }
}

/// The windows of a file: its returns, each window's first row and what was known then (built
/// once, shared by every path behind an `Arc`).
#[derive(Debug)]
pub(super) struct Table {
    /// `returns[i] = ln(close_{i+1} / close_i)` for every pair of consecutive rows (a window
    /// never reads one across a missing row).
    pub returns: Vec<f64>,
    /// Each step's range from the candles ([`step_ranges`]), when the file has `high` and `low`.
    pub ranges: Option<Vec<(f64, f64)>>,
    /// The first row of each window.
    pub rows: Vec<u32>,
    /// Each window's start and known volatility.
    pub windows: Vec<Window>,
    /// The summary.
    pub info: WindowsInfo,
}

/// A time key of the process (`first`, `last`) within the span of the file's rows.
fn timestamp(s: &PriceSeries, key: &str, text: &str) -> Result<i64, MarketError> {
    let t = series::parse_timestamp(text).ok_or_else(|| {
        MarketError::invalid(key, text, "must be a UTC time of the form YYYY-MM-DDTHH:MM:SSZ")
    })?;
    let (lo, hi) = (s.times[0], s.times[s.times.len() - 1]);
    if t < lo || t > hi {
        return Err(MarketError::invalid(
            key,
            text,
            format!(
                "must be within the file's rows, {} to {}",
                series::format_timestamp(lo),
                series::format_timestamp(hi)
            ),
        ));
    }
    Ok(t)
}

/// Finds the windows of `steps` steps of `dt_years` in `s`, candidates `stride_hours` apart from
/// `first` (default: the earliest time with [`LOOKBACK_DAYS`] of rows before it) to windows
/// ending by `last` (default: the last row).
///
/// Errors name the key: `file` (a step other than `dt`), `stride_hours` (not a whole number of
/// steps), `first` (not a row's time) and `last` (not a time within the file, or not after
/// `first`), `steps` (no window fits).
pub(super) fn build(
    s: &PriceSeries,
    stride_hours: f64,
    first: Option<&str>,
    last: Option<&str>,
    dt_years: f64,
    steps: usize,
) -> Result<Table, MarketError> {
    let step = file_step(s, dt_years)?;
    let stride = stride_hours * 3600.0 / step as f64;
    if (stride - stride.round()).abs() > 1e-9 || stride.round() < 1.0 {
        return Err(MarketError::invalid(
            "stride_hours",
            stride_hours,
            format!("must be a whole positive number of the file's steps ({} h)", step as f64 / 3600.0),
        ));
    }
    let stride_steps = stride.round() as usize;
    let lookback_secs = (LOOKBACK_DAYS * 86_400.0) as i64;
    let lookback_steps = (lookback_secs as f64 / step as f64).ceil() as usize;
    let n = s.times.len();
    let t_first = first.map(|f| timestamp(s, "first", f)).transpose()?;
    if let (Some(t), Some(text)) = (t_first, first) {
        if s.find(t).is_none() {
            return Err(MarketError::invalid(
                "first",
                text,
                format!(
                    "must be the timestamp_utc of a row of {} (the grid of starts begins there)",
                    s.file.display()
                ),
            ));
        }
    }
    let t_last = last.map(|l| timestamp(s, "last", l)).transpose()?.unwrap_or(s.times[n - 1]);
    if let (Some(f), Some(l)) = (t_first, last) {
        if t_last <= f {
            return Err(MarketError::invalid(
                "last",
                l,
                format!("must be after first ({})", first.unwrap_or("")),
            ));
        }
    }
    let t0 = t_first.unwrap_or(i64::MIN).max(s.times[0] + lookback_secs);
    let span = steps as i64 * step;
    let (mut rows, mut windows) = (Vec::new(), Vec::new());
    let mut skipped = 0;
    let mut scratch = Vec::with_capacity(lookback_steps + 1);
    let mut t = t0;
    while t + span <= t_last {
        let row = s.find(t).filter(|&r| r + steps < n && s.times[r + steps] - s.times[r] == span);
        let known = row.and_then(|r| trailing_vol(s, r, step, lookback_secs, dt_years, &mut scratch));
        match (row, known) {
            (Some(r), Some(vol)) => {
                rows.push(r as u32);
                windows.push(Window { start_time: t, start_price: s.closes[r], known_vol: vol });
            }
            _ => skipped += 1,
        }
        t += stride_steps as i64 * step;
    }
    let (Some(first_w), Some(last_w)) = (windows.first(), windows.last()) else {
        return Err(MarketError::invalid(
            "steps",
            steps,
            format!(
                "no window of {steps} consecutive steps fits in {} between {} and {} ({skipped} \
                 candidates span a missing row): a window starts {LOOKBACK_DAYS} days after the \
                 file's first row at the earliest",
                s.file.display(),
                series::format_timestamp(t0),
                series::format_timestamp(t_last)
            ),
        ));
    };
    if s.times.len() > u32::MAX as usize {
        return Err(MarketError::invalid("file", s.file.display(), "must have fewer than 2^32 rows"));
    }
    let info = WindowsInfo {
        count: windows.len(),
        skipped,
        stride_steps,
        lookback_steps,
        first_start: series::format_timestamp(first_w.start_time),
        last_end: series::format_timestamp(last_w.start_time + span),
    };
    let returns = s.closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    Ok(Table { returns, ranges: step_ranges(s), rows, windows, info })
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
