//! Publish-time checks beyond parsing: the same rules the resolver applies
//! before mounting (DESIGN.md §5: the registry refuses a manifest that
//! cannot be satisfied), run with the `manifest` crate's types.

use manifest::{HostProfile, RemoteManifest, Version, VersionReq};
use registry::{RemoteIndex, author::documents};

/// Why a manifest cannot be satisfied, one sentence per problem.
pub fn unsatisfiable(
    manifest: &RemoteManifest,
    profile: &HostProfile,
    required: &dyn Fn(&str) -> Option<RemoteIndex>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ranges: Vec<(String, &VersionReq)> = vec![("hostApi".into(), &manifest.host_api)];
    ranges.extend(manifest.shared.iter().map(|(package, req)| (format!("shared.{package}"), req)));
    ranges.extend(manifest.requires.iter().map(|(remote, req)| (format!("requires.{remote}"), req)));
    for (field, req) in &ranges {
        if !can_match(req) {
            problems.push(format!("`{field}` is {req}, which no version can satisfy"));
        }
    }
    if problems.is_empty() {
        problems.extend(
            documents::compatibility_problems(manifest, profile)
                .iter()
                .map(|problem| format!("it {problem} (the registry's host profile)")),
        );
    }
    for (remote, req) in &manifest.requires {
        let Some(index) = required(remote) else {
            problems.push(format!(
                "it requires {remote} {req}, which this registry does not offer; publish {remote} first"
            ));
            continue;
        };
        let offered = index.versions.iter().any(|entry| !entry.yanked && req.matches(&entry.manifest.version));
        if !offered {
            problems
                .push(format!("it requires {remote} {req}, but no published, non-yanked version of {remote} matches"));
        }
    }
    problems
}

/// Whether any version satisfies `req`. The smallest matching version, if
/// there is one, is 0.0.0 or the lower bound of some comparator (possibly
/// bumped once past an exclusive bound), so testing those is enough.
pub fn can_match(req: &VersionReq) -> bool {
    let mut candidates = vec![Version::new(0, 0, 0)];
    for comparator in &req.comparators {
        let major = comparator.major;
        let minor = comparator.minor.unwrap_or(0);
        let patch = comparator.patch.unwrap_or(0);
        let mut base = Version::new(major, minor, patch);
        base.pre = comparator.pre.clone();
        candidates.push(base);
        candidates.push(Version::new(major, minor, patch + 1));
        candidates.push(Version::new(major, minor + 1, 0));
        candidates.push(Version::new(major + 1, 0, 0));
    }
    candidates.iter().any(|version| req.matches(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> VersionReq {
        VersionReq::parse(text).expect("test range parses")
    }

    #[test]
    fn satisfiable_ranges_are_recognised() {
        for text in ["*", "^1.2", "~0.3.1", ">=2, <3", ">1.2.3", "=4.5.6", "<0.0.1", ">1.2", "1.*"] {
            assert!(can_match(&req(text)), "{text} has matching versions");
        }
    }

    #[test]
    fn empty_ranges_are_refused() {
        for text in [">=2, <1", "^1, ^2", ">1.2.3, <1.2.4", "<0.0.0", ">=1.0.0, <1.0.0"] {
            assert!(!can_match(&req(text)), "{text} matches nothing");
        }
    }
}
