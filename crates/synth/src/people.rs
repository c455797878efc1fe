//! Synthetic people: names (simplified characters with toneless pinyin), resident ID numbers
//! (GB 11643-1999, with the real GB/T 2260 region codes of Beijing's 16 districts and a few
//! birthplaces elsewhere), mobile numbers, insurance numbers and Beijing street addresses.
//! Everything is drawn from the caller's [`Rng`], so a seed fixes every person; nothing here
//! reads the clock, the environment or any real register, and no output may describe a real
//! person — the pools are common characters combined at random, the numbers random digits.
//!
//! Conventions: pinyin is toneless and capitalised, the given name's syllables run together
//! without apostrophes ("Xiaoming", "Yinuo"), as on Chinese passports; ü after l/n is written
//! "yu" (吕 → "Lyu"), the passport convention, never "v" or "u". Polyphonic surnames take
//! their surname reading (单 Shan, 曾 Zeng, 解 Xie, 仇 Qiu, 区 Ou, 朴 Piao, 查 Zha, 盖 Ge,
//! 覃 Qin, 缪 Miao, 翟 Zhai, 乐 Yue, 尉迟 Yuchi); those characters never occur in given names,
//! so [`pinyin_of`] can give one reading per character. [`pinyin_of`] is for the generator
//! only: the MPI keeps its own, independent tables.

use crate::date::Date;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The FHIR `AdministrativeGender` code.
    pub fn fhir(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub family: String,
    pub given: String,
    /// "Zhang", "Ouyang".
    pub family_py: String,
    /// "Xiaoming": syllables joined, first letter capitalised.
    pub given_py: String,
}

impl Name {
    /// "张小明".
    pub fn full(&self) -> String {
        format!("{}{}", self.family, self.given)
    }

    /// "Zhang Xiaoming".
    pub fn pinyin(&self) -> String {
        format!("{} {}", self.family_py, self.given_py)
    }
}

/// A surname: characters, pinyin, frequency in thousandths of a percent of the population
/// (after the published national surname rankings, rounded; rare and compound surnames are
/// given a small floor so that every one is reachable).
pub struct Surname {
    pub chars: &'static str,
    pub pinyin: &'static str,
    pub weight: u32,
}

const fn s(chars: &'static str, pinyin: &'static str, weight: u32) -> Surname {
    Surname {
        chars,
        pinyin,
        weight,
    }
}

pub static SURNAMES: &[Surname] = &[
    s("王", "Wang", 7120),
    s("李", "Li", 7000),
    s("张", "Zhang", 6740),
    s("刘", "Liu", 5100),
    s("陈", "Chen", 4610),
    s("杨", "Yang", 3220),
    s("黄", "Huang", 2450),
    s("赵", "Zhao", 2290),
    s("吴", "Wu", 2050),
    s("周", "Zhou", 2040),
    s("徐", "Xu", 1670),
    s("孙", "Sun", 1540),
    s("马", "Ma", 1480),
    s("朱", "Zhu", 1370),
    s("胡", "Hu", 1310),
    s("郭", "Guo", 1250),
    s("何", "He", 1210),
    s("林", "Lin", 1160),
    s("高", "Gao", 1140),
    s("罗", "Luo", 1050),
    s("郑", "Zheng", 1010),
    s("梁", "Liang", 930),
    s("谢", "Xie", 840),
    s("宋", "Song", 780),
    s("唐", "Tang", 770),
    s("许", "Xu", 710),
    s("韩", "Han", 700),
    s("邓", "Deng", 690),
    s("冯", "Feng", 680),
    s("曹", "Cao", 660),
    s("彭", "Peng", 640),
    s("曾", "Zeng", 610),
    s("肖", "Xiao", 590),
    s("田", "Tian", 580),
    s("董", "Dong", 560),
    s("潘", "Pan", 550),
    s("袁", "Yuan", 550),
    s("蔡", "Cai", 530),
    s("蒋", "Jiang", 520),
    s("余", "Yu", 510),
    s("于", "Yu", 500),
    s("杜", "Du", 490),
    s("叶", "Ye", 480),
    s("程", "Cheng", 470),
    s("魏", "Wei", 460),
    s("苏", "Su", 460),
    s("吕", "Lyu", 450),
    s("丁", "Ding", 440),
    s("任", "Ren", 430),
    s("卢", "Lu", 420),
    s("姚", "Yao", 410),
    s("沈", "Shen", 400),
    s("钟", "Zhong", 390),
    s("姜", "Jiang", 380),
    s("崔", "Cui", 370),
    s("谭", "Tan", 360),
    s("陆", "Lu", 350),
    s("范", "Fan", 340),
    s("汪", "Wang", 330),
    s("廖", "Liao", 320),
    s("石", "Shi", 320),
    s("金", "Jin", 310),
    s("韦", "Wei", 300),
    s("贾", "Jia", 300),
    s("夏", "Xia", 290),
    s("付", "Fu", 290),
    s("方", "Fang", 280),
    s("邹", "Zou", 270),
    s("熊", "Xiong", 270),
    s("白", "Bai", 260),
    s("孟", "Meng", 260),
    s("秦", "Qin", 250),
    s("邱", "Qiu", 250),
    s("侯", "Hou", 240),
    s("江", "Jiang", 240),
    s("尹", "Yin", 230),
    s("薛", "Xue", 230),
    s("闫", "Yan", 220),
    s("段", "Duan", 220),
    s("雷", "Lei", 210),
    s("龙", "Long", 210),
    s("黎", "Li", 200),
    s("史", "Shi", 200),
    s("陶", "Tao", 200),
    s("贺", "He", 190),
    s("毛", "Mao", 190),
    s("郝", "Hao", 190),
    s("顾", "Gu", 180),
    s("龚", "Gong", 180),
    s("邵", "Shao", 180),
    s("万", "Wan", 170),
    s("覃", "Qin", 160),
    s("武", "Wu", 160),
    s("钱", "Qian", 160),
    s("戴", "Dai", 160),
    s("严", "Yan", 160),
    s("莫", "Mo", 150),
    s("孔", "Kong", 150),
    s("向", "Xiang", 150),
    s("常", "Chang", 150),
    s("汤", "Tang", 140),
    s("康", "Kang", 140),
    s("易", "Yi", 140),
    s("乔", "Qiao", 130),
    s("赖", "Lai", 130),
    s("文", "Wen", 130),
    s("施", "Shi", 130),
    s("洪", "Hong", 120),
    s("牛", "Niu", 120),
    s("章", "Zhang", 120),
    s("傅", "Fu", 120),
    s("葛", "Ge", 100),
    s("翟", "Zhai", 80),
    s("单", "Shan", 50),
    s("朴", "Piao", 50),
    s("解", "Xie", 40),
    s("缪", "Miao", 40),
    s("查", "Zha", 30),
    s("乐", "Yue", 30),
    s("仇", "Qiu", 20),
    s("区", "Ou", 20),
    s("盖", "Ge", 20),
    s("欧阳", "Ouyang", 30),
    s("上官", "Shangguan", 10),
    s("司马", "Sima", 10),
    s("诸葛", "Zhuge", 10),
    s("尉迟", "Yuchi", 5),
];

