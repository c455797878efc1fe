//! Registration errors a hospital makes when it copies a person into its own system: a
//! same-sounding character picked from the input method's list, traditional characters, a
//! mistyped ID number, day and month swapped, a name typed in pinyin. These are pure
//! functions of their input (and the caller's [`Rng`]); they must not decide *whether* a
//! registration is noisy (that is the caller's configuration), and they never produce a
//! valid-looking "correction" of their input — the point is to give the MPI realistic
//! near-misses to match.

use crate::date::Date;
use crate::people::Name;
use crate::rng::Rng;

/// Groups of characters with the same toneless pinyin that are confused in names (the
/// pinyin IME offers them side by side). A character is in at most one group.
pub static HOMOPHONES: &[&str] = &[
    "张章",
    "王汪",
    "李黎",
    "丽莉俐",
    "立力利",
    "林琳霖",
    "杰洁婕捷",
    "伟玮炜",
    "魏卫维薇",
    "芳方",
    "静婧靖",
    "晶菁",
    "军君钧均",
    "明铭鸣",
    "华桦骅",
    "峰锋枫丰",
    "凤风",
    "雷蕾磊",
    "刚钢纲",
    "强蔷",
    "勇永咏",
    "涛韬焘",
    "斌彬滨",
    "波博",
    "辉晖徽",
    "慧惠蕙",
    "鹏朋彭",
    "亮良",
    "建健剑坚",
    "东冬栋董",
    "宁凝柠",
    "飞菲非霏",
    "兵冰",
    "平萍苹",
    "红虹宏鸿洪",
    "浩昊皓灏",
    "宇禹羽",
    "雨语",
    "玉钰",
    "余于俞",
    "轩萱宣",
    "涵晗含",
    "韩寒",
    "睿瑞锐",
    "辰晨宸",
    "航杭",
    "怡仪宜",
    "逸毅奕亦一",
    "欣馨心昕新鑫",
    "悦月越",
    "彤桐童",
    "琪琦淇祺",
    "颖莹英瑛盈",
    "婷亭庭",
    "倩茜",
    "娟鹃",
    "敏珉旻",
    "燕艳雁妍",
    "闫阎严颜彦",
    "玲铃灵凌",
    "梅玫美",
    "兰蓝岚澜",
    "珍贞真桢",
    "淑舒书",
    "琴芹勤",
    "秦覃",
    "云芸韵",
    "荣蓉容融",
    "付傅符",
    "福富",
    "志智",
    "文雯闻",
    "生升胜晟",
    "祥翔",
    "徐许",
    "刘柳",
    "杨阳扬洋",
    "黄皇",
    "周舟州",
    "吴武伍",
    "朱珠竹",
    "胡湖",
    "何贺禾",
    "郑正",
    "谢解",
    "唐汤棠",
    "曾增",
    "肖萧",
    "田甜恬",
    "袁元原源",
    "潘攀",
    "蒋江姜",
    "蔡才彩",
    "杜度",
    "叶业",
    "程成诚承",
    "苏素粟",
    "吕侣",
    "沈申",
    "卢鲁陆路露璐",
    "姚瑶遥",
    "钟忠中仲",
    "谭谈檀",
    "范樊凡帆",
    "石史施诗",
    "金锦津今",
    "贾佳嘉家",
    "夏霞",
    "熊雄",
    "白柏百",
    "孟梦",
    "邱秋丘仇",
    "侯候",
    "尹殷银",
    "龙隆",
    "毛茅",
    "顾谷古",
    "戴代岱",
    "常畅昌",
    "乔桥",
    "葛盖戈",
    "单山善珊姗",
    "缪苗妙",
    "区欧鸥",
];

fn homophone_group(c: char) -> Option<&'static str> {
    HOMOPHONES.iter().copied().find(|g| g.contains(c))
}

