//! `ls`, `stat`, `cat` and `rm`: looking at and removing objects.

use std::io::Write;

use anyhow::{bail, Result};
use serde_json::json;
use wharf::{printable, ByteRange, Entry, ErrorKind, Span};
use wharf_transfer::Event;

use crate::app::App;
use crate::output::{end_where_the_reader_left, meta_json, time_text, StdoutSink};
use wharf_transfer::as_prefix;

/// How `ls` prints.
pub struct LsOptions {
    pub long: bool,
    pub recursive: bool,
    pub json: bool,
}

pub async fn ls(app: &App, remote_name: &str, key: &str, options: &LsOptions) -> Result<()> {
    end_where_the_reader_left(list_to_stdout(app, remote_name, key, options).await)
}

async fn list_to_stdout(
    app: &App,
    remote_name: &str,
    key: &str,
    options: &LsOptions,
) -> Result<()> {
    let (remote, key) = app.locate(remote_name, key).await?;
    let key = key.as_str();
    let prefix = as_prefix(key);
    // `ls media:a.jpg` on an object shows the object, like `ls` on a file.
    if !key.is_empty() && !key.ends_with('/') {
        if let Ok(meta) = remote.stat(key).await {
            print_single(&meta, options)?;
            return Ok(());
        }
    }
    let delimiter = (!options.recursive).then_some("/");
    let mut lister = remote.list(&prefix, delimiter).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut count = 0u64;
    if options.json {
        write!(out, "[")?;
    }
    loop {
        let page = lister.next_page().await?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            if options.json {
                let value = match &entry {
                    Entry::Object(meta) => {
                        let mut value = meta_json(meta);
                        value["is_prefix"] = json!(false);
                        value
                    }
                    Entry::CommonPrefix(p) => json!({ "key": p, "is_prefix": true }),
                };
                if count > 0 {
                    write!(out, ",")?;
                }
                write!(out, "\n  {value}")?;
            } else {
                match &entry {
                    // A key may hold any character but NUL: shown, its
                    // control characters are written out, never obeyed.
                    Entry::Object(meta) if options.long => writeln!(
                        out,
                        "{:>12}  {:<20}  {}",
                        meta.size,
                        time_text(&meta.last_modified),
                        printable(&meta.key)
                    )?,
                    Entry::Object(meta) => writeln!(out, "{}", printable(&meta.key))?,
                    Entry::CommonPrefix(p) if options.long => {
                        writeln!(out, "{:>12}  {:<20}  {}", "-", "-", printable(p))?
                    }
                    Entry::CommonPrefix(p) => writeln!(out, "{}", printable(p))?,
                }
            }
            count += 1;
        }
    }
    if options.json {
        writeln!(out, "{}]", if count > 0 { "\n" } else { "" })?;
    }
    out.flush()?;
    if count == 0 && !key.is_empty() {
        return Err(wharf::Error::new(
            ErrorKind::NotFound,
            format!("nothing at {remote_name}:{key}: no object and no keys below it"),
        )
        .into());
    }
    Ok(())
}

fn print_single(meta: &wharf::ObjectMeta, options: &LsOptions) -> Result<()> {
    if options.json {
        let mut value = meta_json(meta);
        value["is_prefix"] = json!(false);
        println!("[\n  {value}\n]");
    } else if options.long {
        println!(
            "{:>12}  {:<20}  {}",
            meta.size,
            time_text(&meta.last_modified),
            printable(&meta.key)
        );
    } else {
        println!("{}", printable(&meta.key));
    }
    Ok(())
}

pub async fn stat(app: &App, remote_name: &str, key: &str, json: bool) -> Result<()> {
    let (remote, key) = app.locate(remote_name, key).await?;
    let key = key.as_str();
    let meta = remote.stat(key).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&meta_json(&meta))?);
        return Ok(());
    }
    let shown = |text: Option<&str>| printable(text.unwrap_or("-")).into_owned();
    println!("key:           {}", printable(&meta.key));
    println!("size:          {}", meta.size);
    println!("last-modified: {}", time_text(&meta.last_modified));
    println!("etag:          {}", shown(meta.etag.as_deref()));
    println!("content-type:  {}", shown(meta.content_type.as_deref()));
    for (name, value) in &meta.metadata {
        println!("metadata:      {}={}", printable(name), printable(value));
    }
    Ok(())
}

/// Which bytes `cat` prints.
pub struct CatRange {
    pub offset: Option<u64>,
    pub count: Option<u64>,
    pub tail: Option<u64>,
}

pub async fn cat(app: &App, remote_name: &str, key: &str, range: &CatRange) -> Result<()> {
    let (remote, key) = app.locate(remote_name, key).await?;
    let key = key.as_str();
    let range = match (range.offset, range.count, range.tail) {
        (None, None, None) => None,
        (None, None, Some(last)) => Some(ByteRange::Suffix(last)),
        (offset, Some(length), None) => Some(ByteRange::Span(Span {
            offset: offset.unwrap_or(0),
            length,
        })),
        (Some(offset), None, None) => Some(ByteRange::From(offset)),
        _ => bail!(crate::UsageError(format!(
            "cat {remote_name}:{key}: --tail cannot be combined with --offset or --count; \
             give --tail alone, or --offset and --count"
        ))),
    };
    let mut stdout = StdoutSink::new();
    match remote.get(key, range, &mut stdout).await {
        // The reader has all it wanted (`| head`), as with `cat`.
        Err(_) if stdout.reader_left() => Ok(()),
        result => result.map(drop).map_err(Into::into),
    }
}

/// How `rm` works.
pub struct RmOptions {
    pub recursive: bool,
    pub dry_run: bool,
    /// With `recursive`: delete-many calls in flight at once, each on its
    /// own plugin instance.
    pub transfers: usize,
    /// With `recursive`: which objects below the prefix to remove.
    pub filter: Option<std::sync::Arc<wharf_transfer::Filter>>,
}

pub async fn rm(app: &App, remote_name: &str, key: &str, options: &RmOptions) -> Result<u64> {
    let RmOptions {
        recursive,
        dry_run,
        transfers,
        ref filter,
    } = *options;
    let (remote, key) = app.locate(remote_name, key).await?;
    let key = key.as_str();
    if !recursive {
        if key.is_empty() {
            bail!(crate::UsageError(format!(
                "'{remote_name}:' is a whole remote; give a key to remove ({remote_name}:KEY), \
                 or use -R to remove everything in it"
            )));
        }
        // Deleting a missing key succeeds in the contract; the command still
        // tells the user that nothing was there.
        remote.stat(key).await?;
        if dry_run {
            eprintln!("would remove {remote_name}:{key}");
        } else {
            remote.delete(key).await?;
        }
        return Ok(1);
    }
    let options = {
        let mut options = wharf_transfer::DeleteOptions::default();
        options.transfers = transfers;
        options.dry_run = dry_run;
        options.filter = filter.clone();
        options
    };
    let name = remote_name.to_owned();
    let said = move |event: &Event| {
        if let Event::WouldDelete { rel } = event {
            eprintln!("would remove {name}:{}", printable(rel));
        }
    };
    let summary =
        wharf_transfer::delete_prefix(&remote, key, &options, std::sync::Arc::new(said)).await?;
    Ok(if dry_run {
        summary.planned
    } else {
        summary.deleted
    })
}
