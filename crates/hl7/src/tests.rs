//! The grammar on messages as hospitals send them, a corpus of malformed ones with the
//! error each gets, acknowledgements, and MLLP framing.

use crate::ack::{Ack, AckCode, Answering, ErrorCode, Problem};
use crate::message::{Delimiters, Message, escape, unescape};
use crate::mllp::{Decoder, Frame, frame};
use expect_test::{Expect, expect};

const ADT_A01: &str = "MSH|^~\\&|HIS|H01|YILIAN|REGION|20261201083000||ADT^A01^ADT_A01|MSG00001|P|2.5.1|||AL|NE||UNICODE UTF-8\r\
EVN|A01|20261201083000\r\
PID|1||H01-000123^^^H01^MR~110105198001010016^^^^NI||王^伟^^^^^L~WANG^WEI^^^^^A||19800101|M|||朝阳路1号^^北京^^100020||13800138000\r\
PV1|1|O|心内科^^^H01||||D001^李^明|||CAR\r\
ZPI|custom|not interpreted\r";

#[track_caller]
fn check_parse(text: &str, expect: Expect) {
    let shown = match Message::parse(text) {
        Ok(m) => {
            let (kind, trigger) = m.kind();
            format!(
                "ok {kind}^{trigger} control={} version={} segments={}",
                m.control_id(),
                m.version(),
                m.segments
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        Err(e) => format!("error: {e}"),
    };
    expect.assert_eq(&shown);
}

#[test]
fn a_message_reads_field_by_field() {
    let m = Message::parse(ADT_A01).expect("parses");
    let d = &m.delimiters;
    let pid = m.segment("PID").expect("PID");
    let ids: Vec<String> = (0..pid.repetitions(d, 3).len())
        .map(|r| {
            format!(
                "{}@{}",
                pid.component(d, 3, r, 1),
                pid.component(d, 3, r, 5)
            )
        })
        .collect();
    let out = format!(
        "type {:?}\nids {ids:?}\nname {}{} / {} {}\nbirth {} sex {}\naddress {}\nward {} doctor {}\nZPI-2 {}\nmissing [{}]",
        m.kind(),
        pid.component(d, 5, 0, 1),
        pid.component(d, 5, 0, 2),
        pid.component(d, 5, 1, 1),
        pid.component(d, 5, 1, 2),
        m.get("PID", 7),
        m.get("PID", 8),
        pid.component(d, 11, 0, 1),
        m.segment("PV1").expect("PV1").component(d, 3, 0, 1),
        m.segment("PV1").expect("PV1").component(d, 7, 0, 2),
        m.get("ZPI", 2),
        m.get("PID", 30),
    );
    expect![[r#"
        type ("ADT", "A01")
        ids ["H01-000123@MR", "110105198001010016@NI"]
        name 王伟 / WANG WEI
        birth 19800101 sex M
        address 朝阳路1号
        ward 心内科 doctor 李
        ZPI-2 not interpreted
        missing []"#]]
    .assert_eq(&out);
}

#[test]
fn the_message_declares_its_own_delimiters_and_escapes() {
    let text = "MSH#*@!%#HIS#H01###20261201##ORU*R01#M2#P#2.3\nOBX#1#NM#GLU**LN##5.6@6.1#mmol%L\r\nNTE#1##a!E!b!F!c!S!d!T!e!R!f!X41E4B8AD!!.br!end!Q!";
    let m = Message::parse(text).expect("parses with #*@!% and \\n line ends");
    let d = m.delimiters;
    let obx = m.segment("OBX").expect("OBX");
    let out = format!(
        "{:?}\nOBX-5 reps {:?}\nOBX-6 subcomponents {:?}\nNTE-3 {:?}",
        d,
        obx.repetitions(&d, 5),
        obx.subcomponents(&d, 6, 0, 1),
        m.get("NTE", 3),
    );
    expect![[r#"
        Delimiters { field: '#', component: '*', repetition: '@', escape: '!', subcomponent: '%' }
        OBX-5 reps ["5.6", "6.1"]
        OBX-6 subcomponents ["mmol", "L"]
        NTE-3 "a!b#c*d%e@fA中\nend!Q!""#]]
    .assert_eq(&out);
}

#[test]
fn escaping_round_trips() {
    let d = Delimiters::default();
    for s in ["a|b^c&d~e\\f", "plain", "line\nbreak", "王伟|2"] {
        let e = escape(&d, s);
        assert!(!e.contains('|') && !e.contains('^') && !e.contains('&') && !e.contains('~'));
        assert_eq!(unescape(&d, &e), s.replace('\r', "\n"));
    }
}

#[test]
fn malformed_messages_are_named() {
    check_parse(
        ADT_A01,
        expect!["ok ADT^A01 control=MSG00001 version=2.5.1 segments=MSH,EVN,PID,PV1,ZPI"],
    );
    check_parse(
        "",
        expect!["error: segment 1 (?): a message starts with an MSH segment"],
    );
    check_parse(
        "PID|1||123\r",
        expect!["error: segment 1 (?): a message starts with an MSH segment"],
    );
    check_parse(
        "MSH",
        expect!["error: segment 1 (MSH), field 1: the field separator is missing"],
    );
    check_parse(
        "MSH|^~|HIS|H01\r",
        expect![
            "error: segment 1 (MSH), field 2: the encoding characters are four (component, repetition, escape, subcomponent)"
        ],
    );
    check_parse(
        "MSH|^^\\&|HIS|H01\r",
        expect!["error: segment 1 (MSH), field 2: the delimiters must be distinct punctuation"],
    );
    check_parse(
        "MSH|^~\\&|HIS|H01|||20261201||ADT^A01||P|2.5\r",
        expect!["error: segment 1 (MSH), field 10: the message control id (MSH-10) is required"],
    );
    check_parse(
        "MSH|^~\\&|HIS|H01|||20261201||ADT^A01|M1|P|\r",
        expect!["error: segment 1 (MSH), field 12: the version (MSH-12) is required"],
    );
    check_parse(
        "MSH|^~\\&|HIS|H01|||20261201||ADT^A01|M1|P|2.5\rpid|1\r",
        expect!["error: segment 2 (?): a segment id is three upper-case letters or digits"],
    );
    check_parse(
        "MSH|^~\\&|HIS|H01|||20261201||ADT^A01|M1|P|2.5\rPID^1\r",
        expect!["error: segment 2 (PID): the segment id is not followed by the field separator |"],
    );
    check_parse(
        "MSH|^~\\&|HIS|H01|||20261201||ADT^A01|M1|P|2.5\r\r\nPID\r",
        expect!["ok ADT^A01 control=M1 version=2.5 segments=MSH,PID"],
    );
}

#[test]
fn acknowledgements_name_segment_field_and_reason() {
    let m = Message::parse(ADT_A01).expect("parses");
    let to = Answering::of(&m);
    let d = Delimiters::default();
    let accept = Ack::accept().render(&to, &d, "ACK00001", "20261201083001");
    let refuse = Ack {
        code: AckCode::Error,
        problems: vec![
            Problem {
                segment: "PID".into(),
                sequence: 1,
                field: Some(7),
                code: ErrorCode::DataTypeError,
                message: "PID-7 is not a date (YYYYMMDD)".into(),
            },
            Problem {
                segment: "PV1".into(),
                sequence: 1,
                field: Some(3),
                code: ErrorCode::TableValueNotFound,
                message: "PV1-3 names no ward of H01 | unmapped".into(),
            },
        ],
    }
    .render(&to, &d, "ACK00002", "20261201083001");
    let show = |s: &str| s.replace('\r', "\n");
    expect![[r#"
        MSH|^~\&|YILIAN|YILIAN|HIS|H01|20261201083001||ACK^A01^ACK|ACK00001|P|2.5.1
        MSA|AA|MSG00001|
        ---
        MSH|^~\&|YILIAN|YILIAN|HIS|H01|20261201083001||ACK^A01^ACK|ACK00002|P|2.5.1
        MSA|AE|MSG00001|PID-7 is not a date (YYYYMMDD)
        ERR||PID^1^7|102^Data type error^HL70357|E||||PID-7 is not a date (YYYYMMDD)
        ERR||PV1^1^3|103^Table value not found^HL70357|E||||PV1-3 names no ward of H01 \F\ unmapped
    "#]]
    .assert_eq(&format!("{}---\n{}", show(&accept), show(&refuse)));
    // The ACK parses as a message itself.
    let parsed = Message::parse(&refuse).expect("an ACK is a message");
    assert_eq!(parsed.get("MSA", 1), "AE");
    assert_eq!(parsed.get("MSA", 2), "MSG00001");
    assert_eq!(parsed.all("ERR").count(), 2);
}

#[test]
fn mllp_frames_arrive_in_pieces() {
    let mut bytes = b"noise".to_vec();
    bytes.extend(frame(b"MSH|first"));
    bytes.extend(frame(b"MSH|second"));
    bytes.extend(&frame(b"MSH|third")[..6]);
    let mut d = Decoder::new(1 << 20);
    let mut got = Vec::new();
    for chunk in bytes.chunks(3) {
        got.extend(d.push(chunk).expect("within the limit"));
    }
    got.extend(d.push(&frame(b"MSH|third")[6..]).expect("within the limit"));
    let shown: Vec<String> = got
        .iter()
        .map(|f| match f {
            Frame::Message(m) => String::from_utf8_lossy(m).into_owned(),
            Frame::Garbage(n) => format!("<{n} bytes of garbage>"),
        })
        .collect();
    expect![[r#"
        <3 bytes of garbage>
        <2 bytes of garbage>
        MSH|first
        MSH|second
        MSH|third"#]]
    .assert_eq(&shown.join("\n"));
    let mut small = Decoder::new(10);
    assert!(small.push(&[0x0b; 20]).is_err());
}

const ORU_R01: &str = "MSH|^~\\&|LIS|H02|YILIAN|REGION|20261201101500||ORU^R01^ORU_R01|LAB778|P|2.4\r\
PID|1||H02-555^^^H02^MR||李^娜||19920315|F\r\
OBR|1|ORD1|F9001|58410-2^血常规^LN|||20261201093000|||||||||||||||20261201101000|||F\r\
OBX|1|NM|6690-2^白细胞计数^LN||11.2|10*9/L|3.5-9.5|H|||F|||20261201093000\r\
OBX|2|NM|789-8^红细胞计数^LN||4.5|10*12/L|3.8-5.1|N|||F\r\
OBX|3|ST|HB-NOTE^备注^L||轻度升高\\.br\\复查||||||F\r";

/// The Bundle a message maps to, entry by entry, or the problems.
fn mapped(text: &str) -> String {
    let m = Message::parse(text).expect("parses");
    match crate::map::to_bundle(&m, "h02") {
        Ok(bundle) => bundle["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| {
                let issues = fhir::validate::validate(&e["resource"]);
                assert!(
                    !issues.iter().any(|i| matches!(
                        i.severity,
                        fhir::Severity::Error | fhir::Severity::Fatal
                    )),
                    "valid R4: {}",
                    fhir::outcome::render(&issues)
                );
                format!(
                    "PUT {}\n  {}\n",
                    e["request"]["url"].as_str().unwrap_or("?"),
                    e["resource"]
                )
            })
            .collect(),
        Err(problems) => problems
            .iter()
            .map(|p| {
                format!(
                    "{}-{} seq {}: {} ({})\n",
                    p.segment,
                    p.field.map(|f| f.to_string()).unwrap_or_default(),
                    p.sequence,
                    p.message,
                    p.code.code().0
                )
            })
            .collect(),
    }
}

#[test]
fn admissions_and_results_map_to_fhir() {
    let a01 = ADT_A01.replace(
        "PV1|1|O|心内科^^^H01||||D001^李^明|||CAR\r",
        "PV1|1|I|心内科^301^2||||D001^李^明|||CAR|||||||||V778|||||||||||||||||||||||||20261201080000\r",
    );
    expect![[r#"
        PUT Patient?identifier=https://yilian.health/fhir/sid/mrn/h02|H01-000123
          {"resourceType":"Patient","identifier":[{"use":"usual","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"https://yilian.health/fhir/sid/mrn/h02","value":"H01-000123","assigner":{"reference":"Organization/h02"}},{"use":"official","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NI"}]},"system":"urn:oid:2.16.156.10011.1.3","value":"110105198001010016"}],"managingOrganization":{"reference":"Organization/h02"},"name":[{"use":"official","text":"王伟","family":"王","given":["伟"]},{"use":"usual","text":"WEI WANG","family":"WANG","given":["WEI"]}],"birthDate":"1980-01-01","gender":"male","address":[{"use":"home","line":["朝阳路1号"],"city":"北京","postalCode":"100020"}],"telecom":[{"system":"phone","value":"13800138000"}]}
        PUT Encounter?identifier=https://yilian.health/fhir/CodeSystem/local/h02/visit|V778
          {"resourceType":"Encounter","status":"in-progress","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/visit","value":"V778"}],"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP","display":"inpatient encounter"},"serviceProvider":{"reference":"Organization/h02"},"period":{"start":"2026-12-01T08:00:00+08:00"},"location":[{"location":{"display":"心内科"}}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
    "#]].assert_eq(&mapped(&a01));
    expect![[r#"
        PUT Patient
          {"resourceType":"Patient","identifier":[{"use":"usual","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"https://yilian.health/fhir/sid/mrn/h02","value":"H02-555","assigner":{"reference":"Organization/h02"}}],"managingOrganization":{"reference":"Organization/h02"},"name":[{"use":"official","text":"李娜","family":"李","given":["娜"]}],"birthDate":"1992-03-15","gender":"female"}
        PUT Observation?identifier=https://yilian.health/fhir/CodeSystem/local/h02/result|F9001-1
          {"resourceType":"Observation","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/result","value":"F9001-1"}],"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"6690-2","display":"白细胞计数"}],"text":"白细胞计数"},"valueQuantity":{"value":11.2,"unit":"10*9/L","system":"http://unitsofmeasure.org","code":"10*9/L"},"referenceRange":[{"low":{"value":3.5},"high":{"value":9.5}}],"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}],"effectiveDateTime":"2026-12-01T09:30:00+08:00","subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT Observation?identifier=https://yilian.health/fhir/CodeSystem/local/h02/result|F9001-2
          {"resourceType":"Observation","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/result","value":"F9001-2"}],"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"789-8","display":"红细胞计数"}],"text":"红细胞计数"},"valueQuantity":{"value":4.5,"unit":"10*12/L","system":"http://unitsofmeasure.org","code":"10*12/L"},"referenceRange":[{"low":{"value":3.8},"high":{"value":5.1}}],"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}],"effectiveDateTime":"2026-12-01T09:30:00+08:00","subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT Observation?identifier=https://yilian.health/fhir/CodeSystem/local/h02/result|F9001-3
          {"resourceType":"Observation","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/result","value":"F9001-3"}],"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/lab","code":"HB-NOTE","display":"备注"}],"text":"备注"},"valueString":"轻度升高\n复查","effectiveDateTime":"2026-12-01T09:30:00+08:00","subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT DiagnosticReport?identifier=https://yilian.health/fhir/CodeSystem/local/h02/report|F9001
          {"resourceType":"DiagnosticReport","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/report","value":"F9001"}],"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"58410-2","display":"血常规"}],"text":"血常规"},"performer":[{"reference":"Organization/h02"}],"result":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000001000"},{"reference":"urn:uuid:00000000-0000-4000-8000-000000001001"},{"reference":"urn:uuid:00000000-0000-4000-8000-000000001002"}],"effectiveDateTime":"2026-12-01T09:30:00+08:00","subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
    "#]].assert_eq(&mapped(ORU_R01));
}

#[test]
fn what_cannot_be_mapped_is_named() {
    let bad_pid = ADT_A01.replace("|19800101|M|", "|19801301|X|");
    expect![[r#"
        PID-7 seq 1: PID-7 is not a date (YYYYMMDD) (102)
        PID-8 seq 1: PID-8 is not an administrative sex of table 0001 (M, F, O, U, A, N) (103)
        PV1-19 seq 1: PV1-19 (visit number) names the visit (101)
    "#]]
    .assert_eq(&mapped(&bad_pid));
    let no_mrn = ADT_A01.replace("H01-000123^^^H01^MR~", "");
    expect![[r#"
        PID-3 seq 1: PID-3 carries no medical record number (type MR) (101)
        PV1-19 seq 1: PV1-19 (visit number) names the visit (101)
    "#]]
    .assert_eq(&mapped(&no_mrn.replace("~110105198001010016^^^^NI", "")));
    let orphan = ORU_R01.replace(
        "OBR|1|ORD1|F9001|58410-2^血常规^LN|||20261201093000|||||||||||||||20261201101000|||F\r",
        "",
    );
    expect![[r#"
        OBX- seq 1: an OBX comes before any OBR (100)
        OBX- seq 2: an OBX comes before any OBR (100)
        OBX- seq 3: an OBX comes before any OBR (100)
    "#]]
    .assert_eq(&mapped(&orphan));
    expect![[r#"
        OBX-5 seq 1: OBX-5 is not a number, as OBX-2 (NM) says (102)
    "#]]
    .assert_eq(&mapped(&ORU_R01.replace("||11.2|", "||11,2|")));
    expect![[r#"
        MSH-9 seq 1: ADT^A99 is not taken here (201)
    "#]]
    .assert_eq(&mapped(&ADT_A01.replace("ADT^A01^ADT_A01", "ADT^A99")));
    expect![[r#"
        MSH-9 seq 1: SIU^S12 is not taken here (200)
    "#]]
    .assert_eq(&mapped(&ADT_A01.replace("ADT^A01^ADT_A01", "SIU^S12")));
}

const PID_H02: &str = "PID|1||H02-555^^^H02^MR||李^娜||19920315|F\r";

#[test]
fn orders_prescriptions_dispenses_and_documents_map_to_fhir() {
    let head = |kind: &str| {
        format!("MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||{kind}|C1|P|2.5.1\r{PID_H02}")
    };
    // OBR-24 (diagnostic service section) CT: an imaging order.
    let orm = head("ORM^O01^ORM_O01")
        + "ORC|NW|P100|F100||||||20261201100000|||D001^张^三\r"
        + &format!(
            "OBR|1|P100|F100|CT-HEAD^头颅CT平扫^L|S{}CT\r",
            "|".repeat(19)
        );
    let oml = head("OML^O21^OML_O21") + "ORC|CA|P200\rOBR|1|P200||58410-2^血常规^LN\r";
    let rde = head("RDE^O11^RDE_O11")
        + "ORC|NW|RX300|||||||20261201100000|||D001^张^三\r\
           RXE|^BID^D7|YL0012^阿莫西林胶囊^YL|0.5||g|||||28|粒||||||||||每日两次，饭后\r\
           RXR|PO^口服^HL70162\r";
    let rds = head("RDS^O13^RDS_O13")
        + "ORC|RE|RX300\rRXD|1|YL0012^阿莫西林胶囊^YL|20261201103000|28|粒||RX300\r";
    let mdm = head("MDM^T02^MDM_T02")
        + "TXA|1|DS^出院小结^L|TX|20261201100000|||||D001^张^三|||DOC9|||||IP\r\
           OBX|1|TX|||入院诊断：社区获得性肺炎\rOBX|2|TX|||出院医嘱：继续口服抗生素3天\r";
    let all: String = [orm, oml, rde, rds, mdm]
        .iter()
        .map(|m| {
            mapped(m)
                .lines()
                .filter(|l| !l.contains("\"Patient\"") && !l.starts_with("PUT Patient"))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        })
        .collect();
    expect![[r#"
        PUT ServiceRequest?identifier=https://yilian.health/fhir/CodeSystem/local/h02/order|F100
          {"resourceType":"ServiceRequest","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/order","value":"F100"}],"status":"active","intent":"order","category":[{"coding":[{"system":"http://snomed.info/sct","code":"363679005","display":"Imaging"}]}],"code":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/exam","code":"CT-HEAD","display":"头颅CT平扫"}],"text":"头颅CT平扫"},"authoredOn":"2026-12-01T10:00:00+08:00","requester":{"identifier":{"system":"https://yilian.health/fhir/CodeSystem/local/h02/staff","value":"D001"},"display":"张三"},"priority":"stat","subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT ServiceRequest?identifier=https://yilian.health/fhir/CodeSystem/local/h02/order|P200
          {"resourceType":"ServiceRequest","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/order","value":"P200"}],"status":"revoked","intent":"order","category":[{"coding":[{"system":"http://snomed.info/sct","code":"108252007","display":"Laboratory procedure"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"58410-2","display":"血常规"}],"text":"血常规"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT MedicationRequest?identifier=https://yilian.health/fhir/CodeSystem/local/h02/prescription|RX300
          {"resourceType":"MedicationRequest","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/prescription","value":"RX300"}],"status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/drug","code":"YL0012","display":"阿莫西林胶囊"}],"text":"阿莫西林胶囊"},"authoredOn":"2026-12-01T10:00:00+08:00","requester":{"identifier":{"system":"https://yilian.health/fhir/CodeSystem/local/h02/staff","value":"D001"},"display":"张三"},"dosageInstruction":[{"text":"每日两次，饭后","doseAndRate":[{"doseQuantity":{"value":0.5,"unit":"g"}}],"route":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/route","code":"PO","display":"口服"}],"text":"口服"}}],"dispenseRequest":{"quantity":{"value":28,"unit":"粒"},"expectedSupplyDuration":{"value":7,"unit":"days","system":"http://unitsofmeasure.org","code":"d"}},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT MedicationDispense?identifier=https://yilian.health/fhir/CodeSystem/local/h02/dispense|RX300-1
          {"resourceType":"MedicationDispense","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/dispense","value":"RX300-1"}],"status":"completed","medicationCodeableConcept":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/drug","code":"YL0012","display":"阿莫西林胶囊"}],"text":"阿莫西林胶囊"},"whenHandedOver":"2026-12-01T10:30:00+08:00","performer":[{"actor":{"reference":"Organization/h02"}}],"quantity":{"value":28,"unit":"粒"},"authorizingPrescription":[{"identifier":{"system":"https://yilian.health/fhir/CodeSystem/local/h02/prescription","value":"RX300"}}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
        PUT DocumentReference?identifier=https://yilian.health/fhir/CodeSystem/local/h02/document|DOC9
          {"resourceType":"DocumentReference","identifier":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/document","value":"DOC9"}],"status":"current","content":[{"attachment":{"contentType":"text/plain; charset=utf-8","data":"5YWl6Zmi6K+K5pat77ya56S+5Yy66I635b6X5oCn6IK654KOCuWHuumZouWMu+WYse+8mue7p+e7reWPo+acjeaKl+eUn+e0oDPlpKk="}}],"custodian":{"reference":"Organization/h02"},"description":"出院小结","type":{"coding":[{"system":"https://yilian.health/fhir/CodeSystem/local/h02/document-type","code":"DS","display":"出院小结"}],"text":"出院小结"},"docStatus":"preliminary","date":"2026-12-01T10:00:00+08:00","author":[{"identifier":{"system":"https://yilian.health/fhir/CodeSystem/local/h02/staff","value":"D001"},"display":"张三"}],"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}}
    "#]].assert_eq(&all);
}

#[test]
fn merges_and_malformed_orders_are_named() {
    let a40 = format!(
        "MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||ADT^A40^ADT_A39|C2|P|2.5.1\r{PID_H02}MRG|H02-554^^^H02^MR\r"
    );
    let m = Message::parse(&a40).expect("parses");
    expect![[r#"
        Some("Patient?identifier=https://yilian.health/fhir/sid/mrn/h02|H02-554")
    "#]]
    .assert_eq(&format!("{:?}\n", crate::map::merged_away(&m, "h02")));
    let no_mrg = a40.replace("MRG|H02-554^^^H02^MR\r", "");
    let no_drug = format!(
        "MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||RDE^O11|C3|P|2.5.1\r{PID_H02}ORC|NW|RX1\rRXE|^BID^D7\r"
    );
    let no_time = format!(
        "MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||RDS^O13|C4|P|2.5.1\r{PID_H02}ORC|RE|RX1\rRXD|1|YL0012^阿莫西林^YL|yesterday\r"
    );
    let empty_doc = format!(
        "MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||MDM^T02|C5|P|2.5.1\r{PID_H02}TXA|1|DS^出院小结^L|TX|||||||||DOC1\r"
    );
    let no_order = format!(
        "MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||ORM^O01|C6|P|2.5.1\r{PID_H02}ORC|NW\rOBR|1|||CT-HEAD^头颅CT^L\r"
    );
    let all: String = [no_mrg, no_drug, no_time, empty_doc, no_order]
        .iter()
        .map(|m| mapped(m))
        .collect();
    expect![[r#"
        MRG-1 seq 1: MRG-1 names the record number merged away (101)
        RXE-2 seq 1: RXE-2 (give code) names the drug (101)
        RXD-3 seq 1: RXD-3 (date/time dispensed) is required, as a timestamp (102)
        OBX-5 seq 1: MDM^T02 carries the document's content in OBX-5 (101)
        OBR-2 seq 1: OBR-2 or ORC-2 (placer order number) names the order (101)
    "#]]
    .assert_eq(&all);
}
