//! Comparing two registrations field by field: each field gets an agreement level, most
//! specific first, or `None` when either side lacks the value (no evidence either way).
//! Comparison only describes; it weighs nothing and decides nothing (that is `model` and
//! `cluster`). It must stay cheap, symmetric, and never treat a placeholder name or a
//! contradicted ID as strong agreement.

use crate::id::IdDiff;
use crate::record::{Birth, IdStatus, Record};
use std::fmt;

/// The compared fields, in the order of [`Comparison::levels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Name,
    Birth,
    Sex,
    ResidentId,
    Insurance,
    Phone,
    Address,
    Postcode,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Name,
        Field::Birth,
        Field::Sex,
        Field::ResidentId,
        Field::Insurance,
        Field::Phone,
        Field::Address,
        Field::Postcode,
    ];

    /// The names of the field's levels, indexed by level (most specific first).
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::Name => &[
                "ExactChars",
                "SamePinyin",
                "Swapped",
                "OneCharOff",
                "Similar",
                "SameFamily",
                "SameGiven",
                "Different",
            ],
            Field::Birth => &["Exact", "MonthDaySwapped", "OneFieldOff", "Different"],
            Field::Sex => &["Agree", "Disagree"],
            Field::ResidentId => &["Exact", "Typo", "Different"],
            Field::Insurance | Field::Phone | Field::Postcode => &["Exact", "Different"],
            Field::Address => &["Exact", "HighOverlap", "Overlap", "Different"],
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameLevel {
    ExactChars,
    SamePinyin,
    Swapped,
    OneCharOff,
    /// The pinyin of the whole name, or of each part (in either order), close by
    /// Jaro-Winkler: typing errors in Latin letters.
    Similar,
    /// The family name agrees (or is the only part both carry) and the given name does not.
    SameFamily,
    /// The given name agrees (or is the only part both carry) and the family name does not.
    SameGiven,
    Different,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BirthLevel {
    Exact,
    MonthDaySwapped,
    OneFieldOff,
    Different,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SexLevel {
    Agree,
    Disagree,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdLevel {
    Exact,
    Typo,
    Different,
}

/// Insurance and phone numbers either agree or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agreement {
    Exact,
    Different,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressLevel {
    Exact,
    HighOverlap,
    Overlap,
    Different,
}

/// The agreement level of every field; `None` where either side is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Comparison {
    pub name: Option<NameLevel>,
    pub birth: Option<BirthLevel>,
    pub sex: Option<SexLevel>,
    pub resident_id: Option<IdLevel>,
    pub insurance: Option<Agreement>,
    pub phone: Option<Agreement>,
    pub address: Option<AddressLevel>,
    pub postcode: Option<Agreement>,
}

impl Comparison {
    /// The level index of `field` (into [`Field::levels`]).
    pub fn level(&self, field: Field) -> Option<usize> {
        match field {
            Field::Name => self.name.map(|l| l as usize),
            Field::Birth => self.birth.map(|l| l as usize),
            Field::Sex => self.sex.map(|l| l as usize),
            Field::ResidentId => self.resident_id.map(|l| l as usize),
            Field::Insurance => self.insurance.map(|l| l as usize),
            Field::Phone => self.phone.map(|l| l as usize),
            Field::Address => self.address.map(|l| l as usize),
            Field::Postcode => self.postcode.map(|l| l as usize),
        }
    }

    pub fn level_name(&self, field: Field) -> Option<&'static str> {
        self.level(field).map(|l| field.levels()[l])
    }
}

impl fmt::Display for Comparison {
    /// `Name=ExactChars Birth=Exact Sex=- ...` (`-` for missing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in Field::ALL.into_iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let level = self.level_name(field).unwrap_or("-");
            write!(f, "{sep}{field:?}={level}")?;
        }
        Ok(())
    }
}

/// Compares two registrations. Symmetric: `compare(a, b) == compare(b, a)`.
pub fn compare(a: &Record, b: &Record) -> Comparison {
    Comparison {
        name: name(a, b),
        birth: both(a.birth, b.birth).map(|(x, y)| birth(x, y)),
        sex: both(a.sex, b.sex).map(|(x, y)| {
            if x == y {
                SexLevel::Agree
            } else {
                SexLevel::Disagree
            }
        }),
        resident_id: resident_id(a, b),
        insurance: exact(&a.insurance, &b.insurance),
        phone: exact(&a.phone, &b.phone),
        address: both(a.address.as_deref(), b.address.as_deref()).map(|(x, y)| address(x, y)),
        postcode: exact(&a.postcode, &b.postcode),
    }
}

