//! From a hospital's Patient resource to a [`Record`]: every text folded (NFKC, so
//! full-width letters and digits become ASCII; traditional characters to simplified;
//! spaces and separators dropped), names split into family and given parts with their
//! toneless pinyin (surnames read as surnames: 单 Shan, 曾 Zeng, 解 Xie...), the resident ID
//! validated and cross-checked with the registered birth date and sex, phones reduced to
//! their national number, addresses stripped of province and city. Nothing here fails: what
//! cannot be read is left out, and the record says how far its ID can be trusted.

use crate::id;
use crate::record::{Birth, IdStatus, Record, Sex};
use serde_json::Value;
use terminology::systems;
use unicode_normalization::UnicodeNormalization;

/// Reads a FHIR Patient resource. `None` if it is not a Patient with an id.
pub fn record_from_patient(p: &Value) -> Option<Record> {
    if p.get("resourceType")?.as_str()? != "Patient" {
        return None;
    }
    let key = format!("Patient/{}", p.get("id")?.as_str()?);
    let source = p
        .pointer("/managingOrganization/reference")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let names = names(p);
    let birth = p
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(Birth::parse);
    let sex = match p.get("gender").and_then(Value::as_str) {
        Some("male") => Some(Sex::Male),
        Some("female") => Some(Sex::Female),
        _ => None,
    };
    let (resident_id, id_raw, id_status) = resident_id(p, birth, sex);
    let multiple_birth = p.get("multipleBirthBoolean").and_then(Value::as_bool) == Some(true)
        || p.get("multipleBirthInteger")
            .and_then(Value::as_i64)
            .is_some_and(|n| n >= 1);
    Some(Record {
        key,
        source,
        family: names.family,
        given: names.given,
        family_py: names.family_py,
        given_py: names.given_py,
        birth,
        sex,
        resident_id,
        id_raw,
        id_status,
        insurance: identifier(p, systems::INSURANCE_NO, "SN").map(|v| fold_number(&v)),
        phone: phone(p),
        address: address(p),
        postcode: postcode(p),
        placeholder: names.placeholder,
        multiple_birth,
    })
}

/// NFKC, traditional to simplified, without whitespace and name or address separators.
pub fn fold(text: &str) -> String {
    let nfkc: String = text
        .nfkc()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '·' | '•' | '・' | '.' | ',' | '，' | '、' | '-')
        })
        .collect();
    fast2s::convert(&nfkc)
}

/// Compound surnames, longest first where one is a prefix of another.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "端木", "南宫", "西门", "独孤", "呼延", "万俟", "闻人", "申屠", "澹台",
    "公冶", "太史", "赫连", "钟离", "宗政", "濮阳", "淳于", "单于", "百里", "东郭", "拓跋", "司空",
];

/// Surnames read otherwise than the character's most common reading.
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("单", "shan"),
    ("曾", "zeng"),
    ("解", "xie"),
    ("仇", "qiu"),
    ("区", "ou"),
    ("朴", "piao"),
    ("查", "zha"),
    ("盖", "ge"),
    ("缪", "miao"),
    ("翟", "zhai"),
    ("覃", "qin"),
    ("召", "shao"),
    ("尉迟", "yuchi"),
    ("万俟", "moqi"),
    ("长孙", "zhangsun"),
    ("单于", "chanyu"),
    ("乐", "yue"),
    ("秘", "bi"),
    ("种", "chong"),
    ("员", "yun"),
    ("繁", "po"),
    ("宓", "mi"),
    ("牟", "mou"),
    ("纪", "ji"),
    ("任", "ren"),
    ("华", "hua"),
    ("燕", "yan"),
    ("那", "na"),
    ("相", "xiang"),
    ("折", "she"),
    ("句", "gou"),
    ("隗", "wei"),
    ("蕃", "pi"),
    ("沈", "shen"),
    ("薄", "bo"),
    ("澹台", "tantai"),
    ("柏", "bai"),
    ("重", "chong"),
    ("藏", "zang"),
    ("阚", "kan"),
    ("能", "nai"),
];

