//! Loading a price series from a CSV file with a `timestamp_utc` and a `close` column (and, when
//! the header has them, `high` and `low`), as used by the bootstrap, replay and windows
//! processes.
//!
//! Every row is checked: an unparsable row or timestamp, a close that is not a finite number, a
//! close <= 0, or a timestamp not after the previous row's is a [`MarketError::Csv`] naming the
//! file and the 1-based line (the header is line 1). With `high` and `low` columns, each row's
//! must be finite with `high >= low > 0`. A file that cannot be opened is a [`MarketError::Io`].

use crate::error::MarketError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A price series read from a CSV: one entry per data row, in file order.
#[derive(Clone, Debug)]
pub(crate) struct PriceSeries {
    /// The file it came from.
    pub file: PathBuf,
    /// Row times, seconds since 1970-01-01 00:00 UTC.
    pub times: Vec<i64>,
    /// Closing prices, finite and > 0.
    pub closes: Vec<f64>,
    /// 1-based line of each row in the file.
    pub lines: Vec<u64>,
    /// Each row's candle `(high, low)`, when the file has both columns.
    pub candles: Option<Vec<(f64, f64)>>,
}

impl PriceSeries {
    /// The smallest gap between two consecutive rows, seconds (the file's sampling step), or
    /// `None` for a single row.
    pub fn step_secs(&self) -> Option<i64> {
        self.times.windows(2).map(|w| w[1] - w[0]).min()
    }

    /// Index of the row whose time is `t` (seconds), if any.
    pub fn find(&self, t: i64) -> Option<usize> {
        self.times.binary_search(&t).ok()
    }
}

/// Series this process has read, most recent last, each with the file's length and modification
/// time when read: a process that builds many experiments on one file (`headroom serve`, a
/// sweep) parses it once, and a file that changed is read again.
static CACHE: Mutex<Vec<(FileStamp, Arc<PriceSeries>)>> = Mutex::new(Vec::new());

/// How many series [`load_cached`] keeps.
const CACHED_FILES: usize = 4;

#[derive(Clone, Debug, PartialEq)]
struct FileStamp {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

/// [`load`], or the series already read from the same unchanged file. Errors are not kept.
pub(crate) fn load_cached(path: &Path) -> Result<Arc<PriceSeries>, MarketError> {
    let stamp = std::fs::metadata(path).ok().map(|m| FileStamp {
        path: path.to_path_buf(),
        len: m.len(),
        modified: m.modified().ok(),
    });
    if let Some(st) = &stamp {
        let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, s)) = cache.iter().find(|(k, _)| k == st) {
            return Ok(Arc::clone(s));
        }
    }
    let series = Arc::new(load(path)?);
    if let Some(st) = stamp {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(k, _)| k.path != st.path);
        if cache.len() >= CACHED_FILES {
            cache.remove(0);
        }
        cache.push((st, Arc::clone(&series)));
    }
    Ok(series)
}

