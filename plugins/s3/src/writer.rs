//! Uploads: one PUT for an object up to `part_size`, a multipart upload
//! above it, streamed part by part. Parts are all `part_size` but the last
//! (R2 refuses uploads whose non-trailing parts differ), and any failure or
//! abort aborts the multipart upload so no parts are left behind.
//!
//! Over https, an object whose size the caller announced (`size-hint`)
//! above `part_size` and up to `upload_cutoff` goes in one PUT whose body
//! streams as it is written (`Upload::Streamed`), as rclone sends objects
//! up to its `upload_cutoff`: over a link with latency that saves the two
//! round trips a multipart upload adds (start, complete) and the server's
//! assembly of the parts. Its payload is unsigned (its hash is only known
//! at the end), TLS guarding it, and the ETag the server answers is
//! checked against the MD5 of what was sent. A size other than announced
//! fails the write, and the request is dropped unfinished, so the server
//! stores nothing.
//!
//! A writer is either still filling its first part (`Upload::Single`: it
//! may yet be one PUT), streaming one PUT (`Upload::Streamed`), or has
//! started a multipart upload (`Upload::Multipart`), which owns the upload
//! id and the parts; the calls that need an upload are methods of
//! `Multipart`, so none can run without one.

use std::collections::VecDeque;
use std::rc::Rc;

use wharf_plugin::http::{Pollable, Response, Upload as SentPart};
use wharf_plugin::{Error, ObjectMeta, Result, WriteOptions, Writer};

use crate::core::{S3Core, MAX_XML};
use crate::error::error_fields;

/// A write in progress.
pub struct S3Writer {
    target: Target,
    content_type: Option<String>,
    /// The part being filled.
    buffer: Vec<u8>,
    written: u64,
    upload: Upload,
    /// The size announced, when it calls for a streamed PUT.
    streamable: Option<u64>,
}

/// Where the object goes: what every request of the upload needs.
struct Target {
    core: Rc<S3Core>,
    key: String,
    headers: Vec<(String, String)>,
}

impl Target {
    fn what(&self) -> String {
        format!("write {:?}", self.key)
    }

    fn path(&self) -> String {
        self.core.object_path(&self.key)
    }
}

/// How the object is being uploaded.
enum Upload {
    /// Nothing sent yet: an object that ends within the first part goes
    /// in one PUT.
    Single,
    /// One PUT of the announced size, its body streaming.
    Streamed(Streamed),
    /// A multipart upload was started.
    Multipart(Multipart),
}

struct Streamed {
    sent: SentPart,
    /// The MD5 of what was sent, for the ETag.
    md5: wharf_md5::Md5,
    announced: u64,
}

struct Multipart {
    id: String,
    /// The ETag of each part, by part number - 1, once the server took it.
    parts: Vec<Option<String>>,
    /// Parts sent whose answers are still to come, oldest first; each
    /// keeps its bytes in case it must be sent again. With the
    /// part being filled, at most `upload_concurrency` parts are in memory.
    in_flight: VecDeque<InFlight>,
}

/// A part on its way. Its body goes out as the network takes it, a piece
/// each time the writer is given a chunk ([`Multipart::send_some`]), so
/// the plugin fills the next part (and the layer above it, a cipher say,
/// works) while this one is sent; before, writing a part's body held the
/// plugin until the server had read all but the host's buffer of it.
struct InFlight {
    number: usize,
    /// `None` once writing its body failed: it is sent again, with the
    /// usual retries, when settled.
    sent: Option<SentPart>,
    data: Vec<u8>,
    /// How many of its bytes the host has taken.
    written: usize,
}

impl InFlight {
    /// Writes as much of the rest of the body as the host takes now; with
    /// something to wait on until it takes more, while some is left.
    fn send_some(&mut self) -> Option<Pollable> {
        let sent = self.sent.as_mut()?;
        if self.written < self.data.len() {
            match sent.write_now(&self.data[self.written..]) {
                Ok(n) => self.written += n,
                Err(_) => self.sent = None,
            }
        }
        match &self.sent {
            Some(sent) if self.written < self.data.len() => sent.writable(),
            _ => None,
        }
    }
}