/// (chars, pinyin), weighted by frequency.
pub fn family_name(rng: &mut Rng) -> (&'static str, &'static str) {
    let s = &SURNAMES[rng.weighted(SURNAMES, |s| s.weight)];
    (s.chars, s.pinyin)
}

/// Given-name material for one sex and generation: single characters (used alone, or two
/// at random for a two-character name) and common fixed two-character names.
pub struct GivenPool {
    pub sex: Sex,
    /// Births up to and including this year (the last pool has `i32::MAX`).
    pub until: i32,
    pub singles: &'static str,
    pub pairs: &'static [&'static str],
}

pub static GIVEN_POOLS: &[GivenPool] = &[
    GivenPool {
        sex: Sex::Male,
        until: 1959,
        singles: "国建军华明福德文志永振学荣忠宝庆林春山海成树贵生祥江兴金平",
        pairs: &[
            "建国", "国庆", "援朝", "福贵", "永福", "宝山", "德胜", "长海", "玉林", "振华", "建华",
            "志明", "国栋", "树林", "金生", "长江", "国强", "志强",
        ],
    },
    GivenPool {
        sex: Sex::Male,
        until: 1984,
        singles: "伟勇军斌强刚磊涛杰峰波辉鹏华明超亮健东宁飞兵平红卫",
        pairs: &[
            "卫东", "红军", "建军", "志强", "海涛", "晓东", "建平", "国强", "永刚", "立新", "文斌",
            "海波", "东升", "小军", "志刚", "振宇", "建伟", "晓明",
        ],
    },
    GivenPool {
        sex: Sex::Male,
        until: 2004,
        singles: "浩杰鑫磊鹏超宇博晨帅阳昊凯旭飞龙峰楠俊涛轩亮",
        pairs: &[
            "浩然", "俊杰", "宇航", "子豪", "家豪", "天宇", "志鹏", "晓明", "文博", "嘉伟", "一帆",
            "鹏飞", "明轩", "思远", "博文",
        ],
    },
    GivenPool {
        sex: Sex::Male,
        until: i32::MAX,
        singles: "宇轩睿泽浩辰涵铭航博皓阳逸然熙",
        pairs: &[
            "浩宇", "子轩", "宇轩", "梓睿", "浩然", "沐宸", "一诺", "奕辰", "俊熙", "宇泽", "子墨",
            "睿泽", "梓豪", "思远", "锦程", "皓轩", "天佑",
        ],
    },
    GivenPool {
        sex: Sex::Female,
        until: 1959,
        singles: "秀英兰凤玉珍桂淑芳华琴霞荣梅云莲",
        pairs: &[
            "秀英", "桂英", "秀兰", "玉兰", "桂兰", "淑珍", "凤英", "玉珍", "秀珍", "桂芳", "玉梅",
            "淑华", "素芬", "翠花", "春兰",
        ],
    },
    GivenPool {
        sex: Sex::Female,
        until: 1984,
        singles: "丽静敏燕艳娟霞红萍玲芳梅莉颖琳洁",
        pairs: &[
            "丽娟", "红梅", "海燕", "晓燕", "丽华", "春梅", "雪梅", "晓红", "艳红", "美玲", "丽萍",
            "秀梅", "建英", "慧敏", "晓丽",
        ],
    },
    GivenPool {
        sex: Sex::Female,
        until: 2004,
        singles: "婷倩雪琳颖佳欣璐丹晶瑶蕾娜悦",
        pairs: &[
            "婷婷", "佳怡", "欣怡", "雨婷", "思雨", "晓雪", "梦瑶", "佳琪", "文静", "雅琪", "诗琪",
            "丹丹", "静怡", "雨欣", "心怡",
        ],
    },
    GivenPool {
        sex: Sex::Female,
        until: i32::MAX,
        singles: "涵萱怡悦彤诺琪欣妍汐溪可馨桐",
        pairs: &[
            "子涵", "梓萱", "一诺", "欣怡", "雨桐", "梓涵", "语桐", "诗涵", "可馨", "若汐", "思琪",
            "佳怡", "紫萱", "欣妍", "沐晴", "安琪",
        ],
    },
];

