use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ColumnType, Format, ParseError};

/// One row: a value per column, in the order of [`Table::columns`].
pub type Row = Vec<Value>;

/// One record as a map from column name to value, for code that looks fields
/// up by name (templates); the table itself keeps rows as arrays.
pub type Record = BTreeMap<String, Value>;

/// A parsed document: columns in source order, one inferred type per column,
/// and rows aligned to the columns.
///
/// This is the shape a table UI wants (headers once, cells by index) and the
/// JSON the parsers service answers with: `{ "columns", "types", "rows" }`,
/// plus `"front_matter"` for Markdown documents that have it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub types: Vec<ColumnType>,
    /// Every row has exactly `columns.len()` cells; missing fields are `null`.
    pub rows: Vec<Row>,
    /// A Markdown document's YAML front matter (key order is not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_matter: Option<Map<String, Value>>,
}

impl Table {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The type inferred for the column called `name`.
    pub fn column_type(&self, name: &str) -> Option<ColumnType> {
        let index = self.columns.iter().position(|c| c == name)?;
        self.types.get(index).copied()
    }

    /// Row `index` as a name → value map.
    pub fn record(&self, index: usize) -> Option<Record> {
        let row = self.rows.get(index)?;
        Some(self.columns.iter().cloned().zip(row.iter().cloned()).collect())
    }

    /// Every row as a name → value map.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        (0..self.rows.len()).filter_map(|i| self.record(i))
    }

    /// Pads short rows and, for text formats, turns each cell into the value
    /// its column's final type calls for (a cell's own look is not enough:
    /// `12` in a column that also holds `abc` stays the text "12").
    pub(crate) fn assemble(columns: Columns, mut rows: Vec<Row>, text_cells: bool) -> Table {
        let width = columns.names.len();
        for row in &mut rows {
            row.resize(width, Value::Null);
            if text_cells {
                for (cell, ty) in row.iter_mut().zip(&columns.types) {
                    if let Value::String(text) = cell {
                        *cell = ty.convert_text(std::mem::take(text));
                    }
                }
            }
        }
        Table { columns: columns.names, types: columns.types, rows, front_matter: None }
    }
}

/// The growing column list shared by every format: names in first-seen
/// order, their types so far, and the column limit.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub(crate) format: Format,
    pub(crate) names: Vec<String>,
    pub(crate) types: Vec<ColumnType>,
    index: HashMap<String, usize>,
    max: usize,
}

impl Columns {
    pub(crate) fn new(format: Format, max: usize) -> Self {
        Columns { format, names: Vec::new(), types: Vec::new(), index: HashMap::new(), max }
    }

    /// The column for `name`, adding it if it is new; `None` past the limit.
    pub(crate) fn slot(&mut self, name: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        if self.names.len() >= self.max {
            return None;
        }
        let i = self.names.len();
        self.names.push(name.to_owned());
        self.types.push(ColumnType::Empty);
        self.index.insert(name.to_owned(), i);
        Some(i)
    }

    /// The columns for one header row (CSV, a Markdown table). Blank names
    /// become `column_N` and repeats get `_2`, `_3`, … within the header, so
    /// no data is silently merged into a same-named column.
    pub(crate) fn header_slots<'a>(
        &mut self,
        header: impl IntoIterator<Item = &'a str>,
        line: u64,
    ) -> Result<Vec<usize>, ParseError> {
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut slots = Vec::new();
        for (position, raw) in header.into_iter().enumerate() {
            let trimmed = raw.trim();
            let base = if trimmed.is_empty() { format!("column_{}", position + 1) } else { trimmed.to_owned() };
            let count = seen.entry(base.clone()).or_insert(0);
            *count += 1;
            let name = if *count == 1 { base } else { format!("{base}_{count}") };
            let slot = self.slot(&name).ok_or_else(|| {
                // The csv crate gives fields, not character positions, so
                // point at the line and name the field.
                let message = format!("header field {}: {}", position + 1, self.too_many_message());
                ParseError::malformed(self.format, line, 1, message)
            })?;
            slots.push(slot);
        }
        Ok(slots)
    }

    pub(crate) fn observe(&mut self, slot: usize, ty: ColumnType) {
        if let Some(current) = self.types.get_mut(slot) {
            *current = current.join(ty);
        }
    }

    pub(crate) fn too_many(&self, line: u64, column: u64) -> ParseError {
        ParseError::malformed(self.format, line, column, self.too_many_message())
    }

    fn too_many_message(&self) -> String {
        format!(
            "this brings the number of columns past the limit of {}; check that the file really is {} records, or raise the column limit",
            self.max, self.format
        )
    }
}

/// Deserializes a sequence of objects (a JSON array, a YAML sequence) into
/// rows, keeping each object's keys in source order. serde_json's `Map`
/// sorts keys unless the workspace-wide `preserve_order` feature is on, which
/// would change every other crate's JSON; a visitor avoids that.
pub(crate) struct RecordsSeed<'a> {
    pub(crate) columns: &'a mut Columns,
    pub(crate) rows: &'a mut Vec<Row>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of records, one object of field: value per record")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element_seed(ObjectSeed { columns: &mut *self.columns })? {
            self.rows.push(row);
        }
        Ok(())
    }

    /// An empty YAML document is an empty list, not an error.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Deserializes one object into a row aligned to `columns`.
pub(crate) struct ObjectSeed<'a> {
    pub(crate) columns: &'a mut Columns,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Row;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Row, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record: an object of field: value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut row = Row::new();
        while let Some(key) = map.next_key_seed(FieldName)? {
            let value: Value = map.next_value()?;
            let slot = self.columns.slot(&key).ok_or_else(|| de::Error::custom(self.columns.too_many_message()))?;
            if row.len() <= slot {
                row.resize(slot + 1, Value::Null);
            }
            self.columns.observe(slot, ColumnType::of_value(&value));
            row[slot] = value;
        }
        Ok(row)
    }
}

/// Ordered `(field, value)` pairs of one object: front matter, where the
/// pairs become both a map and (without a table) a record.
pub(crate) struct OrderedObject(pub(crate) Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of field: value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key_seed(FieldName)? {
                    pairs.push((key, map.next_value()?));
                }
                Ok(OrderedObject(pairs))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OrderedObject, E> {
                Ok(OrderedObject(Vec::new()))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// A field name: text, or a YAML scalar key such as `1` or `true`, as text.
struct FieldName;

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Visitor<'_> for FieldName {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name (text, a number or a boolean)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_owned())
    }
}
