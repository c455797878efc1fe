//! Households and the people in them. A household shares an address and a home phone;
//! children carry a parent's phone and have a guardian; some households have twins or a
//! newborn. Each household is generated from its own random stream, so household `h` is the
//! same whatever was generated before it.

use crate::config::Config;
use crate::date::Date;
use crate::people::{self, Division, Name, Sex};
use crate::rng::Rng;

/// Salts that keep the streams of different kinds of things apart.
pub(crate) const SALT_PLAN: u64 = 1;
pub(crate) const SALT_HOUSEHOLD: u64 = 2;

/// A person as they really are: the ground truth every registration is a noisy copy of.
#[derive(Clone, Debug)]
pub struct Person {
    /// 1-based, in generation order; the ground truth's `P00000001`.
    pub number: u64,
    pub household: u64,
    pub name: Name,
    pub sex: Sex,
    pub birth: Date,
    pub resident_id: String,
    /// Where they were born (their resident ID's region).
    pub birthplace: &'static Division,
    /// Where the household lives.
    pub home: &'static Division,
    pub address: String,
    /// Their own mobile phone (adults), or the phone they are reached on (a parent's).
    pub phone: Option<String>,
    pub own_phone: bool,
    pub insurance: Option<String>,
    /// Index within the household of the guardian of a child under 14.
    pub guardian: Option<usize>,
    /// Index within the household of a twin.
    pub twin: Option<usize>,
    /// Born within the last 60 days: first registered under a placeholder name.
    pub newborn: bool,
}

impl Person {
    pub fn key(&self) -> String {
        format!("P{:08}", self.number)
    }

    pub fn age(&self, on: Date) -> i32 {
        self.birth.years_until(on)
    }
}

/// The shape of a household: the ages and sexes of its members, drawn cheaply so that the
/// region can count people before generating them.
#[derive(Clone, Debug)]
pub struct Plan {
    pub members: Vec<Member>,
    pub twins: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub sex: Sex,
    /// Age in days on the region's "today".
    pub age_days: i32,
    pub child: bool,
}

/// The plan of household `h`.
pub fn plan(config: &Config, h: u64) -> Plan {
    let mut rng = Rng::derive(config.seed, SALT_PLAN, h);
    let year = 365;
    let adult =
        |rng: &mut Rng, lo: i64, hi: i64| rng.range(lo * year as i64, hi * year as i64) as i32;
    let mut members = Vec::new();
    let first_sex = if rng.chance(0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    let other = |s: Sex| {
        if s == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        }
    };
    let kind = rng.unit();
    let mut twins = false;
    if kind < 0.24 {
        members.push(Member {
            sex: first_sex,
            age_days: adult(&mut rng, 18, 92),
            child: false,
        });
    } else if kind < 0.40 {
        let a = adult(&mut rng, 22, 90);
        members.push(Member {
            sex: first_sex,
            age_days: a,
            child: false,
        });
        members.push(Member {
            sex: other(first_sex),
            age_days: (a + rng.range(-5 * 365, 5 * 365) as i32).max(20 * year),
            child: false,
        });
    } else {
        // Parents and children; sometimes a grandparent.
        let single = rng.chance(0.1);
        let mother = adult(&mut rng, 20, 50);
        members.push(Member {
            sex: Sex::Female,
            age_days: mother,
            child: false,
        });
        if !single {
            members.push(Member {
                sex: Sex::Male,
                age_days: (mother + rng.range(-3 * 365, 6 * 365) as i32).max(20 * year),
                child: false,
            });
        }
        let children = 1 + usize::from(rng.chance(0.35)) + usize::from(rng.chance(0.08));
        let max_child = (mother - 19 * year).clamp(1, 30 * year);
        twins = rng.chance(config.rates.twins / 0.6);
        for c in 0..children {
            let newborn = c == 0 && mother < 42 * year && rng.chance(0.03);
            let age = if newborn {
                rng.range(1, 59) as i32
            } else {
                rng.range(1, max_child as i64) as i32
            };
            let sex = if rng.chance(0.51) {
                Sex::Male
            } else {
                Sex::Female
            };
            members.push(Member {
                sex,
                age_days: age,
                child: true,
            });
            if twins && c == 0 {
                let sex = if rng.chance(0.5) { sex } else { other(sex) };
                members.push(Member {
                    sex,
                    age_days: age,
                    child: true,
                });
            }
        }
        if rng.chance(0.15) {
            members.push(Member {
                sex: if rng.chance(0.6) {
                    Sex::Female
                } else {
                    Sex::Male
                },
                age_days: (mother + rng.range(22 * 365, 32 * 365) as i32).min(98 * year),
                child: false,
            });
        }
    }
    Plan { members, twins }
}

