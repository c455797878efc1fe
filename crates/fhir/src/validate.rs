//! Validation of a resource in FHIR JSON against the R4 structure: resource type, unknown
//! elements, arrays and cardinality, required elements, primitive formats, primitive
//! extensions (`_name`), reference format, and contained or bundled resources. Reports every
//! problem with its FHIRPath location.
//!
//! It runs on every write, so the happy path allocates nothing per element: the location is
//! a stack of borrowed segments, joined only when an issue is reported. Messages name
//! elements and types, never values. Invariants and terminology bindings are out of scope.

mod primitive;
#[cfg(test)]
mod tests;

use crate::model::{self, Element, Max, Model, NodeId, Type};
use crate::validate::primitive::Problem;
use crate::{Issue, IssueType};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Every problem in `resource`; empty when it is valid.
pub fn validate(resource: &Value) -> Vec<Issue> {
    let mut walker = Walker {
        model: model::model(),
        path: Vec::with_capacity(16),
        issues: Vec::new(),
    };
    match resource {
        Value::Object(resource) => walker.resource(resource),
        _ => walker.report(IssueType::Invalid, "resource must be a json object".into()),
    }
    walker.issues
}

/// One step of a location: an element name or an array index.
#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Name(&'a str),
    Index(usize),
}

struct Walker<'a> {
    model: &'static Model,
    path: Vec<Segment<'a>>,
    issues: Vec<Issue>,
}

impl<'a> Walker<'a> {
    /// A resource: at the top, or inside `contained`, `Bundle.entry.resource`, ... The top
    /// resource starts the location with its type; nested ones continue their container's.
    fn resource(&mut self, resource: &'a Map<String, Value>) {
        let resource_type = match resource.get("resourceType") {
            Some(Value::String(name)) => name,
            Some(_) => {
                let issue = "element 'resourceType' must be a json string";
                return self.report(IssueType::Invalid, issue.into());
            }
            None => return self.report(IssueType::Invalid, "missing resourceType".into()),
        };
        let Some(node) = self.model.resource_node(resource_type) else {
            return self.report(IssueType::NotSupported, "unknown resource type".into());
        };
        let top = self.path.is_empty();
        if top {
            self.path.push(Segment::Name(self.model.node(node).name));
        }
        self.object(resource, node, true);
        if top {
            self.path.pop();
        }
    }

    /// The properties of a JSON object that holds `node`: each one known, then the required
    /// ones present.
    fn object(&mut self, object: &'a Map<String, Value>, id: NodeId, resource: bool) {
        let node = self.model.node(id);
        // Bit i: element i seen, as a value (`name`) or either as a value or extensions (`_name`).
        let mut valued = 0u128;
        let mut present = 0u128;
        for (key, value) in object {
            if resource && key == "resourceType" {
                continue;
            }
            let (name, companion) = match key.strip_prefix('_') {
                Some(name) => (name, true),
                None => (key.as_str(), false),
            };
            let Some(found) = node.key(name) else {
                self.unknown(id, key);
                continue;
            };
            let element = &node.elements[usize::from(found.element)];
            let bit = 1u128 << found.element;
            if companion {
                if element.plain || !matches!(found.ty, Type::Primitive(_)) {
                    self.unknown(id, key);
                    continue;
                }
                present |= bit;
                self.path.push(Segment::Name(name));
                self.companion(value, element, key, object.get(name));
                self.path.pop();
                continue;
            }
            self.path.push(Segment::Name(key));
            if valued & bit != 0 {
                let issue = format!("element '{}' has more than one type", element.name);
                self.report(IssueType::Structure, issue);
            }
            valued |= bit;
            present |= bit;
            self.value(value, element, found.ty, key, object);
            if id == self.model.reference && key == "reference" {
                self.reference(value);
            }
            self.path.pop();
        }
        let mut missing = node.required & !present;
        while missing != 0 {
            let i = missing.trailing_zeros() as usize;
            missing &= missing - 1;
            let issue = format!("missing required element '{}'", node.elements[i].name);
            self.report(IssueType::Required, issue);
        }
    }

