//! Persons as the platform remembers them: which registrations (Patients) each person links,
//! how each link was made (automatically with a score and model version, or by a person),
//! and the decisions that shaped them. Person ids are persistent: a merge keeps the target's
//! id and leaves the source inactive, pointing at it, with its former links kept so that an
//! unmerge can restore them; an unlink gives the registration a new person and remembers
//! that the two persons are distinct, so automatic linking never joins them again.
//!
//! Pure: every operation returns the persons it changed, for the caller to store (as FHIR
//! Person resources) in the same breath as the decision's audit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Linked by the matcher.
    Auto,
    /// Linked by a person's decision.
    Manual,
}

/// One registration linked to a person.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// `Patient/{id}`.
    pub patient: String,
    pub method: Method,
    /// The match probability that made an automatic link (none for the first registration
    /// of a person and for manual links).
    pub score: Option<f64>,
    /// The model version (automatic) or who decided (manual).
    pub by: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Person {
    pub id: String,
    pub links: Vec<Link>,
    /// False once merged into another person.
    pub active: bool,
    pub merged_into: Option<String>,
    /// The links this person had when it was merged away (restored by an unmerge).
    pub former: Vec<Link>,
    /// Persons decided not to be this one.
    pub distinct: BTreeSet<String>,
}

/// Why an operation was refused. Messages name ids, never demographics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    UnknownPatient(String),
    UnknownPerson(String),
    /// The person was merged away; act on the one it was merged into.
    Inactive(String),
    /// A decision said these persons are distinct.
    DecidedDistinct,
    NotMerged(String),
    SamePerson,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::UnknownPatient(p) => write!(f, "{p} is not in the patient index"),
            Refused::UnknownPerson(p) => write!(f, "Person/{p} does not exist"),
            Refused::Inactive(p) => write!(f, "Person/{p} was merged into another person"),
            Refused::DecidedDistinct => {
                write!(
                    f,
                    "a decision says these are different people; unmerge or undo it first"
                )
            }
            Refused::NotMerged(p) => write!(f, "Person/{p} is not merged into another person"),
            Refused::SamePerson => write!(f, "both are already the same person"),
        }
    }
}

/// What an automatic assignment asks a person to look at: the registration linked to
/// more than one person, and the persons it was not linked to.
#[derive(Clone, Debug, PartialEq)]
pub struct Assigned {
    pub person: String,
    /// Persons (besides `person`) the registration also linked to: a bridge, for review.
    pub also: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Registry {
    persons: BTreeMap<String, Person>,
    person_of: HashMap<String, String>,
}

impl Registry {
    /// Rebuilds from stored persons (in any order).
    pub fn from_persons(persons: impl IntoIterator<Item = Person>) -> Registry {
        let mut r = Registry::default();
        for p in persons {
            if p.active {
                for l in &p.links {
                    r.person_of.insert(l.patient.clone(), p.id.clone());
                }
            }
            r.persons.insert(p.id.clone(), p);
        }
        r
    }

    pub fn person(&self, id: &str) -> Option<&Person> {
        self.persons.get(id)
    }

    /// The active person a registration belongs to.
    pub fn person_of(&self, patient: &str) -> Option<&Person> {
        self.persons.get(self.person_of.get(patient)?)
    }

    /// Follows merges to the person that now stands for `id`.
    pub fn current(&self, id: &str) -> Option<&Person> {
        let mut p = self.persons.get(id)?;
        for _ in 0..self.persons.len() {
            match &p.merged_into {
                Some(next) if !p.active => p = self.persons.get(next)?,
                _ => return Some(p),
            }
        }
        None
    }

