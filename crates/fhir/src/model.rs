//! The structure of R4 resources and data types, generated from the official
//! StructureDefinitions: for each element its name, cardinality and types.
//!
//! The table `generated/structure.txt` is parsed once into lookup tables. The children every
//! element, backbone element or resource has (`id`, `extension`, `modifierExtension`, `meta`,
//! `text`, `contained`, ...) are not in the table: they are added here by kind. This module
//! knows shapes only; it must not know constraints, terminology bindings or profiles.

use std::collections::HashMap;
use std::sync::OnceLock;

/// `Name|Base` header lines, then `path|min|max|types` element lines.
const TABLE: &str = include_str!("generated/structure.txt");

/// Whether `name` is an R4 resource type (abstract `Resource` and `DomainResource` are not).
pub fn is_resource_type(name: &str) -> bool {
    model().resource_types.binary_search(&name).is_ok()
}

/// Every R4 resource type, sorted.
pub fn resource_types() -> &'static [&'static str] {
    &model().resource_types
}

/// The element at `path`, e.g. `Patient.contact.name`, `Observation.value[x]` or, through
/// data types, `Patient.name.family`. `None` when there is no such element.
pub fn element(path: &str) -> Option<&'static Element> {
    let model = model();
    let mut segments = path.split('.');
    let mut node = model.type_node(segments.next()?)?;
    let mut found: Option<&'static Element> = None;
    for segment in segments {
        if let Some(element) = found {
            let [only] = &*element.types else {
                return None;
            };
            let Type::Complex(next) = only.ty else {
                return None;
            };
            node = next;
        }
        let node = model.node(node);
        let element = match node.elements.iter().find(|el| el.name == segment) {
            Some(element) => element,
            None => &node.elements[usize::from(node.key(segment)?.element)],
        };
        found = Some(element);
    }
    found
}

/// A FHIR primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Base64Binary,
    Boolean,
    Canonical,
    Code,
    Date,
    DateTime,
    Decimal,
    Id,
    Instant,
    Integer,
    Markdown,
    Oid,
    PositiveInt,
    String,
    Time,
    UnsignedInt,
    Uri,
    Url,
    Uuid,
    Xhtml,
}

impl Primitive {
    pub fn from_name(name: &str) -> Option<Primitive> {
        Some(match name {
            "base64Binary" => Primitive::Base64Binary,
            "boolean" => Primitive::Boolean,
            "canonical" => Primitive::Canonical,
            "code" => Primitive::Code,
            "date" => Primitive::Date,
            "dateTime" => Primitive::DateTime,
            "decimal" => Primitive::Decimal,
            "id" => Primitive::Id,
            "instant" => Primitive::Instant,
            "integer" => Primitive::Integer,
            "markdown" => Primitive::Markdown,
            "oid" => Primitive::Oid,
            "positiveInt" => Primitive::PositiveInt,
            "string" => Primitive::String,
            "time" => Primitive::Time,
            "unsignedInt" => Primitive::UnsignedInt,
            "uri" => Primitive::Uri,
            "url" => Primitive::Url,
            "uuid" => Primitive::Uuid,
            "xhtml" => Primitive::Xhtml,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Primitive::Base64Binary => "base64Binary",
            Primitive::Boolean => "boolean",
            Primitive::Canonical => "canonical",
            Primitive::Code => "code",
            Primitive::Date => "date",
            Primitive::DateTime => "dateTime",
            Primitive::Decimal => "decimal",
            Primitive::Id => "id",
            Primitive::Instant => "instant",
            Primitive::Integer => "integer",
            Primitive::Markdown => "markdown",
            Primitive::Oid => "oid",
            Primitive::PositiveInt => "positiveInt",
            Primitive::String => "string",
            Primitive::Time => "time",
            Primitive::UnsignedInt => "unsignedInt",
            Primitive::Uri => "uri",
            Primitive::Url => "url",
            Primitive::Uuid => "uuid",
            Primitive::Xhtml => "xhtml",
        }
    }
}

/// One type an element may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Primitive(Primitive),
    /// A complex data type or a backbone element: the node listing its children.
    Complex(NodeId),
    /// Any resource (`contained`, `Bundle.entry.resource`); the JSON names it in `resourceType`.
    Resource,
}

/// Index of a [`Node`] in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Max {
    One,
    Many,
}

#[derive(Debug)]
pub struct ElementType {
    /// The FHIR type code: `HumanName`, `dateTime`, `BackboneElement`, `Resource`, ...
    pub code: &'static str,
    pub ty: Type,
}

#[derive(Debug)]
pub struct Element {
    /// The name as in the definitions: `contact`, `value[x]`.
    pub name: &'static str,
    pub min: u32,
    pub max: Max,
    pub types: Box<[ElementType]>,
    /// Whether the element is a plain JSON property without a `_name` companion for
    /// extensions (`Element.id`, `Extension.url`, `Narrative.div`).
    pub plain: bool,
}