/// Replaces one character (chosen at random among those that have homophones) by another
/// member of its group. `None` if no character of `text` has a homophone.
pub fn homophone(rng: &mut Rng, text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let candidates: Vec<usize> = (0..chars.len())
        .filter(|&i| homophone_group(chars[i]).is_some())
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let i = *rng.pick(&candidates);
    let group = homophone_group(chars[i]).expect("candidates have a group");
    let others: Vec<char> = group.chars().filter(|&c| c != chars[i]).collect();
    let mut out = chars;
    out[i] = *rng.pick(&others);
    Some(out.into_iter().collect())
}

/// The traditional form of a simplified character, where it differs. Surnames keep their
/// own character where the merged traditional ones would be wrong (于, 余, 范, 沈, 姜, 谷,
/// 朴 stay); 肖 becomes 蕭, as the surname is written in Hong Kong and Taiwan.
pub fn traditional_char(c: char) -> Option<char> {
    Some(match c {
        '宝' => '寶',
        '滨' => '濱',
        '畅' => '暢',
        '长' => '長',
        '陈' => '陳',
        '诚' => '誠',
        '迟' => '遲',
        '邓' => '鄧',
        '东' => '東',
        '栋' => '棟',
        '发' => '發',
        '飞' => '飛',
        '锋' => '鋒',
        '枫' => '楓',
        '丰' => '豐',
        '凤' => '鳳',
        '风' => '風',
        '冯' => '馮',
        '刚' => '剛',
        '钢' => '鋼',
        '纲' => '綱',
        '盖' => '蓋',
        '龚' => '龔',
        '顾' => '顧',
        '贵' => '貴',
        '国' => '國',
        '韩' => '韓',
        '灏' => '灝',
        '贺' => '賀',
        '红' => '紅',
        '鸿' => '鴻',
        '华' => '華',
        '桦' => '樺',
        '骅' => '驊',
        '黄' => '黃',
        '辉' => '輝',
        '晖' => '暉',
        '贾' => '賈',
        '剑' => '劍',
        '坚' => '堅',
        '蒋' => '蔣',
        '杰' => '傑',
        '洁' => '潔',
        '锦' => '錦',
        '静' => '靜',
        '鹃' => '鵑',
        '军' => '軍',
        '钧' => '鈞',
        '凯' => '凱',
        '赖' => '賴',
        '兰' => '蘭',
        '蓝' => '藍',
        '岚' => '嵐',
        '澜' => '瀾',
        '丽' => '麗',
        '莲' => '蓮',
        '铃' => '鈴',
        '灵' => '靈',
        '刘' => '劉',
        '龙' => '龍',
        '卢' => '盧',
        '鲁' => '魯',
        '陆' => '陸',
        '罗' => '羅',
        '吕' => '呂',
        '侣' => '侶',
        '马' => '馬',
        '梦' => '夢',
        '缪' => '繆',
        '铭' => '銘',
        '鸣' => '鳴',
        '宁' => '寧',
        '柠' => '檸',
        '诺' => '諾',
        '欧' => '歐',
        '区' => '區',
        '鸥' => '鷗',
        '鹏' => '鵬',
        '苹' => '蘋',
        '钱' => '錢',
        '强' => '強',
        '蔷' => '薔',
        '乔' => '喬',
        '桥' => '橋',
        '庆' => '慶',
        '荣' => '榮',
        '锐' => '銳',
        '单' => '單',
        '胜' => '勝',
        '诗' => '詩',
        '时' => '時',
        '书' => '書',
        '树' => '樹',
        '帅' => '帥',
        '苏' => '蘇',
        '孙' => '孫',
        '谭' => '譚',
        '谈' => '談',
        '汤' => '湯',
        '涛' => '濤',
        '韬' => '韜',
        '焘' => '燾',
        '万' => '萬',
        '伟' => '偉',
        '玮' => '瑋',
        '炜' => '煒',
        '卫' => '衛',
        '维' => '維',
        '韦' => '韋',
        '闻' => '聞',
        '吴' => '吳',
        '肖' | '萧' => '蕭',
        '晓' => '曉',
        '谢' => '謝',
        '兴' => '興',
        '许' => '許',
        '轩' => '軒',
        '学' => '學',
        '艳' => '艷',
        '闫' => '閆',
        '阎' => '閻',
        '严' => '嚴',
        '颜' => '顏',
        '彦' => '彥',
        '杨' => '楊',
        '阳' => '陽',
        '扬' => '揚',
        '瑶' => '瑤',
        '遥' => '遙',
        '叶' => '葉',
        '业' => '業',
        '仪' => '儀',
        '银' => '銀',
        '颖' => '穎',
        '莹' => '瑩',
        '咏' => '詠',
        '语' => '語',
        '钰' => '鈺',
        '远' => '遠',
        '悦' => '悅',
        '乐' => '樂',
        '云' => '雲',
        '韵' => '韻',
        '泽' => '澤',
        '张' => '張',
        '赵' => '趙',
        '贞' => '貞',
        '桢' => '楨',
        '郑' => '鄭',
        '钟' => '鍾',
        '诸' => '諸',
        '邹' => '鄒',
        _ => return None,
    })
}

