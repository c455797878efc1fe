//! Lookups in the generated R4 model.

use crate::model::{Max, Primitive, Type, element, is_resource_type, model, resource_types};

#[test]
fn resource_types_are_the_concrete_r4_resources() {
    assert_eq!(resource_types().len(), 146);
    assert!(is_resource_type("Patient"));
    assert!(is_resource_type("Bundle"));
    assert!(!is_resource_type("Resource"));
    assert!(!is_resource_type("DomainResource"));
    assert!(!is_resource_type("HumanName"));
    assert!(!is_resource_type("patient"));
    for name in crate::SUPPORTED_TYPES {
        assert!(is_resource_type(name), "{name}");
    }
}

#[test]
fn elements_by_path() {
    let name = element("Patient.contact.name").expect("Patient.contact.name");
    assert_eq!(
        (name.min, name.max, name.types[0].code),
        (0, Max::One, "HumanName")
    );

    let status = element("Observation.status").expect("Observation.status");
    assert_eq!(
        (status.min, status.types[0].ty),
        (1, Type::Primitive(Primitive::Code))
    );

    let value = element("Observation.value[x]").expect("Observation.value[x]");
    assert!(value.is_choice());
    assert_eq!(value.types.len(), 11);
    let quantity = element("Observation.valueQuantity").expect("Observation.valueQuantity");
    assert_eq!(quantity.name, "value[x]");

    let family = element("Patient.name.family").expect("through HumanName");
    assert_eq!(family.types[0].code, "string");
    let given = element("Patient.name.given").expect("Patient.name.given");
    assert_eq!(given.max, Max::Many);

    let nested = element("Questionnaire.item.item.item.linkId").expect("content reference");
    assert_eq!(nested.min, 1);

    let contained = element("Patient.contained").expect("generic DomainResource child");
    assert_eq!(contained.types[0].ty, Type::Resource);
    assert!(element("Patient.foo").is_none());
    assert!(element("Bundle.text").is_none());
    assert!(element("Patient.active.value").is_none());
}

#[test]
fn every_node_fits_the_required_mask() {
    let model = model();
    let patient = model.node(model.type_node("Patient").expect("Patient"));
    assert!(patient.key("birthDate").is_some());
    assert!(patient.key("deceasedBoolean").is_some());
    assert!(patient.key("deceased").is_none());
    assert!(patient.key("modifierExtension").is_some());
    assert_eq!(patient.required, 0);
    let bundle = model.node(model.resource_node("Bundle").expect("Bundle"));
    assert!(bundle.key("text").is_none());
    assert!(bundle.key("type").is_some());
    assert!(model.resource_node("HumanName").is_none());
}