impl Element {
    pub fn is_choice(&self) -> bool {
        self.name.ends_with("[x]")
    }
}

/// What a node inherits generically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// `id` and `extension`.
    Element,
    /// `id`, `extension` and `modifierExtension`.
    BackboneElement,
    /// `id`, `meta`, `implicitRules` and `language`.
    Resource,
    /// The children of `Resource` plus `text`, `contained`, `extension` and `modifierExtension`.
    DomainResource,
}

/// A resource type, a complex data type or a backbone element, with its children.
#[derive(Debug)]
pub(crate) struct Node {
    /// The type name, or the path of a backbone element (`Patient.contact`).
    pub name: &'static str,
    pub kind: NodeKind,
    /// The children, generic ones last; at most 128 so that a bit mask can track them.
    pub elements: Vec<Element>,
    /// JSON property names (choice elements once per type: `valueQuantity`), sorted.
    keys: Vec<Key>,
    /// Bit `i` is set when `elements[i].min > 0`.
    pub required: u128,
}

/// A JSON property name of a node: the element it belongs to and the type it implies.
#[derive(Debug)]
pub(crate) struct Key {
    pub name: Box<str>,
    pub element: u8,
    pub ty: Type,
}

impl Node {
    /// The child property named `json` (`name`, `valueQuantity`; not `_name`).
    pub(crate) fn key(&self, json: &str) -> Option<&Key> {
        self.keys
            .binary_search_by(|key| (*key.name).cmp(json))
            .ok()
            .map(|i| &self.keys[i])
    }
}

/// The parsed table. Crate-internal: the validator walks it.
#[derive(Debug)]
pub(crate) struct Model {
    nodes: Vec<Node>,
    /// Resource types and complex data types by name, sorted.
    types: Vec<(&'static str, NodeId)>,
    resource_types: Vec<&'static str>,
    /// The `Reference` data type, whose `reference` gets a format check.
    pub(crate) reference: NodeId,
    /// The extensions of a primitive value (`_birthDate`): `id` and `extension` only.
    pub(crate) primitive_extensions: NodeId,
}

impl Model {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The node of a resource type or complex data type.
    pub(crate) fn type_node(&self, name: &str) -> Option<NodeId> {
        self.types
            .binary_search_by(|(type_name, _)| (*type_name).cmp(name))
            .ok()
            .map(|i| self.types[i].1)
    }

    /// The node of a resource type.
    pub(crate) fn resource_node(&self, name: &str) -> Option<NodeId> {
        self.type_node(name).filter(|&id| {
            matches!(
                self.node(id).kind,
                NodeKind::Resource | NodeKind::DomainResource
            )
        })
    }
}

pub(crate) fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| parse(TABLE))
}

/// An element line before its types are resolved.
struct Pending {
    node: NodeId,
    path: &'static str,
    name: &'static str,
    min: u32,
    max: Max,
    types: &'static str,
}

/// Parses the generated table. It is trusted input: a malformed table is a build defect,
/// which the model tests catch.
fn parse(table: &'static str) -> Model {
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_path: HashMap<&'static str, NodeId> = HashMap::new();
    let mut types = Vec::new();
    let mut resource_types = Vec::new();
    let mut pending = Vec::new();

    for line in table.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&'static str> = line.split('|').collect();
        match fields[..] {
            [name, base] => {
                let kind = match base {
                    "DomainResource" => NodeKind::DomainResource,
                    "Resource" => NodeKind::Resource,
                    "BackboneElement" => NodeKind::BackboneElement,
                    _ => NodeKind::Element,
                };
                let id = new_node(&mut nodes, &mut by_path, name, kind);
                types.push((name, id));
                if matches!(kind, NodeKind::Resource | NodeKind::DomainResource) {
                    resource_types.push(name);
                }
            }
            [path, min, max, element_types] => {
                let (parent, name) = path.rsplit_once('.').expect("element path has a parent");
                let node = by_path[parent];
                if let "BackboneElement" | "Element" = element_types {
                    let kind = match element_types {
                        "BackboneElement" => NodeKind::BackboneElement,
                        _ => NodeKind::Element,
                    };
                    new_node(&mut nodes, &mut by_path, path, kind);
                }
                pending.push(Pending {
                    node,
                    path,
                    name,
                    min: min.parse().expect("min is a number"),
                    max: if max == "1" { Max::One } else { Max::Many },
                    types: element_types,
                });
            }
            _ => panic!("malformed structure line {line}"),
        }
    }
    let primitive_extensions = new_node(&mut nodes, &mut by_path, "Element", NodeKind::Element);

    let resolve = |code: &'static str, path: &'static str| -> Type {
        if let Some(primitive) = Primitive::from_name(code) {
            return Type::Primitive(primitive);
        }
        match code {
            "Resource" => Type::Resource,
            "BackboneElement" | "Element" => Type::Complex(by_path[path]),
            _ => match code.strip_prefix("@#") {
                Some(target) => Type::Complex(by_path[target]),
                None => Type::Complex(by_path[code]),
            },
        }
    };
    for p in &pending {
        let element_types = p
            .types
            .split(',')
            .map(|code| ElementType {
                code: code.strip_prefix("@#").map_or(code, |_| "BackboneElement"),
                ty: resolve(code, p.path),
            })
            .collect();
        let plain = p.path == "Extension.url" || p.types == "xhtml";
        nodes[p.node.0 as usize].elements.push(Element {
            name: p.name,
            min: p.min,
            max: p.max,
            types: element_types,
            plain,
        });
    }

    let by_name = |name: &str| by_path[name];
    let extension = Type::Complex(by_name("Extension"));
    for node in &mut nodes {
        add_generic(node, extension, &by_name);
        index(node);
    }
    types.sort_unstable_by_key(|(name, _)| *name);
    resource_types.sort_unstable();
    Model {
        reference: by_name("Reference"),
        nodes,
        types,
        resource_types,
        primitive_extensions,
    }
}

