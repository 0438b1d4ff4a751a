//! `passage-emulator`: run the Passage emulator as a standalone server.
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use passage_emulator::Emulator;

const USAGE: &str = "\
passage-emulator: a local, Passage-compatible server (JWKS, management API, magic links, login page)

USAGE:
    passage-emulator [OPTIONS]

OPTIONS:
    --host <IP>            Address to bind [default: 127.0.0.1]
    --port <PORT>          Port to bind [default: 8788]
    --app-id <ID>          App ID [default: random, or the one stored in --data]
    --api-key <KEY>        Management API key [default: random, or the one stored in --data]
    --auth-origin <URL>    The app's auth origin [default: http://127.0.0.1:8080]
    --redirect-url <URL>   Where the login page redirects after sign-in [default: auth origin + /]
    --data <FILE>          Persist state (users, devices, links, keys, app settings) in FILE
    -h, --help             Print this help

Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change the level.";

struct Args {
    host: IpAddr,
    port: u16,
    app_id: Option<String>,
    api_key: Option<String>,
    auth_origin: Option<String>,
    redirect_url: Option<String>,
    data: Option<PathBuf>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        host: IpAddr::from([127, 0, 0, 1]),
        port: 8788,
        app_id: None,
        api_key: None,
        auth_origin: None,
        redirect_url: None,
        data: None,
    };
    while let Some(flag) = argv.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (flag.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--host" => {
                let v = value()?;
                args.host = v
                    .parse()
                    .map_err(|_| format!("--host: not an IP address: {v}"))?;
            }
            "--port" => {
                let v = value()?;
                args.port = v.parse().map_err(|_| format!("--port: not a port: {v}"))?;
            }
            "--app-id" => args.app_id = Some(value()?),
            "--api-key" => args.api_key = Some(value()?),
            "--auth-origin" => args.auth_origin = Some(value()?),
            "--redirect-url" => args.redirect_url = Some(value()?),
            "--data" => args.data = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
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
    let mut builder = Emulator::builder().host(args.host).port(args.port);
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
    let emu = match builder.start().await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("error: cannot start the emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Passage emulator running at {}", emu.origin());
    println!("  app ID:  {}", emu.app_id());
    println!("  API key: {}", emu.api_key());
    println!("  login:   {}/", emu.origin());
    println!("  JWKS:    {}", emu.jwks_url());
    println!();
    println!("Paste into your shell:");
    println!("export PASSAGE_APP_ID={}", emu.app_id());
    println!("export PASSAGE_API_KEY={}", emu.api_key());
    println!("export PASSAGE_AUTH_ORIGIN={}", emu.origin());
    println!("export PASSAGE_API_ORIGIN={}", emu.origin());
    println!();
    println!("Press Ctrl-C to stop.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot listen for Ctrl-C: {e}");
    }
    eprintln!("shutting down");
    emu.shutdown().await;
    ExitCode::SUCCESS
}
