//! The crawl journal: one JSON line per collected page, appended as each
//! page finishes. It is what makes a crawl resumable (a page in it is not
//! fetched again, and its links are followed again) and what the dataset is
//! imported from when the crawl ends.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::CollectError;
use crate::record::PageRecord;

/// An open journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and returns the pages it
    /// holds. A last line cut short by a crash is removed: that page is
    /// simply fetched again.
    pub fn open(path: &Path) -> Result<(Journal, Vec<PageRecord>), CollectError> {
        let failed = |source| CollectError::Journal { path: path.display().to_string(), source };
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(failed)?;
        }
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path).map_err(failed)?;
        let mut pages = Vec::new();
        let mut good_end = 0u64;
        {
            let mut reader = BufReader::new(&file);
            let mut line = String::new();
            loop {
                line.clear();
                let read = reader.read_line(&mut line).map_err(failed)?;
                if read == 0 || !line.ends_with('\n') {
                    break;
                }
                match serde_json::from_str::<PageRecord>(&line) {
                    Ok(page) => pages.push(page),
                    Err(err) => {
                        // Only a torn tail is expected; anything else is somebody else's file.
                        return Err(failed(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "line {} is not a collected page ({err}); move the file away to start over",
                                pages.len() + 1
                            ),
                        )));
                    }
                }
                good_end += read as u64;
            }
        }
        file.set_len(good_end).map_err(failed)?;
        file.seek(SeekFrom::Start(good_end)).map_err(failed)?;
        Ok((Journal { path: path.to_path_buf(), file }, pages))
    }

    /// Appends a page. One `write` per line, so a killed process leaves at
    /// most a torn last line, which [`Journal::open`] drops.
    pub fn append(&mut self, page: &PageRecord) -> Result<(), CollectError> {
        let mut line = serde_json::to_vec(page).map_err(|err| CollectError::Journal {
            path: self.path.display().to_string(),
            source: std::io::Error::other(err),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|source| CollectError::Journal { path: self.path.display().to_string(), source })
    }

    /// Flushes the journal to disk.
    pub fn sync(&self) -> Result<(), CollectError> {
        self.file.sync_all().map_err(|source| CollectError::Journal { path: self.path.display().to_string(), source })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
