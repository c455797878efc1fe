//! `yilian audit`: the log checked offline, and its latest signed head for publishing.
//!
//! `verify` reads every record, recomputes the tree and checks each signed head. With the
//! data directory's `auth.json` it also checks every record's seal, so a change is named at
//! its exact position; a regulator holding only the public key (`--public-key`) and the
//! heads it kept (`--tree-head`) checks that the log it is shown grew from those heads.

use anyhow::Context;
use base64::Engine;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Check the whole log; exits non-zero naming the first bad position.
    Verify(VerifyArgs),
    /// Print the latest signed tree head as JSON (to publish, or to keep).
    Head(crate::StoreArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    store: crate::StoreArgs,
    /// Verify with this Ed25519 public key (base64) instead of the data directory's
    /// secret: the heads are checked, the per-record seals are not.
    #[arg(long)]
    public_key: Option<String>,
    /// A signed tree head kept elsewhere (the JSON `yilian audit head` printed); repeatable.
    #[arg(long)]
    tree_head: Vec<std::path::PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Verify(a) => verify(a),
        What::Head(a) => {
            let service = open(&a)?;
            let head = service.tree_head(None)?;
            let v = http_api::tree_head_json(&head, service.audit_public_key().as_ref());
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

/// The store without its audit key: verification reads, it never appends.
fn open(args: &crate::StoreArgs) -> anyhow::Result<service::Service> {
    let store: Arc<dyn store::Store> = match &args.database_url {
        Some(url) => Arc::new(store::Engine::new(store_postgres::Postgres::open(
            url,
            &args.database_schema,
        )?)),
        None => {
            anyhow::ensure!(
                args.data.join("yilian.db").exists(),
                "{} holds no store",
                args.data.display()
            );
            Arc::new(store::Engine::new(store::Sqlite::open(&args.data)?))
        }
    };
    Ok(service::Service::new(store, service::Config::default()))
}

fn b64(text: &str) -> anyhow::Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .context("not base64")
}

fn head_from(path: &std::path::Path) -> anyhow::Result<audit::SignedTreeHead> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)
        .with_context(|| format!("reading {}", path.display()))?;
    let text = |k: &str| {
        v[k].as_str()
            .with_context(|| format!("{}: {k} is missing", path.display()))
    };
    Ok(audit::SignedTreeHead {
        head: audit::TreeHead {
            size: v["tree_size"].as_u64().context("tree_size is missing")?,
            timestamp: v["timestamp"].as_i64().context("timestamp is missing")?,
            root: b64(text("sha256_root_hash")?)?
                .try_into()
                .map_err(|_| anyhow::anyhow!("the root is not 32 bytes"))?,
        },
        signature: b64(text("tree_head_signature")?)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("the signature is not 64 bytes"))?,
    })
}

fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let (sealer, public) = match &args.public_key {
        Some(k) => {
            let bytes: [u8; 32] = b64(k)?
                .try_into()
                .map_err(|_| anyhow::anyhow!("the public key is not 32 bytes"))?;
            (None, audit::VerifyingKey::from_bytes(&bytes)?)
        }
        None => {
            let sealer = crate::admin::existing_sealer(&args.store.data)?.with_context(|| {
                format!(
                    "{} has no auth.json with an audit_key: pass --public-key",
                    args.store.data.display()
                )
            })?;
            let public = sealer.public();
            (Some(sealer), public)
        }
    };
    let published = args
        .tree_head
        .iter()
        .map(|p| head_from(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let service = open(&args.store)?;
    let started = std::time::Instant::now();
    let mode = if sealer.is_some() {
        "every record's seal and every signed head"
    } else {
        "every signed head, with the public key"
    };
    let result = service.verify_audit(sealer, public, published, &|_| {})?;
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(report) => {
            println!(
                "audit log verified: {} records, {} signed tree heads ({mode}) in {secs:.1} s; root {}",
                report.records,
                report.heads,
                base64::engine::general_purpose::STANDARD.encode(report.root)
            );
            if report.unsigned_tail > 0 {
                println!(
                    "{} records after the last signed head",
                    report.unsigned_tail
                );
            }
            Ok(())
        }
        Err(problem) => {
            eprintln!("audit log FAILED verification: {problem}");
            std::process::exit(2);
        }
    }
}
