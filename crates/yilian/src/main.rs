//! `yilian`: the one binary. Parses the command line and dispatches; the work is in the
//! library crates and in this crate's command modules.

// The binary is the one place that prints results for people to read.
#![allow(clippy::print_stdout)]

mod admin;
mod audit_cmd;
mod bench;
mod bench_audit;
mod bench_cds;
mod bench_feeds;
mod bench_mpi;
mod bench_pages;
mod client;
mod demo;
mod dictionary;
mod import;
mod region;
mod serve;
mod tls;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

// Ingest allocates many small values on two threads; mimalloc handles that far better than
// the system allocator (about a quarter of ingest time went to malloc and free before).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "yilian",
    version,
    about = "Yilian: the regional shared medical record"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives: the embedded store in a directory, or PostgreSQL.
#[derive(clap::Args, Clone, Debug)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite store.
    #[arg(long, env = "YILIAN_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Use PostgreSQL instead (postgres://user@host/db).
    #[arg(long, env = "YILIAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL schema holding the store.
    #[arg(long, env = "YILIAN_DATABASE_SCHEMA", default_value = "yilian")]
    pub database_schema: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR R4 API.
    Serve(serve::Args),
    /// The region's credentials: tokens, people's accounts, hospital systems.
    Admin(admin::Args),
    /// Load a small sample region into a fresh store, show it working, and serve it.
    Demo(demo::Args),
    /// Generate a synthetic region: 30 hospitals' records and the ground truth.
    Synth(region::Args),
    /// Bulk-load FHIR NDJSON files and Bundles.
    Import(import::Args),
    /// The audit log: verify it offline, print its signed tree head.
    Audit(audit_cmd::Args),
    /// Measure ingest, reads, searches, disk and memory on generated data.
    Bench(bench::Args),
    /// Refit the patient index on every registration and queue for review wherever the new
    /// fit disagrees with the persons as they are (the batch re-link after a model change).
    Relink(StoreArgs),
    /// Train the dictionary stored bodies are compressed with (a developer tool).
    #[command(hide = true)]
    Dictionary(dictionary::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo talks to a person at a terminal and the benchmark prints figures: request
    // logs would drown both.
    let default_level = match cli.command {
        Command::Demo(_) | Command::Bench(_) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Admin(a) => admin::run(a),
        Command::Audit(a) => audit_cmd::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Synth(a) => region::run(a),
        Command::Import(a) => import::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Relink(a) => relink(&a),
        Command::Dictionary(a) => dictionary::run(a),
    }
}

fn relink(args: &StoreArgs) -> anyhow::Result<()> {
    let service = open_service(args)?;
    let started = std::time::Instant::now();
    let r = service.relink()?;
    println!(
        "Relinked {} registrations ({} persons) with model {} in {:.1}s: {} disagreements with the persons as they are, {} new review tasks.",
        r.registrations,
        r.persons,
        r.model,
        started.elapsed().as_secs_f64(),
        r.disagreements,
        r.new_tasks
    );
    service.close()?;
    Ok(())
}

/// Opens the store the arguments name, behind the service layer.
pub fn open_service(args: &StoreArgs) -> anyhow::Result<service::Service> {
    open_service_with(args, service::Config::default())
}

pub fn open_service_with(
    args: &StoreArgs,
    config: service::Config,
) -> anyhow::Result<service::Service> {
    use std::sync::Arc;
    let sealer = admin::sealer(&args.data)?;
    let store: Arc<dyn store::Store> = match &args.database_url {
        Some(url) => Arc::new(
            store::Engine::with_classifier(
                store_postgres::Postgres::open(url, &args.database_schema)?,
                service::classify,
                service::SHARED_TYPES,
            )?
            .sealed(sealer),
        ),
        None => Arc::new(
            store::Engine::with_classifier(
                store::Sqlite::open(&args.data)?,
                service::classify,
                service::SHARED_TYPES,
            )?
            .sealed(sealer),
        ),
    };
    Ok(service::Service::new(store, config))
}
