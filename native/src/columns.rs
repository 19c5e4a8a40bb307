//! The typed columns of one partition slot, and its Parquet file (arrow-rs `ArrowWriter`, the
//! writer parquet-wasm compiles to WebAssembly).
use crate::decode::{Field, Kind, Row, Value};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use std::sync::Arc;

enum Data {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Str { offsets: Vec<i32>, bytes: Vec<u8> },
}

struct Column {
    data: Data,
    /// Nullable fields only.
    valid: Option<Vec<bool>>,
}

/// The rows of one slot since its last file.
pub struct Slot {
    columns: Vec<Column>,
    pub rows: usize,
    pub string_bytes: usize,
}

/// Bytes per row of a field's fixed-width buffers (decode.ts's encoder estimate).
pub fn fixed_width(kind: Kind) -> usize {
    match kind {
        Kind::Int | Kind::Str => 4,
        Kind::Long | Kind::Double | Kind::Ts => 8,
        Kind::Bool => 1,
    }
}

impl Slot {
    pub fn new(fields: &[Field]) -> Slot {
        let columns = fields
            .iter()
            .map(|f| Column {
                data: match f.kind {
                    Kind::Int => Data::I32(Vec::new()),
                    Kind::Long | Kind::Ts => Data::I64(Vec::new()),
                    Kind::Double => Data::F64(Vec::new()),
                    Kind::Bool => Data::Bool(Vec::new()),
                    Kind::Str => Data::Str { offsets: vec![0], bytes: Vec::new() },
                },
                valid: f.nullable.then(Vec::new),
            })
            .collect();
        Slot { columns, rows: 0, string_bytes: 0 }
    }

    /// Appends a decoded row; an error when the slot's strings would pass 2 GiB (Arrow's 32-bit offsets).
    #[inline]
    pub fn push(&mut self, row: &Row) -> Result<(), String> {
        for (column, value) in self.columns.iter_mut().zip(row.values.iter()) {
            let is_null = matches!(value, Value::Null);
            if let Some(valid) = column.valid.as_mut() {
                valid.push(!is_null);
            }
            match (&mut column.data, *value) {
                (Data::I32(v), Value::I(x)) => v.push(x as i32),
                (Data::I64(v), Value::I(x)) => v.push(x),
                (Data::F64(v), Value::F(x)) => v.push(x),
                (Data::Bool(v), Value::B(x)) => v.push(x),
                (Data::Str { offsets, bytes }, Value::S(a, b)) => {
                    let s = row.str(a, b);
                    if bytes.len() + s.len() > i32::MAX as usize {
                        return Err("a file's string column would pass 2 GiB: lower OutputRolloverSizeMb".into());
                    }
                    bytes.extend_from_slice(s);
                    offsets.push(bytes.len() as i32);
                    self.string_bytes += s.len();
                }
                (Data::I32(v), Value::Null) => v.push(0),
                (Data::I64(v), Value::Null) => v.push(0),
                (Data::F64(v), Value::Null) => v.push(0.0),
                (Data::Bool(v), Value::Null) => v.push(false),
                (Data::Str { offsets, bytes }, Value::Null) => offsets.push(bytes.len() as i32),
                _ => return Err("a value of the wrong type for its column (a bug)".into()),
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The Parquet file of the rows (the slot is consumed).
    pub fn finish(self, fields: &[Field], properties: &WriterProperties) -> Result<Vec<u8>, String> {
        let schema = arrow_schema(fields);
        let arrays: Vec<ArrayRef> = self
            .columns
            .into_iter()
            .zip(fields.iter())
            .map(|(column, field)| -> ArrayRef {
                let nulls = column.valid.map(NullBuffer::from);
                match column.data {
                    Data::I32(v) => Arc::new(Int32Array::new(ScalarBuffer::from(v), nulls)),
                    Data::I64(v) if field.kind == Kind::Ts => Arc::new(TimestampMillisecondArray::new(ScalarBuffer::from(v), nulls).with_timezone("UTC")),
                    Data::I64(v) => Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls)),
                    Data::F64(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls)),
                    Data::Bool(v) => Arc::new(BooleanArray::new(BooleanBuffer::from(v.as_slice()), nulls)),
                    // The bytes are valid UTF-8 (checked when decoded) and the offsets grow by construction.
                    Data::Str { offsets, bytes } => Arc::new(unsafe { StringArray::new_unchecked(OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), nulls) }),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| format!("arrow: {e}"))?;
        let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(properties.clone())).map_err(|e| format!("parquet: {e}"))?;
        writer.write(&batch).map_err(|e| format!("parquet: {e}"))?;
        writer.into_inner().map_err(|e| format!("parquet: {e}"))
    }
}

/// The Arrow schema of the fields (timestamps in UTC, so Parquet gets isAdjustedToUTC = true).
pub fn arrow_schema(fields: &[Field]) -> Arc<ArrowSchema> {
    Arc::new(ArrowSchema::new(
        fields
            .iter()
            .map(|f| {
                let data_type = match f.kind {
                    Kind::Int => DataType::Int32,
                    Kind::Long => DataType::Int64,
                    Kind::Double => DataType::Float64,
                    Kind::Str => DataType::Utf8,
                    Kind::Bool => DataType::Boolean,
                    Kind::Ts => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                };
                ArrowField::new(f.name.clone(), data_type, f.nullable)
            })
            .collect::<Vec<_>>(),
    ))
}
