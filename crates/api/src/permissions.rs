//! Permission names as stored (the cache's grants, lock files) and as the
//! `manifest` crate knows them.

use std::collections::BTreeSet;

use manifest::{Permission, UnknownPermission};

/// Parses stored permission names (a cache grant, a lock file's `grants`)
/// into the vocabulary of this build. The first unknown name fails the whole
/// set: a grant that cannot be read is not half applied.
pub fn parse_permissions<I>(names: I) -> Result<BTreeSet<Permission>, UnknownPermission>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    names.into_iter().map(|name| name.as_ref().parse()).collect()
}

/// The names to store for `permissions`, e.g. in [`cache::BundleCache::set_grants`].
pub fn permission_names(permissions: &BTreeSet<Permission>) -> BTreeSet<String> {
    permissions.iter().map(|permission| permission.as_str().to_owned()).collect()
}
