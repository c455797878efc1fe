//! The subset of FHIRPath that R4 search parameter expressions use: navigation through
//! elements and arrays (choice elements included), `|`, `as`/`is`, `where`, `exists`,
//! `empty`, `not`, `first`, `resolve`, `=`/`!=`, `and`/`or`, string and boolean literals.
//!
//! Expressions are parsed once into an [`Expr`] and evaluated against `serde_json` values
//! without copying them. Anything outside the subset is a parse error, never a wrong
//! answer: the caller lists such expressions instead of indexing them. `resolve()` does not
//! fetch anything; it only knows the type a literal reference names.

use serde_json::{Map, Value};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// The resource itself, written as its type name (`Observation`).
    Root,
    /// The focus: `$this`, or the item `where(...)` is looking at.
    This,
    /// Navigation from `base` through child elements; arrays are flattened.
    Path(Box<Expr>, Vec<Step>),
    Union(Vec<Expr>),
    Where(Box<Expr>, Box<Expr>),
    Exists(Box<Expr>),
    Empty(Box<Expr>),
    Not(Box<Expr>),
    First(Box<Expr>),
    Resolve(Box<Expr>),
    /// `x is Type`.
    Is(Box<Expr>, String),
    /// `a = b`, or `a != b` when the flag is set.
    Equals(Box<Expr>, Box<Expr>, bool),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    String(String),
    Boolean(bool),
}

/// One navigation step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// A child element; for a choice element `value`, also `valueQuantity` and friends.
    Field(String),
    /// A choice element of the given types: `value as Quantity` looks up `valueQuantity`
    /// (and `valueAge`, ..., since those are Quantities too).
    Typed(Vec<String>),
}

/// One item of an evaluation result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Item<'a> {
    Node(&'a Value),
    Str(&'a str),
    Bool(bool),
    /// What `resolve()` yields for a literal reference: the target's type name.
    Resolved(&'a str),
}

/// Parses `text`, or says which construct is outside the subset.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(format!("unexpected {token:?}")),
    }
}

impl Expr {
    /// Evaluates the expression on `resource` and appends the result items to `out`.
    pub(crate) fn evaluate<'a>(&'a self, resource: &'a Value, out: &mut Vec<Item<'a>>) {
        self.eval(Item::Node(resource), resource, out);
    }

    fn eval<'a>(&'a self, focus: Item<'a>, root: &'a Value, out: &mut Vec<Item<'a>>) {
        match self {
            Expr::Root => out.push(Item::Node(root)),
            Expr::This => out.push(focus),
            Expr::Path(base, steps) => match **base {
                // The common case navigates straight from the resource without a buffer.
                Expr::Root => walk(root, steps, out),
                Expr::This => {
                    if let Item::Node(value) = focus {
                        walk(value, steps, out);
                    }
                }
                _ => {
                    for item in collect(base, focus, root) {
                        if let Item::Node(value) = item {
                            walk(value, steps, out);
                        }
                    }
                }
            },
            // Duplicates are kept: FHIRPath's union removes them, but callers deduplicate
            // the normalized values anyway, which is cheaper than comparing JSON here.
            Expr::Union(parts) => {
                for part in parts {
                    part.eval(focus, root, out);
                }
            }
            Expr::Where(base, condition) => {
                for item in collect(base, focus, root) {
                    let result = collect(condition, item, root);
                    if single_bool(&result) == Some(true) {
                        out.push(item);
                    }
                }
            }
            Expr::Exists(base) => out.push(Item::Bool(!collect(base, focus, root).is_empty())),
            Expr::Empty(base) => out.push(Item::Bool(collect(base, focus, root).is_empty())),
            Expr::Not(base) => {
                if let Some(b) = single_bool(&collect(base, focus, root)) {
                    out.push(Item::Bool(!b));
                }
            }
            Expr::First(base) => {
                if let Some(&first) = collect(base, focus, root).first() {
                    out.push(first);
                }
            }
            Expr::Resolve(base) => {
                for item in collect(base, focus, root) {
                    if let Some(ty) = reference_type(item) {
                        out.push(Item::Resolved(ty));
                    }
                }
            }
            Expr::Is(base, ty) => {
                if let [item] = collect(base, focus, root)[..] {
                    let actual = match item {
                        Item::Resolved(t) => Some(t),
                        Item::Node(Value::Object(map)) => {
                            map.get("resourceType").and_then(Value::as_str)
                        }
                        _ => None,
                    };
                    out.push(Item::Bool(actual == Some(ty.as_str())));
                }
            }
            Expr::Equals(left, right, negated) => {
                let left = collect(left, focus, root);
                let right = collect(right, focus, root);
                if !left.is_empty() && !right.is_empty() {
                    let equal = left.len() == right.len()
                        && left.iter().zip(&right).all(|(a, b)| items_equal(*a, *b));
                    out.push(Item::Bool(equal != *negated));
                }
            }
            Expr::And(left, right) => {
                let l = single_bool(&collect(left, focus, root));
                let r = single_bool(&collect(right, focus, root));
                match (l, r) {
                    (Some(false), _) | (_, Some(false)) => out.push(Item::Bool(false)),
                    (Some(true), Some(true)) => out.push(Item::Bool(true)),
                    _ => {}
                }
            }
            Expr::Or(left, right) => {
                let l = single_bool(&collect(left, focus, root));
                let r = single_bool(&collect(right, focus, root));
                match (l, r) {
                    (Some(true), _) | (_, Some(true)) => out.push(Item::Bool(true)),
                    (Some(false), Some(false)) => out.push(Item::Bool(false)),
                    _ => {}
                }
            }
            Expr::String(s) => out.push(Item::Str(s)),
            Expr::Boolean(b) => out.push(Item::Bool(*b)),
        }
    }
}

