//! The host contract's surface, its compatibility check against the declared
//! host API version (issue 15, point 6), and the TypeScript generated from it
//! (point 5). Test-only: `cargo test -p augment-desktop --lib contract` (which
//! CI runs) compares the current surface with the checked-in
//! `src-tauri/contract/host-api.json` and the generated TypeScript files;
//! `cargo xtask contract` (= `UPDATE_CONTRACT=1` and that test) rewrites them,
//! but only once the version allows the change.
//!
//! Commands' arguments and results are read from the command functions'
//! signatures with `syn` (the functions stay plain `#[tauri::command]`s; no
//! derive on every argument type is needed for the surface). A type is named
//! by its last path segment, so moving it between modules or crates is no
//! change; a change inside a type is seen through its generated declaration
//! (every type that crosses IPC has one, see `type_declarations`).
//!
//! The comparison is written by hand: it is a few set differences over
//! sorted maps, with messages in this project's words (what changed, which
//! bump it needs, how to regenerate); no crate does this for a custom
//! document (json-patch style diffs know nothing of semver).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use manifest::{Permission, Version};
use quote::ToTokens as _;
use serde::{Deserialize, Serialize};

use super::{COMMANDS, EVENTS};
use crate::grants::Access;

/// The host API as remotes see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Surface {
    /// The declared host API version (`manifest::HostProfile::builtin().host_api`).
    pub host_api: Version,
    pub commands: BTreeMap<String, CommandSurface>,
    /// Event name → the payload's type.
    pub events: BTreeMap<String, String>,
    /// `ErrorCode`s as on the wire.
    pub error_codes: Vec<String>,
    /// Permission name → what granting it allows.
    pub permissions: BTreeMap<String, String>,
    /// The types crossing IPC that have a generated declaration (ts-rs):
    /// name → TypeScript declaration, so a change inside one is seen.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSurface {
    /// `open`, `shellOnly` or the permission a remote needs.
    pub access: String,
    /// Argument name as on the wire (camelCase) → its Rust type.
    pub args: BTreeMap<String, String>,
    /// The result's Rust type (the `Ok` of `CommandResult`).
    pub result: String,
}

/// How much the host API version must move for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

/// One difference between two surfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// e.g. "command `pin_remote`", "event `run-event`".
    pub item: String,
    /// What happened to it.
    pub what: String,
    pub bump: Bump,
}

fn compare<T: PartialEq>(
    kind: &str,
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    describe: impl Fn(&str, &T, &T) -> (String, Bump),
    changes: &mut Vec<Change>,
) {
    for (name, before) in old {
        let item = format!("{kind} `{name}`");
        match new.get(name) {
            None => changes.push(Change { item, what: "removed".to_owned(), bump: Bump::Major }),
            Some(after) if after != before => {
                let (what, bump) = describe(name, before, after);
                changes.push(Change { item, what, bump });
            }
            Some(_) => {}
        }
    }
    for name in new.keys().filter(|name| !old.contains_key(*name)) {
        changes.push(Change { item: format!("{kind} `{name}`"), what: "added".to_owned(), bump: Bump::Minor });
    }
}

/// Every difference from `old` to `new`, with the bump each one needs:
/// anything removed or changed needs a major bump, anything added (optional
/// fields appended to a type and `Option` arguments added to a command
/// included) a minor one; a permission's
/// description is wording only.
pub fn diff(old: &Surface, new: &Surface) -> Vec<Change> {
    let mut changes = Vec::new();
    compare(
        "command",
        &old.commands,
        &new.commands,
        |_, before, after| {
            let mut what = Vec::new();
            // Only optional arguments added: a remote that leaves one out is
            // read as `None`, so that alone is additive (a minor bump).
            let mut bump = Bump::Minor;
            if before.access != after.access {
                what.push(format!("access {} → {}", before.access, after.access));
                bump = Bump::Major;
            }
            for (arg, ty) in &before.args {
                match after.args.get(arg) {
                    None => what.push(format!("argument `{arg}: {ty}` removed")),
                    Some(new_ty) if new_ty != ty => what.push(format!("argument `{arg}` {ty} → {new_ty}")),
                    Some(_) => continue,
                }
                bump = Bump::Major;
            }
            for (arg, ty) in after.args.iter().filter(|(arg, _)| !before.args.contains_key(*arg)) {
                what.push(format!("argument `{arg}: {ty}` added"));
                if !ty.starts_with("Option<") {
                    bump = Bump::Major;
                }
            }
            if before.result != after.result {
                what.push(format!("result {} → {}", before.result, after.result));
                bump = Bump::Major;
            }
            (what.join(", "), bump)
        },
        &mut changes,
    );
    compare(
        "event",
        &old.events,
        &new.events,
        |_, before, after| (format!("payload {before} → {after}"), Bump::Major),
        &mut changes,
    );
    let as_map = |codes: &[String]| codes.iter().map(|c| (c.clone(), ())).collect::<BTreeMap<_, _>>();
    compare("error code", &as_map(&old.error_codes), &as_map(&new.error_codes), |_, _, _| unreachable!(), &mut changes);
    compare(
        "type",
        &old.types,
        &new.types,
        |name, before, after| {
            let additive = optional_fields_appended(before, after)
                || (variants_appended(before, after) && only_in_events(new, name));
            let bump = if additive { Bump::Minor } else { Bump::Major };
            (format!("{before} → {after}"), bump)
        },
        &mut changes,
    );
    compare(
        "permission",
        &old.permissions,
        &new.permissions,
        |_, _, after| (format!("described as \"{after}\""), Bump::Patch),
        &mut changes,
    );
    changes
}

