use std::collections::BTreeMap;
use std::fmt;

use semver::{Version, VersionReq};

use crate::{HostProfile, RemoteManifest};

/// A version a registry offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub manifest: RemoteManifest,
    pub yanked: bool,
}

/// What to select, against which host, with which pins.
#[derive(Debug, Clone, Copy)]
pub struct SelectionRequest<'a> {
    /// Remotes to select; remotes they `require` are added. Empty means every
    /// remote the registry offers.
    pub wanted: &'a [String],
    pub pins: &'a BTreeMap<String, Version>,
    pub profile: &'a HostProfile,
    /// Pre-releases are only chosen when pinned, unless this is set.
    pub allow_prerelease: bool,
}

/// The versions chosen, one per remote.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub chosen: BTreeMap<String, Chosen>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub version: Version,
    pub pinned: bool,
    pub yanked: bool,
    /// Versions newer than the chosen one, newest first, with the reason each
    /// was passed over.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub version: Version,
    pub reason: Incompatibility,
}

/// Why one version of a remote cannot be used.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Incompatibility {
    Yanked,
    PreRelease,
    NotPinned {
        pinned: Version,
    },
    HostApi {
        needs: VersionReq,
        provided: Version,
    },
    SharedNotProvided {
        package: String,
        needs: VersionReq,
    },
    Shared {
        package: String,
        needs: VersionReq,
        provided: Version,
    },
    /// Another selected remote needs a different range of this one.
    RequiredBy {
        remote: String,
        remote_version: Version,
        needs: VersionReq,
    },
    /// This version needs a remote (or a range of it) that cannot be selected;
    /// `selected` is the version of it that was chosen instead, if any.
    Requires {
        remote: String,
        needs: VersionReq,
        selected: Option<Version>,
    },
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Yanked => write!(f, "is yanked"),
            Self::PreRelease => write!(f, "is a pre-release (pin it to use it)"),
            Self::NotPinned { pinned } => write!(f, "is not the pinned version {pinned}"),
            Self::HostApi { needs, provided } => {
                write!(f, "needs host API {needs}, this app provides {provided}")
            }
            Self::SharedNotProvided { package, needs } => {
                write!(f, "needs shared {package} {needs}, which this app does not provide")
            }
            Self::Shared { package, needs, provided } => {
                write!(f, "needs shared {package} {needs}, this app provides {provided}")
            }
            Self::RequiredBy { remote, remote_version, needs } => {
                write!(f, "{remote} {remote_version} needs {needs}")
            }
            Self::Requires { remote, needs, selected: Some(selected) } => {
                write!(f, "needs {remote} {needs}, but {remote} {selected} is selected")
            }
            Self::Requires { remote, needs, selected: None } => {
                write!(f, "needs {remote} {needs}, which cannot be selected with the rest")
            }
        }
    }
}

impl Chosen {
    /// "2.0.0 needs host API ^2.0, this app provides 1.0.0; newest compatible is 1.7.3",
    /// or `None` when the newest stable version was chosen.
    pub fn fallback_reason(&self) -> Option<String> {
        let passed_over: Vec<String> = self
            .skipped
            .iter()
            .filter(|skip| !matches!(skip.reason, Incompatibility::PreRelease | Incompatibility::NotPinned { .. }))
            .map(|skip| format!("{} {}", skip.version, skip.reason))
            .collect();
        if passed_over.is_empty() {
            return None;
        }
        Some(format!("{}; newest compatible is {}", passed_over.join("; "), self.version))
    }
}

/// Why no selection could be made, in words a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    #[error("{name} is not in the registry{}", required_by.as_ref().map(|by| format!(" (required by {by})")).unwrap_or_default())]
    UnknownRemote { name: String, required_by: Option<String> },
    #[error("{name} is pinned to {pinned}, which the registry does not offer: pin an offered version or unpin it")]
    PinnedMissing { name: String, pinned: Version },
    #[error("{name} is pinned to {pinned}, which {reason}: unpin it to use a compatible version")]
    PinnedIncompatible { name: String, pinned: Version, reason: Box<Incompatibility> },
    #[error("no version of {name} works with this app: {}. {hint}", describe(.skipped))]
    NoCompatibleVersion { name: String, skipped: Vec<Skipped>, hint: String },
    #[error("no combination of versions fits: {detail}")]
    Conflict { detail: String },
    #[error("the remotes' requirements are too tangled to solve in {steps} steps: pin some versions")]
    TooComplex { steps: usize },
}

fn describe(skipped: &[Skipped]) -> String {
    skipped.iter().map(|skip| format!("{} {}", skip.version, skip.reason)).collect::<Vec<_>>().join("; ")
}

/// Backtracking beyond this many tries means the constraints are pathological.
const MAX_STEPS: usize = 10_000;