/// Evaluates a sub-expression into a fresh buffer.
fn collect<'a>(expr: &'a Expr, focus: Item<'a>, root: &'a Value) -> Vec<Item<'a>> {
    let mut items = Vec::new();
    expr.eval(focus, root, &mut items);
    items
}

/// The type a literal reference names: `Patient` for `Patient/123`, for an absolute URL
/// ending in `Patient/123`, and for `Patient/123/_history/2`.
fn reference_type(item: Item<'_>) -> Option<&str> {
    let Item::Node(Value::Object(map)) = item else {
        return None;
    };
    let reference = map.get("reference")?.as_str()?;
    crate::search::parse_reference(reference).map(|(ty, _)| ty)
}

fn single_bool(items: &[Item<'_>]) -> Option<bool> {
    match items {
        [Item::Bool(b)] | [Item::Node(Value::Bool(b))] => Some(*b),
        _ => None,
    }
}

fn items_equal(a: Item<'_>, b: Item<'_>) -> bool {
    fn text<'a>(item: Item<'a>) -> Option<&'a str> {
        match item {
            Item::Str(s) => Some(s),
            Item::Node(Value::String(s)) => Some(s),
            _ => None,
        }
    }
    fn boolean(item: Item<'_>) -> Option<bool> {
        match item {
            Item::Bool(b) => Some(b),
            Item::Node(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    if let (Some(x), Some(y)) = (text(a), text(b)) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (boolean(a), boolean(b)) {
        return x == y;
    }
    match (a, b) {
        (Item::Node(x), Item::Node(y)) => x == y,
        (Item::Resolved(x), Item::Resolved(y)) => x == y,
        _ => false,
    }
}

/// Appends what `steps` reach from `value`, flattening arrays and skipping nulls.
fn walk<'a>(value: &'a Value, steps: &'a [Step], out: &mut Vec<Item<'a>>) {
    match value {
        Value::Array(items) => {
            for item in items {
                walk(item, steps, out);
            }
        }
        Value::Null => {}
        _ => match steps.split_first() {
            None => out.push(Item::Node(value)),
            Some((step, rest)) => {
                if let Value::Object(map) = value
                    && let Some(child) = step.find(map)
                {
                    walk(child, rest, out);
                }
            }
        },
    }
}

impl Step {
    fn find<'a>(&self, map: &'a Map<String, Value>) -> Option<&'a Value> {
        match self {
            Step::Field(name) => map.get(name).or_else(|| {
                // Only reached when the element is absent or a choice element: the JSON
                // key then carries the type (`valueQuantity`).
                map.iter()
                    .find(|(key, _)| {
                        key.len() > name.len()
                            && key.starts_with(name.as_str())
                            && is_choice_type_suffix(&key[name.len()..])
                    })
                    .map(|(_, v)| v)
            }),
            Step::Typed(keys) => keys.iter().find_map(|key| map.get(key)),
        }
    }
}