/// Whether `after` is the object type `before` with optional fields
/// (`name?: T`) added at its end, and nothing else changed. That is
/// additive both ways: serde reads a field a remote leaves out as `None`,
/// and a remote ignores a field it does not know in a result. (A remote
/// that sends a new field must still ask for the host API version that
/// reads it.) Anything else, an inline object type included, is left to the
/// major bump.
fn optional_fields_appended(before: &str, after: &str) -> bool {
    let (Some(kept), Some(rest)) = (before.strip_suffix("};"), after.strip_suffix("};")) else {
        return false;
    };
    let Some(added) = rest.strip_prefix(kept) else {
        return false;
    };
    let fields = split_top_level(added);
    !fields.is_empty()
        && !added.contains(['{', '}'])
        && fields.iter().all(|field| {
            field.split_once("?:").is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

/// Whether `after` is the union `before` with object variants (`| { … }`)
/// added at its end, and nothing else changed.
fn variants_appended(before: &str, after: &str) -> bool {
    let (Some(kept), Some(rest)) = (before.strip_suffix(';'), after.strip_suffix(';')) else {
        return false;
    };
    rest.strip_prefix(kept).is_some_and(|added| added.starts_with(" | {") && added.ends_with('}'))
}

/// Whether the type `name` travels only from the app to remotes, as (part
/// of) an event payload: no command takes or returns it. A remote must
/// ignore an event variant it does not know (`kind` it has no case for),
/// so new variants of such a union are additive, like a new event.
fn only_in_events(surface: &Surface, name: &str) -> bool {
    let mentions = |ty: &str| ty.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|word| word == name);
    surface.events.values().any(|payload| payload == name)
        && !surface.commands.values().any(|c| mentions(&c.result) || c.args.values().any(|ty| mentions(ty)))
        && !surface.types.iter().any(|(other, decl)| other != name && mentions(decl))
}

/// The bump from `old` to `new`, `None` when the version went back.
fn declared_bump(old: &Version, new: &Version) -> Option<Bump> {
    if new.major > old.major {
        Some(Bump::Major)
    } else if new.major < old.major {
        None
    } else if new.minor > old.minor {
        Some(Bump::Minor)
    } else if new.minor < old.minor {
        None
    } else if new.patch >= old.patch {
        Some(Bump::Patch)
    } else {
        None
    }
}

/// `Ok` when `new`'s host API version allows every change from `old`;
/// otherwise what changed, which bump each needs, and what to do.
pub fn check(old: &Surface, new: &Surface) -> Result<(), String> {
    let changes = diff(old, new);
    let needed = changes.iter().map(|c| c.bump).max().unwrap_or(Bump::Patch);
    let declared = declared_bump(&old.host_api, &new.host_api);
    if declared.is_some_and(|declared| declared >= needed) {
        return Ok(());
    }
    let mut out = match declared {
        None => format!("the host API version went back from {} to {}\n", old.host_api, new.host_api),
        Some(_) => format!(
            "the host contract changed without the host API version bump it needs ({} → {} declared, a {} bump needed):\n",
            old.host_api,
            new.host_api,
            match needed {
                Bump::Major => "major",
                Bump::Minor => "minor",
                Bump::Patch => "patch",
            }
        ),
    };
    for change in changes.iter().filter(|c| c.bump > Bump::Patch) {
        let bump = if change.bump == Bump::Major { "major" } else { "minor" };
        let _ = writeln!(out, "  - {}: {} (needs a {bump} bump)", change.item, change.what);
    }
    out.push_str(
        "Bump `host_api` in crates/manifest/src/host.rs (HostProfile::builtin) and HOST_API_VERSION in \
         shell-ui/src/host-api.ts, then regenerate with `cargo xtask contract` \
         (UPDATE_CONTRACT=1 cargo test -p augment-desktop --lib contract).",
    );
    Err(out)
}

/// Renders a type by the last segment of each path, so `cache::Rollback`
/// and `Rollback` are the same type.
fn render(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => {
            let Some(last) = path.path.segments.last() else { return String::new() };
            let mut out = last.ident.to_string();
            if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                let args: Vec<String> = args
                    .args
                    .iter()
                    .filter_map(|arg| match arg {
                        syn::GenericArgument::Type(ty) => Some(render(ty)),
                        _ => None,
                    })
                    .collect();
                if !args.is_empty() {
                    out = format!("{out}<{}>", args.join(", "));
                }
            }
            out
        }
        syn::Type::Reference(reference) => render(&reference.elem),
        syn::Type::Paren(inner) => render(&inner.elem),
        syn::Type::Tuple(tuple) => {
            format!("({})", tuple.elems.iter().map(render).collect::<Vec<_>>().join(", "))
        }
        syn::Type::Slice(slice) => format!("[{}]", render(&slice.elem)),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

/// Arguments Tauri injects (not sent by the page).
const INJECTED: &[&str] = &["State", "AppHandle", "Window", "Webview", "WebviewWindow"];

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.trim_start_matches('_').chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|err| panic!("parsing {}: {err}", path.display()))
}