/// Reads `timestamp_utc` and `close` from the CSV at `path`.
pub(crate) fn load(path: &Path) -> Result<PriceSeries, MarketError> {
    let io_err = |source| MarketError::Io { file: path.to_path_buf(), source };
    let bytes = std::fs::read(path).map_err(io_err)?;
    let csv_err = |line: u64, message: String| MarketError::Csv { file: path.to_path_buf(), line, message };
    // Lines are counted from byte offsets: the csv crate's own line count lags on CRLF files
    // (the shipped data has CRLF line ends).
    let mut lines = LineCounter { bytes: &bytes, byte: 0, line: 1 };
    let map_csv = |e: csv::Error, lines: &mut LineCounter| -> MarketError {
        let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => io_err(source),
            _ => csv_err(line, message),
        }
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
    let headers = rdr.headers().map_err(|e| map_csv(e, &mut lines))?.clone();
    let column = |name: &str| -> Result<usize, MarketError> {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            let have: Vec<&str> = headers.iter().collect();
            csv_err(1, format!("no `{name}` column (the header has: {})", have.join(", ")))
        })
    };
    let i_time = column("timestamp_utc")?;
    let i_close = column("close")?;
    let i_candle = match (column("high"), column("low")) {
        (Ok(h), Ok(l)) => Some((h, l)),
        _ => None,
    };

    let mut series = PriceSeries {
        file: path.to_path_buf(),
        times: Vec::new(),
        closes: Vec::new(),
        lines: Vec::new(),
        candles: i_candle.map(|_| Vec::new()),
    };
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(map_csv(e, &mut lines)),
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let ts = field(i_time);
        let t = parse_timestamp(ts).ok_or_else(|| {
            csv_err(line, format!("timestamp_utc `{ts}` is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"))
        })?;
        let text = field(i_close);
        let close: f64 =
            text.parse().map_err(|_| csv_err(line, format!("close `{text}` is not a number")))?;
        if !close.is_finite() {
            return Err(csv_err(line, format!("close is {close}: must be a finite price > 0")));
        }
        if close <= 0.0 {
            return Err(csv_err(line, format!("close = {close}: must be > 0")));
        }
        if let Some(&prev) = series.times.last() {
            if t <= prev {
                return Err(csv_err(line, format!("timestamp_utc `{ts}` is not after the previous row's")));
            }
        }
        if let (Some((i_high, i_low)), Some(candles)) = (i_candle, series.candles.as_mut()) {
            let num = |i: usize, name: &str| -> Result<f64, MarketError> {
                let text = field(i);
                match text.parse::<f64>() {
                    Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
                    _ => Err(csv_err(line, format!("{name} `{text}` is not a finite price > 0"))),
                }
            };
            let (high, low) = (num(i_high, "high")?, num(i_low, "low")?);
            if high < low {
                return Err(csv_err(line, format!("high = {high} is below low = {low}: must be >= low")));
            }
            candles.push((high, low));
        }
        series.times.push(t);
        series.closes.push(close);
        series.lines.push(line);
    }
    if series.closes.is_empty() {
        return Err(csv_err(1, "no data rows".to_string()));
    }
    Ok(series)
}

/// Maps increasing byte offsets to 1-based line numbers.
struct LineCounter<'a> {
    bytes: &'a [u8],
    byte: usize,
    line: u64,
}

