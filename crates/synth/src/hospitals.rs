//! The thirty hospitals of Beijing's record-sharing pilot: names, specialities, departments,
//! the format each one sends its data in, and each one's local codes for drugs, lab panels
//! and exams (hospitals code them their own way; Yilian maps them to the shared codes).
//! Identifiers and codes here are synthetic.

use terminology::Speciality;

/// How a hospital delivers its records to the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One FHIR transaction Bundle per registration, one Bundle per line of `bundles.ndjson`.
    Bundle,
    /// FHIR NDJSON, one file per resource type (as a Bulk Data export writes it).
    Ndjson,
    /// FHIR NDJSON but for laboratory results, which its laboratory system sends as HL7 v2
    /// ORU^R01 over MLLP: one message per line of `messages.hl7`, segments split by CR.
    Hl7,
    /// FHIR NDJSON but for laboratory results, which it sends as WS/T 500 检验报告 (C0007)
    /// documents: one per line of `documents.xml`.
    Cda,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Bundle => "fhir-transaction-bundles",
            Format::Ndjson => "fhir-ndjson",
            Format::Hl7 => "fhir-ndjson-and-hl7v2-oru",
            Format::Cda => "fhir-ndjson-and-wst500-c0007",
        }
    }
}

#[derive(Debug)]
pub struct Hospital {
    /// Yilian's id for it: `h01` to `h30`, also its Organization id.
    pub id: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// The speciality a specialist hospital is known for (`General` for general hospitals).
    pub speciality: Speciality,
    /// Departments, by speciality.
    pub departments: &'static [Speciality],
    /// Relative outpatient volume.
    pub weight: u32,
    /// Whether its lab and imaging results carry the mutual-recognition ("HR") mark.
    pub mutual_recognition: bool,
    pub format: Format,
    /// Prefix and width of its local medical record numbers.
    pub mrn: (&'static str, usize),
}

use Speciality::*;

const GENERAL: &[Speciality] = &[
    General,
    Cardiology,
    Respiratory,
    Gastroenterology,
    Endocrinology,
    Nephrology,
    Neurology,
    Oncology,
    Pediatrics,
    Obstetrics,
    Orthopedics,
    Ophthalmology,
    Otolaryngology,
    Dermatology,
    Urology,
    Surgery,
    Emergency,
    Stomatology,
    TraditionalChinese,
    Geriatrics,
];
const DISTRICT: &[Speciality] = &[
    General,
    Cardiology,
    Respiratory,
    Gastroenterology,
    Endocrinology,
    Neurology,
    Pediatrics,
    Obstetrics,
    Orthopedics,
    Ophthalmology,
    Otolaryngology,
    Surgery,
    Emergency,
    Stomatology,
    TraditionalChinese,
];

macro_rules! hospital {
    ($id:literal, $zh:literal, $en:literal, $spec:expr, $depts:expr, $w:literal, $hr:literal, $fmt:ident, $mrn:literal, $width:literal) => {
        Hospital {
            id: $id,
            zh: $zh,
            en: $en,
            speciality: $spec,
            departments: $depts,
            weight: $w,
            mutual_recognition: $hr,
            format: Format::$fmt,
            mrn: ($mrn, $width),
        }
    };
}

pub static HOSPITALS: &[Hospital] = &[
    hospital!(
        "h01",
        "北京大学第三医院",
        "Peking University Third Hospital",
        General,
        GENERAL,
        12,
        true,
        Bundle,
        "",
        10
    ),
    hospital!(
        "h02",
        "北京大学人民医院",
        "Peking University People's Hospital",
        General,
        GENERAL,
        11,
        true,
        Ndjson,
        "P",
        9
    ),
    hospital!(
        "h03",
        "首都医科大学附属北京安贞医院",
        "Beijing Anzhen Hospital",
        Cardiology,
        &[
            Cardiology,
            Surgery,
            Endocrinology,
            Nephrology,
            Respiratory,
            Emergency,
            General
        ],
        8,
        true,
        Bundle,
        "AZ",
        8
    ),
    hospital!(
        "h04",
        "首都医科大学附属北京口腔医院",
        "Beijing Stomatological Hospital",
        Stomatology,
        &[Stomatology, Emergency],
        5,
        true,
        Ndjson,
        "KQ",
        8
    ),
    hospital!(
        "h05",
        "首都医科大学附属北京安定医院",
        "Beijing Anding Hospital",
        Psychiatry,
        &[Psychiatry, General],
        4,
        true,
        Bundle,
        "AD",
        7
    ),
    hospital!(
        "h06",
        "首都医科大学附属北京世纪坛医院",
        "Beijing Shijitan Hospital",
        General,
        GENERAL,
        7,
        true,
        Ndjson,
        "SJT",
        8
    ),
    hospital!(
        "h07",
        "首都医科大学附属北京儿童医院",
        "Beijing Children's Hospital",
        Pediatrics,
        &[Pediatrics, Respiratory, Surgery, Oncology, Emergency],
        9,
        true,
        Bundle,
        "BC",
        9
    ),
    hospital!(
        "h08",
        "首都儿科研究所附属儿童医院",
        "Children's Hospital of the Capital Institute of Pediatrics",
        Pediatrics,
        &[Pediatrics, Respiratory, Gastroenterology, Emergency],
        5,
        true,
        Ndjson,
        "ET",
        8
    ),
    hospital!(
        "h09",
        "北京大学肿瘤医院",
        "Peking University Cancer Hospital",
        Oncology,
        &[Oncology, Surgery, Gastroenterology, Respiratory],
        5,
        true,
        Bundle,
        "ZL",
        8
    ),
    hospital!(
        "h10",
        "中日友好医院",
        "China-Japan Friendship Hospital",
        General,
        GENERAL,
        10,
        true,
        Hl7,
        "ZR",
        9
    ),
    hospital!(
        "h11",
        "北京老年医院",
        "Beijing Geriatric Hospital",
        Geriatrics,
        &[
            Geriatrics,
            Cardiology,
            Neurology,
            Endocrinology,
            General,
            TraditionalChinese
        ],
        4,
        true,
        Bundle,
        "LN",
        8
    ),
    hospital!(
        "h12",
        "北京回龙观医院",
        "Beijing Huilongguan Hospital",
        Psychiatry,
        &[Psychiatry, General],
        3,
        false,
        Ndjson,
        "HLG",
        7
    ),
    hospital!(
        "h13",
        "北京市顺义区医院",
        "Beijing Shunyi District Hospital",
        General,
        DISTRICT,
        6,
        true,
        Bundle,
        "SY",
        8
    ),
    hospital!(
        "h14",
        "北京清华长庚医院",
        "Beijing Tsinghua Changgung Hospital",
        General,
        GENERAL,
        6,
        true,
        Cda,
        "CG",
        9
    ),
    hospital!(
        "h15",
        "北京市大兴区人民医院",
        "Beijing Daxing District People's Hospital",
        General,
        DISTRICT,
        6,
        true,
        Bundle,
        "DX",
        8
    ),
    hospital!(
        "h16",
        "首都医科大学附属北京中医医院",
        "Beijing Hospital of Traditional Chinese Medicine",
        TraditionalChinese,
        &[
            TraditionalChinese,
            Dermatology,
            Gastroenterology,
            Respiratory,
            Geriatrics
        ],
        6,
        true,
        Ndjson,
        "ZY",
        8
    ),
    hospital!(
        "h17",
        "北京医院",
        "Beijing Hospital",
        General,
        GENERAL,
        9,
        true,
        Bundle,
        "BJ",
        9
    ),
    hospital!(
        "h18",
        "首都医科大学附属北京佑安医院",
        "Beijing Youan Hospital",
        InfectiousDisease,
        &[
            InfectiousDisease,
            Gastroenterology,
            Dermatology,
            Obstetrics,
            General
        ],
        4,
        true,
        Ndjson,
        "YA",
        8
    ),
    hospital!(
        "h19",
        "北京市石景山医院",
        "Beijing Shijingshan Hospital",
        General,
        DISTRICT,
        5,
        true,
        Bundle,
        "SJS",
        7
    ),
    hospital!(
        "h20",
        "首都医科大学附属北京胸科医院",
        "Beijing Chest Hospital",
        Tuberculosis,
        &[Tuberculosis, Respiratory, Oncology],
        3,
        true,
        Ndjson,
        "XK",
        7
    ),
    hospital!(
        "h21",
        "北京大学医院",
        "Peking University Hospital",
        General,
        &[General, Stomatology, Ophthalmology, Dermatology, Emergency],
        2,
        false,
        Bundle,
        "XY",
        6
    ),
    hospital!(
        "h22",
        "首都医科大学附属北京妇产医院",
        "Beijing Obstetrics and Gynecology Hospital",
        Obstetrics,
        &[Obstetrics, Emergency],
        6,
        true,
        Ndjson,
        "FC",
        9
    ),
    hospital!(
        "h23",
        "首都医科大学宣武医院",
        "Xuanwu Hospital",
        Neurology,
        &[
            Neurology,
            Geriatrics,
            Cardiology,
            Surgery,
            Orthopedics,
            Emergency,
            General
        ],
        8,
        true,
        Bundle,
        "XW",
        9
    ),
    hospital!(
        "h24",
        "首都医科大学附属北京友谊医院",
        "Beijing Friendship Hospital",
        General,
        GENERAL,
        9,
        true,
        Ndjson,
        "YY",
        9
    ),
    hospital!(
        "h25",
        "首都医科大学附属北京同仁医院",
        "Beijing Tongren Hospital",
        Ophthalmology,
        &[
            Ophthalmology,
            Otolaryngology,
            Endocrinology,
            Cardiology,
            Emergency,
            General
        ],
        9,
        true,
        Bundle,
        "TR",
        9
    ),
    hospital!(
        "h26",
        "首都医科大学附属北京朝阳医院",
        "Beijing Chaoyang Hospital",
        General,
        GENERAL,
        10,
        true,
        Ndjson,
        "CY",
        9
    ),
    hospital!(
        "h27",
        "北京积水潭医院",
        "Beijing Jishuitan Hospital",
        Orthopedics,
        &[Orthopedics, Surgery, Emergency, General],
        7,
        true,
        Bundle,
        "JST",
        8
    ),
    hospital!(
        "h28",
        "首都医科大学附属北京天坛医院",
        "Beijing Tiantan Hospital",
        Neurology,
        &[Neurology, Surgery, Emergency, Oncology, General],
        8,
        true,
        Ndjson,
        "TT",
        9
    ),
    hospital!(
        "h29",
        "北京小汤山医院",
        "Beijing Xiaotangshan Hospital",
        Geriatrics,
        &[Geriatrics, General, TraditionalChinese, Orthopedics],
        2,
        false,
        Bundle,
        "XTS",
        7
    ),
    hospital!(
        "h30",
        "中国医学科学院阜外医院",
        "Fuwai Hospital",
        Cardiology,
        &[Cardiology, Surgery, Emergency],
        8,
        true,
        Ndjson,
        "FW",
        9
    ),
];

/// A department's code in the national list of clinical departments (诊疗科目), with its
/// Chinese and English names.
pub fn department(s: Speciality) -> (&'static str, &'static str, &'static str) {
    match s {
        General => ("02", "全科医疗科", "General Practice"),
        Cardiology => ("03.04", "心血管内科", "Cardiology"),
        Respiratory => ("03.01", "呼吸内科", "Respiratory Medicine"),
        Gastroenterology => ("03.02", "消化内科", "Gastroenterology"),
        Endocrinology => ("03.07", "内分泌科", "Endocrinology"),
        Nephrology => ("03.06", "肾内科", "Nephrology"),
        Neurology => ("03.03", "神经内科", "Neurology"),
        Geriatrics => ("03.10", "老年病科", "Geriatrics"),
        Surgery => ("04.01", "普通外科", "General Surgery"),
        Orthopedics => ("04.03", "骨科", "Orthopedics"),
        Urology => ("04.04", "泌尿外科", "Urology"),
        Obstetrics => ("05", "妇产科", "Obstetrics and Gynecology"),
        Pediatrics => ("07", "儿科", "Pediatrics"),
        Ophthalmology => ("10", "眼科", "Ophthalmology"),
        Otolaryngology => ("11", "耳鼻咽喉科", "Otolaryngology"),
        Stomatology => ("12", "口腔科", "Stomatology"),
        Dermatology => ("13", "皮肤科", "Dermatology"),
        Psychiatry => ("15", "精神科", "Psychiatry"),
        InfectiousDisease => ("16", "感染疾病科", "Infectious Diseases"),
        Tuberculosis => ("17", "结核病科", "Tuberculosis"),
        Oncology => ("19", "肿瘤科", "Oncology"),
        Emergency => ("20", "急诊医学科", "Emergency Medicine"),
        TraditionalChinese => ("50", "中医科", "Traditional Chinese Medicine"),
    }
}

/// What a hospital's local code system calls an item of a shared table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    Drug,
    Lab,
    Exam,
}

