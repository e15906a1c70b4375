//! Finding the work: the one object, or the merge of both sides'
//! listings in key order, turned into jobs for the workers. Listings are
//! streamed a page at a time, never collected.

use std::cmp::Ordering;

use tokio::sync::mpsc;
use wharf::{Error, ErrorKind, Result};

use crate::engine::{Engine, Job, Mode};
use crate::event::Event;
use crate::walk::Item;

/// Feeds the workers until both listings end (or the transfer is
/// cancelled, or the workers stop).
pub(crate) async fn plan(engine: &Engine, jobs: &mpsc::Sender<Job>) -> Result<()> {
    let src = &engine.src;
    let send = |job: Job| async {
        engine.planned(&job);
        if engine.options.dry_run && !matches!(job, Job::Compare { .. }) {
            engine.would_do(job);
            return Ok(());
        }
        jobs.send(job)
            .await
            .map_err(|_| Error::new(ErrorKind::Other, "the transfer's workers stopped"))
    };
    if !src.tree {
        let item = src.item().await?;
        return send(Job::Copy(item)).await;
    }
    let mut from = src.walk().await?;
    let planned = plan_tree(engine, &mut from, &send).await;
    let links = from.skipped_links();
    if !links.is_empty() {
        let shown: Vec<&str> = links.iter().take(5).map(String::as_str).collect();
        engine.emit(Event::Note(format!(
            "passed over {} symbolic link{} in {} ({}{}); -L/--copy-links follows them",
            links.len(),
            if links.len() == 1 { "" } else { "s" },
            src.base,
            shown.join(", "),
            if links.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    planned
}

/// The merge of the source's walk `from` with the destination's.
async fn plan_tree<F, Fut>(
    engine: &Engine,
    from: &mut crate::walk::Walk<'_>,
    send: &F,
) -> Result<()>
where
    F: Fn(Job) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let dst = &engine.dst;
    match engine.mode {
        Mode::Copy | Mode::Move => {
            while let Some(item) = from.next().await? {
                if engine.cancelled() {
                    break;
                }
                send(Job::Copy(item)).await?;
            }
        }
        Mode::Sync | Mode::Check => {
            let mut to = dst.walk().await?;
            let (mut a, mut b) = (from.next().await?, to.next().await?);
            while !engine.cancelled() {
                match (a.take(), b.take()) {
                    (None, None) => break,
                    (Some(s), None) => {
                        only_in_source(engine, s, send).await?;
                        a = from.next().await?;
                    }
                    (None, Some(d)) => {
                        only_in_destination(engine, d);
                        b = to.next().await?;
                    }
                    (Some(s), Some(d)) => match s.rel.as_bytes().cmp(d.rel.as_bytes()) {
                        Ordering::Less => {
                            only_in_source(engine, s, send).await?;
                            a = from.next().await?;
                            b = Some(d);
                        }
                        Ordering::Greater => {
                            only_in_destination(engine, d);
                            a = Some(s);
                            b = to.next().await?;
                        }
                        Ordering::Equal => {
                            in_both(engine, s, d, send).await?;
                            a = from.next().await?;
                            b = to.next().await?;
                        }
                    },
                }
            }
        }
    }
    Ok(())
}

async fn only_in_source<F, Fut>(engine: &Engine, item: Item, send: &F) -> Result<()>
where
    F: Fn(Job) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    match engine.mode {
        Mode::Check => {
            engine.emit(Event::Missing { rel: item.rel });
            Ok(())
        }
        _ => send(Job::Copy(item)).await,
    }
}

fn only_in_destination(engine: &Engine, item: Item) {
    // sync: left to the deletion pass, after the copies.
    if engine.mode == Mode::Check {
        engine.emit(Event::Extra { rel: item.rel });
    }
}

async fn in_both<F, Fut>(engine: &Engine, src: Item, dst: Item, send: &F) -> Result<()>
where
    F: Fn(Job) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    match engine.mode {
        Mode::Check => send(Job::Compare { src, dst }).await,
        _ if unchanged(engine, &src, &dst) => {
            engine.emit(Event::Skipped { rel: src.rel });
            Ok(())
        }
        _ => send(Job::Copy(src)).await,
    }
}

/// Whether `sync` may leave `dst` as it is: same size, and the same hash
/// where both sides have one of the same kind, else not older than the
/// source (a copy is always newer than its source, since Wharf does not
/// carry modification times over).
fn unchanged(engine: &Engine, src: &Item, dst: &Item) -> bool {
    if src.size != dst.size {
        return false;
    }
    if let (Some(a), Some(b), Some(ka), Some(kb)) =
        (&src.etag, &dst.etag, engine.src.kind, engine.dst.kind)
    {
        if ka.same_hash(kb) && !a.contains('-') && !b.contains('-') {
            return a == b;
        }
    }
    if engine.options.checksum {
        // Left to the copy's verification: unknown here.
        return false;
    }
    // Whole seconds, as most backends keep them: a copy made in the same
    // second as the source's last change may predate it, so only a copy
    // from a later second counts as up to date (at worst such a file is
    // copied once more).
    match (src.modified, dst.modified) {
        (Some(s), Some(d)) => s.seconds < d.seconds,
        _ => false,
    }
}

/// The second pass of `sync` with `delete`: what the destination has and
/// the source does not.
pub(crate) async fn delete_extra(engine: &Engine) -> Result<()> {
    let mut from = engine.src.walk().await?;
    let mut to = engine.dst.walk().await?;
    let mut a = from.next().await?;
    while let Some(d) = to.next().await? {
        while a
            .as_ref()
            .is_some_and(|s| s.rel.as_bytes() < d.rel.as_bytes())
        {
            a = from.next().await?;
        }
        if a.as_ref().is_some_and(|s| s.rel == d.rel) || engine.cancelled() {
            continue;
        }
        let job = Job::Delete(d);
        engine.planned(&job);
        if engine.options.dry_run {
            engine.would_do(job);
        } else {
            engine.run_job(job).await;
        }
    }
    Ok(())
}
