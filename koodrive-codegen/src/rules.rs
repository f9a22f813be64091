//! The house rules: what a KooDrive spec must obey beyond OpenAPI itself.
//!
//! Each rule has a name (the `rule` of its diagnostics); `RULES` lists them with a one-line
//! description. Every rule runs on every validation, and all findings are reported together.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diagnostic::{Diagnostic, escape};
use crate::load::Spec;

/// Every house rule: (name, what it demands).
pub const RULES: &[(&str, &str)] = &[
    (
        "openapi-version",
        "the document is OpenAPI 3.0.x (progenitor rejects 3.1)",
    ),
    ("operation-id-missing", "every operation has an operationId"),
    ("operation-id-duplicate", "operationIds are unique"),
    ("operation-id-case", "operationIds are lowerCamelCase"),
    (
        "operation-tag",
        "every operation has exactly one tag, declared at the top level",
    ),
    ("operation-summary", "every operation has a summary"),
    (
        "operation-doc-url",
        "every operation has an https x-doc-url",
    ),
    (
        "operation-security",
        "every operation declares `security` with known schemes",
    ),
    (
        "no-multipart",
        "no multipart request bodies (progenitor cannot generate them)",
    ),
    (
        "single-request-media-type",
        "a request body has exactly one media type",
    ),
    (
        "single-success-schema",
        "at most one success (2xx) schema per operation",
    ),
    (
        "single-error-schema",
        "at most one error schema per operation",
    ),
    (
        "ref-resolves",
        "every $ref points at something that exists in the document",
    ),
    (
        "path-params-match",
        "path template parameters and declared path parameters match exactly",
    ),
    ("unused-component", "every component is used"),
    (
        "success-envelope",
        "every JSON success schema carries the code/msg envelope",
    ),
    (
        "closed-enum-in-response",
        "response schemas use no closed `enum` (the server controls those values)",
    ),
    (
        "closed-object",
        "no schema sets additionalProperties: false",
    ),
    (
        "koodrive-extension",
        "x-koodrive-* extensions have the documented shape",
    ),
    (
        "unknown-field",
        "operations, parameters and schemas use only OpenAPI 3.0 keywords or x- extensions (catches typos)",
    ),
];

const OPERATION_KEYS: &[&str] = &[
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
];
const PARAMETER_KEYS: &[&str] = &[
    "name",
    "in",
    "description",
    "required",
    "deprecated",
    "allowEmptyValue",
    "style",
    "explode",
    "allowReserved",
    "schema",
    "example",
    "examples",
    "content",
];
const SCHEMA_KEYS: &[&str] = &[
    "$ref",
    "title",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "items",
    "properties",
    "additionalProperties",
    "description",
    "format",
    "default",
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "deprecated",
];

const SUCCESS_ENVELOPES: &[&str] = &["ai", "transcode"];
const PAGINATION_STYLES: &[&str] = &[
    "cursor",
    "body-cursor",
    "page-number",
    "offset-limit",
    "int-cursor",
];

/// Run every house rule.
pub fn check(spec: &Spec) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    openapi_version(spec, &mut d);
    operations(spec, &mut d);
    refs(spec, &spec.doc, "", &mut d);
    unused_components(spec, &mut d);
    closed_objects(&spec.doc, "", &mut d);
    unknown_fields(spec, &mut d);
    d
}

fn unknown_keys(
    obj: &Value,
    allowed: &[&str],
    ptr: &str,
    what: &str,
    id: Option<&str>,
    d: &mut Vec<Diagnostic>,
) {
    let Some(map) = obj.as_object() else { return };
    for key in map.keys() {
        if !key.starts_with("x-") && !allowed.contains(&key.as_str()) {
            d.push(
                Diagnostic::error("unknown-field", format!("{ptr}/{}", escape(key)), format!("`{key}` is not an OpenAPI 3.0 {what} field"))
                    .op(id)
                    .help("fix the spelling, or prefix a custom field with `x-` (OpenAPI tools ignore unknown keys silently)"),
            );
        }
    }
}

fn schema_keys(schema: &Value, ptr: &str, id: Option<&str>, d: &mut Vec<Diagnostic>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    unknown_keys(schema, SCHEMA_KEYS, ptr, "schema", id, d);
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            schema_keys(p, &format!("{ptr}/properties/{}", escape(name)), id, d);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(s) = map.get(key).filter(|s| s.is_object()) {
            schema_keys(s, &format!("{ptr}/{key}"), id, d);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, s) in map
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            schema_keys(s, &format!("{ptr}/{key}/{i}"), id, d);
        }
    }
}

