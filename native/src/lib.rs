//! The processor's native Parquet path (processor/formats/native.ts): JSON records decoded and
//! validated against the schema straight into typed per-partition columns (`Columnar`), written as
//! Parquet; and Kinesis GetRecords bodies read without a JS parse (`scanGetRecords`,
//! `Columnar.ingestKinesis`).
pub mod columns;
pub mod decode;
pub mod json;
pub mod kinesis;

use columns::{fixed_width, Slot};
use decode::{Field, Kind, Row, Schema, Value};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either5, External, Int32Array, Null, Uint32Array, Uint8ArraySlice};
use napi::bindgen_prelude::BigInt;
use napi::{Error, Result, Status};
use napi_derive::napi;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Tuples bound to slots before the map starts over.
const MAX_TUPLES: usize = 65_536;
const MS_PER_DAY: i64 = 86_400_000;
const MAX_DATE_MS: f64 = 8.64e15;

#[napi(object)]
pub struct FieldOption {
    pub name: String,
    #[napi(js_name = "type")]
    pub kind: String,
    pub nullable: bool,
}

#[napi(object)]
pub struct KeySlotOption {
    pub field: u32,
    pub unit: f64,
}

#[napi(object)]
pub struct ColumnarOptions {
    pub fields: Vec<FieldOption>,
    pub key_slots: Vec<KeySlotOption>,
    pub compression: String,
    pub created_by: String,
    pub no_dictionary_field: Option<u32>,
}

/// A value of a partition tuple, as the JS decoder would have produced it.
pub type TupleValue = Either5<f64, BigInt, String, bool, Null>;

#[napi(object)]
pub struct IngestResult {
    pub accepted: u32,
    pub refused: Uint32Array,
    pub unknown: Uint32Array,
    pub unknown_tuple: Uint32Array,
    pub tuples: Vec<Vec<TupleValue>>,
    pub runs: Int32Array,
}

#[napi(object, object_from_js = false)]
pub struct ScanResult {
    pub count: u32,
    pub last_sequence_number: Option<String>,
    pub next_shard_iterator: Option<String>,
    pub millis_behind_latest: Option<f64>,
    pub has_child_shards: bool,
    pub aggregated: bool,
    pub data_bytes: f64,
    /**
     * The joined body and its records' spans, held for `Columnar.ingestKinesis` (so the body is
     * neither joined nor parsed twice); absent when there is nothing for it to read (no records,
     * KPL aggregates, child shards).
     */
    pub body: Option<External<HeldBody>>,
}

/** A scanned GetRecords body: the chunks joined, the records found in it. */
pub struct HeldBody {
    body: Vec<u8>,
    records: Vec<kinesis::KinesisRecord>,
    released: bool,
}

impl HeldBody {
    fn get(&self) -> Result<&Self> {
        if self.released {
            return Err(invalid("the scanned body was released".into()));
        }
        Ok(self)
    }
}

/// A multiply-rotate hasher for the tuple map (keys are a few bytes).
#[derive(Default)]
struct FastHasher(u64);
impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}
type TupleMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<FastHasher>>;

/// What one ingest call collects.
#[derive(Default)]
struct Outcome {
    accepted: u32,
    refused: Vec<u32>,
    unknown: Vec<u32>,
    unknown_tuple: Vec<u32>,
    tuples: Vec<Vec<TupleValue>>,
    /// Slot → position + 1 in `runs` (pairs); 0: none yet.
    run_of: Vec<u32>,
    runs: Vec<i32>,
    new_tuples: TupleMap<u32>,
}

#[napi]
pub struct Columnar {
    schema: Schema,
    key_slots: Vec<(usize, i64)>,
    properties: WriterProperties,
    row_width: usize,
    row: Row,
    key: Vec<u8>,
    scratch: Vec<u8>,
    slots: Vec<Option<Slot>>,
    bound: TupleMap<u32>,
    /// The tuples of the last ingest, by index, for `bind`.
    last_tuples: Vec<Box<[u8]>>,
}

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArg, message)
}

