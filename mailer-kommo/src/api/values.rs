//! Custom-field values: read from `custom_fields_values` as text, and written per field type.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use mailer_core::model::{FieldEntry, FieldId, FieldKind, FieldValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::fields::{RawFieldDef, kind_of};
use crate::error::KommoError;

/// One field's values on an entity.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawFieldValues {
    pub(crate) field_id: i64,
    #[serde(default)]
    pub(crate) field_name: Option<String>,
    #[serde(default)]
    pub(crate) field_code: Option<String>,
    #[serde(default)]
    pub(crate) field_type: Option<String>,
    #[serde(default)]
    pub(crate) values: Option<Vec<RawValue>>,
}

/// One value.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawValue {
    #[serde(default)]
    pub(crate) value: Value,
    #[serde(default)]
    pub(crate) enum_id: Option<i64>,
}

/// A day as Kommo stores a date field: the account's local midnight, in Unix seconds.
pub(crate) fn day_to_timestamp(day: NaiveDate, tz: Tz) -> i64 {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // On a day that starts with a DST gap, take the first instant that exists.
    tz.from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc().timestamp(), |t| t.timestamp())
}

/// The account-local day of a Kommo timestamp.
pub(crate) fn timestamp_to_day(ts: i64, tz: Tz) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp(ts, 0).map(|t| t.with_timezone(&tz).date_naive())
}

fn text(value: &Value, is_date: bool, tz: Tz) -> String {
    match value {
        Value::String(s) if is_date => s
            .parse::<i64>()
            .ok()
            .and_then(|ts| timestamp_to_day(ts, tz))
            .map_or_else(|| s.clone(), |d| d.format("%Y-%m-%d").to_string()),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Number(n) if is_date => n
            .as_i64()
            .and_then(|ts| timestamp_to_day(ts, tz))
            .map_or_else(|| n.to_string(), |d| d.format("%Y-%m-%d").to_string()),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A field's values as text: list options by their text, a checkbox as `1`/`0`, dates as `YYYY-MM-DD`
/// in the account's timezone.
pub(crate) fn entry(raw: &RawFieldValues, def: Option<&RawFieldDef>, tz: Tz) -> FieldEntry {
    let field_type = raw.field_type.as_deref().or(def.map(|d| d.field_type.as_str()));
    let is_date = field_type.and_then(kind_of) == Some(FieldKind::Date);
    FieldEntry {
        id: FieldId(raw.field_id),
        name: raw
            .field_name
            .clone()
            .or_else(|| def.map(|d| d.name.clone()))
            .unwrap_or_default(),
        values: raw
            .values
            .iter()
            .flatten()
            .map(|v| text(&v.value, is_date, tz))
            .collect(),
    }
}

/// The texts of a system multitext field (`EMAIL`, `PHONE`).
pub(crate) fn by_code(raw: &[RawFieldValues], code: &str) -> Vec<String> {
    raw.iter()
        .filter(|f| f.field_code.as_deref() == Some(code))
        .flat_map(|f| f.values.iter().flatten())
        .filter_map(|v| v.value.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .collect()
}

fn invalid(def: &RawFieldDef, detail: &str) -> KommoError {
    KommoError::Invalid {
        detail: detail.to_owned(),
        violations: vec![crate::error::Violation {
            request_id: None,
            code: "InvalidValue".into(),
            path: def.name.clone(),
            detail: detail.to_owned(),
        }],
    }
}

/// The `custom_fields_values` item that writes `value` into the field. `current` is the field's current
/// enum ids (a multilist write re-sends the whole selection, because Kommo replaces a field's values).
pub(crate) fn write(def: &RawFieldDef, value: &FieldValue, current: &[i64], tz: Tz) -> Result<Value, KommoError> {
    let kind = kind_of(&def.field_type).ok_or_else(|| invalid(def, "this field type cannot be written"))?;
    let known = |id: i64| def.enum_ids().any(|(e, _)| e == id);
    let values = match (value, kind) {
        (FieldValue::Reset, _) => Value::Null,
        (FieldValue::Text(t), FieldKind::Text) => json!([{ "value": t }]),
        (FieldValue::Numeric(n), FieldKind::Numeric) => {
            let n = n.trim();
            if n.parse::<f64>().map_or(true, |f| !f.is_finite()) {
                return Err(invalid(def, "not a number"));
            }
            json!([{ "value": n }])
        }
        (FieldValue::List(id), FieldKind::List) if known(id.0) => json!([{ "enum_id": id.0 }]),
        (FieldValue::MultilistAdd(id), FieldKind::Multilist) if known(id.0) => {
            let mut ids = current.to_vec();
            if !ids.contains(&id.0) {
                ids.push(id.0);
            }
            Value::Array(ids.into_iter().map(|e| json!({ "enum_id": e })).collect())
        }
        (FieldValue::List(_) | FieldValue::MultilistAdd(_), FieldKind::List | FieldKind::Multilist) => {
            return Err(invalid(def, "unknown list value"));
        }
        (FieldValue::Switch(on), FieldKind::Switch) => json!([{ "value": on }]),
        (FieldValue::Date(day), FieldKind::Date) => json!([{ "value": day_to_timestamp(*day, tz) }]),
        _ => return Err(invalid(def, "value does not fit the field's type")),
    };
    Ok(json!({ "field_id": def.id, "values": values }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_local_midnight_and_reads_back_as_the_same_day() {
        let day = NaiveDate::from_ymd_opt(2018, 8, 29).expect("day");
        for (tz, expected) in [
            (chrono_tz::UTC, 1_535_500_800),
            (chrono_tz::Europe::Moscow, 1_535_500_800 - 3 * 3600),
            (chrono_tz::America::New_York, 1_535_500_800 + 4 * 3600),
        ] {
            let ts = day_to_timestamp(day, tz);
            assert_eq!(ts, expected, "{tz}");
            assert_eq!(timestamp_to_day(ts, tz), Some(day), "{tz}");
        }
        // the pitfall: UTC midnight read in a UTC-4 account is the day before
        assert_eq!(
            timestamp_to_day(1_535_500_800, chrono_tz::America::New_York),
            NaiveDate::from_ymd_opt(2018, 8, 28)
        );
    }
}
