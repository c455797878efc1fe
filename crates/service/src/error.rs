//! The errors clients see. One table ([`Error::describe`]) gives each its HTTP status,
//! OperationOutcome `issue.code` and stable code; messages name types, ids, elements and
//! parameters, never resource content.

use fhir::{Issue, IssueType};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    MalformedJson(#[from] fhir::json::JsonError),
    #[error("resource failed validation")]
    Invalid(Vec<Issue>),
    #[error("invalid search")]
    BadSearch(Vec<Issue>),
    #[error("resource type {0} is not supported")]
    UnsupportedType(String),
    #[error("the body is a {body}, the URL names {url}")]
    TypeMismatch { url: String, body: String },
    #[error("the body's id does not match the id in the URL")]
    IdMismatch,
    #[error("an update needs the resource id in the body")]
    MissingId,
    #[error("invalid resource id")]
    InvalidId,
    #[error("resource {resource_type}/{id} not found")]
    NotFound { resource_type: String, id: String },
    #[error("resource {resource_type}/{id} was deleted")]
    Gone { resource_type: String, id: String },
    #[error("version {expected} of {resource_type}/{id} is not current (current is {current})")]
    VersionConflict {
        resource_type: String,
        id: String,
        expected: u64,
        current: u64,
    },
    #[error("{count} resources match the condition on {resource_type}; at most one may")]
    MultipleMatches { resource_type: String, count: usize },
    #[error("resource {resource_type}/{id} exists but does not match the condition")]
    Conflict { resource_type: String, id: String },
    #[error("the transaction writes {resource_type}/{id} more than once")]
    DuplicateTarget { resource_type: String, id: String },
    #[error("the reference {0} names no entry of the transaction")]
    UnresolvedReference(String),
    #[error("a concurrent transaction got in the way; retry")]
    Contention,
    #[error("invalid If-Match header: expected W/\"<version>\"")]
    BadIfMatch,
    #[error("invalid or expired paging link")]
    BadCursor,
    #[error("invalid Bundle")]
    BadBundle(Vec<Issue>),
    #[error("bundle entry {index} failed: {source}")]
    Entry {
        index: usize,
        #[source]
        source: Box<Error>,
    },
    #[error("the store is shutting down")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
    /// An operation's parameters are wrong; the message names which (never their values).
    #[error("{0}")]
    BadOperation(String),
    #[error("no Patient is registered under the sourceIdentifier")]
    IdentifierNotFound,
    /// Not signed in, or the token does not verify; the message says which check failed.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed; the message says which rule refused (never patient data).
    #[error("{0}")]
    Forbidden(String),
}

/// How an error is presented: status, `issue.code`, and a stable code for clients and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Description {
    pub status: u16,
    pub issue: IssueType,
    pub code: &'static str,
}

impl Error {
    pub fn describe(&self) -> Description {
        use IssueType as T;
        let (status, issue, code) = match self {
            Error::MalformedJson(_) => (400, T::Structure, "malformed-json"),
            Error::Invalid(_) => (422, T::Invalid, "invalid-resource"),
            Error::BadSearch(_) => (400, T::Invalid, "invalid-search"),
            Error::UnsupportedType(_) => (404, T::NotSupported, "unsupported-type"),
            Error::TypeMismatch { .. } => (400, T::Invalid, "type-mismatch"),
            Error::IdMismatch => (400, T::Invalid, "id-mismatch"),
            Error::MissingId => (400, T::Required, "missing-id"),
            Error::InvalidId => (400, T::Value, "invalid-id"),
            Error::NotFound { .. } => (404, T::NotFound, "not-found"),
            Error::Gone { .. } => (410, T::Deleted, "gone"),
            Error::VersionConflict { .. } => (412, T::Conflict, "version-conflict"),
            Error::MultipleMatches { .. } => (412, T::Duplicate, "multiple-matches"),
            Error::Conflict { .. } => (409, T::Conflict, "condition-conflict"),
            Error::DuplicateTarget { .. } => (400, T::Invalid, "duplicate-target"),
            Error::UnresolvedReference(_) => (400, T::Value, "unresolved-reference"),
            Error::Contention => (409, T::Conflict, "transaction-conflict"),
            Error::BadIfMatch => (400, T::Value, "invalid-if-match"),
            Error::BadCursor => (400, T::Value, "invalid-page"),
            Error::BadBundle(_) => (400, T::Invalid, "invalid-bundle"),
            Error::Entry { source, .. } => return source.describe(),
            Error::Unavailable => (503, T::Exception, "unavailable"),
            Error::Internal(_) => (500, T::Exception, "internal"),
            Error::BadOperation(_) => (400, T::Invalid, "invalid-operation"),
            Error::IdentifierNotFound => (404, T::NotFound, "identifier-not-found"),
            Error::Unauthenticated(_) => (401, T::Login, "unauthenticated"),
            Error::Forbidden(_) => (403, T::Forbidden, "forbidden"),
        };
        Description {
            status,
            issue,
            code,
        }
    }

