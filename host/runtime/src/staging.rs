//! `wharf:storage/staging`: files with no name, for a plugin that writes
//! into a directory it was granted (the fs plugin). On Linux an
//! `O_TMPFILE` file, named by `linkat` when complete: the file system
//! allocates its inode without holding the directory's lock, where a named
//! staging file is allocated under it and four writers into one directory
//! spin on that lock meanwhile (measured on ext4: over a quarter of the
//! CPU time of 2,000 small writes, in `rwsem_spin_on_owner` under
//! `renameat` and `openat2`). And an aborted or crashed write leaves no
//! name behind at all.
//!
//! Paths are resolved below the plugin's directory descriptor by the
//! kernel (`openat2` with `RESOLVE_BENEATH`), as wasmtime-wasi resolves
//! the plugin's own `wasi:filesystem` calls: no `..` above it, no absolute
//! path, no symbolic link out of it.

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, File};
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::OpenMode;

use crate::bindings::staging::wharf::storage::staging::Host;

/// What the `staging` functions of one instance work on: its handles.
pub(crate) struct StagingView<'a> {
    pub table: &'a mut ResourceTable,
}

/// Marks [`StagingView`] as the data the `staging` functions get.
pub(crate) struct StagingData;

impl HasData for StagingData {
    type Data<'a> = StagingView<'a>;
}

impl Host for StagingView<'_> {
    fn create_unnamed(
        &mut self,
        dir: Resource<Descriptor>,
        path: String,
    ) -> wasmtime::Result<Result<Resource<Descriptor>, ErrorCode>> {
        let (fd, perms) = match self.table.get(&dir)? {
            Descriptor::Dir(dir) if !dir.perms.write_not_permitted() => {
                (dir.dir.clone(), dir.perms)
            }
            Descriptor::Dir(_) => return Ok(Err(ErrorCode::NotPermitted)),
            Descriptor::File(_) => return Ok(Err(ErrorCode::NotDirectory)),
        };
        let file = match os::create_unnamed(&fd, &path) {
            Ok(file) => file,
            Err(code) => return Ok(Err(code)),
        };
        // Blocking calls on the calling thread, as every descriptor the
        // sandbox opens (`allow_blocking_current_thread`).
        let file = Descriptor::File(File::new(file, perms, OpenMode::WRITE, true));
        Ok(Ok(self.table.push(file)?))
    }

    fn publish_unnamed(
        &mut self,
        file: Resource<Descriptor>,
        dir: Resource<Descriptor>,
        path: String,
        replace: bool,
    ) -> wasmtime::Result<Result<(), ErrorCode>> {
        // Only a file open for writing through a writable directory: a
        // handle that could already change the file may give it a name;
        // one that may only read it may not (a link would let a writable
        // directory change a file of a read-only one).
        let file = match self.table.get(&file)? {
            Descriptor::File(f)
                if f.open_mode.contains(OpenMode::WRITE) && !f.perms.write_not_permitted() =>
            {
                f.file.clone()
            }
            Descriptor::File(_) => return Ok(Err(ErrorCode::NotPermitted)),
            Descriptor::Dir(_) => return Ok(Err(ErrorCode::IsDirectory)),
        };
        let fd = match self.table.get(&dir)? {
            Descriptor::Dir(dir) if !dir.perms.write_not_permitted() => dir.dir.clone(),
            Descriptor::Dir(_) => return Ok(Err(ErrorCode::NotPermitted)),
            Descriptor::File(_) => return Ok(Err(ErrorCode::NotDirectory)),
        };
        Ok(os::publish_unnamed(&file, &fd, &path, replace))
    }
}

#[cfg(target_os = "linux")]
mod os {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

    use super::ErrorCode;

