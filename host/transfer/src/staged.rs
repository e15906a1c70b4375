//! A local file written beside its destination and invisible until it is
//! published there whole, so a failed, aborted or crashed copy leaves
//! nothing at the destination.
//!
//! On Linux the file is made with `O_TMPFILE`: an inode with no name, given
//! one by `linkat` when complete. Besides leaving nothing behind even when
//! the process dies, this keeps the file system's inode allocation out of
//! the directory's lock: a named temporary file is allocated under it, and
//! with four transfers writing into one directory the others spin on that
//! lock meanwhile (measured on ext4: a fifth of a 2,000-file download's CPU
//! time in `rwsem_spin_on_owner`). Where `O_TMPFILE` is not offered (other
//! systems, file systems without it, no `/proc` to link through), a named
//! temporary file beside the destination, renamed into place.

use std::fs::File;
use std::path::{Path, PathBuf};

use wharf::{Error, Result};

/// The destination's file before it is published; removed (or never named)
/// when dropped unpublished.
pub(crate) struct Staged {
    to: PathBuf,
    kind: Kind,
}

enum Kind {
    /// An `O_TMPFILE` inode: nothing to remove, closing it frees it.
    #[cfg(target_os = "linux")]
    Unnamed,
    /// A named temporary file, removed when dropped.
    Named(tempfile::TempPath),
}

impl Staged {
    /// A new, empty file for `to` (its directory made if need be), and the
    /// file to write it through. Keep the file open until
    /// [`Staged::publish`]: an unnamed file is published through it.
    pub fn beside(to: &Path) -> Result<(Staged, File)> {
        let dir = match to.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let make_dir = || {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create directory {}", dir.display()), e))
        };
        #[cfg(target_os = "linux")]
        {
            // The directory is made only when missing: most files of a
            // tree go where an earlier one made it, and making it first
            // would cost each a failing mkdir and a stat.
            let mut unnamed = unnamed::create(&dir);
            if matches!(&unnamed, Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound) {
                make_dir()?;
                unnamed = unnamed::create(&dir);
            }
            if let Some(Ok(file)) = unnamed {
                let staged = Staged {
                    to: to.to_path_buf(),
                    kind: Kind::Unnamed,
                };
                return Ok((staged, file));
            }
        }
        make_dir()?;
        let (file, path) = named(&dir)?.into_parts();
        let staged = Staged {
            to: to.to_path_buf(),
            kind: Kind::Named(path),
        };
        Ok((staged, file))
    }

    /// Puts the complete file at its destination, replacing what is there.
    /// `file` is the one [`Staged::beside`] gave (or a handle on it), still
    /// open.
    pub fn publish(self, file: &File) -> Result<()> {
        let to = self.to;
        let cannot = |e| {
            Error::io(
                format!("cannot move the copy into place at {}", to.display()),
                e,
            )
        };
        match self.kind {
            #[cfg(target_os = "linux")]
            Kind::Unnamed => unnamed::publish(file, &to).map_err(cannot),
            Kind::Named(path) => {
                let _ = file;
                path.persist(&to).map(|_| ()).map_err(|e| cannot(e.error))
            }
        }
    }
}

/// A named temporary file in `dir`, under a name the tree walk skips, so a
/// download in progress is never taken for an object. Made with the mode
/// an ordinary new file gets (0666 less the umask), as `cp` and rclone give.
fn named(dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(".wharf-")
        .suffix(".part")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| {
            Error::io(
                format!("cannot create a temporary file in {}", dir.display()),
                e,
            )
        })
}

#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;
    use std::sync::OnceLock;

    /// An unnamed file in `dir`, or `None` where none could be named later
    /// (no `/proc` to link it through). On an error (`dir` missing, a file
    /// system without `O_TMPFILE`) the caller makes a named one instead,
    /// which reports any error that is not about `O_TMPFILE` itself.
    pub fn create(dir: &Path) -> Option<io::Result<File>> {
        static LINKABLE: OnceLock<bool> = OnceLock::new();
        if !*LINKABLE.get_or_init(|| Path::new("/proc/self/fd").is_dir()) {
            return None;
        }
        Some(
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
                .mode(0o666)
                .open(dir),
        )
    }

    /// Names `file` `to`. `linkat` will not replace a file, so where `to`
    /// exists the file is named beside it first and renamed over it, which
    /// replaces it in one step.
    pub fn publish(file: &File, to: &Path) -> io::Result<()> {
        let proc_path = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .expect("no NUL in a number");
        match link(&proc_path, to) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            done => return done,
        }
        let dir = match to.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        for _ in 0..16 {
            let beside = dir.join(format!(".wharf-{:016x}.part", random()));
            match link(&proc_path, &beside) {
                Ok(()) => {
                    return std::fs::rename(&beside, to).inspect_err(|_| {
                        let _ = std::fs::remove_file(&beside);
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name beside it after 16 tries",
        ))
    }

    fn link(proc_path: &CString, to: &Path) -> io::Result<()> {
        let to = CString::new(to.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
        // SAFETY: both are NUL-terminated strings that outlive the call.
        let done = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                proc_path.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if done == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Enough randomness for a name nobody else is using: the clock and a
    /// per-process counter through the standard library's hasher, whose
    /// keys are random per process.
    fn random() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(now.as_nanos());
        }
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Staged;
    use std::io::Write;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn nothing_is_visible_until_published_and_nothing_stays_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("sub/a.bin");
        let (staged, mut file) = Staged::beside(&to).unwrap();
        file.write_all(b"whole").unwrap();
        assert!(!to.exists(), "published before publish");
        staged.publish(&file).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&to).unwrap(), b"whole");
        assert_eq!(names(&dir.path().join("sub")), ["a.bin"]);

        let (staged, mut file) = Staged::beside(&dir.path().join("sub/b.bin")).unwrap();
        file.write_all(b"half").unwrap();
        drop(staged);
        drop(file);
        assert_eq!(
            names(&dir.path().join("sub")),
            ["a.bin"],
            "an abandoned file stayed"
        );
    }

    #[test]
    fn publishing_replaces_what_is_there_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("a.bin");
        std::fs::write(&to, b"old and longer").unwrap();
        let (staged, mut file) = Staged::beside(&to).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"old and longer");
        staged.publish(&file).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["a.bin"]);
    }

    #[test]
    fn a_new_file_gets_the_mode_cp_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("a.bin");
        let (staged, file) = Staged::beside(&to).unwrap();
        staged.publish(&file).unwrap();
        // The process's umask, as the kernel reports it (reading it with
        // umask(2) would change it for the tests running beside this one).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .map(|octal| u32::from_str_radix(octal.trim(), 8).unwrap())
            .unwrap();
        let mode = std::fs::metadata(&to).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask, "not the mode of a new file");
    }
}
