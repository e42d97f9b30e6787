//! The oracles' tests: each model's prints by hand, bad prints, heartbeats and deviations.

use super::*;

const H: f64 = 1.0 / HOURS_PER_YEAR;

/// The hand-made series of most tests: hourly prices from hour 0.
const SERIES: [f64; 9] = [100.0, 102.0, 99.0, 95.0, 96.0, 110.0, 108.0, 108.0, 108.0];

/// Readings of `model` over `prices` observed at `hours`, after a reset to `prices[0]`.
fn readings_at(model: &OracleModel, hours: &[f64], prices: &[f64]) -> Vec<f64> {
    model.validate().unwrap();
    let mut o = Oracle::with_dt(model, &[], H);
    o.reset(prices[0]);
    hours.iter().zip(prices).map(|(&h, &p)| o.observe(h * H, p)).collect()
}

fn check(model: OracleModel, want: &[f64]) {
    let hours: Vec<f64> = (0..SERIES.len()).map(|h| h as f64).collect();
    check_at(model, &hours, &SERIES, want);
}

fn check_at(model: OracleModel, hours: &[f64], prices: &[f64], want: &[f64]) {
    let got = readings_at(&model, hours, prices);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-9, "{model:?} at {} h: {g} vs {w} (all: {got:?})", hours[i]);
    }
}

#[test]
fn spot_by_hand() {
    check(OracleModel::Spot, &SERIES);
}

#[test]
fn lag_by_hand() {
    // 2 h: the start price until 2 h, then the price 2 h earlier.
    check(OracleModel::Lag { lag_hours: 2.0 }, &[100.0, 100.0, 100.0, 102.0, 99.0, 95.0, 96.0, 110.0, 108.0]);
    // 1.5 h: the newest price at or before t - 1.5 h.
    check(OracleModel::Lag { lag_hours: 1.5 }, &[100.0, 100.0, 100.0, 102.0, 99.0, 95.0, 96.0, 110.0, 108.0]);
    check(OracleModel::Lag { lag_hours: 0.0 }, &SERIES);
}

#[test]
fn heartbeat_by_hand() {
    // 3% deviation, 3 h heartbeat: a round at 3 h (-5% from 100), at 5 h (+15.8% from 95),
    // at 8 h (3 h after the last round), none on smaller moves.
    check(
        OracleModel::Heartbeat { deviation: 0.03, heartbeat_hours: 3.0 },
        &[100.0, 100.0, 100.0, 95.0, 95.0, 110.0, 110.0, 110.0, 108.0],
    );
    // The threshold is strict: exactly 50% does not make a round, 51% does.
    check_at(
        OracleModel::Heartbeat { deviation: 0.5, heartbeat_hours: 100.0 },
        &[0.0, 1.0, 2.0],
        &[100.0, 150.0, 151.0],
        &[100.0, 100.0, 151.0],
    );
}

#[test]
fn twap_by_hand() {
    // 2 h window, each price held until the next observation:
    // t=2: (100 + 102) / 2; t=3: (102 + 99) / 2; t=6: (96 + 110) / 2; before 0 the start price.
    check(
        OracleModel::Twap { window_hours: 2.0 },
        &[100.0, 100.0, 101.0, 100.5, 97.0, 95.5, 103.0, 109.0, 108.0],
    );
    // 1.5 h at 3 h: 102 over [1.5, 2), 99 over [2, 3): (0.5 x 102 + 99) / 1.5 = 100.
    let got = readings_at(&OracleModel::Twap { window_hours: 1.5 }, &[0.0, 1.0, 2.0, 3.0], &SERIES[..4]);
    assert!((got[3] - 100.0).abs() < 1e-9, "{got:?}");
    // A window shorter than the step reports the previous step's price.
    let got = readings_at(&OracleModel::Twap { window_hours: 0.5 }, &[0.0, 1.0, 2.0], &SERIES[..3]);
    assert!((got[2] - 102.0).abs() < 1e-9, "{got:?}");
}

#[test]
fn osm_by_hand() {
    // Hourly hop, hourly steps: last hour's price.
    check(OracleModel::Osm { hop_hours: 1.0 }, &[100.0, 100.0, 102.0, 99.0, 95.0, 96.0, 110.0, 108.0, 108.0]);
    // Half-hour steps: during [k, k+1) h it serves the price at k - 1 h.
    check_at(
        OracleModel::Osm { hop_hours: 1.0 },
        &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5],
        &[100.0, 101.0, 102.0, 103.0, 104.0, 105.0],
        &[100.0, 100.0, 100.0, 100.0, 102.0, 102.0],
    );
    // Steps longer than the hop: at 4 h it serves the price in effect at 3 h, observed at 2 h.
    check_at(
        OracleModel::Osm { hop_hours: 1.0 },
        &[0.0, 2.0, 4.0],
        &[100.0, 120.0, 130.0],
        &[100.0, 100.0, 120.0],
    );
    // Steps off the boundaries: at 2.1 h it serves the price in effect at 1 h, seen at 0.7 h.
    check_at(
        OracleModel::Osm { hop_hours: 1.0 },
        &[0.0, 0.7, 1.4, 2.1],
        &[100.0, 110.0, 120.0, 130.0],
        &[100.0, 100.0, 100.0, 110.0],
    );
}

