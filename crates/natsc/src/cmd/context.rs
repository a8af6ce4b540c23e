//! `natsc context add|ls|select|rm|info`: named connection profiles, as the `nats` CLI's.
//! `context add NAME` stores the connection flags given with it (`--server`, `--user`,
//! `--password`, `--token`, `--creds`, `--nkey`, `--tls-ca`, `--tls-cert`, `--tls-key`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::conn::ConnFlags;
use crate::context::{Context, Store};
use crate::error::{CliError, Result};

/// Named connection profiles.
#[derive(Args)]
pub(crate) struct ContextArgs {
    #[command(subcommand)]
    command: ContextCommand,
}

#[derive(Subcommand)]
enum ContextCommand {
    /// Save a context from the connection flags given with it (replaces one of the same name)
    #[command(visible_alias = "save")]
    Add {
        /// The context's name
        name: String,
        /// A description shown by context ls
        #[arg(long)]
        description: Option<String>,
        /// Also make it the default context
        #[arg(long)]
        select: bool,
    },
    /// List the contexts; the selected one is marked with *
    #[command(visible_alias = "list")]
    Ls,
    /// Make a context the default for every command
    Select {
        /// The context's name
        name: String,
    },
    /// Remove a context
    #[command(visible_alias = "remove")]
    Rm {
        /// The context's name
        name: String,
        /// Remove without asking
        #[arg(long, short)]
        force: bool,
    },
    /// Show a context (the selected one when no name is given); secrets are masked
    #[command(visible_alias = "show")]
    Info {
        /// The context's name
        name: Option<String>,
    },
}

/// Runs a context subcommand; `conn` are the flags as given (no context applied).
pub(crate) async fn run(args: ContextArgs, conn: &ConnFlags) -> Result<()> {
    let store = Store::open()?;
    match args.command {
        ContextCommand::Add {
            name,
            description,
            select,
        } => add(&store, &name, description, select, conn),
        ContextCommand::Ls => ls(&store),
        ContextCommand::Select { name } => {
            store.select(&name)?;
            eprintln!("natsc: context {name:?} selected");
            Ok(())
        }
        ContextCommand::Rm { name, force } => {
            store.load(&name)?;
            if !force && !super::stream::confirm(&format!("Really remove context {name:?}"))? {
                return Ok(());
            }
            store.remove(&name)?;
            eprintln!("natsc: context {name:?} removed");
            Ok(())
        }
        ContextCommand::Info { name } => {
            let name = match name.or(store.selected()?) {
                Some(n) => n,
                None => {
                    return Err(CliError::msg(
                        "no context selected and no name given (natsc context ls lists them)",
                    ))
                }
            };
            info(&store, &name)
        }
    }
}

fn add(
    store: &Store,
    name: &str,
    description: Option<String>,
    select: bool,
    conn: &ConnFlags,
) -> Result<()> {
    crate::context::check_name(name)?;
    if conn.context.is_some() {
        return Err(CliError::msg(
            "context add takes the connection flags themselves, not --context",
        ));
    }
    if let Some(urls) = &conn.server {
        if urls.split(',').any(|u| u.trim().is_empty()) {
            return Err(CliError::msg(format!("invalid server URL {urls:?}: empty")));
        }
        for url in urls.split(',') {
            nats_client::ServerAddr::parse(url.trim())?;
        }
    }
    let context = Context {
        description: description.unwrap_or_default(),
        url: conn.server.clone(),
        user: conn.user.clone(),
        password: conn.password.clone(),
        token: conn.token.clone(),
        creds: absolute(conn.creds.as_deref())?,
        nkey: match &conn.nkey {
            Some(n) if n.to_string_lossy().starts_with("SU") && !n.exists() => Some(n.clone()),
            other => absolute(other.as_deref())?,
        },
        cert: absolute(conn.tls_cert.as_deref())?,
        key: absolute(conn.tls_key.as_deref())?,
        ca: absolute(conn.tls_ca.as_deref())?,
    };
    let path = store.save(name, &context)?;
    eprintln!("natsc: context {name:?} saved in {}", path.display());
    if select {
        store.select(name)?;
        eprintln!("natsc: context {name:?} selected");
    }
    Ok(())
}

fn absolute(path: Option<&Path>) -> Result<Option<PathBuf>> {
    path.map(|p| {
        std::path::absolute(p).map_err(|e| CliError::from(e).context(p.display().to_string()))
    })
    .transpose()
}

fn ls(store: &Store) -> Result<()> {
    let names = store.names()?;
    if names.is_empty() {
        eprintln!("natsc: no contexts yet (natsc context add NAME --server URL makes one)");
        return Ok(());
    }
    let selected = store.selected()?;
    let width = names.iter().map(String::len).max().unwrap_or(4).max(4);
    println!("  {:<width$}  {:<30}  DESCRIPTION", "NAME", "SERVER");
    for name in names {
        let mark = if selected.as_deref() == Some(name.as_str()) {
            '*'
        } else {
            ' '
        };
        match store.load(&name) {
            Ok(c) => println!(
                "{mark} {name:<width$}  {:<30}  {}",
                crate::util::shown_urls(c.url.as_deref().unwrap_or(crate::conn::DEFAULT_URL)),
                c.description
            ),
            Err(e) => println!("{mark} {name:<width$}  (unreadable: {e})"),
        }
    }
    Ok(())
}

fn info(store: &Store, name: &str) -> Result<()> {
    let c = store.load(name)?;
    let selected = store.selected()?.as_deref() == Some(name);
    let mask = |s: &Option<String>| s.as_ref().map(|_| "*****".to_string());
    let file = |p: &Option<PathBuf>| {
        p.as_ref().map(|p| {
            let state = if p.is_file() { "OK" } else { "MISSING" };
            format!("{} ({state})", p.display())
        })
    };
    println!(
        "Context {name:?}{}\n",
        if selected { " (selected)" } else { "" }
    );
    let rows = [
        (
            "Description",
            Some(c.description.clone()).filter(|d| !d.is_empty()),
        ),
        (
            "Server URLs",
            Some(
                c.url
                    .as_deref()
                    .map(crate::util::shown_urls)
                    .unwrap_or_else(|| format!("{} (default)", crate::conn::DEFAULT_URL)),
            ),
        ),
        ("User", c.user.clone()),
        ("Password", mask(&c.password)),
        ("Token", mask(&c.token)),
        ("Credentials", file(&c.creds)),
        ("NKey", file(&c.nkey)),
        ("Certificate", file(&c.cert)),
        ("Key", file(&c.key)),
        ("CA", file(&c.ca)),
        ("Path", Some(store.path(name)?.display().to_string())),
    ];
    for (k, v) in rows {
        if let Some(v) = v {
            println!("  {k:>12}: {v}");
        }
    }
    Ok(())
}
