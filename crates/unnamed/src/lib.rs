//! Files with no name, published at a name in one step when complete.
//!
//! On Linux an unnamed file is made with `O_TMPFILE` (by the caller, who
//! knows how its directory is to be resolved) and named here by `linkat`
//! through `/proc/self/fd`. The file system allocates such a file without
//! holding its directory's lock, so writers into one directory do not wait
//! on each other meanwhile, and a write that stops leaves no name behind.
//! The host stages local copies this way (`wharf-transfer`) and serves the
//! same to the fs plugin (`wharf:storage/staging`, in the runtime).

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

/// How a name is given to a staged file beside its destination before it
/// is renamed over it: a prefix the fs plugin and the tree walk both take
/// for staging (listings skip it; stale ones are removed).
pub const BESIDE_PREFIX: &str = ".wharf-tmp-";

/// Whether an unnamed file made here could be named later: `linkat` needs
/// `/proc/self/fd` (looked at once).
pub fn linkable() -> bool {
    #[cfg(target_os = "linux")]
    {
        static LINKABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *LINKABLE.get_or_init(|| Path::new("/proc/self/fd").is_dir())
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// Names the unnamed `file` (still open) `path`, relative to `dir` (the
/// current directory if `None`), in one step. `linkat` will not replace a
/// file, so with `replace`, where `path` exists, the file is named beside
/// it first and renamed over it, which replaces it in one step too; without
/// `replace` an existing `path` is `AlreadyExists` and stays.
pub fn publish(
    file: &File,
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    replace: bool,
) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        linux::publish(file, dir, path, replace)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, dir, path, replace);
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    fn cstring(path: &Path) -> io::Result<CString> {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))
    }

    fn done(result: libc::c_int) -> io::Result<()> {
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn publish(
        file: &File,
        dir: Option<BorrowedFd<'_>>,
        path: &Path,
        replace: bool,
    ) -> io::Result<()> {
        let dir = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
        let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .expect("no NUL in a number");
        // SAFETY: NUL-terminated strings and an open descriptor (or
        // AT_FDCWD), all outliving the call.
        let link = |to: &CString| {
            done(unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    dir,
                    to.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            })
        };
        let to = cstring(path)?;
        match link(&to) {
            Err(e) if replace && e.kind() == io::ErrorKind::AlreadyExists => {}
            linked => return linked,
        }
        for attempt in 0u32..16 {
            let beside = cstring(&path.with_file_name(format!(
                "{}{:08x}{attempt:02x}.part",
                super::BESIDE_PREFIX,
                std::process::id()
            )))?;
            match link(&beside) {
                Ok(()) => {
                    // SAFETY: as above.
                    let renamed =
                        done(unsafe { libc::renameat(dir, beside.as_ptr(), dir, to.as_ptr()) });
                    if renamed.is_err() {
                        // SAFETY: as above.
                        unsafe { libc::unlinkat(dir, beside.as_ptr(), 0) };
                    }
                    return renamed;
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
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;

    fn unnamed(dir: &std::path::Path, content: &[u8]) -> std::fs::File {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .mode(0o666)
            .open(dir)
            .unwrap();
        file.write_all(content).unwrap();
        file
    }

    #[test]
    fn publishes_in_one_step_and_replaces_only_when_asked() {
        let root = tempfile::tempdir().unwrap();
        let first = unnamed(root.path(), b"first");
        assert!(super::linkable());
        super::publish(&first, None, &root.path().join("a"), false).unwrap();
        let second = unnamed(root.path(), b"second");
        let dir = std::fs::File::open(root.path()).unwrap();
        let kept = super::publish(&second, Some(dir.as_fd()), "a".as_ref(), false);
        assert_eq!(kept.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(root.path().join("a")).unwrap(), b"first");
        super::publish(&second, Some(dir.as_fd()), "a".as_ref(), true).unwrap();
        assert_eq!(std::fs::read(root.path().join("a")).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a"], "a name was left beside it");
    }
}