fn parameter_keys(p: &Value, ptr: &str, id: Option<&str>, d: &mut Vec<Diagnostic>) {
    if p.get("$ref").is_some() {
        return;
    }
    unknown_keys(p, PARAMETER_KEYS, ptr, "parameter", id, d);
    if let Some(s) = p.get("schema") {
        schema_keys(s, &format!("{ptr}/schema"), id, d);
    }
}

fn unknown_fields(spec: &Spec, d: &mut Vec<Diagnostic>) {
    for (_, _, op, ptr) in spec.operations() {
        let id = op.get("operationId").and_then(Value::as_str);
        unknown_keys(op, OPERATION_KEYS, &ptr, "operation", id, d);
        for (i, p) in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            parameter_keys(p, &format!("{ptr}/parameters/{i}"), id, d);
        }
        let media = |v: Option<&Value>| {
            v.and_then(|v| v.get("content"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        for (m, mt) in media(op.get("requestBody")) {
            if let Some(s) = mt.get("schema") {
                schema_keys(
                    s,
                    &format!("{ptr}/requestBody/content/{}/schema", escape(&m)),
                    id,
                    d,
                );
            }
        }
        for (code, r) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (m, mt) in media(Some(r)) {
                if let Some(s) = mt.get("schema") {
                    schema_keys(
                        s,
                        &format!("{ptr}/responses/{code}/content/{}/schema", escape(&m)),
                        id,
                        d,
                    );
                }
            }
        }
    }
    if let Some(schemas) = spec
        .doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in schemas {
            schema_keys(s, &format!("/components/schemas/{}", escape(name)), None, d);
        }
    }
    if let Some(params) = spec
        .doc
        .pointer("/components/parameters")
        .and_then(Value::as_object)
    {
        for (name, p) in params {
            parameter_keys(
                p,
                &format!("/components/parameters/{}", escape(name)),
                None,
                d,
            );
        }
    }
}

fn openapi_version(spec: &Spec, d: &mut Vec<Diagnostic>) {
    let v = spec
        .doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ok = v
        .strip_prefix("3.0.")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()));
    if !ok {
        d.push(
            Diagnostic::error(
                "openapi-version",
                "/openapi",
                format!("`openapi` is `{v}`, not 3.0.x"),
            )
            .help("set `openapi: 3.0.3`; progenitor 0.15 does not read OpenAPI 3.1"),
        );
    }
}