/// The people of household `h`, numbered from `first`; only the first `take` members (the
/// region stops at its patient count).
pub fn people(config: &Config, h: u64, plan: &Plan, first: u64, take: usize) -> Vec<Person> {
    let mut rng = Rng::derive(config.seed, SALT_HOUSEHOLD, h);
    let home = people::beijing_division(&mut rng);
    let address = people::address_line(&mut rng, home);
    let (family, family_py) = people::family_name(&mut rng);
    let mut out: Vec<Person> = Vec::with_capacity(plan.members.len());
    let mut twin_of: Option<usize> = None;
    for (i, m) in plan.members.iter().enumerate() {
        let birth = config.today.add_days(-m.age_days);
        let born_here = m.child || rng.chance(0.7);
        let birthplace = if born_here {
            home
        } else {
            people::division(&mut rng)
        };
        // Children take the family name of the father (or of a single parent); a mother
        // keeps her own, as Chinese women do; other adults have their own.
        let family_household = plan.members.iter().any(|m| m.child);
        let takes_family = if m.child {
            true
        } else if family_household {
            let single_parent = i == 0 && plan.members.get(1).is_some_and(|m| m.child);
            (i == 1 && m.sex == Sex::Male) || single_parent
        } else {
            i == 0
        };
        let (fam, fam_py) = if takes_family {
            (family, family_py)
        } else {
            people::family_name(&mut rng)
        };
        let is_twin = m.child
            && plan.twins
            && i > 0
            && plan.members[i - 1].child
            && plan.members[i - 1].age_days == m.age_days;
        let (given, given_py) = people::given_name(&mut rng, m.sex, birth.year());
        let name = Name {
            family: fam.to_string(),
            family_py: fam_py.to_string(),
            given,
            given_py,
        };
        let seq = rng.below(1000) as u16;
        let resident_id = people::resident_id(birthplace.code, birth, seq, m.sex);
        let age = birth.years_until(config.today);
        let own_phone = age >= 14;
        let phone = if own_phone {
            Some(people::mobile(&mut rng))
        } else {
            None
        };
        let insurance = if rng.chance(0.9) {
            Some(people::insurance_no(&mut rng, home.code))
        } else {
            None
        };
        let guardian = if age < 14 { Some(0) } else { None };
        if is_twin {
            twin_of = Some(i - 1);
        }
        out.push(Person {
            number: first + i as u64,
            household: h,
            name,
            sex: m.sex,
            birth,
            resident_id,
            birthplace,
            home,
            address: address.clone(),
            phone,
            own_phone,
            insurance,
            guardian,
            twin: if is_twin { Some(i - 1) } else { None },
            newborn: m.child && m.age_days < 60,
        });
        if let Some(t) = twin_of.take() {
            out[t].twin = Some(i);
        }
    }
    // Children are reached on a parent's phone.
    let parent_phone = out.first().and_then(|p| p.phone.clone());
    for p in &mut out {
        if p.phone.is_none() {
            p.phone = parent_phone.clone();
        }
    }
    out.truncate(take);
    let len = out.len();
    for p in &mut out {
        p.twin = p.twin.filter(|&t| t < len);
    }
    out
}
