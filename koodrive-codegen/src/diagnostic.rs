//! Diagnostics: every problem found in the spec, with where it is and how to fix it.

use std::fmt;

/// How bad a finding is. Errors fail `cargo xtask validate` and the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The spec must be fixed.
    Error,
    /// Worth a look; does not fail anything.
    Warning,
}

/// One finding about the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The name of the rule that found it, e.g. `operation-summary`.
    pub rule: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The spec file the offending definition comes from.
    pub file: String,
    /// JSON pointer into the merged document (RFC 6901).
    pub pointer: String,
    /// The operation concerned, when there is one.
    pub operation_id: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Diagnostic {
    /// A new error-level diagnostic; `file` is filled in later from the pointer.
    pub fn error(
        rule: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            rule,
            severity: Severity::Error,
            file: String::new(),
            pointer: pointer.into(),
            operation_id: None,
            message: message.into(),
            help: String::new(),
        }
    }

    /// Attach the fix hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Attach the operation concerned.
    pub fn op(mut self, operation_id: Option<&str>) -> Self {
        self.operation_id = operation_id.map(str::to_owned);
        self
    }

    /// Set the file explicitly.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}[{}]: {}", self.rule, self.message)?;
        write!(f, "\n  --> {}#{}", self.file, self.pointer)?;
        if let Some(op) = &self.operation_id {
            write!(f, " (operation {op})")?;
        }
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

/// All findings of one run, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// True when no finding is an error.
    pub fn is_ok(&self) -> bool {
        !self.has_errors()
    }

    /// True when at least one finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub(crate) fn sort(&mut self) {
        self.diagnostics.sort_by(|a, b| {
            (&a.file, &a.pointer, a.rule, &a.message)
                .cmp(&(&b.file, &b.pointer, b.rule, &b.message))
        });
        self.diagnostics.dedup();
    }
}

impl From<Vec<Diagnostic>> for Report {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        let mut r = Report { diagnostics };
        r.sort();
        r
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}\n")?;
        }
        let errors = self.error_count();
        let warnings = self.diagnostics.len() - errors;
        write!(f, "{errors} error(s), {warnings} warning(s)")
    }
}

impl std::error::Error for Report {}

/// Escape one JSON pointer segment (RFC 6901).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
