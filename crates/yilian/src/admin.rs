//! `yilian admin`: the region's credentials, kept in `auth.json` in the data directory (the
//! token secret, registered hospital systems, people's accounts). Whoever can read that
//! directory can mint tokens: it is the operator's, like the database.

use anyhow::{Context, bail};
use policy::{Purpose, Role};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print a short-lived token (an administrator's by default) for scripts and tests.
    Token(TokenArgs),
    /// Add or replace a person's account; the password is read from standard input.
    User(UserArgs),
    /// Register a hospital system (SMART Backend Services client) with its public keys.
    Client(ClientArgs),
    /// Admit a hospital's HL7 v2 feed (MLLP): the addresses it connects from and the
    /// sending facility names (MSH-4) it uses.
    Feed(FeedArgs),
}

#[derive(clap::Args)]
struct FeedArgs {
    #[arg(long, env = "YILIAN_DATA", default_value = "data")]
    data: PathBuf,
    /// The hospital's id (`Organization/{id}`).
    #[arg(long)]
    hospital: String,
    /// A sending facility (MSH-4) its messages carry; repeat for several.
    #[arg(long = "facility", required = true)]
    facilities: Vec<String>,
    /// An address or network (`10.8.0.0/16`) it connects from; repeat for several.
    #[arg(long = "address", required = true)]
    addresses: Vec<String>,
}

#[derive(clap::Args)]
struct TokenArgs {
    #[arg(long, env = "YILIAN_DATA", default_value = "data")]
    data: PathBuf,
    #[arg(long, default_value = "admin")]
    role: String,
    /// PurposeOfUse code (TREAT, ETREAT, PATRQT, HRESCH, HCOMPL, HOPERAT); by default the
    /// role's usual one.
    #[arg(long)]
    purpose: Option<String>,
    /// `Organization/{id}` the caller acts for.
    #[arg(long)]
    organization: Option<String>,
    /// `Practitioner/{id}`.
    #[arg(long)]
    practitioner: Option<String>,
    /// `Person/{id}`, for a patient.
    #[arg(long)]
    person: Option<String>,
    #[arg(long, default_value_t = 15)]
    minutes: i64,
}

#[derive(clap::Args)]
struct UserArgs {
    #[arg(long, env = "YILIAN_DATA", default_value = "data")]
    data: PathBuf,
    #[arg(long)]
    username: String,
    #[arg(long)]
    role: String,
    #[arg(long)]
    organization: Option<String>,
    #[arg(long)]
    practitioner: Option<String>,
    #[arg(long)]
    person: Option<String>,
}

#[derive(clap::Args)]
struct ClientArgs {
    #[arg(long, env = "YILIAN_DATA", default_value = "data")]
    data: PathBuf,
    #[arg(long)]
    client_id: String,
    /// `Organization/{id}`: the hospital the system acts for.
    #[arg(long)]
    organization: String,
    /// A JWK Set file with the system's public keys.
    #[arg(long)]
    jwks: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Token(a) => {
            let config = load_or_create(&a.data)?;
            let role = Role::from_code(&a.role).context("unknown role")?;
            let purpose = match &a.purpose {
                Some(p) => Purpose::from_code(p).context("unknown purpose of use")?,
                None => auth::default_purpose(role),
            };
            let caller = policy::Caller {
                role,
                purpose,
                organization: a.organization,
                practitioner: a.practitioner,
                person: a.person,
            };
            #[allow(clippy::print_stdout)]
            {
                println!("{}", mint(&config, &principal(caller), a.minutes * 60)?);
            }
            Ok(())
        }
        Command::User(a) => {
            let mut config = load_or_create(&a.data)?;
            Role::from_code(&a.role).context("unknown role")?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 8 {
                bail!("a password has at least 8 characters");
            }
            let user = auth::User {
                username: a.username.clone(),
                password: auth::hash_password(password, &salt()),
                role: a.role,
                organization: a.organization,
                practitioner: a.practitioner,
                person: a.person,
            };
            config.users.retain(|u| u.username != a.username);
            config.users.push(user);
            save(&a.data, &config)
        }
        Command::Client(a) => {
            let mut config = load_or_create(&a.data)?;
            let text = std::fs::read_to_string(&a.jwks)
                .with_context(|| format!("reading {}", a.jwks.display()))?;
            let jwks = serde_json::from_str(&text).context("the file is not a JWK Set")?;
            config.clients.retain(|c| c.client_id != a.client_id);
            config.clients.push(auth::Client {
                client_id: a.client_id,
                organization: a.organization,
                jwks,
                roles: Vec::new(),
            });
            save(&a.data, &config)
        }
        Command::Feed(a) => {
            let mut config = load_or_create(&a.data)?;
            for spec in &a.addresses {
                let ip = spec.split('/').next().unwrap_or_default();
                if ip.parse::<std::net::IpAddr>().is_err() {
                    bail!("{spec} is not an address or a network (10.8.0.0/16)");
                }
            }
            config.feeds.retain(|f| f.hospital != a.hospital);
            config.feeds.push(auth::Feed {
                hospital: a.hospital,
                facilities: a.facilities,
                addresses: a.addresses,
            });
            save(&a.data, &config)
        }
    }
}

