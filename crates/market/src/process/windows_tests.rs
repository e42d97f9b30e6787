use super::super::{ExoPath, Exogenous, ProcessSpec};
use super::*;
use crate::oracle::HOURS_PER_YEAR;
use crate::rng::{stream, Purpose};
use crate::shock::{ShockSpec, ShockTime};
use std::path::{Path, PathBuf};

const HOUR: f64 = 1.0 / HOURS_PER_YEAR;
/// The synthetic file's rows: hours 0 to 960 after 2024-01-01 00:00 UTC, this one missing.
const LAST_HOUR: i64 = 960;
const GAP_HOUR: i64 = 797;
const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn close(h: i64) -> f64 {
    let h = h as f64;
    100.0 * (0.02 * (0.7 * h).sin() + 0.001 * h).exp()
}

/// `(high, low)` of hour `h`'s candle; every seventh candle lies wholly above both closes of
/// its step, so that the step's range must be widened to hold them.
fn candle(h: i64) -> (f64, f64) {
    let c = close(h);
    if h % 7 == 0 {
        (c * 1.05, c * 1.04)
    } else {
        (c * (1.0 + 0.003 * (1 + h % 5) as f64), c * (1.0 - 0.002 * (1 + h % 3) as f64))
    }
}

fn stamp(h: i64) -> String {
    series::format_timestamp(T0 + h * 3600)
}

/// Writes the synthetic file into `dir` and returns its name.
fn write_file(dir: &Path) -> PathBuf {
    let mut text = String::from("timestamp_utc,high,low,close\n");
    for h in (0..=LAST_HOUR).filter(|&h| h != GAP_HOUR) {
        let (hi, lo) = candle(h);
        text += &format!("{},{hi},{lo},{}\n", stamp(h), close(h));
    }
    let file = dir.join("synthetic-hourly.csv");
    std::fs::write(&file, text).unwrap();
    file
}

fn windows(file: &Path, stride_hours: f64, first: Option<i64>, last: Option<i64>) -> ProcessSpec {
    ProcessSpec::Windows {
        file: file.to_path_buf(),
        stride_hours,
        first: first.map(stamp),
        last: last.map(stamp),
    }
}

fn build(spec: &ProcessSpec, dt: f64, steps: usize) -> Result<Exogenous, String> {
    Exogenous::build(spec, &[], dt, steps, Path::new(".")).map_err(|e| e.to_string())
}

/// The realised volatility of the 30 days before hour `h`, computed directly from the closes.
fn known_by_hand(h: i64) -> f64 {
    let r: Vec<f64> = (h - 720..h)
        .filter(|&i| i != GAP_HOUR && i + 1 != GAP_HOUR)
        .map(|i| (close(i + 1) / close(i)).ln())
        .collect();
    let n = r.len() as f64;
    let m = r.iter().sum::<f64>() / n;
    (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0) / HOUR).sqrt()
}

#[test]
fn windows_replay_the_files_rows_and_know_the_month_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path());
    let ex = build(&windows(&file, 24.0, None, None), HOUR, 24).unwrap();
    // Candidates start 30 days (720 h) after the first row, every 24 h, up to the one ending at
    // hour 960: ten candidates, the fourth (hours 792 to 816) spans the missing hour 797.
    let info = ex.windows().unwrap();
    assert_eq!(
        *info,
        WindowsInfo {
            count: 9,
            skipped: 1,
            stride_steps: 24,
            lookback_steps: 720,
            first_start: stamp(720),
            last_end: stamp(960),
        }
    );
    assert_eq!(info.overlap_windows(24), 31, "(720 + 24) / 24");
    assert_eq!(ex.known_vol(), None, "each window knows its own");
    assert_eq!(ex.start_price(), None);
    for j in 0..9u64 {
        let h0 = 720 + 24 * if j < 3 { j as i64 } else { j as i64 + 1 };
        let w = ex.window(j).unwrap();
        assert_eq!((w.start_time, w.start_price), (T0 + h0 * 3600, close(h0)), "window {j}");
        let want = known_by_hand(h0);
        assert!((w.known_vol / want - 1.0).abs() < 1e-12, "window {j}: {} vs {want}", w.known_vol);
        let mut rng = stream(5, j, Purpose::Exogenous);
        let mut path = ex.start_path_at(j, &mut rng);
        for k in 0..24 {
            let h = h0 + k as i64;
            let (c0, c1) = (close(h), close(h + 1));
            let (hi, lo) = candle(h + 1);
            let range = path.step_range(&ex, k).unwrap();
            assert_eq!(range, ((hi.max(c0).max(c1) / c0).ln(), (lo.min(c0).min(c1) / c0).ln()), "{j} {k}");
            assert!(range.0 >= 0.0 && range.1 <= 0.0);
            assert_eq!(path.next_log_return(&ex, &mut rng), (c1 / c0).ln(), "window {j} step {k}");
        }
        assert_eq!(path.next_log_return(&ex, &mut rng), 0.0, "past the window the price stays");
        assert_eq!(path.step_range(&ex, 24), None);
    }
    assert_eq!(ex.window(9), None);
    // Filled in blocks, the same returns (the runner's way).
    let mut rng = stream(5, 4, Purpose::Exogenous);
    let (mut a, mut b) = (ex.start_path_at(4, &mut rng), ex.start_path_at(4, &mut rng));
    let mut block = [0.0; 10];
    a.fill_log_returns(&ex, &mut rng, &mut block);
    for r in block {
        assert_eq!(r, b.next_log_return(&ex, &mut rng));
    }
}