/// Endings of a newborn's registration name: the mother's name and 之子 ("son of"), or 婴儿.
const PLACEHOLDERS: &[&str] = &[
    "之子",
    "之女",
    "婴儿",
    "之婴",
    "男婴",
    "女婴",
    "新生儿",
    "之儿",
];

/// The toneless pinyin of a surname.
pub fn surname_pinyin(family: &str) -> Option<String> {
    if let Some((_, py)) = SURNAME_READINGS.iter().find(|(s, _)| *s == family) {
        return Some((*py).to_string());
    }
    pinyin_of(family)
}

/// The toneless lowercase pinyin of a text in characters, each character at its most common
/// reading; `None` if any character has none.
pub fn pinyin_of(text: &str) -> Option<String> {
    use pinyin::ToPinyin;
    let mut out = String::new();
    for c in text.chars() {
        out.push_str(c.to_pinyin()?.plain());
    }
    Some(out.replace('ü', "v"))
}

/// Splits a full name in characters: a compound surname if it starts with one, else the
/// first character.
pub fn split_name(full: &str) -> Option<(String, String)> {
    let compound = COMPOUND_SURNAMES
        .iter()
        .find(|s| full.starts_with(**s) && full.len() > s.len());
    let at = match compound {
        Some(s) => s.len(),
        None => full.char_indices().nth(1)?.0,
    };
    Some((full[..at].to_string(), full[at..].to_string()))
}

#[derive(Default)]
struct Names {
    family: Option<String>,
    given: Option<String>,
    family_py: Option<String>,
    given_py: Option<String>,
    placeholder: bool,
}

fn names(p: &Value) -> Names {
    let mut out = Names::default();
    let list = p
        .get("name")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    // Official before usual before anything else; "old" and "maiden" names are history.
    let mut ordered: Vec<&Value> = list
        .iter()
        .filter(|n| !matches!(n.get("use").and_then(Value::as_str), Some("old" | "maiden")))
        .collect();
    ordered.sort_by_key(|n| match n.get("use").and_then(Value::as_str) {
        Some("official") => 0,
        Some("usual") => 1,
        _ => 2,
    });
    let mut pinyin_parts: Option<(String, String)> = None;
    for n in ordered {
        let text = n.get("text").and_then(Value::as_str).map(fold);
        let family = n.get("family").and_then(Value::as_str).map(fold);
        let given = n.get("given").and_then(Value::as_array).map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(fold)
                .collect::<String>()
        });
        let whole = text
            .clone()
            .or_else(|| Some(format!("{}{}", family.clone()?, given.clone()?)))
            .unwrap_or_default();
        if whole.is_empty() {
            continue;
        }
        if PLACEHOLDERS.iter().any(|s| whole.ends_with(s))
            || n.get("use").and_then(Value::as_str) == Some("temp") && is_han(&whole)
        {
            if out.family.is_none() && out.family_py.is_none() {
                out.placeholder = true;
                let (f, g) = split_name(&whole).unwrap_or((whole.clone(), String::new()));
                out.family_py = surname_pinyin(&f);
                out.given_py = pinyin_of(&g);
                out.family = Some(f);
                out.given = Some(g);
            }
            continue;
        }
        if is_han(&whole) {
            if out.family.is_some() && !out.placeholder {
                continue;
            }
            let parts = match (family, given) {
                (Some(f), Some(g)) if !f.is_empty() && !g.is_empty() && is_han(&f) => Some((f, g)),
                _ => split_name(&whole),
            };
            if let Some((f, g)) = parts {
                out.placeholder = false;
                out.family_py = surname_pinyin(&f);
                out.given_py = pinyin_of(&g);
                out.family = Some(f);
                out.given = Some(g);
            }
        } else if whole.chars().all(|c| c.is_ascii_alphabetic() || c == '\'')
            && pinyin_parts.is_none()
        {
            let latin = |s: &str| {
                s.chars()
                    .filter(char::is_ascii_alphabetic)
                    .collect::<String>()
                    .to_ascii_lowercase()
            };
            pinyin_parts = match (&family, &given) {
                (Some(f), Some(g)) if !f.is_empty() && !g.is_empty() => Some((latin(f), latin(g))),
                _ => {
                    // The text before folding kept its spaces: "ZHANG XIAOMING".
                    let raw: String = n
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .nfkc()
                        .collect();
                    let words: Vec<String> = raw
                        .split_whitespace()
                        .map(latin)
                        .filter(|w| !w.is_empty())
                        .collect();
                    match &words[..] {
                        [f, rest @ ..] if !rest.is_empty() => Some((f.clone(), rest.concat())),
                        _ => None,
                    }
                }
            };
        }
    }
    if out.family.is_none()
        && let Some((f, g)) = pinyin_parts
    {
        out.family_py = Some(f);
        out.given_py = Some(g);
    }
    out
}

