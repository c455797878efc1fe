//! The FHIR R4 REST API over HTTP (axum). It sees only `service`: every request becomes one
//! service call on a blocking thread, and every error becomes an OperationOutcome here.
//!
//! Routing is a single dispatcher over the path segments, so that every malformed request
//! (unknown type, bad id, wrong content type) gets a FHIR answer rather than a framework one.
//! Logs carry the method, resource type and status, never ids from queries or bodies.

mod audit_view;
pub use audit_view::tree_head as tree_head_json;
mod authn;
mod pages;
mod response;
mod routes;
mod session;

pub use authn::{Authn, now};
pub use routes::{AppState, router};