/// A command's arguments and result, from its function in `commands/<module>.rs`.
fn command_surface(file: &syn::File, module: &str, name: &str) -> (BTreeMap<String, String>, String) {
    let function = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Fn(function) if function.sig.ident == name => Some(function),
            _ => None,
        })
        .unwrap_or_else(|| {
            panic!("command `{name}` is listed in command_list.rs but commands/{module}.rs has no `fn {name}`")
        });
    let attribute = function.attrs.iter().find(|a| a.path().segments.last().is_some_and(|s| s.ident == "command"));
    let attribute = attribute.unwrap_or_else(|| panic!("`{module}::{name}` is not a #[tauri::command]"));
    // A `rename_all` would change the wire names this reads as camelCase.
    assert!(
        matches!(attribute.meta, syn::Meta::Path(_)),
        "`{name}`: #[tauri::command(…)] options are not read by the contract"
    );
    let mut args = BTreeMap::new();
    for input in &function.sig.inputs {
        let syn::FnArg::Typed(arg) = input else { continue };
        let ty = render(&arg.ty);
        if INJECTED.iter().any(|injected| ty == *injected || ty.starts_with(&format!("{injected}<"))) {
            continue;
        }
        let syn::Pat::Ident(ident) = &*arg.pat else { panic!("`{name}`: an argument that is not a plain name") };
        args.insert(camel_case(&ident.ident.to_string()), ty);
    }
    let result = match &function.sig.output {
        syn::ReturnType::Default => "()".to_owned(),
        syn::ReturnType::Type(_, ty) => {
            let rendered = render(ty);
            let ok = match &**ty {
                syn::Type::Path(path) if rendered.starts_with("CommandResult<") || rendered.starts_with("Result<") => {
                    path.path.segments.last().and_then(|last| match &last.arguments {
                        syn::PathArguments::AngleBracketed(args) => args.args.first().and_then(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(render(ty)),
                            _ => None,
                        }),
                        _ => None,
                    })
                }
                _ => None,
            };
            ok.unwrap_or(rendered)
        }
    };
    (args, result)
}

fn error_codes() -> Vec<String> {
    let file = parse(&src().join("error.rs"));
    let codes = file.items.iter().find_map(|item| match item {
        syn::Item::Enum(e) if e.ident == "ErrorCode" => {
            // `#[serde(rename_all = "camelCase")]`: the first letter in lower case.
            Some(
                e.variants
                    .iter()
                    .map(|v| {
                        let name = v.ident.to_string();
                        let mut chars = name.chars();
                        chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
                    })
                    .collect(),
            )
        }
        _ => None,
    });
    codes.expect("error.rs defines ErrorCode")
}

fn access_name(access: Access) -> String {
    match access {
        Access::Open => "open".to_owned(),
        Access::ShellOnly => "shellOnly".to_owned(),
        Access::Needs(permission) => permission.as_str().to_owned(),
    }
}

/// The surface of this build.
pub fn current() -> Surface {
    let mut files = BTreeMap::new();
    let commands = COMMANDS
        .iter()
        .map(|command| {
            let file = files
                .entry(command.module)
                .or_insert_with(|| parse(&src().join("commands").join(format!("{}.rs", command.module))));
            let (args, result) = command_surface(file, command.module, command.name);
            (command.name.to_owned(), CommandSurface { access: access_name(command.access), args, result })
        })
        .collect();
    Surface {
        host_api: super::host_api_version(),
        commands,
        events: EVENTS.iter().map(|e| (e.name.to_owned(), e.payload.to_owned())).collect(),
        error_codes: error_codes(),
        permissions: Permission::ALL.iter().map(|p| (p.as_str().to_owned(), p.describe().to_owned())).collect(),
        types: type_declarations().into_iter().map(|d| (d.name, without_docs(&d.decl))).collect(),
    }
}

/// A type with a ts-rs declaration.
struct Declared {
    /// The Rust type's own name (last path segment, no generics), as the
    /// surface names command arguments and results.
    rust: String,
    /// Its TypeScript name (ts-rs `rename` may differ).
    name: String,
    decl: String,
    /// Declared in `generated/views.ts` (the error shape is in `contract.ts`).
    view: bool,
}