    /// Opens `path` below `dir` with `flags`, never leaving `dir`.
    fn open_beneath(dir: &File, path: &str, flags: i32, mode: u32) -> Result<OwnedFd, ErrorCode> {
        let path = CString::new(path).map_err(|_| ErrorCode::IllegalByteSequence)?;
        // SAFETY: `open_how` is plain integers, for which zero is valid
        // (and what the kernel wants in fields it does not know).
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        how.mode = mode as u64;
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: `path` is NUL-terminated and `how` is an `open_how` of the
        // size given; both outlive the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(code(io::Error::last_os_error()));
        }
        // SAFETY: a descriptor the kernel just returned, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    pub fn create_unnamed(dir: &File, path: &str) -> Result<File, ErrorCode> {
        // Without `/proc` to link it through, an unnamed file could never
        // be named: the plugin makes a named one instead.
        if !wharf_unnamed::linkable() {
            return Err(ErrorCode::Unsupported);
        }
        let path = if path.is_empty() { "." } else { path };
        match open_beneath(dir, path, libc::O_TMPFILE | libc::O_WRONLY, 0o666) {
            Ok(fd) => Ok(File::from(fd)),
            // The kernel or the file system has no O_TMPFILE (an old
            // kernel takes the flag for O_DIRECTORY and says EISDIR).
            Err(ErrorCode::IsDirectory | ErrorCode::Invalid) => Err(ErrorCode::Unsupported),
            Err(other) => Err(other),
        }
    }

    pub fn publish_unnamed(
        file: &File,
        dir: &File,
        path: &str,
        replace: bool,
    ) -> Result<(), ErrorCode> {
        let (parent, name) = match path.rsplit_once('/') {
            Some((parent, name)) => (if parent.is_empty() { "." } else { parent }, name),
            None => (".", path),
        };
        if name.is_empty() || name == "." || name == ".." {
            return Err(ErrorCode::Invalid);
        }
        // The name is one component, given relative to its directory,
        // which was opened beneath the plugin's: nothing resolves outside.
        let parent = open_beneath(dir, parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        wharf_unnamed::publish(file, Some(parent.as_fd()), name.as_ref(), replace).map_err(code)
    }

    /// The WASI error for a system error.
    fn code(e: io::Error) -> ErrorCode {
        match e.raw_os_error() {
            Some(libc::ENOENT) => ErrorCode::NoEntry,
            Some(libc::EEXIST) => ErrorCode::Exist,
            Some(libc::ENOTDIR) => ErrorCode::NotDirectory,
            Some(libc::EISDIR) => ErrorCode::IsDirectory,
            Some(libc::EACCES) => ErrorCode::Access,
            // RESOLVE_BENEATH refuses a path that leaves the directory with
            // EXDEV: the sandbox's refusal, as wasmtime-wasi reports it.
            Some(libc::EPERM | libc::EXDEV) => ErrorCode::NotPermitted,
            Some(libc::ELOOP) => ErrorCode::Loop,
            Some(libc::ENAMETOOLONG) => ErrorCode::NameTooLong,
            Some(libc::ENOSPC) => ErrorCode::InsufficientSpace,
            Some(libc::EDQUOT) => ErrorCode::Quota,
            Some(libc::EROFS) => ErrorCode::ReadOnly,
            Some(libc::EMLINK) => ErrorCode::TooManyLinks,
            Some(libc::EINVAL) => ErrorCode::Invalid,
            Some(libc::EOPNOTSUPP | libc::ENOSYS) => ErrorCode::Unsupported,
            _ => ErrorCode::Io,
        }
    }
}

/// Elsewhere there are no unnamed files: the plugin falls back to a named
/// one.
#[cfg(not(target_os = "linux"))]
mod os {
    use super::ErrorCode;
    use std::fs::File;

    pub fn create_unnamed(_dir: &File, _path: &str) -> Result<File, ErrorCode> {
        Err(ErrorCode::Unsupported)
    }

    pub fn publish_unnamed(
        _file: &File,
        _dir: &File,
        _path: &str,
        _replace: bool,
    ) -> Result<(), ErrorCode> {
        Err(ErrorCode::Unsupported)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::os::{create_unnamed, publish_unnamed};
    use super::ErrorCode;
    use std::io::Write;

    fn open_dir(path: &std::path::Path) -> std::fs::File {
        std::fs::File::open(path).unwrap()
    }

    #[test]
    fn a_file_is_seen_only_once_published_and_whole() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        let dir = open_dir(root.path());
        let mut file = create_unnamed(&dir, "sub").unwrap();
        file.write_all(b"whole").unwrap();
        assert_eq!(
            std::fs::read_dir(root.path().join("sub")).unwrap().count(),
            0
        );
        publish_unnamed(&file, &dir, "sub/a", false).unwrap();
        assert_eq!(std::fs::read(root.path().join("sub/a")).unwrap(), b"whole");

        // Without `replace` an existing file stays; with it, it goes.
        let mut second = create_unnamed(&dir, "sub").unwrap();
        second.write_all(b"second").unwrap();
        assert_eq!(
            publish_unnamed(&second, &dir, "sub/a", false),
            Err(ErrorCode::Exist)
        );
        assert_eq!(std::fs::read(root.path().join("sub/a")).unwrap(), b"whole");
        publish_unnamed(&second, &dir, "sub/a", true).unwrap();
        assert_eq!(std::fs::read(root.path().join("sub/a")).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(root.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a"], "a name was left beside it");

        // A missing directory is no-entry, for the plugin to make it.
        assert_eq!(create_unnamed(&dir, "none").err(), Some(ErrorCode::NoEntry));
        assert_eq!(
            publish_unnamed(&second, &dir, "none/b", false),
            Err(ErrorCode::NoEntry)
        );
    }

    #[test]
    fn nothing_leaves_the_directory() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        let dir = open_dir(root.path());
        for path in ["..", "/tmp", "out", "out/."] {
            assert_eq!(
                create_unnamed(&dir, path).err(),
                Some(ErrorCode::NotPermitted),
                "{path}"
            );
        }
        let file = create_unnamed(&dir, ".").unwrap();
        for path in ["../x", "/tmp/x", "out/x", "./../x"] {
            assert_eq!(
                publish_unnamed(&file, &dir, path, true),
                Err(ErrorCode::NotPermitted),
                "{path}"
            );
        }
        for path in ["", ".", "a/..", "a/"] {
            assert_eq!(
                publish_unnamed(&file, &dir, path, true),
                Err(ErrorCode::Invalid),
                "{path}"
            );
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
