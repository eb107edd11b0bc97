use std::fs;

use cache::{CacheError, FileEntry, Sha256Digest};

use crate::{SHARED, fresh, install, install_simple, new_version};

#[test]
fn a_version_is_visible_only_after_commit() {
    let (_dir, cache) = fresh();
    let files: &[(&str, &[u8])] = &[("remoteEntry.js", b"entry"), ("assets/app.css", b"body{}")];
    let v = new_version("record-collector", "1.0.0", files);
    let guard = cache.install_guard().unwrap();
    for (_, bytes) in files {
        cache.write_blob(&guard, &Sha256Digest::of(bytes), bytes).unwrap();
    }
    assert_eq!(cache.version("record-collector", "1.0.0").unwrap(), None, "blobs alone install nothing");
    assert!(cache.versions().unwrap().is_empty());

    cache.commit_version(&guard, &v).unwrap();

    let got = cache.version("record-collector", "1.0.0").unwrap().unwrap();
    assert_eq!(got.registry, v.registry);
    assert_eq!(got.manifest_json, v.manifest_json);
    let mut expected = v.files.clone();
    expected.sort();
    assert_eq!(got.files, expected, "files come back sorted by path");
    assert!(got.installed_at > 0);
}

#[test]
fn commit_with_a_missing_blob_fails_and_changes_nothing() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "other", "1.0.0");
    let before = cache.versions().unwrap();
    let v = new_version("record-collector", "1.0.0", &[("a.js", b"written"), ("b.js", b"never written")]);
    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &Sha256Digest::of(b"written"), b"written").unwrap();

    let err = cache.commit_version(&guard, &v).unwrap_err();

    match &err {
        CacheError::BlobMissing(missing) => {
            assert_eq!(missing.path, "b.js");
            assert_eq!(missing.found_length, None);
            assert_eq!((missing.name.as_str(), missing.version.as_str()), ("record-collector", "1.0.0"));
        }
        other => panic!("expected BlobMissing, got {other:?}"),
    }
    assert!(err.to_string().contains("write every blob"), "says what to do: {err}");
    assert_eq!(cache.versions().unwrap(), before, "index unchanged");
}

#[test]
fn commit_with_a_wrong_length_blob_fails_and_changes_nothing() {
    let (_dir, cache) = fresh();
    let mut v = new_version("record-collector", "1.0.0", &[("a.js", b"12345")]);
    v.files[0].length = 4;
    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &Sha256Digest::of(b"12345"), b"12345").unwrap();

    let err = cache.commit_version(&guard, &v).unwrap_err();

    assert!(
        matches!(&err, CacheError::BlobMissing(m) if m.expected_length == 4 && m.found_length == Some(5)),
        "{err:?}"
    );
    assert_eq!(cache.version("record-collector", "1.0.0").unwrap(), None);
}

#[test]
fn recommitting_the_same_files_is_a_no_op() {
    let (_dir, cache) = fresh();
    let v = install_simple(&cache, "record-collector", "1.0.0");
    let first = cache.version("record-collector", "1.0.0").unwrap().unwrap();
    let guard = cache.install_guard().unwrap();
    let mut reordered = v.clone();
    reordered.files.reverse();

    cache.commit_version(&guard, &reordered).unwrap();

    assert_eq!(cache.versions().unwrap(), vec![first], "still exactly one row, unchanged");
}

#[test]
fn the_same_version_with_different_files_is_a_conflict() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "record-collector", "1.0.0");
    let original = cache.version("record-collector", "1.0.0").unwrap().unwrap();

    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &Sha256Digest::of(b"changed"), b"changed").unwrap();
    let changed = new_version("record-collector", "1.0.0", &[("remoteEntry.js", b"changed"), ("shared.js", SHARED)]);
    let err = cache.commit_version(&guard, &changed).unwrap_err();

    assert!(
        matches!(err, CacheError::VersionConflict { ref name, ref version } if name == "record-collector" && version == "1.0.0")
    );
    assert_eq!(cache.version("record-collector", "1.0.0").unwrap().unwrap(), original);
}

#[test]
fn versions_are_sorted_by_name_then_install_order() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "b", "2.0.0");
    install_simple(&cache, "a", "1.0.0");
    install_simple(&cache, "b", "1.0.0");
    let got: Vec<_> = cache.versions().unwrap().into_iter().map(|v| format!("{}@{}", v.name, v.version)).collect();
    assert_eq!(got, ["a@1.0.0", "b@2.0.0", "b@1.0.0"]);
}

#[test]
fn file_path_finds_the_blob_of_an_installed_file() {
    let (_dir, cache) = fresh();
    install(&cache, "insights", "1.0.0", &[("assets/index.js", b"js!")]);

    let (path, entry) = cache.file_path("insights", "1.0.0", "assets/index.js").unwrap().unwrap();

    assert_eq!(fs::read(path).unwrap(), b"js!");
    assert_eq!(entry, FileEntry { path: "assets/index.js".into(), sha256: Sha256Digest::of(b"js!"), length: 3 });
    assert_eq!(cache.file_path("insights", "1.0.0", "missing.js").unwrap(), None);
    assert_eq!(cache.file_path("insights", "9.9.9", "assets/index.js").unwrap(), None);
}

#[test]
fn refuses_paths_that_could_escape_a_bundle_and_bad_input() {
    let (_dir, cache) = fresh();
    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &Sha256Digest::of(b"x"), b"x").unwrap();
    for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "C:/x", "./a"] {
        let v = new_version("r", "1.0.0", &[(bad, b"x")]);
        let err = cache.commit_version(&guard, &v).unwrap_err();
        assert!(matches!(err, CacheError::InvalidInput { .. }), "{bad:?} gave {err:?}");
    }
    let dup = new_version("r", "1.0.0", &[("a.js", b"x"), ("a.js", b"x")]);
    assert!(matches!(cache.commit_version(&guard, &dup), Err(CacheError::InvalidInput { .. })));
    let mut not_json = new_version("r", "1.0.0", &[("a.js", b"x")]);
    not_json.manifest_json = "{not json".into();
    assert!(matches!(cache.commit_version(&guard, &not_json), Err(CacheError::InvalidInput { .. })));
    assert!(cache.versions().unwrap().is_empty());
}
