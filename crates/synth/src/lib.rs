//! The synthetic region: the thirty hospitals of Beijing's sharing pilot, the people who
//! use them (families, twins, newborns), their care over the years, their consent, and each
//! hospital's registrations with realistic clerical errors, written beside a ground truth
//! of which registrations are one person and which events were planted for the reminders.
//!
//! Pure and deterministic: the same configuration gives the same bytes, household by
//! household, so generation streams in constant memory and can be split across threads.
//! Nothing here is a real person; no clock, no I/O.

pub mod build;
pub mod care;
pub mod clinical;
pub mod config;
pub mod consent;
pub mod date;
pub mod feeds;
pub mod hospitals;
pub mod household;
pub mod json;
pub mod noise;
pub mod people;
pub mod region;
pub mod registration;
pub mod rng;

pub use config::{Config, Rates};
pub use date::Date;
pub use region::{
    Output, Registered, Sink, header, household, household_registrations, households, registrations,
};