#[test]
fn capo_by_hand() {
    let m = OracleModel::Capo { snapshot_ratio: 1.10, max_yearly_growth: 0.0968, snapshot_age_days: 7.0 };
    // Cap at t = 0: 1.10 (1 + 0.0968 x 7 / 365) = 1.102042082191781; half a year later
    // 1.10 (1 + 0.0968 (7 / 365 + 0.5)) = 1.1552820821917809.
    let hours = [0.0, 0.0, 4380.0, 4380.0];
    let mut o = Oracle::with_dt(&m, &[], H);
    o.reset(1.05);
    let got: Vec<f64> =
        hours.iter().zip([1.05, 1.228, 1.15, 1.228]).map(|(&h, p)| o.observe(h * H, p)).collect();
    let want = [1.05, 1.102042082191781, 1.15, 1.1552820821917809];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?}");
    }
    // The March 2026 wstETH incident: a cap at 1.1939 against a true rate of 1.228 reads
    // 1 - 1.1939 / 1.228 = 2.78% low.
    let m = OracleModel::Capo { snapshot_ratio: 1.1939, max_yearly_growth: 0.0968, snapshot_age_days: 0.0 };
    let mut o = Oracle::new(&m, &[]);
    o.reset(1.228);
    let low = 1.0 - o.observe(0.0, 1.228) / 1.228;
    assert!((low - 0.027768729641693857).abs() < 1e-12, "{low}");
}

#[test]
fn same_time_replaces_the_newest_observation() {
    // Heartbeat: 95 at 3 h would open a round; replaced by 99 it does not, so 96 at 4 h is
    // 4% off the round at 100 and opens one.
    let m = OracleModel::Heartbeat { deviation: 0.03, heartbeat_hours: 10.0 };
    let got = readings_at(&m, &[0.0, 3.0, 3.0, 4.0], &[100.0, 95.0, 99.0, 96.0]);
    assert_eq!(got, vec![100.0, 95.0, 100.0, 96.0]);
    // Lag: the replaced price is the one reported later.
    let m = OracleModel::Lag { lag_hours: 2.0 };
    let got = readings_at(&m, &[0.0, 1.0, 1.0, 2.0, 3.0], &[100.0, 95.0, 50.0, 60.0, 70.0]);
    assert_eq!(got, vec![100.0, 100.0, 100.0, 100.0, 50.0]);
    // TWAP: the newest price has held for no time; once replaced, the replacement holds.
    let m = OracleModel::Twap { window_hours: 2.0 };
    let got = readings_at(&m, &[0.0, 1.0, 1.0, 2.0], &[100.0, 200.0, 120.0, 90.0]);
    assert_eq!(got, vec![100.0, 100.0, 100.0, 110.0]);
    // OSM: the value queued at a boundary is the replacement.
    let m = OracleModel::Osm { hop_hours: 1.0 };
    let got = readings_at(&m, &[0.0, 1.0, 1.0, 2.0], &[100.0, 200.0, 120.0, 90.0]);
    assert_eq!(got, vec![100.0, 100.0, 100.0, 120.0]);
}

#[test]
fn reset_starts_over_and_new_starts_at_the_first_price() {
    let m = OracleModel::Lag { lag_hours: 1.0 };
    let mut o = Oracle::new(&m, &[]);
    assert_eq!(o.observe(0.0, 80.0), 80.0);
    assert_eq!(o.observe(H, 90.0), 80.0);
    assert_eq!(o.observe(2.0 * H, 95.0), 90.0);
    o.reset(200.0);
    assert_eq!(o.observe(0.0, 200.0), 200.0);
    assert_eq!(o.observe(H, 210.0), 200.0);
    assert_eq!(o.observe(2.0 * H, 220.0), 210.0);
}

#[test]
fn observing_allocates_nothing_in_steady_state() {
    // The buffer sized from the step keeps its capacity over paths of hourly observations.
    for m in [OracleModel::Twap { window_hours: 24.0 }, OracleModel::Lag { lag_hours: 6.0 }] {
        let mut o = Oracle::with_dt(&m, &[], H);
        let cap = o.hist.capacity();
        assert!(cap >= m.history_hours() as usize + 2);
        for path in 0..3 {
            o.reset(100.0);
            for k in 1..=720 {
                let p = 100.0 + ((k * 7 + path) % 13) as f64;
                o.observe(k as f64 * H, p);
                o.observe(k as f64 * H, p - 1.0);
            }
            assert_eq!(o.hist.capacity(), cap, "{m:?}");
        }
    }
}