impl Local {
    pub fn name(self) -> &'static str {
        match self {
            Local::Drug => "drug",
            Local::Lab => "lab",
            Local::Exam => "exam",
        }
    }
}

impl Hospital {
    /// Its number, 1 to 30.
    pub fn number(&self) -> usize {
        self.id[1..].parse().expect("hospital ids are h01 to h30")
    }

    /// Its local code for item `index` of a shared table: each hospital numbers the table in
    /// its own order and style, so equal codes at two hospitals rarely mean the same thing.
    pub fn local_code(&self, kind: Local, index: usize) -> String {
        let n = self.number();
        // An affine permutation of the item numbers, different per hospital and kind.
        let a = [7919usize, 104_729, 1_299_709][kind as usize] + 10 * n; // odd and not a multiple of 5: a bijection mod 100,000
        let scrambled = (index * a + n * 131) % 100_000;
        match (n % 3, kind) {
            (0, Local::Drug) => format!("YP{scrambled:05}"),
            (0, Local::Lab) => format!("JY{scrambled:05}"),
            (0, Local::Exam) => format!("JC{scrambled:05}"),
            (1, _) => format!("{}{:06}", ["D", "L", "E"][kind as usize], scrambled),
            _ => format!("{}-{scrambled}", self.id.to_uppercase()),
        }
    }

    /// The system URL of its local codes of a kind.
    pub fn local_system(&self, kind: Local) -> String {
        format!(
            "{}{}/{}",
            terminology::systems::LOCAL_PREFIX,
            self.id,
            kind.name()
        )
    }

    /// Its medical record number system.
    pub fn mrn_system(&self) -> String {
        format!("{}{}", terminology::systems::MRN_PREFIX, self.id)
    }

    pub fn has(&self, s: Speciality) -> bool {
        self.departments.contains(&s)
    }
}

/// Looks a hospital up by id.
pub fn hospital(id: &str) -> Option<&'static Hospital> {
    HOSPITALS.iter().find(|h| h.id == id)
}