#[test]
fn windows_take_their_first_last_and_stride() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path());
    let starts = |ex: &Exogenous| -> Vec<i64> {
        (0..ex.windows().unwrap().count as u64)
            .map(|j| (ex.window(j).unwrap().start_time - T0) / 3600)
            .collect()
    };
    // From hour 744 to windows ending by hour 912: 744, 768, (792 spans the gap), 816 ... 888.
    let ex = build(&windows(&file, 24.0, Some(744), Some(912)), HOUR, 24).unwrap();
    assert_eq!(starts(&ex), vec![744, 768, 816, 840, 864, 888]);
    assert_eq!(ex.windows().unwrap().skipped, 1);
    // Every 12 h from hour 720: the starts 780 and 792 span hour 797.
    let ex = build(&windows(&file, 12.0, None, None), HOUR, 24).unwrap();
    let want: Vec<i64> = (0..19).map(|i| 720 + 12 * i).filter(|h| *h != 780 && *h != 792).collect();
    assert_eq!(starts(&ex), want);
    assert_eq!(ex.windows().unwrap().skipped, 2);
    // A `first` less than 30 days after the first row: the windows start at 30 days all the same.
    let ex = build(&windows(&file, 24.0, Some(96), None), HOUR, 24).unwrap();
    assert_eq!(starts(&ex)[0], 720);
}

#[test]
fn windows_consume_the_draws_of_any_path() {
    // Random shock times are drawn as for any process, whatever the window.
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path());
    let shock = ShockSpec::Gap { size: -0.2, at_hours: None, at: Some(ShockTime::Random) };
    let ex = Exogenous::build(&windows(&file, 24.0, None, None), &[shock], HOUR, 24, Path::new(".")).unwrap();
    let plain = build(&windows(&file, 24.0, None, None), HOUR, 24).unwrap();
    let mut rng = stream(9, 2, Purpose::Exogenous);
    let mut p = ex.start_path_at(2, &mut rng);
    let mut q: ExoPath = plain.start_path_at(2, &mut stream(9, 2, Purpose::Exogenous));
    let mut moved = 0;
    for k in 0..24 {
        let (a, b) = (p.next_log_return(&ex, &mut rng), q.next_log_return(&plain, &mut rng));
        let (ra, rb) = (p.step_range(&ex, k).unwrap(), q.step_range(&plain, k).unwrap());
        if a != b {
            moved += 1;
            assert!((a - b - (0.8f64).ln()).abs() < 1e-12);
            assert!(ra.1 <= a && ra.1 <= rb.1, "the range holds the shocked end");
        } else {
            assert_eq!(ra, rb);
        }
    }
    assert_eq!(moved, 1, "one gap, at one random step");
}

