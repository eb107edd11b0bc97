//! Manifest parsing and version selection: the whole semver matrix.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod parse {
    use manifest::{MAX_MANIFEST_BYTES, ManifestError, RemoteManifest};

    const VALID: &str = r#"{
        "name": "prompt-templates",
        "version": "1.2.3",
        "entry": "remoteEntry.js",
        "hostApi": "^1.0.0",
        "shared": { "react": "^19.0.0", "@augment-it/ui-kit": "^1.0" },
        "requires": { "record-collector": ">=1.1, <2" },
        "exposes": ["./App"],
        "displayName": "Prompt Template Manager",
        "futureField": { "kept": true }
    }"#;

    fn field_of(err: ManifestError) -> String {
        match err {
            ManifestError::Malformed { field, .. } | ManifestError::Invalid { field, .. } => field,
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn valid_manifest_parses_and_keeps_unknown_fields() {
        let manifest = RemoteManifest::from_json(VALID.as_bytes()).unwrap();
        assert_eq!(manifest.name, "prompt-templates");
        assert_eq!(manifest.version.to_string(), "1.2.3");
        assert_eq!(manifest.shared.len(), 2);
        assert_eq!(manifest.exposes, ["./App"]);
        // Round trip: the unknown field survives a re-serialization.
        let again = RemoteManifest::from_json(manifest.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(again.extra["futureField"]["kept"], true);
        assert_eq!(again, manifest);
    }

    #[test]
    fn malformed_fields_are_named() {
        let cases = [
            (VALID.replace("\"1.2.3\"", "\"1.2\""), "version"),
            (VALID.replace("\"^1.0.0\"", "\"one\""), "hostApi"),
            (VALID.replace("\"^19.0.0\"", "19"), "shared.react"),
            (VALID.replace("\"entry\": \"remoteEntry.js\",", ""), "(document)"),
            (VALID.replace("\"prompt-templates\"", "\"Prompt Templates\""), "name"),
            (VALID.replace("\"remoteEntry.js\"", "\"../remoteEntry.js\""), "entry"),
            (VALID.replace("\"remoteEntry.js\"", "\"/abs/remoteEntry.js\""), "entry"),
            (VALID.replace("\"remoteEntry.js\"", "\"dir\\\\remoteEntry.js\""), "entry"),
            (VALID.replace("\"record-collector\"", "\"prompt-templates\""), "requires.prompt-templates"),
            (VALID.replace("[\"./App\"]", "\"./App\""), "exposes"),
        ];
        for (json, expected_field) in cases {
            let err = RemoteManifest::from_json(json.as_bytes()).expect_err(&json);
            let message = err.to_string();
            assert_eq!(field_of(err), expected_field, "{message}");
            assert!(message.contains(expected_field), "the message names the field: {message}");
        }
    }

    #[test]
    fn missing_field_message_names_it() {
        let json = VALID.replace("\"hostApi\": \"^1.0.0\",", "");
        let err = RemoteManifest::from_json(json.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("hostApi"), "{err}");
    }

    #[test]
    fn oversize_manifest_is_refused_before_parsing() {
        let padding = " ".repeat(MAX_MANIFEST_BYTES);
        let json = format!("{VALID}{padding}");
        assert!(matches!(RemoteManifest::from_json(json.as_bytes()), Err(ManifestError::TooLarge { .. })));
    }

    #[test]
    fn bundle_paths() {
        use manifest::validate_bundle_path as check;
        for ok in ["a.js", "assets/x-1.css", "deep/er/file.json", "..hidden/ok", "a..b"] {
            assert!(check(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a\\b", "C:x", "a/", "x\0y", "."] {
            assert!(check(bad).is_err(), "{bad:?} should be refused");
        }
    }
}

mod permissions {
    use std::collections::BTreeSet;

    use manifest::{ManifestError, Permission, RemoteManifest};

    const BASE: &str = r#"{
        "name": "record-collector",
        "version": "1.0.0",
        "entry": "remoteEntry.js",
        "hostApi": "^1.0.0"
        PERMISSIONS
    }"#;

    fn with_permissions(list: &str) -> String {
        BASE.replace("PERMISSIONS", &format!(", \"permissions\": {list}"))
    }

    #[test]
    fn declared_permissions_round_trip_as_their_names() {
        let json = with_permissions(r#"["runs:start", "data:read", "files:import"]"#);
        let manifest = RemoteManifest::from_json(json.as_bytes()).unwrap();
        assert_eq!(
            manifest.permissions,
            BTreeSet::from([Permission::DataRead, Permission::FilesImport, Permission::RunsStart])
        );
        let written: serde_json::Value = serde_json::from_str(&manifest.to_json_pretty()).unwrap();
        assert_eq!(written["permissions"], serde_json::json!(["data:read", "files:import", "runs:start"]));
        assert_eq!(RemoteManifest::from_json(manifest.to_json_pretty().as_bytes()).unwrap(), manifest);
        assert!(!manifest.extra.contains_key("permissions"), "a known field is not kept as an unknown one");
    }

    #[test]
    fn no_permissions_is_the_default_and_is_not_written() {
        let manifest = RemoteManifest::from_json(BASE.replace("PERMISSIONS", "").as_bytes()).unwrap();
        assert!(manifest.permissions.is_empty());
        assert!(!manifest.to_json_pretty().contains("permissions"), "{}", manifest.to_json_pretty());
        let empty = RemoteManifest::from_json(with_permissions("[]").as_bytes()).unwrap();
        assert_eq!(empty, manifest);
    }

    #[test]
    fn an_unknown_permission_is_refused_naming_it_and_the_known_ones() {
        let json = with_permissions(r#"["data:read", "net:any"]"#);
        let err = RemoteManifest::from_json(json.as_bytes()).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ManifestError::Malformed { .. }), "{err:?}");
        assert!(message.contains("remote.json"), "{message}");
        assert!(message.contains("unknown permission `net:any`"), "{message}");
        assert!(
            message.contains(
                "known permissions: data:read, data:write, files:import, files:export, runs:start, providers:use, \
                 stack:control, remotes:manage"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_permission_of_the_wrong_type_is_refused() {
        for bad in [r#""data:read""#, "[1]", r#"["DataRead"]"#, r#"["data:read "]"#] {
            let json = with_permissions(bad);
            let err = RemoteManifest::from_json(json.as_bytes()).expect_err(bad);
            assert!(err.to_string().contains("permissions"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_permission_has_a_name_that_parses_back_and_a_description() {
        for permission in Permission::ALL {
            assert_eq!(permission.as_str().parse::<Permission>().unwrap(), permission);
            assert_eq!(permission.to_string(), permission.as_str());
            assert!(!permission.describe().is_empty() && !permission.describe().contains('\n'));
        }
        assert!(Permission::RunsStart.describe().contains("costs money"));
        let err = "files:delete".parse::<Permission>().unwrap_err();
        assert_eq!(err.found, "files:delete");
    }
}

mod select {
    use std::collections::BTreeMap;

    use manifest::{
        Candidate, HostProfile, Incompatibility, RemoteManifest, SelectError, SelectionRequest, Version, select,
    };

    fn candidate(name: &str, version: &str, host_api: &str) -> Candidate {
        let manifest = RemoteManifest {
            name: name.into(),
            version: version.parse().unwrap(),
            entry: "remoteEntry.js".into(),
            host_api: host_api.parse().unwrap(),
            shared: BTreeMap::from([("react".into(), "^19.0.0".parse().unwrap())]),
            requires: BTreeMap::new(),
            exposes: vec![],
            display_name: None,
            description: None,
            permissions: Default::default(),
            extra: BTreeMap::new(),
        };
        Candidate { manifest, yanked: false }
    }

    fn with_shared(mut c: Candidate, package: &str, range: &str) -> Candidate {
        c.manifest.shared.insert(package.into(), range.parse().unwrap());
        c
    }

    fn requiring(mut c: Candidate, remote: &str, range: &str) -> Candidate {
        c.manifest.requires.insert(remote.into(), range.parse().unwrap());
        c
    }

    fn yanked(mut c: Candidate) -> Candidate {
        c.yanked = true;
        c
    }

    fn registry(candidates: Vec<Candidate>) -> BTreeMap<String, Vec<Candidate>> {
        let mut map: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
        for c in candidates {
            map.entry(c.manifest.name.clone()).or_default().push(c);
        }
        map
    }

    fn profile(host_api: &str) -> HostProfile {
        let mut profile = HostProfile::builtin();
        profile.host_api = host_api.parse().unwrap();
        profile
    }

    struct Case<'a> {
        available: Vec<Candidate>,
        host: &'a str,
        pins: &'a [(&'a str, &'a str)],
        allow_prerelease: bool,
    }

    impl Case<'_> {
        fn run(self, wanted: &[&str]) -> Result<BTreeMap<String, String>, SelectError> {
            let available = registry(self.available);
            let pins: BTreeMap<String, Version> =
                self.pins.iter().map(|(n, v)| ((*n).to_owned(), v.parse().unwrap())).collect();
            let wanted: Vec<String> = wanted.iter().map(|w| (*w).to_owned()).collect();
            let profile = profile(self.host);
            let request = SelectionRequest {
                wanted: &wanted,
                pins: &pins,
                profile: &profile,
                allow_prerelease: self.allow_prerelease,
            };
            select(&available, request).map(|s| s.chosen.into_iter().map(|(n, c)| (n, c.version.to_string())).collect())
        }
    }

    /// Versions of "a" with their hostApi ranges, the host's version, and the expected pick.
    type MatrixRow<'a> = (&'a [(&'a str, &'a str)], &'a str, Option<&'a str>);

    #[test]
    fn host_api_matrix() {
        let rows: &[MatrixRow] = &[
            // (versions with their hostApi ranges), host version, expected pick of "a"
            (&[("1.0.0", "^1.0"), ("1.1.0", "^1.0")], "1.0.0", Some("1.1.0")),
            (&[("1.0.0", "^1.0"), ("2.0.0", "^2.0")], "1.4.0", Some("1.0.0")),
            (&[("1.0.0", "^1.0"), ("2.0.0", "^2.0")], "2.0.0", Some("2.0.0")),
            (&[("1.0.0", "^1.5")], "1.4.0", None),
            (&[("1.0.0", ">=1.0, <1.3")], "1.3.0", None),
            (&[("1.0.0", ">=1.0, <1.3")], "1.2.9", Some("1.0.0")),
            (&[("1.0.0", "~1.2")], "1.2.7", Some("1.0.0")),
            (&[("1.0.0", "~1.2")], "1.3.0", None),
            (&[("1.0.0", "*")], "7.0.0", Some("1.0.0")),
            (&[("1.0.0", "=1.0.0")], "1.0.1", None),
            (&[("0.1.0", "^0.1"), ("0.2.0", "^0.2")], "0.1.5", Some("0.1.0")),
            // A pre-release host does not satisfy a plain range (semver rule).
            (&[("1.0.0", "^1.0")], "1.1.0-beta.1", None),
            (&[("1.0.0", ">=1.1.0-beta.0")], "1.1.0-beta.1", Some("1.0.0")),
        ];
        for (versions, host, expected) in rows {
            let available = versions.iter().map(|(v, range)| candidate("a", v, range)).collect();
            let result = Case { available, host, pins: &[], allow_prerelease: false }.run(&["a"]);
            match expected {
                Some(version) => {
                    assert_eq!(result.as_ref().map(|r| r["a"].as_str()), Ok(*version), "{versions:?} on {host}")
                }
                None => assert!(
                    matches!(result, Err(SelectError::NoCompatibleVersion { .. })),
                    "{versions:?} on {host} should have no compatible version: {result:?}"
                ),
            }
        }
    }

    #[test]
    fn fallback_records_why_newer_was_passed_over() {
        let available = registry(vec![
            candidate("prompt-templates", "1.7.3", "^1.0"),
            candidate("prompt-templates", "2.0.0", "^2.0"),
            candidate("prompt-templates", "1.6.0", "^1.0"),
        ]);
        let host = profile("1.4.0");
        let request = SelectionRequest { wanted: &[], pins: &BTreeMap::new(), profile: &host, allow_prerelease: false };
        let selection = select(&available, request).unwrap();
        let chosen = &selection.chosen["prompt-templates"];
        assert_eq!(chosen.version.to_string(), "1.7.3");
        assert_eq!(
            chosen.fallback_reason().unwrap(),
            "2.0.0 needs host API ^2.0, this app provides 1.4.0; newest compatible is 1.7.3"
        );
    }

    #[test]
    fn newest_chosen_has_no_fallback_reason() {
        let available = registry(vec![candidate("a", "1.0.0", "^1"), candidate("a", "1.1.0", "^1")]);
        let host = profile("1.0.0");
        let request = SelectionRequest { wanted: &[], pins: &BTreeMap::new(), profile: &host, allow_prerelease: false };
        let selection = select(&available, request).unwrap();
        assert_eq!(selection.chosen["a"].fallback_reason(), None);
        assert!(selection.chosen["a"].skipped.is_empty());
    }

    #[test]
    fn none_fits_says_what_to_do() {
        let available =
            vec![candidate("prompt-templates", "2.0.0", "^2.0"), candidate("prompt-templates", "3.0.0", "^3.0")];
        let err = Case { available, host: "1.4.0", pins: &[], allow_prerelease: false }
            .run(&["prompt-templates"])
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("no version of prompt-templates works with this app"), "{message}");
        assert!(message.contains("3.0.0 needs host API ^3.0, this app provides 1.4.0"), "{message}");
        assert!(message.contains("Update Augment-It"), "{message}");
    }

    #[test]
    fn shared_ranges() {
        let ok = with_shared(candidate("a", "1.0.0", "^1"), "react-dom", "^19.0.0");
        let too_new = with_shared(candidate("a", "1.1.0", "^1"), "react", "^20.0.0");
        let unknown = with_shared(candidate("a", "1.2.0", "^1"), "vue", "^3");
        let available = registry(vec![ok, too_new, unknown]);
        let host = profile("1.0.0");
        let request = SelectionRequest { wanted: &[], pins: &BTreeMap::new(), profile: &host, allow_prerelease: false };
        let chosen = &select(&available, request).unwrap().chosen["a"];
        assert_eq!(chosen.version.to_string(), "1.0.0");
        assert!(
            matches!(&chosen.skipped[0].reason, Incompatibility::SharedNotProvided { package, .. } if package == "vue")
        );
        assert!(matches!(&chosen.skipped[1].reason, Incompatibility::Shared { package, .. } if package == "react"));
        assert!(chosen.fallback_reason().unwrap().contains("needs shared react ^20.0.0, this app provides 19.2.0"));
    }

    #[test]
    fn builtin_ui_kit_serves_remotes_built_for_1_0_to_1_3() {
        assert_eq!(HostProfile::builtin().shared["@augment-it/ui-kit"], Version::new(1, 3, 0));
        let available = vec![
            with_shared(candidate("old", "1.0.0", "^1"), "@augment-it/ui-kit", "^1.0.0"),
            with_shared(candidate("new", "1.0.0", "^1"), "@augment-it/ui-kit", "^1.1.0"),
            with_shared(candidate("new", "1.1.0", "^1"), "@augment-it/ui-kit", "^1.2.0"),
            with_shared(candidate("new", "1.2.0", "^1"), "@augment-it/ui-kit", "^1.3.0"),
            with_shared(candidate("new", "1.3.0", "^1"), "@augment-it/ui-kit", "^1.4.0"),
        ];
        let picked =
            Case { available, host: "1.0.0", pins: &[], allow_prerelease: false }.run(&["old", "new"]).unwrap();
        assert_eq!((picked["old"].as_str(), picked["new"].as_str()), ("1.0.0", "1.2.0"));
    }

    #[test]
    fn yanked_versions_are_skipped_unless_pinned() {
        let available = || vec![candidate("a", "1.0.0", "^1"), yanked(candidate("a", "1.1.0", "^1"))];
        let picked = Case { available: available(), host: "1.0.0", pins: &[], allow_prerelease: false }.run(&["a"]);
        assert_eq!(picked.unwrap()["a"], "1.0.0");
        let pinned = Case { available: available(), host: "1.0.0", pins: &[("a", "1.1.0")], allow_prerelease: false };
        assert_eq!(pinned.run(&["a"]).unwrap()["a"], "1.1.0");
        let all_yanked = Case {
            available: vec![yanked(candidate("a", "1.0.0", "^1"))],
            host: "1.0.0",
            pins: &[],
            allow_prerelease: false,
        };
        let err = all_yanked.run(&["a"]).unwrap_err();
        assert!(err.to_string().contains("yanked"), "{err}");
    }

    #[test]
    fn prereleases_need_a_pin_or_opt_in() {
        let available = || vec![candidate("a", "1.0.0", "^1"), candidate("a", "1.1.0-rc.1", "^1")];
        let default = Case { available: available(), host: "1.0.0", pins: &[], allow_prerelease: false }.run(&["a"]);
        assert_eq!(default.unwrap()["a"], "1.0.0");
        let opted_in = Case { available: available(), host: "1.0.0", pins: &[], allow_prerelease: true }.run(&["a"]);
        assert_eq!(opted_in.unwrap()["a"], "1.1.0-rc.1");
        let pinned =
            Case { available: available(), host: "1.0.0", pins: &[("a", "1.1.0-rc.1")], allow_prerelease: false };
        assert_eq!(pinned.run(&["a"]).unwrap()["a"], "1.1.0-rc.1");
        // 1.1.0-rc.1 < 1.1.0: a release beats its own pre-release.
        let release = vec![candidate("a", "1.1.0-rc.1", "^1"), candidate("a", "1.1.0", "^1")];
        let picked = Case { available: release, host: "1.0.0", pins: &[], allow_prerelease: true }.run(&["a"]);
        assert_eq!(picked.unwrap()["a"], "1.1.0");
    }

    #[test]
    fn pins_hold_back_and_errors_name_the_pin() {
        let available =
            || vec![candidate("a", "1.0.0", "^1"), candidate("a", "1.1.0", "^1"), candidate("a", "2.0.0", "^2")];
        let held = Case { available: available(), host: "1.0.0", pins: &[("a", "1.0.0")], allow_prerelease: false };
        assert_eq!(held.run(&["a"]).unwrap()["a"], "1.0.0");

        let missing = Case { available: available(), host: "1.0.0", pins: &[("a", "1.5.0")], allow_prerelease: false };
        assert!(matches!(missing.run(&["a"]), Err(SelectError::PinnedMissing { .. })));

        let incompatible =
            Case { available: available(), host: "1.0.0", pins: &[("a", "2.0.0")], allow_prerelease: false };
        let err = incompatible.run(&["a"]).unwrap_err();
        assert!(matches!(err, SelectError::PinnedIncompatible { .. }));
        assert!(err.to_string().contains("needs host API ^2"), "{err}");
        assert!(err.to_string().contains("unpin"), "{err}");
    }

    #[test]
    fn requires_pulls_in_and_constrains_other_remotes() {
        let available = vec![
            requiring(candidate("app", "1.0.0", "^1"), "lib", "^1.2"),
            candidate("lib", "1.1.0", "^1"),
            candidate("lib", "1.3.0", "^1"),
            candidate("lib", "2.0.0", "^1"),
        ];
        let picked = Case { available, host: "1.0.0", pins: &[], allow_prerelease: false }.run(&["app"]).unwrap();
        assert_eq!(picked["app"], "1.0.0");
        assert_eq!(picked["lib"], "1.3.0", "the newest lib inside app's range, not the newest overall");
    }

    #[test]
    fn requires_backtracks_to_an_older_dependent() {
        // app 2.0 needs lib ^2, but lib 2 needs a newer host: fall back to app 1.0 with lib 1.x.
        let available = vec![
            requiring(candidate("app", "2.0.0", "^1"), "lib", "^2"),
            requiring(candidate("app", "1.0.0", "^1"), "lib", "^1"),
            candidate("lib", "2.0.0", "^2"),
            candidate("lib", "1.4.0", "^1"),
        ];
        let host = profile("1.0.0");
        let available = registry(available);
        let request = SelectionRequest {
            wanted: &["app".to_owned()],
            pins: &BTreeMap::new(),
            profile: &host,
            allow_prerelease: false,
        };
        let selection = select(&available, request).unwrap();
        assert_eq!(selection.chosen["app"].version.to_string(), "1.0.0");
        assert_eq!(selection.chosen["lib"].version.to_string(), "1.4.0");
        let why = &selection.chosen["app"].skipped[0].reason;
        assert!(matches!(why, Incompatibility::Requires { remote, .. } if remote == "lib"), "{why:?}");
    }

    #[test]
    fn mutual_requires_must_agree() {
        let available = vec![
            requiring(candidate("a", "1.0.0", "^1"), "b", "^1"),
            requiring(candidate("b", "1.0.0", "^1"), "a", "^2"),
        ];
        let err = Case { available, host: "1.0.0", pins: &[], allow_prerelease: false }.run(&["a", "b"]).unwrap_err();
        assert!(matches!(err, SelectError::Conflict { .. }), "{err:?}");
        assert!(err.to_string().contains("needs a ^2"), "{err}");
    }

    #[test]
    fn unknown_remotes_are_named() {
        let available = vec![requiring(candidate("a", "1.0.0", "^1"), "ghost", "^1")];
        let wanted_unknown = Case { available: available.clone(), host: "1.0.0", pins: &[], allow_prerelease: false };
        assert!(
            matches!(wanted_unknown.run(&["nope"]), Err(SelectError::UnknownRemote { name, .. }) if name == "nope")
        );
        let required_unknown =
            Case { available, host: "1.0.0", pins: &[], allow_prerelease: false }.run(&["a"]).unwrap_err();
        assert!(required_unknown.to_string().contains("ghost"), "{required_unknown}");
    }

    #[test]
    fn empty_wanted_selects_every_remote() {
        let available =
            vec![candidate("a", "1.0.0", "^1"), candidate("b", "1.0.0", "^1"), candidate("c", "1.0.0", "^1")];
        let picked = Case { available, host: "1.0.0", pins: &[], allow_prerelease: false }.run(&[]).unwrap();
        assert_eq!(picked.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn pathological_requires_stop_with_too_complex() {
        // 12 remotes × 10 versions where the last remote can never be satisfied:
        // exhaustive search would try 10^11 combinations.
        let mut available = Vec::new();
        for r in 0..12 {
            for v in 0..10 {
                let mut c = candidate(&format!("r{r}"), &format!("1.{v}.0"), "^1");
                if r == 11 {
                    c = requiring(c, "r0", "^9");
                }
                available.push(c);
            }
        }
        let wanted: Vec<String> = (0..12).map(|r| format!("r{r}")).collect();
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let err = Case { available, host: "1.0.0", pins: &[], allow_prerelease: false }.run(&wanted).unwrap_err();
        assert!(matches!(err, SelectError::TooComplex { .. }), "{err:?}");
    }
}