/// Picks one version per wanted remote (and the remotes they require).
pub fn select(
    available: &BTreeMap<String, Vec<Candidate>>,
    request: SelectionRequest<'_>,
) -> Result<Selection, SelectError> {
    let wanted: Vec<String> =
        if request.wanted.is_empty() { available.keys().cloned().collect() } else { request.wanted.to_vec() };
    let mut solver = Solver::new(available, request);
    for name in &wanted {
        solver.check_selectable(name, None)?;
    }
    let chosen = match solver.solve(wanted, BTreeMap::new())? {
        Some(chosen) => chosen,
        None => {
            let detail =
                solver.dead_ends.last().cloned().unwrap_or_else(|| "the remotes' requires exclude each other".into());
            return Err(SelectError::Conflict { detail });
        }
    };
    let chosen = chosen
        .iter()
        .map(|(name, candidate)| {
            let skipped = solver.skipped_newer(name, candidate, &chosen);
            let pinned = request.pins.contains_key(name);
            let entry =
                Chosen { version: candidate.manifest.version.clone(), pinned, yanked: candidate.yanked, skipped };
            (name.clone(), entry)
        })
        .collect();
    Ok(Selection { chosen })
}

/// Whether a candidate fits the host and the pins, ignoring other remotes.
fn host_incompatibility(
    candidate: &Candidate,
    profile: &HostProfile,
    pin: Option<&Version>,
    allow_prerelease: bool,
) -> Option<Incompatibility> {
    let manifest = &candidate.manifest;
    if let Some(pinned) = pin {
        if *pinned != manifest.version {
            return Some(Incompatibility::NotPinned { pinned: pinned.clone() });
        }
    } else {
        if candidate.yanked {
            return Some(Incompatibility::Yanked);
        }
        if !manifest.version.pre.is_empty() && !allow_prerelease {
            return Some(Incompatibility::PreRelease);
        }
    }
    if !manifest.host_api.matches(&profile.host_api) {
        return Some(Incompatibility::HostApi { needs: manifest.host_api.clone(), provided: profile.host_api.clone() });
    }
    for (package, needs) in &manifest.shared {
        match profile.shared.get(package) {
            None => return Some(Incompatibility::SharedNotProvided { package: package.clone(), needs: needs.clone() }),
            Some(provided) if !needs.matches(provided) => {
                return Some(Incompatibility::Shared {
                    package: package.clone(),
                    needs: needs.clone(),
                    provided: provided.clone(),
                });
            }
            Some(_) => {}
        }
    }
    None
}

/// Whether `candidate` and the already chosen remotes agree on each other's `requires`.
fn requires_conflict(candidate: &Candidate, chosen: &BTreeMap<String, &Candidate>) -> Option<Incompatibility> {
    let name = &candidate.manifest.name;
    for (other_name, other) in chosen {
        if other_name == name {
            continue;
        }
        if let Some(needs) = other.manifest.requires.get(name)
            && !needs.matches(&candidate.manifest.version)
        {
            return Some(Incompatibility::RequiredBy {
                remote: other_name.clone(),
                remote_version: other.manifest.version.clone(),
                needs: needs.clone(),
            });
        }
        if let Some(needs) = candidate.manifest.requires.get(other_name)
            && !needs.matches(&other.manifest.version)
        {
            return Some(Incompatibility::Requires {
                remote: other_name.clone(),
                needs: needs.clone(),
                selected: Some(other.manifest.version.clone()),
            });
        }
    }
    None
}

struct Solver<'a> {
    available: &'a BTreeMap<String, Vec<Candidate>>,
    request: SelectionRequest<'a>,
    /// Per remote: the versions that fit the host and pins, newest first.
    usable: BTreeMap<&'a str, Vec<&'a Candidate>>,
    steps: usize,
    dead_ends: Vec<String>,
}

impl<'a> Solver<'a> {
    fn new(available: &'a BTreeMap<String, Vec<Candidate>>, request: SelectionRequest<'a>) -> Self {
        let usable = available
            .iter()
            .map(|(name, candidates)| {
                let pin = request.pins.get(name);
                let mut fitting: Vec<&Candidate> = candidates
                    .iter()
                    .filter(|c| host_incompatibility(c, request.profile, pin, request.allow_prerelease).is_none())
                    .collect();
                fitting.sort_by(|a, b| b.manifest.version.cmp(&a.manifest.version));
                (name.as_str(), fitting)
            })
            .collect();
        Self { available, request, usable, steps: 0, dead_ends: Vec::new() }
    }