/// Character-bigram Jaccard similarity (single characters for one-character texts).
pub fn bigram_jaccard(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = x.len() + y.len() - common;
    if union == 0 {
        return 1.0;
    }
    common as f64 / union as f64
}

/// Whether two strings are at most one insertion, deletion or substitution apart.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(&long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        short[prefix..]
            .iter()
            .skip(1)
            .eq(long[prefix..].iter().skip(1))
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

const ADDRESS_OVERLAP: f64 = 0.8;
const ADDRESS_SOME_OVERLAP: f64 = 0.5;
const SIMILAR_NAME: f64 = 0.9;
const SIMILAR_PART: f64 = 0.88;

/// Whole names (family, space, given) close by Jaro-Winkler, or each part close to its
/// counterpart, in the same or the swapped order.
fn similar(x: Parts, y: Parts) -> bool {
    let whole = |p: Parts| -> Vec<char> { p.0.chars().chain([' ']).chain(p.1.chars()).collect() };
    let close = |a: &str, b: &str| jaro_winkler(a, b) >= SIMILAR_PART;
    jaro_winkler_chars(&whole(x), &whole(y)) >= SIMILAR_NAME
        || close(x.0, y.0) && close(x.1, y.1)
        || close(x.0, y.1) && close(x.1, y.0)
}

/// Jaro-Winkler similarity (prefix scale 0.1, up to four characters).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    jaro_winkler_chars(&a, &b)
}

fn jaro_winkler_chars(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut taken = vec![false; b.len()];
    let mut matched_a = Vec::new();
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if let Some(j) = (lo..hi).find(|&j| !taken[j] && b[j] == *ca) {
            taken[j] = true;
            matched_a.push(*ca);
        }
    }
    let m = matched_a.len() as f64;
    if m == 0.0 {
        return 0.0;
    }
    let matched_b = b.iter().zip(&taken).filter(|(_, t)| **t).map(|(c, _)| *c);
    let transpositions = matched_a
        .iter()
        .zip(matched_b)
        .filter(|(x, y)| **x != *y)
        .count() as f64
        / 2.0;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

fn both<T>(a: Option<T>, b: Option<T>) -> Option<(T, T)> {
    Some((a?, b?))
}

fn exact(a: &Option<String>, b: &Option<String>) -> Option<Agreement> {
    both(a.as_ref(), b.as_ref()).map(|(x, y)| {
        if x == y {
            Agreement::Exact
        } else {
            Agreement::Different
        }
    })
}

fn name(a: &Record, b: &Record) -> Option<NameLevel> {
    if a.placeholder || b.placeholder {
        return None;
    }
    let (ca, cb) = (chars(a), chars(b));
    let (pa, pb) = (pinyin(a), pinyin(b));
    if ca.is_none() && pa.is_none() || cb.is_none() && pb.is_none() {
        return partial_name(a, b);
    }
    let cc = both(ca, cb);
    let pp = both(pa, pb);
    let level = if cc.is_some_and(|(x, y)| x == y) {
        NameLevel::ExactChars
    } else if pp.is_some_and(|(x, y)| x == y) {
        NameLevel::SamePinyin
    } else if cc.is_some_and(swapped) || pp.is_some_and(swapped) {
        NameLevel::Swapped
    } else if cc.is_some_and(one_char_off) || pp.is_some_and(one_edit) {
        NameLevel::OneCharOff
    } else if pp.is_some_and(|(x, y)| similar(x, y)) {
        NameLevel::Similar
    } else if cc.is_some_and(|(x, y)| x.0 == y.0) || pp.is_some_and(|(x, y)| x.0 == y.0) {
        NameLevel::SameFamily
    } else if cc.is_some_and(|(x, y)| x.1 == y.1) || pp.is_some_and(|(x, y)| x.1 == y.1) {
        NameLevel::SameGiven
    } else {
        NameLevel::Different
    };
    Some(level)
}

