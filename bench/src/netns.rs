//! The generator's guard against sending onto a real network: it must run in a network
//! namespace other than the one of process 1 (the host's, or a container's own).

use std::path::Path;

use anyhow::{Result, bail};

/// Returns true when this process shares its network namespace with process 1, or, when
/// process 1's namespace cannot be read, with the kernel thread kthreadd (process 2 on
/// a host), which always lives in the initial network namespace.
///
/// NOTE: process 1 can be unreadable even for root (a non-dumpable init, as on this
/// project's build machines), hence the kthreadd fallback.
pub fn in_root_namespace() -> Result<bool> {
    let own = namespace_id(Path::new("/proc/self/ns/net"))?;
    if let Ok(init) = namespace_id(Path::new("/proc/1/ns/net")) {
        return Ok(own == init);
    }
    let kthreadd = std::fs::read_to_string("/proc/2/comm").unwrap_or_default();
    if kthreadd.trim() == "kthreadd"
        && let Ok(initial) = namespace_id(Path::new("/proc/2/ns/net"))
    {
        return Ok(own == initial);
    }
    bail!(
        "cannot tell whether this is the root network namespace: reading /proc/1/ns/net \
         failed (it needs root); pass --allow-root-namespace to send anyway"
    )
}

/// Reads a namespace link such as `net:[4026531833]`.
fn namespace_id(link: &Path) -> Result<String> {
    let target = std::fs::read_link(link)
        .map_err(|error| anyhow::anyhow!("failed to read {}: {error}", link.display()))?;
    Ok(target.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_id_of_self() {
        let id = namespace_id(Path::new("/proc/self/ns/net")).unwrap();
        assert!(id.starts_with("net:["), "{id}");
    }
}
