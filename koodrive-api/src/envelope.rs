//! The `{code, msg}` envelope's result code.
//!
//! The docs type `code` as an integer on most pages and as a string on others, and both forms
//! appear in examples. [`ResultCode`] accepts both and always holds a number. The spec's
//! `ResultCode` schema is replaced by this type in the generated code
//! (`x-koodrive-replaced-by`).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A KooDrive result code: `0` is success, anything else an error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ResultCode(pub i64);

impl ResultCode {
    /// The success code, `0`.
    pub const SUCCESS: ResultCode = ResultCode(0);

    /// True for `0`.
    pub fn is_success(self) -> bool {
        self.0 == 0
    }

    /// The numeric value.
    pub fn value(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for ResultCode {
    fn from(v: i64) -> Self {
        ResultCode(v)
    }
}

impl Serialize for ResultCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for ResultCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ResultCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a result code: an integer or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResultCode, E> {
                Ok(ResultCode(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResultCode, E> {
                i64::try_from(v)
                    .map(ResultCode)
                    .map_err(|_| E::custom(format!("result code {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResultCode, E> {
                v.trim()
                    .parse::<i64>()
                    .map(ResultCode)
                    .map_err(|_| E::custom(format!("result code {v:?} is not a number")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for ResultCode {
    fn schema_name() -> String {
        "ResultCode".to_owned()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{InstanceType, Schema, SchemaObject, SubschemaValidation};
        let integer = SchemaObject {
            instance_type: Some(InstanceType::Integer.into()),
            format: Some("int64".into()),
            ..Default::default()
        };
        let string = SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            ..Default::default()
        };
        Schema::Object(SchemaObject {
            subschemas: Some(Box::new(SubschemaValidation {
                one_of: Some(vec![integer.into(), string.into()]),
                ..Default::default()
            })),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ResultCode;

    #[test]
    fn decodes_integers_and_numeric_strings() {
        assert_eq!(
            serde_json::from_str::<ResultCode>("0").unwrap(),
            ResultCode(0)
        );
        assert_eq!(
            serde_json::from_str::<ResultCode>("\"13000102\"").unwrap(),
            ResultCode(13000102)
        );
        assert_eq!(
            serde_json::from_str::<ResultCode>("\" 7 \"").unwrap(),
            ResultCode(7)
        );
        assert!(serde_json::from_str::<ResultCode>("\"integer\"").is_err());
        assert!(serde_json::from_str::<ResultCode>("1.5").is_err());
        assert_eq!(
            serde_json::to_string(&ResultCode(13000201)).unwrap(),
            "13000201"
        );
    }
}
