//! The knowledge the reminders apply, as data: drugs with their ingredients and classes,
//! combination products, class allowances, cross-sensitivity groups, allergy words in Chinese
//! and English, routes, test items with their mutual-recognition windows, and prices.
//!
//! Yilian ships small hand-made tables (`knowledge/*.json`, CC0) over the shared code tables
//! of `terminology`; a region replaces any file with its licensed full set (`drugs.json` and
//! `tests.json` replace the built-in drug and test tables). Each file carries a `version`,
//! and the versions in force are reported with every card. Parsing is pure: the edge reads
//! the files and hands their text in.

use serde::Deserialize;
use std::collections::HashMap;

/// The files a region may supply, by name.
pub const FILES: &[&str] = &[
    "allergy-synonyms.json",
    "class-allowances.json",
    "combinations.json",
    "cross-sensitivity.json",
    "prices.json",
    "routes.json",
    "drugs.json",
    "tests.json",
];

const BUILTIN: &[(&str, &str)] = &[
    (
        "allergy-synonyms.json",
        include_str!("../knowledge/allergy-synonyms.json"),
    ),
    (
        "class-allowances.json",
        include_str!("../knowledge/class-allowances.json"),
    ),
    (
        "combinations.json",
        include_str!("../knowledge/combinations.json"),
    ),
    (
        "cross-sensitivity.json",
        include_str!("../knowledge/cross-sensitivity.json"),
    ),
    ("prices.json", include_str!("../knowledge/prices.json")),
    ("routes.json", include_str!("../knowledge/routes.json")),
];

/// One ingredient: its ATC code (level 5, or the code a table gives) and name.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Ingredient {
    pub atc: String,
    pub name: String,
}

/// A drug product as the reminders see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Drug {
    pub code: String,
    pub name: String,
    pub ingredients: Vec<Ingredient>,
    /// The kind of exposure: systemic, topical, ophthalmic, inhaled, nasal.
    pub route: String,
    pub price: f64,
}

/// A test or exam and how long another hospital's result stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub code: String,
    pub name: String,
    /// Days a mutually recognized result stands; 0: never recognized.
    pub window_days: u32,
    pub price: f64,
}

/// A cross-sensitivity group: an allergy to one class warns of the others.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Group {
    pub name: String,
    pub en: String,
    pub atc: Vec<String>,
    pub note: String,
}

/// Everything the reminders know.
#[derive(Clone, Debug, Default)]
pub struct Knowledge {
    /// File name and version of each table in force.
    pub versions: Vec<(String, String)>,
    drugs: HashMap<String, Drug>,
    /// Combination ATC code to its ingredients.
    combos: HashMap<String, Vec<Ingredient>>,
    names: HashMap<String, String>,
    allowances: HashMap<String, u32>,
    default_allowance: u32,
    pub groups: Vec<Group>,
    /// Lower-cased words, longest first, to the ATC code they name.
    synonyms: Vec<(String, String)>,
    routes: HashMap<String, String>,
    tests: HashMap<String, Test>,
}

/// A table that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadTable {
    pub file: String,
    pub reason: String,
}

impl std::fmt::Display for BadTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

#[derive(Deserialize)]
struct Versioned {
    version: String,
}

#[derive(Deserialize)]
struct Synonyms {
    synonyms: Vec<Synonym>,
}

#[derive(Deserialize)]
struct Synonym {
    text: String,
    atc: String,
}

#[derive(Deserialize)]
struct Allowances {
    default: u32,
    classes: Vec<Allowance>,
}

#[derive(Deserialize)]
struct Allowance {
    atc4: String,
    allow: u32,
}

#[derive(Deserialize)]
struct Combinations {
    combinations: Vec<Combination>,
    #[serde(default)]
    products: Vec<Product>,
}

#[derive(Deserialize)]
struct Combination {
    atc: String,
    ingredients: Vec<Ingredient>,
}

#[derive(Deserialize)]
struct Product {
    code: String,
    name: String,
    #[serde(default)]
    atc: Option<String>,
    #[serde(default)]
    ingredients: Vec<Ingredient>,
    route: String,
    #[serde(default)]
    price: Option<f64>,
}