/// The demo's page accounts: a doctor and a counter nurse at every hospital
/// (`doctor.h01`, `nurse.h01`...) and an auditor, sharing one password made on first use and
/// kept in `pages-password.txt` beside `auth.json` (a demo's, never a region's).
pub fn demo_accounts(data: &Path, hospitals: &[&str]) -> anyhow::Result<String> {
    let kept = data.join("pages-password.txt");
    if let Ok(p) = std::fs::read_to_string(&kept) {
        return Ok(p.trim().to_string());
    }
    let password = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let hash = auth::hash_password(&password, &salt());
    let mut config = load_or_create(data)?;
    let account = |username: String,
                   role: &str,
                   organization: Option<String>,
                   practitioner: Option<String>| auth::User {
        username,
        password: hash.clone(),
        role: role.to_string(),
        organization,
        practitioner,
        person: None,
    };
    for h in hospitals {
        let org = Some(format!("Organization/{h}"));
        config.users.push(account(
            format!("doctor.{h}"),
            "doctor",
            org.clone(),
            Some(format!("Practitioner/demo-doctor-{h}")),
        ));
        config.users.push(account(
            format!("nurse.{h}"),
            "nurse",
            org,
            Some(format!("Practitioner/demo-nurse-{h}")),
        ));
    }
    config
        .users
        .push(account("auditor".into(), "auditor", None, None));
    let names: Vec<&str> = config.users.iter().map(|u| u.username.as_str()).collect();
    let mut seen = std::collections::HashSet::new();
    if names.iter().any(|n| !seen.insert(*n)) {
        bail!("a page account of the demo already exists under another password");
    }
    save(data, &config)?;
    std::fs::write(&kept, &password)?;
    Ok(password)
}

/// A token for `principal`, valid for `seconds`.
pub fn mint(
    config: &auth::Config,
    principal: &auth::Principal,
    seconds: i64,
) -> anyhow::Result<String> {
    let keys = auth::Keys::new(&config.secret_bytes()?, &config.audience)?;
    let now = http_api::now();
    Ok(keys.issue(principal, now, seconds, &uuid::Uuid::new_v4().to_string()))
}

/// The principal a token minted here names: the caller, known by its practitioner or
/// person, else by its role.
pub fn principal(caller: policy::Caller) -> auth::Principal {
    let subject = caller
        .practitioner
        .clone()
        .or_else(|| caller.person.clone())
        .unwrap_or_else(|| format!("{}@cli", caller.role.code()));
    auth::Principal {
        caller,
        subject,
        client: None,
    }
}

/// An administrator, for the platform's own tools (the demo, the benchmarks).
pub fn operator() -> auth::Principal {
    principal(policy::Caller {
        role: Role::Admin,
        purpose: Purpose::Operations,
        organization: None,
        practitioner: None,
        person: None,
    })
}

/// A doctor of `Organization/{hospital}`, for the demo and the benchmarks.
pub fn doctor(hospital: &str, practitioner: &str, purpose: Purpose) -> auth::Principal {
    principal(policy::Caller {
        role: Role::Doctor,
        purpose,
        organization: Some(format!("Organization/{hospital}")),
        practitioner: Some(format!("Practitioner/{practitioner}")),
        person: None,
    })
}

fn path(data: &Path) -> PathBuf {
    data.join("auth.json")
}

/// The data directory's credentials, created with a fresh secret the first time.
pub fn load_or_create(data: &Path) -> anyhow::Result<auth::Config> {
    let file = path(data);
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            let mut config: auth::Config = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", file.display()))?;
            if config.audit_seed().is_none() {
                // A configuration from before the audit log: give it its key, once.
                anyhow::ensure!(
                    config.audit_key.trim().is_empty(),
                    "{}: audit_key is not 32 bytes of base64",
                    file.display()
                );
                config.audit_key = random_key();
                save(data, &config)?;
            }
            Ok(config)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let config = fresh();
            std::fs::create_dir_all(data)?;
            save(data, &config)?;
            Ok(config)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
    }
}

/// Credentials for a throwaway server (benchmarks): a fresh secret, nothing saved.
pub fn fresh() -> auth::Config {
    let mut secret = [0u8; 32];
    secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    auth::Config {
        audit_key: random_key(),
        ..auth::Config::with_secret(&secret)
    }
}

/// 32 random bytes, base64.
fn random_key() -> String {
    use base64::Engine;
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// The audit key of an existing `auth.json`, without creating one.
pub fn existing_sealer(data: &Path) -> anyhow::Result<Option<audit::Sealer>> {
    match std::fs::read_to_string(path(data)) {
        Ok(text) => {
            let config: auth::Config = serde_json::from_str(&text)?;
            Ok(config.audit_seed().map(audit::Sealer::from_seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The audit key of the data directory's configuration.
pub fn sealer(data: &Path) -> anyhow::Result<audit::Sealer> {
    let config = load_or_create(data)?;
    let seed = config
        .audit_seed()
        .context("auth.json holds no audit_key")?;
    Ok(audit::Sealer::from_seed(seed))
}

fn salt() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// Writes `auth.json` readable by its owner only, replacing it atomically.
fn save(data: &Path, config: &auth::Config) -> anyhow::Result<()> {
    let file = path(data);
    let tmp = data.join("auth.json.tmp");
    let text = serde_json::to_string_pretty(config)?;
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &file)?;
    Ok(())
}