fn is_lower_camel(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn operations(spec: &Spec, d: &mut Vec<Diagnostic>) {
    let declared_tags: BTreeSet<&str> = spec
        .doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let schemes: BTreeSet<&str> = spec
        .doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut seen_ids: BTreeMap<String, String> = BTreeMap::new();

    for (path, method, op, ptr) in spec.operations() {
        let id = op.get("operationId").and_then(Value::as_str);
        let diag = |rule, p: String, m: String| Diagnostic::error(rule, p, m).op(id);
        match id {
            None => d.push(
                diag(
                    "operation-id-missing",
                    ptr.clone(),
                    format!("{} {path} has no operationId", method.to_uppercase()),
                )
                .help("add a lowerCamelCase, verb-first operationId, e.g. `listPersonalFiles`"),
            ),
            Some(id) => {
                if let Some(first) = seen_ids.get(id) {
                    d.push(
                        diag(
                            "operation-id-duplicate",
                            format!("{ptr}/operationId"),
                            format!("operationId `{id}` is also used at {first}"),
                        )
                        .help("operationIds name the generated methods and must be unique"),
                    );
                } else {
                    seen_ids.insert(id.to_owned(), ptr.clone());
                }
                if !is_lower_camel(id) {
                    d.push(
                        diag("operation-id-case", format!("{ptr}/operationId"), format!("operationId `{id}` is not lowerCamelCase"))
                            .help("use letters and digits only, starting lower case; keep the official id in `x-koodrive-doc-id`"),
                    );
                }
            }
        }
        match op.get("tags").and_then(Value::as_array) {
            Some(tags) if tags.len() == 1 => {
                let tag = tags[0].as_str().unwrap_or("");
                if !declared_tags.contains(tag) {
                    d.push(
                        diag("operation-tag", format!("{ptr}/tags/0"), format!("tag `{tag}` is not declared in the top-level `tags`"))
                            .help("use the documented category's name exactly as declared in spec/openapi.yaml"),
                    );
                }
            }
            _ => d.push(
                diag(
                    "operation-tag",
                    ptr.clone(),
                    "the operation needs exactly one tag".into(),
                )
                .help("set `tags: [<documented category>]`"),
            ),
        }
        if op
            .get("summary")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            d.push(
                diag(
                    "operation-summary",
                    ptr.clone(),
                    "the operation has no summary".into(),
                )
                .help("add a one-line `summary` in your own words"),
            );
        }
        if !op
            .get("x-doc-url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.starts_with("https://"))
        {
            d.push(
                diag(
                    "operation-doc-url",
                    ptr.clone(),
                    "the operation has no https `x-doc-url`".into(),
                )
                .help("set `x-doc-url` to the documentation page the operation was taken from"),
            );
        }
        match op.get("security").and_then(Value::as_array) {
            None => d.push(
                diag(
                    "operation-security",
                    ptr.clone(),
                    "the operation does not declare `security`".into(),
                )
                .help("declare the documented auth: userToken/appAuth, appToken, or `[]` for none"),
            ),
            Some(reqs) => {
                for (i, req) in reqs.iter().enumerate() {
                    for name in req
                        .as_object()
                        .map(|m| m.keys().collect::<Vec<_>>())
                        .unwrap_or_default()
                    {
                        if !schemes.contains(name.as_str()) {
                            d.push(
                                diag("operation-security", format!("{ptr}/security/{i}"), format!("unknown security scheme `{name}`"))
                                    .help("use userToken, appAuth or appToken (components/securitySchemes)"),
                            );
                        }
                    }
                }
            }
        }
        request_body(spec, op, &ptr, id, d);
        responses(spec, op, &ptr, id, d);
        path_params(spec, path, op, &ptr, id, d);
        extensions(op, &ptr, id, d);
    }
}

fn request_body(spec: &Spec, op: &Value, ptr: &str, id: Option<&str>, d: &mut Vec<Diagnostic>) {
    let Some(body) = op.get("requestBody") else {
        return;
    };
    let body = spec.deref(body);
    let Some(content) = body.get("content").and_then(Value::as_object) else {
        return;
    };
    for media in content.keys() {
        if media.starts_with("multipart/") {
            d.push(
                Diagnostic::error("no-multipart", format!("{ptr}/requestBody/content/{}", escape(media)), format!("`{media}` bodies cannot be generated"))
                    .op(id)
                    .help("use application/json or application/octet-stream; progenitor has no multipart support"),
            );
        }
    }
    if content.len() > 1 {
        d.push(
            Diagnostic::error(
                "single-request-media-type",
                format!("{ptr}/requestBody/content"),
                format!("{} media types on one body", content.len()),
            )
            .op(id)
            .help("keep the one media type the docs use; progenitor panics on two"),
        );
    }
}

fn status_class(code: &str) -> Option<char> {
    match code {
        "default" => Some('e'),
        c if c.starts_with('2') => Some('s'),
        c if c.starts_with('4') || c.starts_with('5') => Some('e'),
        _ => None,
    }
}

/// The schema of a response's first media type, and the media type.
fn response_schema<'a>(spec: &'a Spec, response: &'a Value) -> Option<(&'a str, &'a Value)> {
    let response = spec.deref(response);
    let (media, mt) = response.get("content")?.as_object()?.iter().next()?;
    Some((media.as_str(), mt.get("schema")?))
}

