//! `check` of one object on both sides: sizes, then a hash both sides
//! know, then a side's hash against the other side's bytes where reading
//! them moves nothing (a local file), and with `download`, the bytes of
//! both.

use wharf::{Error, ErrorKind, Result};

use crate::bandwidth::Flow;
use crate::endpoint::Endpoint;
use crate::engine::{Engine, Side};
use crate::event::Event;
use crate::io::Source;
use crate::verify::{Check, Hasher, Hashes, Kind, COMPUTED};
use crate::walk::Item;

impl Engine {
    pub(crate) async fn compare(&self, src: &Item, dst: &Item) -> Result<Event> {
        let rel = src.rel.clone();
        if src.size != dst.size {
            return Ok(Event::Differs {
                rel,
                why: format!(
                    "{} bytes in the source, {} in the destination",
                    src.size, dst.size
                ),
            });
        }
        // With `download`: the bytes of both sides, whatever the tags say
        // (a server's tag can be right about bytes it no longer has).
        if self.options.download {
            let a = self.hash_of(&self.src, src, Kind::Sha256, None).await?;
            let b = self.hash_of(&self.dst, dst, Kind::Sha256, None).await?;
            let b = b.plain(Kind::Sha256).unwrap_or_default();
            return Ok(match a.check(Kind::Sha256, &b) {
                Check::Same => Event::Same {
                    rel,
                    by: "content".into(),
                },
                _ => Event::Differs {
                    rel,
                    why: "the bytes differ".into(),
                },
            });
        }
        // The same kind of tag on both sides.
        if let (Some(a), Some(b), Some(ka), Some(kb)) =
            (&src.etag, &dst.etag, self.src.kind, self.dst.kind)
        {
            if ka.same_hash(kb) && (a == b || (!a.contains('-') && !b.contains('-'))) {
                return Ok(if a == b {
                    Event::Same {
                        rel,
                        by: ka.name().into(),
                    }
                } else {
                    Event::Differs {
                        rel,
                        why: format!("{} differs: {a} and {b}", ka.name()),
                    }
                });
            }
        }
        // One side's tag is a hash the other side's bytes can be checked
        // against, where that side is local (reading it moves nothing).
        let tagged = [
            (self.src.kind, &src.etag, &self.dst, dst),
            (self.dst.kind, &dst.etag, &self.src, src),
        ];
        for (kind, etag, other, other_item) in tagged {
            let (Some(kind), Some(etag)) = (kind, etag) else {
                continue;
            };
            if !matches!(other.base, Endpoint::Local(_)) {
                continue;
            }
            let hashes = self
                .hash_of(other, other_item, kind, Some(etag.contains('-')))
                .await?;
            match hashes.check(kind, etag) {
                Check::Same => {
                    return Ok(Event::Same {
                        rel,
                        by: kind.name().into(),
                    })
                }
                Check::Different { expected, got } => {
                    return Ok(Event::Differs {
                        rel,
                        why: format!(
                            "{} differs: the bytes hash to {expected}, the tag is {got}",
                            kind.name()
                        ),
                    })
                }
                Check::Unknown => {}
            }
        }
        // A hash both sides give on request (contract 0.3): a store's own
        // or one its plugin computes, and the local side's computed here.
        let common = COMPUTED.iter().find(|k| {
            self.src.hashes.iter().any(|h| h == *k) && self.dst.hashes.iter().any(|h| h == *k)
        });
        if let Some(name) = common {
            let kind = Kind::named(name).expect("the host computes every kind it lists");
            // Both sides at once: each reads its own bytes.
            let (a, b) = tokio::join!(
                self.hash_on_request(&self.src, src, name, kind),
                self.hash_on_request(&self.dst, dst, name, kind)
            );
            if let (Some(a), Some(b)) = (a?, b?) {
                return Ok(if a == b {
                    Event::Same {
                        rel,
                        by: kind.name().into(),
                    }
                } else {
                    Event::Differs {
                        rel,
                        why: format!("{} differs: {a} and {b}", kind.name()),
                    }
                });
            }
        }
        Ok(Event::SizeOnly { rel })
    }

    /// The `name` hash of `item` on `side`: computed here for a local
    /// file, asked of the store for a remote (`None` when the store has
    /// none for this object, such as an S3 object uploaded in parts).
    async fn hash_on_request(
        &self,
        side: &Side,
        item: &Item,
        name: &str,
        kind: Kind,
    ) -> Result<Option<String>> {
        match side.at(&item.rel) {
            Endpoint::Local(_) => Ok(self
                .hash_of(side, item, kind, Some(false))
                .await?
                .plain(kind)),
            Endpoint::Remote { remote, key } => match remote.hash(&key, name).await {
                Ok(hash) => Ok(Some(hash.to_ascii_lowercase())),
                Err(e) if *e.kind() == ErrorKind::Unsupported => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Reads the object `item` of `side` and hashes it.
    async fn hash_of(
        &self,
        side: &Side,
        item: &Item,
        kind: Kind,
        multipart: Option<bool>,
    ) -> Result<Hashes> {
        let mut hasher = Hasher::default();
        hasher.add(kind, multipart);
        let at = side.at(&item.rel);
        let mut source = Source::open(&at).await?;
        loop {
            if self.cancelled() {
                source.close().await;
                return Err(Error::new(ErrorKind::Other, format!("{at}: interrupted")));
            }
            let chunk = source.read().await?;
            if chunk.is_empty() {
                return Ok(hasher.finish());
            }
            hasher.update(&chunk);
            // Bytes read from a remote are a download under --bwlimit; a
            // local file's are not network traffic.
            if let (Some(limit), Endpoint::Remote { .. }) = (&self.options.bandwidth, &at) {
                limit
                    .pace_unless(chunk.len() as u64, Flow::DOWNLOAD, || self.cancelled())
                    .await;
            }
            source.recycle(chunk);
        }
    }
}
