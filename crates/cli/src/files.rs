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

/// Writes `contents` to `path`; with `secret`, the file is created with mode 0600 before any
/// byte is written. Refuses to replace an existing file unless `force`.
pub(crate) fn write_file(
    path: &Path,
    contents: &str,
    secret: bool,
    force: bool,
) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).with_context(|| {
        if path.exists() && !force {
            format!("{} exists (use --force to overwrite)", path.display())
        } else {
            format!("cannot create {}", path.display())
        }
    })?;
    #[cfg(unix)]
    if secret {
        // An existing file keeps its old mode when truncated: tighten it.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