fn responses(spec: &Spec, op: &Value, ptr: &str, id: Option<&str>, d: &mut Vec<Diagnostic>) {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        return;
    };
    let mut success: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut errors: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (code, response) in responses {
        let Some(class) = status_class(code) else {
            continue;
        };
        let key = match response_schema(spec, response) {
            Some((_, schema)) => schema.to_string(),
            None => continue,
        };
        let bucket = if class == 's' {
            &mut success
        } else {
            &mut errors
        };
        bucket.entry(key).or_default().push(code);
    }
    if success.len() > 1 {
        d.push(
            Diagnostic::error(
                "single-success-schema",
                format!("{ptr}/responses"),
                format!("{} different success schemas", success.len()),
            )
            .op(id)
            .help("keep one success response with a body; progenitor panics on more"),
        );
    }
    if errors.len() > 1 {
        d.push(
            Diagnostic::error(
                "single-error-schema",
                format!("{ptr}/responses"),
                format!("{} different error schemas", errors.len()),
            )
            .op(id)
            .help("point every error status at #/components/responses/Error"),
        );
    }
    // The envelope and open enums, on the JSON success schema.
    let envelope = op.get("x-koodrive-envelope").and_then(Value::as_str);
    for (code, response) in responses {
        if status_class(code) != Some('s') {
            continue;
        }
        let Some((media, schema)) = response_schema(spec, response) else {
            continue;
        };
        if !media.contains("json") {
            continue;
        }
        let sptr = format!("{ptr}/responses/{code}/content/{}/schema", escape(media));
        envelope_check(spec, schema, envelope, &sptr, id, d);
        let mut visited = BTreeSet::new();
        closed_enums(spec, schema, &sptr, id, &mut visited, d);
        if op.get("x-koodrive-incomplete").is_some() && !keeps_unknown_fields(spec, schema) {
            d.push(
                Diagnostic::error("incomplete-open", sptr.clone(), "the operation is marked incomplete, but its success schema drops unknown fields".to_owned())
                    .op(id)
                    .help("set `additionalProperties: {}` on the success schema: typify then keeps unknown fields in `extra`"),
            );
        }
    }
}

fn envelope_check(
    spec: &Spec,
    schema: &Value,
    envelope: Option<&str>,
    sptr: &str,
    id: Option<&str>,
    d: &mut Vec<Diagnostic>,
) {
    let resolved = spec.deref(schema);
    let props = resolved.get("properties").and_then(Value::as_object);
    let has = |name: &str| props.is_some_and(|p| p.contains_key(name));
    let code_is_shared = props
        .and_then(|p| p.get("code"))
        .and_then(|c| c.get("$ref"))
        .and_then(Value::as_str)
        == Some("#/components/schemas/ResultCode");
    let (needed, help): (&[&str], &str) = match envelope {
        None => (
            &["code", "msg"],
            "add `code: {$ref: '#/components/schemas/ResultCode'}` and `msg: {type: string}` beside the payload",
        ),
        Some("ai") => (
            &["code", "message", "success"],
            "AI operations answer {code, message, success, data}",
        ),
        Some("transcode") => (&["code"], "the transcoding envelope carries `code`"),
        Some(_) => return,
    };
    let missing: Vec<&str> = needed.iter().copied().filter(|n| !has(n)).collect();
    if !missing.is_empty() {
        d.push(
            Diagnostic::error(
                "success-envelope",
                sptr.to_owned(),
                format!("the success schema lacks {}", missing.join(", ")),
            )
            .op(id)
            .help(help),
        );
    } else if envelope != Some("transcode") && !code_is_shared {
        d.push(
            Diagnostic::error("success-envelope", format!("{sptr}/properties/code"), "`code` does not use the shared ResultCode schema".to_owned())
                .op(id)
                .help("`code` must be `$ref: '#/components/schemas/ResultCode'`, which decodes integers and strings"),
        );
    }
}

/// True when the schema (or a member of its allOf) has `additionalProperties: {}`.
fn keeps_unknown_fields(spec: &Spec, schema: &Value) -> bool {
    let schema = spec.deref(schema);
    let open = schema
        .get("additionalProperties")
        .is_some_and(|a| a.as_object().is_some_and(|m| m.is_empty()));
    open || schema
        .get("allOf")
        .and_then(Value::as_array)
        .is_some_and(|members| members.iter().any(|m| keeps_unknown_fields(spec, m)))
}

