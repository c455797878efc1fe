//! The R4 search parameters of the supported types, generated from the official
//! SearchParameter definitions (by `tests/it/search_params.rs`), with their FHIRPath
//! expressions. A lookup table only: evaluating the expressions is `extract`'s job.

use std::ops::Range;

// The table is generated; rustfmt would only rewrap it and break the freshness check.
#[rustfmt::skip]
#[path = "../generated/search_params.rs"]
mod table;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Quantity,
    Uri,
    Composite,
    Special,
}

impl ParamType {
    /// The R4 `SearchParamType` code, as a CapabilityStatement lists it.
    pub fn code(self) -> &'static str {
        match self {
            ParamType::Number => "number",
            ParamType::Date => "date",
            ParamType::String => "string",
            ParamType::Token => "token",
            ParamType::Reference => "reference",
            ParamType::Quantity => "quantity",
            ParamType::Uri => "uri",
            ParamType::Composite => "composite",
            ParamType::Special => "special",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParam {
    pub resource_type: &'static str,
    pub code: &'static str,
    pub kind: ParamType,
    /// The FHIRPath expression restricted to this resource type.
    pub expression: &'static str,
    /// Target resource types of a reference parameter.
    pub targets: &'static [&'static str],
}

/// The search parameters defined for `resource_type` (including those on Resource and
/// DomainResource such as `_id` and `_lastUpdated`).
pub fn params_of(resource_type: &str) -> impl Iterator<Item = &'static SearchParam> {
    table::PARAMS[range_of(resource_type)].iter()
}

/// The parameter `code` of `resource_type`, if defined.
pub fn param(resource_type: &str, code: &str) -> Option<&'static SearchParam> {
    let params = &table::PARAMS[range_of(resource_type)];
    params
        .binary_search_by(|p| p.code.cmp(code))
        .ok()
        .map(|i| &params[i])
}

/// Every parameter of every supported type, sorted by type and code; `extract` keeps its
/// compiled expressions in a vector parallel to this slice.
pub(crate) fn all() -> &'static [SearchParam] {
    table::PARAMS
}

/// The positions in [`all`] of the parameters of `resource_type` (empty when unknown).
pub(crate) fn range_of(resource_type: &str) -> Range<usize> {
    let params = table::PARAMS;
    let start = params.partition_point(|p| p.resource_type < resource_type);
    let end = start + params[start..].partition_point(|p| p.resource_type == resource_type);
    start..end
}
