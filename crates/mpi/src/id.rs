//! Resident ID numbers (居民身份证号, GB 11643-1999): 6 digits of region, 8 of birth date,
//! 3 of sequence (odd for men, even for women) and a MOD 11-2 check character. The older
//! 15-digit numbers (two-digit year, no check) are upgraded by inserting "19" and computing
//! the check. Parsing never trusts: a number is valid only when the check, the date and the
//! lengths all hold, and what it says about birth and sex is returned for cross-checking.

use crate::record::{Birth, Sex};

/// A valid resident ID and what it encodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentId {
    /// The 18-character form (check `X` upper case).
    pub number: String,
    pub birth: Birth,
    pub sex: Sex,
    /// Registered in the 15-digit form.
    pub upgraded: bool,
}

/// Why a number is not a valid resident ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    Length,
    NotDigits,
    CheckDigit,
    BirthDate,
}

/// How two registered ID texts differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdDiff {
    Equal,
    /// One character replaced.
    OneDigit,
    /// Two adjacent characters exchanged.
    Transposed,
    Different,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The ID text as typed, folded: full-width digits and `ｘ` to ASCII, `x` upper case,
/// spaces and hyphens removed.
pub fn fold(raw: &str) -> String {
    raw.chars()
        .filter_map(|c| {
            let c = match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32)?,
                'x' | 'ｘ' | 'Ｘ' => 'X',
                _ => c,
            };
            (!c.is_whitespace() && c != '-').then_some(c)
        })
        .collect()
}

/// The MOD 11-2 check character of the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] as char
}

/// Parses a registered ID (already folded or not).
pub fn parse(raw: &str) -> Result<ResidentId, Invalid> {
    let text = fold(raw);
    let b = text.as_bytes();
    let (number, upgraded) = match b.len() {
        18 => {
            if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X')
            {
                return Err(Invalid::NotDigits);
            }
            if check_char(&b[..17]) != b[17] as char {
                return Err(Invalid::CheckDigit);
            }
            (text, false)
        }
        15 => {
            if !b.iter().all(u8::is_ascii_digit) {
                return Err(Invalid::NotDigits);
            }
            let mut n = format!("{}19{}", &text[..6], &text[6..]);
            let check = check_char(n.as_bytes());
            n.push(check);
            (n, true)
        }
        _ => return Err(Invalid::Length),
    };
    let birth = Birth::parse(&format!(
        "{}-{}-{}",
        &number[6..10],
        &number[10..12],
        &number[12..14]
    ))
    .filter(|d| d.year >= 1880 && is_real_date(*d))
    .ok_or(Invalid::BirthDate)?;
    let sex = if (number.as_bytes()[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(ResidentId {
        number,
        birth,
        sex,
        upgraded,
    })
}

/// How two ID texts differ, character by character.
pub fn diff(a: &str, b: &str) -> IdDiff {
    if a == b {
        return IdDiff::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return IdDiff::Different;
    }
    let positions: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    match positions[..] {
        [_] => IdDiff::OneDigit,
        [i, j] if j == i + 1 && a[i] == b[j] && a[j] == b[i] => IdDiff::Transposed,
        _ => IdDiff::Different,
    }
}

fn is_real_date(d: Birth) -> bool {
    let leap =
        d.year.is_multiple_of(4) && (!d.year.is_multiple_of(100) || d.year.is_multiple_of(400));
    let days = match d.month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d.day <= days
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(raw: &str, expect: Expect) {
        let out = match parse(raw) {
            Ok(id) => format!(
                "{} {}-{:02}-{:02} {:?}{}",
                id.number,
                id.birth.year,
                id.birth.month,
                id.birth.day,
                id.sex,
                if id.upgraded { " upgraded" } else { "" }
            ),
            Err(e) => format!("{e:?}"),
        };
        expect.assert_eq(&out);
    }

    #[test]
    fn parses_and_cross_checks() {
        // The standard's own example.
        check(
            "11010519491231002X",
            expect!["11010519491231002X 1949-12-31 Female"],
        );
        check(
            "11010519491231002x",
            expect!["11010519491231002X 1949-12-31 Female"],
        );
        check(
            "１１０１０５１９４９１２３１００２Ｘ",
            expect!["11010519491231002X 1949-12-31 Female"],
        );
        check(
            "110105 19491231 002X",
            expect!["11010519491231002X 1949-12-31 Female"],
        );
        check(
            "110105491231002",
            expect!["11010519491231002X 1949-12-31 Female upgraded"],
        );
        check(
            "110105491231001",
            expect!["110105194912310011 1949-12-31 Male upgraded"],
        );
        check("110105194912310021", expect!["CheckDigit"]);
        check("11010519491321002X", expect!["CheckDigit"]);
        let with_check = |first17: &str| format!("{first17}{}", check_char(first17.as_bytes()));
        check(&with_check("11010519490230002"), expect!["BirthDate"]);
        check(&with_check("11010518790101002"), expect!["BirthDate"]);
        check("1101051949123100", expect!["Length"]);
        check("11010519491231A02X", expect!["NotDigits"]);
        check("", expect!["Length"]);
    }

    #[test]
    fn every_single_typo_is_caught() {
        let id = b"11010519491231002X";
        for i in 0..17 {
            for d in b'0'..=b'9' {
                if d == id[i] {
                    continue;
                }
                let mut typo = id.to_vec();
                typo[i] = d;
                let typo = String::from_utf8(typo).expect("ascii");
                assert!(parse(&typo).is_err(), "{typo}");
                assert_eq!(diff("11010519491231002X", &typo), IdDiff::OneDigit);
            }
        }
    }

    #[test]
    fn diffs() {
        let out: Vec<String> = [
            ("110105194912310016", "110105194912310016"),
            ("110105194912310016", "110105194912310026"),
            ("110105194912310016", "110105194921310016"),
            ("110105194912310016", "110105194912320017"),
            ("110105194912310016", "11010519491231001"),
        ]
        .iter()
        .map(|(a, b)| format!("{:?}", diff(a, b)))
        .collect();
        expect!["Equal OneDigit Transposed Different Different"].assert_eq(&out.join(" "));
    }
}