impl Multipart {
    fn start(target: &Target) -> Result<Multipart> {
        let mut response = target.core.send(
            "POST",
            &target.path(),
            &[("uploads", "")],
            &target.headers,
            b"",
        )?;
        if response.status() != 200 {
            return Err(target.core.parse_error(&target.what(), response));
        }
        let body = response.read_all(MAX_XML)?;
        let id = xml_text(&body, "UploadId").ok_or_else(|| {
            Error::other(format!("{}: the server gave no UploadId", target.what()))
        })?;
        Ok(Multipart {
            id,
            parts: Vec::new(),
            in_flight: VecDeque::new(),
        })
    }

    /// Reserves the next part number: (number, as text).
    fn next_part(&mut self) -> (usize, String) {
        self.parts.push(None);
        let number = self.parts.len();
        (number, number.to_string())
    }

    /// Sends a part without waiting for the answer; waits for the oldest
    /// part first when `upload_concurrency` parts are already in flight.
    fn upload_part(&mut self, target: &Target, data: Vec<u8>) -> Result<()> {
        let concurrency = target.core.config.upload_concurrency;
        while self.in_flight.len() >= concurrency {
            self.settle_oldest_part(target)?;
        }
        let (number, number_text) = self.next_part();
        let path = target.path();
        let query = [
            ("partNumber", number_text.as_str()),
            ("uploadId", self.id.as_str()),
        ];
        let sent = match target.core.start("PUT", &path, &query, &data) {
            Ok(sent) => sent,
            // Not even sent: send again, with the usual retries.
            Err(_) => {
                let response = target.core.send("PUT", &path, &query, &[], &data)?;
                return self.record_part(target, number, response);
            }
        };
        let mut part = InFlight {
            number,
            sent: Some(sent),
            data,
            written: 0,
        };
        part.send_some();
        self.in_flight.push_back(part);
        Ok(())
    }

    /// Writes as much of the parts in flight as the host takes now; with
    /// what to wait on until it takes more of those with some left.
    fn send_some(in_flight: &mut VecDeque<InFlight>) -> Vec<Pollable> {
        in_flight
            .iter_mut()
            .filter_map(InFlight::send_some)
            .collect()
    }

    /// Waits for the oldest part in flight, writing the rest of its body
    /// first; one the server did not take is sent again, with the usual
    /// retries.
    fn settle_oldest_part(&mut self, target: &Target) -> Result<()> {
        let Some(mut part) = self.in_flight.pop_front() else {
            return Ok(());
        };
        // The rest of its body goes out alongside the parts after it, each
        // as the network takes it (the server works on them at once); and
        // while its answer is awaited, they go on out.
        loop {
            let Some(writable) = part.send_some() else {
                break;
            };
            let mut waits = Self::send_some(&mut self.in_flight);
            waits.push(writable);
            wharf_plugin::http::wait_any(&waits);
        }
        let others = &mut self.in_flight;
        let answer = part
            .sent
            .map(|sent| sent.finish_while(|| Self::send_some(others)));
        let response = match answer {
            Some(Ok(response)) if response.status() == 200 => response,
            Some(Ok(response)) if !matches!(response.status(), 429 | 500 | 502 | 503 | 504) => {
                return Err(target.core.parse_error(&target.what(), response));
            }
            Some(Err(e)) if !matches!(e, Error::Unavailable(_)) => return Err(e),
            // Answered "try again", cut off, or its body could not be
            // written: sent again.
            Some(Ok(_) | Err(_)) | None => {
                let number = part.number.to_string();
                let query = [
                    ("partNumber", number.as_str()),
                    ("uploadId", self.id.as_str()),
                ];
                target
                    .core
                    .send("PUT", &target.path(), &query, &[], &part.data)?
            }
        };
        self.record_part(target, part.number, response)
    }