    /// The value of property `key`: an array when the element repeats, else a single value.
    fn value(
        &mut self,
        value: &'a Value,
        element: &Element,
        ty: Type,
        key: &str,
        object: &Map<String, Value>,
    ) {
        match (element.max, value) {
            (Max::Many, Value::Array(items)) => {
                if items.is_empty() {
                    let issue = format!("element '{key}' must not be an empty array");
                    return self.report(IssueType::Structure, issue);
                }
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Segment::Index(i));
                    if item.is_null() && matches!(ty, Type::Primitive(_)) {
                        if !has_extensions_at(object, key, i) {
                            let issue = format!("null item without a matching '_{key}' item");
                            self.report(IssueType::Structure, issue);
                        }
                    } else {
                        self.single(item, ty, key);
                    }
                    self.path.pop();
                }
            }
            (Max::Many, _) => {
                let issue = format!("element '{key}' must be an array");
                self.report(IssueType::Structure, issue);
            }
            (Max::One, Value::Array(_)) => {
                let issue = format!("element '{key}' must not be an array");
                self.report(IssueType::Structure, issue);
            }
            (Max::One, _) => self.single(value, ty, key),
        }
    }

    /// One value of type `ty`.
    fn single(&mut self, value: &'a Value, ty: Type, key: &str) {
        if let Type::Primitive(primitive) = ty {
            let Err(problem) = primitive::check(value, primitive) else {
                return;
            };
            let (code, issue) = match problem {
                _ if value.is_null() => (
                    IssueType::Structure,
                    format!("element '{key}' must not be null"),
                ),
                Problem::Json(kind) => (
                    IssueType::Structure,
                    format!("element '{key}' must be a json {kind}"),
                ),
                Problem::Empty => (
                    IssueType::Value,
                    format!("element '{key}' must not be an empty string"),
                ),
                Problem::Format => (
                    IssueType::Value,
                    format!("invalid {} format", primitive.name()),
                ),
                Problem::Range => (
                    IssueType::Value,
                    format!("{} out of range", primitive.name()),
                ),
                Problem::TooLong => (
                    IssueType::TooLong,
                    format!("element '{key}' is longer than 1 MiB"),
                ),
                Problem::Control => (
                    IssueType::Value,
                    format!("{} holds a control character", primitive.name()),
                ),
            };
            return self.report(code, issue);
        }
        match value {
            Value::Object(object) if object.is_empty() => {
                let issue = format!("element '{key}' must not be an empty object");
                self.report(IssueType::Structure, issue);
            }
            Value::Object(object) => match ty {
                Type::Complex(id) => self.object(object, id, false),
                _ => self.resource(object),
            },
            Value::Null => {
                let issue = format!("element '{key}' must not be null");
                self.report(IssueType::Structure, issue);
            }
            _ => {
                let issue = format!("element '{key}' must be a json object");
                self.report(IssueType::Structure, issue);
            }
        }
    }

    /// `_name`: the id and extensions of primitive `name`, aligned with it when it repeats.
    fn companion(
        &mut self,
        value: &'a Value,
        element: &Element,
        key: &str,
        primitive: Option<&Value>,
    ) {
        let extensions = self.model.primitive_extensions;
        let Value::Array(items) = value else {
            return match element.max {
                Max::One => self.single(value, Type::Complex(extensions), key),
                Max::Many => {
                    let issue = format!("element '{key}' must be an array");
                    self.report(IssueType::Structure, issue);
                }
            };
        };
        if element.max == Max::One {
            let issue = format!("element '{key}' must not be an array");
            return self.report(IssueType::Structure, issue);
        }
        if items.is_empty() {
            let issue = format!("element '{key}' must not be an empty array");
            return self.report(IssueType::Structure, issue);
        }
        let values = primitive.and_then(Value::as_array);
        if let Some(values) = values
            && values.len() != items.len()
        {
            let name = &key[1..];
            let issue = format!("element '{key}' must have as many items as '{name}'");
            self.report(IssueType::Structure, issue);
        }
        for (i, item) in items.iter().enumerate() {
            self.path.push(Segment::Index(i));
            // A null in both arrays is reported once, at the primitive array.
            if !item.is_null() {
                self.single(item, Type::Complex(extensions), key);
            } else if primitive.is_none() {
                let name = &key[1..];
                let issue = format!("null item without a matching '{name}' item");
                self.report(IssueType::Structure, issue);
            }
            self.path.pop();
        }
    }

    /// `Reference.reference`, once it is known to be a string.
    fn reference(&mut self, value: &Value) {
        if let Value::String(reference) = value
            && !reference.is_empty()
            && !primitive::is_reference(reference)
        {
            self.report(IssueType::Value, "invalid reference format".into());
        }
    }

    /// An unknown property `key` of the object of node `id`; says more for choice elements.
    fn unknown(&mut self, id: NodeId, key: &str) {
        let node = self.model.node(id);
        let choice = node.elements.iter().find_map(|element| {
            let base = element.name.strip_suffix("[x]")?;
            let suffix = key.strip_prefix(base)?;
            let typed = suffix.starts_with(|c: char| c.is_ascii_uppercase());
            (suffix.is_empty() || typed).then_some((element.name, suffix))
        });
        let issue = match choice {
            Some((name, "")) => format!("choice element '{name}' must name its type"),
            Some((name, suffix)) => format!("type '{suffix}' is not allowed for '{name}'"),
            None => format!("unknown element '{key}'"),
        };
        self.report(IssueType::Structure, issue);
    }

    fn report(&mut self, code: IssueType, diagnostics: String) {
        let mut issue = Issue::error(code, diagnostics);
        if !self.path.is_empty() {
            issue = issue.at(self.location());
        }
        self.issues.push(issue);
    }

    /// The FHIRPath of the current location, e.g. `Patient.name[0].given[1]`.
    fn location(&self) -> String {
        let mut location = String::new();
        for segment in &self.path {
            match segment {
                Segment::Name(name) => {
                    if !location.is_empty() {
                        location.push('.');
                    }
                    location.push_str(name);
                }
                Segment::Index(i) => {
                    write!(location, "[{i}]").expect("write to string");
                }
            }
        }
        location
    }
}

/// Whether `_key[i]` of `object` holds extensions for a null `key[i]`.
fn has_extensions_at(object: &Map<String, Value>, key: &str, i: usize) -> bool {
    object
        .iter()
        .find(|(name, _)| name.strip_prefix('_') == Some(key))
        .and_then(|(_, companion)| companion.as_array()?.get(i))
        .is_some_and(|item| !item.is_null())
}
