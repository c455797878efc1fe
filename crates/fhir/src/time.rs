//! FHIR date, dateTime and instant values as ranges of milliseconds since the Unix epoch.
//!
//! A value without a time zone is read as UTC (a documented simplification: the region runs
//! on one time zone and the hospitals send local times consistently). Calendar arithmetic is
//! hand-written (Howard Hinnant's days-from-civil) so the crate needs no date library; this
//! module never reads the clock.

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// The inclusive range a date/dateTime/instant covers: `2024` covers the whole year.
///
/// Accepts `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, and `YYYY-MM-DDThh:mm[:ss[.fff…]]` with an
/// optional `Z` or `±hh:mm` zone (search values may stop at minutes; stored values always
/// have seconds). Fractions finer than a millisecond are truncated.
pub fn parse_range(s: &str) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    if year == 0 {
        return None;
    }
    if b.len() == 4 {
        let lo = days_from_civil(year, 1, 1) * MS_PER_DAY;
        return Some((lo, days_from_civil(year + 1, 1, 1) * MS_PER_DAY - 1));
    }
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.len() == 7 {
        let lo = days_from_civil(year, month, 1) * MS_PER_DAY;
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        return Some((lo, days_from_civil(ny, nm, 1) * MS_PER_DAY - 1));
    }
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date_ms = days_from_civil(year, month, day) * MS_PER_DAY;
    if b.len() == 10 {
        return Some((date_ms, date_ms + MS_PER_DAY - 1));
    }
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    if hour > 23 || minute > 59 {
        return None;
    }
    let mut lo = date_ms + hour * MS_PER_HOUR + minute * MS_PER_MINUTE;
    let mut width = MS_PER_MINUTE;
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let second = digits(b, i + 1, 2)?;
        if second > 59 {
            return None;
        }
        lo += second * MS_PER_SECOND;
        width = MS_PER_SECOND;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            // Up to three digits count; finer precision is truncated to the millisecond.
            let mut fraction = 0;
            let mut unit = 100;
            for &d in &b[start..end.min(start + 3)] {
                fraction += i64::from(d - b'0') * unit;
                unit /= 10;
            }
            lo += fraction;
            width = match end - start {
                1 => 100,
                2 => 10,
                _ => 1,
            };
            i = end;
        }
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() => {
            let oh = digits(b, i + 1, 2)?;
            expect(b, i + 3, b':')?;
            let om = digits(b, i + 4, 2)?;
            if oh > 14 || om > 59 {
                return None;
            }
            let offset = oh * MS_PER_HOUR + om * MS_PER_MINUTE;
            if sign == b'+' { offset } else { -offset }
        }
        Some(_) => return None,
    };
    lo -= offset;
    Some((lo, lo + width - 1))
}

/// The instant `s` denotes: the start of its range. Requires a full dateTime with seconds
/// and a zone (`2024-05-01T08:30:00Z`, `...:00.123+08:00`), as FHIR's `instant` does.
pub fn parse_instant(s: &str) -> Option<i64> {
    let has_seconds = s.len() >= 19 && s.as_bytes()[16] == b':';
    let has_zone =
        s.ends_with('Z') || (s.len() > 19 && matches!(s.as_bytes()[s.len() - 6], b'+' | b'-'));
    if !has_seconds || !has_zone {
        return None;
    }
    parse_range(s).map(|(lo, _)| lo)
}

