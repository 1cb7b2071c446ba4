//! The `messenger` command: `serve` (default), `migrate`, `print-schema`, and admin tasks.

use std::io::Read;

use anyhow::{Context, bail};
use messenger::config::Config;
use messenger::error::AppError;
use messenger::models::user::Role;
use messenger::services::accounts::{self, Registration};
use messenger::services::input::{DisplayName, Password, Username};
use messenger::services::{attachments, avatars};
use messenger::{Server, build_app, db, graphql};

/// mimalloc: the profile of the benchmarks showed a third of the server's CPU in glibc's
/// malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage:
  messenger [serve]                 run the server (configuration: see README.md)
  messenger migrate [--revert-all]  apply pending migrations (or revert them all) and exit
  messenger print-schema            print the GraphQL SDL (regenerates schema.graphql)
  messenger admin create-user --username NAME [--display-name NAME] [--admin]
                                    create an account; the password is read from stdin
  messenger media sweep [--min-age-secs N]
                                    delete stored pictures no user uses and attachment
                                    objects without a message, written at least N seconds
                                    ago (default 3600), and uploads not sent within
                                    MESSENGER_UPLOAD_TTL_SECS
  messenger healthcheck             exit 0 if the server at MESSENGER_LISTEN answers
                                    /healthz within 3 s (for container health checks)";

fn main() -> std::process::ExitCode {
    // Before anything logs; kept until exit, so buffered spans are flushed.
    let _telemetry = match messenger::telemetry::init() {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => serve(Config::from_env()?).await,
        ["migrate"] => migrate(Config::from_env()?, false).await,
        ["migrate", "--revert-all"] => migrate(Config::from_env()?, true).await,
        ["print-schema"] => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        ["admin", "create-user", rest @ ..] => create_user(Config::from_env()?, rest).await,
        ["media", "sweep", rest @ ..] => sweep_media(Config::from_env()?, rest).await,
        ["healthcheck"] => healthcheck(Config::from_env()?.listen).await,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("unknown command\n{USAGE}"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let server = Server::start(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen} (set MESSENGER_LISTEN to change it)"))?;
    let addr = listener.local_addr()?;
    // Both listeners are bound before the one line that says where they are (tests and
    // operators read it).
    let metrics_listener = match server.state.config.metrics_listen {
        Some(metrics_listen) => Some(
            tokio::net::TcpListener::bind(metrics_listen)
                .await
                .with_context(|| {
                    format!("listening on {metrics_listen} (MESSENGER_METRICS_LISTEN)")
                })?,
        ),
        None => None,
    };
    let metrics_at = match &metrics_listener {
        Some(l) => format!("http://{}/metrics", l.local_addr()?),
        None => format!("http://{addr}/metrics"),
    };
    tracing::info!(
        "listening on http://{addr} (the web client at http://{addr}/, GraphiQL at \
         http://{addr}/graphql, metrics at {metrics_at})"
    );
    if let Some(listener) = metrics_listener {
        let metrics = messenger::metrics::router(server.state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let app = build_app(server.state.clone());
    let hub = server.state.hub.clone();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Sockets are not HTTP requests to axum: tell them to flush and go away.
            hub.shutdown();
        })
        .await;
    tracing::info!("stopped accepting requests; in-flight requests finished");
    server.shutdown().await?;
    served.context("serving HTTP")
}

/// GET /healthz on the server's own port: container images carry no curl, and this is the
/// one request it needs.
async fn healthcheck(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server listening on every interface is reached on loopback.
    let addr = match listen.ip() {
        ip if ip.is_unspecified() => std::net::SocketAddr::from(([127, 0, 0, 1], listen.port())),
        _ => listen,
    };
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), check)
        .await
        .with_context(|| format!("no answer from {addr} within 3 s"))??;
    if !answer.starts_with(b"HTTP/1.0 200") && !answer.starts_with(b"HTTP/1.1 200") {
        bail!(
            "{addr}/healthz answered {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(40)])
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Applies (or reverts) the migrations and nothing else: no signing key, no event hub, no
/// media store, so a one-shot migration job needs only the database.
async fn migrate(config: Config, revert_all: bool) -> anyhow::Result<()> {
    let (url, mut private_postgres) = messenger::database(&config).await?;
    let migrated = async {
        db::ensure_database(&url).await?;
        if revert_all {
            db::revert_all_migrations(&url).await?;
            tracing::info!("reverted all migrations");
        } else {
            db::run_migrations(&url).await?;
            tracing::info!("migrations are up to date");
        }
        anyhow::Ok(())
    }
    .await;
    if let Some(pg) = private_postgres.as_mut() {
        pg.stop().await.context("stopping the private PostgreSQL")?;
    }
    migrated
}

async fn create_user(config: Config, args: &[&str]) -> anyhow::Result<()> {
    let mut username = None;
    let mut display_name = None;
    let mut admin = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--username" => username = rest.next().copied(),
            "--display-name" => display_name = rest.next().copied(),
            "--admin" => admin = true,
            "--password" => bail!("the password is read from stdin, never from the command line"),
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    let Some(username) = username else {
        bail!("--username is required\n{USAGE}");
    };
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from stdin")?;
    let password = password.trim_end_matches(['\n', '\r']);
    let registration = Registration {
        username: Username::parse(username).map_err(AppError::into_anyhow)?,
        password: Password::parse(password).map_err(AppError::into_anyhow)?,
        display_name: DisplayName::parse(display_name.unwrap_or(username))
            .map_err(AppError::into_anyhow)?,
        location: None,
    };
    let role = if admin { Role::Admin } else { Role::User };
    let server = Server::start(config).await?;
    let result = accounts::create_account(&server.state, registration, role).await;
    server.shutdown().await?;
    let (user, _) = result.map_err(AppError::into_anyhow)?;
    println!("created {} {} ({})", role.as_str(), user.username, user.id);
    Ok(())
}

async fn sweep_media(config: Config, args: &[&str]) -> anyhow::Result<()> {
    let min_age_secs = match args {
        [] => 3600,
        ["--min-age-secs", n] => n
            .parse::<u64>()
            .with_context(|| format!("--min-age-secs takes a number of seconds, not {n:?}"))?,
        _ => bail!("unknown options\n{USAGE}"),
    };
    let min_age = std::time::Duration::from_secs(min_age_secs);
    let server = Server::start(config).await?;
    let state = &server.state;
    let result = async {
        let pictures = avatars::sweep(state, min_age).await?;
        let files = attachments::sweep(state, state.config.upload_ttl, min_age).await?;
        Ok::<_, AppError>((pictures, files))
    }
    .await;
    server.shutdown().await?;
    let (pictures, files) = result.map_err(AppError::into_anyhow)?;
    println!(
        "{} stored pictures, {} unused ones deleted; {} uploads never sent and {} attachment \
         objects without a message deleted",
        pictures.found, pictures.deleted, files.unsent, files.orphans
    );
    Ok(())
}