/// Walk a response schema (through refs) looking for `enum`.
fn closed_enums(
    spec: &Spec,
    schema: &Value,
    ptr: &str,
    id: Option<&str>,
    visited: &mut BTreeSet<String>,
    d: &mut Vec<Diagnostic>,
) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        if visited.insert(r.to_owned())
            && let Some(target) = spec.resolve_ref(r)
        {
            closed_enums(spec, target, r.trim_start_matches('#'), id, visited, d);
        }
        return;
    }
    for key in ["minLength", "maxLength", "pattern"] {
        if schema.get(key).is_some() {
            d.push(
                Diagnostic::error("constraint-in-response", format!("{ptr}/{key}"), format!("a response string carries `{key}`"))
                    .op(id)
                    .help("the generated type would reject a longer or different value from the server: state the documented limit in the description instead"),
            );
        }
    }
    if schema.get("enum").is_some() {
        d.push(
            Diagnostic::error("closed-enum-in-response", format!("{ptr}/enum"), "a response field uses a closed `enum`".to_owned())
                .op(id)
                .help("the server controls these values: drop `enum` and list them in `x-koodrive-known-values`"),
        );
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, s) in props {
            closed_enums(
                spec,
                s,
                &format!("{ptr}/properties/{}", escape(name)),
                id,
                visited,
                d,
            );
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(s) = schema.get(key).filter(|s| s.is_object()) {
            closed_enums(spec, s, &format!("{ptr}/{key}"), id, visited, d);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            for (i, s) in list.iter().enumerate() {
                closed_enums(spec, s, &format!("{ptr}/{key}/{i}"), id, visited, d);
            }
        }
    }
}

fn template_params(path: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.insert(rest[start + 1..start + end].to_owned());
        rest = &rest[start + end + 1..];
    }
    out
}

fn path_params(
    spec: &Spec,
    path: &str,
    op: &Value,
    ptr: &str,
    id: Option<&str>,
    d: &mut Vec<Diagnostic>,
) {
    let templated = template_params(path);
    let mut declared = BTreeSet::new();
    let item_params = spec
        .doc
        .pointer(&format!("/paths/{}/parameters", escape(path)));
    let params = op
        .get("parameters")
        .into_iter()
        .chain(item_params)
        .filter_map(Value::as_array)
        .flatten();
    for p in params {
        let p = spec.deref(p);
        if p.get("in").and_then(Value::as_str) == Some("path")
            && let Some(name) = p.get("name").and_then(Value::as_str)
        {
            declared.insert(name.to_owned());
            if p.get("required").and_then(Value::as_bool) != Some(true) {
                d.push(
                    Diagnostic::error(
                        "path-params-match",
                        format!("{ptr}/parameters"),
                        format!("path parameter `{name}` is not `required: true`"),
                    )
                    .op(id)
                    .help("OpenAPI requires path parameters to be required"),
                );
            }
        }
    }
    for name in templated.difference(&declared) {
        d.push(
            Diagnostic::error(
                "path-params-match",
                ptr.to_owned(),
                format!("`{{{name}}}` is in the path but not declared as a path parameter"),
            )
            .op(id)
            .help(
                "declare it under `parameters` with `in: path`, spelled exactly as in the template",
            ),
        );
    }
    for name in declared.difference(&templated) {
        d.push(
            Diagnostic::error(
                "path-params-match",
                format!("{ptr}/parameters"),
                format!("path parameter `{name}` is not in the path template `{path}`"),
            )
            .op(id)
            .help("rename it to match the template, or remove it"),
        );
    }
}

fn extensions(op: &Value, ptr: &str, id: Option<&str>, d: &mut Vec<Diagnostic>) {
    let bad = |key: &str, m: String, help: &str| {
        Diagnostic::error("koodrive-extension", format!("{ptr}/{key}"), m)
            .op(id)
            .help(help)
    };
    for key in [
        "x-koodrive-notes",
        "x-koodrive-incomplete",
        "x-koodrive-doc-id",
    ] {
        if let Some(v) = op.get(key)
            && !v.is_string()
        {
            d.push(bad(
                key,
                format!("`{key}` must be a string"),
                "write the note as one string",
            ));
        }
    }
    if let Some(v) = op.get("x-koodrive-idempotent")
        && !v.is_boolean()
    {
        d.push(bad(
            "x-koodrive-idempotent",
            "`x-koodrive-idempotent` must be a boolean".into(),
            "write `true` or remove it",
        ));
    }
    if let Some(v) = op.get("x-koodrive-envelope")
        && !v.as_str().is_some_and(|s| SUCCESS_ENVELOPES.contains(&s))
    {
        d.push(bad(
            "x-koodrive-envelope",
            format!("unknown envelope {v}"),
            "use `ai` or `transcode`",
        ));
    }
    if let Some(p) = op.get("x-koodrive-pagination") {
        let style_ok = p
            .get("style")
            .and_then(Value::as_str)
            .is_some_and(|s| PAGINATION_STYLES.contains(&s));
        let request_ok = p
            .get("request")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("query:") || s.starts_with("body:/"));
        let response_ok = p
            .get("response")
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with('/'));
        let items_ok = p
            .get("items")
            .is_none_or(|s| s.as_str().is_some_and(|s| s.starts_with('/')));
        if !(style_ok && request_ok && response_ok && items_ok) {
            d.push(bad(
                "x-koodrive-pagination",
                "`x-koodrive-pagination` is malformed".into(),
                "style: cursor|body-cursor|page-number|offset-limit|int-cursor; request: query:<name> or body:/<pointer>; response and items: JSON pointers",
            ));
        }
    }
}

