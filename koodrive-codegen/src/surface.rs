//! The generated surface, one line per operation, and the names an operation exposes.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_json::Value;

use crate::load::Spec;

/// A short type name for a schema, as it appears in the generated client.
fn type_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if schema.get("format").and_then(Value::as_str) == Some("binary") => {
            "bytes".into()
        }
        Some("string") if schema.get("enum").is_some() => "enum".into(),
        Some("string") => "String".into(),
        Some("integer") => match schema.get("format").and_then(Value::as_str) {
            Some("int32") => "i32".into(),
            _ => "i64".into(),
        },
        Some("number") => "f64".into(),
        Some("boolean") => "bool".into(),
        Some("array") => format!(
            "Vec<{}>",
            schema.get("items").map(type_name).unwrap_or_default()
        ),
        Some("object") | None => "object".into(),
        Some(other) => other.into(),
    }
}

fn parameters<'a>(spec: &'a Spec, path: &str, op: &'a Value) -> Vec<&'a Value> {
    let item = spec
        .doc
        .get("paths")
        .and_then(|p| p.get(path))
        .and_then(|i| i.get("parameters"));
    op.get("parameters")
        .into_iter()
        .chain(item)
        .filter_map(Value::as_array)
        .flatten()
        .map(|p| spec.deref(p))
        .collect()
}

/// The schema of the JSON (or other) request body, if any.
pub fn request_schema<'a>(spec: &'a Spec, op: &'a Value) -> Option<&'a Value> {
    let body = spec.deref(op.get("requestBody")?);
    body.get("content")?
        .as_object()?
        .values()
        .next()?
        .get("schema")
}

/// The success response's media type and schema, if it has a body.
pub fn success_schema<'a>(spec: &'a Spec, op: &'a Value) -> Option<(&'a str, &'a Value)> {
    let responses = op.get("responses")?.as_object()?;
    let (_, response) = responses.iter().find(|(code, _)| code.starts_with('2'))?;
    let response = spec.deref(response);
    let (media, mt) = response.get("content")?.as_object()?.iter().next()?;
    Some((media.as_str(), mt.get("schema")?))
}

/// One line per operation: tag, operationId, method and path, parameters, body, response.
pub fn surface(spec: &Spec) -> String {
    let mut lines = Vec::new();
    for (path, method, op, _) in spec.operations() {
        let tag = op.pointer("/tags/0").and_then(Value::as_str).unwrap_or("-");
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or("-");
        let params: Vec<String> = parameters(spec, path, op)
            .into_iter()
            .map(|p| {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let loc = p.get("in").and_then(Value::as_str).unwrap_or("?");
                let req = if p.get("required").and_then(Value::as_bool) == Some(true) {
                    ""
                } else {
                    "?"
                };
                let ty = p.get("schema").map(type_name).unwrap_or_default();
                format!("{loc} {name}{req}: {ty}")
            })
            .collect();
        let body = request_schema(spec, op)
            .map(type_name)
            .unwrap_or_else(|| "-".into());
        let response = match success_schema(spec, op) {
            Some((media, s)) if media.contains("json") => type_name(s),
            Some(_) => "ByteStream".into(),
            None => "()".into(),
        };
        lines.push((
            tag.to_owned(),
            id.to_owned(),
            format!(
                "{tag} | {id} | {} {path} | {} | body: {body} | response: {response}",
                method.to_uppercase(),
                if params.is_empty() {
                    "-".into()
                } else {
                    params.join(", ")
                }
            ),
        ));
    }
    lines.sort();
    let mut out = String::new();
    for (_, _, line) in lines {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Every parameter and field name of an operation, in the inventory's token form:
/// `header:X-Traceid`, `query:pageSize`, `path:job_id`, `body:taskInfo.fileInfo[].fileId`,
/// `response:data.accessToken`.
pub fn field_names(spec: &Spec, path: &str, op: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in parameters(spec, path, op) {
        if let (Some(loc), Some(name)) = (
            p.get("in").and_then(Value::as_str),
            p.get("name").and_then(Value::as_str),
        ) {
            out.insert(format!("{loc}:{name}"));
        }
    }
    if let Some(schema) = request_schema(spec, op) {
        walk_fields(spec, schema, "body:", "", &mut out, 0);
    }
    if let Some((_, schema)) = success_schema(spec, op) {
        walk_fields(spec, schema, "response:", "", &mut out, 0);
    }
    out
}

fn walk_fields(
    spec: &Spec,
    schema: &Value,
    kind: &str,
    prefix: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > 12 {
        return;
    }
    let schema = spec.deref(schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let here = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.insert(format!("{kind}{here}"));
            walk_fields(spec, child, kind, &here, out, depth + 1);
        }
    }
    if let Some(items) = schema.get("items") {
        if !prefix.is_empty() {
            walk_fields(spec, items, kind, &format!("{prefix}[]"), out, depth + 1);
        } else {
            walk_fields(spec, items, kind, "[]", out, depth + 1);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            for s in list {
                walk_fields(spec, s, kind, prefix, out, depth + 1);
            }
        }
    }
}