    /// The OperationOutcome issues for this error. 5xx causes stay in the log, not the body.
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            Error::Invalid(issues) | Error::BadSearch(issues) | Error::BadBundle(issues) => {
                issues.clone()
            }
            Error::Entry { index, source } => source
                .issues()
                .into_iter()
                .map(|mut i| {
                    i.diagnostics = format!("bundle entry {index}: {}", i.diagnostics);
                    if i.expression.is_empty() {
                        i.expression.push(format!("Bundle.entry[{index}]"));
                    }
                    i
                })
                .collect(),
            e => vec![Issue::error(e.describe().issue, e.to_string())],
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound { resource_type, id } => Error::NotFound { resource_type, id },
            StoreError::VersionConflict {
                resource_type,
                id,
                expected,
                current,
            } => Error::VersionConflict {
                resource_type,
                id,
                expected,
                current,
            },
            StoreError::MultipleMatches {
                resource_type,
                count,
            } => Error::MultipleMatches {
                resource_type,
                count,
            },
            StoreError::BadCursor => Error::BadCursor,
            StoreError::Entry { index, source } => Error::Entry {
                index,
                source: Box::new(Error::from(*source)),
            },
            StoreError::Conflict { resource_type, id } => Error::Conflict { resource_type, id },
            StoreError::IdMismatch => Error::IdMismatch,
            StoreError::DuplicateTarget { resource_type, id } => {
                Error::DuplicateTarget { resource_type, id }
            }
            StoreError::UnresolvedReference(r) => Error::UnresolvedReference(r),
            StoreError::Contention => Error::Contention,
            StoreError::Closed => Error::Unavailable,
            StoreError::Database(msg) => Error::Internal(msg),
        }
    }
}

/// The stable codes of every variant, for the uniqueness test and documentation.
pub fn all_codes() -> Vec<&'static str> {
    let samples = [
        Error::MalformedJson(fhir::json::JsonError::NotAnObject),
        Error::Invalid(vec![]),
        Error::BadSearch(vec![]),
        Error::UnsupportedType(String::new()),
        Error::TypeMismatch {
            url: String::new(),
            body: String::new(),
        },
        Error::IdMismatch,
        Error::MissingId,
        Error::InvalidId,
        Error::NotFound {
            resource_type: String::new(),
            id: String::new(),
        },
        Error::Gone {
            resource_type: String::new(),
            id: String::new(),
        },
        Error::VersionConflict {
            resource_type: String::new(),
            id: String::new(),
            expected: 0,
            current: 0,
        },
        Error::MultipleMatches {
            resource_type: String::new(),
            count: 0,
        },
        Error::Conflict {
            resource_type: String::new(),
            id: String::new(),
        },
        Error::DuplicateTarget {
            resource_type: String::new(),
            id: String::new(),
        },
        Error::UnresolvedReference(String::new()),
        Error::Contention,
        Error::BadIfMatch,
        Error::BadCursor,
        Error::BadBundle(vec![]),
        Error::Unavailable,
        Error::Internal(String::new()),
        Error::BadOperation(String::new()),
        Error::IdentifierNotFound,
        Error::Unauthenticated(String::new()),
        Error::Forbidden(String::new()),
    ];
    samples.iter().map(|e| e.describe().code).collect()
}