#[napi]
impl Columnar {
    #[napi(constructor)]
    pub fn new(options: ColumnarOptions) -> Result<Self> {
        let mut fields = Vec::with_capacity(options.fields.len());
        for (i, f) in options.fields.into_iter().enumerate() {
            let kind = Kind::parse(&f.kind).ok_or_else(|| invalid(format!("fields[{i}].type: expected int, long, double, string, boolean or timestamp-millis, got \"{}\"", f.kind)))?;
            fields.push(Field { name: f.name, kind, nullable: f.nullable });
        }
        if fields.is_empty() {
            return Err(invalid("fields: expected at least one field, got none".into()));
        }
        let mut key_slots = Vec::new();
        for (k, slot) in options.key_slots.iter().enumerate() {
            if slot.field as usize >= fields.len() {
                return Err(invalid(format!("keySlots[{k}].field: expected a field index below {}, got {}", fields.len(), slot.field)));
            }
            let unit = slot.unit as i64;
            if !(unit == 0 || unit == 1000 || unit == 60_000 || unit == 3_600_000 || unit == MS_PER_DAY) || unit as f64 != slot.unit {
                return Err(invalid(format!("keySlots[{k}].unit: expected 0, 1000, 60000, 3600000 or 86400000, got {}", slot.unit)));
            }
            key_slots.push((slot.field as usize, unit));
        }
        let compression = match options.compression.as_str() {
            "SNAPPY" => Compression::SNAPPY,
            "GZIP" => Compression::GZIP(GzipLevel::default()),
            "ZSTD" => Compression::ZSTD(ZstdLevel::default()),
            "UNCOMPRESSED" => Compression::UNCOMPRESSED,
            other => return Err(invalid(format!("compression: expected SNAPPY, GZIP, ZSTD or UNCOMPRESSED, got \"{other}\""))),
        };
        let mut builder = WriterProperties::builder().set_compression(compression).set_created_by(options.created_by);
        if let Some(i) = options.no_dictionary_field {
            let field = fields.get(i as usize).ok_or_else(|| invalid(format!("noDictionaryField: expected a field index below {}, got {i}", fields.len())))?;
            builder = builder.set_column_dictionary_enabled(ColumnPath::from(field.name.as_str()), false);
        }
        let row_width = fields.iter().map(|f| fixed_width(f.kind)).sum();
        let row = Row::new(fields.len());
        Ok(Columnar {
            schema: Schema::new(fields),
            key_slots,
            properties: builder.build(),
            row_width,
            row,
            key: Vec::new(),
            scratch: Vec::new(),
            slots: Vec::new(),
            bound: TupleMap::default(),
            last_tuples: Vec::new(),
        })
    }

    /// Decodes `records` (all, or those at `indices`) into their slots; see native.ts.
    #[napi]
    pub fn ingest(&mut self, records: Vec<Uint8ArraySlice>, indices: Option<Uint32Array>) -> Result<IngestResult> {
        let mut out = Outcome::default();
        each_index(indices.as_deref(), records.len(), |i| self.one(i, &records[i as usize], &mut out))?;
        Ok(self.result(out))
    }

    /// As `ingest`, for the records of a Kinesis GetRecords response body held by `scanGetRecords`.
    #[napi]
    pub fn ingest_kinesis(&mut self, body: &External<HeldBody>, indices: Option<Uint32Array>) -> Result<IngestResult> {
        let held = body.get()?;
        let (body, records) = (&held.body, &held.records);
        let mut out = Outcome::default();
        let mut data = std::mem::take(&mut self.scratch);
        let result = each_index(indices.as_deref(), records.len(), |i| {
            data.clear();
            if !kinesis::decode_base64(&body[records[i as usize].data.clone()], &mut data) {
                // Not plain base64 (an escape in it, say): the JS parser reads it, the JS decoder judges it.
                out.refused.push(i);
                return Ok(());
            }
            self.one(i, &data, &mut out)
        });
        self.scratch = data;
        result?;
        Ok(self.result(out))
    }

    /// Binds a tuple of the last ingest to a slot (created on first use).
    #[napi]
    pub fn bind(&mut self, tuple: u32, slot: u32) -> Result<()> {
        let key = self.last_tuples.get(tuple as usize).ok_or_else(|| invalid(format!("bind: tuple {tuple} is not one of the last ingest's {}", self.last_tuples.len())))?.clone();
        if self.bound.len() >= MAX_TUPLES {
            self.bound.clear();
        }
        self.bound.insert(key, slot);
        Ok(())
    }

