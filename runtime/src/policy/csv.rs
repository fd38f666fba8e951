//! The policy's `[csv]` table: how the owner's CSV files are written.
//!
//! Defends against a dialect that silently means something else: each key
//! is checked (a delimiter and a quote are one ASCII character and differ,
//! null tokens are at most 64 and none contains a line break) and errors
//! name the key and the line, like every other policy key.

use serde::Deserialize;
use toml::Spanned;

use crate::data::CsvOptions;
use crate::error::PolicyError;

/// `[csv]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCsv {
    null_values: Option<Spanned<Vec<String>>>,
    string_null_values: Option<Spanned<Vec<String>>>,
    delimiter: Option<Spanned<String>>,
    quote: Option<Spanned<String>>,
    header: Option<bool>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Validates `[csv]` into [`CsvOptions`] (defaults for missing keys).
pub(super) fn csv_options(text: &str, raw: Option<RawCsv>) -> Result<CsvOptions, PolicyError> {
    let raw = raw.unwrap_or_default();
    let fail = |key: &str, offset: usize, message: String| PolicyError::Value {
        key: format!("csv.{key}"),
        line: line_of(text, offset),
        message,
    };
    let tokens = |key: &str, v: Option<Spanned<Vec<String>>>, default: Vec<String>| match v {
        None => Ok(default),
        Some(v) => {
            let list = v.get_ref();
            if list.len() > 64 {
                return Err(fail(key, v.span().start, "at most 64 tokens".into()));
            }
            if list.iter().any(|t| t.contains(['\n', '\r'])) {
                return Err(fail(
                    key,
                    v.span().start,
                    "a token cannot contain a line break".into(),
                ));
            }
            Ok(v.into_inner())
        }
    };
    let byte = |key: &str, v: Option<Spanned<String>>| match v {
        None => Ok(None),
        Some(v) => match v.get_ref().as_bytes() {
            [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => Ok(Some(*b)),
            _ => Err(fail(
                key,
                v.span().start,
                format!(
                    "{:?} is not one ASCII character (write a tab as \"\\t\")",
                    v.get_ref()
                ),
            )),
        },
    };
    let defaults = CsvOptions::default();
    let quote_at = raw.quote.as_ref().map_or(0, |q| q.span().start);
    let options = CsvOptions {
        null_values: tokens("null_values", raw.null_values, defaults.null_values)?,
        string_null_values: tokens(
            "string_null_values",
            raw.string_null_values,
            defaults.string_null_values,
        )?,
        delimiter: byte("delimiter", raw.delimiter)?,
        quote: byte("quote", raw.quote)?.unwrap_or(defaults.quote),
        header: raw.header.unwrap_or(defaults.header),
    };
    if options.delimiter == Some(options.quote) {
        return Err(fail(
            "quote",
            quote_at,
            "the quote must differ from the delimiter".into(),
        ));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    #[test]
    fn defaults_follow_the_common_null_conventions() {
        let p = Policy::parse("dataset = \"d\"\n").unwrap();
        assert_eq!(p.csv.null_values, ["", "NA", "N/A", "NULL", "null", "NaN"]);
        assert!(p.csv.string_null_values.is_empty());
        assert_eq!(
            (p.csv.delimiter, p.csv.quote, p.csv.header),
            (None, b'"', true)
        );
    }

    #[test]
    fn dialects_are_read_and_checked() {
        let p = Policy::parse(
            "dataset = \"d\"\n[csv]\ndelimiter = \";\"\nquote = \"'\"\nheader = false\nnull_values = [\"-\"]\nstring_null_values = [\"NA\"]\n",
        )
        .unwrap();
        assert_eq!(
            (p.csv.delimiter, p.csv.quote, p.csv.header),
            (Some(b';'), b'\'', false)
        );
        assert_eq!(p.csv.null_values, ["-"]);
        assert_eq!(p.csv.string_null_values, ["NA"]);
        let tab = Policy::parse("dataset = \"d\"\n[csv]\ndelimiter = \"\\t\"\n").unwrap();
        assert_eq!(tab.csv.delimiter, Some(b'\t'));
        let e = Policy::parse("dataset = \"d\"\n\n[csv]\ndelimiter = \";;\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "policy error at line 4: `csv.delimiter`: \";;\" is not one ASCII character (write a tab as \"\\t\")"
        );
        let e = Policy::parse("dataset = \"d\"\n[csv]\ndelimiter = \"'\"\nquote = \"'\"\n")
            .unwrap_err();
        assert!(
            e.to_string().contains("`csv.quote`: the quote must differ"),
            "{e}"
        );
        let e = Policy::parse("dataset = \"d\"\n[csv]\nnulls = []\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `nulls`"), "{e}");
    }
}
