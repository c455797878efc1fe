//! Search: the R4 search parameters of the supported types, the values a resource is indexed
//! under, and the parsed form of a search query. Storage backends turn these into SQL; nothing
//! here knows about SQL.

mod extract;
mod fhirpath;
mod params;
mod query;

pub use extract::{extract, parse_reference};
pub use params::{ParamType, SearchParam, param, params_of};
pub use query::{
    Clause, Include, MAX_COUNT, Predicate, Prefix, SearchQuery, Sort, TokenSystem, parse_query,
};

/// One value a resource is indexed under for one search parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The parameter's code, e.g. `code`, `patient`, `birthdate`.
    pub param: &'static str,
    pub value: IndexValue,
}

/// An indexed value, already normalized for comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    /// Coding, Identifier, ContactPoint, code, boolean, uri (system is None for plain codes).
    Token {
        system: Option<String>,
        code: String,
    },
    /// A string as written; backends also store [`normalize_string`] of it.
    String(String),
    /// An inclusive range in milliseconds since the Unix epoch (UTC).
    Date { lo: i64, hi: i64 },
    /// A number or quantity value, with the implicit range of its precision.
    Number {
        value: f64,
        lo: f64,
        hi: f64,
        unit: Option<String>,
    },
    /// A literal reference to a resource on this server.
    Reference { target_type: String, id: String },
}

/// Lower-cases and strips accents and punctuation-like spacing so that `name=muller` matches
/// `Müller`. Chinese characters are kept as they are.
pub fn normalize_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = fold_accent(c);
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ǎ' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ǎ' => 'A',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ě' => 'E',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ǐ' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Ǐ' => 'I',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ǒ' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ǒ' => 'O',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ǔ' | 'ǖ' | 'ǘ' | 'ǚ' | 'ǜ' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ǔ' => 'U',
        'ñ' | 'ń' | 'ň' => 'n',
        'Ñ' => 'N',
        'ç' => 'c',
        'Ç' => 'C',
        'ý' | 'ÿ' => 'y',
        c => c,
    }
}
