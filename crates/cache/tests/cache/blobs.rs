use std::fs;

use cache::{BundleCache, CacheError, Sha256Digest};

use crate::{files_under, fresh};

#[test]
fn stores_a_blob_at_its_content_address() {
    let (dir, cache) = fresh();
    let bytes = b"console.log('hello')";
    let digest = Sha256Digest::of(bytes);
    assert!(!cache.has_blob(&digest, bytes.len() as u64));

    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &digest, bytes).unwrap();

    let hex = digest.to_string();
    let expected = dir.path().join("blobs/sha256").join(&hex[..2]).join(&hex);
    assert_eq!(cache.blob_path(&digest), expected);
    assert_eq!(fs::read(&expected).unwrap(), bytes);
    assert!(cache.has_blob(&digest, bytes.len() as u64));
    assert!(
        !cache.has_blob(&digest, bytes.len() as u64 + 1),
        "has_blob checks the length too"
    );
    assert!(
        files_under(&dir.path().join("tmp")).is_empty(),
        "the temporary file was renamed away"
    );
}

#[test]
fn refuses_a_wrong_digest_and_leaves_nothing_behind() {
    let (dir, cache) = fresh();
    let claimed = Sha256Digest::of(b"what the index said");
    let guard = cache.install_guard().unwrap();

    let err = cache
        .write_blob(&guard, &claimed, b"what the server sent")
        .unwrap_err();

    match &err {
        CacheError::DigestMismatch { expected, actual } => {
            assert_eq!(*expected, claimed);
            assert_eq!(*actual, Sha256Digest::of(b"what the server sent"));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert!(!cache.blob_path(&claimed).exists());
    assert!(
        files_under(&dir.path().join("blobs")).is_empty(),
        "no blob written"
    );
    assert!(
        files_under(&dir.path().join("tmp")).is_empty(),
        "no temporary file left"
    );
}

#[test]
fn writing_twice_is_a_no_op() {
    let (_dir, cache) = fresh();
    let bytes = b"same";
    let digest = Sha256Digest::of(bytes);
    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &digest, bytes).unwrap();
    let before = fs::metadata(cache.blob_path(&digest))
        .unwrap()
        .modified()
        .unwrap();
    cache.write_blob(&guard, &digest, bytes).unwrap();
    let after = fs::metadata(cache.blob_path(&digest))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "an intact blob is not rewritten");
}

#[test]
fn rewriting_repairs_a_damaged_blob() {
    let (_dir, cache) = fresh();
    let bytes = b"original content";
    let digest = Sha256Digest::of(bytes);
    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &digest, bytes).unwrap();
    fs::write(cache.blob_path(&digest), b"damaged content!").unwrap();

    cache.write_blob(&guard, &digest, bytes).unwrap();

    assert_eq!(fs::read(cache.blob_path(&digest)).unwrap(), bytes);
}

#[test]
fn refuses_a_guard_from_another_cache() {
    let (_a_dir, a) = fresh();
    let (_b_dir, b) = fresh();
    let guard = a.install_guard().unwrap();
    let err = b
        .write_blob(&guard, &Sha256Digest::of(b"x"), b"x")
        .unwrap_err();
    assert!(matches!(err, CacheError::ForeignGuard { .. }), "{err:?}");
}

#[test]
fn a_guard_works_across_instances_of_the_same_directory() {
    let (dir, a) = fresh();
    let b = BundleCache::open(dir.path()).unwrap();
    let guard = a.install_guard().unwrap();
    b.write_blob(&guard, &Sha256Digest::of(b"x"), b"x").unwrap();
    assert!(a.has_blob(&Sha256Digest::of(b"x"), 1));
}