    fn record_part(&mut self, target: &Target, number: usize, response: Response) -> Result<()> {
        if response.status() != 200 {
            return Err(target.core.parse_error(&target.what(), response));
        }
        let etag = response.header("etag").map(str::to_owned).ok_or_else(|| {
            Error::other(format!(
                "{}: the server gave no ETag for part {number}",
                target.what()
            ))
        })?;
        self.parts[number - 1] = Some(etag);
        Ok(())
    }

    /// Waits for every part, then completes the upload; returns the
    /// object's ETag.
    fn complete(&mut self, target: &Target) -> Result<Option<String>> {
        while !self.in_flight.is_empty() {
            self.settle_oldest_part(target)?;
        }
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, etag) in self.parts.iter().enumerate() {
            let Some(etag) = etag else {
                return Err(Error::other(format!(
                    "{}: part {} was never answered",
                    target.what(),
                    i + 1
                )));
            };
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                escape_xml(etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        // A create-only write's condition goes on the completion, where
        // the object appears.
        let condition: Vec<(String, String)> = target
            .headers
            .iter()
            .filter(|(name, _)| name == "if-none-match")
            .cloned()
            .collect();
        let mut response = target.core.send(
            "POST",
            &target.path(),
            &[("uploadId", self.id.as_str())],
            &condition,
            xml.as_bytes(),
        )?;
        if response.status() != 200 {
            return Err(target.core.parse_error(&target.what(), response));
        }
        // S3 may answer 200 and put an error in the body.
        let body = response.read_all(MAX_XML)?;
        if let (Some(code), message) = error_fields(&body) {
            if xml_text(&body, "ETag").is_none() {
                return Err(Error::unavailable(format!(
                    "{}: completing the upload failed: {code}: {}",
                    target.what(),
                    message.unwrap_or_default()
                )));
            }
        }
        Ok(xml_text(&body, "ETag"))
    }

    fn abort(mut self, target: &Target) -> Result<()> {
        // Answers to parts in flight no longer matter.
        self.in_flight.clear();
        let response = target.core.send(
            "DELETE",
            &target.path(),
            &[("uploadId", self.id.as_str())],
            &[],
            b"",
        )?;
        match response.status() {
            200 | 204 | 404 => Ok(()),
            _ => Err(target
                .core
                .parse_error(&format!("abort {:?}", target.key), response)),
        }
    }
}

impl S3Writer {
    pub fn new(core: Rc<S3Core>, key: &str, options: WriteOptions) -> Self {
        Self::with_condition(core, key, options, false)
    }

    /// A write that only creates: the PUT (or the multipart upload's
    /// completion) carries `If-None-Match: *`, so the server refuses it
    /// with 412 if an object is at the key by then.
    pub fn create_only(core: Rc<S3Core>, key: &str, options: WriteOptions) -> Self {
        Self::with_condition(core, key, options, true)
    }

    fn with_condition(core: Rc<S3Core>, key: &str, options: WriteOptions, only_new: bool) -> Self {
        let mut headers = Vec::new();
        if only_new {
            headers.push(("if-none-match".to_owned(), "*".to_owned()));
        }
        if let Some(content_type) = &options.content_type {
            headers.push(("content-type".to_owned(), content_type.clone()));
        }
        for (name, value) in &options.metadata {
            headers.push((
                format!("x-amz-meta-{}", name.to_ascii_lowercase()),
                value.clone(),
            ));
        }
        if let Some(class) = &core.config.storage_class {
            headers.push(("x-amz-storage-class".to_owned(), class.clone()));
        }
        if let Some(acl) = &core.config.acl {
            headers.push(("x-amz-acl".to_owned(), acl.clone()));
        }
        let config = &core.config;
        let streamable = options.size_hint.filter(|&size| {
            config.scheme == "https"
                && size > config.part_size as u64
                && size <= config.upload_cutoff
        });
        S3Writer {
            target: Target {
                core,
                key: key.to_owned(),
                headers,
            },
            content_type: options.content_type,
            buffer: Vec::new(),
            written: 0,
            upload: Upload::Single,
            streamable,
        }
    }