/// Every character any surname or given-name pool can produce, sorted, without repeats.
pub fn name_chars() -> Vec<char> {
    let mut all: Vec<char> = SURNAMES.iter().flat_map(|s| s.chars.chars()).collect();
    for p in GIVEN_POOLS {
        all.extend(p.singles.chars());
        all.extend(p.pairs.iter().flat_map(|g| g.chars()));
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// A given name (chars, pinyin): about 30% one character, otherwise a common fixed pair or
/// two distinct pool characters. One birth in ten draws from a neighbouring generation's pool.
pub fn given_name(rng: &mut Rng, sex: Sex, born: i32) -> (String, String) {
    let pools: Vec<&GivenPool> = GIVEN_POOLS.iter().filter(|p| p.sex == sex).collect();
    let mut era = pools
        .iter()
        .position(|p| born <= p.until)
        .unwrap_or(pools.len() - 1);
    if rng.chance(0.1) {
        era = if rng.chance(0.5) {
            era.saturating_sub(1)
        } else {
            (era + 1).min(pools.len() - 1)
        };
    }
    let pool = pools[era];
    let singles: Vec<char> = pool.singles.chars().collect();
    let given: String = if rng.chance(0.3) {
        rng.pick(&singles).to_string()
    } else if rng.chance(0.6) {
        rng.pick(pool.pairs).to_string()
    } else {
        let a = rng.below(singles.len());
        let b = (a + 1 + rng.below(singles.len() - 1)) % singles.len();
        [singles[a], singles[b]].iter().collect()
    };
    let py = syllables(&given);
    (given, py)
}

/// The pinyin of pool characters run together, capitalised: "晓明" → "Xiaoming".
fn syllables(chars: &str) -> String {
    let mut out = String::new();
    for c in chars.chars() {
        let py = pinyin_of(c).expect("every pool character has a reading (tested)");
        if out.is_empty() {
            out.push_str(py);
        } else {
            out.push_str(&py.to_ascii_lowercase());
        }
    }
    out
}

pub fn name(rng: &mut Rng, sex: Sex, born: i32) -> Name {
    let (family, family_py) = family_name(rng);
    let (given, given_py) = given_name(rng, sex, born);
    Name {
        family: family.to_string(),
        given,
        family_py: family_py.to_string(),
        given_py,
    }
}

/// Toneless, capitalised pinyin of a character used by the generator's pools and by the
/// homophone table in `noise`; surnames have their surname reading.
pub fn pinyin_of(ch: char) -> Option<&'static str> {
    Some(match ch {
        '安' => "An",
        '白' | '柏' | '百' => "Bai",
        '宝' => "Bao",
        '斌' | '彬' | '滨' => "Bin",
        '兵' | '冰' => "Bing",
        '波' | '博' => "Bo",
        '蔡' | '才' | '彩' => "Cai",
        '曹' => "Cao",
        '常' | '畅' | '昌' | '长' => "Chang",
        '超' | '朝' => "Chao",
        '陈' | '辰' | '晨' | '宸' => "Chen",
        '程' | '成' | '诚' | '承' | '城' => "Cheng",
        '迟' => "Chi",
        '春' => "Chun",
        '崔' | '翠' => "Cui",
        '戴' | '代' | '岱' => "Dai",
        '丹' => "Dan",
        '德' => "De",
        '邓' => "Deng",
        '丁' => "Ding",
        '东' | '冬' | '栋' | '董' => "Dong",
        '杜' | '度' => "Du",
        '段' => "Duan",
        '发' => "Fa",
        '范' | '樊' | '凡' | '帆' => "Fan",
        '方' | '芳' => "Fang",
        '飞' | '菲' | '非' | '霏' => "Fei",
        '芬' => "Fen",
        '峰' | '锋' | '枫' | '丰' | '凤' | '风' | '冯' => "Feng",
        '付' | '傅' | '符' | '福' | '富' => "Fu",
        '刚' | '钢' | '纲' => "Gang",
        '高' => "Gao",
        '葛' | '盖' | '戈' => "Ge",
        '龚' => "Gong",
        '顾' | '谷' | '古' => "Gu",
        '官' => "Guan",
        '桂' | '贵' => "Gui",
        '郭' | '国' => "Guo",
        '海' => "Hai",
        '韩' | '寒' | '涵' | '晗' | '含' => "Han",
        '航' | '杭' => "Hang",
        '浩' | '昊' | '皓' | '灏' | '郝' | '豪' => "Hao",
        '何' | '贺' | '禾' | '和' => "He",
        '红' | '虹' | '宏' | '鸿' | '洪' => "Hong",
        '侯' | '候' => "Hou",
        '胡' | '湖' => "Hu",
        '华' | '桦' | '骅' | '花' => "Hua",
        '黄' | '皇' => "Huang",
        '辉' | '晖' | '徽' | '慧' | '惠' | '蕙' => "Hui",
        '贾' | '佳' | '嘉' | '家' => "Jia",
        '建' | '健' | '剑' | '坚' => "Jian",
        '蒋' | '江' | '姜' => "Jiang",
        '杰' | '洁' | '婕' | '捷' => "Jie",
        '金' | '锦' | '津' | '今' => "Jin",
        '静' | '婧' | '靖' | '晶' | '菁' => "Jing",
        '娟' | '鹃' => "Juan",
        '军' | '君' | '钧' | '均' | '俊' => "Jun",
        '凯' => "Kai",
        '康' => "Kang",
        '可' => "Ke",
        '孔' => "Kong",
        '赖' => "Lai",
        '兰' | '蓝' | '岚' | '澜' => "Lan",
        '雷' | '蕾' | '磊' => "Lei",
        '李' | '黎' | '理' | '丽' | '莉' | '俐' | '立' | '力' | '利' => "Li",
        '莲' => "Lian",
        '梁' | '亮' | '良' => "Liang",
        '廖' => "Liao",
        '林' | '琳' | '霖' => "Lin",
        '玲' | '铃' | '灵' | '凌' => "Ling",
        '刘' | '柳' => "Liu",
        '龙' | '隆' => "Long",
        '卢' | '鲁' | '陆' | '路' | '露' | '璐' => "Lu",
        '罗' => "Luo",
        '吕' | '侣' => "Lyu",
        '马' => "Ma",
        '毛' | '茅' => "Mao",
        '梅' | '玫' | '美' => "Mei",
        '孟' | '梦' => "Meng",
        '缪' | '苗' | '妙' => "Miao",
        '敏' | '珉' | '旻' | '民' => "Min",
        '明' | '铭' | '鸣' => "Ming",
        '莫' | '墨' => "Mo",
        '沐' => "Mu",
        '娜' => "Na",
        '楠' => "Nan",
        '宁' | '凝' | '柠' => "Ning",
        '牛' => "Niu",
        '诺' => "Nuo",
        '欧' | '区' | '鸥' => "Ou",
        '潘' | '攀' => "Pan",
        '彭' | '鹏' | '朋' => "Peng",
        '朴' => "Piao",
        '平' | '萍' | '苹' => "Ping",
        '琪' | '琦' | '淇' | '祺' => "Qi",
        '钱' | '倩' | '茜' => "Qian",
        '强' | '蔷' => "Qiang",
        '乔' | '桥' => "Qiao",
        '秦' | '覃' | '琴' | '芹' | '勤' => "Qin",
        '庆' | '晴' => "Qing",
        '邱' | '秋' | '丘' | '仇' => "Qiu",
        '然' => "Ran",
        '任' => "Ren",
        '荣' | '蓉' | '容' | '融' => "Rong",
        '睿' | '瑞' | '锐' => "Rui",
        '若' => "Ruo",
        '单' | '山' | '善' | '珊' | '姗' => "Shan",
        '上' => "Shang",
        '邵' => "Shao",
        '沈' | '申' => "Shen",
        '生' | '升' | '胜' | '晟' => "Sheng",
        '石' | '史' | '施' | '诗' | '时' => "Shi",
        '淑' | '舒' | '书' | '树' => "Shu",
        '帅' => "Shuai",
        '思' | '司' => "Si",
        '宋' => "Song",
        '苏' | '素' | '粟' => "Su",
        '孙' => "Sun",
        '谭' | '谈' | '檀' => "Tan",
        '唐' | '汤' | '棠' | '堂' => "Tang",
        '陶' | '涛' | '韬' | '焘' => "Tao",
        '田' | '甜' | '恬' | '天' => "Tian",
        '婷' | '亭' | '庭' => "Ting",
        '彤' | '桐' | '童' => "Tong",
        '万' => "Wan",
        '王' | '汪' => "Wang",
        '伟' | '玮' | '炜' | '魏' | '卫' | '维' | '薇' | '韦' => "Wei",
        '文' | '雯' | '闻' => "Wen",
        '吴' | '武' | '伍' => "Wu",
        '熙' | '汐' | '溪' => "Xi",
        '夏' | '霞' => "Xia",
        '祥' | '翔' | '向' => "Xiang",
        '肖' | '萧' | '晓' | '小' => "Xiao",
        '谢' | '解' => "Xie",
        '欣' | '馨' | '心' | '昕' | '新' | '鑫' => "Xin",
        '兴' => "Xing",
        '熊' | '雄' => "Xiong",
        '秀' => "Xiu",
        '徐' | '许' | '旭' => "Xu",
        '轩' | '萱' | '宣' => "Xuan",
        '薛' | '雪' | '学' => "Xue",
        '雅' => "Ya",
        '燕' | '艳' | '雁' | '妍' | '闫' | '阎' | '严' | '颜' | '彦' => "Yan",
        '杨' | '阳' | '扬' | '洋' => "Yang",
        '姚' | '瑶' | '遥' => "Yao",
        '叶' | '业' => "Ye",
        '怡' | '仪' | '宜' | '逸' | '毅' | '奕' | '亦' | '一' | '易' => "Yi",
        '尹' | '殷' | '银' => "Yin",
        '颖' | '莹' | '英' | '瑛' | '盈' => "Ying",
        '勇' | '永' | '咏' => "Yong",
        '佑' => "You",
        '余' | '于' | '俞' | '宇' | '禹' | '羽' | '雨' | '语' | '玉' | '钰' | '尉' => {
            "Yu"
        }
        '袁' | '元' | '原' | '源' | '援' | '远' => "Yuan",
        '悦' | '月' | '越' | '乐' => "Yue",
        '云' | '芸' | '韵' => "Yun",
        '泽' => "Ze",
        '曾' | '增' => "Zeng",
        '查' => "Zha",
        '翟' => "Zhai",
        '张' | '章' => "Zhang",
        '赵' => "Zhao",
        '珍' | '贞' | '真' | '桢' | '振' => "Zhen",
        '郑' | '正' => "Zheng",
        '志' | '智' => "Zhi",
        '钟' | '忠' | '中' | '仲' => "Zhong",
        '周' | '舟' | '州' => "Zhou",
        '朱' | '珠' | '竹' | '诸' => "Zhu",
        '子' | '梓' | '紫' => "Zi",
        '邹' => "Zou",
        _ => return None,
    })
}

#[derive(Debug)]
pub struct Division {
    /// The six-digit GB/T 2260 code, which opens a resident ID number.
    pub code: &'static str,
    pub province: &'static str,
    /// For the municipalities (北京, 天津) the municipality itself, not GB/T 2260's "市辖区".
    pub city: &'static str,
    pub district: &'static str,
    /// Relative share of the region's residents born there (Beijing: 2020 census population
    /// in ten thousands; elsewhere: rough migrant shares).
    pub weight: u32,
}

impl Division {
    pub fn is_beijing(&self) -> bool {
        self.code.starts_with("11")
    }

    /// "北京市朝阳区", "河北省石家庄市长安区".
    pub fn full(&self) -> String {
        if self.province == self.city {
            format!("{}{}", self.province, self.district)
        } else {
            format!("{}{}{}", self.province, self.city, self.district)
        }
    }
}

const fn d(
    code: &'static str,
    province: &'static str,
    city: &'static str,
    district: &'static str,
    weight: u32,
) -> Division {
    Division {
        code,
        province,
        city,
        district,
        weight,
    }
}

/// Beijing's 16 districts (about 80% of the weight), then birthplaces elsewhere.
pub static DIVISIONS: &[Division] = &[
    d("110101", "北京市", "北京市", "东城区", 71),
    d("110102", "北京市", "北京市", "西城区", 111),
    d("110105", "北京市", "北京市", "朝阳区", 345),
    d("110106", "北京市", "北京市", "丰台区", 202),
    d("110107", "北京市", "北京市", "石景山区", 57),
    d("110108", "北京市", "北京市", "海淀区", 313),
    d("110109", "北京市", "北京市", "门头沟区", 39),
    d("110111", "北京市", "北京市", "房山区", 131),
    d("110112", "北京市", "北京市", "通州区", 184),
    d("110113", "北京市", "北京市", "顺义区", 132),
    d("110114", "北京市", "北京市", "昌平区", 227),
    d("110115", "北京市", "北京市", "大兴区", 199),
    d("110116", "北京市", "北京市", "怀柔区", 44),
    d("110117", "北京市", "北京市", "平谷区", 46),
    d("110118", "北京市", "北京市", "密云区", 53),
    d("110119", "北京市", "北京市", "延庆区", 35),
    d("120101", "天津市", "天津市", "和平区", 40),
    d("130102", "河北省", "石家庄市", "长安区", 60),
    d("130203", "河北省", "唐山市", "路北区", 40),
    d("130602", "河北省", "保定市", "竞秀区", 60),
    d("130703", "河北省", "张家口市", "桥西区", 35),
    d("131003", "河北省", "廊坊市", "广阳区", 40),
    d("140105", "山西省", "太原市", "小店区", 25),
    d("150102", "内蒙古自治区", "呼和浩特市", "新城区", 20),
    d("210102", "辽宁省", "沈阳市", "和平区", 25),
    d("220104", "吉林省", "长春市", "朝阳区", 15),
    d("230103", "黑龙江省", "哈尔滨市", "南岗区", 30),
    d("320102", "江苏省", "南京市", "玄武区", 15),
    d("340104", "安徽省", "合肥市", "蜀山区", 20),
    d("370102", "山东省", "济南市", "历下区", 35),
    d("370202", "山东省", "青岛市", "市南区", 20),
    d("410105", "河南省", "郑州市", "金水区", 45),
    d("420102", "湖北省", "武汉市", "江岸区", 20),
    d("430104", "湖南省", "长沙市", "岳麓区", 15),
    d("510104", "四川省", "成都市", "锦江区", 20),
    d("610113", "陕西省", "西安市", "雁塔区", 15),
];

/// Any division, weighted: where a resident was born.
pub fn division(rng: &mut Rng) -> &'static Division {
    &DIVISIONS[rng.weighted(DIVISIONS, |d| d.weight)]
}

