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