/// Every type with a ts-rs declaration.
fn type_declarations() -> Vec<Declared> {
    use ts_rs::TS;
    fn rust_name<T>() -> String {
        let full = std::any::type_name::<T>();
        let path = full.split('<').next().unwrap_or(full);
        path.rsplit("::").next().unwrap_or(path).to_owned()
    }
    // ts-rs names 64-bit integers `bigint`, but Tauri's IPC is JSON and
    // `JSON.parse` gives a remote plain numbers: say what arrives.
    // A generic type is named without its arguments (`Page`, not `Page<Dummy>`).
    fn view<T: TS>() -> Declared {
        let name = T::name();
        let name = name.split('<').next().unwrap_or_default().to_owned();
        Declared { rust: rust_name::<T>(), name, decl: T::decl().replace("bigint", "number"), view: true }
    }
    fn error<T: TS>() -> Declared {
        Declared { rust: rust_name::<T>(), name: T::name(), decl: T::decl(), view: false }
    }
    vec![
        error::<crate::error::ErrorCode>(),
        error::<crate::error::CommandError>(),
        view::<crate::shell::ShellView>(),
        view::<crate::shell::RegistryView>(),
        view::<crate::shell::RemoteView>(),
        view::<crate::isolation::HeldBack>(),
        view::<crate::dev_mode::DevOverrideView>(),
        view::<api::RemoteVersions>(),
        view::<api::InstalledVersion>(),
        view::<crate::settings::RegistryConfig>(),
        view::<crate::settings::Settings>(),
        view::<crate::settings::ProviderSettings>(),
        view::<crate::commands::settings::SettingsView>(),
        view::<crate::ui_state::UiState>(),
        view::<crate::ui_state::ThemeChoice>(),
        view::<crate::commands::remotes::LoadFailureOutcome>(),
        view::<crate::commands::keys::KeyState>(),
        view::<crate::commands::keys::ProviderView>(),
        view::<crate::commands::keys::KeyTest>(),
        view::<crate::commands::keys::ModelView>(),
        view::<crate::commands::keys::ProgressEvent>(),
        // Registries, the cache and dev mode.
        view::<api::RegistryState>(),
        view::<api::RegistryStatus>(),
        view::<api::Verdict>(),
        view::<cache::Rollback>(),
        view::<cache::CacheUsage>(),
        view::<cache::CacheSizeSample>(),
        view::<cache::RemoteLoadStats>(),
        view::<crate::dev_mode::DevRemoteChanged>(),
        view::<crate::webview_guard::NavigationRefused>(),
        // The workflow: datasets, templates, requests, runs, responses.
        view::<serde_json::Value>(),
        view::<local_data::Page<ts_rs::Dummy>>(),
        view::<records::Format>(),
        view::<records::ColumnType>(),
        view::<stack::import::Parser>(),
        view::<stack::import::ImportPreview>(),
        view::<crate::commands::stack::ImportReply>(),
        view::<crate::commands::files::FileChoice>(),
        view::<crate::commands::files::FilesDropped>(),
        view::<crate::recent_files::RecentFile>(),
        view::<local_data::Column>(),
        view::<local_data::Dataset>(),
        view::<crate::commands::data::SavedDataset>(),
        view::<local_data::RecordRow>(),
        view::<local_data::FilterOp>(),
        view::<local_data::FieldFilter>(),
        view::<local_data::RecordSort>(),
        view::<local_data::RecordQuery>(),
        view::<local_data::TemplateVersion>(),
        view::<local_data::Template>(),
        view::<local_data::TemplateCheck>(),
        view::<local_data::ModelTarget>(),
        view::<local_data::RequestStatus>(),
        view::<local_data::RequestRow>(),
        view::<local_data::RequestSortColumn>(),
        view::<local_data::RequestSort>(),
        view::<local_data::RequestQuery>(),
        view::<local_data::ModelEstimate>(),
        view::<local_data::RunStatus>(),
        view::<local_data::RunProgress>(),
        view::<local_data::RunSummary>(),
        view::<runs::WireEvent<'static>>(),
        view::<local_data::ResponseRow>(),
        view::<local_data::SchemaIssue>(),
        view::<local_data::CheckResult>(),
        view::<local_data::RunChecks>(),
        view::<local_data::AssertionTally>(),
        view::<local_data::AiCacheSize>(),
        view::<local_data::Rates>(),
        view::<local_data::PriceRow>(),
        view::<local_data::ResponseSortColumn>(),
        view::<local_data::ResponseSort>(),
        view::<local_data::ResponseQuery>(),
        view::<local_data::Insight>(),
        view::<local_data::CompareSide>(),
        view::<local_data::PairFilter>(),
        view::<local_data::CompareQuery>(),
        view::<local_data::PairAnswer>(),
        view::<local_data::ComparedPair>(),
        view::<local_data::CompareSummary>(),
        view::<local_data::ComparePage>(),
        view::<local_data::StabilityQuery>(),
        view::<local_data::SampleAnswer>(),
        view::<local_data::UnstableRecord>(),
        view::<local_data::StabilitySummary>(),
        view::<local_data::StabilityPage>(),
        view::<local_data::ExportFormat>(),
        view::<crate::commands::data::ExportResult>(),
        view::<crate::commands::data::BulkStatusChange>(),
        view::<local_data::Usage>(),
        view::<local_data::DayActivity>(),
        view::<local_data::ProviderActivity>(),
        view::<local_data::RunActivity>(),
        view::<local_data::ModelStats>(),
        view::<local_data::TagCount>(),
        view::<local_data::ResponseStats>(),
        view::<local_data::HookEndpoint>(),
        view::<local_data::HookDelivery>(),
        view::<notify_hooks::Delivery>(),
        view::<crate::commands::hooks::NotificationSettings>(),
        view::<crate::commands::datastores::DatastoreConnection>(),
        view::<crate::commands::datastores::DatastoreColumn>(),
        view::<crate::commands::datastores::DatastorePreview>(),
        view::<crate::commands::datastores::DatastoreColumnMapping>(),
        view::<crate::commands::datastores::DatastoreMapping>(),
        view::<crate::commands::datastores::WriteBackColumns>(),
        view::<crate::commands::datastores::FailedWrite>(),
        view::<crate::commands::datastores::WriteReport>(),
        view::<crate::commands::team::TeamSession>(),
        view::<crate::commands::team::TeamUser>(),
        view::<crate::commands::team::TeamToken>(),
        view::<crate::commands::team::CreatedTeamToken>(),
        // The local stack.
        view::<stack::EngineKind>(),
        view::<stack::EngineInfo>(),
        view::<stack::State>(),
        view::<stack::Health>(),
        view::<crate::commands::stack::ServiceView>(),
        view::<crate::commands::stack::StackView>(),
        view::<crate::commands::stack::Progress>(),
        view::<crate::commands::stack::LogLine>(),
        view::<crate::commands::stack_metrics::LatencyBucket>(),
        view::<crate::commands::stack_metrics::LatencyHistogram>(),
        view::<crate::commands::stack_metrics::ProviderMetrics>(),
        view::<crate::commands::stack_metrics::ServiceMetrics>(),
        view::<crate::commands::stack_metrics::StackMetrics>(),
    ]
}