    /// Adds `chunk` to the part being filled, sending each part as it
    /// fills. A part is allocated at exactly `part_size` and never grows,
    /// and the part being filled counts toward `upload_concurrency` with
    /// those in flight, so an upload holds `part_size × upload_concurrency`
    /// and no more. (Filling the next part while the last is answered keeps
    /// two requests overlapping even at the default of 2.)
    fn take_chunk(&mut self, chunk: Vec<u8>) -> Result<()> {
        if let (Upload::Single, Some(announced)) = (&self.upload, self.streamable) {
            let sent = self.target.core.start_streamed(
                &self.target.path(),
                &self.target.headers,
                announced,
            )?;
            self.upload = Upload::Streamed(Streamed {
                sent,
                md5: wharf_md5::Md5::default(),
                announced,
            });
        }
        if let Upload::Streamed(streamed) = &mut self.upload {
            if self.written > streamed.announced {
                return Err(Error::other(format!(
                    "{}: more bytes came than the {} announced; the upload was cancelled and \
                     nothing was stored",
                    self.target.what(),
                    streamed.announced
                )));
            }
            streamed.md5.update(&chunk);
            return streamed.sent.write(&chunk);
        }
        let part_size = self.target.core.config.part_size;
        let concurrency = self.target.core.config.upload_concurrency;
        if let Upload::Multipart(upload) = &mut self.upload {
            Multipart::send_some(&mut upload.in_flight);
        }
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.buffer.capacity() < part_size {
                if let Upload::Multipart(upload) = &mut self.upload {
                    while upload.in_flight.len() >= concurrency {
                        upload.settle_oldest_part(&self.target)?;
                    }
                }
                self.buffer.reserve_exact(part_size - self.buffer.len());
            }
            let n = rest.len().min(part_size - self.buffer.len());
            self.buffer.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buffer.len() == part_size {
                if let Upload::Single = self.upload {
                    self.upload = Upload::Multipart(Multipart::start(&self.target)?);
                }
                let part = std::mem::take(&mut self.buffer);
                if let Upload::Multipart(upload) = &mut self.upload {
                    upload.upload_part(&self.target, part)?;
                }
            }
        }
        Ok(())
    }

    fn abort_upload(&mut self) -> Result<()> {
        match std::mem::replace(&mut self.upload, Upload::Single) {
            // Dropped with its body unfinished, the request is cut off:
            // the server stores nothing.
            Upload::Single | Upload::Streamed(_) => Ok(()),
            Upload::Multipart(upload) => upload.abort(&self.target),
        }
    }

    fn finish_inner(&mut self) -> Result<ObjectMeta> {
        let target = &self.target;
        let etag = match std::mem::replace(&mut self.upload, Upload::Single) {
            Upload::Single => {
                let body = std::mem::take(&mut self.buffer);
                let response =
                    target
                        .core
                        .send("PUT", &target.path(), &[], &target.headers, &body)?;
                if response.status() != 200 {
                    return Err(target.core.parse_error(&target.what(), response));
                }
                response.header("etag").map(str::to_owned)
            }
            Upload::Streamed(streamed) => streamed.finish(target, self.written)?,
            Upload::Multipart(mut upload) => {
                // Until it completes, a failure must still abort it.
                let sent = match std::mem::take(&mut self.buffer) {
                    last if last.is_empty() => Ok(()),
                    last => upload.upload_part(target, last),
                };
                if let Err(e) = sent {
                    let _ = upload.abort(target);
                    return Err(e);
                }
                upload.complete_or_abort(target)?
            }
        };
        Ok(ObjectMeta {
            key: self.target.key.clone(),
            size: self.written,
            last_modified: None,
            etag,
            content_type: self.content_type.clone(),
            metadata: Vec::new(),
        })
    }

    /// Copies `source` (of `size` bytes) into this writer's key with a
    /// multipart upload whose parts the server copies itself
    /// (UploadPartCopy): how S3 copies objects above CopyObject's 5 GiB.
    pub fn copy_from(self, source: &str, size: u64) -> Result<ObjectMeta> {
        let target = &self.target;
        let mut upload = Multipart::start(target)?;
        if let Err(e) = copy_parts(&mut upload, target, source, size) {
            let _ = upload.abort(target);
            return Err(e);
        }
        let etag = upload.complete_or_abort(target)?;
        Ok(ObjectMeta {
            key: target.key.clone(),
            size,
            last_modified: None,
            etag,
            content_type: self.content_type.clone(),
            metadata: Vec::new(),
        })
    }
}