/// `text` with every character that has a traditional form converted; `None` if nothing
/// changes.
pub fn traditional(text: &str) -> Option<String> {
    let mut changed = false;
    let out: String = text
        .chars()
        .map(|c| match traditional_char(c) {
            Some(t) => {
                changed = true;
                t
            }
            None => c,
        })
        .collect();
    changed.then_some(out)
}

/// A typing error in an ID number: swaps two adjacent, different digits among the first 17
/// or replaces one of those digits by another (a digit further on if none are there). The
/// result always differs from `id`: with no digit at all, a `0` is appended. A GB 11643
/// check catches every such error in a valid ID (MOD 11-2 detects all single substitutions
/// and adjacent transpositions).
pub fn mistype_id(rng: &mut Rng, id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    let head = chars.len().min(17);
    let swaps: Vec<usize> = (0..head.saturating_sub(1))
        .filter(|&i| {
            chars[i].is_ascii_digit() && chars[i + 1].is_ascii_digit() && chars[i] != chars[i + 1]
        })
        .collect();
    if !swaps.is_empty() && rng.chance(0.5) {
        let i = *rng.pick(&swaps);
        chars.swap(i, i + 1);
        return chars.into_iter().collect();
    }
    let mut digits: Vec<usize> = (0..head).filter(|&i| chars[i].is_ascii_digit()).collect();
    if digits.is_empty() {
        digits = (0..chars.len())
            .filter(|&i| chars[i].is_ascii_digit())
            .collect();
    }
    if digits.is_empty() {
        chars.push('0');
        return chars.into_iter().collect();
    }
    let i = *rng.pick(&digits);
    let old = chars[i] as u8 - b'0';
    let new = (old + 1 + rng.below(9) as u8) % 10;
    chars[i] = (b'0' + new) as char;
    chars.into_iter().collect()
}

/// The date with day and month exchanged (05-03 for 03-05), if that is a different, real
/// date: `Some` only when the day is at most 12 and differs from the month.
pub fn swap_month_day(date: Date) -> Option<Date> {
    let (y, m, d) = date.civil();
    (d <= 12 && d != m).then(|| Date::ymd(y, d, m))
}