#[derive(Deserialize)]
struct Groups {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Routes {
    routes: Vec<Route>,
}

#[derive(Deserialize)]
struct Route {
    code: String,
    kind: String,
}

#[derive(Deserialize)]
struct Prices {
    default_lab_panel: f64,
    default_drug: f64,
    modality: HashMap<String, f64>,
    #[serde(default)]
    items: Vec<Price>,
}

#[derive(Deserialize)]
struct Price {
    code: String,
    price: f64,
}

#[derive(Deserialize)]
struct Drugs {
    drugs: Vec<Product>,
}

#[derive(Deserialize)]
struct Tests {
    tests: Vec<TestRow>,
}

#[derive(Deserialize)]
struct TestRow {
    code: String,
    name: String,
    window_days: u32,
    price: f64,
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    versions: &mut Vec<(String, String)>,
) -> Result<T, BadTable> {
    let bad = |e: serde_json::Error| BadTable {
        file: file.to_string(),
        reason: e.to_string(),
    };
    let v: Versioned = serde_json::from_str(text).map_err(bad)?;
    let body: T = serde_json::from_str(text).map_err(bad)?;
    versions.push((file.to_string(), v.version));
    Ok(body)
}

impl Knowledge {
    /// The tables Yilian ships.
    pub fn builtin() -> Knowledge {
        Knowledge::load(|_| None).expect("the shipped tables parse")
    }

    /// The shipped tables, each replaced by `region(file)` when it gives one.
    pub fn load(region: impl Fn(&str) -> Option<String>) -> Result<Knowledge, BadTable> {
        let text = |file: &str| -> Option<String> {
            region(file).or_else(|| {
                BUILTIN
                    .iter()
                    .find(|(f, _)| *f == file)
                    .map(|(_, t)| t.to_string())
            })
        };
        let need = |file: &str| {
            text(file).ok_or_else(|| BadTable {
                file: file.to_string(),
                reason: "missing".into(),
            })
        };
        let mut k = Knowledge::default();
        let mut versions = Vec::new();
        let synonyms: Synonyms = parse(
            "allergy-synonyms.json",
            &need("allergy-synonyms.json")?,
            &mut versions,
        )?;
        let allowances: Allowances = parse(
            "class-allowances.json",
            &need("class-allowances.json")?,
            &mut versions,
        )?;
        let combinations: Combinations = parse(
            "combinations.json",
            &need("combinations.json")?,
            &mut versions,
        )?;
        let groups: Groups = parse(
            "cross-sensitivity.json",
            &need("cross-sensitivity.json")?,
            &mut versions,
        )?;
        let prices: Prices = parse("prices.json", &need("prices.json")?, &mut versions)?;
        let routes: Routes = parse("routes.json", &need("routes.json")?, &mut versions)?;
        k.synonyms = synonyms
            .synonyms
            .into_iter()
            .map(|s| (s.text.to_lowercase(), s.atc))
            .collect();
        k.synonyms.sort_by(|a, b| {
            b.0.chars()
                .count()
                .cmp(&a.0.chars().count())
                .then(a.0.cmp(&b.0))
        });
        k.default_allowance = allowances.default.max(1);
        k.allowances = allowances
            .classes
            .into_iter()
            .map(|c| (c.atc4, c.allow.max(1)))
            .collect();
        k.combos = combinations
            .combinations
            .into_iter()
            .map(|c| (c.atc, c.ingredients))
            .collect();
        k.groups = groups.groups;
        k.routes = routes
            .routes
            .into_iter()
            .map(|r| (r.code, r.kind))
            .collect();
        let price_of: HashMap<String, f64> = prices
            .items
            .iter()
            .map(|p| (p.code.clone(), p.price))
            .collect();
        for d in terminology::DRUGS {
            k.names
                .insert(d.atc.to_string(), d.ingredient_zh.to_string());
        }
        for a in terminology::ALLERGENS {
            k.names.insert(a.atc.to_string(), a.zh.to_string());
        }
        for ingredients in k.combos.values() {
            for i in ingredients {
                k.names.entry(i.atc.clone()).or_insert(i.name.clone());
            }
        }
        // Drugs: the region's full table, or the shared code table; products added either way.
        let mut products = combinations.products;
        match text("drugs.json").filter(|_| region("drugs.json").is_some()) {
            Some(t) => {
                let drugs: Drugs = parse("drugs.json", &t, &mut versions)?;
                products.extend(drugs.drugs);
            }
            None => {
                for d in terminology::DRUGS {
                    let drug = Drug {
                        code: d.code.to_string(),
                        name: d.zh.to_string(),
                        ingredients: k.ingredients_of(d.atc, d.ingredient_zh),
                        route: k.route_kind(d.route.0),
                        price: price_of.get(d.code).copied().unwrap_or(prices.default_drug),
                    };
                    k.drugs.insert(drug.code.clone(), drug);
                }
            }
        }
        for p in products {
            let ingredients = if p.ingredients.is_empty() {
                let atc = p.atc.clone().unwrap_or_default();
                k.ingredients_of(&atc, &p.name)
            } else {
                p.ingredients
            };
            let drug = Drug {
                route: k.route_kind(&p.route),
                price: p.price.unwrap_or(prices.default_drug),
                code: p.code,
                name: p.name,
                ingredients,
            };
            k.drugs.insert(drug.code.clone(), drug);
        }
        match region("tests.json") {
            Some(t) => {
                let tests: Tests = parse("tests.json", &t, &mut versions)?;
                for t in tests.tests {
                    k.tests.insert(
                        t.code.clone(),
                        Test {
                            code: t.code,
                            name: t.name,
                            window_days: t.window_days,
                            price: t.price,
                        },
                    );
                }
            }
            None => {
                for p in terminology::LAB_PANELS {
                    k.tests.insert(
                        p.loinc.to_string(),
                        Test {
                            code: p.loinc.to_string(),
                            name: p.zh.to_string(),
                            window_days: u32::from(p.recognition_days),
                            price: price_of
                                .get(p.loinc)
                                .copied()
                                .unwrap_or(prices.default_lab_panel),
                        },
                    );
                }
                for e in terminology::EXAMS {
                    k.tests.insert(
                        e.code.to_string(),
                        Test {
                            code: e.code.to_string(),
                            name: e.zh.to_string(),
                            window_days: u32::from(e.recognition_days),
                            price: price_of.get(e.code).copied().unwrap_or_else(|| {
                                prices
                                    .modality
                                    .get(e.modality)
                                    .copied()
                                    .unwrap_or(prices.default_lab_panel)
                            }),
                        },
                    );
                }
            }
        }
        k.versions = versions;
        Ok(k)
    }