fn new_node(
    nodes: &mut Vec<Node>,
    by_path: &mut HashMap<&'static str, NodeId>,
    name: &'static str,
    kind: NodeKind,
) -> NodeId {
    let id = NodeId(u32::try_from(nodes.len()).expect("fewer than 2^32 nodes"));
    nodes.push(Node {
        name,
        kind,
        elements: Vec::new(),
        keys: Vec::new(),
        required: 0,
    });
    by_path.insert(name, id);
    id
}

/// Adds the children a node inherits from `Element`, `BackboneElement`, `Resource` or
/// `DomainResource`.
fn add_generic(node: &mut Node, extension: Type, by_name: &dyn Fn(&str) -> NodeId) {
    let one = |name, code, ty, plain| Element {
        name,
        min: 0,
        max: Max::One,
        types: Box::new([ElementType { code, ty }]),
        plain,
    };
    let many = |name, code, ty| Element {
        name,
        min: 0,
        max: Max::Many,
        types: Box::new([ElementType { code, ty }]),
        plain: false,
    };
    let extensions = |modifier: bool| {
        let mut list = vec![many("extension", "Extension", extension)];
        if modifier {
            list.push(many("modifierExtension", "Extension", extension));
        }
        list
    };
    let generic = match node.kind {
        NodeKind::Element | NodeKind::BackboneElement => {
            let mut list = vec![one(
                "id",
                "string",
                Type::Primitive(Primitive::String),
                true,
            )];
            list.extend(extensions(node.kind == NodeKind::BackboneElement));
            list
        }
        NodeKind::Resource | NodeKind::DomainResource => {
            let mut list = vec![
                one("id", "id", Type::Primitive(Primitive::Id), false),
                one("meta", "Meta", Type::Complex(by_name("Meta")), false),
                one(
                    "implicitRules",
                    "uri",
                    Type::Primitive(Primitive::Uri),
                    false,
                ),
                one("language", "code", Type::Primitive(Primitive::Code), false),
            ];
            if node.kind == NodeKind::DomainResource {
                list.push(one(
                    "text",
                    "Narrative",
                    Type::Complex(by_name("Narrative")),
                    false,
                ));
                list.push(many("contained", "Resource", Type::Resource));
                list.extend(extensions(true));
            }
            list
        }
    };
    node.elements.extend(generic);
}

/// Builds the sorted JSON property index and the required mask of a node.
fn index(node: &mut Node) {
    assert!(
        node.elements.len() <= 128,
        "{} has too many elements",
        node.name
    );
    for (i, element) in node.elements.iter().enumerate() {
        let index = u8::try_from(i).expect("at most 128 elements");
        if element.min > 0 {
            node.required |= 1 << i;
        }
        match element.name.strip_suffix("[x]") {
            Some(base) => {
                for ty in &element.types {
                    let mut name = String::with_capacity(base.len() + ty.code.len());
                    name.push_str(base);
                    let mut code = ty.code.chars();
                    name.extend(code.next().map(|c| c.to_ascii_uppercase()));
                    name.push_str(code.as_str());
                    node.keys.push(Key {
                        name: name.into(),
                        element: index,
                        ty: ty.ty,
                    });
                }
            }
            None => {
                assert!(
                    element.types.len() == 1,
                    "{} has several types",
                    element.name
                );
                node.keys.push(Key {
                    name: element.name.into(),
                    element: index,
                    ty: element.types[0].ty,
                });
            }
        }
    }
    node.keys.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    for pair in node.keys.windows(2) {
        assert!(
            pair[0].name != pair[1].name,
            "{} has two {}",
            node.name,
            pair[0].name
        );
    }
}

#[cfg(test)]
mod tests;