/// Whether `suffix` is a data type a choice element can take (`Quantity`, `DateTime`).
fn is_choice_type_suffix(suffix: &str) -> bool {
    CHOICE_TYPES.binary_search(&suffix).is_ok()
}

/// The R4 data types allowed in choice elements, capitalized as JSON keys spell them.
const CHOICE_TYPES: &[&str] = &[
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "Base64Binary",
    "Boolean",
    "Canonical",
    "Code",
    "CodeableConcept",
    "Coding",
    "ContactDetail",
    "ContactPoint",
    "Contributor",
    "Count",
    "DataRequirement",
    "Date",
    "DateTime",
    "Decimal",
    "Distance",
    "Dosage",
    "Duration",
    "Expression",
    "HumanName",
    "Id",
    "Identifier",
    "Instant",
    "Integer",
    "Markdown",
    "Meta",
    "Money",
    "Oid",
    "ParameterDefinition",
    "Period",
    "PositiveInt",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "RelatedArtifact",
    "SampledData",
    "Signature",
    "String",
    "Time",
    "Timing",
    "TriggerDefinition",
    "UnsignedInt",
    "Uri",
    "Url",
    "UsageContext",
    "Uuid",
];

/// The JSON keys of choice element `name` taken as `ty` (a Quantity may be an Age, ...).
fn typed_keys(name: &str, ty: &str) -> Vec<String> {
    let mut capitalized = String::with_capacity(ty.len());
    let mut chars = ty.chars();
    if let Some(first) = chars.next() {
        capitalized.extend(first.to_uppercase());
        capitalized.push_str(chars.as_str());
    }
    let mut keys = vec![format!("{name}{capitalized}")];
    if capitalized == "Quantity" {
        for sub in ["Age", "Count", "Distance", "Duration"] {
            keys.push(format!("{name}{sub}"));
        }
    }
    keys
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    This,
    Dot,
    Open,
    Close,
    Comma,
    Pipe,
    Eq,
    NotEq,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '.' => tokens.push(Token::Dot),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            ',' => tokens.push(Token::Comma),
            '|' => tokens.push(Token::Pipe),
            '=' => tokens.push(Token::Eq),
            '!' if chars.next_if(|&(_, c)| c == '=').is_some() => tokens.push(Token::NotEq),
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some((_, '\'')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c)) => s.push(c),
                            None => return Err("unterminated string".into()),
                        },
                        Some((_, c)) => s.push(c),
                    }
                }
                tokens.push(Token::Str(s));
            }
            '`' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated identifier".into()),
                        Some((_, '`')) => break,
                        Some((_, c)) => s.push(c),
                    }
                }
                tokens.push(Token::Ident(s));
            }
            '$' if text[i..].starts_with("$this") => {
                for _ in 0..4 {
                    chars.next();
                }
                tokens.push(Token::This);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, c)) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || c == '_') {
                        break;
                    }
                    end = j + c.len_utf8();
                    chars.next();
                }
                tokens.push(Token::Ident(text[i..end].to_string()));
            }
            c => return Err(format!("unsupported character '{c}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w == word)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect(&mut self, token: &Token) -> Result<(), String> {
        match self.next() {
            Some(t) if t == *token => Ok(()),
            other => Err(format!("expected {token:?}, found {other:?}")),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        while self.peek_ident("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        for word in ["xor", "implies"] {
            if self.peek_ident(word) {
                return Err(format!("operator '{word}'"));
            }
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.equality()?;
        while self.peek_ident("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.equality()?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, String> {
        let left = self.union()?;
        let negated = match self.peek() {
            Some(Token::Eq) => false,
            Some(Token::NotEq) => true,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.union()?;
        Ok(Expr::Equals(Box::new(left), Box::new(right), negated))
    }

    fn union(&mut self) -> Result<Expr, String> {
        let first = self.type_expr()?;
        if self.peek() != Some(&Token::Pipe) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.peek() == Some(&Token::Pipe) {
            self.pos += 1;
            parts.push(self.type_expr()?);
        }
        Ok(Expr::Union(parts))
    }

    fn type_expr(&mut self) -> Result<Expr, String> {
        let mut expr = self.postfix()?;
        loop {
            if self.peek_ident("as") {
                self.pos += 1;
                let ty = self.type_name()?;
                expr = as_type(expr, &ty)?;
            } else if self.peek_ident("is") {
                self.pos += 1;
                let ty = self.type_name()?;
                expr = Expr::Is(Box::new(expr), ty);
            } else {
                return Ok(expr);
            }
        }
    }

    fn type_name(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Ident(name)) => {
                // `FHIR.Patient` and `System.String` name the same types.
                if matches!(name.as_str(), "FHIR" | "System") && self.peek() == Some(&Token::Dot) {
                    self.pos += 1;
                    return self.type_name();
                }
                Ok(name)
            }
            other => Err(format!("expected a type name, found {other:?}")),
        }
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut expr = self.primary()?;
        while self.peek() == Some(&Token::Dot) {
            self.pos += 1;
            let Some(Token::Ident(name)) = self.next() else {
                return Err("expected a name after '.'".into());
            };
            expr = self.invocation(expr, name)?;
        }
        if self.peek() == Some(&Token::Open) {
            return Err("unexpected '('".into());
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Open) => {
                let expr = self.or_expr()?;
                self.expect(&Token::Close)?;
                Ok(expr)
            }
            Some(Token::Str(s)) => Ok(Expr::String(s)),
            Some(Token::This) => Ok(Expr::This),
            Some(Token::Ident(name)) if name == "true" => Ok(Expr::Boolean(true)),
            Some(Token::Ident(name)) if name == "false" => Ok(Expr::Boolean(false)),
            // A type name at the start is the resource itself (expressions are cut down to
            // one resource type before they get here); element names are lower case.
            Some(Token::Ident(name))
                if name.starts_with(|c: char| c.is_ascii_uppercase())
                    && self.peek() != Some(&Token::Open) =>
            {
                Ok(Expr::Root)
            }
            Some(Token::Ident(name)) => self.invocation(Expr::This, name),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    /// `base.name` or `base.name(args)`.
    fn invocation(&mut self, base: Expr, name: String) -> Result<Expr, String> {
        if self.peek() != Some(&Token::Open) {
            return Ok(match base {
                Expr::Path(base, mut steps) => {
                    steps.push(Step::Field(name));
                    Expr::Path(base, steps)
                }
                base => Expr::Path(Box::new(base), vec![Step::Field(name)]),
            });
        }
        self.pos += 1;
        let base = Box::new(base);
        let expr = match name.as_str() {
            "as" | "ofType" => {
                let ty = self.type_name()?;
                as_type(*base, &ty)?
            }
            "where" => Expr::Where(base, Box::new(self.or_expr()?)),
            "exists" if self.peek() != Some(&Token::Close) => {
                Expr::Exists(Box::new(Expr::Where(base, Box::new(self.or_expr()?))))
            }
            "exists" => Expr::Exists(base),
            "empty" => Expr::Empty(base),
            "not" => Expr::Not(base),
            "first" => Expr::First(base),
            "resolve" => Expr::Resolve(base),
            other => return Err(format!("function {other}()")),
        };
        self.expect(&Token::Close)?;
        Ok(expr)
    }
}

/// `x as T`: only a choice element can be narrowed, by naming its typed JSON key.
fn as_type(expr: Expr, ty: &str) -> Result<Expr, String> {
    match expr {
        Expr::Path(base, mut steps) => match steps.pop() {
            Some(Step::Field(name)) => {
                steps.push(Step::Typed(typed_keys(&name, ty)));
                Ok(Expr::Path(base, steps))
            }
            _ => Err(format!("'as {ty}' on something other than an element")),
        },
        _ => Err(format!("'as {ty}' on something other than an element")),
    }
}

#[cfg(test)]
mod tests;