    #[napi]
    pub fn rows(&self, slot: u32) -> u32 {
        self.slots.get(slot as usize).and_then(Option::as_ref).map_or(0, |s| s.rows as u32)
    }

    #[napi]
    pub fn estimated_bytes(&self, slot: u32) -> f64 {
        self.slots.get(slot as usize).and_then(Option::as_ref).map_or(0.0, |s| (s.rows * self.row_width + s.string_bytes) as f64)
    }

    /// The Parquet file of the slot's rows; the slot is emptied.
    #[napi]
    pub fn finish(&mut self, slot: u32) -> Result<Buffer> {
        let taken = self.slots.get_mut(slot as usize).and_then(Option::take).filter(|s| s.rows > 0);
        let Some(rows) = taken else {
            return Err(Error::new(Status::GenericFailure, format!("finish(slot {slot}): the slot holds no rows")));
        };
        let file = rows.finish(&self.schema.fields, &self.properties).map_err(|e| Error::new(Status::GenericFailure, format!("finish(slot {slot}): {e}")))?;
        Ok(Buffer::from(file))
    }

    /// Forgets every tuple binding.
    #[napi]
    pub fn reset(&mut self) {
        self.bound.clear();
        self.last_tuples.clear();
    }

    fn one(&mut self, index: u32, record: &[u8], out: &mut Outcome) -> Result<()> {
        if !decode::decode(&self.schema, record, &mut self.row) {
            out.refused.push(index);
            return Ok(());
        }
        self.tuple_key();
        if let Some(&slot) = self.bound.get(self.key.as_slice()) {
            let position = self.slots.len();
            if slot as usize >= position {
                self.slots.resize_with(slot as usize + 1, || None);
            }
            let fields = &self.schema.fields;
            let target = self.slots[slot as usize].get_or_insert_with(|| Slot::new(fields));
            target.push(&self.row).map_err(|e| Error::new(Status::GenericFailure, e))?;
            out.accepted += 1;
            if out.run_of.len() <= slot as usize {
                out.run_of.resize(slot as usize + 1, 0);
            }
            let mut at = out.run_of[slot as usize] as usize;
            if at == 0 {
                out.runs.extend_from_slice(&[slot as i32, 0]);
                at = out.runs.len() - 1;
                out.run_of[slot as usize] = at as u32;
            }
            out.runs[at] += 1;
            return Ok(());
        }
        let tuple = match out.new_tuples.get(self.key.as_slice()) {
            Some(&t) => t,
            None => {
                let t = out.tuples.len() as u32;
                out.new_tuples.insert(self.key.clone().into_boxed_slice(), t);
                out.tuples.push(self.tuple_values());
                t
            }
        };
        out.unknown.push(index);
        out.unknown_tuple.push(tuple);
        Ok(())
    }

    /// The key of the row's tuple: per key slot, a tag and the value (or its date unit).
    fn tuple_key(&mut self) {
        let key = &mut self.key;
        key.clear();
        for &(field, unit) in &self.key_slots {
            let value = self.row.values[field];
            if unit > 0 {
                let ms = match value {
                    Value::I(v) if (v as f64).abs() <= MAX_DATE_MS => Some(v),
                    Value::F(f) if f.abs() <= MAX_DATE_MS => Some(f.floor() as i64),
                    _ => None,
                };
                if let Some(ms) = ms {
                    key.push(5);
                    key.extend_from_slice(&ms.div_euclid(unit).to_le_bytes());
                    continue;
                }
            }
            match value {
                Value::Null => key.push(0),
                Value::I(v) => {
                    key.push(1);
                    key.extend_from_slice(&v.to_le_bytes());
                }
                Value::F(f) => {
                    key.push(2);
                    key.extend_from_slice(&f.to_bits().to_le_bytes());
                }
                Value::B(b) => key.extend_from_slice(&[3, b as u8]),
                Value::S(a, b) => {
                    key.push(4);
                    key.extend_from_slice(&(b - a).to_le_bytes());
                    key.extend_from_slice(self.row.str(a, b));
                }
            }
        }
    }