/// Formats `ms` since the epoch as an instant: `2024-05-01T08:30:00.123Z`.
pub fn format_instant(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rest = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / MS_PER_HOUR,
        rest % MS_PER_HOUR / MS_PER_MINUTE,
        rest % MS_PER_MINUTE / MS_PER_SECOND,
        rest % MS_PER_SECOND,
    )
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The number written by exactly `n` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = b.get(at..at + n)?;
    let mut value = 0;
    for &d in slice {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(d - b'0');
    }
    Some(value)
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use std::fmt::Write;

    #[track_caller]
    fn check(inputs: &str, expect: Expect) {
        let mut out = String::new();
        for input in inputs.split_whitespace() {
            match crate::time::parse_range(input) {
                Some((lo, hi)) => {
                    let lo_text = crate::time::format_instant(lo);
                    let hi_text = crate::time::format_instant(hi);
                    writeln!(out, "{input}: {lo_text} .. {hi_text}").expect("write to String");
                }
                None => writeln!(out, "{input}: invalid").expect("write to String"),
            }
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn precisions() {
        check(
            "2024 2024-02 2023-02 2024-12 2024-05-01 2024-05-01T08:30 2024-05-01T08:30:15
             2024-05-01T08:30:15.1 2024-05-01T08:30:15.12 2024-05-01T08:30:15.123
             2024-05-01T08:30:15.123456",
            expect![[r#"
                2024: 2024-01-01T00:00:00.000Z .. 2024-12-31T23:59:59.999Z
                2024-02: 2024-02-01T00:00:00.000Z .. 2024-02-29T23:59:59.999Z
                2023-02: 2023-02-01T00:00:00.000Z .. 2023-02-28T23:59:59.999Z
                2024-12: 2024-12-01T00:00:00.000Z .. 2024-12-31T23:59:59.999Z
                2024-05-01: 2024-05-01T00:00:00.000Z .. 2024-05-01T23:59:59.999Z
                2024-05-01T08:30: 2024-05-01T08:30:00.000Z .. 2024-05-01T08:30:59.999Z
                2024-05-01T08:30:15: 2024-05-01T08:30:15.000Z .. 2024-05-01T08:30:15.999Z
                2024-05-01T08:30:15.1: 2024-05-01T08:30:15.100Z .. 2024-05-01T08:30:15.199Z
                2024-05-01T08:30:15.12: 2024-05-01T08:30:15.120Z .. 2024-05-01T08:30:15.129Z
                2024-05-01T08:30:15.123: 2024-05-01T08:30:15.123Z .. 2024-05-01T08:30:15.123Z
                2024-05-01T08:30:15.123456: 2024-05-01T08:30:15.123Z .. 2024-05-01T08:30:15.123Z
            "#]],
        );
    }

    #[test]
    fn zones() {
        check(
            "2024-05-01T08:30:00Z 2024-05-01T08:30:00+08:00 2024-05-01T01:30:00-05:30
             2024-01-01T00:00:00.500+14:00 2024-05-01T08:30+08:00 1969-12-31T23:59:59.999Z
             1970-01-01T00:00:00Z",
            expect![[r#"
                2024-05-01T08:30:00Z: 2024-05-01T08:30:00.000Z .. 2024-05-01T08:30:00.999Z
                2024-05-01T08:30:00+08:00: 2024-05-01T00:30:00.000Z .. 2024-05-01T00:30:00.999Z
                2024-05-01T01:30:00-05:30: 2024-05-01T07:00:00.000Z .. 2024-05-01T07:00:00.999Z
                2024-01-01T00:00:00.500+14:00: 2023-12-31T10:00:00.500Z .. 2023-12-31T10:00:00.500Z
                2024-05-01T08:30+08:00: 2024-05-01T00:30:00.000Z .. 2024-05-01T00:30:59.999Z
                1969-12-31T23:59:59.999Z: 1969-12-31T23:59:59.999Z .. 1969-12-31T23:59:59.999Z
                1970-01-01T00:00:00Z: 1970-01-01T00:00:00.000Z .. 1970-01-01T00:00:00.999Z
            "#]],
        );
    }

    #[test]
    fn invalid_values() {
        check(
            "0000 24 20245 2024-13 2024-00 2023-02-29 2024-02-30 2024-04-31 2024-05-01T25:00
             2024-05-01T08:60 2024-05-01T08:30:60 2024-05-01T08 2024-05-01T08:30:00. 2024-5-1
             2024-05-01Z 2024-05-01T08:30:00+15:00 2024-05-01T08:30:00+0800
             2024-05-01T08:30:00ZZ 2024-05-01 ２０２４ 2024-05-01T08:30:00+08:00x",
            expect![[r#"
                0000: invalid
                24: invalid
                20245: invalid
                2024-13: invalid
                2024-00: invalid
                2023-02-29: invalid
                2024-02-30: invalid
                2024-04-31: invalid
                2024-05-01T25:00: invalid
                2024-05-01T08:60: invalid
                2024-05-01T08:30:60: invalid
                2024-05-01T08: invalid
                2024-05-01T08:30:00.: invalid
                2024-5-1: invalid
                2024-05-01Z: invalid
                2024-05-01T08:30:00+15:00: invalid
                2024-05-01T08:30:00+0800: invalid
                2024-05-01T08:30:00ZZ: invalid
                2024-05-01: 2024-05-01T00:00:00.000Z .. 2024-05-01T23:59:59.999Z
                ２０２４: invalid
                2024-05-01T08:30:00+08:00x: invalid
            "#]],
        );
    }

    #[test]
    fn extreme_years() {
        check(
            "0001 9999 1600-02-29 1900-02-29 2000-02-29",
            expect![[r#"
                0001: 0001-01-01T00:00:00.000Z .. 0001-12-31T23:59:59.999Z
                9999: 9999-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z
                1600-02-29: 1600-02-29T00:00:00.000Z .. 1600-02-29T23:59:59.999Z
                1900-02-29: invalid
                2000-02-29: 2000-02-29T00:00:00.000Z .. 2000-02-29T23:59:59.999Z
            "#]],
        );
    }

    #[test]
    fn instants() {
        let cases = [
            "2024-05-01T08:30:00Z",
            "2024-05-01T08:30:00.123+08:00",
            "2024-05-01T08:30:00",
            "2024-05-01",
            "2024-05-01T08:30Z",
        ];
        let out: String = cases
            .iter()
            .map(|c| match crate::time::parse_instant(c) {
                Some(ms) => format!("{c}: {ms} {}\n", crate::time::format_instant(ms)),
                None => format!("{c}: not an instant\n"),
            })
            .collect();
        expect![[r#"
            2024-05-01T08:30:00Z: 1714552200000 2024-05-01T08:30:00.000Z
            2024-05-01T08:30:00.123+08:00: 1714523400123 2024-05-01T00:30:00.123Z
            2024-05-01T08:30:00: not an instant
            2024-05-01: not an instant
            2024-05-01T08:30Z: not an instant
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn round_trip_over_four_centuries() {
        // Every 97th day across 400 years, forward and back.
        let mut day = crate::time::days_from_civil(1800, 1, 1);
        let end = crate::time::days_from_civil(2200, 1, 1);
        while day < end {
            let (y, m, d) = crate::time::civil_from_days(day);
            assert_eq!(crate::time::days_from_civil(y, m, d), day);
            let text = format!("{y:04}-{m:02}-{d:02}");
            assert_eq!(
                crate::time::parse_range(&text).map(|r| r.0),
                Some(day * 86_400_000)
            );
            day += 97;
        }
    }
}
