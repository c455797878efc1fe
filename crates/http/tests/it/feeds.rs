//! HL7 v2 messages mapped to transaction Bundles run through the service as one
//! transaction each; the same message twice writes nothing the second time.

use super::{app, block_on, send};
use expect_test::expect;

const ORU: &str = "MSH|^~\\&|LIS|H02|YILIAN|REGION|20261201101500||ORU^R01^ORU_R01|LAB778|P|2.4\r\
PID|1||H02-555^^^H02^MR||李^娜||19920315|F\r\
OBR|1|ORD1|F9001|58410-2^血常规^LN|||20261201093000|||||||||||||||20261201101000|||F\r\
OBX|1|NM|6690-2^白细胞计数^LN||11.2|10*9/L|3.5-9.5|H|||F\r\
OBX|2|NM|789-8^红细胞计数^LN||4.5|10*12/L|3.8-5.1|N|||F\r";

#[test]
fn a_result_message_lands_once() {
    let out = block_on(async {
        let app = app();
        let m = hl7::Message::parse(ORU).expect("parses");
        let bundle = hl7::map::to_bundle(&m, "h02").expect("maps");
        let post = format!("POST /\ncontent-type: application/fhir+json\n\n{bundle}");
        let mut out = Vec::new();
        for attempt in ["first", "again"] {
            let (status, _, body) = send(&app, &post).await;
            let statuses: Vec<&str> = body["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["response"]["status"].as_str())
                .collect();
            out.push(format!("{attempt}: {status} {statuses:?}"));
        }
        for t in ["Patient", "Observation", "DiagnosticReport"] {
            let (_, _, b) = send(&app, &format!("GET /{t}?_summary=count")).await;
            out.push(format!("{t}: {}", b["total"]));
        }
        let (_, _, b) = send(&app, "GET /DiagnosticReport").await;
        let report = &b["entry"][0]["resource"];
        out.push(format!(
            "the report's results: {:?}; subject {}",
            report["result"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["reference"].as_str())
                .map(|r| r.split('/').next().unwrap_or("?"))
                .collect::<Vec<_>>(),
            report["subject"]["reference"]
                .as_str()
                .map(|r| r.starts_with("Patient/"))
                .unwrap_or(false)
        ));
        out.join("\n")
    });
    expect![[r#"
        first: 200 ["201 Created", "201 Created", "201 Created", "201 Created"]
        again: 200 ["200 OK", "200 OK", "200 OK", "200 OK"]
        Patient: 1
        Observation: 2
        DiagnosticReport: 1
        the report's results: ["Observation", "Observation"]; subject true
    "#]]
    .assert_eq(&(out + "\n"));
}
