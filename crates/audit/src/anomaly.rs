//! The regulator's anomaly reports, as a pure function over audit records: access without a
//! treatment relationship, many patients in a short time, access after hours, and access to
//! the records of staff. Each anomaly names the record that shows it, so a review can be
//! filed against that record.

use crate::record::{Outcome, Record, flag};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The region's thresholds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The region's offset from UTC, in minutes (China: +480).
    pub utc_offset_minutes: i64,
    /// Working hours, local: access outside `[start, end)` is after hours.
    pub work_start_hour: i64,
    pub work_end_hour: i64,
    /// More than this many distinct patients by one agent within `burst_minutes`.
    pub burst_patients: usize,
    pub burst_minutes: i64,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            utc_offset_minutes: 8 * 60,
            work_start_hour: 7,
            work_end_hour: 20,
            burst_patients: 30,
            burst_minutes: 60,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    NoRelationship,
    Burst,
    AfterHours,
    Staff,
}

impl AnomalyKind {
    pub fn code(self) -> &'static str {
        match self {
            AnomalyKind::NoRelationship => "no-relationship",
            AnomalyKind::Burst => "many-patients",
            AnomalyKind::AfterHours => "after-hours",
            AnomalyKind::Staff => "staff-record",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The record's position in the log (for a burst, the access that crossed the line).
    pub position: u64,
    pub at: i64,
    pub agent: String,
    pub organization: Option<String>,
    pub patient: Option<String>,
    /// For a burst: how many patients, in how many minutes.
    pub detail: Option<String>,
}

/// An agent's accesses within the burst window: (time, patient).
type Recent<'a> = VecDeque<(i64, &'a str)>;

/// The anomalies among `records` (position, record), in position order. Only successful
/// accesses count; emergency-purpose access is not after hours.
pub fn detect(records: &[(u64, Record)], rules: &Rules) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let found = |kind, position: u64, r: &Record, detail| Anomaly {
        kind,
        position,
        at: r.at,
        agent: r.agent.clone(),
        organization: r.organization.clone(),
        patient: r.patient.clone(),
        detail,
    };
    // Per agent: the recent accesses, and whether a burst is open.
    let mut recent: HashMap<&str, (Recent, bool)> = HashMap::new();
    let window = rules.burst_minutes * 60_000;
    for (position, r) in records {
        if !r.action.is_access() || r.outcome != Outcome::Success {
            continue;
        }
        if r.flags & (flag::NO_RELATIONSHIP | flag::BREAK_GLASS) != 0 {
            out.push(found(AnomalyKind::NoRelationship, *position, r, None));
        }
        if r.flags & flag::STAFF != 0 {
            out.push(found(AnomalyKind::Staff, *position, r, None));
        }
        let local_minutes = (r.at.div_euclid(60_000) + rules.utc_offset_minutes).rem_euclid(1440);
        let hour = local_minutes / 60;
        let emergency = r.purpose.as_deref() == Some("ETREAT");
        if !emergency && !(rules.work_start_hour..rules.work_end_hour).contains(&hour) {
            out.push(found(AnomalyKind::AfterHours, *position, r, None));
        }
        let Some(patient) = r.patient.as_deref() else {
            continue;
        };
        let (queue, open) = recent.entry(r.agent.as_str()).or_default();
        queue.push_back((r.at, patient));
        while queue.front().is_some_and(|(t, _)| *t <= r.at - window) {
            queue.pop_front();
        }
        let mut distinct: Vec<&str> = queue.iter().map(|(_, p)| *p).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > rules.burst_patients {
            if !*open {
                *open = true;
                out.push(found(
                    AnomalyKind::Burst,
                    *position,
                    r,
                    Some(format!(
                        "{} patients within {} minutes",
                        distinct.len(),
                        rules.burst_minutes
                    )),
                ));
            }
        } else {
            *open = false;
        }
    }
    out
}

/// Counts of anomalies per kind, for the regulator's summary.
pub fn summarize(found: &[Anomaly]) -> BTreeMap<AnomalyKind, usize> {
    let mut counts = BTreeMap::new();
    for a in found {
        *counts.entry(a.kind).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Action;

    /// 2026-12-01 00:00 UTC, 08:00 in Beijing.
    const DAY: i64 = 1_796_083_200_000;
    const MINUTE: i64 = 60_000;

    fn access(minute: i64, agent: &str, patient: &str) -> Record {
        let mut r = Record::new(
            DAY + minute * MINUTE,
            Action::Shared,
            Outcome::Success,
            agent,
        );
        r.organization = Some("Organization/h1".into());
        r.patient = Some(patient.into());
        r.purpose = Some("TREAT".into());
        r
    }

    fn show(records: Vec<Record>, rules: &Rules) -> String {
        let numbered: Vec<(u64, Record)> = records
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as u64, r))
            .collect();
        detect(&numbered, rules)
            .iter()
            .map(|a| {
                format!(
                    "{} at {} by {} {}\n",
                    a.kind.code(),
                    a.position,
                    a.agent,
                    a.detail.clone().unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn each_rule_fires_on_its_case_and_not_beside_it() {
        let rules = Rules {
            burst_patients: 3,
            burst_minutes: 10,
            ..Rules::default()
        };
        let mut glass = access(60, "Practitioner/d1", "Patient/p1");
        glass.flags = flag::BREAK_GLASS | flag::NO_RELATIONSHIP;
        let mut staff = access(61, "Practitioner/d1", "Patient/p2");
        staff.flags = flag::STAFF;
        let mut refused = access(62, "Practitioner/d1", "Patient/p3");
        refused.outcome = Outcome::Refused;
        refused.flags = flag::STAFF;
        let mut emergency_at_night = access(14 * 60, "Practitioner/d2", "Patient/p4");
        emergency_at_night.purpose = Some("ETREAT".into());
        let records = vec![
            glass,
            staff,
            refused,
            // 22:00 in Beijing: after hours; an emergency at the same hour is not.
            access(14 * 60, "Practitioner/d2", "Patient/p4"),
            emergency_at_night,
            // Four patients within ten minutes by d3 (one burst, reported once), then a
            // fifth after the window has moved on.
            access(120, "Practitioner/d3", "Patient/a"),
            access(121, "Practitioner/d3", "Patient/b"),
            access(122, "Practitioner/d3", "Patient/a"),
            access(123, "Practitioner/d3", "Patient/c"),
            access(124, "Practitioner/d3", "Patient/d"),
            access(125, "Practitioner/d3", "Patient/e"),
            access(200, "Practitioner/d3", "Patient/f"),
            // Three patients by d4 is not more than three.
            access(300, "Practitioner/d4", "Patient/a"),
            access(301, "Practitioner/d4", "Patient/b"),
            access(302, "Practitioner/d4", "Patient/c"),
        ];
        expect_test::expect![[r#"
            no-relationship at 0 by Practitioner/d1 
            staff-record at 1 by Practitioner/d1 
            after-hours at 3 by Practitioner/d2 
            many-patients at 9 by Practitioner/d3 4 patients within 10 minutes
        "#]]
        .assert_eq(&show(records, &rules));
    }
}
