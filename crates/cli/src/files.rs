//! File helpers: private keys are read only from owner-only files and written 0600.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};

/// Reads a private key file, refusing one that group or others may read.
pub(crate) fn read_private_key(path: &Path) -> anyhow::Result<String> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read key file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "key file {} has mode {mode:03o}; private keys must be readable by their owner only (chmod 600 {})",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    fs::read_to_string(path).with_context(|| format!("cannot read key file {}", path.display()))
}

/// Writes `contents` to `path` through a temporary file in the same directory, renamed into
/// place: a reader never sees half a file. With `secret`, the temporary file is created with
/// mode 0600 before any byte is written. Refuses to replace an existing file unless `force`.
pub(crate) fn write_file(
    path: &Path,
    contents: &str,
    secret: bool,
    force: bool,
) -> anyhow::Result<()> {
    if !force && path.exists() {
        anyhow::bail!("{} exists (use --force to overwrite)", path.display());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let result = (|| -> anyhow::Result<()> {
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", tmp.display()))?;
        }
        file.write_all(contents.as_bytes())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