/// A Beijing district, weighted by population: where a resident lives.
pub fn beijing_division(rng: &mut Rng) -> &'static Division {
    let n = DIVISIONS.iter().take_while(|d| d.is_beijing()).count();
    &DIVISIONS[rng.weighted(&DIVISIONS[..n], |d| d.weight)]
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits; `None` unless
/// `first17` is exactly 17 ASCII digits.
pub fn check_digit(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize] as char)
}

/// An 18-character resident ID: region, birth date, sequence, check character. The
/// sequence is `seq % 1000` with its lowest bit flipped if needed so that it is odd for men
/// and even for women. A region that is not six digits is padded or cut to six (digits only).
pub fn resident_id(division: &str, birth: Date, seq: u16, sex: Sex) -> String {
    let mut region: String = division
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    while region.len() < 6 {
        region.push('0');
    }
    let mut seq = seq % 1000;
    if (seq % 2 == 1) != (sex == Sex::Male) {
        seq ^= 1;
    }
    let first17 = format!("{region}{}{seq:03}", birth.compact());
    let check = check_digit(&first17).expect("region, YYYYMMDD and sequence make 17 digits");
    format!("{first17}{check}")
}

/// 18 characters: 17 digits (a real calendar date from 1800 on in places 7–14), then the
/// right check character (`X` upper case only).
pub fn is_valid_resident_id(id: &str) -> bool {
    if id.len() != 18 || !id.is_ascii() {
        return false;
    }
    let (first17, last) = id.split_at(17);
    let date = format!(
        "{}-{}-{}",
        &first17[6..10],
        &first17[10..12],
        &first17[12..14]
    );
    check_digit(first17).is_some_and(|c| last.starts_with(c))
        && Date::parse(&date).is_some_and(|d| d.year() >= 1800)
}

