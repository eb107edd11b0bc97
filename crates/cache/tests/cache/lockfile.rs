use cache::{CacheError, LockFile};

use crate::{fresh, install_simple};

#[test]
fn exports_active_versions_and_round_trips() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "b", "1.0.0");
    install_simple(&cache, "a", "1.0.0");
    install_simple(&cache, "a", "2.0.0");
    install_simple(&cache, "c", "1.0.0");
    cache.set_active("a", "2.0.0").unwrap();
    cache.set_active("b", "1.0.0").unwrap();

    let entries = cache.lock_entries().unwrap();

    let names: Vec<_> = entries.iter().map(|e| format!("{}@{}", e.name, e.version)).collect();
    assert_eq!(names, ["a@2.0.0", "b@1.0.0"], "only active versions, sorted by name");
    assert_eq!(entries[0].files, cache.version("a", "2.0.0").unwrap().unwrap().files);

    let lock = LockFile::new(entries);
    let json = lock.to_json().unwrap();
    assert!(json.contains("\"lockVersion\": 1"), "{json}");
    assert!(json.contains("\"sha256\": \""), "digests are hex strings: {json}");
    assert_eq!(LockFile::from_json(&json).unwrap(), lock);
}

fn err_of(json: &str) -> CacheError {
    LockFile::from_json(json).unwrap_err()
}

#[test]
fn malformed_lock_files_say_what_is_wrong() {
    let ok_file =
        r#"{"path":"a.js","sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","length":3}"#;

    let e = err_of("{ not json");
    assert!(matches!(e, CacheError::InvalidLockFile { ref location, .. } if location.starts_with("line 1")), "{e:?}");

    let e = err_of(r#"{"remotes":[]}"#);
    assert!(matches!(e, CacheError::InvalidLockFile { ref location, .. } if location == "lockVersion"), "{e:?}");

    let e = err_of(r#"{"lockVersion":2,"remotes":[]}"#);
    assert!(matches!(e, CacheError::UnsupportedLockVersion { ref found, supported: 1 } if found == "2"), "{e:?}");
    assert!(e.to_string().contains("upgrade"), "{e}");

    let bad_digest = format!(
        r#"{{"lockVersion":1,"remotes":[{{"name":"a","version":"1","registry":"r","files":[{ok_file},{{"path":"b.js","sha256":"XYZ","length":1}}]}}]}}"#
    );
    let e = err_of(&bad_digest);
    assert!(
        matches!(e, CacheError::InvalidLockFile { ref location, ref reason } if location == "remotes[0].files[1].sha256" && reason.contains("not a sha256 digest")),
        "{e:?}"
    );

    let e = err_of(r#"{"lockVersion":1,"remotes":[{"name":"a","version":"1","files":[]}]}"#);
    assert!(
        matches!(e, CacheError::InvalidLockFile { ref location, ref reason } if location == "remotes[0]" && reason.contains("registry")),
        "{e:?}"
    );

    let dup = format!(
        r#"{{"lockVersion":1,"remotes":[{{"name":"a","version":"1","registry":"r","files":[{ok_file}]}},{{"name":"a","version":"2","registry":"r","files":[]}}]}}"#
    );
    let e = err_of(&dup);
    assert!(matches!(e, CacheError::InvalidLockFile { ref location, .. } if location == "remotes[1].name"), "{e:?}");
    assert!(e.to_string().contains("export it again"), "says what to do: {e}");
}
