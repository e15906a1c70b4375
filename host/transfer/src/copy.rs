//! Copying one object: inside the backend when both sides are on one
//! remote whose plugin can, else streamed a chunk at a time from source to
//! destination and hashed on the way. Every copy is checked: its size
//! always, its hash where a side's etag is one (`verify`); a copy found
//! bad is removed. Moving deletes the source once the copy checked out.

use wharf::{Error, ErrorKind, Result, WriteOptions};

use crate::endpoint::Endpoint;
use crate::engine::{Engine, Mode};
use crate::event::{Event, Verified};
use crate::io::{remove, Sink, Source};
use crate::verify::{Check, HashPipe, Hasher, Hashes, Kind};
use crate::walk::Item;

impl Engine {
    /// Copies `item`, checks it, and moving, deletes the source.
    pub(crate) async fn copy(&self, item: &Item) -> Result<(u64, Verified)> {
        let (from, to) = (self.src.at(&item.rel), self.dst.at(&item.rel));
        let result = match (&from, &to) {
            (Endpoint::Remote { remote, key: a }, Endpoint::Remote { key: b, .. })
                if from.same_remote(&to) && remote.capabilities().copy =>
            {
                let meta = remote.copy(a, b).await?;
                if meta.size != item.size {
                    return Err(Error::new(
                        ErrorKind::Corrupted,
                        format!(
                            "{to}: the copy inside the backend has {} bytes, the source {}",
                            meta.size, item.size
                        ),
                    ));
                }
                self.emit(Event::Progress {
                    rel: self.shown(&item.rel),
                    bytes: meta.size,
                });
                (meta.size, Verified::ServerSide)
            }
            _ => self.stream(item, &from, &to).await?,
        };
        if self.mode == Mode::Move {
            remove(&from).await?;
        }
        Ok(result)
    }

    /// Streams the bytes of `from` into `to`, hashing them on the way.
    async fn stream(&self, item: &Item, from: &Endpoint, to: &Endpoint) -> Result<(u64, Verified)> {
        // Which hashes to compute: the source's (to check the download)
        // and the destination's (to check the upload), unless the
        // destination's backend checks every write itself: then the
        // plugin's hash of each part was compared with what arrived, and a
        // second MD5 of every byte here would only cost CPU the transfer
        // needs (a third of an upload's, measured on S3).
        let src_kind = self.src.kind.filter(|_| item.etag.is_some());
        let dst_kind = self.dst.kind.filter(|_| !self.dst.checked_writes);
        let mut hasher = Hasher::default();
        if let (Some(kind), Some(etag)) = (src_kind, &item.etag) {
            hasher.add(kind, Some(etag.contains('-')));
        }
        if let Some(kind) = dst_kind {
            // A store that writes in parts says above which size.
            hasher.add(kind, kind.multipart(item.size));
        }
        let hashing = !hasher.is_empty();
        if let (Endpoint::Remote { remote, key }, Endpoint::Local(path)) = (from, to) {
            if self.in_ranges(item, remote) {
                let (total, hashes) = self
                    .stream_in_ranges(item, remote, key, path, hasher)
                    .await?;
                let verified = match hashes {
                    Some(hashes) => {
                        self.checked(from, to, item, &hashes, src_kind, None)
                            .await?
                    }
                    None => Verified::Size,
                };
                return Ok((total, verified));
            }
        }
        let mut hasher = HashPipe::new(hasher, item.size);

        let mut source = Source::open(from).await?;
        let name = item.rel.rsplit('/').next().unwrap_or("");
        let options = WriteOptions {
            content_type: mime_guess::from_path(name).first().map(|m| m.to_string()),
            metadata: Vec::new(),
            size_hint: Some(item.size),
        };
        let mut sink = match Sink::open(to, options).await {
            Ok(sink) => sink,
            Err(e) => {
                source.close().await;
                return Err(e);
            }
        };
        let mut total = 0u64;
        let shown = self.shown(&item.rel);
        loop {
            if self.cancelled() {
                sink.abort().await;
                return Err(Error::new(ErrorKind::Other, format!("{to}: interrupted")));
            }
            let chunk = match source.read().await {
                Ok(chunk) => chunk,
                Err(e) => {
                    sink.abort().await;
                    return Err(e);
                }
            };
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = self.write_paced(&mut sink, &chunk, &shown).await {
                sink.abort().await;
                source.close().await;
                return Err(e);
            }
            total += chunk.len() as u64;
            if hashing {
                hasher.update(chunk).await;
            } else {
                source.recycle(chunk);
            }
        }
        if total != item.size {
            sink.abort().await;
            return Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "{from} changed while it was copied: {total} bytes read, {} listed",
                    item.size
                ),
            ));
        }
        let written = sink.finish().await?;
        if written.size != total {
            let _ = remove(to).await;
            return Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "{to}: {} bytes arrived of {total} sent; the copy was removed",
                    written.size
                ),
            ));
        }
        let hashes = hasher.finish().await;
        let stored = dst_kind.zip(written.etag.as_deref());
        let verified = self
            .checked(from, to, item, &hashes, src_kind, stored)
            .await?;
        Ok((total, verified))
    }

    /// Checks what a copy hashed to against the source's tag (of
    /// `src_kind`) and what the destination stored (`stored`: its kind and
    /// tag), either of which may be all there is to check; a copy found
    /// bad is removed.
    async fn checked(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        item: &Item,
        hashes: &Hashes,
        src_kind: Option<Kind>,
        stored: Option<(Kind, &str)>,
    ) -> Result<Verified> {
        let checks = [
            (
                src_kind,
                item.etag.as_deref(),
                format!("reading {from}"),
                "the source says",
            ),
            (
                stored.map(|(kind, _)| kind),
                stored.map(|(_, tag)| tag),
                format!("writing {to}"),
                "the destination stored",
            ),
        ];
        let mut verified = if self.dst.checked_writes {
            Verified::Backend
        } else {
            Verified::Size
        };
        for (kind, tag, doing, says) in checks {
            let (Some(kind), Some(tag)) = (kind, tag) else {
                continue;
            };
            match hashes.check(kind, tag) {
                Check::Different { expected, got } => {
                    let _ = remove(to).await;
                    return Err(Error::new(
                        ErrorKind::Corrupted,
                        format!(
                            "checksum mismatch {doing}: the bytes hash to {expected}, {says} \
                             {got}; the copy was removed"
                        ),
                    ));
                }
                Check::Same => verified = Verified::Hash(kind.name().to_owned()),
                Check::Unknown => {}
            }
        }
        Ok(verified)
    }

    /// Writes `chunk` of the object `shown` and reports its progress;
    /// under a bandwidth limit, a piece at a time, each paid for before
    /// the next goes, so a slow limit is a steady flow (and so is the
    /// progress shown).
    async fn write_paced(&self, sink: &mut Sink<'_>, chunk: &[u8], shown: &str) -> Result<()> {
        let piece = match &self.options.bandwidth {
            Some(limit) => limit.piece(),
            None => chunk.len().max(1),
        };
        for piece in chunk.chunks(piece) {
            sink.write(piece).await?;
            self.emit(Event::Progress {
                rel: shown.to_owned(),
                bytes: piece.len() as u64,
            });
            self.pace(piece.len() as u64).await;
        }
        Ok(())
    }
}