fn is_han(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF))
}

fn identifier(p: &Value, system: &str, type_code: &str) -> Option<String> {
    let list = p.get("identifier")?.as_array()?;
    list.iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(system))
        .or_else(|| {
            list.iter().find(|i| {
                i.pointer("/type/coding")
                    .and_then(Value::as_array)
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c.get("code").and_then(Value::as_str) == Some(type_code))
                    })
            })
        })
        .and_then(|i| i.get("value")?.as_str())
        .map(str::to_string)
}

fn resident_id(
    p: &Value,
    birth: Option<Birth>,
    sex: Option<Sex>,
) -> (Option<String>, Option<String>, IdStatus) {
    let Some(raw) = identifier(p, systems::RESIDENT_ID, "NI") else {
        return (None, None, IdStatus::Missing);
    };
    let folded = id::fold(&raw);
    if folded.is_empty() {
        return (None, None, IdStatus::Missing);
    }
    match id::parse(&folded) {
        Ok(id) => {
            let contradicts =
                birth.is_some_and(|b| b != id.birth) || sex.is_some_and(|s| s != id.sex);
            let status = if contradicts {
                IdStatus::Contradicts
            } else if id.upgraded {
                IdStatus::Upgraded
            } else {
                IdStatus::Valid
            };
            (Some(id.number), None, status)
        }
        Err(_) => (None, Some(folded), IdStatus::Invalid),
    }
}

