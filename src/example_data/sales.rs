//! `sales.parquet`: retail order lines, streamed as Arrow record batches.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array};
use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Weighted, round_to, std_normal};

const REGIONS: [&str; 8] = [
    "north",
    "south",
    "east",
    "west",
    "central",
    "coast",
    "highlands",
    "islands",
];
const CHANNELS: [&str; 3] = ["web", "store", "partner"];
/// Return rate per channel (about 4% overall).
const RETURN_RATE: [f64; 3] = [0.05, 0.025, 0.04];
const CUSTOMERS: u64 = 8_000;
/// Products in order of popularity, with list prices.
const PRODUCTS: [(&str, f64); 40] = [
    ("Whole Milk 1L", 1.29),
    ("Sourdough Bread", 3.80),
    ("Free-Range Eggs 12", 4.20),
    ("Organic Coffee Beans 1kg", 21.50),
    ("Sparkling Water 6x1L", 4.99),
    ("Dark Chocolate 100g", 2.60),
    ("Green Tea 100 Bags", 6.90),
    ("Olive Oil 750ml", 9.75),
    ("Toothpaste", 3.10),
    ("Dish Soap", 2.45),
    ("Paper Towels 8 Rolls", 8.30),
    ("Laundry Detergent 2L", 11.40),
    ("Shampoo 400ml", 5.60),
    ("AA Batteries 8-Pack", 7.99),
    ("USB-C Cable 1m", 9.99),
    ("Phone Case", 15.90),
    ("Screen Protector", 8.90),
    ("Cotton T-Shirt", 12.99),
    ("Wool Socks 3-Pack", 14.99),
    ("Notebook A5", 4.50),
    ("Gel Pens 10-Pack", 6.25),
    ("Printer Paper 500 Sheets", 7.40),
    ("Smart Bulb", 14.50),
    ("Water Bottle 750ml", 16.00),
    ("Power Bank 10000mAh", 29.90),
    ("Wireless Mouse", 24.90),
    ("Yoga Mat", 27.50),
    ("French Press", 32.00),
    ("Desk Lamp", 34.00),
    ("Cast Iron Pan", 44.90),
    ("Bluetooth Speaker", 49.90),
    ("Backpack 25L", 59.00),
    ("Coffee Grinder", 64.00),
    ("Chef's Knife", 69.00),
    ("Running Shoes", 84.95),
    ("Mechanical Keyboard", 89.00),
    ("Rain Jacket", 99.00),
    ("Office Chair", 179.00),
    ("Noise-Cancelling Headphones", 199.00),
    ("27in Monitor", 229.00),
];

/// Arrow schema of `sales.parquet`.
fn schema() -> SchemaRef {
    let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("region", dict(), false),
        Field::new("product", dict(), false),
        Field::new("channel", dict(), false),
        Field::new("quantity", DataType::Int64, false),
        Field::new("unit_price", DataType::Float64, false),
        Field::new("discount", DataType::Float64, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("day", DataType::Int64, false),
        Field::new("returned", DataType::Boolean, false),
    ]))
}

/// Writes `rows` sales rows in record batches of `batch_rows`, row groups of `group_rows`.
pub(super) fn write(
    path: &Path,
    rows: usize,
    seed: u64,
    batch_rows: usize,
    group_rows: usize,
) -> Result<()> {
    let schema = schema();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut writer = ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(props))?;
    let mut g = SalesGen::new(rows, seed);
    let mut done = 0;
    while done < rows {
        let n = batch_rows.clamp(1, rows - done);
        writer.write(&g.batch(n, &schema)?)?;
        done += n;
    }
    writer
        .close()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Row-by-row sales generator: values depend on the seed, the row index and the
/// total row count (which spreads the days), never on batch or row-group sizes.
struct SalesGen {
    rng: StdRng,
    rows: usize,
    next: usize,
    customer: Weighted,
    /// Home region of each customer rank (customers shop in one region).
    customer_region: Vec<i32>,
    /// Added to the scrambled customer rank, so ids differ between seeds.
    customer_offset: u64,
    product: Weighted,
    channel: Weighted,
    quantity: Weighted,
    discount: Weighted,
    day: Weighted,
    dicts: [ArrayRef; 3],
}