/// A declaration without its doc comments, on one line: rewording a doc
/// changes nothing a remote relies on.
fn without_docs(decl: &str) -> String {
    let mut out = String::new();
    let mut rest = decl;
    while let Some(start) = rest.find("/**") {
        out.push_str(&rest[..start]);
        rest = rest[start..].find("*/").map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `remotes/shared/host-client/src/generated/views.ts`.
pub fn views_typescript() -> String {
    let mut out = String::from(
        "// Generated from the Rust types that cross IPC (ts-rs) by `cargo xtask contract`: do not edit.\n\
         import type { CommandError, PermissionName } from \"./contract\";\n",
    );
    for declared in type_declarations().into_iter().filter(|d| d.view) {
        let decl = declared.decl.trim_end();
        let _ = write!(out, "\nexport {decl}");
        if !decl.ends_with(';') {
            out.push(';');
        }
        out.push('\n');
    }
    out
}

/// The TypeScript of a Rust type as the surface renders it (`Option<Vec<i64>>`).
/// `names` maps a Rust type's name to its generated TypeScript name.
fn typescript_of(rust: &str, names: &BTreeMap<String, String>) -> Result<String, String> {
    let rust = rust.trim();
    let (head, inner) = match rust.find('<') {
        Some(open) if rust.ends_with('>') => (&rust[..open], Some(&rust[open + 1..rust.len() - 1])),
        _ => (rust, None),
    };
    let args: Vec<String> = inner
        .map(split_top_level)
        .unwrap_or_default()
        .iter()
        .map(|a| typescript_of(a, names))
        .collect::<Result<_, _>>()?;
    let one = |what: &str| args.first().cloned().ok_or_else(|| format!("`{rust}`: {what} without a type argument"));
    Ok(match head {
        "()" => "null".to_owned(),
        "String" | "str" | "&str" => "string".to_owned(),
        "bool" => "boolean".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" | "f32" | "f64" => {
            "number".to_owned()
        }
        "Option" => format!("{} | null", one("Option")?),
        "Vec" => format!("Array<{}>", one("Vec")?),
        "BTreeMap" | "HashMap" => {
            format!("Record<string, {}>", args.get(1).ok_or_else(|| format!("`{rust}`: a map needs a value type"))?)
        }
        "Permission" => "PermissionName".to_owned(),
        "CommandError" => "CommandError".to_owned(),
        _ => {
            let name = names.get(head).ok_or_else(|| {
                format!("`{head}` crosses IPC without a TypeScript declaration: derive ts_rs::TS on it and list it in `type_declarations`")
            })?;
            if args.is_empty() { name.clone() } else { format!("{name}<{}>", args.join(", ")) }
        }
    })
}

/// `a, Vec<b>, c` → `["a", "Vec<b>", "c"]`: commas inside `<>` do not split.
fn split_top_level(list: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0_i32, 0, Vec::new());
    for (at, c) in list.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(list[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(list[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// `remotes/shared/host-client/src/generated/commands.ts`: every command's
/// arguments (wire names; an `Option` may be left out) and result, read from
/// the command functions. Fails naming a type that has no declaration.
pub fn commands_typescript(surface: &Surface) -> Result<String, String> {
    let declared = type_declarations();
    let names: BTreeMap<String, String> = declared.iter().map(|d| (d.rust.clone(), d.name.clone())).collect();
    let mut table = String::new();
    for (command, shape) in &surface.commands {
        let args = if shape.args.is_empty() {
            "undefined".to_owned()
        } else {
            let fields: Vec<String> = shape
                .args
                .iter()
                .map(|(arg, rust)| {
                    let optional = if rust.starts_with("Option<") { "?" } else { "" };
                    Ok(format!("{arg}{optional}: {}", typescript_of(rust, &names)?))
                })
                .collect::<Result<_, String>>()
                .map_err(|err| format!("command `{command}`: {err}"))?;
            format!("{{ {} }}", fields.join("; "))
        };
        let result = typescript_of(&shape.result, &names).map_err(|err| format!("command `{command}`: {err}"))?;
        let _ = writeln!(table, "  {command}: {{ args: {args}; result: {result} }};");
    }
    let used: std::collections::BTreeSet<&str> =
        table.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|word| !word.is_empty()).collect();
    let views: Vec<&str> =
        declared.iter().filter(|d| d.view && used.contains(d.name.as_str())).map(|d| d.name.as_str()).collect();
    let contract: Vec<&str> =
        ["CommandError", "PermissionName"].into_iter().filter(|name| used.contains(name)).collect();
    let mut out = String::from(
        "// Generated from the shell's command functions (src-tauri/src/commands/*.rs, their\n\
         // arguments as on the wire) by `cargo xtask contract`: do not edit.\n",
    );
    if !contract.is_empty() {
        let _ = writeln!(out, "import type {{ {} }} from \"./contract\";", contract.join(", "));
    }
    let _ = writeln!(out, "import type {{ {} }} from \"./views\";", views.join(", "));
    let _ = write!(
        out,
        "\n/** Every shell command: its arguments and its result. */\nexport interface GeneratedCommands {{\n{table}}}\n"
    );
    Ok(out)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("src-tauri is in the workspace").to_path_buf()
}

/// The checked-in surface.
pub const SURFACE_FILE: &str = "src-tauri/contract/host-api.json";
/// The generated TypeScript of the contract.
pub const TS_FILE: &str = "remotes/shared/host-client/src/generated/contract.ts";
/// The generated TypeScript of the view types.
pub const VIEWS_FILE: &str = "remotes/shared/host-client/src/generated/views.ts";
/// The generated TypeScript of every command's arguments and result.
pub const COMMANDS_FILE: &str = "remotes/shared/host-client/src/generated/commands.ts";

pub fn to_json(surface: &Surface) -> String {
    let mut json = serde_json::to_string_pretty(surface).expect("the surface serialises");
    json.push('\n');
    json
}

fn ts_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// `remotes/shared/host-client/src/generated/contract.ts`.
pub fn typescript(surface: &Surface) -> String {
    let mut out = String::from(
        "// Generated from src-tauri (src/command_list.rs, src/error.rs, manifest::Permission and the\n\
         // host profile) by `cargo xtask contract`: do not edit. The surface it describes is\n\
         // src-tauri/contract/host-api.json.\n\n",
    );
    let _ = writeln!(out, "/** The host API version the shell implements. */");
    let _ = writeln!(out, "export const HOST_API_VERSION = {};\n", ts_string(&surface.host_api.to_string()));
    let _ = writeln!(out, "/** Every permission a remote may declare, with what granting it allows. */");
    let _ = writeln!(out, "export const PERMISSIONS = {{");
    for (name, describe) in &surface.permissions {
        let _ = writeln!(out, "  {}: {},", ts_string(name), ts_string(describe));
    }
    let _ = writeln!(out, "}} as const;\n");
    let _ = writeln!(out, "export type PermissionName = keyof typeof PERMISSIONS;\n");
    let _ = writeln!(
        out,
        "/** Who may call a command: any remote, a remote granted the permission, or the shell page only. */"
    );
    let _ = writeln!(out, "export type CommandAccess = \"open\" | \"shellOnly\" | PermissionName;\n");
    let _ = writeln!(out, "/** Every command of the shell and who may call it. */");
    let _ = writeln!(out, "export const COMMAND_ACCESS = {{");
    for (name, command) in &surface.commands {
        let _ = writeln!(out, "  {name}: {},", ts_string(&command.access));
    }
    let _ = writeln!(out, "}} as const satisfies Record<string, CommandAccess>;\n");
    let _ = writeln!(out, "export type CommandName = keyof typeof COMMAND_ACCESS;\n");
    let _ = writeln!(out, "/** Every event the shell emits, with its payload's Rust type. */");
    let _ = writeln!(out, "export const EVENTS = {{");
    for (name, payload) in &surface.events {
        let _ = writeln!(out, "  {}: {},", ts_string(name), ts_string(payload));
    }
    let _ = writeln!(out, "}} as const;\n");
    let _ = writeln!(out, "export type EventName = keyof typeof EVENTS;\n");
    let _ = writeln!(out, "/** The stable codes of a command's error (src-tauri/src/error.rs). */");
    let _ = writeln!(out, "export const ERROR_CODES = [");
    for code in &surface.error_codes {
        let _ = writeln!(out, "  {},", ts_string(code));
    }
    let _ = writeln!(out, "] as const;\n");
    let _ = writeln!(out, "export type ErrorCode = (typeof ERROR_CODES)[number];\n");
    let _ = writeln!(out, "/** What every command rejects with. */");
    let _ = writeln!(out, "export interface CommandError {{\n  code: ErrorCode;\n  message: string;\n}}");
    out
}

fn updating() -> bool {
    std::env::var_os("UPDATE_CONTRACT").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Compares `path`'s content with `expected`, or writes it when updating.
fn up_to_date(path: &str, expected: &str) -> Result<(), String> {
    let full = workspace().join(path);
    let found = std::fs::read_to_string(&full).unwrap_or_default();
    if found == expected {
        return Ok(());
    }
    if updating() {
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|err| format!("creating {}: {err}", parent.display()))?;
        }
        return std::fs::write(&full, expected).map_err(|err| format!("writing {}: {err}", full.display()));
    }
    Err(format!(
        "{path} is stale: regenerate it with `cargo xtask contract` (UPDATE_CONTRACT=1 cargo test -p augment-desktop --lib contract)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked_in() -> Option<Surface> {
        let text = std::fs::read_to_string(workspace().join(SURFACE_FILE)).ok()?;
        Some(serde_json::from_str(&text).unwrap_or_else(|err| panic!("{SURFACE_FILE} does not parse: {err}")))
    }

    /// The CI check: the surface changed only as the declared version
    /// allows, and the checked-in description and TypeScript are current.
    /// `UPDATE_CONTRACT=1` rewrites them, after the same version check.
    #[test]
    fn the_contract_follows_the_host_api_version() {
        let current = current();
        match checked_in() {
            Some(old) => {
                if let Err(message) = check(&old, &current) {
                    panic!("{message}");
                }
            }
            None => assert!(updating(), "{SURFACE_FILE} is missing: generate it with `cargo xtask contract`"),
        }
        let commands = commands_typescript(&current).unwrap_or_else(|err| panic!("{err}"));
        let stale: Vec<String> = [
            (SURFACE_FILE, to_json(&current)),
            (TS_FILE, typescript(&current)),
            (VIEWS_FILE, views_typescript()),
            (COMMANDS_FILE, commands),
        ]
        .iter()
        .filter_map(|(path, expected)| up_to_date(path, expected).err())
        .collect();
        assert!(stale.is_empty(), "{}", stale.join("\n"));
    }

    /// The shell page's copy of the version is the host profile's.
    #[test]
    fn the_shell_declares_the_same_host_api_version() {
        let page =
            std::fs::read_to_string(workspace().join("shell-ui/src/host-api.ts")).expect("shell-ui/src/host-api.ts");
        let declared = format!("export const HOST_API_VERSION = \"{}\";", super::super::host_api_version());
        assert!(page.contains(&declared), "shell-ui/src/host-api.ts must say `{declared}`");
    }

    #[test]
    fn every_command_is_read_with_its_arguments() {
        let surface = current();
        assert_eq!(surface.commands.len(), COMMANDS.len());
        let mark = &surface.commands["mark_known_good"];
        assert_eq!(mark.access, "shellOnly");
        assert!(mark.args.contains_key("mountMs"), "{mark:?}");
        assert_eq!(surface.commands["pin_remote"].result, "()");
        assert_eq!(surface.commands["list_datasets"].access, "data:read");
        assert!(surface.error_codes.contains(&"invalidInput".to_owned()), "{:?}", surface.error_codes);
    }

    fn base() -> Surface {
        current()
    }

    fn with_version(mut surface: Surface, version: &str) -> Surface {
        surface.host_api = version.parse().expect("a version");
        surface
    }

    /// The check can fail: a command removed without a major bump is refused, naming it.
    #[test]
    fn a_removed_command_needs_a_major_bump() {
        let old = with_version(base(), "1.0.0");
        let mut new = old.clone();
        new.commands.remove("pin_remote").expect("pin_remote exists");
        for version in ["1.0.0", "1.0.1", "1.1.0"] {
            let message = check(&old, &with_version(new.clone(), version)).expect_err(version);
            assert!(message.contains("command `pin_remote`: removed (needs a major bump)"), "{message}");
            assert!(message.contains("cargo xtask contract"), "{message}");
        }
        assert_eq!(check(&old, &with_version(new, "2.0.0")), Ok(()));
    }

    #[test]
    fn an_added_command_needs_a_minor_bump() {
        let old = with_version(base(), "1.0.0");
        let mut new = old.clone();
        let copy = new.commands["cache_usage"].clone();
        new.commands.insert("brand_new".to_owned(), copy);
        let message = check(&old, &new).expect_err("no bump");
        assert!(message.contains("command `brand_new`: added (needs a minor bump)"), "{message}");
        assert!(check(&old, &with_version(new.clone(), "1.0.1")).is_err());
        assert_eq!(check(&old, &with_version(new.clone(), "1.1.0")), Ok(()));
        assert_eq!(check(&old, &with_version(new, "2.0.0")), Ok(()));
    }

    #[test]
    fn a_changed_argument_result_event_or_error_code_needs_a_major_bump() {
        let old = with_version(base(), "1.0.0");
        let mut new = old.clone();
        new.commands.get_mut("pin_remote").expect("pin_remote").args.insert("version".to_owned(), "u32".to_owned());
        new.commands.get_mut("unpin_remote").expect("unpin_remote").result = "String".to_owned();
        new.events.insert("run-event".to_owned(), "Other".to_owned());
        new.error_codes.retain(|code| code != "declined");
        let message = check(&old, &with_version(new.clone(), "1.1.0")).expect_err("minor is not enough");
        assert!(message.contains("command `pin_remote`: argument `version` String → u32"), "{message}");
        assert!(message.contains("command `unpin_remote`: result bool → String"), "{message}");
        assert!(message.contains("event `run-event`: payload"), "{message}");
        assert!(message.contains("error code `declined`: removed"), "{message}");
        assert_eq!(check(&old, &with_version(new, "2.0.0")), Ok(()));
    }

    #[test]
    fn an_optional_argument_added_to_a_command_needs_a_minor_bump_and_a_required_one_a_major_one() {
        let old = with_version(base(), "1.0.0");
        let with_arg = |ty: &str| {
            let mut new = old.clone();
            new.commands.get_mut("pin_remote").expect("a command").args.insert("later".to_owned(), ty.to_owned());
            new
        };
        let optional = with_arg("Option<bool>");
        let message = check(&old, &optional).expect_err("no bump");
        assert!(message.contains("command `pin_remote`: argument `later: Option<bool>` added"), "{message}");
        assert!(message.contains("(needs a minor bump)"), "{message}");
        assert_eq!(check(&old, &with_version(optional, "1.1.0")), Ok(()));
        let required = with_version(with_arg("bool"), "1.1.0");
        let message = check(&old, &required).expect_err("a required argument breaks old callers");
        assert!(message.contains("(needs a major bump)"), "{message}");
        let mut optional_and_result = with_version(with_arg("Option<bool>"), "1.1.0");
        optional_and_result.commands.get_mut("pin_remote").expect("a command").result = "u32".to_owned();
        let message = check(&old, &optional_and_result).expect_err("the result changed too");
        assert!(message.contains("(needs a major bump)"), "{message}");
    }

    #[test]
    fn an_optional_field_added_to_a_type_needs_a_minor_bump_and_any_other_change_a_major_one() {
        let old = with_version(base(), "1.0.0");
        let query = old.types["RecordQuery"].clone();
        let kept = query.strip_suffix("};").expect("an object type");
        let changed = |decl: String| {
            let mut new = old.clone();
            new.types.insert("RecordQuery".to_owned(), decl);
            new
        };
        let appended = changed(format!("{kept}later?: number | null, extra?: Array<string>, }};"));
        let message = check(&old, &appended).expect_err("no bump");
        assert!(message.contains("type `RecordQuery`"), "{message}");
        assert!(message.contains("(needs a minor bump)"), "{message}");
        assert_eq!(check(&old, &with_version(appended, "1.1.0")), Ok(()));
        for decl in [
            format!("{kept}later: number, }};"),
            format!("{kept}later?: {{ a: number }}, }};"),
            query.replacen("offset: number", "offset?: number | null", 1),
            query.replacen("offset: number, ", "", 1),
        ] {
            let message = check(&old, &with_version(changed(decl.clone()), "1.1.0")).expect_err(&decl);
            assert!(message.contains("type `RecordQuery`") && message.contains("(needs a major bump)"), "{message}");
        }
    }

    #[test]
    fn variants_appended_to_an_event_only_union_need_a_minor_bump() {
        let old = with_version(base(), "1.0.0");
        let event = old.types["RunEvent"].clone();
        let kept = event.strip_suffix(';').expect("a declaration");
        let changed = |name: &str, decl: String| {
            let mut new = old.clone();
            new.types.insert(name.to_owned(), decl);
            new
        };
        let appended = changed("RunEvent", format!("{kept} | {{ \"kind\": \"later\", runId: number, }};"));
        let message = check(&old, &appended).expect_err("no bump");
        assert!(message.contains("type `RunEvent`") && message.contains("(needs a minor bump)"), "{message}");
        assert_eq!(check(&old, &with_version(appended, "1.1.0")), Ok(()));
        // A variant removed, or one added in the middle, is not additive.
        let first_variant_end = event.find("} | ").expect("a union") + 4;
        let inserted =
            format!("{}{{ \"kind\": \"later\", }} | {}", &event[..first_variant_end], &event[first_variant_end..]);
        for decl in
            [inserted, event.replacen(" | { \"kind\": \"answered\", runId: number, requestId: number, }", "", 1)]
        {
            assert_ne!(decl, event);
            let message = check(&old, &with_version(changed("RunEvent", decl.clone()), "1.1.0")).expect_err(&decl);
            assert!(message.contains("(needs a major bump)"), "{message}");
        }
        // A union a command takes or returns stays major.
        let result = old.types["RunStatus"].clone();
        let kept = result.strip_suffix(';').expect("a declaration");
        let widened = changed("RunStatus", format!("{kept} | {{ \"kind\": \"later\", }};"));
        let message = check(&old, &with_version(widened, "1.1.0")).expect_err("RunStatus is in command results");
        assert!(message.contains("(needs a major bump)"), "{message}");
    }

    #[test]
    fn rewording_a_permission_needs_no_bump_and_going_back_is_refused() {
        let old = with_version(base(), "1.2.0");
        let mut new = old.clone();
        new.permissions.insert("data:read".to_owned(), "Read your data".to_owned());
        assert_eq!(check(&old, &new), Ok(()));
        let message = check(&old, &with_version(new, "1.1.0")).expect_err("went back");
        assert!(message.contains("went back"), "{message}");
    }

    #[test]
    fn a_type_is_compared_without_its_docs() {
        assert_eq!(without_docs("type A = { \n/**\n * Doc.\n */\na: string, };"), "type A = { a: string, };");
        let surface = current();
        assert!(surface.types["RemoteView"].contains("heldBack: HeldBack | null"), "{:?}", surface.types);
        assert!(!surface.types["RemoteView"].contains("/**"));
    }

    #[test]
    fn the_typescript_names_every_command_event_and_error_code() {
        let surface = current();
        let ts = typescript(&surface);
        assert!(ts.contains("  mark_known_good: \"shellOnly\",\n"), "{ts}");
        assert!(ts.contains("  \"run-event\": "), "{ts}");
        assert!(ts.contains("  \"invalidInput\",\n"), "{ts}");
        assert!(ts.contains(&format!("export const HOST_API_VERSION = \"{}\";", surface.host_api)), "{ts}");
    }

    /// A remote listening to an event gets its payload's generated type, so
    /// no event may name a type that is not generated.
    #[test]
    fn every_event_payload_is_a_generated_type() {
        let views = views_typescript();
        for event in crate::contract::EVENTS {
            let declared = format!("export type {} = ", event.payload);
            assert!(
                views.contains(&declared) || event.payload == "CommandError",
                "event {} names {}, which views.ts does not declare",
                event.name,
                event.payload
            );
        }
    }

    #[test]
    fn every_command_is_typed_with_its_arguments_and_result() {
        let ts = commands_typescript(&current()).unwrap_or_else(|err| panic!("{err}"));
        assert!(
            ts.contains(
                "  mark_known_good: { args: { mountMs?: number | null; name: string; version: string }; result: null };"
            ),
            "{ts}"
        );
        assert!(
            ts.contains(
                "  dataset_records: { args: { cursor?: string | null; datasetId: number; query: RecordQuery }; result: Page<RecordRow> };"
            ),
            "{ts}"
        );
        assert!(ts.contains("  remotes_from_cache: { args: undefined; result: ShellView };"), "{ts}");
    }

    #[test]
    fn a_type_without_a_declaration_is_named() {
        let names = BTreeMap::from([("RecordRow".to_owned(), "RecordRow".to_owned())]);
        assert_eq!(typescript_of("Option<Vec<RecordRow>>", &names).as_deref(), Ok("Array<RecordRow> | null"));
        let err = typescript_of("Vec<Secret>", &names).unwrap_err();
        assert!(err.contains("`Secret`") && err.contains("ts_rs::TS"), "{err}");
    }

    #[test]
    fn sixty_four_bit_integers_arrive_as_numbers() {
        let views = views_typescript();
        assert!(!views.contains("bigint"), "{views}");
        assert!(views.contains("export type RunProgress = { run_id: number,"), "{views}");
    }
}