/// The 15-digit form issued before 1999: region, `YYMMDD`, sequence, no check digit. Input
/// that is not an 18-character ID is returned with only its ASCII digits, cut to 15.
pub fn legacy_15(id18: &str) -> String {
    match (id18.get(..6), id18.get(8..17)) {
        (Some(region), Some(rest)) if id18.len() == 18 => format!("{region}{rest}"),
        _ => id18.chars().filter(char::is_ascii_digit).take(15).collect(),
    }
}

const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "170", "176", "177", "178", "180", "181",
    "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
];

/// An 11-digit mainland mobile number.
pub fn mobile(rng: &mut Rng) -> String {
    format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000))
}

/// A synthetic Beijing social insurance card number (社保卡号-like, not the real scheme):
/// 12 digits, `1`, then digits 3–6 of the insured's district code (`0105` for 朝阳区; zeros
/// if the code is short), then 7 random digits.
pub fn insurance_no(rng: &mut Rng, division: &str) -> String {
    let mut district: String = division
        .chars()
        .filter(char::is_ascii_digit)
        .skip(2)
        .take(4)
        .collect();
    while district.len() < 4 {
        district.push('0');
    }
    format!("1{district}{:07}", rng.below(10_000_000))
}

/// (subdistrict, road) pairs of a Beijing district; real 街道 names with a road in them.
fn streets(code: &str) -> &'static [(&'static str, &'static str)] {
    match code {
        "110101" => &[
            ("东华门街道", "南池子大街"),
            ("和平里街道", "和平里东街"),
            ("天坛街道", "天坛路"),
            ("东直门街道", "东直门南大街"),
        ],
        "110102" => &[
            ("西长安街街道", "府右街"),
            ("德胜街道", "德胜门外大街"),
            ("月坛街道", "三里河路"),
            ("金融街街道", "金融大街"),
        ],
        "110105" => &[
            ("望京街道", "阜通东大街"),
            ("建外街道", "建国门外大街"),
            ("三里屯街道", "工人体育场北路"),
            ("亚运村街道", "安立路"),
            ("劲松街道", "劲松路"),
        ],
        "110106" => &[
            ("丰台街道", "丰台北路"),
            ("右安门街道", "右安门外大街"),
            ("太平桥街道", "太平桥路"),
            ("马家堡街道", "马家堡东路"),
        ],
        "110107" => &[
            ("八角街道", "八角西街"),
            ("古城街道", "古城大街"),
            ("苹果园街道", "苹果园路"),
            ("鲁谷街道", "鲁谷路"),
        ],
        "110108" => &[
            ("中关村街道", "中关村大街"),
            ("学院路街道", "学院路"),
            ("万寿路街道", "万寿路"),
            ("北太平庄街道", "北三环中路"),
            ("海淀街道", "海淀大街"),
        ],
        "110109" => &[
            ("大峪街道", "新桥大街"),
            ("城子街道", "城子大街"),
            ("东辛房街道", "石门营路"),
            ("大台街道", "黑山大街"),
        ],
        "110111" => &[
            ("拱辰街道", "拱辰大街"),
            ("西潞街道", "苏庄大街"),
            ("城关街道", "政通路"),
            ("迎风街道", "燕房路"),
        ],
        "110112" => &[
            ("北苑街道", "新华西街"),
            ("中仓街道", "中仓路"),
            ("玉桥街道", "玉桥中路"),
            ("新华街道", "新华大街"),
        ],
        "110113" => &[
            ("胜利街道", "府前中街"),
            ("石园街道", "石园北大街"),
            ("光明街道", "光明南大街"),
            ("空港街道", "裕民大街"),
        ],
        "110114" => &[
            ("城北街道", "府学路"),
            ("回龙观街道", "回龙观西大街"),
            ("天通苑北街道", "立汤路"),
            ("霍营街道", "霍营路"),
        ],
        "110115" => &[
            ("兴丰街道", "兴丰大街"),
            ("清源街道", "清源路"),
            ("林校路街道", "林校路"),
            ("观音寺街道", "兴华大街"),
        ],
        "110116" => &[("泉河街道", "青春路"), ("龙山街道", "开放路")],
        "110117" => &[("滨河街道", "府前街"), ("兴谷街道", "平谷大街")],
        "110118" => &[("鼓楼街道", "鼓楼东大街"), ("果园街道", "新中街")],
        "110119" => &[("儒林街道", "妫水北街"), ("百泉街道", "高塔街")],
        _ => &[
            ("解放路街道", "解放路"),
            ("人民路街道", "人民路"),
            ("建设街道", "建设大街"),
            ("新华街道", "新华路"),
            ("和平街道", "和平路"),
            ("中山街道", "中山路"),
        ],
    }
}

