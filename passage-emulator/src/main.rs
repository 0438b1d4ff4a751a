//! `passage-emulator`: run the Passage emulator as a standalone server.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use passage_emulator::Emulator;

/// A local, Passage-compatible server: JWKS, management API, magic links, login page.
///
/// Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change the level.
#[derive(Debug, Parser)]
#[command(name = "passage-emulator", version, about)]
struct Args {
    /// Address to bind: an IP address or `localhost`
    #[arg(long, env = "PASSAGE_EMULATOR_HOST", default_value = "127.0.0.1", value_parser = parse_host)]
    host: IpAddr,

    /// Port to bind (also read from PORT) [default: 8788]
    #[arg(long, env = "PASSAGE_EMULATOR_PORT")]
    port: Option<u16>,

    /// App ID [default: random, or the one stored in --data]
    #[arg(long, env = "PASSAGE_EMULATOR_APP_ID")]
    app_id: Option<String>,

    /// Management API key [default: random, or the one stored in --data]
    #[arg(long, env = "PASSAGE_EMULATOR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,

    /// The app's auth origin [default: http://localhost:8080]
    #[arg(long, env = "PASSAGE_EMULATOR_AUTH_ORIGIN")]
    auth_origin: Option<String>,

    /// Where the login page redirects after sign-in [default: auth origin + /]
    #[arg(long, env = "PASSAGE_EMULATOR_REDIRECT_URL")]
    redirect_url: Option<String>,

    /// Persist state (users, devices, links, keys, app settings) in this file
    #[arg(long, env = "PASSAGE_EMULATOR_DATA", value_name = "FILE")]
    data: Option<PathBuf>,

    /// Also serve requests for this host name, e.g. a container's service name (repeatable;
    /// comma-separated in the variable). Loopback names and IP addresses are always served
    #[arg(
        long = "allowed-host",
        env = "PASSAGE_EMULATOR_ALLOWED_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,

    /// Where browsers open the login page [default: http://localhost:PORT, or the auth origin's
    /// address if that is an IP]. Passkeys are made for it (its host is their RP ID: a domain;
    /// on an IP address passkeys are off); magic links point there
    #[arg(long, env = "PASSAGE_EMULATOR_LOGIN_ORIGIN", value_name = "ORIGIN")]
    login_origin: Option<String>,
}

fn parse_host(text: &str) -> Result<IpAddr, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.parse()
        .map_err(|_| format!("not an IP address or `localhost`: {text}"))
}

/// The port: the flag or `PASSAGE_EMULATOR_PORT`, else `PORT`, else 8788.
fn port(args: &Args) -> Result<u16, String> {
    if let Some(port) = args.port {
        return Ok(port);
    }
    match std::env::var("PORT") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("PORT is not a port number: {text}")),
        Err(_) => Ok(8788),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let port = match port(&args) {
        Ok(port) => port,
        Err(e) => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            return ExitCode::from(2);
        }
    };
    if !args.host.is_loopback() {
        eprintln!(
            "\n!!! WARNING: binding {} (not loopback). The emulator has NO real security: anyone who \
can reach this address can mint tokens and read users. Use it on trusted networks only. !!!\n",
            args.host
        );
    }
    let mut builder = Emulator::builder().host(args.host).port(port);
    if let Some(v) = args.app_id {
        builder = builder.app_id(v);
    }
    if let Some(v) = args.api_key {
        builder = builder.api_key(v);
    }
    if let Some(v) = args.auth_origin {
        builder = builder.auth_origin(v);
    }
    if let Some(v) = args.redirect_url {
        builder = builder.redirect_url(v);
    }
    if let Some(v) = args.data {
        builder = builder.data_file(v);
    }
    for host in args.allowed_hosts {
        builder = builder.allowed_host(host);
    }
    if let Some(v) = args.login_origin {
        builder = builder.login_origin(v);
    }
    let emu = match builder.start().await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("error: cannot start the emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A reader that closes stdout early (`| head`) must not stop the server: the banner is
    // written once, and a failed write is only logged (`println!` would panic).
    let banner = format!(
        "Passage emulator running at {origin}\n  app ID:  {app_id}\n  API key: {api_key}\n  \
         login:   {login} (passkeys or magic links)\n  JWKS:    {jwks}\n\nPaste into your shell:\n\
         export PASSAGE_APP_ID={app_id}\nexport PASSAGE_API_KEY={api_key}\n\
         export PASSAGE_AUTH_ORIGIN={origin}\nexport PASSAGE_API_ORIGIN={origin}\n\n\
         Press Ctrl-C to stop.\n",
        origin = emu.origin(),
        login = emu.login_url(),
        app_id = emu.app_id(),
        api_key = emu.api_key(),
        jwks = emu.jwks_url(),
    );
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush())
    {
        tracing::warn!(%error, "could not print the banner to stdout; serving anyway");
    }
    drop(stdout);
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot listen for Ctrl-C: {e}");
    }
    eprintln!("shutting down");
    emu.shutdown().await;
    ExitCode::SUCCESS
}
