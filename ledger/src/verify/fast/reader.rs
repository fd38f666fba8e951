//! Reading canonical event bodies: a serde `Deserializer` for compact JSON
//! without escape sequences, and a reader for run events (by far the most
//! common) into an event that is reused from one body to the next.
//!
//! What this guards against: nothing by itself. Whatever it reads is only
//! accepted when serde_json's encoding of it is exactly the body (see
//! [`super::matcher`]); a reader that got something wrong would only send
//! bodies to the full check. The run reader follows the members in canonical
//! order and reuses the strings and lists of the previous event, so reading
//! a run event allocates nothing once the strings are large enough.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::Miss;
use super::matcher::first_special;
use crate::billing::{Charge, PriceSchedule};
use crate::event::{DatasetUse, Envelope, EventData, RunEvent};

/// A JSON reader for compact JSON whose strings have no escape sequences
/// (serde_json's output for the ledger's events). Strings are borrowed from
/// the text; anything else is a [`Miss`].
pub(super) struct Reader<'de> {
    text: &'de str,
    pos: usize,
}

impl<'de> Reader<'de> {
    pub(super) fn new(text: &'de str) -> Self {
        Reader { text, pos: 0 }
    }

    /// True when the whole text was read.
    pub(super) fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline(always)]
    fn eat(&mut self, token: &str) -> Result<(), Miss> {
        if self.text.as_bytes()[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(Miss)
        }
    }

    fn string(&mut self) -> Result<&'de str, Miss> {
        self.eat("\"")?;
        let start = self.pos;
        let len = first_special(&self.text.as_bytes()[start..]).ok_or(Miss)?;
        self.pos += len;
        self.eat("\"")?;
        Ok(&self.text[start..start + len])
    }

    fn number(&mut self) -> Result<u64, Miss> {
        let digits = self.text.as_bytes()[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let n = self.text[self.pos..self.pos + digits]
            .parse()
            .map_err(|_| Miss)?;
        self.pos += digits;
        Ok(n)
    }

    fn try_eat(&mut self, token: &str) -> bool {
        self.eat(token).is_ok()
    }

    fn string_into(&mut self, out: &mut String) -> Result<(), Miss> {
        let s = self.string()?;
        out.clear();
        out.push_str(s);
        Ok(())
    }

    /// The optional member `key` (with its leading comma), or `None` when absent.
    fn optional_string(&mut self, key: &str, out: &mut Option<String>) -> Result<(), Miss> {
        if self.try_eat(key) {
            self.string_into(out.get_or_insert_with(String::new))
        } else {
            *out = None;
            Ok(())
        }
    }

    fn decimal(&mut self) -> Result<Decimal, Miss> {
        Decimal::from_str(self.string()?).map_err(|_| Miss)
    }

    fn flag(&mut self) -> Result<bool, Miss> {
        if self.try_eat("true") {
            Ok(true)
        } else if self.try_eat("false") {
            Ok(false)
        } else {
            Err(Miss)
        }
    }

    /// An array read into `out`, reusing its elements.
    fn list<T>(
        &mut self,
        out: &mut Vec<T>,
        blank: fn() -> T,
        item: fn(&mut Self, &mut T) -> Result<(), Miss>,
    ) -> Result<(), Miss> {
        self.eat("[")?;
        let mut n = 0;
        if !self.try_eat("]") {
            loop {
                if n == out.len() {
                    out.push(blank());
                }
                item(self, &mut out[n])?;
                n += 1;
                if self.try_eat("]") {
                    break;
                }
                self.eat(",")?;
            }
        }
        out.truncate(n);
        Ok(())
    }

    fn next_item(&mut self, first: &mut bool, close: u8) -> Result<bool, Miss> {
        if self.peek() == Some(close) {
            return Ok(false);
        }
        if !std::mem::take(first) {
            self.eat(",")?;
        }
        Ok(true)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Miss;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Miss> {
        match self.peek().ok_or(Miss)? {
            b'{' => {
                self.eat("{")?;
                let value = visitor.visit_map(Items {
                    r: &mut *self,
                    first: true,
                })?;
                self.eat("}")?;
                Ok(value)
            }
            b'[' => {
                self.eat("[")?;
                let value = visitor.visit_seq(Items {
                    r: &mut *self,
                    first: true,
                })?;
                self.eat("]")?;
                Ok(value)
            }
            b'"' => visitor.visit_borrowed_str(self.string()?),
            b'0'..=b'9' => visitor.visit_u64(self.number()?),
            b't' => self.eat("true").and_then(|()| visitor.visit_bool(true)),
            b'f' => self.eat("false").and_then(|()| visitor.visit_bool(false)),
            _ => Err(Miss),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Miss> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The members of an object or the elements of an array.
struct Items<'a, 'de> {
    r: &'a mut Reader<'de>,
    first: bool,
}

impl<'de> MapAccess<'de> for Items<'_, 'de> {
    type Error = Miss;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Miss> {
        if !self.r.next_item(&mut self.first, b'}')? {
            return Ok(None);
        }
        let key = seed.deserialize(&mut *self.r)?;
        self.r.eat(":")?;
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Miss> {
        seed.deserialize(&mut *self.r)
    }
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = Miss;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Miss> {
        if !self.r.next_item(&mut self.first, b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.r).map(Some)
    }
}

/// Reads the run event in `text` into `env`, reusing its allocations. The
/// members must come in canonical order; anything else is a [`Miss`].
pub(super) fn read_run_event(text: &str, env: &mut Envelope) -> Result<(), Miss> {
    if !matches!(env.data, EventData::Run(_)) {
        env.data = EventData::Run(blank_run());
    }
    let EventData::Run(run) = &mut env.data else {
        return Err(Miss);
    };
    let r = &mut Reader::new(text);
    r.eat("{\"data\":")?;
    read_run(r, run)?;
    r.eat(",\"datacontenttype\":")?;
    r.string_into(&mut env.datacontenttype)?;
    r.eat(",\"id\":")?;
    r.string_into(&mut env.id)?;
    r.eat(",\"sequence\":")?;
    env.sequence = r.number()?;
    r.eat(",\"source\":")?;
    r.string_into(&mut env.source)?;
    r.eat(",\"specversion\":")?;
    r.string_into(&mut env.specversion)?;
    r.eat(",\"time\":")?;
    r.string_into(&mut env.time)?;
    r.optional_string(",\"traceparent\":", &mut env.traceparent)?;
    r.eat(",\"type\":")?;
    r.string_into(&mut env.r#type)?;
    r.eat("}")?;
    if r.at_end() { Ok(()) } else { Err(Miss) }
}

fn read_run(r: &mut Reader<'_>, run: &mut RunEvent) -> Result<(), Miss> {
    r.eat("{\"aggregate_queries\":")?;
    run.aggregate_queries = r.number()?;
    r.optional_string(",\"audit_commitment\":", &mut run.audit_commitment)?;
    r.optional_string(",\"buyer\":", &mut run.buyer)?;
    r.optional_string(",\"buyer_key_id\":", &mut run.buyer_key_id)?;
    r.eat(",\"bytes_fed\":")?;
    run.bytes_fed = r.number()?;
    r.eat(",\"charges\":")?;
    r.list(&mut run.charges, blank_charge, read_charge)?;
    r.optional_string(",\"code\":", &mut run.code)?;
    r.eat(",\"datasets\":")?;
    r.list(&mut run.datasets, blank_dataset_use, read_dataset_use)?;
    r.eat(",\"decision\":")?;
    r.string_into(&mut run.decision)?;
    r.eat(",\"engine\":")?;
    r.string_into(&mut run.engine)?;
    r.eat(",\"epsilon_spent\":")?;
    r.string_into(&mut run.epsilon_spent)?;
    r.eat(",\"figures_rounded\":")?;
    run.figures_rounded = r.flag()?;
    r.eat(",\"fuel_consumed\":")?;
    run.fuel_consumed = r.number()?;
    r.eat(",\"fuel_limit\":")?;
    run.fuel_limit = r.number()?;
    r.eat(",\"groups_suppressed\":")?;
    run.groups_suppressed = r.number()?;
    r.eat(",\"memory_peak_bytes\":")?;
    run.memory_peak_bytes = r.number()?;
    r.eat(",\"module_hash\":")?;
    r.string_into(&mut run.module_hash)?;
    r.eat(",\"node_id\":")?;
    r.string_into(&mut run.node_id)?;
    run.output_bytes = match r.try_eat(",\"output_bytes\":") {
        true => Some(r.number()?),
        false => None,
    };
    r.optional_string(",\"output_hash\":", &mut run.output_hash)?;
    r.eat(",\"params_hash\":")?;
    r.string_into(&mut run.params_hash)?;
    r.optional_string(",\"reason\":", &mut run.reason)?;
    r.eat(",\"rows_fed\":")?;
    run.rows_fed = r.number()?;
    r.eat(",\"seed\":")?;
    run.seed = r.string()?.parse().map_err(|_| Miss)?;
    r.optional_string(",\"trace_id\":", &mut run.trace_id)?;
    r.eat(",\"wall_ms\":")?;
    run.wall_ms = r.number()?;
    r.eat("}")
}

fn read_charge(r: &mut Reader<'_>, c: &mut Charge) -> Result<(), Miss> {
    r.eat("{\"amount\":")?;
    c.amount = r.decimal()?;
    r.eat(",\"currency\":")?;
    r.string_into(&mut c.currency)?;
    r.eat(",\"dataset\":")?;
    r.string_into(&mut c.dataset)?;
    r.eat(",\"prices\":{\"currency\":")?;
    r.string_into(&mut c.prices.currency)?;
    r.eat(",\"per_aggregate_query\":")?;
    c.prices.per_aggregate_query = r.decimal()?;
    r.eat(",\"per_kb_released\":")?;
    c.prices.per_kb_released = r.decimal()?;
    r.eat(",\"per_mb_fed\":")?;
    c.prices.per_mb_fed = r.decimal()?;
    r.eat(",\"per_million_fuel\":")?;
    c.prices.per_million_fuel = r.decimal()?;
    r.eat(",\"per_run\":")?;
    c.prices.per_run = r.decimal()?;
    r.eat("}}")
}

fn read_dataset_use(r: &mut Reader<'_>, d: &mut DatasetUse) -> Result<(), Miss> {
    r.eat("{\"dataset\":")?;
    r.string_into(&mut d.dataset)?;
    r.eat(",\"policy_hash\":")?;
    r.string_into(&mut d.policy_hash)?;
    r.eat(",\"policy_version\":")?;
    r.string_into(&mut d.policy_version)?;
    r.eat(",\"snapshot\":")?;
    r.string_into(&mut d.snapshot)?;
    r.optional_string(",\"tier\":", &mut d.tier)?;
    r.eat("}")
}

/// An empty run event, to be read into.
pub(super) fn blank_run() -> RunEvent {
    RunEvent {
        aggregate_queries: 0,
        audit_commitment: None,
        buyer: None,
        buyer_key_id: None,
        bytes_fed: 0,
        charges: Vec::new(),
        code: None,
        datasets: Vec::new(),
        decision: String::new(),
        engine: String::new(),
        epsilon_spent: String::new(),
        figures_rounded: false,
        fuel_consumed: 0,
        fuel_limit: 0,
        groups_suppressed: 0,
        memory_peak_bytes: 0,
        module_hash: String::new(),
        node_id: String::new(),
        output_bytes: None,
        output_hash: None,
        params_hash: String::new(),
        reason: None,
        rows_fed: 0,
        seed: 0,
        trace_id: None,
        wall_ms: 0,
    }
}

fn blank_charge() -> Charge {
    Charge {
        amount: Decimal::ZERO,
        currency: String::new(),
        dataset: String::new(),
        prices: PriceSchedule::free(""),
    }
}

fn blank_dataset_use() -> DatasetUse {
    DatasetUse {
        dataset: String::new(),
        policy_hash: String::new(),
        policy_version: String::new(),
        snapshot: String::new(),
        tier: None,
    }
}
