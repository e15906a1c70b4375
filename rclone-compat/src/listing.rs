//! `ls`, `lsl`, `lsd`, `lsf`, `lsjson` and `size`, in rclone's formats,
//! streamed: each listing page is printed as it comes.

use std::io::Write;

use serde_json::{json, Map, Value};
use wharf::{Entry, ErrorKind, ObjectMeta, Timestamp};
use wharf_transfer::Filter;

use crate::context::Context;
use crate::fail::{Failure, DIR_NOT_FOUND};
use crate::time::{self, DEFAULT_TIME};

/// One line of a listing: an object or a directory, relative to the
/// listed path.
enum Item {
    Object { rel: String, meta: ObjectMeta },
    Dir { rel: String },
}

impl Item {
    fn rel(&self) -> &str {
        match self {
            Item::Object { rel, .. } | Item::Dir { rel } => rel,
        }
    }
}

pub async fn run(ctx: &Context<'_>, command: &str, arg: &str) -> Result<(), Failure> {
    let (remote, key) = ctx.object(arg).await?;
    let args = ctx.args;
    let filter = crate::transfers::filter(args)?;
    // rclone's defaults: ls, lsl and size go down the whole tree; lsd,
    // lsf and lsjson one level unless -R.
    let recursive = match command {
        "ls" | "lsl" | "size" => args.max_depth != Some(1),
        _ => args.recursive && args.max_depth != Some(1),
    };
    // --max-depth N: keys at most N levels down (negative: no limit).
    let depth = args.max_depth.filter(|d| *d > 0).map(|d| d as usize);
    let hashes = if args.hash && command == "lsjson" {
        remote
            .describe()
            .await?
            .map(|d| d.hashes)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printer = Printer::new(command, args);
    let (mut count, mut bytes, mut any) = (0u64, 0u64, false);
    let prefix = wharf_transfer::as_prefix(&key);
    let mut lister = remote.list(&prefix, (!recursive).then_some("/")).await?;
    // The directories above the last key, for a recursive listing: keys
    // come sorted, so those below one directory come together.
    let mut open_dirs: Vec<String> = Vec::new();
    loop {
        let page = lister.next_page().await?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            for item in items(entry, &prefix, recursive, &filter, &mut open_dirs) {
                if depth.is_some_and(|d| item.rel().split('/').count() > d) {
                    continue;
                }
                any = true;
                let mut hashed = None;
                if let Item::Object { meta, .. } = &item {
                    count += 1;
                    bytes += meta.size;
                    if !hashes.is_empty() {
                        let mut found = Map::new();
                        for kind in &hashes {
                            if let Ok(value) = remote.hash(&meta.key, kind).await {
                                found.insert(kind.clone(), Value::String(value));
                            }
                        }
                        hashed = Some(found);
                    }
                }
                printer.print(&mut out, &item, hashed)?;
            }
        }
    }
    if !any && !key.is_empty() {
        // A path that is one object is listed as that object.
        match remote.stat(&key).await {
            Ok(meta) => {
                count = 1;
                bytes = meta.size;
                let rel = key.rsplit('/').next().unwrap_or(&key).to_owned();
                if filter.takes(&rel, meta.size, meta.last_modified.as_ref()) {
                    printer.print(&mut out, &Item::Object { rel, meta }, None)?;
                }
            }
            Err(e) if *e.kind() == ErrorKind::NotFound => {
                // A bucket-like store has no directories to miss: an
                // empty listing, as rclone's. Elsewhere, not found.
                if !remote.capabilities().key_and_prefix {
                    return Err(Failure::new(DIR_NOT_FOUND, "directory not found"));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    printer.finish(&mut out, count, bytes)?;
    out.flush()?;
    Ok(())
}

/// The items one listing entry makes: an object (after the directories
/// its key implies, each once, in a recursive listing) or a directory;
/// what the filter does not take is left out.
fn items(
    entry: Entry,
    prefix: &str,
    recursive: bool,
    filter: &Filter,
    open_dirs: &mut Vec<String>,
) -> Vec<Item> {
    let mut out = Vec::new();
    match entry {
        Entry::Object(meta) => {
            let rel = meta.key[prefix.len().min(meta.key.len())..].to_owned();
            if rel.is_empty() {
                return out;
            }
            if recursive {
                let dirs: Vec<&str> = rel.match_indices('/').map(|(i, _)| &rel[..i]).collect();
                let common = open_dirs
                    .iter()
                    .zip(&dirs)
                    .take_while(|(a, b)| a.as_str() == **b)
                    .count();
                open_dirs.truncate(common);
                for dir in &dirs[common..] {
                    open_dirs.push((*dir).to_owned());
                    if filter.takes_directory(dir) {
                        out.push(Item::Dir {
                            rel: (*dir).to_owned(),
                        });
                    }
                }
            }
            if filter.takes(&rel, meta.size, meta.last_modified.as_ref()) {
                out.push(Item::Object { rel, meta });
            }
        }
        Entry::CommonPrefix(dir) => {
            let rel = dir[prefix.len().min(dir.len())..]
                .trim_end_matches('/')
                .to_owned();
            if !rel.is_empty() && filter.takes_directory(&rel) {
                out.push(Item::Dir { rel });
            }
        }
    }
    out
}

/// How one command prints.
struct Printer<'a> {
    command: String,
    args: &'a crate::args::Args,
    first: bool,
}

impl<'a> Printer<'a> {
    fn new(command: &str, args: &'a crate::args::Args) -> Self {
        Printer {
            command: command.to_owned(),
            args,
            first: true,
        }
    }

    fn print(
        &mut self,
        out: &mut impl Write,
        item: &Item,
        hashes: Option<Map<String, Value>>,
    ) -> Result<(), Failure> {
        let args = self.args;
        let is_dir = matches!(item, Item::Dir { .. });
        if (args.files_only && is_dir) || (args.dirs_only && !is_dir) {
            return Ok(());
        }
        match (self.command.as_str(), item) {
            ("ls", Item::Object { rel, meta }) => writeln!(out, "{:>9} {rel}", meta.size)?,
            ("lsl", Item::Object { rel, meta }) => {
                writeln!(out, "{:>9} {} {rel}", meta.size, time::lsl(&modified(meta)))?
            }
            // A directory implied by keys has no size (0) and no count (-1).
            ("lsd", Item::Dir { rel }) => writeln!(
                out,
                "{:>12} {} {:>9} {rel}",
                0,
                time::lsd(&DEFAULT_TIME),
                -1
            )?,
            ("lsf", _) => {
                let sep = args.separator.as_deref().unwrap_or(";");
                let format = args.format.as_deref().unwrap_or("p");
                let mut fields = Vec::new();
                for f in format.chars() {
                    fields.push(match (f, item) {
                        ('p', Item::Dir { rel }) => format!("{rel}/"),
                        ('p', Item::Object { rel, .. }) => rel.clone(),
                        ('n', Item::Dir { rel }) => format!("{}/", base(rel)),
                        ('n', Item::Object { rel, .. }) => base(rel).to_owned(),
                        ('s', Item::Dir { .. }) => "-1".into(),
                        ('s', Item::Object { meta, .. }) => meta.size.to_string(),
                        ('t', Item::Dir { .. }) => time::lsd(&DEFAULT_TIME),
                        ('t', Item::Object { meta, .. }) => time::lsd(&modified(meta)),
                        ('m', _) => mime(item),
                        ('e', Item::Object { meta, .. }) => meta.etag.clone().unwrap_or_default(),
                        ('e', Item::Dir { .. }) => String::new(),
                        (other, _) => {
                            return Err(Failure::usage(format!(
                            "--format {format}: '{other}' is not supported (p, n, s, t, m, e are)"
                        )))
                        }
                    });
                }
                writeln!(out, "{}", fields.join(sep))?;
            }
            ("lsjson", _) => {
                // rclone's field order, which a map would sort away.
                let mut fields: Vec<(&str, Value)> = vec![
                    ("Path", json!(item.rel())),
                    ("Name", json!(base(item.rel()))),
                ];
                match item {
                    Item::Object { meta, .. } => {
                        fields.push(("Size", json!(meta.size)));
                        if !args.no_mimetype {
                            fields.push(("MimeType", json!(mime(item))));
                        }
                        if !args.no_modtime {
                            fields.push(("ModTime", json!(time::rfc3339(&modified(meta)))));
                        }
                        fields.push(("IsDir", json!(false)));
                        if let Some(hashes) = hashes.filter(|h| !h.is_empty()) {
                            fields.push(("Hashes", Value::Object(hashes)));
                        }
                    }
                    Item::Dir { .. } => {
                        fields.push(("Size", json!(-1)));
                        if !args.no_mimetype {
                            fields.push(("MimeType", json!("inode/directory")));
                        }
                        if !args.no_modtime {
                            fields.push(("ModTime", json!(time::rfc3339(&DEFAULT_TIME))));
                        }
                        fields.push(("IsDir", json!(true)));
                    }
                }
                let value = format!(
                    "{{{}}}",
                    fields
                        .iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                );
                if self.first {
                    writeln!(out, "[")?;
                } else {
                    writeln!(out, ",")?;
                }
                write!(out, "{value}")?;
                self.first = false;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write, count: u64, bytes: u64) -> Result<(), Failure> {
        match self.command.as_str() {
            "lsjson" if self.first => writeln!(out, "[\n]")?,
            "lsjson" => writeln!(out, "\n]")?,
            "size" if self.args.json => writeln!(
                out,
                "{{\"count\":{count},\"bytes\":{bytes},\"sizeless\":0}}"
            )?,
            "size" => {
                writeln!(out, "Total objects: {}", human_count(count))?;
                writeln!(out, "Total size: {} ({bytes} Byte)", human_bytes(bytes))?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn base(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn modified(meta: &ObjectMeta) -> Timestamp {
    meta.last_modified.unwrap_or(DEFAULT_TIME)
}

/// The object's stored media type, else one from its extension, as
/// rclone's.
fn mime(item: &Item) -> String {
    let Item::Object { rel, meta } = item else {
        return "inode/directory".into();
    };
    if let Some(stored) = meta.content_type.as_deref().filter(|t| !t.is_empty()) {
        return stored.to_owned();
    }
    let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt") => "text/plain; charset=utf-8",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("xml") => "text/xml; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        Some("tar") => "application/x-tar",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
    .to_owned()
}

/// rclone's `size` counts: `3`, `1.234k`.
fn human_count(n: u64) -> String {
    if n < 1000 {
        return n.to_string();
    }
    let units = ["k", "M", "G", "T"];
    let mut value = n as f64;
    let mut unit = "";
    for u in units {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{} ({n})", trim_float(value) + unit)
}

/// rclone's sizes: `13 B`, `1.234 KiB`.
fn human_bytes(n: u64) -> String {
    let (value, unit) = binary_units(n);
    format!("{} {unit}", trim_float(value))
}

/// `n` bytes in the largest binary unit that keeps the value at 1 or more
/// (`B` below 1 KiB), as rclone scales its sizes.
pub(crate) fn binary_units(n: u64) -> (f64, &'static str) {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = n as f64;
    let mut unit = "B";
    for u in units {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    (value, unit)
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_rclone_prints_them() {
        assert_eq!(human_bytes(13), "13 B");
        assert_eq!(human_bytes(1264), "1.234 KiB");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_count(3), "3");
    }
}
