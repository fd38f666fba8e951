//! The charge rule on hand-computed examples.

use std::str::FromStr;

use super::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn prices() -> PriceSchedule {
    PriceSchedule {
        currency: "EUR".into(),
        per_run: d("0.05"),
        per_million_fuel: d("0.002"),
        per_mb_fed: d("0.01"),
        per_kb_released: d("0.001"),
        per_aggregate_query: d("0.0005"),
    }
}

#[test]
fn a_released_run_pays_every_component() {
    let f = BillableFigures {
        reached_sandbox: true,
        fuel: 1_234_567,
        bytes_fed: 2_500_000,
        output_bytes: 1536,
        aggregate_queries: 3,
    };
    // 0.05 + 0.002469134 + 0.025 + 0.001536 + 0.0015 = 0.080505134 -> 0.080505
    assert_eq!(charge(&prices(), &f).unwrap(), d("0.080505"));
}

#[test]
fn a_denied_run_pays_no_per_run_price() {
    let f = BillableFigures {
        reached_sandbox: false,
        ..Default::default()
    };
    assert_eq!(charge(&prices(), &f).unwrap(), Decimal::ZERO);
    let f = BillableFigures {
        reached_sandbox: true,
        ..Default::default()
    };
    assert_eq!(charge(&prices(), &f).unwrap(), d("0.05"));
}

#[test]
fn rounding_is_half_to_even_at_six_places_once() {
    assert_eq!(round(d("0.0000025")), d("0.000002"));
    assert_eq!(round(d("0.0000035")), d("0.000004"));
    assert_eq!(round(d("0.00000250001")), d("0.000003"));
    // Rounded once at the end, not per component: 3 x 0.0000005 = 0.0000015 -> 0.000002
    // (rounding each component first would give 0).
    let p = PriceSchedule {
        per_aggregate_query: d("0.0000005"),
        ..PriceSchedule::free("EUR")
    };
    let f = BillableFigures {
        reached_sandbox: true,
        aggregate_queries: 3,
        ..Default::default()
    };
    assert_eq!(charge(&p, &f).unwrap(), d("0.000002"));
}

#[test]
fn huge_figures_do_not_overflow_and_absurd_prices_are_refused() {
    let f = BillableFigures {
        reached_sandbox: true,
        fuel: u64::MAX,
        bytes_fed: u64::MAX,
        output_bytes: u64::MAX,
        aggregate_queries: u64::MAX,
    };
    assert!(charge(&prices(), &f).is_ok());
    let p = PriceSchedule {
        per_aggregate_query: Decimal::MAX,
        ..PriceSchedule::free("EUR")
    };
    assert_eq!(charge(&p, &f).unwrap_err().code(), "billing.overflow");
}

#[test]
fn prices_are_written_as_decimal_strings() {
    let json = serde_json::to_string(&prices()).unwrap();
    assert!(json.contains("\"per_run\":\"0.05\""), "{json}");
    let back: PriceSchedule = serde_json::from_str(&json).unwrap();
    assert_eq!(back, prices());
}