/// When a name part is missing on either side: the part both carry (pinyin, so characters
/// and letters compare) agrees, or is far from its counterpart; otherwise no evidence.
fn partial_name(a: &Record, b: &Record) -> Option<NameLevel> {
    let part = |x: &Option<String>, y: &Option<String>| {
        let (x, y) = both(x.as_deref(), y.as_deref())?;
        Some(if x == y {
            Some(true)
        } else if jaro_winkler(x, y) < SIMILAR_PART {
            Some(false)
        } else {
            None
        })
    };
    match (
        part(&a.family_py, &b.family_py),
        part(&a.given_py, &b.given_py),
    ) {
        (Some(Some(true)), _) => Some(NameLevel::SameFamily),
        (_, Some(Some(true))) => Some(NameLevel::SameGiven),
        (Some(Some(false)), _) | (_, Some(Some(false))) => Some(NameLevel::Different),
        _ => None,
    }
}

type Parts<'a> = (&'a str, &'a str);

fn chars(r: &Record) -> Option<Parts<'_>> {
    both(r.family.as_deref(), r.given.as_deref())
}

fn pinyin(r: &Record) -> Option<Parts<'_>> {
    both(r.family_py.as_deref(), r.given_py.as_deref())
}

fn swapped((x, y): (Parts, Parts)) -> bool {
    x.0 == y.1 && x.1 == y.0
}

/// Same family; given names of equal length differing in exactly one character.
fn one_char_off((x, y): (Parts, Parts)) -> bool {
    x.0 == y.0
        && x.1.chars().count() == y.1.chars().count()
        && x.1.chars().zip(y.1.chars()).filter(|(p, q)| p != q).count() == 1
}

/// One part the same and the other one edit apart (a dropped or mistyped letter).
fn one_edit((x, y): (Parts, Parts)) -> bool {
    x.0 == y.0 && within_one_edit(x.1, y.1) || x.1 == y.1 && within_one_edit(x.0, y.0)
}

fn birth(a: Birth, b: Birth) -> BirthLevel {
    if a == b {
        BirthLevel::Exact
    } else if a.year == b.year && a.month == b.day && a.day == b.month {
        BirthLevel::MonthDaySwapped
    } else if u8::from(a.year == b.year) + u8::from(a.month == b.month) + u8::from(a.day == b.day)
        == 2
    {
        BirthLevel::OneFieldOff
    } else {
        BirthLevel::Different
    }
}

/// The ID as registered: the 18-digit form when there is one, else the raw invalid text.
fn id_text(r: &Record) -> Option<&str> {
    r.resident_id.as_deref().or(r.id_raw.as_deref())
}

fn resident_id(a: &Record, b: &Record) -> Option<IdLevel> {
    let (x, y) = both(id_text(a), id_text(b))?;
    let trusted = |r: &Record| {
        matches!(
            r.id_status,
            IdStatus::Valid | IdStatus::Upgraded | IdStatus::Unchecked
        )
    };
    let level = match crate::id::diff(x, y) {
        IdDiff::Equal if trusted(a) && trusted(b) => IdLevel::Exact,
        IdDiff::Equal | IdDiff::OneDigit | IdDiff::Transposed => IdLevel::Typo,
        // A dropped or doubled digit: the length differs by one.
        IdDiff::Different if x.len() != y.len() && within_one_edit(x, y) => IdLevel::Typo,
        IdDiff::Different => IdLevel::Different,
    };
    Some(level)
}

fn address(a: &str, b: &str) -> AddressLevel {
    if a == b {
        AddressLevel::Exact
    } else {
        let j = bigram_jaccard(a, b);
        if j >= ADDRESS_OVERLAP {
            AddressLevel::HighOverlap
        } else if j >= ADDRESS_SOME_OVERLAP {
            AddressLevel::Overlap
        } else {
            AddressLevel::Different
        }
    }
}