fn fold_number(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The first mobile number, else the first phone: digits only, without the country code.
fn phone(p: &Value) -> Option<String> {
    let list = p.get("telecom")?.as_array()?;
    let phones: Vec<&Value> = list
        .iter()
        .filter(|t| {
            t.get("system")
                .and_then(Value::as_str)
                .is_none_or(|s| s == "phone")
        })
        .collect();
    let best = phones
        .iter()
        .find(|t| t.get("use").and_then(Value::as_str) == Some("mobile"))
        .or(phones.first())?;
    let digits: String = best
        .get("value")?
        .as_str()?
        .nfkc()
        .filter(char::is_ascii_digit)
        .collect();
    let national = digits
        .strip_prefix("0086")
        .or_else(|| {
            digits
                .strip_prefix("86")
                .filter(|d| d.len() == 11 && d.starts_with('1'))
        })
        .unwrap_or(&digits);
    (national.len() >= 7).then(|| national.to_string())
}

/// The home address, else the first.
fn home_address(p: &Value) -> Option<&Value> {
    let list = p.get("address")?.as_array()?;
    list.iter()
        .find(|a| a.get("use").and_then(Value::as_str) == Some("home"))
        .or(list.first())
}

/// The home address's postal code, its digits only.
fn postcode(p: &Value) -> Option<String> {
    let code = home_address(p)?.get("postalCode")?.as_str()?;
    let digits: String = fold(code).chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// The home address (else the first), folded, without province and city.
fn address(p: &Value) -> Option<String> {
    let a = home_address(p)?;
    let field = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .map(fold)
            .unwrap_or_default()
    };
    let mut text = a
        .get("text")
        .and_then(Value::as_str)
        .map(fold)
        .unwrap_or_default();
    if text.is_empty() {
        let lines: String = a
            .get("line")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).map(fold).collect())
            .unwrap_or_default();
        text = format!(
            "{}{}{}{}",
            field("state"),
            field("city"),
            field("district"),
            lines
        );
    }
    for prefix in [field("state"), field("city")] {
        if !prefix.is_empty()
            && let Some(rest) = text.strip_prefix(&prefix)
        {
            text = rest.to_string();
        }
    }
    // Province-level and city prefixes the structured fields did not name.
    for suffix in ['省', '市'] {
        if let Some((head, rest)) = text.split_once(suffix)
            && head.chars().count() <= 4
            && !rest.is_empty()
            && !head.contains('区')
        {
            text = rest.to_string();
        }
    }
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use serde_json::json;

    #[track_caller]
    fn check(patient: Value, expect: Expect) {
        let mut p = json!({"resourceType": "Patient", "id": "p1"});
        p.as_object_mut()
            .expect("object")
            .extend(patient.as_object().expect("object").clone());
        let r = record_from_patient(&p).expect("a Patient");
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let out = format!(
            "name {}/{} py {}/{} birth {:?} sex {:?} id {} raw {} {:?} ins {} phone {} addr {}{}{}{}",
            show(&r.family),
            show(&r.given),
            show(&r.family_py),
            show(&r.given_py),
            r.birth.map(|b| (b.year, b.month, b.day)),
            r.sex,
            show(&r.resident_id),
            show(&r.id_raw),
            r.id_status,
            show(&r.insurance),
            show(&r.phone),
            show(&r.address),
            r.postcode
                .as_ref()
                .map(|p| format!(" postcode {p}"))
                .unwrap_or_default(),
            if r.placeholder { " placeholder" } else { "" },
            if r.multiple_birth { " multiple" } else { "" },
        );
        expect.assert_eq(&out);
    }

    fn rid(value: &str) -> Value {
        json!([{"system": systems::RESIDENT_ID, "value": value}])
    }

    #[test]
    fn names_in_characters_traditional_and_full_width() {
        check(
            json!({"name": [{"use": "official", "text": "张伟", "family": "张", "given": ["伟"]}]}),
            expect![
                "name 张/伟 py zhang/wei birth None sex None id - raw - Missing ins - phone - addr -"
            ],
        );
        check(
            json!({"name": [{"text": "張 偉"}]}),
            expect![
                "name 张/伟 py zhang/wei birth None sex None id - raw - Missing ins - phone - addr -"
            ],
        );
        check(
            json!({"name": [{"text": "欧阳晓燕"}]}),
            expect![
                "name 欧阳/晓燕 py ouyang/xiaoyan birth None sex None id - raw - Missing ins - phone - addr -"
            ],
        );
        // Surnames read as surnames.
        let readings: Vec<String> = [
            "单雄",
            "曾巩",
            "解缙",
            "仇英",
            "区伟",
            "朴树",
            "查良",
            "尉迟恭",
        ]
        .iter()
        .map(|n| {
            let (f, g) = split_name(n).expect("a name");
            format!(
                "{} {}",
                surname_pinyin(&f).unwrap_or_default(),
                pinyin_of(&g).unwrap_or_default()
            )
        })
        .collect();
        expect![
            "shan xiong, zeng gong, xie jin, qiu ying, ou wei, piao shu, zha liang, yuchi gong"
        ]
        .assert_eq(&readings.join(", "));
    }

    #[test]
    fn names_in_pinyin_and_placeholders() {
        check(
            json!({"name": [{"use": "official", "text": "ZHANG XIAOMING", "family": "ZHANG", "given": ["XIAOMING"]}]}),
            expect![
                "name -/- py zhang/xiaoming birth None sex None id - raw - Missing ins - phone - addr -"
            ],
        );
        check(
            json!({"name": [{"text": "Ｚｈａｎｇ Xiao-Ming"}]}),
            expect![
                "name -/- py zhang/xiaoming birth None sex None id - raw - Missing ins - phone - addr -"
            ],
        );
        // Characters win over pinyin, whichever comes first.
        check(
            json!({"name": [{"use": "usual", "text": "Zhang Wei", "family": "Zhang", "given": ["Wei"]}, {"use": "official", "text": "张伟"}]}),
            expect![
                "name 张/伟 py zhang/wei birth None sex None id - raw - Missing ins - phone - addr -"
            ],
        );
        check(
            json!({"name": [{"use": "temp", "text": "王芳之子"}], "multipleBirthInteger": 1}),
            expect![
                "name 王/芳之子 py wang/fangzhizi birth None sex None id - raw - Missing ins - phone - addr - placeholder multiple"
            ],
        );
        check(
            json!({"name": [{"text": "李婴儿"}]}),
            expect![
                "name 李/婴儿 py li/yinger birth None sex None id - raw - Missing ins - phone - addr - placeholder"
            ],
        );
    }

    #[test]
    fn resident_ids_are_cross_checked() {
        let base = |id: &str, birth: &str, gender: &str| json!({"identifier": rid(id), "birthDate": birth, "gender": gender});
        check(
            base("11010519491231002X", "1949-12-31", "female"),
            expect![
                "name -/- py -/- birth Some((1949, 12, 31)) sex Some(Female) id 11010519491231002X raw - Valid ins - phone - addr -"
            ],
        );
        check(
            base("110105491231002", "1949-12-31", "female"),
            expect![
                "name -/- py -/- birth Some((1949, 12, 31)) sex Some(Female) id 11010519491231002X raw - Upgraded ins - phone - addr -"
            ],
        );
        // Birth date registered with month and day swapped: the ID contradicts it.
        check(
            base("11010519491231002X", "1949-12-13", "female"),
            expect![
                "name -/- py -/- birth Some((1949, 12, 13)) sex Some(Female) id 11010519491231002X raw - Contradicts ins - phone - addr -"
            ],
        );
        check(
            base("11010519491231002X", "1949-12-31", "male"),
            expect![
                "name -/- py -/- birth Some((1949, 12, 31)) sex Some(Male) id 11010519491231002X raw - Contradicts ins - phone - addr -"
            ],
        );
        check(
            base("110105194912310x2X", "1949-12-31", "female"),
            expect![
                "name -/- py -/- birth Some((1949, 12, 31)) sex Some(Female) id - raw 110105194912310X2X Invalid ins - phone - addr -"
            ],
        );
    }

    #[test]
    fn numbers_phones_and_addresses() {
        check(
            json!({
                "identifier": [{"system": systems::INSURANCE_NO, "value": "１０１０５ 0001234"}],
                "telecom": [{"system": "email", "value": "a@b.cn"}, {"system": "phone", "value": "010-6512 3456", "use": "home"}, {"system": "phone", "value": "+86 138-0000-1111", "use": "mobile"}],
                "address": [{"use": "home", "text": "北京市朝阳区和平里街道 和平里东街12号", "city": "北京市", "state": "北京市"}]
            }),
            expect![
                "name -/- py -/- birth None sex None id - raw - Missing ins 101050001234 phone 13800001111 addr 朝阳区和平里街道和平里东街12号"
            ],
        );
        check(
            json!({
                "telecom": [{"system": "phone", "value": "(010) 6512-3456"}],
                "address": [{"line": ["玉泉路10號"], "district": "海淀區", "city": "北京市", "postalCode": "１０００３９"}]
            }),
            expect![
                "name -/- py -/- birth None sex None id - raw - Missing ins - phone 01065123456 addr 海淀区玉泉路10号 postcode 100039"
            ],
        );
        check(
            json!({"address": [{"text": "河北省石家庄市长安区中山东路1号"}]}),
            expect![
                "name -/- py -/- birth None sex None id - raw - Missing ins - phone - addr 长安区中山东路1号"
            ],
        );
    }

    #[test]
    fn no_text_breaks_it() {
        let texts = [
            "",
            " ",
            "\u{0}",
            "𠀀𠀁",
            "̈a",
            "ｘ",
            "之子",
            "\u{202e}abc",
            "🙂🙂",
            "乐乐",
            "A B C D",
            "'",
        ];
        for t in texts {
            for field in ["text", "family"] {
                let p = json!({"resourceType": "Patient", "id": "x", "name": [{field: t, "given": [t]}],
                    "identifier": rid(t), "telecom": [{"value": t}], "address": [{"text": t}], "birthDate": t});
                let r = record_from_patient(&p).expect("a Patient");
                let c = crate::compare::compare(&r, &r);
                assert_eq!(c, crate::compare::compare(&r, &r));
            }
        }
    }
}
