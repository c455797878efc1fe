//! `yilian serve`: the HTTP API until SIGTERM or SIGINT, then a graceful stop: in-flight
//! requests finish, and the store is flushed and closed before the process exits.

use crate::StoreArgs;
use std::net::SocketAddr;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "YILIAN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL used in links (default: from the Host header).
    #[arg(long, env = "YILIAN_BASE_URL")]
    pub base_url: Option<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "YILIAN_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "YILIAN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "YILIAN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Also take HL7 v2 over MLLP on this address, from the feeds `auth.json` admits
    /// (`yilian admin feed`).
    #[arg(long, env = "YILIAN_MLLP")]
    pub mllp: Option<SocketAddr>,
    #[command(flatten)]
    pub region: RegionArgs,
    /// A directory of the region's reminder knowledge files (allergy-synonyms.json,
    /// drugs.json, tests.json, ...), each replacing the shipped table of that name.
    #[arg(long, env = "YILIAN_KNOWLEDGE")]
    pub knowledge: Option<std::path::PathBuf>,
}

/// The region's sharing policy.
#[derive(clap::Args, Clone, Debug)]
pub struct RegionArgs {
    /// Without a consent on file: `opt-in` shares nothing (Beijing's pilot), `opt-out`
    /// shares all but the sensitive categories.
    #[arg(long, env = "YILIAN_CONSENT_DEFAULT", default_value = "opt-in", value_parser = ["opt-in", "opt-out"])]
    pub consent_default: String,
    /// How far back the shared record goes, in days (0: no limit); allergies always show.
    #[arg(long, env = "YILIAN_SHARING_WINDOW_DAYS", default_value_t = 90)]
    pub sharing_window_days: u32,
    /// A registration or visit at the caller's hospital makes a treatment relationship for
    /// this many days.
    #[arg(long, env = "YILIAN_RELATIONSHIP_DAYS", default_value_t = 30)]
    pub relationship_days: u32,
    /// How long a break-glass grant lasts, in hours.
    #[arg(long, env = "YILIAN_BREAK_GLASS_HOURS", default_value_t = 72)]
    pub break_glass_hours: u32,
    /// Let break-glass open the record of a patient who opted out or withdrew consent.
    #[arg(long, env = "YILIAN_BREAK_GLASS_OVERRIDES_REFUSAL")]
    pub break_glass_overrides_refusal: bool,
}

impl RegionArgs {
    pub fn policy(&self) -> policy::Region {
        policy::Region {
            default: if self.consent_default == "opt-out" {
                policy::Default::OptOut
            } else {
                policy::Default::OptIn
            },
            window_days: (self.sharing_window_days > 0).then_some(self.sharing_window_days),
            relationship_days: self.relationship_days,
            break_glass_hours: self.break_glass_hours,
            break_glass_overrides_refusal: self.break_glass_overrides_refusal,
            ..policy::Region::default()
        }
    }
}