impl Streamed {
    /// Ends the PUT, if all the announced bytes were written (else drops
    /// it unfinished: nothing is stored), and checks the ETag the server
    /// answers against the MD5 of what was sent; returns the ETag.
    fn finish(self, target: &Target, written: u64) -> Result<Option<String>> {
        let Streamed {
            mut sent,
            md5,
            announced,
        } = self;
        if written != announced {
            return Err(Error::other(format!(
                "{}: {written} bytes came where {announced} were announced; the upload was \
                 cancelled and nothing was stored",
                target.what()
            )));
        }
        sent.end_body();
        let response = sent.finish()?;
        if response.status() != 200 {
            return Err(target.core.parse_error(&target.what(), response));
        }
        let etag = response.header("etag").map(str::to_owned);
        let md5 = hex::encode(md5.finalize());
        // An ETag that is not an MD5 (encryption with a KMS key) says
        // nothing of the bytes; TLS guarded them.
        if let Some(tag) = etag.as_deref().map(|t| t.trim_matches('"')) {
            if tag.len() == 32 && !tag.eq_ignore_ascii_case(&md5) {
                let _ = target.core.send("DELETE", &target.path(), &[], &[], b"");
                return Err(Error::unavailable(format!(
                    "{}: the server stored other bytes than were sent (its ETag {tag}, the \
                     MD5 sent {md5}); the object was deleted, write it again",
                    target.what()
                )));
            }
        }
        Ok(etag)
    }
}

impl Multipart {
    /// Completes the upload; if that fails, aborts it so no parts stay.
    fn complete_or_abort(mut self, target: &Target) -> Result<Option<String>> {
        match self.complete(target) {
            Ok(etag) => Ok(etag),
            Err(e) => {
                let _ = self.abort(target);
                Err(e)
            }
        }
    }
}

/// Has the server copy `source` into `upload`, part by part.
fn copy_parts(upload: &mut Multipart, target: &Target, source: &str, size: u64) -> Result<()> {
    let part_size = target.core.config.part_size as u64;
    let copy_source = target.core.copy_source(source);
    let path = target.path();
    let mut offset = 0;
    while offset < size {
        let last = (offset + part_size).min(size) - 1;
        let (number, number_text) = upload.next_part();
        let query = [
            ("partNumber", number_text.as_str()),
            ("uploadId", upload.id.as_str()),
        ];
        let headers = vec![
            ("x-amz-copy-source".to_owned(), copy_source.clone()),
            (
                "x-amz-copy-source-range".to_owned(),
                format!("bytes={offset}-{last}"),
            ),
        ];
        let mut response = target.core.send("PUT", &path, &query, &headers, b"")?;
        if response.status() != 200 {
            return Err(target.core.parse_error(&target.what(), response));
        }
        let body = response.read_all(MAX_XML)?;
        let etag = xml_text(&body, "ETag").ok_or_else(|| {
            Error::other(format!(
                "{}: the server gave no ETag for copied part {number}",
                target.what()
            ))
        })?;
        upload.parts[number - 1] = Some(etag);
        offset = last + 1;
    }
    Ok(())
}

impl Writer for S3Writer {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        self.written += chunk.len() as u64;
        let result = self.take_chunk(chunk);
        if result.is_err() {
            let _ = self.abort_upload();
        }
        result
    }

    fn finish(mut self) -> Result<ObjectMeta> {
        self.finish_inner()
    }

    fn abort(mut self) -> Result<()> {
        self.buffer = Vec::new();
        self.abort_upload()
    }
}

/// The text of the first element called `name` in an XML body.
pub fn xml_text(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let doc = roxmltree::Document::parse(text).ok()?;
    doc.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .map(str::to_owned)
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
