//! The JSON Schema in `policies/policy.schema.json` agrees with the parser:
//! the example policies pass both, and each policy below is accepted or
//! refused by both alike.

use std::path::Path;

use serde_json::Value;

use super::Policy;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The TOML document as the JSON value the schema describes (dates as
/// RFC 3339 strings).
fn to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
    }
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("policies/policy.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn schema_accepts(v: &jsonschema::Validator, text: &str) -> Result<(), String> {
    let doc = to_json(toml::from_str(text).map_err(|e| e.to_string())?);
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

#[test]
fn the_example_policies_pass_the_parser_and_the_schema() {
    let v = validator();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            Policy::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            schema_accepts(&v, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 2, "the example policies were not found");
}

const BASE: &str = "dataset = \"d\"\n";

#[test]
fn the_schema_and_the_parser_agree_on_each_key() {
    let v = validator();
    let cases: &[(&str, bool)] = &[
        (
            "[columns]\nage = { access = \"raw\", bins = [10.0, 5], bin_origin = -2.5 }",
            true,
        ),
        ("[columns]\nage = { access = \"raw\", bins = [] }", false),
        ("[columns]\nage = { access = \"raw\", bins = [0.0] }", false),
        (
            "[columns]\nage = { access = \"raw\", bins = [-1.0] }",
            false,
        ),
        (
            "[columns]\nx = { access = \"aggregate\", functions = [\"count\", \"quantile\"] }",
            true,
        ),
        (
            "[columns]\nx = { access = \"aggregate\", functions = [] }",
            true,
        ),
        (
            "[columns]\nx = { access = \"aggregate\", functions = [\"median\"] }",
            false,
        ),
        (
            "[columns]\nx = { access = \"aggregate\", functions = [\"min\", \"min\"] }",
            false,
        ),
        (
            "[columns]\nsex = { access = \"raw\", keys = [\"F\", \"M\"] }",
            true,
        ),
        (
            "[columns]\nsex = { access = \"raw\", keys = \"all\" }",
            true,
        ),
        ("[columns]\nsex = { access = \"raw\", keys = [] }", false),
        (
            "[columns]\nsex = { access = \"raw\", keys = [1, 2] }",
            false,
        ),
        (
            "[columns]\nsex = { access = \"raw\", keys = \"some\" }",
            false,
        ),
        (
            "[columns]\nsex = { access = \"raw\", keys = [\"F\", \"F\"] }",
            false,
        ),
        (
            "[release]\nround_fuel = \"power-of-two\"\nround_wall_ms = 5000",
            true,
        ),
        ("[release]\nround_fuel = 1000000", true),
        ("[release]\nround_fuel = 0", false),
        ("[release]\nround_fuel = \"pow2\"", false),
        ("[release]\nround_wall_ms = 0", false),
        (
            "[privacy]\nepsilon_per_query = 1.0\nbudget = 2.0\ndelta = 1e-6",
            true,
        ),
        (
            "[privacy]\nepsilon_per_query = 1.0\nbudget = 2.0\ndelta = 0.5",
            false,
        ),
        (
            "[privacy]\nepsilon_per_query = 1.0\nbudget = 2.0\ndelta = 0.0",
            false,
        ),
        ("[release]\nrounding = 1", false),
    ];
    for (extra, valid) in cases {
        let text = format!("{BASE}{extra}\n");
        let parsed = Policy::parse(&text);
        let schema = schema_accepts(&v, &text);
        assert_eq!(
            parsed.is_ok(),
            *valid,
            "parser on {extra:?}: {:?}",
            parsed.err()
        );
        assert_eq!(
            schema.is_ok(),
            *valid,
            "schema on {extra:?}: {:?}",
            schema.err()
        );
    }
}

#[test]
fn rules_only_the_parser_checks_are_refused_with_the_key_named() {
    // Cross-field rules a JSON Schema does not express.
    for (extra, key) in [
        (
            "[columns]\nx = { access = \"aggregate\", bins = [1.0] }",
            "columns.x.bins",
        ),
        (
            "[columns]\nx = { access = \"aggregate\", keys = [\"a\"] }",
            "columns.x.keys",
        ),
        (
            "[columns]\nx = { access = \"aggregate\", group_key = true, keys = \"all\" }",
            "columns.x.keys",
        ),
        (
            "[columns]\nx = { access = \"raw\", bin_origin = 1.0 }",
            "columns.x.bin_origin",
        ),
    ] {
        let e = Policy::parse(&format!("{BASE}{extra}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("`{key}`")), "{extra}: {e}");
    }
}
