//! `koodrive-emulator [--port N] [--auth-code CODE] [--token-lifetime SECONDS]
//! [--page-size N]`: serve a local KooDrive on 127.0.0.1 and print how to reach it.

use std::time::Duration;

use koodrive_emulator::{Config, Emulator};

const USAGE: &str = "usage: koodrive-emulator [--port N] [--auth-code CODE] \
[--token-lifetime SECONDS] [--page-size N] | --list-emulated";

fn parse_args() -> Result<Config, String> {
    let mut config = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if name == "--list-emulated" {
            for op in koodrive_emulator::EMULATED {
                println!("{op}");
            }
            std::process::exit(0);
        }
        if !["--port", "--auth-code", "--token-lifetime", "--page-size"].contains(&name.as_str()) {
            return Err(format!("unknown option {name}\n{USAGE}"));
        }
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
        };
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match name.as_str() {
            "--port" => {
                config.port = u16::try_from(number(&value)?)
                    .map_err(|_| format!("--port: out of range: {value}"))?
            }
            "--auth-code" => config.auth_code = value,
            "--token-lifetime" => config.token_lifetime = Duration::from_secs(number(&value)?),
            "--page-size" => config.default_page_size = number(&value)?.max(1) as usize,
            _ => return Err(format!("unknown option {name}\n{USAGE}")),
        }
    }
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let emulator = match Emulator::start(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("koodrive-emulator: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    let session = emulator.issue_session();
    println!("KooDrive emulator (in memory; stop with Ctrl-C)");
    println!("base URL:      {}", emulator.base_url());
    println!("auth code:     {}", emulator.auth_code());
    println!("access token:  {}", session.access_token);
    println!("session id:    {}", session.session_id);
    println!("container id:  {}", emulator.container_id());
    println!(
        "token lifetime: {} s (sliding)",
        emulator.config().token_lifetime.as_secs()
    );
    std::future::pending::<()>().await;
}