const HUTONG: &[&str] = &[
    "史家胡同",
    "东四十条",
    "南锣鼓巷",
    "砖塔胡同",
    "百花深处胡同",
    "西四北三条",
];

/// A street address within `d`, without the province/city/district prefix:
/// "望京街道阜通东大街6号院3号楼1单元502室"; one in five in 东城/西城 is a hutong courtyard.
pub fn address_line(rng: &mut Rng, d: &Division) -> String {
    let (subdistrict, road) = *rng.pick(streets(d.code));
    if matches!(d.code, "110101" | "110102") && rng.chance(0.2) {
        return format!("{subdistrict}{}{}号", rng.pick(HUTONG), rng.range(1, 80));
    }
    let number = rng.range(1, 120);
    let building = rng.range(1, 30);
    let unit = rng.range(1, 6);
    let floor = rng.range(1, 28);
    let room = rng.range(1, 4);
    format!("{subdistrict}{road}{number}号院{building}号楼{unit}单元{floor}{room:02}室")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(actual: impl std::fmt::Display, expect: Expect) {
        expect.assert_eq(&actual.to_string());
    }

    fn ymd(y: i32, m: u32, d: u32) -> Date {
        Date::ymd(y, m, d)
    }

    #[test]
    fn check_digit_by_hand() {
        // 1 1 0 1 0 5 1 9 8 0 0 5 1 7 1 2 3 × 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
        // 7+9+0+5+0+20+2+9+48+0+0+45+10+35+8+8+6 = 212 = 19·11 + 3 → "10X98765432"[3] = '9'.
        let id = resident_id("110105", ymd(1980, 5, 17), 123, Sex::Male);
        check(&id, expect!["110105198005171239"]);
        assert!(is_valid_resident_id(&id));
        // Sequence 128: 206 + 16 = 222 = 20·11 + 2 → 'X'.
        let id = resident_id("110105", ymd(1980, 5, 17), 128, Sex::Female);
        check(&id, expect!["11010519800517128X"]);
        assert!(is_valid_resident_id(&id));
        assert!(!is_valid_resident_id("11010519800517128x"), "lower-case x");
        assert_eq!(check_digit("1101051980051712"), None);
        assert_eq!(check_digit("1101051980051712a"), None);
    }

    #[test]
    fn every_single_digit_change_fails() {
        let id = resident_id("110105", ymd(1980, 5, 17), 123, Sex::Male);
        let mut b = id.clone().into_bytes();
        for i in 0..18 {
            let orig = b[i];
            for c in b"0123456789X" {
                if *c == orig {
                    continue;
                }
                b[i] = *c;
                let s = String::from_utf8(b.clone()).expect("ASCII");
                assert!(!is_valid_resident_id(&s), "{s}");
            }
            b[i] = orig;
        }
    }

    #[test]
    fn validation_rejects_shapes_and_dates() {
        assert!(!is_valid_resident_id(""));
        assert!(!is_valid_resident_id("11010519800517123"));
        assert!(!is_valid_resident_id("1101051980051712399"));
        assert!(!is_valid_resident_id("张10519800517123X"));
        // Right check digit, impossible date.
        let first17 = "11010519800230123";
        let bad = format!("{first17}{}", check_digit(first17).expect("digits"));
        assert!(!is_valid_resident_id(&bad));
    }

    #[test]
    fn sex_parity() {
        for seq in [0u16, 1, 2, 998, 999, 1000, u16::MAX] {
            let born = ymd(2001, 1, 9);
            let m = resident_id("110108", born, seq, Sex::Male);
            let f = resident_id("110108", born, seq, Sex::Female);
            let digit = |id: &str| id.as_bytes()[16] - b'0';
            assert_eq!(digit(&m) % 2, 1, "{m}");
            assert_eq!(digit(&f) % 2, 0, "{f}");
            assert!(is_valid_resident_id(&m) && is_valid_resident_id(&f));
        }
        check(
            resident_id("110108", ymd(2001, 1, 9), 998, Sex::Male),
            expect!["110108200101099993"],
        );
        check(
            resident_id("1101", ymd(2001, 1, 9), 7, Sex::Female),
            expect!["110100200101090066"],
        );
    }

    #[test]
    fn legacy_form() {
        let id = resident_id("130102", ymd(1962, 11, 3), 45, Sex::Male);
        check(&id, expect!["130102196211030459"]);
        check(legacy_15(&id), expect!["130102621103045"]);
        assert_eq!(legacy_15(&id).len(), 15);
    }

    #[test]
    fn every_pool_char_has_pinyin() {
        for c in name_chars() {
            assert!(pinyin_of(c).is_some(), "{c}");
        }
        for s in SURNAMES {
            let joined: String = s
                .chars
                .chars()
                .map(|c| pinyin_of(c).expect("tested above"))
                .collect();
            assert_eq!(
                joined.to_ascii_lowercase(),
                s.pinyin.to_ascii_lowercase(),
                "{}",
                s.chars
            );
        }
        for p in GIVEN_POOLS {
            assert!(p.pairs.iter().all(|g| g.chars().count() == 2));
        }
        assert_eq!(pinyin_of('吕'), Some("Lyu"));
        assert_eq!(pinyin_of('X'), None);
    }

    #[test]
    fn determinism_and_samples() {
        let sample = |seed| {
            let mut rng = Rng::new(seed);
            let mut out = String::new();
            for i in 0..5 {
                let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
                let born = 1935 + 20 * i;
                let n = name(&mut rng, sex, born);
                let birthplace = division(&mut rng);
                let home = beijing_division(&mut rng);
                let date = ymd(born, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32);
                let id = resident_id(birthplace.code, date, rng.below(1000) as u16, sex);
                out += &format!(
                    "{} {} {} {} {} {} {}{}\n",
                    n.full(),
                    n.pinyin(),
                    sex.fhir(),
                    id,
                    mobile(&mut rng),
                    insurance_no(&mut rng, home.code),
                    home.full(),
                    address_line(&mut rng, home)
                );
            }
            out
        };
        assert_eq!(sample(1), sample(1));
        assert_ne!(sample(1), sample(2));
        check(
            sample(1),
            expect![[r#"
            胡长海 Hu Changhai male 110118193507087933 15560542036 101154549379 北京市大兴区林校路街道林校路53号院6号楼4单元2303室
            金桂兰 Jin Guilan female 110102195509029962 17758659514 101093971692 北京市门头沟区城子街道城子大街31号院16号楼4单元2104室
            宋海波 Song Haibo male 130703197504058934 18930185627 101151315849 北京市大兴区清源街道清源路113号院12号楼1单元1701室
            邵丹丹 Shao Dandan female 110113199504020229 17612001656 101131617163 北京市顺义区空港街道裕民大街117号院21号楼4单元1403室
            谭博 Tan Bo male 110106201511209413 18312675013 101081769700 北京市海淀区北太平庄街道北三环中路94号院12号楼1单元2703室
        "#]],
        );
    }

    #[test]
    fn surname_distribution() {
        let mut rng = Rng::new(7);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..10_000 {
            *counts.entry(family_name(&mut rng).0).or_insert(0u32) += 1;
        }
        let mut ranked: Vec<_> = counts.into_iter().collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
        let mut top: Vec<&str> = ranked[..3].iter().map(|r| r.0).collect();
        top.sort_unstable();
        assert_eq!(top, ["张", "李", "王"]);

        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            seen.insert(family_name(&mut rng).0);
        }
        for s in [
            "单", "曾", "解", "仇", "区", "朴", "查", "盖", "覃", "缪", "翟", "万", "乐", "欧阳",
        ] {
            assert!(seen.contains(s), "{s} never drawn");
        }
    }

    #[test]
    fn given_names_fit_era_and_sex() {
        let mut rng = Rng::new(3);
        let mut one = 0;
        for _ in 0..2000 {
            let (g, py) = given_name(&mut rng, Sex::Female, 2015);
            let n = g.chars().count();
            assert!(n == 1 || n == 2, "{g}");
            one += usize::from(n == 1);
            assert!(py.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
            assert!(py.chars().skip(1).all(|c| c.is_ascii_lowercase()), "{py}");
            let mut chars = g.chars();
            assert!(n == 1 || chars.next() != chars.next() || g == "婷婷" || g == "丹丹");
        }
        assert!(
            (450..750).contains(&one),
            "{one} one-character names of 2000"
        );
        let (g, py) = (0..50)
            .map(|_| given_name(&mut rng, Sex::Male, 1950))
            .find(|(g, _)| g == "建国")
            .expect("建国 is common for men born in 1950");
        check(format!("{g} {py}"), expect!["建国 Jianguo"]);
    }

    #[test]
    fn divisions() {
        assert_eq!(DIVISIONS.iter().filter(|d| d.is_beijing()).count(), 16);
        let total: u32 = DIVISIONS.iter().map(|d| d.weight).sum();
        let beijing: u32 = DIVISIONS
            .iter()
            .filter(|d| d.is_beijing())
            .map(|d| d.weight)
            .sum();
        assert!(
            (75..=85).contains(&(beijing * 100 / total)),
            "{beijing}/{total}"
        );
        let mut codes: Vec<_> = DIVISIONS.iter().map(|d| d.code).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), DIVISIONS.len());
        let mut rng = Rng::new(9);
        assert!((0..1000).all(|_| beijing_division(&mut rng).is_beijing()));
        assert!((0..1000).any(|_| !division(&mut rng).is_beijing()));
        check(DIVISIONS[2].full(), expect!["北京市朝阳区"]);
        check(DIVISIONS[17].full(), expect!["河北省石家庄市长安区"]);
    }

    #[test]
    fn numbers() {
        let mut rng = Rng::new(11);
        for _ in 0..1000 {
            let m = mobile(&mut rng);
            assert!(
                m.len() == 11 && m.bytes().all(|b| b.is_ascii_digit()),
                "{m}"
            );
            assert!(MOBILE_PREFIXES.contains(&&m[..3]));
            let i = insurance_no(&mut rng, "110105");
            assert!(i.len() == 12 && i.starts_with("10105"), "{i}");
        }
        check(insurance_no(&mut rng, "11"), expect!["100008584887"]);
    }

    #[test]
    fn addresses() {
        let mut rng = Rng::new(5);
        for d in DIVISIONS {
            let a = address_line(&mut rng, d);
            assert!(a.contains("街道") && a.ends_with(['室', '号']), "{a}");
        }
    }
}