/// The name as typed where the characters are not available: "ZHANG XIAOMING".
pub fn pinyin_only(name: &Name) -> String {
    name.pinyin().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::{self, Sex, is_valid_resident_id, name_chars, pinyin_of, resident_id};
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(actual: impl std::fmt::Display, expect: Expect) {
        expect.assert_eq(&actual.to_string());
    }

    #[test]
    fn homophone_groups_are_consistent() {
        let mut seen = std::collections::HashSet::new();
        for g in HOMOPHONES {
            assert!(g.chars().count() >= 2, "{g}");
            let reading = g.chars().map(pinyin_of).collect::<Vec<_>>();
            assert!(reading[0].is_some(), "{g} has no reading");
            assert!(reading.iter().all(|r| *r == reading[0]), "{g}: {reading:?}");
            for c in g.chars() {
                assert!(seen.insert(c), "{c} in two groups");
            }
        }
        assert!(HOMOPHONES.len() >= 60);
    }

    #[test]
    fn homophone_keeps_pinyin_and_length() {
        let mut rng = Rng::new(1);
        for _ in 0..500 {
            let n = people::name(&mut rng, Sex::Female, 1990);
            let full = n.full();
            let Some(h) = homophone(&mut rng, &full) else {
                continue;
            };
            assert_ne!(h, full);
            assert_eq!(h.chars().count(), full.chars().count());
            let py = |s: &str| s.chars().map(pinyin_of).collect::<Vec<_>>();
            assert_eq!(py(&h), py(&full), "{full} → {h}");
            assert_eq!(
                h.chars().zip(full.chars()).filter(|(a, b)| a != b).count(),
                1
            );
        }
        assert!(
            homophone(&mut rng, "欧阳")
                .is_some_and(|h| h.starts_with(['区', '鸥']) || h.ends_with(['杨', '扬', '洋']))
        );
        assert_eq!(homophone(&mut rng, "丁可"), None);
        assert_eq!(homophone(&mut rng, ""), None);
        check(
            homophone(&mut Rng::new(4), "张伟").unwrap_or_default(),
            expect!["章伟"],
        );
    }

    #[test]
    fn traditional_forms() {
        check(traditional("张伟").unwrap_or_default(), expect!["張偉"]);
        check(
            traditional("欧阳晓燕").unwrap_or_default(),
            expect!["歐陽曉燕"],
        );
        check(traditional("吕子涵").unwrap_or_default(), expect!["呂子涵"]);
        assert_eq!(traditional("林芳"), None);
        assert_eq!(traditional(""), None);
        // Converting twice changes nothing more, and no traditional form is itself a
        // simplified character the generator uses.
        let used: std::collections::HashSet<char> = name_chars().into_iter().collect();
        for c in name_chars() {
            if let Some(t) = traditional_char(c) {
                assert_ne!(t, c);
                assert!(!used.contains(&t), "{c} → {t}");
                assert_eq!(traditional_char(t), None);
            }
        }
    }

    #[test]
    fn mistyped_ids_differ_and_fail() {
        let mut rng = Rng::new(5);
        for i in 0..2000u32 {
            let born = Date::ymd(1930 + (i % 90) as i32, 1 + i % 12, 1 + i % 28);
            let id = resident_id("110105", born, (i % 1000) as u16, Sex::Male);
            let bad = mistype_id(&mut rng, &id);
            assert_ne!(bad, id);
            assert_eq!(bad.len(), 18);
            assert!(!is_valid_resident_id(&bad), "{id} → {bad}");
        }
        assert_eq!(mistype_id(&mut rng, ""), "0");
        assert_ne!(mistype_id(&mut rng, "1"), "1");
        assert_ne!(mistype_id(&mut rng, "1111"), "1111");
        assert_ne!(mistype_id(&mut rng, "未知"), "未知");
        check(
            mistype_id(&mut Rng::new(1), "110105198005171239"),
            expect!["110105198005071239"],
        );
    }

    #[test]
    fn month_day_swaps() {
        let swap = |y, m, d| swap_month_day(Date::ymd(y, m, d)).map(|d| d.to_string());
        assert_eq!(swap(1980, 5, 3), Some("1980-03-05".into()));
        assert_eq!(swap(1980, 12, 1), Some("1980-01-12".into()));
        assert_eq!(swap(1980, 2, 12), Some("1980-12-02".into()));
        assert_eq!(swap(1980, 5, 5), None);
        assert_eq!(swap(1980, 5, 13), None);
        assert_eq!(swap(1980, 1, 31), None);
    }

    #[test]
    fn pinyin_typed() {
        let n = Name {
            family: "张".into(),
            given: "晓明".into(),
            family_py: "Zhang".into(),
            given_py: "Xiaoming".into(),
        };
        check(pinyin_only(&n), expect!["ZHANG XIAOMING"]);
        check(n.pinyin(), expect!["Zhang Xiaoming"]);
        check(n.full(), expect!["张晓明"]);
    }
}
