//! Nothing typify does may silently drop or retype a field: every component schema of the
//! spec is compared with the JSON Schema (schemars) of the Rust type generated for it.

use std::collections::{BTreeMap, BTreeSet};

use schemars::schema::{InstanceType, RootSchema, Schema, SchemaObject, SingleOrVec};
use serde_json::Value;

/// The JSON type a spec schema describes: "string", "integer", …, or "ref:<Name>" / "any".
fn spec_type(spec: &koodrive_codegen::Spec, schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = spec.deref(schema);
        return match target.get("type").and_then(Value::as_str) {
            Some(t) => t.to_owned(),
            None => format!("ref:{}", r.rsplit('/').next().unwrap()),
        };
    }
    match schema.get("type").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None if schema.get("properties").is_some() => "object".into(),
        None => "any".into(),
    }
}

fn instance_type(s: &SchemaObject) -> Option<String> {
    let name = |t: &InstanceType| {
        match t {
            InstanceType::Null => "null",
            InstanceType::Boolean => "boolean",
            InstanceType::Object => "object",
            InstanceType::Array => "array",
            InstanceType::Number => "number",
            InstanceType::String => "string",
            InstanceType::Integer => "integer",
        }
        .to_owned()
    };
    match s.instance_type.as_ref()? {
        SingleOrVec::Single(t) => Some(name(t)),
        SingleOrVec::Vec(v) => v.iter().map(name).find(|n| n != "null"),
    }
}

/// The JSON type a generated Rust type's schema describes, unwrapping Option and refs.
fn rust_type(root: &RootSchema, schema: &Schema) -> String {
    let Schema::Object(obj) = schema else {
        return "any".into();
    };
    if let Some(r) = &obj.reference {
        let name = r.rsplit('/').next().unwrap();
        return match root.definitions.get(name) {
            Some(def) => match rust_type(root, def).as_str() {
                "any" => format!("ref:{name}"),
                t => t.to_owned(),
            },
            None => format!("ref:{name}"),
        };
    }
    if let Some(t) = instance_type(obj) {
        return t;
    }
    if let Some(sub) = &obj.subschemas {
        // Option<T> of a referenced type: anyOf [T, null]; a one-element allOf wraps a ref.
        for list in [&sub.any_of, &sub.all_of, &sub.one_of]
            .into_iter()
            .flatten()
        {
            let types: Vec<String> = list
                .iter()
                .map(|s| rust_type(root, s))
                .filter(|t| t != "null")
                .collect();
            if types.len() == 1 {
                return types[0].clone();
            }
        }
    }
    "any".into()
}

/// The properties and required names of a schema, merging `allOf` members (as typify does).
fn flatten<'a>(
    spec: &'a koodrive_codegen::Spec,
    schema: &'a Value,
) -> (BTreeMap<&'a str, &'a Value>, BTreeSet<&'a str>) {
    let schema = spec.deref(schema);
    let mut props = BTreeMap::new();
    let mut required = BTreeSet::new();
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        props.extend(p.iter().map(|(k, v)| (k.as_str(), v)));
    }
    if let Some(r) = schema.get("required").and_then(Value::as_array) {
        required.extend(r.iter().filter_map(Value::as_str));
    }
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (p, r) = flatten(spec, member);
        props.extend(p);
        required.extend(r);
    }
    (props, required)
}

#[test]
fn generated_types_keep_every_field_with_its_type_and_required_flag() {
    let spec = koodrive_tests::spec();
    let schemas = spec
        .doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .unwrap();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, root) in koodrive_tests::component_schemas() {
        let (props, spec_required) = flatten(&spec, &schemas[name]);
        if props.is_empty() {
            continue;
        }
        let generated = root
            .schema
            .object
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: generated type is not an object"));
        let spec_names: BTreeSet<&str> = props.keys().copied().collect();
        let rust_names: BTreeSet<&str> = generated.properties.keys().map(String::as_str).collect();
        if spec_names != rust_names {
            problems.push(format!(
                "{name}: properties differ: spec {spec_names:?}, rust {rust_names:?}"
            ));
            continue;
        }
        let rust_required: BTreeSet<&str> = generated.required.iter().map(String::as_str).collect();
        if spec_required != rust_required {
            problems.push(format!(
                "{name}: required differs: spec {spec_required:?}, rust {rust_required:?}"
            ));
        }
        for (prop, schema) in &props {
            let want = spec_type(&spec, schema);
            let got = rust_type(&root, &generated.properties[*prop]);
            let compatible =
                want == got || want == "any" || (want.starts_with("ref:") && got != "null");
            if !compatible {
                problems.push(format!("{name}.{prop}: spec type {want}, generated {got}"));
            }
            if want == "array" {
                let items = schema
                    .get("items")
                    .map(|i| spec_type(&spec, i))
                    .unwrap_or_else(|| "any".into());
                let rust_items = match &generated.properties[*prop] {
                    Schema::Object(o) => {
                        o.array
                            .as_ref()
                            .and_then(|a| a.items.as_ref())
                            .and_then(|i| match i {
                                SingleOrVec::Single(s) => Some(rust_type(&root, s)),
                                SingleOrVec::Vec(_) => None,
                            })
                    }
                    _ => None,
                };
                if let Some(rust_items) = rust_items
                    && items != rust_items
                    && items != "any"
                    && !items.starts_with("ref:")
                {
                    problems.push(format!(
                        "{name}.{prop}[]: spec items {items}, generated {rust_items}"
                    ));
                }
            }
        }
        checked += 1;
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked > 10, "only {checked} object schemas compared");
}
