use cache::CacheError;

use crate::{fresh, install_simple};

#[test]
fn active_requires_an_installed_version() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    install_simple(&cache, "b", "2.0.0");
    assert_eq!(cache.active("a").unwrap(), None);

    cache.set_active("a", "1.0.0").unwrap();
    cache.set_active("b", "2.0.0").unwrap();
    let err = cache.set_active("a", "3.0.0").unwrap_err();

    assert!(matches!(err, CacheError::VersionNotInstalled { .. }), "{err:?}");
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"), "failed set_active changed nothing");
    let all = cache.active_all().unwrap();
    assert_eq!(all.into_iter().collect::<Vec<_>>(), [("a".into(), "1.0.0".into()), ("b".into(), "2.0.0".into())]);
}

#[test]
fn pins_accept_versions_not_yet_installed_and_unpin_reports_whether_one_existed() {
    let (_dir, cache) = fresh();
    cache.pin("a", "4.2.0").unwrap();
    cache.pin("b", "1.0.0").unwrap();
    cache.pin("a", "4.3.0").unwrap();
    assert_eq!(cache.pins().unwrap().get("a").map(String::as_str), Some("4.3.0"), "re-pinning replaces");
    assert!(cache.unpin("a").unwrap());
    assert!(!cache.unpin("a").unwrap(), "second unpin finds nothing");
    assert_eq!(cache.pins().unwrap().into_iter().collect::<Vec<_>>(), [("b".into(), "1.0.0".into())]);
    assert!(matches!(cache.pin("a", " "), Err(CacheError::InvalidInput { .. })));
    assert!(matches!(cache.pin("", "1.0.0"), Err(CacheError::InvalidInput { .. })));
}

#[test]
fn known_good_requires_an_installed_version() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    assert_eq!(cache.last_known_good("a").unwrap(), None);
    cache.mark_known_good("a", "1.0.0").unwrap();
    assert!(matches!(cache.mark_known_good("a", "2.0.0"), Err(CacheError::VersionNotInstalled { .. })));
    assert_eq!(cache.last_known_good("a").unwrap().as_deref(), Some("1.0.0"));
}

#[test]
fn rollback_prefers_last_known_good_and_pins_it() {
    let (_dir, cache) = fresh();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        install_simple(&cache, "a", v);
    }
    cache.set_active("a", "1.0.0").unwrap();
    cache.mark_known_good("a", "1.0.0").unwrap();
    cache.set_active("a", "1.1.0").unwrap();
    cache.set_active("a", "1.2.0").unwrap();

    let r = cache.rollback("a").unwrap();

    assert_eq!(
        (r.name.as_str(), r.from.as_str(), r.to.as_str()),
        ("a", "1.2.0", "1.0.0"),
        "known-good beats the previous version"
    );
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(
        cache.pins().unwrap().get("a").map(String::as_str),
        Some("1.0.0"),
        "pinned so resolve does not move forward"
    );
}

#[test]
fn rollback_falls_back_to_the_previously_active_version() {
    let (_dir, cache) = fresh();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        install_simple(&cache, "a", v);
    }
    cache.set_active("a", "1.0.0").unwrap();
    cache.set_active("a", "1.1.0").unwrap();
    cache.mark_known_good("a", "1.1.0").unwrap();
    // Re-selecting the active version must not count as history.
    cache.set_active("a", "1.1.0").unwrap();

    let r = cache.rollback("a").unwrap();

    assert_eq!((r.from.as_str(), r.to.as_str()), ("1.1.0", "1.0.0"), "known-good is the active one, so use history");
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(cache.pins().unwrap().get("a").map(String::as_str), Some("1.0.0"));
}

#[test]
fn rollback_with_nothing_to_go_back_to_is_an_error_that_changes_nothing() {
    let (_dir, cache) = fresh();
    let err = cache.rollback("a").unwrap_err();
    assert!(matches!(err, CacheError::NothingToRollBackTo { ref name, .. } if name == "a"), "{err:?}");
    assert!(err.to_string().contains("no version of it is active"), "{err}");

    install_simple(&cache, "a", "1.0.0");
    install_simple(&cache, "a", "2.0.0");
    cache.set_active("a", "2.0.0").unwrap();
    cache.mark_known_good("a", "2.0.0").unwrap();
    let err = cache.rollback("a").unwrap_err();

    assert!(matches!(err, CacheError::NothingToRollBackTo { .. }), "{err:?}");
    assert!(err.to_string().contains("pin it"), "says what to do instead: {err}");
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("2.0.0"));
    assert!(cache.pins().unwrap().is_empty(), "a failed rollback pins nothing");
}

#[test]
fn several_versions_are_activated_together_or_not_at_all() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    install_simple(&cache, "b", "2.0.0");
    let both = [("a".to_owned(), "1.0.0".to_owned()), ("b".to_owned(), "2.0.0".to_owned())];
    cache.set_active_versions(&both).unwrap();
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(cache.active("b").unwrap().as_deref(), Some("2.0.0"));

    install_simple(&cache, "a", "1.1.0");
    let one_missing = [("a".to_owned(), "1.1.0".to_owned()), ("b".to_owned(), "9.9.9".to_owned())];
    let err = cache.set_active_versions(&one_missing).unwrap_err();
    assert!(matches!(err, CacheError::VersionNotInstalled { .. }), "{err:?}");
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"), "a failed batch changes nothing");
}

/// The shell's automatic rollback after a load failure (moved from
/// `report_load_failure`): decided and done in one transaction.
#[test]
fn a_failed_active_version_rolls_back_to_known_good_only() {
    let (_dir, cache) = fresh();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        install_simple(&cache, "a", v);
    }
    cache.set_active("a", "1.0.0").unwrap();
    cache.set_active("a", "1.1.0").unwrap();
    assert_eq!(cache.roll_back_failed("a", "1.1.0").unwrap(), None, "nothing is known good yet");
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.1.0"));

    cache.mark_known_good("a", "1.0.0").unwrap();
    cache.set_active("a", "1.2.0").unwrap();
    assert_eq!(cache.roll_back_failed("a", "1.1.0").unwrap(), None, "not the active version");
    assert_eq!(cache.roll_back_failed("b", "1.0.0").unwrap(), None, "an unknown remote");
    assert!(cache.pins().unwrap().is_empty(), "no decision to roll back writes nothing");

    let rollback = cache.roll_back_failed("a", "1.2.0").unwrap().expect("rolled back");
    assert_eq!((rollback.from.as_str(), rollback.to.as_str()), ("1.2.0", "1.0.0"));
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(cache.pins().unwrap().get("a").map(String::as_str), Some("1.0.0"));

    assert_eq!(cache.roll_back_failed("a", "1.0.0").unwrap(), None, "the known-good version itself failing");
    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
}
