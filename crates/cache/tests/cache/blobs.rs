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
    assert!(!cache.has_blob(&digest, bytes.len() as u64 + 1), "has_blob checks the length too");
    assert!(files_under(&dir.path().join("tmp")).is_empty(), "the temporary file was renamed away");
}

#[test]
fn refuses_a_wrong_digest_and_leaves_nothing_behind() {
    let (dir, cache) = fresh();
    let claimed = Sha256Digest::of(b"what the index said");
    let guard = cache.install_guard().unwrap();

    let err = cache.write_blob(&guard, &claimed, b"what the server sent").unwrap_err();

    match &err {
        CacheError::DigestMismatch { expected, actual } => {
            assert_eq!(*expected, claimed);
            assert_eq!(*actual, Sha256Digest::of(b"what the server sent"));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert!(!cache.blob_path(&claimed).exists());
    assert!(files_under(&dir.path().join("blobs")).is_empty(), "no blob written");
    assert!(files_under(&dir.path().join("tmp")).is_empty(), "no temporary file left");
}

#[test]
fn writing_twice_is_a_no_op() {
    let (_dir, cache) = fresh();
    let bytes = b"same";
    let digest = Sha256Digest::of(bytes);
    let guard = cache.install_guard().unwrap();
    cache.write_blob(&guard, &digest, bytes).unwrap();
    let before = fs::metadata(cache.blob_path(&digest)).unwrap().modified().unwrap();
    cache.write_blob(&guard, &digest, bytes).unwrap();
    let after = fs::metadata(cache.blob_path(&digest)).unwrap().modified().unwrap();
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
    let err = b.write_blob(&guard, &Sha256Digest::of(b"x"), b"x").unwrap_err();
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

#[test]
fn a_streamed_blob_is_stored_once_its_length_and_digest_check_out() {
    let (dir, cache) = fresh();
    let bytes = b"chunk one, chunk two, chunk three";
    let digest = Sha256Digest::of(bytes);
    let guard = cache.install_guard().unwrap();
    let mut writer = cache.blob_writer(&guard, &digest, bytes.len() as u64).unwrap();
    for chunk in bytes.chunks(10) {
        writer.write(chunk).unwrap();
    }
    assert!(!cache.blob_path(&digest).exists(), "nothing is visible before finish");
    writer.finish().unwrap();
    assert_eq!(fs::read(cache.blob_path(&digest)).unwrap(), bytes);
    assert!(files_under(&dir.path().join("tmp")).is_empty(), "the temporary file was renamed away");
}

#[test]
fn a_streamed_blob_of_the_wrong_length_or_digest_leaves_nothing_behind() {
    let (dir, cache) = fresh();
    let bytes = b"what the index said";
    let digest = Sha256Digest::of(bytes);
    let length = bytes.len() as u64;
    let guard = cache.install_guard().unwrap();

    let mut writer = cache.blob_writer(&guard, &digest, length).unwrap();
    writer.write(bytes).unwrap();
    let err = writer.write(b"!").unwrap_err();
    assert!(matches!(err, CacheError::BlobLengthMismatch { actual, .. } if actual == length + 1), "{err:?}");
    drop(writer);

    let mut writer = cache.blob_writer(&guard, &digest, length).unwrap();
    writer.write(&bytes[..5]).unwrap();
    let err = writer.finish().unwrap_err();
    assert!(matches!(err, CacheError::BlobLengthMismatch { actual: 5, .. }), "{err:?}");

    let mut writer = cache.blob_writer(&guard, &digest, length).unwrap();
    writer.write(b"what the index SAID").unwrap();
    let err = writer.finish().unwrap_err();
    assert!(matches!(err, CacheError::DigestMismatch { expected, .. } if expected == digest), "{err:?}");

    assert!(files_under(&dir.path().join("blobs")).is_empty(), "no blob written");
    assert!(files_under(&dir.path().join("tmp")).is_empty(), "no temporary file left");
}
