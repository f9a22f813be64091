//! Coverage: the documented operations (spec/docs/operations.tsv) against the spec.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::load::Spec;

/// One documented operation, as recorded in `spec/docs/operations.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documented {
    /// Official op id (the docs' name; `x-koodrive-doc-id` in the spec).
    pub doc_id: String,
    /// Category, which is the spec's tag.
    pub category: String,
    /// HTTP method, upper case; empty for name-only operations.
    pub method: String,
    /// Path template; empty for name-only operations.
    pub path: String,
    /// Documented auth: both, app, token, none, unknown.
    pub auth: String,
    /// complete, partial or name-only.
    pub status: String,
    /// The documentation page.
    pub doc_url: String,
}

impl Documented {
    /// True when no page was ever found for the operation.
    pub fn is_name_only(&self) -> bool {
        self.status == "name-only"
    }
}

/// Read the documented-operations list.
pub fn read_documented(path: &Path) -> Result<Vec<Documented>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("doc_id\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            return Err(format!(
                "{}:{}: expected 7 tab-separated columns, found {}",
                path.display(),
                n + 1,
                cols.len()
            ));
        }
        out.push(Documented {
            doc_id: cols[0].into(),
            category: cols[1].into(),
            method: cols[2].into(),
            path: cols[3].into(),
            auth: cols[4].into(),
            status: cols[5].into(),
            doc_url: cols[6].into(),
        });
    }
    Ok(out)
}

/// A specified operation, keyed by its doc id.
#[derive(Debug, Clone)]
pub struct Specified {
    /// operationId.
    pub operation_id: String,
    /// Tag.
    pub tag: String,
    /// Method, upper case.
    pub method: String,
    /// Path.
    pub path: String,
    /// Whether the operation records a note (a deliberate choice).
    pub noted: bool,
}

/// The doc id of a spec operation: `x-koodrive-doc-id`, else the operationId.
pub fn doc_id_of(op: &Value) -> Option<&str> {
    op.get("x-koodrive-doc-id")
        .and_then(Value::as_str)
        .or_else(|| op.get("operationId").and_then(Value::as_str))
}

/// The comparison.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// category → (documented with a page, specified of those, name-only count).
    pub per_category: BTreeMap<String, (usize, usize, usize)>,
    /// Documented operations with a page that the spec lacks.
    pub missing: Vec<Documented>,
    /// Documented operations without a page (never specifiable).
    pub name_only: Vec<Documented>,
    /// Spec operations whose doc id is not documented.
    pub extra: Vec<Specified>,
    /// Specified operations whose method, path or tag differs from the list.
    pub differs: Vec<(Documented, Specified)>,
}

impl Coverage {
    /// True when every documented operation with a page is specified and nothing is extra.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Compare.
pub fn coverage(spec: &Spec, documented: &[Documented]) -> Coverage {
    let mut specified: BTreeMap<String, Specified> = BTreeMap::new();
    for (path, method, op, _) in spec.operations() {
        if let Some(id) = doc_id_of(op) {
            specified.insert(
                id.to_owned(),
                Specified {
                    operation_id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    tag: op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    method: method.to_uppercase(),
                    path: path.to_owned(),
                    noted: op.get("x-koodrive-notes").is_some(),
                },
            );
        }
    }
    let mut c = Coverage::default();
    for d in documented {
        let entry = c.per_category.entry(d.category.clone()).or_default();
        if d.is_name_only() {
            entry.2 += 1;
            c.name_only.push(d.clone());
            continue;
        }
        entry.0 += 1;
        match specified.remove(&d.doc_id) {
            Some(s) => {
                entry.1 += 1;
                if s.method != d.method || s.path != d.path || s.tag != d.category {
                    c.differs.push((d.clone(), s));
                }
            }
            None => c.missing.push(d.clone()),
        }
    }
    c.extra = specified.into_values().collect();
    c
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut doc, mut spec, mut names) = (0, 0, 0);
        writeln!(
            f,
            "{:<48} {:>10} {:>10} {:>9}",
            "category", "documented", "specified", "name-only"
        )?;
        for (cat, (d, s, n)) in &self.per_category {
            let mark = if d == s { "" } else { "  <-- incomplete" };
            writeln!(f, "{cat:<48} {d:>10} {s:>10} {n:>9}{mark}")?;
            doc += d;
            spec += s;
            names += n;
        }
        let pct = if doc == 0 {
            100.0
        } else {
            spec as f64 * 100.0 / doc as f64
        };
        writeln!(
            f,
            "{:<48} {doc:>10} {spec:>10} {names:>9}   ({pct:.1}% of the documented operations with a page)",
            "total"
        )?;
        if !self.missing.is_empty() {
            writeln!(f, "\nmissing from the spec ({}):", self.missing.len())?;
            for d in &self.missing {
                writeln!(
                    f,
                    "  {:<30} {:<7} {:<60} [{}]",
                    d.doc_id, d.method, d.path, d.category
                )?;
            }
        }
        if !self.extra.is_empty() {
            writeln!(
                f,
                "\nin the spec but not documented ({}):",
                self.extra.len()
            )?;
            for s in &self.extra {
                writeln!(f, "  {:<30} {:<7} {}", s.operation_id, s.method, s.path)?;
            }
        }
        if !self.name_only.is_empty() {
            writeln!(
                f,
                "\nname-only, no page to specify from ({}):",
                self.name_only.len()
            )?;
            for d in &self.name_only {
                writeln!(f, "  {:<30} [{}]", d.doc_id, d.category)?;
            }
        }
        if !self.differs.is_empty() {
            writeln!(
                f,
                "\nspecified differently from the list ({}):",
                self.differs.len()
            )?;
            for (d, s) in &self.differs {
                let why = if s.noted {
                    "see x-koodrive-notes"
                } else {
                    "NO NOTE"
                };
                writeln!(
                    f,
                    "  {:<30} docs {} {} [{}] / spec {} {} [{}] ({why})",
                    d.doc_id, d.method, d.path, d.category, s.method, s.path, s.tag
                )?;
            }
        }
        Ok(())
    }
}