#[test]
fn validation_names_the_key_and_range() {
    let cases = [
        (OracleModel::Lag { lag_hours: -1.0 }, "lag_hours = -1: must be within [0, 87600]"),
        (
            OracleModel::Heartbeat { deviation: 1.5, heartbeat_hours: 1.0 },
            "deviation = 1.5: must be within [0, 1]",
        ),
        (
            OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 0.0 },
            "heartbeat_hours = 0: must be > 0",
        ),
        (OracleModel::Twap { window_hours: 0.0 }, "window_hours = 0: must be > 0 and <= 87600"),
        (OracleModel::Osm { hop_hours: f64::NAN }, "hop_hours = NaN: must be > 0"),
        (
            OracleModel::Capo { snapshot_ratio: 0.0, max_yearly_growth: 0.1, snapshot_age_days: 0.0 },
            "snapshot_ratio = 0: must be > 0",
        ),
        (
            OracleModel::Capo { snapshot_ratio: 1.0, max_yearly_growth: -0.1, snapshot_age_days: 0.0 },
            "max_yearly_growth = -0.1: must be within [0, 10]",
        ),
    ];
    for (m, want) in cases {
        let e = m.validate().unwrap_err().to_string();
        assert!(e.starts_with(want), "{m:?}: {e}");
    }
}

#[test]
fn serde_keys() {
    let parse = |t: &str| toml::from_str::<OracleModel>(t).map_err(|e| e.to_string());
    assert_eq!(parse("model = \"spot\"").unwrap(), OracleModel::Spot);
    assert_eq!(parse("model = \"lag\"\nlag_hours = 1").unwrap(), OracleModel::Lag { lag_hours: 1.0 });
    assert_eq!(
        parse("model = \"heartbeat\"\ndeviation = 0.005\nheartbeat_hours = 1").unwrap(),
        OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 1.0 }
    );
    assert_eq!(
        parse("model = \"twap\"\nwindow_hours = 0.5").unwrap(),
        OracleModel::Twap { window_hours: 0.5 }
    );
    assert_eq!(parse("model = \"osm\"\nhop_hours = 1").unwrap(), OracleModel::Osm { hop_hours: 1.0 });
    assert_eq!(
        parse("model = \"capo\"\nsnapshot_ratio = 1.19\nmax_yearly_growth = 0.0968\nsnapshot_age_days = 7")
            .unwrap(),
        OracleModel::Capo { snapshot_ratio: 1.19, max_yearly_growth: 0.0968, snapshot_age_days: 7.0 }
    );
    assert!(parse("model = \"twap\"\nwindow = 1").unwrap_err().contains("unknown field `window`"));
}

#[test]
fn bad_print_on_a_lagged_oracle() {
    // The error corrupts the feed the oracle reads: 10% low at hours 4 and 5, which a 2 h lag
    // reports at hours 6 and 7.
    let b =
        BadPrint { start_hours: 4.0, ramp_in_hours: 0.0, hold_hours: 1.0, ramp_out_hours: 0.0, error: -0.1 };
    let mut o = Oracle::with_dt(&OracleModel::Lag { lag_hours: 2.0 }, &[b], H);
    o.reset(100.0);
    let got: Vec<f64> = SERIES.iter().enumerate().map(|(h, &p)| o.observe(h as f64 * H, p)).collect();
    let want = [100.0, 100.0, 100.0, 102.0, 99.0, 95.0, 96.0 * 0.9, 110.0 * 0.9, 108.0];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?}");
    }
}

#[test]
fn bad_print_shape_by_hand() {
    // 45% low, down over 0.5 h, held 0.25 h, back over 0.5 h, from hour 2.
    let b = BadPrint {
        start_hours: 2.0,
        ramp_in_hours: 0.5,
        hold_hours: 0.25,
        ramp_out_hours: 0.5,
        error: -0.45,
    };
    let at = |h: f64| b.factor(h / HOURS_PER_YEAR);
    assert_eq!(at(1.0), 1.0);
    assert!((at(2.25) - (1.0 - 0.225)).abs() < 1e-12);
    assert!((at(2.6) - 0.55).abs() < 1e-12);
    assert!((at(3.0) - (1.0 - 0.225)).abs() < 1e-9);
    assert_eq!(at(3.5), 1.0);
    let mut o = Oracle::new(&OracleModel::Spot, &[b]);
    assert!((o.observe(2.6 / HOURS_PER_YEAR, 2000.0) - 1100.0).abs() < 1e-9);
}
