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
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// An unnamed file in `dir`, or `None` where none could be named later
    /// (no `/proc` to link it through). On an error (`dir` missing, a file
    /// system without `O_TMPFILE`) the caller makes a named one instead,
    /// which reports any error that is not about `O_TMPFILE` itself.
    pub fn create(dir: &Path) -> Option<io::Result<File>> {
        if !wharf_unnamed::linkable() {
            return None;
        }
        Some(
            // Readable too: a download in ranges is hashed by reading
            // back what they have written.
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
                .mode(0o666)
                .open(dir),
        )
    }

    /// Names `file` `to`, replacing what is there, in one step.
    pub fn publish(file: &File, to: &Path) -> io::Result<()> {
        wharf_unnamed::publish(file, None, to, true)
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