/// The distinct character bigrams of `s`, sorted.
fn bigrams(s: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<(char, char)> = if chars.len() == 1 {
        vec![(chars[0], '\0')]
    } else {
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::Sex;
    use expect_test::{Expect, expect};

    /// A record from `field=value` pairs separated by spaces; `name=张/伟` sets characters
    /// and pinyin `py=zhang/wei`.
    pub(crate) fn record(spec: &str) -> Record {
        let mut r = Record {
            key: "Patient/x".into(),
            source: "Organization/h".into(),
            family: None,
            given: None,
            family_py: None,
            given_py: None,
            birth: None,
            sex: None,
            resident_id: None,
            id_raw: None,
            id_status: IdStatus::Missing,
            insurance: None,
            phone: None,
            address: None,
            postcode: None,
            placeholder: false,
            multiple_birth: false,
        };
        for item in spec.split_whitespace() {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            let pair = || {
                let (f, g) = v.split_once('/').expect("family/given");
                (Some(f.to_string()), Some(g.to_string()))
            };
            match k {
                "name" => (r.family, r.given) = pair(),
                "py" => (r.family_py, r.given_py) = pair(),
                "family" => r.family_py = Some(v.into()),
                "given" => r.given_py = Some(v.into()),
                "postcode" => r.postcode = Some(v.into()),
                "birth" => r.birth = Birth::parse(v),
                "sex" => r.sex = Some(if v == "M" { Sex::Male } else { Sex::Female }),
                "id" => (r.resident_id, r.id_status) = (Some(v.into()), IdStatus::Valid),
                "contradicts" => {
                    (r.resident_id, r.id_status) = (Some(v.into()), IdStatus::Contradicts)
                }
                "raw" => (r.id_raw, r.id_status) = (Some(v.into()), IdStatus::Invalid),
                "ins" => r.insurance = Some(v.into()),
                "phone" => r.phone = Some(v.into()),
                "addr" => r.address = Some(v.into()),
                "key" => r.key = v.into(),
                "placeholder" => r.placeholder = true,
                "multiple" => r.multiple_birth = true,
                _ => panic!("unknown field {k}"),
            }
        }
        r
    }

    #[track_caller]
    fn check(a: &str, b: &str, expect: Expect) {
        let (a, b) = (record(a), record(b));
        let c = compare(&a, &b);
        assert_eq!(c, compare(&b, &a), "not symmetric");
        expect.assert_eq(&c.to_string());
    }

    #[test]
    fn names() {
        check(
            "name=张/伟 py=zhang/wei",
            "name=张/伟 py=zhang/wei",
            expect![
                "Name=ExactChars Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        // A homophone, and the same name typed in pinyin only.
        check(
            "name=张/伟 py=zhang/wei",
            "name=章/伟 py=zhang/wei",
            expect![
                "Name=SamePinyin Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "name=张/伟 py=zhang/wei",
            "py=zhang/wei",
            expect![
                "Name=SamePinyin Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "name=张/伟 py=zhang/wei",
            "py=wei/zhang",
            expect![
                "Name=Swapped Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "name=王/晓明 py=wang/xiaoming",
            "name=王/晓鸣 py=wang/xiaoming2",
            expect![
                "Name=OneCharOff Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "py=wang/xiaoming",
            "py=wang/xiaomin",
            expect![
                "Name=OneCharOff Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "name=王/晓明 py=wang/xiaoming",
            "name=王/芳 py=wang/fang",
            expect![
                "Name=Similar Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "name=王/晓明 py=wang/xiaoming",
            "name=李/芳 py=li/fang",
            expect![
                "Name=Different Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        // Latin letters: each part mistyped, in either order.
        check(
            "py=bezuch/nikita",
            "py=nikiga/bzeuch",
            expect![
                "Name=Similar Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "name=李/娜 py=li/na",
            "name=赵/娜 py=zhao/na",
            expect![
                "Name=SameGiven Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        // A part missing on one side: the part both carry speaks, when it is clear.
        check(
            "py=hanna/jessica",
            "family=hanna",
            expect![
                "Name=SameFamily Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "py=hanna/jessica",
            "given=jessica",
            expect![
                "Name=SameGiven Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "py=hanna/jessica",
            "given=max",
            expect![
                "Name=Different Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "py=hanna/jessica",
            "given=jessika",
            expect!["Name=- Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"],
        );
        // A placeholder is no name at all.
        check(
            "name=王/芳之子 py=wang/fangzhizi placeholder",
            "name=王/芳之子 py=wang/fangzhizi",
            expect!["Name=- Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"],
        );
    }

    #[test]
    fn births_and_sex() {
        check(
            "birth=1980-05-03 sex=M",
            "birth=1980-05-03 sex=M",
            expect![
                "Name=- Birth=Exact Sex=Agree ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "birth=1980-05-03 sex=M",
            "birth=1980-03-05 sex=F",
            expect![
                "Name=- Birth=MonthDaySwapped Sex=Disagree ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "birth=1980-05-03",
            "birth=1980-05-23",
            expect![
                "Name=- Birth=OneFieldOff Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "birth=1980-05-03",
            "birth=1981-05-03",
            expect![
                "Name=- Birth=OneFieldOff Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
        check(
            "birth=1980-05-03",
            "birth=1980-06-04",
            expect![
                "Name=- Birth=Different Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-"
            ],
        );
    }

    #[test]
    fn resident_ids() {
        let id = "110105198005171239";
        let cmp = |a: &str, b: &str| compare(&record(a), &record(b)).to_string();
        let out = [
            cmp(&format!("id={id}"), &format!("id={id}")),
            // One digit mistyped: the invalid raw value is compared.
            cmp(&format!("id={id}"), "raw=110105198005071239"),
            cmp(&format!("id={id}"), "raw=110105198050171239"),
            // A dropped digit.
            cmp(&format!("id={id}"), "raw=11010519800517239"),
            // A contradicted ID is never exact.
            cmp(&format!("id={id}"), &format!("contradicts={id}")),
            cmp(&format!("id={id}"), "id=110101197001011234"),
            cmp(&format!("id={id}"), ""),
        ];
        expect![[r#"
            Name=- Birth=- Sex=- ResidentId=Exact Insurance=- Phone=- Address=- Postcode=-
            Name=- Birth=- Sex=- ResidentId=Typo Insurance=- Phone=- Address=- Postcode=-
            Name=- Birth=- Sex=- ResidentId=Typo Insurance=- Phone=- Address=- Postcode=-
            Name=- Birth=- Sex=- ResidentId=Typo Insurance=- Phone=- Address=- Postcode=-
            Name=- Birth=- Sex=- ResidentId=Typo Insurance=- Phone=- Address=- Postcode=-
            Name=- Birth=- Sex=- ResidentId=Different Insurance=- Phone=- Address=- Postcode=-
            Name=- Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=-
        "#]]
        .assert_eq(&(out.join("\n") + "\n"));
    }

    #[test]
    fn numbers_and_addresses() {
        check(
            "ins=101050001234 phone=13800001111 addr=朝阳区和平里街道和平里东街12号院3号楼2单元1502室",
            "ins=101050001235 phone=13800001111 addr=朝阳区和平里街道和平里东街12号院3号楼2单元1503室",
            expect![
                "Name=- Birth=- Sex=- ResidentId=- Insurance=Different Phone=Exact Address=HighOverlap Postcode=-"
            ],
        );
        check(
            "addr=朝阳区和平里街道和平里东街12号院3号楼2单元1502室",
            "addr=海淀区中关村街道中关村大街7号院1号楼1单元0301室",
            expect![
                "Name=- Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=Different Postcode=-"
            ],
        );
        check(
            "postcode=100020",
            "postcode=100020",
            expect![
                "Name=- Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=Exact"
            ],
        );
        check(
            "postcode=100020",
            "postcode=100039",
            expect![
                "Name=- Birth=- Sex=- ResidentId=- Insurance=- Phone=- Address=- Postcode=Different"
            ],
        );
    }

    #[test]
    fn edits() {
        let cases = [
            ("wei", "wei"),
            ("wei", "wie"),
            ("wei", "we"),
            ("xiaoming", "xiaomng"),
            ("wei", "weii"),
            ("wei", "iwe"),
            ("", "a"),
            ("ab", "ba"),
        ];
        let out: Vec<String> = cases
            .iter()
            .map(|(a, b)| format!("{a}/{b}: {}", within_one_edit(a, b)))
            .collect();
        expect![[r#"
            wei/wei: true
            wei/wie: false
            wei/we: true
            xiaoming/xiaomng: true
            wei/weii: true
            wei/iwe: false
            /a: true
            ab/ba: false
        "#]]
        .assert_eq(&(out.join("\n") + "\n"));
    }

    #[test]
    fn jaro_winkler_known_values() {
        let out: Vec<String> = [
            ("martha", "marhta"),
            ("dwayne", "duane"),
            ("dixon", "dicksonx"),
            ("", ""),
            ("a", ""),
        ]
        .iter()
        .map(|(a, b)| format!("{:.3}", jaro_winkler(a, b)))
        .collect();
        expect!["0.961 0.840 0.813 1.000 0.000"].assert_eq(&out.join(" "));
    }

    #[test]
    fn level_names_match_the_enums() {
        assert_eq!(
            Field::Name.levels()[NameLevel::OneCharOff as usize],
            "OneCharOff"
        );
        assert_eq!(
            Field::Birth.levels()[BirthLevel::OneFieldOff as usize],
            "OneFieldOff"
        );
        assert_eq!(
            Field::Address.levels()[AddressLevel::HighOverlap as usize],
            "HighOverlap"
        );
        assert_eq!(Field::ResidentId.levels()[IdLevel::Typo as usize], "Typo");
    }
}