impl Default for RegionArgs {
    fn default() -> RegionArgs {
        RegionArgs {
            consent_default: "opt-in".into(),
            sharing_window_days: 90,
            relationship_days: 30,
            break_glass_hours: 72,
            break_glass_overrides_refusal: false,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let service = crate::open_service_with(
        &args.store,
        service::Config {
            region: args.region.policy(),
            knowledge: knowledge(args.knowledge.as_deref())?,
            ..service::Config::default()
        },
    )?;
    runtime()?.block_on(serve(service, &args, |addr| {
        tracing::info!(%addr, "serving FHIR R4");
        let scheme = if args.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        // On stdout, so that scripts and tests listening on port 0 learn the port.
        #[allow(clippy::print_stdout)]
        {
            println!("listening on {scheme}://{addr}");
        }
    }))
}

/// The reminders' knowledge: the shipped tables, each replaced by the region's file.
pub fn knowledge(dir: Option<&std::path::Path>) -> anyhow::Result<std::sync::Arc<cds::Knowledge>> {
    let Some(dir) = dir else {
        return Ok(service::builtin_knowledge());
    };
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let k = cds::Knowledge::load(|file| std::fs::read_to_string(dir.join(file)).ok())
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    for (file, version) in &k.versions {
        tracing::info!(file, version, "reminder knowledge");
    }
    Ok(std::sync::Arc::new(k))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Serves until a shutdown signal, then closes the store.
pub async fn serve(
    service: service::Service,
    args: &Args,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::config(cert, key)?),
        _ => None,
    };
    let credentials = crate::admin::load_or_create(&args.store.data)?;
    let auth = http_api::Authn::new(&credentials, &credentials.audience)?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let app = http_api::router(http_api::AppState {
        service: service.clone(),
        base_url: args.base_url.clone(),
        max_body_bytes: args.max_body_bytes,
        auth: std::sync::Arc::new(auth),
    });
    on_ready(addr);
    if let Some(at) = args.mllp {
        if credentials.feeds.is_empty() {
            tracing::warn!(
                "mllp: no feed is admitted yet (yilian admin feed): every connection will be closed"
            );
        }
        let bound = start_mllp(at, &service, credentials.feeds.clone())?;
        #[allow(clippy::print_stdout)]
        {
            println!("mllp listening on {bound}");
        }
    }
    // Notices to patients (break-glass, a new hospital's first access) leave through the
    // spool an SMS or e-mail gateway collects from.
    let outbox = service.clone();
    let spool = Spool(args.store.data.join("outbox"));
    let sender = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let (svc, spool) = (outbox.clone(), spool.clone());
            match tokio::task::spawn_blocking(move || svc.drain_outbox(&spool, 500)).await {
                Ok(Ok(_)) => {}
                Ok(Err(service::Error::Unavailable)) => break,
                Ok(Err(e)) => tracing::warn!("outbox: {}", e.describe().code),
                Err(_) => tracing::warn!("outbox: the sender panicked"),
            }
        }
    });
    match tls {
        Some(config) => {
            let tls = crate::tls::TlsListener::new(listener, config)?;
            axum::serve(tls, app)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
        }
        _ => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
        }
    }
    sender.abort();
    tracing::info!("shutting down: closing the store");
    let closing = service.clone();
    tokio::task::spawn_blocking(move || closing.close()).await??;
    tracing::info!("store closed");
    Ok(())
}

/// Takes HL7 v2 over MLLP on `at` from the admitted `feeds`, on threads of its own, for as
/// long as the process runs; returns the bound address.
pub fn start_mllp(
    at: SocketAddr,
    service: &service::Service,
    feeds: Vec<auth::Feed>,
) -> anyhow::Result<SocketAddr> {
    let listener = mllp::Listener::bind(at, service.clone(), feeds)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("mllp-accept".into())
        .spawn(move || listener.run())?;
    Ok(bound)
}

/// Notices as files, one per notice (`{position}.json`, written atomically), in the
/// directory a region's SMS or e-mail gateway collects from.
#[derive(Clone)]
pub struct Spool(pub std::path::PathBuf);

impl service::Notifier for Spool {
    fn send(&self, n: &service::Notice) -> Result<(), String> {
        std::fs::create_dir_all(&self.0).map_err(|e| e.to_string())?;
        let file = self.0.join(format!("{}.json", n.id));
        let tmp = self.0.join(format!("{}.json.tmp", n.id));
        let body = serde_json::json!({
            "id": n.id,
            "patient": n.patient,
            "kind": n.kind,
            "message": serde_json::from_str::<serde_json::Value>(&n.message).unwrap_or_default(),
        });
        std::fs::write(&tmp, body.to_string()).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &file).map_err(|e| e.to_string())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        region: RegionArgs,
    }

    #[test]
    fn region_flags_make_the_policy() {
        let defaults = Cli::parse_from(["yilian"]).region;
        assert_eq!(defaults.policy(), policy::Region::default());
        assert_eq!(RegionArgs::default().policy(), policy::Region::default());
        let opt_out = Cli::parse_from([
            "yilian",
            "--consent-default",
            "opt-out",
            "--sharing-window-days",
            "0",
            "--break-glass-hours",
            "24",
        ])
        .region
        .policy();
        assert_eq!(opt_out.default, policy::Default::OptOut);
        assert_eq!(opt_out.window_days, None);
        assert_eq!(opt_out.break_glass_hours, 24);
        assert!(Cli::try_parse_from(["yilian", "--consent-default", "maybe"]).is_err());
    }
}