    pub fn len(&self) -> usize {
        self.persons.values().filter(|p| p.active).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Assigns a registration that has no person yet: to the person of its strongest
    /// automatic link (`links`: linked registrations with their scores, best first), or to a
    /// new person `new_id`. Persons it also links to are returned for review, never merged
    /// automatically. A registration that already has a person keeps it.
    pub fn assign(
        &mut self,
        patient: &str,
        links: &[(String, f64)],
        model: &str,
        new_id: impl FnOnce() -> String,
        changed: &mut Vec<String>,
    ) -> Assigned {
        if let Some(p) = self.person_of.get(patient) {
            return Assigned {
                person: p.clone(),
                also: Vec::new(),
            };
        }
        let mut persons: Vec<(String, f64)> = Vec::new();
        for (other, score) in links {
            if let Some(p) = self.person_of.get(other)
                && !persons.iter().any(|(q, _)| q == p)
            {
                persons.push((p.clone(), *score));
            }
        }
        let (person, link) = match persons.first() {
            Some((p, score)) => (
                p.clone(),
                Link {
                    patient: patient.into(),
                    method: Method::Auto,
                    score: Some(*score),
                    by: model.into(),
                },
            ),
            None => {
                let id = new_id();
                self.persons.insert(
                    id.clone(),
                    Person {
                        id: id.clone(),
                        active: true,
                        ..Person::default()
                    },
                );
                (
                    id,
                    Link {
                        patient: patient.into(),
                        method: Method::Auto,
                        score: None,
                        by: model.into(),
                    },
                )
            }
        };
        self.attach(&person, link, changed);
        Assigned {
            also: persons.into_iter().skip(1).map(|(p, _)| p).collect(),
            person,
        }
    }

    /// A person's decision: `patient` belongs with `target`'s person (moved there alone).
    pub fn link(&mut self, patient: &str, target: &str, by: &str) -> Result<Vec<String>, Refused> {
        let from = self.person_id_of(patient)?;
        let to = self.person_id_of(target)?;
        if from == to {
            return Err(Refused::SamePerson);
        }
        if self.persons[&from].distinct.contains(&to) && self.persons[&from].links.len() == 1 {
            return Err(Refused::DecidedDistinct);
        }
        let mut changed = Vec::new();
        self.detach(&from, patient, &mut changed);
        self.attach(
            &to,
            Link {
                patient: patient.into(),
                method: Method::Manual,
                score: None,
                by: by.into(),
            },
            &mut changed,
        );
        Ok(changed)
    }

    /// A person's decision: `patient` is not the person it is linked to. It gets a person of
    /// its own (`new_id`), and the two are remembered as distinct.
    pub fn unlink(
        &mut self,
        patient: &str,
        by: &str,
        new_id: impl FnOnce() -> String,
    ) -> Result<Vec<String>, Refused> {
        let from = self.person_id_of(patient)?;
        let mut changed = Vec::new();
        let id = new_id();
        self.persons.insert(
            id.clone(),
            Person {
                id: id.clone(),
                active: true,
                distinct: BTreeSet::from([from.clone()]),
                ..Person::default()
            },
        );
        self.detach(&from, patient, &mut changed);
        if let Some(p) = self.persons.get_mut(&from) {
            p.distinct.insert(id.clone());
        }
        self.attach(
            &id,
            Link {
                patient: patient.into(),
                method: Method::Manual,
                score: None,
                by: by.into(),
            },
            &mut changed,
        );
        Ok(changed)
    }

    /// Two persons are one: `source`'s registrations move to `target`, `source` stays,
    /// inactive, pointing at `target` and remembering its links.
    pub fn merge(&mut self, source: &str, target: &str, by: &str) -> Result<Vec<String>, Refused> {
        self.active(source)?;
        self.active(target)?;
        if source == target {
            return Err(Refused::SamePerson);
        }
        if self.persons[source].distinct.contains(target) {
            return Err(Refused::DecidedDistinct);
        }
        let links = std::mem::take(&mut self.persons.get_mut(source).expect("active").links);
        let mut changed = vec![source.to_string()];
        for l in &links {
            self.attach(
                target,
                Link {
                    method: Method::Manual,
                    by: by.into(),
                    score: None,
                    ..l.clone()
                },
                &mut changed,
            );
        }
        let s = self.persons.get_mut(source).expect("active");
        s.active = false;
        s.merged_into = Some(target.into());
        s.former = links;
        Ok(dedup(changed))
    }

    /// Undoes a merge: `source` is active again with its former registrations (those still
    /// with the person it was merged into).
    pub fn unmerge(&mut self, source: &str, by: &str) -> Result<Vec<String>, Refused> {
        let s = self
            .persons
            .get(source)
            .ok_or_else(|| Refused::UnknownPerson(source.into()))?;
        let target = match (&s.merged_into, s.active) {
            (Some(t), false) => t.clone(),
            _ => return Err(Refused::NotMerged(source.into())),
        };
        let former = s.former.clone();
        let mut changed = vec![source.to_string()];
        {
            let s = self.persons.get_mut(source).expect("exists");
            s.active = true;
            s.merged_into = None;
            s.former.clear();
            s.distinct.insert(target.clone());
        }
        if let Some(t) = self.persons.get_mut(&target) {
            t.distinct.insert(source.to_string());
        }
        for l in former {
            if self.person_of.get(&l.patient) == Some(&target) {
                self.detach(&target, &l.patient, &mut changed);
                self.attach(
                    source,
                    Link {
                        method: Method::Manual,
                        by: by.into(),
                        score: None,
                        ..l
                    },
                    &mut changed,
                );
            }
        }
        Ok(dedup(changed))
    }

    fn person_id_of(&self, patient: &str) -> Result<String, Refused> {
        self.person_of
            .get(patient)
            .cloned()
            .ok_or_else(|| Refused::UnknownPatient(patient.into()))
    }

    fn active(&self, id: &str) -> Result<(), Refused> {
        match self.persons.get(id) {
            None => Err(Refused::UnknownPerson(id.into())),
            Some(p) if !p.active => Err(Refused::Inactive(id.into())),
            Some(_) => Ok(()),
        }
    }

    fn attach(&mut self, person: &str, link: Link, changed: &mut Vec<String>) {
        self.person_of.insert(link.patient.clone(), person.into());
        if let Some(p) = self.persons.get_mut(person) {
            p.links.retain(|l| l.patient != link.patient);
            p.links.push(link);
        }
        changed.push(person.into());
    }

    fn detach(&mut self, person: &str, patient: &str, changed: &mut Vec<String>) {
        self.person_of.remove(patient);
        if let Some(p) = self.persons.get_mut(person) {
            p.links.retain(|l| l.patient != patient);
        }
        changed.push(person.into());
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn show(r: &Registry) -> String {
        let mut out = String::new();
        for p in r.persons.values() {
            let links: Vec<String> = p
                .links
                .iter()
                .map(|l| {
                    let how = match (l.method, l.score) {
                        (Method::Auto, Some(s)) => format!("auto {s}"),
                        (Method::Auto, None) => "first".into(),
                        (Method::Manual, _) => format!("by {}", l.by),
                    };
                    format!("{} ({how})", l.patient)
                })
                .collect();
            out += &format!(
                "{}{}: {}{}{}\n",
                p.id,
                if p.active { "" } else { " inactive" },
                links.join(", "),
                p.merged_into
                    .as_ref()
                    .map(|m| format!(" -> {m}"))
                    .unwrap_or_default(),
                if p.distinct.is_empty() {
                    String::new()
                } else {
                    format!(" distinct {:?}", p.distinct)
                }
            );
        }
        out
    }

    #[track_caller]
    fn check(r: &Registry, expect: Expect) {
        expect.assert_eq(&show(r));
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("P{n}")
        }
    }

    #[test]
    fn lifecycle() {
        let mut r = Registry::default();
        let mut next = ids();
        let mut changed = Vec::new();
        r.assign("a", &[], "fs-1", &mut next, &mut changed);
        r.assign(
            "b",
            &[("a".into(), 0.9999)],
            "fs-1",
            &mut next,
            &mut changed,
        );
        r.assign("c", &[], "fs-1", &mut next, &mut changed);
        // d links to both persons: it joins the stronger, the other goes to review.
        let d = r.assign(
            "d",
            &[("c".into(), 0.99995), ("b".into(), 0.9991)],
            "fs-1",
            &mut next,
            &mut changed,
        );
        assert_eq!(d.also, vec!["P1".to_string()]);
        check(
            &r,
            expect![[r#"
                P1: a (first), b (auto 0.9999)
                P2: c (first), d (auto 0.99995)
            "#]],
        );
        // Merge and unmerge keep ids.
        r.merge("P2", "P1", "dr.li").expect("merge");
        check(
            &r,
            expect![[r#"
                P1: a (first), b (auto 0.9999), c (by dr.li), d (by dr.li)
                P2 inactive:  -> P1
            "#]],
        );
        assert_eq!(r.current("P2").map(|p| p.id.as_str()), Some("P1"));
        assert_eq!(
            r.merge("P2", "P1", "x"),
            Err(Refused::Inactive("P2".into()))
        );
        r.unmerge("P2", "dr.wang").expect("unmerge");
        check(
            &r,
            expect![[r#"
                P1: a (first), b (auto 0.9999) distinct {"P2"}
                P2: c (by dr.wang), d (by dr.wang) distinct {"P1"}
            "#]],
        );
        assert_eq!(r.merge("P2", "P1", "x"), Err(Refused::DecidedDistinct));
        // Unlink gives a registration its own person; link moves it.
        r.unlink("b", "dr.li", &mut next).expect("unlink");
        r.link("d", "a", "dr.li").expect("link");
        check(
            &r,
            expect![[r#"
                P1: a (first), d (by dr.li) distinct {"P2", "P3"}
                P2: c (by dr.wang) distinct {"P1"}
                P3: b (by dr.li) distinct {"P1"}
            "#]],
        );
        assert_eq!(r.link("b", "a", "x"), Err(Refused::DecidedDistinct));
        assert_eq!(r.link("a", "d", "x"), Err(Refused::SamePerson));
        assert_eq!(
            r.link("zz", "a", "x"),
            Err(Refused::UnknownPatient("zz".into()))
        );
        // A rebuilt registry answers the same.
        let again = Registry::from_persons(r.persons.values().cloned());
        assert_eq!(show(&again), show(&r));
        assert_eq!(again.person_of("d").map(|p| p.id.as_str()), Some("P1"));
    }
}
