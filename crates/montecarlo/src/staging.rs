//! Where outputs are written before they are visible: a hidden staging folder next to the
//! target, locked while its writer lives, renamed into place only when complete.
//!
//! - [`Staging::create`] first removes the stale staging folders a killed writer (SIGKILL, a
//!   power cut) left next to the same target: those whose lock nobody holds any more.
//! - [`Staging::publish`] swaps the complete folder with the earlier result in one atomic
//!   rename (`renameat2(RENAME_EXCHANGE)` on Linux; elsewhere two renames, with the earlier
//!   result restored by the next writer if the process dies between them).
//! - Dropping an unpublished [`Staging`] (an error, an interruption) removes it.
//! - Every file goes through a [`Disk`], which tests can make run out of space after a given
//!   number of bytes (`ENOSPC`), to check that a full disk leaves the earlier result as it was.

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Name of the lock file inside a staging folder.
const LOCK: &str = ".lock";

/// A staging folder without a lock file is left alone this long (its writer may be between
/// creating it and locking it).
const GRACE: Duration = Duration::from_secs(60);

/// How files are created: on the real disk, or on one that fills up after a given number of
/// bytes (for tests).
#[derive(Clone, Debug, Default)]
pub struct Disk {
    left: Option<Arc<AtomicU64>>,
}

impl Disk {
    /// The real disk.
    pub fn real() -> Self {
        Disk { left: None }
    }

    /// A disk on which writes fail with `ENOSPC` once `bytes` bytes have been written, in all
    /// files together.
    pub fn full_after(bytes: u64) -> Self {
        Disk { left: Some(Arc::new(AtomicU64::new(bytes))) }
    }

    /// Creates (truncates) `path` for writing.
    pub fn create(&self, path: &Path) -> io::Result<DiskFile> {
        Ok(DiskFile { file: File::create(path)?, left: self.left.clone() })
    }

    /// Writes `bytes` to a new file `path`.
    pub fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = self.create(path)?;
        f.write_all(bytes)?;
        f.flush()
    }
}

/// A file created through a [`Disk`].
#[derive(Debug)]
pub struct DiskFile {
    file: File,
    left: Option<Arc<AtomicU64>>,
}

/// The error of a full disk.
pub fn no_space() -> io::Error {
    #[cfg(unix)]
    {
        io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        io::Error::new(io::ErrorKind::StorageFull, "No space left on device")
    }
}

impl Write for DiskFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(left) = &self.left else { return self.file.write(buf) };
        let mut allowed = 0;
        let _ = left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
            allowed = l.min(buf.len() as u64);
            Some(l - allowed)
        });
        if allowed == 0 && !buf.is_empty() {
            return Err(no_space());
        }
        self.file.write(&buf[..allowed as usize])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A hidden staging folder next to an output, locked while it lives; removed when dropped
/// unless published.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
    lock: Option<File>,
    published: bool,
}

/// The hidden names of `out`'s staging folders: `(.NAME.tmp-, .NAME.old-)`.
fn prefixes(out: &Path) -> (String, String) {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "result".into());
    (format!(".{name}.tmp-"), format!(".{name}.old-"))
}