    /// The error for a remote that can never be selected, whatever else is chosen.
    fn check_selectable(&self, name: &str, required_by: Option<&str>) -> Result<(), SelectError> {
        let Some(candidates) = self.available.get(name) else {
            return Err(SelectError::UnknownRemote { name: name.into(), required_by: required_by.map(Into::into) });
        };
        if self.usable.get(name).is_some_and(|usable| !usable.is_empty()) {
            return Ok(());
        }
        if let Some(pinned) = self.request.pins.get(name) {
            return match candidates.iter().find(|c| c.manifest.version == *pinned) {
                None => Err(SelectError::PinnedMissing { name: name.into(), pinned: pinned.clone() }),
                Some(c) => {
                    let reason = host_incompatibility(c, self.request.profile, Some(pinned), true)
                        .unwrap_or(Incompatibility::NotPinned { pinned: pinned.clone() });
                    Err(SelectError::PinnedIncompatible {
                        name: name.into(),
                        pinned: pinned.clone(),
                        reason: Box::new(reason),
                    })
                }
            };
        }
        let mut skipped: Vec<Skipped> = candidates
            .iter()
            .filter_map(|c| {
                host_incompatibility(c, self.request.profile, None, self.request.allow_prerelease)
                    .map(|reason| Skipped { version: c.manifest.version.clone(), reason })
            })
            .collect();
        skipped.sort_by(|a, b| b.version.cmp(&a.version));
        let hint = hint_for(&skipped, self.request.profile);
        Err(SelectError::NoCompatibleVersion { name: name.into(), skipped, hint })
    }

    fn solve(
        &mut self,
        pending: Vec<String>,
        chosen: BTreeMap<String, &'a Candidate>,
    ) -> Result<Option<BTreeMap<String, &'a Candidate>>, SelectError> {
        let Some(name) = pending.iter().find(|name| !chosen.contains_key(*name)).cloned() else {
            return Ok(Some(chosen));
        };
        let usable = self.usable.get(name.as_str()).cloned().unwrap_or_default();
        if usable.is_empty() {
            let why = match self.check_selectable(&name, None) {
                Err(err) => err.to_string(),
                Ok(()) => format!("{name} has no usable version"),
            };
            self.dead_ends.push(why);
            return Ok(None);
        }
        for candidate in usable {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(SelectError::TooComplex { steps: MAX_STEPS });
            }
            if let Some(conflict) = requires_conflict(candidate, &chosen) {
                self.dead_ends.push(format!("{name} {} {conflict}", candidate.manifest.version));
                continue;
            }
            let mut next_chosen = chosen.clone();
            next_chosen.insert(name.clone(), candidate);
            let mut next_pending = pending.clone();
            for required in candidate.manifest.requires.keys() {
                if !self.available.contains_key(required) {
                    self.dead_ends.push(format!(
                        "{name} {} requires {required}, which is not in the registry",
                        candidate.manifest.version
                    ));
                }
                if !next_pending.contains(required) {
                    next_pending.push(required.clone());
                }
            }
            if let Some(done) = self.solve(next_pending, next_chosen)? {
                return Ok(Some(done));
            }
        }
        Ok(None)
    }

    /// Versions newer than the chosen one, with why each was passed over.
    fn skipped_newer(&self, name: &str, chosen: &Candidate, selection: &BTreeMap<String, &Candidate>) -> Vec<Skipped> {
        let pin = self.request.pins.get(name);
        let mut skipped: Vec<Skipped> = self.available[name]
            .iter()
            .filter(|c| c.manifest.version > chosen.manifest.version)
            .map(|c| {
                let reason = host_incompatibility(c, self.request.profile, pin, self.request.allow_prerelease)
                    .or_else(|| requires_conflict(c, selection))
                    .unwrap_or_else(|| Incompatibility::Requires {
                        remote: c.manifest.requires.keys().next().cloned().unwrap_or_else(|| name.to_owned()),
                        needs: c.manifest.requires.values().next().cloned().unwrap_or(VersionReq::STAR),
                        selected: None,
                    });
                Skipped { version: c.manifest.version.clone(), reason }
            })
            .collect();
        skipped.sort_by(|a, b| b.version.cmp(&a.version));
        skipped
    }
}

/// The next step for the newest version's blocker.
fn hint_for(skipped: &[Skipped], profile: &HostProfile) -> String {
    match skipped.first().map(|skip| &skip.reason) {
        Some(Incompatibility::HostApi { .. }) => format!(
            "Update Augment-It, or ask the remote's publisher for a version that supports host API {}",
            profile.host_api
        ),
        Some(Incompatibility::Shared { package, provided, .. }) => {
            format!("Ask the remote's publisher for a version built against {package} {provided}")
        }
        Some(Incompatibility::SharedNotProvided { package, .. }) => {
            format!("This app does not share {package}; ask the publisher to bundle it instead")
        }
        Some(Incompatibility::Yanked) => "Every version is yanked; pin one explicitly to use it anyway".into(),
        Some(Incompatibility::PreRelease) => "Only pre-releases exist; pin one to use it".into(),
        _ => "Check the registry for a compatible version".into(),
    }
}
