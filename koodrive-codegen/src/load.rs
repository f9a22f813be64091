//! Loading the spec: the root document plus every part, merged into one JSON value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Report, escape};

/// Component sections a part may add to.
const COMPONENT_SECTIONS: &[&str] = &["schemas", "parameters", "responses"];
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The merged spec, with a record of which file each definition came from.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The merged OpenAPI document.
    pub doc: Value,
    /// JSON-pointer prefix → file it was defined in (longest prefix wins).
    origins: BTreeMap<String, String>,
    root_file: String,
    /// The files read, in merge order (root first).
    pub files: Vec<PathBuf>,
}

impl Spec {
    /// Load `dir/openapi.yaml` and every `dir/parts/*.yaml`.
    pub fn load(dir: &Path) -> Result<Spec, Report> {
        Self::load_with_parts(dir, &[])
    }

    /// Load the spec, adding `extra` part files (e.g. a draft being checked) after the parts.
    pub fn load_with_parts(dir: &Path, extra: &[PathBuf]) -> Result<Spec, Report> {
        let root_path = dir.join("openapi.yaml");
        let mut parts = Vec::new();
        let parts_dir = dir.join("parts");
        if parts_dir.is_dir() {
            let entries = std::fs::read_dir(&parts_dir)
                .map_err(|e| Report::from(vec![io_diag(&parts_dir, &e)]))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    parts.push(p);
                }
            }
        }
        parts.sort();
        parts.extend(extra.iter().cloned());
        Self::from_files(&root_path, &parts, dir.parent().unwrap_or(dir))
    }

    /// Merge a root file and part files; names in diagnostics are relative to `base`.
    pub fn from_files(root: &Path, parts: &[PathBuf], base: &Path) -> Result<Spec, Report> {
        let display = |p: &Path| -> String {
            p.strip_prefix(base)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/")
        };
        let mut diags = Vec::new();
        let root_file = display(root);
        let mut doc = match read_yaml(root) {
            Ok(v) => v,
            Err(d) => return Err(Report::from(vec![d.in_file(root_file)])),
        };
        let mut origins = BTreeMap::new();
        if !doc.is_object() {
            return Err(Report::from(vec![
                Diagnostic::error("part-structure", "", "the root document is not a mapping")
                    .in_file(root_file),
            ]));
        }
        // Record where the root's own definitions live, so parts that collide can name it.
        for (pointer, _) in definitions(&doc) {
            origins.insert(pointer, root_file.clone());
        }
        for part in parts {
            let file = display(part);
            let value = match read_yaml(part) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d.in_file(file));
                    continue;
                }
            };
            merge_part(&mut doc, &mut origins, value, &file, &mut diags);
        }
        let spec = Spec {
            doc,
            origins,
            root_file,
            files: std::iter::once(root.to_path_buf())
                .chain(parts.iter().cloned())
                .collect(),
        };
        if diags.is_empty() {
            Ok(spec)
        } else {
            Err(spec.finish(diags))
        }
    }

    /// The file a JSON pointer's definition comes from.
    pub fn file_of(&self, pointer: &str) -> &str {
        self.origins
            .range(..=pointer.to_owned())
            .rev()
            .find(|(prefix, _)| {
                pointer == prefix.as_str()
                    || (pointer.starts_with(prefix.as_str())
                        && pointer.as_bytes().get(prefix.len()) == Some(&b'/'))
            })
            .map(|(_, f)| f.as_str())
            .unwrap_or(&self.root_file)
    }

    /// Fill in the file of each diagnostic and sort them.
    pub(crate) fn finish(&self, mut diags: Vec<Diagnostic>) -> Report {
        for d in &mut diags {
            if d.file.is_empty() {
                d.file = self.file_of(&d.pointer).to_owned();
            }
        }
        Report::from(diags)
    }

    /// Iterate over every operation: (path, method, operation object, JSON pointer).
    pub fn operations(&self) -> Vec<(&str, &str, &Value, String)> {
        let mut out = Vec::new();
        if let Some(paths) = self.doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for m in METHODS {
                    if let Some(op) = item.get(*m) {
                        out.push((
                            path.as_str(),
                            *m,
                            op,
                            format!("/paths/{}/{}", escape(path), m),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Resolve a local `$ref` (`#/...`) in this document.
    pub fn resolve_ref(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.doc.pointer(pointer)
    }

    /// Follow `$ref`s until a non-reference value.
    pub fn deref<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| self.resolve_ref(r))
            {
                Some(next) => value = next,
                None => break,
            }
        }
        value
    }
}

fn io_diag(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        "part-structure",
        "",
        format!("cannot read {}: {e}", path.display()),
    )
    .in_file(path.display().to_string())
}