    /// A combination's ingredients, or the one ingredient the code names.
    fn ingredients_of(&self, atc: &str, name: &str) -> Vec<Ingredient> {
        self.combos.get(atc).cloned().unwrap_or_else(|| {
            vec![Ingredient {
                atc: atc.to_string(),
                name: name.to_string(),
            }]
        })
    }

    /// The kind of exposure a SNOMED CT route gives; an unknown route counts as systemic,
    /// so a reminder errs towards showing.
    pub fn route_kind(&self, snomed: &str) -> String {
        self.routes
            .get(snomed)
            .cloned()
            .unwrap_or_else(|| "systemic".to_string())
    }

    pub fn drug(&self, code: &str) -> Option<&Drug> {
        self.drugs.get(code)
    }

    /// Ingredients of an ATC-coded medication (a combination expanded).
    pub fn by_atc(&self, atc: &str) -> Vec<Ingredient> {
        let name = self
            .names
            .get(atc)
            .cloned()
            .unwrap_or_else(|| atc.to_string());
        self.ingredients_of(atc, &name)
    }

    pub fn name_of(&self, atc: &str) -> String {
        self.names
            .get(atc)
            .cloned()
            .unwrap_or_else(|| atc.to_string())
    }

    /// How many ingredients of the ATC level-4 class may run together.
    pub fn allowance(&self, atc4: &str) -> u32 {
        self.allowances
            .get(atc4)
            .copied()
            .unwrap_or(self.default_allowance)
    }

    /// The ATC code a free-text allergy names: the longest known word in it.
    pub fn allergen_in(&self, text: &str) -> Option<&str> {
        let lower = text.to_lowercase();
        self.synonyms
            .iter()
            .find(|(word, _)| lower.contains(word.as_str()))
            .map(|(_, atc)| atc.as_str())
    }

    pub fn test(&self, code: &str) -> Option<&Test> {
        self.tests.get(code)
    }

    /// The cross-sensitivity groups holding both codes (as ATC prefixes), each in a
    /// different class.
    pub fn cross(&self, allergen: &str, ingredient: &str) -> Option<&Group> {
        self.groups.iter().find(|g| {
            let a = g
                .atc
                .iter()
                .position(|p| allergen.starts_with(p.as_str()) || p.starts_with(allergen));
            let i = g
                .atc
                .iter()
                .position(|p| ingredient.starts_with(p.as_str()));
            matches!((a, i), (Some(a), Some(i)) if a != i)
        })
    }
}
