//! Named connection profiles ("contexts", as in the `nats` CLI): one JSON file per context in
//! `$XDG_CONFIG_HOME/natsc/context/NAME.json` (`~/.config/natsc/...` when the variable is
//! unset), the selected one named in `$XDG_CONFIG_HOME/natsc/context.txt`.
//!
//! A command uses `--context NAME`, else the selected context, else nothing; a flag given on
//! the command line always wins over the context's value.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

/// One profile: where to connect and how to authenticate. Files are stored as absolute paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Context {
    /// Free text shown by `context ls`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) description: String,
    /// Server URLs, comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<String>,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    /// Password (the file is readable by its owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) password: Option<String>,
    /// Token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
    /// Credentials file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) creds: Option<PathBuf>,
    /// NKey seed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nkey: Option<PathBuf>,
    /// Client certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cert: Option<PathBuf>,
    /// Client key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<PathBuf>,
    /// CA certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ca: Option<PathBuf>,
}

/// The directory of natsc's configuration: `$XDG_CONFIG_HOME/natsc`, or `~/.config/natsc`.
pub(crate) fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return Ok(dir.join("natsc"));
        }
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("natsc")),
        None => Err(CliError::msg(
            "cannot find the configuration directory: neither XDG_CONFIG_HOME nor HOME is set",
        )),
    }
}

/// Where contexts are kept.
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store under [`config_dir`].
    pub(crate) fn open() -> Result<Store> {
        Ok(Store { dir: config_dir()? })
    }

    fn contexts_dir(&self) -> PathBuf {
        self.dir.join("context")
    }

    fn selected_file(&self) -> PathBuf {
        self.dir.join("context.txt")
    }

    /// The file of context `name`.
    pub(crate) fn path(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.contexts_dir().join(format!("{name}.json")))
    }

    /// Context `name`; an unknown one is an error that says how to list them.
    pub(crate) fn load(&self, name: &str) -> Result<Context> {
        let path = self.path(name)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CliError::msg(format!(
                    "unknown context {name:?} (natsc context ls lists them; natsc context add \
                     {name} --server URL makes it)"
                )))
            }
            Err(e) => return Err(CliError::from(e).context(format!("reading {}", path.display()))),
        };
        serde_json::from_str(&text).map_err(|e| {
            CliError::from(e).context(format!("context {name:?} in {}", path.display()))
        })
    }

    /// Writes context `name`, readable by its owner only (it may hold a password).
    pub(crate) fn save(&self, name: &str, context: &Context) -> Result<PathBuf> {
        let path = self.path(name)?;
        let dir = self.contexts_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::from(e).context(format!("creating {}", dir.display())))?;
        let text = serde_json::to_string_pretty(context)
            .map_err(|e| CliError::from(e).context("encoding the context"))?;
        write_private(&path, format!("{text}\n").as_bytes())?;
        Ok(path)
    }

    /// Removes context `name`; when it was selected, nothing is selected any more.
    pub(crate) fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        if !path.is_file() {
            return Err(self
                .load(name)
                .err()
                .unwrap_or_else(|| CliError::msg(format!("unknown context {name:?}"))));
        }
        std::fs::remove_file(&path)
            .map_err(|e| CliError::from(e).context(format!("removing {}", path.display())))?;
        if self.selected()?.as_deref() == Some(name) {
            let file = self.selected_file();
            std::fs::remove_file(&file)
                .map_err(|e| CliError::from(e).context(format!("removing {}", file.display())))?;
        }
        Ok(())
    }

    /// The names of every context, sorted.
    pub(crate) fn names(&self) -> Result<Vec<String>> {
        let dir = self.contexts_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CliError::from(e).context(format!("listing {}", dir.display()))),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".json")?;
                check_name(stem).ok()?;
                Some(stem.to_string())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// The selected context's name, if one is selected.
    pub(crate) fn selected(&self) -> Result<Option<String>> {
        let file = self.selected_file();
        match std::fs::read_to_string(&file) {
            Ok(t) => Ok(Some(t.trim().to_string()).filter(|n| !n.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::from(e).context(format!("reading {}", file.display()))),
        }
    }

    /// Makes `name` the default context.
    pub(crate) fn select(&self, name: &str) -> Result<()> {
        self.load(name)?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| CliError::from(e).context(format!("creating {}", self.dir.display())))?;
        let file = self.selected_file();
        std::fs::write(&file, format!("{name}\n"))
            .map_err(|e| CliError::from(e).context(format!("writing {}", file.display())))
    }

    /// The context a command uses: `--context NAME`, else the selected one, else none.
    pub(crate) fn active(&self, flag: Option<&str>) -> Result<Option<(String, Context)>> {
        let name = match flag {
            Some(n) => n.to_string(),
            None => match self.selected()? {
                Some(n) => n,
                None => return Ok(None),
            },
        };
        let context = self.load(&name).map_err(|e| {
            if flag.is_none() {
                e.context(format!(
                    "the selected context (natsc context select NAME picks another, \
                     {} names it)",
                    self.selected_file().display()
                ))
            } else {
                e
            }
        })?;
        Ok(Some((name, context)))
    }
}

/// A context name: letters, digits, '-', '_' and '.', not starting with '.'.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "invalid context name {name:?}: use letters, digits, '-', '_' and '.' \
             (not starting with '.')"
        )))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::from(e).context(format!("writing {}", path.display())))?;
    // An existing file keeps its mode on open: tighten it.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    file.write_all(bytes)
        .map_err(|e| CliError::from(e).context(format!("writing {}", path.display())))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::File::create(path)
        .map_err(|e| CliError::from(e).context(format!("writing {}", path.display())))?;
    file.write_all(bytes)
        .map_err(|e| CliError::from(e).context(format!("writing {}", path.display())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["dev", "prod-eu.1", "a_b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "../x", "a/b", "with space", "a\\b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_store_round_trips_selects_and_removes() {
        let dir = std::env::temp_dir().join(format!("natsc-ctx-unit-{}", std::process::id()));
        let store = Store { dir: dir.clone() };
        let ctx = Context {
            description: "local".into(),
            url: Some("nats://127.0.0.1:4222".into()),
            password: Some("pw".into()),
            user: Some("me".into()),
            ..Context::default()
        };
        store.save("dev", &ctx).unwrap();
        assert_eq!(store.load("dev").unwrap(), ctx);
        assert_eq!(store.names().unwrap(), ["dev"]);
        assert_eq!(store.selected().unwrap(), None);
        store.select("dev").unwrap();
        assert_eq!(store.active(None).unwrap().unwrap().0, "dev");
        assert!(store.select("nope").is_err());
        store.remove("dev").unwrap();
        assert_eq!(store.selected().unwrap(), None);
        assert!(store
            .load("dev")
            .unwrap_err()
            .to_string()
            .contains("unknown context"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