/// Every `$ref` in the document must resolve locally.
fn refs(spec: &Spec, v: &Value, ptr: &str, d: &mut Vec<Diagnostic>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str)
                && spec.resolve_ref(r).is_none()
            {
                d.push(
                    Diagnostic::error(
                        "ref-resolves",
                        format!("{ptr}/$ref"),
                        format!("`{r}` does not resolve"),
                    )
                    .op(operation_of(spec, ptr))
                    .help("point at an existing component (check the spelling), or define it"),
                );
            }
            for (k, child) in m {
                if !k.starts_with("x-") {
                    refs(spec, child, &format!("{ptr}/{}", escape(k)), d);
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                refs(spec, child, &format!("{ptr}/{i}"), d);
            }
        }
        _ => {}
    }
}

/// The operationId of the operation a pointer lies in, if any.
fn operation_of<'a>(spec: &'a Spec, ptr: &str) -> Option<&'a str> {
    let mut parts = ptr.splitn(5, '/');
    let (_, first, path, method) = (parts.next(), parts.next()?, parts.next()?, parts.next()?);
    if first != "paths" {
        return None;
    }
    spec.doc
        .get("paths")?
        .as_object()?
        .iter()
        .find(|(p, _)| escape(p) == path)?
        .1
        .get(method)?
        .get("operationId")?
        .as_str()
}

/// Collect every `$ref` target below `v`.
fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                out.push(r);
            }
            for (k, child) in m {
                if !k.starts_with("x-") {
                    collect_refs(child, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

fn unused_components(spec: &Spec, d: &mut Vec<Diagnostic>) {
    // Everything reachable from the paths, following refs transitively.
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = Vec::new();
    let mut roots = Vec::new();
    if let Some(paths) = spec.doc.get("paths") {
        collect_refs(paths, &mut roots);
    }
    queue.extend(roots.into_iter().map(str::to_owned));
    while let Some(r) = queue.pop() {
        if !reached.insert(r.clone()) {
            continue;
        }
        if let Some(target) = spec.resolve_ref(&r) {
            let mut next = Vec::new();
            collect_refs(target, &mut next);
            queue.extend(next.into_iter().map(str::to_owned));
        }
    }
    let Some(components) = spec.doc.get("components").and_then(Value::as_object) else {
        return;
    };
    for section in ["schemas", "parameters", "responses"] {
        let Some(entries) = components.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, schema) in entries {
            let pointer = format!("/components/{section}/{}", escape(name));
            // A schema the hand-written layer replaces is referenced by the code, not the paths.
            if schema.get("x-koodrive-replaced-by").is_some() {
                continue;
            }
            if !reached.contains(&format!("#{pointer}")) {
                d.push(
                    Diagnostic::error(
                        "unused-component",
                        pointer,
                        format!("components/{section}/{name} is not used by any operation"),
                    )
                    .help("reference it from an operation, or delete it"),
                );
            }
        }
    }
}

fn closed_objects(v: &Value, ptr: &str, d: &mut Vec<Diagnostic>) {
    match v {
        Value::Object(m) => {
            if m.get("additionalProperties") == Some(&Value::Bool(false)) {
                d.push(
                    Diagnostic::error(
                        "closed-object",
                        format!("{ptr}/additionalProperties"),
                        "`additionalProperties: false` rejects unknown fields".to_owned(),
                    )
                    .help("remove it: a field the server adds must never fail decoding"),
                );
            }
            for (k, child) in m {
                if !k.starts_with("x-") {
                    closed_objects(child, &format!("{ptr}/{}", escape(k)), d);
                }
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                closed_objects(child, &format!("{ptr}/{i}"), d);
            }
        }
        _ => {}
    }
}
