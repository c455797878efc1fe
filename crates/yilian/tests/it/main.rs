//! End-to-end tests: the real `yilian` binary, started on port 0 against a fresh store and
//! spoken to over a socket as any client would. They check what a client can observe
//! (status, headers, bodies, exit codes, files); they must not link the server's crates to
//! look inside, except to drop a PostgreSQL test schema.

mod audit;
mod bad_input;
mod demo;
mod durability;
mod feeds;
mod fhirclient;
mod import;
mod pages;
mod postgres;
mod rest;
mod support;
mod synth;
mod tls;
