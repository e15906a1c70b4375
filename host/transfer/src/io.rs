//! Where the bytes of one object come from and go to: a local file or a
//! remote's reader and writer, a chunk at a time. A local file is written
//! beside its place and published there when complete ([`Staged`]), so a
//! failed or aborted copy leaves nothing at the destination.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;
use wharf::{Error, ObjectMeta, ObjectReader, ObjectWriter, Result, WriteOptions, CHUNK_SIZE};

use crate::endpoint::Endpoint;
use crate::staged::Staged;

/// Reads one object.
pub(crate) enum Source<'r> {
    Local {
        /// `None` once the end was reached.
        file: Option<std::fs::File>,
        path: PathBuf,
        /// The first chunk, read when the file was opened.
        first: Option<Vec<u8>>,
        /// A chunk handed back after use, read into again: a local copy
        /// allocates one buffer, not one per chunk.
        spare: Option<Vec<u8>>,
    },
    Remote(ObjectReader<'r>),
}

/// Reads `file` into `chunk` until it holds [`CHUNK_SIZE`] bytes or the
/// file ends (then it holds fewer), without zero-filling it first (a
/// small file would otherwise cost a 1 MiB memset per read).
fn fill(file: &mut std::fs::File, mut chunk: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if chunk.len() == CHUNK_SIZE {
        // A full chunk given back (a big file): read straight into it, a
        // whole chunk per read, where `read_to_end` would start again at
        // 8 KiB and double (eight reads per chunk).
        let mut filled = 0;
        while filled < CHUNK_SIZE {
            match file.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        chunk.truncate(filled);
        return Ok(chunk);
    }
    chunk.clear();
    chunk.reserve_exact(CHUNK_SIZE);
    // Reads until the chunk is full or a read finds the end.
    file.take(CHUNK_SIZE as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

/// Runs blocking file work on the blocking threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::new(wharf::ErrorKind::Other, format!("a file task stopped: {e}")))
}

impl<'r> Source<'r> {
    /// Opens the object. A local file is opened and its first chunk read
    /// in one trip to the blocking threads: a small file then costs one
    /// hand-off instead of one per call (open, read, the read that finds
    /// the end).
    pub async fn open(at: &'r Endpoint) -> Result<Source<'r>> {
        match at {
            Endpoint::Local(path) => {
                let opening = path.clone();
                let (mut file, first) = blocking(move || {
                    let mut file = std::fs::File::open(&opening)
                        .map_err(|e| Error::io(format!("cannot open {}", opening.display()), e))?;
                    let first = fill(&mut file, Vec::new())
                        .map_err(|e| Error::io(format!("cannot read {}", opening.display()), e))?;
                    Ok::<_, Error>((Some(file), first))
                })
                .await??;
                if first.len() < CHUNK_SIZE {
                    file = None;
                }
                Ok(Source::Local {
                    file,
                    path: path.clone(),
                    first: Some(first),
                    spare: None,
                })
            }
            Endpoint::Remote { remote, key } => {
                Ok(Source::Remote(remote.open_read(key, None).await?))
            }
        }
    }

    /// The next chunk, empty at the end.
    pub async fn read(&mut self) -> Result<Vec<u8>> {
        match self {
            Source::Local {
                file,
                path,
                first,
                spare,
            } => {
                if let Some(chunk) = first.take() {
                    return Ok(chunk);
                }
                let Some(mut open) = file.take() else {
                    return Ok(Vec::new());
                };
                let chunk = spare.take().unwrap_or_default();
                let (open, chunk) = blocking(move || {
                    let chunk = fill(&mut open, chunk);
                    (open, chunk)
                })
                .await?;
                let chunk =
                    chunk.map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
                // A short chunk is the end: no call to find it again.
                if chunk.len() == CHUNK_SIZE {
                    *file = Some(open);
                }
                Ok(chunk)
            }
            Source::Remote(reader) => reader.read().await,
        }
    }

    /// Gives a chunk back to be read into again.
    pub fn recycle(&mut self, chunk: Vec<u8>) {
        if let Source::Local { spare, .. } = self {
            *spare = Some(chunk);
        }
    }

    /// Ends the read early.
    pub async fn close(self) {
        if let Source::Remote(reader) = self {
            reader.close().await;
        }
    }
}

/// Writes one object; nothing is visible until [`Sink::finish`].
pub(crate) enum Sink<'r> {
    Local {
        staged: Staged,
        file: tokio::fs::File,
        to: PathBuf,
        /// Bytes written so far: what the copy's size is checked against.
        written: u64,
    },
    Remote(ObjectWriter<'r>),
}

/// What a finished write reports.
pub(crate) struct Written {
    pub size: u64,
    pub etag: Option<String>,
}

impl<'r> Sink<'r> {
    pub async fn open(at: &'r Endpoint, options: WriteOptions) -> Result<Sink<'r>> {
        match at {
            Endpoint::Local(path) => Self::local(path),
            Endpoint::Remote { remote, key } => {
                Ok(Sink::Remote(remote.open_write(key, options).await?))
            }
        }
    }

    fn local(to: &Path) -> Result<Self> {
        let (staged, file) = Staged::beside(to)?;
        Ok(Sink::Local {
            staged,
            file: tokio::fs::File::from_std(file),
            to: to.to_path_buf(),
            written: 0,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        match self {
            Sink::Local {
                file, to, written, ..
            } => {
                file.write_all(chunk)
                    .await
                    .map_err(|e| Error::io(format!("cannot write {}", to.display()), e))?;
                *written += chunk.len() as u64;
                Ok(())
            }
            Sink::Remote(writer) => writer.write(chunk).await,
        }
    }

    pub async fn finish(self) -> Result<Written> {
        match self {
            Sink::Local {
                staged,
                mut file,
                to,
                written,
            } => {
                file.flush()
                    .await
                    .map_err(|e| Error::io(format!("cannot write {}", to.display()), e))?;
                // Flushed, the write in flight is done and the file is
                // the standard library's again, to be published through.
                staged.publish(&file.into_std().await)?;
                Ok(Written {
                    size: written,
                    etag: None,
                })
            }
            Sink::Remote(writer) => {
                let ObjectMeta { size, etag, .. } = writer.finish().await?;
                Ok(Written { size, etag })
            }
        }
    }

    pub async fn abort(self) {
        match self {
            // Dropping the staged file removes it.
            Sink::Local { .. } => {}
            Sink::Remote(writer) => {
                let _ = writer.abort().await;
            }
        }
    }
}

/// Removes `at` (a copy found bad, a moved source, an object `sync`
/// deletes).
pub(crate) async fn remove(at: &Endpoint) -> Result<()> {
    match at {
        Endpoint::Local(path) => tokio::fs::remove_file(path)
            .await
            .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e)),
        Endpoint::Remote { remote, key } => remote.delete(key).await,
    }
}