impl SalesGen {
    fn new(rows: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5A1E_5A1E_5A1E_5A1E);
        let region = Weighted::zipf(REGIONS.len(), 0.9);
        let customer_region = (0..CUSTOMERS)
            .map(|_| region.sample(&mut rng) as i32)
            .collect();
        let customer_offset = rng.random_range(0..CUSTOMERS);
        // Weekday (day 1 is Thursday 1 January) times a December peak and a small summer bump.
        let weekday = [0.9, 0.85, 0.9, 0.95, 1.15, 1.45, 1.25];
        let day = Weighted::new((1..=365).map(|d: usize| {
            let bump = |centre: f64, width: f64| (-((d as f64 - centre) / width).powi(2)).exp();
            weekday[(d + 2) % 7] * (1.0 + 0.6 * bump(345.0, 18.0) + 0.2 * bump(190.0, 30.0))
        }));
        let values = |names: &[&str]| Arc::new(StringArray::from(names.to_vec())) as ArrayRef;
        let products: Vec<&str> = PRODUCTS.iter().map(|p| p.0).collect();
        Self {
            rng,
            rows,
            next: 0,
            customer: Weighted::zipf(CUSTOMERS as usize, 0.85),
            customer_region,
            customer_offset,
            product: Weighted::zipf(PRODUCTS.len(), 0.9),
            channel: Weighted::new([0.55, 0.35, 0.10]),
            quantity: Weighted::new((0..20).map(|q| 0.62f64.powi(q))),
            discount: Weighted::zipf(6, 1.0),
            day,
            dicts: [values(&REGIONS), values(&products), values(&CHANNELS)],
        }
    }

    /// The next `n` rows as one record batch.
    fn batch(&mut self, n: usize, schema: &SchemaRef) -> Result<RecordBatch> {
        let (mut ids, mut customers, mut quantities, mut days) = (vec![], vec![], vec![], vec![]);
        let (mut regions, mut products, mut channels) = (vec![], vec![], vec![]);
        let (mut prices, mut discounts, mut amounts, mut returned) =
            (vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let i = self.next;
            self.next += 1;
            let rng = &mut self.rng;
            let rank = self.customer.sample(rng) as u64;
            // 2909 is coprime with 8000, so ranks map to distinct ids, big buyers scattered.
            customers.push(100_000 + ((rank * 2909 + self.customer_offset) % CUSTOMERS) as i64);
            regions.push(self.customer_region[rank as usize]);
            let product = self.product.sample(rng);
            products.push(product as i32);
            let channel = self.channel.sample(rng);
            channels.push(channel as i32);
            let quantity = self.quantity.sample(rng) as i64 + 1;
            let price = round_to(
                PRODUCTS[product].1 * (1.0 + 0.03 * std_normal(rng)).clamp(0.9, 1.1),
                2,
            );
            let discount = match rng.random::<f64>() {
                u if u < 0.05 => None,
                u if u < 0.60 => Some(0.0),
                _ => Some(round_to(0.05 * (self.discount.sample(rng) + 1) as f64, 2)),
            };
            let amount = round_to(quantity as f64 * price * (1.0 - discount.unwrap_or(0.0)), 2);
            amounts.push((!rng.random_bool(0.015)).then_some(amount));
            returned.push(rng.random_bool(RETURN_RATE[channel]));
            ids.push(1_000_001 + i as i64);
            quantities.push(quantity);
            prices.push(price);
            discounts.push(discount);
            // Orders arrive in day order: the row's position in the run picks the day.
            days.push(self.day.at((i as f64 + 0.5) / self.rows as f64) as i64 + 1);
        }
        let dict = |keys: Vec<i32>, values: &ArrayRef| -> Result<ArrayRef> {
            Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
                Int32Array::from(keys),
                values.clone(),
            )?))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(customers)),
            dict(regions, &self.dicts[0])?,
            dict(products, &self.dicts[1])?,
            dict(channels, &self.dicts[2])?,
            Arc::new(Int64Array::from(quantities)),
            Arc::new(Float64Array::from(prices)),
            Arc::new(Float64Array::from(discounts)),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(Int64Array::from(days)),
            Arc::new(BooleanArray::from(returned)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}