/// Read a YAML file into JSON, turning scalar keys (e.g. `200:`) into strings.
fn read_yaml(path: &Path) -> Result<Value, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| io_diag(path, &e))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        Diagnostic::error("yaml-syntax", "", format!("not valid YAML: {e}"))
            .help("fix the YAML syntax at the line and column given")
    })?;
    yaml_to_json(yaml).map_err(|m| Diagnostic::error("yaml-syntax", "", m))
}

fn yaml_to_json(v: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().ok_or("unrepresentable number")?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or("non-finite number")?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// The pointers of every path operation and component defined in a document.
fn definitions(doc: &Value) -> Vec<(String, ())> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for key in item.keys() {
                    out.push((format!("/paths/{}/{}", escape(path), key), ()));
                }
            }
        }
    }
    if let Some(components) = doc.get("components").and_then(Value::as_object) {
        for (section, entries) in components {
            if let Some(entries) = entries.as_object() {
                for name in entries.keys() {
                    out.push((format!("/components/{section}/{}", escape(name)), ()));
                }
            }
        }
    }
    out
}

fn merge_part(
    doc: &mut Value,
    origins: &mut BTreeMap<String, String>,
    part: Value,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let Value::Object(part) = part else {
        diags.push(
            Diagnostic::error("part-structure", "", "a part must be a mapping")
                .in_file(file)
                .help("start the file with `paths:` and/or `components:`"),
        );
        return;
    };
    for (key, value) in part {
        match key.as_str() {
            "paths" => {
                let Value::Object(paths) = value else {
                    diags.push(Diagnostic::error("part-structure", "/paths", "`paths` must be a mapping").in_file(file));
                    continue;
                };
                let target = doc["paths"].as_object_mut().map(|_| ()).is_some();
                if !target {
                    doc["paths"] = Value::Object(Map::new());
                }
                for (path, item) in paths {
                    let Value::Object(item) = item else {
                        diags.push(Diagnostic::error("part-structure", format!("/paths/{}", escape(&path)), "a path item must be a mapping").in_file(file));
                        continue;
                    };
                    let slot = doc["paths"]
                        .as_object_mut()
                        .expect("paths is an object")
                        .entry(path.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    let slot = slot.as_object_mut().expect("path item is an object");
                    for (k, v) in item {
                        let pointer = format!("/paths/{}/{}", escape(&path), k);
                        if slot.contains_key(&k) {
                            let other = origins.get(&pointer).cloned().unwrap_or_default();
                            diags.push(
                                Diagnostic::error("duplicate-definition", pointer.clone(), format!("`{k}` of path `{path}` is defined in both {other} and {file}"))
                                    .in_file(file)
                                    .help("define each path operation in exactly one part"),
                            );
                            continue;
                        }
                        origins.insert(pointer, file.to_owned());
                        slot.insert(k, v);
                    }
                }
            }
            "components" => {
                let Value::Object(sections) = value else {
                    diags.push(Diagnostic::error("part-structure", "/components", "`components` must be a mapping").in_file(file));
                    continue;
                };
                for (section, entries) in sections {
                    let pointer = format!("/components/{section}");
                    if !COMPONENT_SECTIONS.contains(&section.as_str()) {
                        diags.push(
                            Diagnostic::error("part-structure", pointer, format!("a part may not define components/{section}"))
                                .in_file(file)
                                .help("shared components other than schemas, parameters and responses belong in spec/openapi.yaml"),
                        );
                        continue;
                    }
                    let Value::Object(entries) = entries else {
                        diags.push(Diagnostic::error("part-structure", pointer, "must be a mapping").in_file(file));
                        continue;
                    };
                    if doc.get("components").is_none() {
                        doc["components"] = Value::Object(Map::new());
                    }
                    let target = doc["components"]
                        .as_object_mut()
                        .expect("components is an object")
                        .entry(section.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    let target = target.as_object_mut().expect("section is an object");
                    for (name, v) in entries {
                        let pointer = format!("/components/{section}/{}", escape(&name));
                        if target.contains_key(&name) {
                            let other = origins.get(&pointer).cloned().unwrap_or_default();
                            diags.push(
                                Diagnostic::error("duplicate-definition", pointer.clone(), format!("components/{section}/{name} is defined in both {other} and {file}"))
                                    .in_file(file)
                                    .help("reuse the existing component with $ref, or give this one a more specific name"),
                            );
                            continue;
                        }
                        origins.insert(pointer, file.to_owned());
                        target.insert(name, v);
                    }
                }
            }
            k if k.starts_with("x-") => {}
            other => diags.push(
                Diagnostic::error("part-structure", format!("/{}", escape(other)), format!("a part may not set `{other}`"))
                    .in_file(file)
                    .help("parts hold only `paths`, `components` and `x-` keys; document-level settings belong in spec/openapi.yaml"),
            ),
        }
    }
}