/// The folder `out` is in (`.` for a bare name).
pub fn parent_of(out: &Path) -> PathBuf {
    out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

impl Staging {
    /// Removes stale staging folders of `out`, then creates and locks a new one,
    /// `.NAME.tmp-PID` in `out`'s folder (which is created if missing).
    pub fn create(out: &Path) -> Result<Self> {
        let parent = parent_of(out);
        fs::create_dir_all(&parent).map_err(|e| Error::write(&parent, e))?;
        remove_stale(out);
        let (tmp, _) = prefixes(out);
        let dir = parent.join(format!("{tmp}{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| Error::write(&dir, e))?;
        let mut s = Staging { dir, out: out.to_path_buf(), lock: None, published: false };
        let lock_file = s.dir.join(LOCK);
        let f = File::create(&lock_file).map_err(|e| Error::write(&lock_file, e))?;
        try_lock(&f);
        s.lock = Some(f);
        Ok(s)
    }

    /// The staging folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The target.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Moves the complete staging folder to the target, replacing an earlier one in one step.
    pub fn publish(mut self) -> Result<()> {
        let _ = fs::remove_file(self.dir.join(LOCK));
        replace_dir(&self.dir, &self.out)?;
        self.published = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Takes the lock of a staging folder; `false` if another process holds it.
#[cfg(unix)]
fn try_lock(f: &File) -> bool {
    rustix::fs::flock(f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok()
}

#[cfg(not(unix))]
fn try_lock(_: &File) -> bool {
    false
}

/// Whether the staging folder `dir` was left by a writer that is gone.
fn is_stale(dir: &Path) -> bool {
    match File::open(dir.join(LOCK)) {
        // A lock file nobody holds: its writer is gone (the lock dies with the process).
        Ok(f) => try_lock(&f),
        Err(_) => older_than(dir, GRACE),
    }
}

fn older_than(p: &Path, age: Duration) -> bool {
    let Ok(m) = fs::symlink_metadata(p) else { return false };
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        let secs = m.ctime().max(m.mtime());
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
    };
    #[cfg(not(unix))]
    let changed = m.modified().ok();
    changed.and_then(|t| SystemTime::now().duration_since(t).ok()).is_some_and(|d| d > age)
}

/// Removes the staging folders of `out` that killed writers left; an earlier result caught
/// between the two renames of a non-atomic replace is put back first.
pub fn remove_stale(out: &Path) {
    let parent = parent_of(out);
    let (tmp, old) = prefixes(out);
    let Ok(entries) = fs::read_dir(&parent) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.starts_with(&tmp) && is_stale(&path) {
            let _ = fs::remove_dir_all(&path);
        } else if name.starts_with(&old) && older_than(&path, GRACE) {
            if fs::symlink_metadata(out).is_err() {
                let _ = fs::rename(&path, out);
            } else {
                let _ = fs::remove_dir_all(&path);
            }
        }
    }
}

/// Moves the complete folder `tmp` to `out`, replacing an existing `out` in one atomic step
/// where the file system can (the earlier result is then removed).
pub fn replace_dir(tmp: &Path, out: &Path) -> Result<()> {
    if fs::symlink_metadata(out).is_err() {
        return fs::rename(tmp, out).map_err(|e| Error::write(out, e));
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, tmp, CWD, out, RenameFlags::EXCHANGE).is_ok() {
            // `tmp` now holds the earlier result.
            let _ = fs::remove_dir_all(tmp);
            return Ok(());
        }
    }
    let (_, old) = prefixes(out);
    let old = parent_of(out).join(format!("{old}{}", std::process::id()));
    let _ = fs::remove_dir_all(&old);
    fs::rename(out, &old).map_err(|e| Error::write(out, e))?;
    if let Err(e) = fs::rename(tmp, out) {
        let _ = fs::rename(&old, out);
        return Err(Error::write(out, e));
    }
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// Bytes free for this user on the file system that holds `path` (or its nearest existing
/// ancestor); `None` where it cannot be told.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let mut p = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    while fs::symlink_metadata(p).is_err() {
        p = p.parent().filter(|q| !q.as_os_str().is_empty()).unwrap_or(Path::new("."));
    }
    #[cfg(unix)]
    {
        let s = rustix::fs::statvfs(p).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Bytes as text for messages (`1.5 GB`).
pub fn human_bytes(b: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut x = b as f64;
    let mut u = 0;
    while x >= 1000.0 && u + 1 < units.len() {
        x /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{x:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_fails_with_enospc_after_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::full_after(10);
        let mut f = disk.create(&dir.path().join("a")).unwrap();
        assert!(f.write_all(b"123456").is_ok());
        let mut g = disk.create(&dir.path().join("b")).unwrap();
        let e = g.write_all(b"123456").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        assert_eq!(fs::read(dir.path().join("b")).unwrap(), b"1234");
    }

    #[test]
    fn staging_is_hidden_removed_unless_published_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("res");
        {
            let s = Staging::create(&out).unwrap();
            assert!(s.path().file_name().unwrap().to_string_lossy().starts_with(".res.tmp-"));
            fs::write(s.path().join("x"), "1").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "dropped staging removed");
        let s = Staging::create(&out).unwrap();
        fs::write(s.path().join("x"), "1").unwrap();
        s.publish().unwrap();
        let s = Staging::create(&out).unwrap();
        fs::write(s.path().join("x"), "2").unwrap();
        s.publish().unwrap();
        assert_eq!(fs::read_to_string(out.join("x")).unwrap(), "2");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("res")]);
        assert!(!out.join(LOCK).exists());
    }

    #[test]
    fn a_stale_staging_folder_is_removed_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("res");
        // A killed writer's folder: its lock file is held by nobody.
        let stale = dir.path().join(".res.tmp-999999999");
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join(LOCK), "").unwrap();
        fs::write(stale.join("paths.csv"), "half").unwrap();
        // A live writer's folder: its lock is held (here by this process, through another
        // open file description).
        let live = dir.path().join(".res.tmp-1");
        fs::create_dir(&live).unwrap();
        let held = File::create(live.join(LOCK)).unwrap();
        assert!(try_lock(&held));
        let s = Staging::create(&out).unwrap();
        assert!(!stale.exists(), "the stale folder is removed");
        assert!(live.exists(), "a locked folder is left alone");
        drop(s);
        drop(held);
        remove_stale(&out);
        assert!(!live.exists(), "once its writer is gone it is stale");
    }

    #[test]
    fn free_space_is_known_here() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(&dir.path().join("not/yet/there")).is_some_and(|b| b > 0));
        assert_eq!(human_bytes(999), "999 bytes");
        assert_eq!(human_bytes(1_500_000_000), "1.5 GB");
    }
}