    /// The key slots' values of the row, as JS values.
    fn tuple_values(&self) -> Vec<TupleValue> {
        self.key_slots
            .iter()
            .map(|&(field, _)| match self.row.values[field] {
                Value::Null => Either5::E(Null),
                Value::I(v) if self.schema.fields[field].kind == Kind::Long => Either5::B(BigInt::from(v)),
                Value::I(v) => Either5::A(v as f64),
                Value::F(f) => Either5::A(f),
                Value::B(b) => Either5::D(b),
                Value::S(a, b) => Either5::C(String::from_utf8_lossy(self.row.str(a, b)).into_owned()),
            })
            .collect()
    }

    fn result(&mut self, out: Outcome) -> IngestResult {
        let mut keys: Vec<(u32, Box<[u8]>)> = out.new_tuples.into_iter().map(|(k, t)| (t, k)).collect();
        keys.sort_unstable_by_key(|(t, _)| *t);
        self.last_tuples = keys.into_iter().map(|(_, k)| k).collect();
        IngestResult {
            accepted: out.accepted,
            refused: Uint32Array::new(out.refused),
            unknown: Uint32Array::new(out.unknown),
            unknown_tuple: Uint32Array::new(out.unknown_tuple),
            tuples: out.tuples,
            runs: Int32Array::new(out.runs),
        }
    }
}

/// Calls `f` with every index below `len`, or with those of `indices` in their order (each
/// checked to be below `len`).
fn each_index(indices: Option<&[u32]>, len: usize, mut f: impl FnMut(u32) -> Result<()>) -> Result<()> {
    match indices {
        Some(indices) => indices.iter().try_for_each(|&i| {
            if i as usize >= len {
                return Err(invalid(format!("indices: {i} is not below {len}")));
            }
            f(i)
        }),
        None => (0..len as u32).try_for_each(f),
    }
}

/// Joins the chunks a body arrived in, into `out` (cleared first).
fn join(chunks: &[BufferSlice], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(chunks.iter().map(|c| c.len()).sum());
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
}

/// Released bodies kept for the next scans (a body is megabytes: a fresh one costs page faults).
const POOLED_BODIES: usize = 8;

thread_local! {
    static BODY_POOL: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn pooled(body: Vec<u8>) {
    BODY_POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOLED_BODIES {
            pool.push(body);
        }
    });
}

/// Reads a GetRecords response body's envelope (the chunks it arrived in); null when the JS parser must read it.
#[napi]
pub fn scan_get_records(chunks: Vec<BufferSlice>) -> Option<ScanResult> {
    let mut body = BODY_POOL.with(|pool| pool.borrow_mut().pop()).unwrap_or_default();
    join(&chunks, &mut body);
    let Some(scan) = kinesis::scan(&body) else {
        pooled(body);
        return None;
    };
    let text = |r: &std::ops::Range<usize>| String::from_utf8_lossy(&body[r.clone()]).into_owned();
    let mut result = ScanResult {
        count: scan.body.records.len() as u32,
        last_sequence_number: scan.body.records.last().map(|r| text(&r.sequence_number)),
        next_shard_iterator: scan.body.next_shard_iterator.as_ref().map(text),
        millis_behind_latest: scan.body.millis_behind_latest,
        has_child_shards: scan.body.has_child_shards,
        aggregated: scan.aggregated,
        data_bytes: scan.data_bytes as f64,
        body: None,
    };
    if scan.body.records.is_empty() || scan.body.has_child_shards || scan.aggregated {
        pooled(body);
    } else {
        result.body = Some(External::new(HeldBody { body, records: scan.body.records, released: false }));
    }
    Some(result)
}

/// A copy of a held body's bytes (for the JS parser, when a record must be read there).
#[napi]
pub fn held_body_bytes(body: &External<HeldBody>) -> Result<Buffer> {
    Ok(Buffer::from(body.get()?.body.clone()))
}

/// Frees a held body (its memory goes to the next scans); using it afterwards is an error.
#[napi]
pub fn release_held_body(body: &mut External<HeldBody>) {
    if !body.released {
        body.released = true;
        body.records = Vec::new();
        pooled(std::mem::take(&mut body.body));
    }
}