impl LineCounter<'_> {
    /// The line of the record that csv reports at byte `offset` (offsets must not decrease
    /// between calls). The reported offset may sit on the end of the previous line (the `\n` of
    /// a CRLF, or blank lines, which csv skips): the record starts after them.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut offset = (offset as usize).min(self.bytes.len());
        while offset < self.bytes.len() && matches!(self.bytes[offset], b'\r' | b'\n') {
            offset += 1;
        }
        if offset > self.byte {
            self.line += self.bytes[self.byte..offset].iter().filter(|&&b| b == b'\n').count() as u64;
            self.byte = offset;
        }
        self.line
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS` (a space may replace the `T`; an optional `Z` or `+00:00`
/// suffix) into seconds since 1970-01-01 00:00 UTC.
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00")).unwrap_or(s);
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |lo: usize, hi: usize| -> Option<i64> {
        let part = &s[lo..hi];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Formats seconds since 1970-01-01 00:00 UTC as `YYYY-MM-DDTHH:MM:SSZ` (the inverse of
/// [`parse_timestamp`] for years 0 to 9999).
pub(crate) fn format_timestamp(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The folder of the crate's CSV test slices.
    pub(crate) fn data_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data")
    }

    #[test]
    fn timestamps_by_hand() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2018-05-25T09:00:00Z"), Some(1_527_238_800));
        assert_eq!(parse_timestamp("2018-05-25 09:00:00"), Some(1_527_238_800));
        assert_eq!(parse_timestamp("2020-02-29T23:59:59+00:00"), Some(1_583_020_799));
        assert_eq!(parse_timestamp("2019-02-29T00:00:00Z"), None);
        assert_eq!(parse_timestamp("2019-13-01T00:00:00Z"), None);
        assert_eq!(parse_timestamp("2019-11-20T24:00:00Z"), None);
        assert_eq!(parse_timestamp("2019-11-20"), None);
        assert_eq!(parse_timestamp("2019-11-2aT00:00:00Z"), None);
        for text in
            ["1970-01-01T00:00:00Z", "2018-05-25T09:00:00Z", "2020-02-29T23:59:59Z", "1969-12-31T23:00:00Z"]
        {
            assert_eq!(format_timestamp(parse_timestamp(text).unwrap()), text);
        }
        // Every day of 1999 to 2001 (a leap year between two that are not) reads back.
        let start = parse_timestamp("1999-01-01T00:00:00Z").unwrap();
        for day in 0..3 * 366 {
            let t = start + day * 86_400 + 3_723;
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t), "day {day}");
        }
    }

    #[test]
    fn a_file_is_parsed_once_until_it_changes() {
        let file = std::env::temp_dir().join(format!("headroom-series-cache-{}.csv", std::process::id()));
        std::fs::write(&file, "timestamp_utc,close\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,101\n")
            .unwrap();
        let a = load_cached(&file).unwrap();
        let b = load_cached(&file).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the second build reads the first's series");
        std::fs::write(&file, "timestamp_utc,close\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,102.5\n")
            .unwrap();
        let c = load_cached(&file).unwrap();
        assert_eq!(c.closes, vec![100.0, 102.5], "a changed file is read again");
        std::fs::write(&file, "timestamp_utc,close\n2020-01-01T00:00:00Z,-1\n").unwrap();
        assert!(load_cached(&file).is_err(), "errors are not cached");
        std::fs::remove_file(&file).unwrap();
        assert!(load_cached(&file).is_err());
    }

    #[test]
    fn slice_loads_with_its_gap() {
        let s = load(&data_dir().join("eth-2019-11-19-gap.csv")).unwrap();
        assert_eq!(s.closes.len(), 41);
        assert_eq!(s.closes[0], 176.3);
        assert_eq!(s.lines[0], 2);
        assert_eq!(s.step_secs(), Some(3600));
        let gaps: Vec<usize> = (1..s.times.len()).filter(|&i| s.times[i] - s.times[i - 1] != 3600).collect();
        assert_eq!(gaps, vec![20], "one missing hour, 2019-11-20 02:00");
        assert_eq!(s.find(parse_timestamp("2019-11-20T03:00:00Z").unwrap()), Some(20));
        // Line 2: 2019-11-19T06:00:00Z,176.7,176.7,175.56,176.3,228.750714
        assert_eq!(s.candles.as_ref().map(|c| c[0]), Some((176.7, 175.56)));
        let closes_only = load(&data_dir().join("synthetic-gap.csv")).unwrap();
        assert!(closes_only.candles.is_none());
    }

    fn expect_csv(name: &str, want_line: u64, want_text: &str) {
        match load(&data_dir().join(name)) {
            Err(MarketError::Csv { file, line, message }) => {
                assert!(file.ends_with(name), "{file:?}");
                assert_eq!(line, want_line, "{name}: {message}");
                assert!(message.contains(want_text), "{name}: {message}");
            }
            other => panic!("{name}: expected a CSV error, got {other:?}"),
        }
    }

    #[test]
    fn bad_files_name_the_line() {
        expect_csv("nan-close.csv", 5, "NaN");
        expect_csv("negative-close.csv", 4, "must be > 0");
        expect_csv("bad-row.csv", 3, "not a number");
        expect_csv("bad-timestamp.csv", 3, "timestamp_utc");
        expect_csv("short-row.csv", 4, "");
        expect_csv("unsorted.csv", 4, "not after");
        expect_csv("no-close.csv", 1, "no `close` column");
        expect_csv("high-below-low.csv", 4, "high = 175.1 is below low = 175.34");
        expect_csv("bad-high.csv", 3, "high `x` is not a finite price > 0");
        let e = load(&data_dir().join("does-not-exist.csv")).unwrap_err();
        assert!(matches!(e, MarketError::Io { .. }), "{e:?}");
        assert!(e.to_string().contains("does-not-exist.csv"), "{e}");
    }
}