#[test]
fn windows_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path());
    let cases = [
        (windows(&file, 1.5, None, None), HOUR, 24, "stride_hours = 1.5: must be a whole positive number"),
        (windows(&file, 0.0, None, None), HOUR, 24, "stride_hours = 0: must be > 0"),
        (
            windows(&file, 24.0, Some(-24), None),
            HOUR,
            24,
            "first = 2023-12-31T00:00:00Z: must be within the file's rows, 2024-01-01T00:00:00Z to 2024-02-10T00:00:00Z",
        ),
        (windows(&file, 24.0, None, Some(961)), HOUR, 24, "last = 2024-02-10T01:00:00Z: must be within"),
        (windows(&file, 24.0, Some(800), Some(790)), HOUR, 24, "last = 2024-02-02T22:00:00Z: must be after first (2024-02-03T08:00:00Z)"),
        (windows(&file, 24.0, None, None), HOUR, 300, "steps = 300: no window of 300 consecutive steps fits"),
        (windows(&file, 24.0, Some(780), Some(820)), HOUR, 24, "(1 candidates span a missing row)"),
        (windows(&file, 24.0, None, None), 2.0 * HOUR, 12, "3600 s apart"),
    ];
    for (spec, dt, steps, want) in cases {
        let e = build(&spec, dt, steps).unwrap_err();
        assert!(e.contains(want), "{e}\nwanted: {want}");
    }
    let bad_time = ProcessSpec::Windows {
        file: file.clone(),
        stride_hours: 24.0,
        first: Some("1 February".into()),
        last: None,
    };
    let e = build(&bad_time, HOUR, 24).unwrap_err();
    assert!(e.starts_with("first = 1 February: must be a UTC time"), "{e}");
    let off_grid = ProcessSpec::Windows {
        file: file.clone(),
        stride_hours: 24.0,
        first: Some("2024-01-31T00:30:00Z".into()),
        last: None,
    };
    let e = build(&off_grid, HOUR, 24).unwrap_err();
    assert!(e.starts_with("first = 2024-01-31T00:30:00Z: must be the timestamp_utc of a row of"), "{e}");
    // The missing hour is not a row either.
    let e = build(&windows(&file, 24.0, Some(GAP_HOUR), None), HOUR, 24).unwrap_err();
    assert!(e.contains("must be the timestamp_utc of a row"), "{e}");
    let e = build(&windows(&dir.path().join("none.csv"), 24.0, None, None), HOUR, 24).unwrap_err();
    assert!(e.contains("none.csv"), "{e}");
}

#[test]
fn shipped_file_windows_and_replay_know_the_month_before() {
    // Figures computed independently from data/eth-usd-1h.csv: every 30-day window, 24 h apart,
    // from 2018-06-24 09:00 (30 days after the first row): 1,979 kept; the 64 candidates that
    // start from 2019-10-14 to 2019-12-16 span one of the three missing hours. The month before
    // the first window: realised volatility 0.927549 (720 returns).
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let file = base.join("eth-usd-1h.csv");
    let spec = ProcessSpec::Windows { file: file.clone(), stride_hours: 24.0, first: None, last: None };
    let ex = build(&spec, HOUR, 720).unwrap();
    let info = ex.windows().unwrap();
    assert_eq!((info.count, info.skipped), (1979, 64));
    assert_eq!(
        (info.first_start.as_str(), info.last_end.as_str()),
        ("2018-06-24T09:00:00Z", "2024-02-25T09:00:00Z")
    );
    assert_eq!(info.overlap_windows(720), 60);
    assert!((ex.window(0).unwrap().known_vol - 0.927_549_026_884_582).abs() < 1e-9);

    // Black Thursday's replay from 2020-03-11 00:00 (close 202.31) knew 0.985599 (the month
    // before), not the 4.97 of the replayed days themselves.
    let bt = ProcessSpec::Replay { file: file.clone(), start: Some("2020-03-11T00:00:00Z".into()) };
    let ex = build(&bt, HOUR, 72).unwrap();
    assert_eq!(ex.start_price(), Some(202.31));
    assert!((ex.known_vol().unwrap() - 0.985_598_704_246_833_5).abs() < 1e-9, "{:?}", ex.known_vol());
    assert!(ex.annual_vol() > 4.0, "the window's own: {}", ex.annual_vol());
    // The low of 86.62 inside the hour of 2020-03-13 02:00: step 49, from the close of 01:00.
    let s = series::load(&file).unwrap();
    let row = s.find(series::parse_timestamp("2020-03-13T01:00:00Z").unwrap()).unwrap();
    let path = ex.start_path(&mut stream(0, 0, Purpose::Exogenous));
    let (_, low) = path.step_range(&ex, 49).unwrap();
    assert!((s.closes[row] * low.exp() - 86.62).abs() < 1e-9);
    // From the file's first row nothing was known before.
    let ex = build(&ProcessSpec::Replay { file, start: None }, HOUR, 72).unwrap();
    assert_eq!(ex.known_vol(), None);
}

#[test]
fn windows_keys_and_defaults() {
    let parse = |text: &str| toml::from_str::<ProcessSpec>(text).map_err(|e| e.to_string());
    assert_eq!(
        parse("model = \"windows\"\nfile = \"x.csv\"").unwrap(),
        ProcessSpec::Windows { file: "x.csv".into(), stride_hours: 24.0, first: None, last: None }
    );
    let e = parse("model = \"windows\"\nfile = \"x.csv\"\nstride = 24").unwrap_err();
    assert!(e.contains("unknown field `stride`"), "{e}");
}
