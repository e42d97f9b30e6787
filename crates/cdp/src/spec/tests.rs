//! The `[cdp]` keys: presets, parsing, ranges and the keys a preset does not use.

use super::*;

fn parse(s: &str) -> Result<CdpSpec, String> {
    toml::from_str::<CdpSpec>(s).map_err(|e| e.to_string())
}

#[test]
fn presets_resolve_with_their_sources_values() {
    let p = CdpSpec::preset(Protocol::AaveV3).resolve().unwrap();
    assert_eq!(p.lt, 0.83);
    let Mechanism::Direct(d) = p.mechanism else { panic!() };
    assert_eq!((d.bonus, d.close_factor, d.protocol_fee), (0.05, 0.5, 0.1));
    assert_eq!(d.aave, Some(AaveRules { full_close_hf: 0.95, partial_min_usd: 2000.0, dust_usd: 1000.0 }));
    let p = CdpSpec::preset(Protocol::Maker2021).resolve().unwrap();
    assert!((p.lt - 1.0 / 1.5).abs() < 1e-15);
    let Mechanism::Clip(c) = p.mechanism else { panic!() };
    assert_eq!((c.buf, c.cut, c.step_seconds, c.tail_minutes, c.cusp), (1.2, 0.99, 90.0, 90.0, 0.4));
    assert_eq!((c.chop, c.tip_usd, c.chip), (0.13, 300.0, 0.001));
    let p = CdpSpec::preset(Protocol::LiquityV2).resolve().unwrap();
    let Mechanism::Liquity(l) = p.mechanism else { panic!() };
    assert_eq!(l.penalties, Some(LiquityPenalties { sp: 0.05, redistribution: 0.10 }));
    for proto in Protocol::ALL {
        let p = CdpSpec::preset(proto).resolve().unwrap();
        assert_eq!(p.entries()[0], ("protocol", proto.name().to_string()));
    }
}

#[test]
fn toml_keys_parse_and_unknown_keys_are_rejected() {
    let s = parse(
        "protocol = \"generic\"\nlt = 0.83\nbonus = 0.05\nclose_factor = 1\nborrow_rate = 0.05\n\
         [oracle]\nmodel = \"spot\"\n[[oracle_errors]]\nstart_hours = 1\nhold_hours = 2\nerror = -0.1\n",
    )
    .unwrap();
    assert_eq!(s.close_factor, Some(1.0));
    assert_eq!(s.oracle_errors.len(), 1);
    s.validate().unwrap();
    let e = parse("protocol = \"generic\"\nltv = 0.8\n").unwrap_err();
    assert!(e.contains("ltv"), "{e}");
    let e = parse("protocol = \"aave-v4\"\n").unwrap_err();
    assert!(e.contains("aave-v4"), "{e}");
}

fn err(s: CdpSpec) -> String {
    s.validate().unwrap_err().to_string()
}

#[test]
fn errors_name_the_key_and_range() {
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.lt = Some(1.2);
    assert_eq!(err(s), "lt = 1.2: must be within (0, 1]");
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.lt = Some(0.0);
    assert_eq!(err(s), "lt = 0: must be within (0, 1]");
    let mut s = CdpSpec::preset(Protocol::AaveV3);
    s.buf = Some(1.1);
    assert!(err(s).starts_with("buf does not apply to protocol \"aave-v3\""));
    let mut s = CdpSpec::preset(Protocol::AaveV3);
    s.lt = Some(0.97);
    s.bonus = Some(0.05);
    assert!(err(s).starts_with("bonus = 0.05: lt x (1 + bonus) must be <= 1"));
    let mut s = CdpSpec::preset(Protocol::Maker2021);
    s.cut = Some(1.0);
    assert_eq!(err(s), "cut = 1: must be within (0, 1)");
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.gas_usd = Some(5.0);
    assert!(err(s).starts_with("gas_usd = 5: "));
    let mut s = CdpSpec::preset(Protocol::CompoundV3);
    s.profit_check = Some(true);
    assert!(err(s).starts_with("profit_check does not apply"));
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.topup_target_hf = Some(1.2);
    s.topup_restore_hf = Some(1.1);
    assert_eq!(err(s), "topup_restore_hf = 1.1: must be within [1.2, 100]");
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.borrow_rate = -0.1;
    assert_eq!(err(s), "borrow_rate = -0.1: must be within [0, 10]");
    let mut s = CdpSpec::preset(Protocol::Generic);
    s.oracle_errors.push(BadPrint {
        start_hours: 0.0,
        ramp_in_hours: 0.0,
        hold_hours: 1.0,
        ramp_out_hours: 0.0,
        error: -1.5,
    });
    assert!(err(s).starts_with("oracle_errors[0]: error = -1.5"));
    let mut s = CdpSpec::preset(Protocol::Maker2020);
    s.keepers = Some(5000);
    assert_eq!(err(s), "keepers = 5000: must be within [0, 1000]");
    let mut s = CdpSpec::preset(Protocol::LiquityV1);
    s.penalty_sp = Some(0.05);
    assert!(err(s).starts_with("penalty_sp does not apply to protocol \"liquity-v1\""));
}

#[test]
fn presets_read_the_oracle_their_protocol_reads_and_weigh_profit_where_it_is_theirs_to() {
    // Maker's OSM (one-hour hop); Chainlink's ETH/USD (0.5%, 1 h) for Aave, Compound and
    // Liquity; the spot price for generic (B1).
    for (proto, oracle, profit) in [
        (Protocol::Maker2020, OracleModel::Osm { hop_hours: 1.0 }, false),
        (Protocol::Maker2021, OracleModel::Osm { hop_hours: 1.0 }, true),
        (Protocol::AaveV3, OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 1.0 }, true),
        (Protocol::CompoundV3, OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 1.0 }, false),
        (Protocol::LiquityV1, OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 1.0 }, true),
        (Protocol::LiquityV2, OracleModel::Heartbeat { deviation: 0.005, heartbeat_hours: 1.0 }, true),
        (Protocol::Generic, OracleModel::Spot, false),
    ] {
        let s = CdpSpec::preset(proto);
        assert_eq!(s.oracle_model(), oracle, "{proto}");
        assert_eq!(s.resolve().unwrap().liquidator.profit_check, profit, "{proto}");
    }
    // Given keys win; profit_check = false is accepted everywhere, true only where it applies.
    let mut s = CdpSpec::preset(Protocol::AaveV3);
    s.oracle = Some(OracleModel::Spot);
    s.profit_check = Some(false);
    assert_eq!(s.oracle_model(), OracleModel::Spot);
    assert!(!s.resolve().unwrap().liquidator.profit_check);
    let mut s = CdpSpec::preset(Protocol::CompoundV3);
    s.profit_check = Some(false);
    s.validate().unwrap();
}
