//! Uploads: one PUT for an object up to `part_size`, a multipart upload
//! above it, streamed part by part. Parts are all `part_size` but the last
//! (R2 refuses uploads whose non-trailing parts differ), and any failure or
//! abort aborts the multipart upload so no parts are left behind.

use std::collections::VecDeque;
use std::rc::Rc;

use wharf_plugin::http::{Response, Upload};
use wharf_plugin::{Error, ObjectMeta, Result, WriteOptions, Writer};

use crate::core::{S3Core, MAX_XML};
use crate::error::error_fields;

/// A write in progress.
pub struct S3Writer {
    core: Rc<S3Core>,
    key: String,
    headers: Vec<(String, String)>,
    content_type: Option<String>,
    buffer: Vec<u8>,
    written: u64,
    upload: Option<Multipart>,
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

struct InFlight {
    number: usize,
    upload: Upload,
    data: Vec<u8>,
}

impl S3Writer {
    pub fn new(core: Rc<S3Core>, key: &str, options: WriteOptions) -> Self {
        let mut headers = Vec::new();
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
        S3Writer {
            core,
            key: key.to_owned(),
            headers,
            content_type: options.content_type,
            buffer: Vec::new(),
            written: 0,
            upload: None,
        }
    }

    fn what(&self) -> String {
        format!("write {:?}", self.key)
    }

    fn start_multipart(&mut self) -> Result<()> {
        let path = self.core.object_path(&self.key);
        let mut response = self
            .core
            .send("POST", &path, &[("uploads", "")], &self.headers, b"")?;
        if response.status() != 200 {
            return Err(self.core.parse_error(&self.what(), response));
        }
        let body = response.read_all(MAX_XML)?;
        let id = xml_text(&body, "UploadId")
            .ok_or_else(|| Error::other(format!("{}: the server gave no UploadId", self.what())))?;
        self.upload = Some(Multipart {
            id,
            parts: Vec::new(),
            in_flight: VecDeque::new(),
        });
        Ok(())
    }

    /// Sends a part without waiting for the answer; waits for the oldest
    /// part first when `upload_concurrency` parts are already in flight.
    fn upload_part(&mut self, data: Vec<u8>) -> Result<()> {
        let concurrency = self.core.config.upload_concurrency;
        while self.upload.as_ref().unwrap().in_flight.len() >= concurrency {
            self.settle_oldest_part()?;
        }
        let (number, number_text, id) = self.next_part();
        let path = self.core.object_path(&self.key);
        let query = [
            ("partNumber", number_text.as_str()),
            ("uploadId", id.as_str()),
        ];
        let sent = match self.core.start("PUT", &path, &query, &data) {
            Ok(sent) => sent,
            // Not even sent: send again, with the usual retries.
            Err(_) => {
                let response = self.core.send("PUT", &path, &query, &[], &data)?;
                return self.record_part(number, response);
            }
        };
        let in_flight = InFlight {
            number,
            upload: sent,
            data,
        };
        self.upload.as_mut().unwrap().in_flight.push_back(in_flight);
        Ok(())
    }

    /// Reserves the next part number: (number, as text, upload id).
    fn next_part(&mut self) -> (usize, String, String) {
        let upload = self
            .upload
            .as_mut()
            .expect("a multipart upload was started");
        upload.parts.push(None);
        let number = upload.parts.len();
        (number, number.to_string(), upload.id.clone())
    }

    /// Waits for the oldest part in flight; one the server did not take is
    /// sent again, with the usual retries.
    fn settle_oldest_part(&mut self) -> Result<()> {
        let Some(part) = self.upload.as_mut().unwrap().in_flight.pop_front() else {
            return Ok(());
        };
        let response = match part.upload.finish() {
            Ok(response) if response.status() == 200 => response,
            Ok(response) if !matches!(response.status(), 429 | 500 | 502 | 503 | 504) => {
                return Err(self.core.parse_error(&self.what(), response));
            }
            Ok(_) | Err(Error::Unavailable(_)) => {
                let id = self.upload.as_ref().unwrap().id.clone();
                let number = part.number.to_string();
                let query = [("partNumber", number.as_str()), ("uploadId", id.as_str())];
                let path = self.core.object_path(&self.key);
                self.core.send("PUT", &path, &query, &[], &part.data)?
            }
            Err(e) => return Err(e),
        };
        self.record_part(part.number, response)
    }

    fn record_part(&mut self, number: usize, response: Response) -> Result<()> {
        if response.status() != 200 {
            return Err(self.core.parse_error(&self.what(), response));
        }
        let etag = response.header("etag").map(str::to_owned).ok_or_else(|| {
            Error::other(format!(
                "{}: the server gave no ETag for part {number}",
                self.what()
            ))
        })?;
        self.upload.as_mut().unwrap().parts[number - 1] = Some(etag);
        Ok(())
    }

    /// Adds `chunk` to the part being filled, sending each part as it
    /// fills. A part is allocated at exactly `part_size` and never grows,
    /// and the part being filled counts toward `upload_concurrency` with
    /// those in flight, so an upload holds `part_size × upload_concurrency`
    /// and no more. (Filling the next part while the last is answered keeps
    /// two requests overlapping even at the default of 2.)
    fn take_chunk(&mut self, chunk: Vec<u8>) -> Result<()> {
        let part_size = self.core.config.part_size;
        let concurrency = self.core.config.upload_concurrency;
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.buffer.capacity() < part_size {
                while self
                    .upload
                    .as_ref()
                    .is_some_and(|upload| upload.in_flight.len() >= concurrency)
                {
                    self.settle_oldest_part()?;
                }
                self.buffer.reserve_exact(part_size - self.buffer.len());
            }
            let n = rest.len().min(part_size - self.buffer.len());
            self.buffer.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buffer.len() == part_size {
                if self.upload.is_none() {
                    self.start_multipart()?;
                }
                let part = std::mem::take(&mut self.buffer);
                self.upload_part(part)?;
            }
        }
        Ok(())
    }

    fn complete(&mut self) -> Result<Option<String>> {
        while !self.upload.as_ref().unwrap().in_flight.is_empty() {
            self.settle_oldest_part()?;
        }
        let upload = self
            .upload
            .as_ref()
            .expect("a multipart upload was started");
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, etag) in upload.parts.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                escape_xml(etag.as_deref().expect("every part was settled"))
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let path = self.core.object_path(&self.key);
        let mut response = self.core.send(
            "POST",
            &path,
            &[("uploadId", upload.id.as_str())],
            &[],
            xml.as_bytes(),
        )?;
        if response.status() != 200 {
            return Err(self.core.parse_error(&self.what(), response));
        }
        // S3 may answer 200 and put an error in the body.
        let body = response.read_all(MAX_XML)?;
        if let (Some(code), message) = error_fields(&body) {
            if xml_text(&body, "ETag").is_none() {
                return Err(Error::unavailable(format!(
                    "{}: completing the upload failed: {code}: {}",
                    self.what(),
                    message.unwrap_or_default()
                )));
            }
        }
        Ok(xml_text(&body, "ETag"))
    }

    fn abort_upload(&mut self) -> Result<()> {
        let Some(mut upload) = self.upload.take() else {
            return Ok(());
        };
        // Answers to parts in flight no longer matter.
        upload.in_flight.clear();
        let path = self.core.object_path(&self.key);
        let response = self.core.send(
            "DELETE",
            &path,
            &[("uploadId", upload.id.as_str())],
            &[],
            b"",
        )?;
        match response.status() {
            200 | 204 | 404 => Ok(()),
            _ => Err(self
                .core
                .parse_error(&format!("abort {:?}", self.key), response)),
        }
    }

    fn finish_inner(&mut self) -> Result<ObjectMeta> {
        let etag = if self.upload.is_none() {
            let body = std::mem::take(&mut self.buffer);
            let path = self.core.object_path(&self.key);
            let response = self.core.send("PUT", &path, &[], &self.headers, &body)?;
            if response.status() != 200 {
                return Err(self.core.parse_error(&self.what(), response));
            }
            response.header("etag").map(str::to_owned)
        } else {
            if !self.buffer.is_empty() {
                let last = std::mem::take(&mut self.buffer);
                self.upload_part(last)?;
            }
            let etag = self.complete()?;
            self.upload = None;
            etag
        };
        Ok(ObjectMeta {
            key: self.key.clone(),
            size: self.written,
            last_modified: None,
            etag,
            content_type: self.content_type.clone(),
            metadata: Vec::new(),
        })
    }
}

impl S3Writer {
    /// Copies `source` (of `size` bytes) into this writer's key with a
    /// multipart upload whose parts the server copies itself
    /// (UploadPartCopy): how S3 copies objects above CopyObject's 5 GiB.
    pub fn copy_from(mut self, source: &str, size: u64) -> Result<ObjectMeta> {
        let result = self.copy_parts(source, size);
        if result.is_err() {
            let _ = self.abort_upload();
        }
        result
    }

    fn copy_parts(&mut self, source: &str, size: u64) -> Result<ObjectMeta> {
        self.start_multipart()?;
        let part_size = self.core.config.part_size as u64;
        let copy_source = self.core.copy_source(source);
        let path = self.core.object_path(&self.key);
        let mut offset = 0;
        while offset < size {
            let last = (offset + part_size).min(size) - 1;
            let (number, number_text, id) = self.next_part();
            let query = [
                ("partNumber", number_text.as_str()),
                ("uploadId", id.as_str()),
            ];
            let headers = vec![
                ("x-amz-copy-source".to_owned(), copy_source.clone()),
                (
                    "x-amz-copy-source-range".to_owned(),
                    format!("bytes={offset}-{last}"),
                ),
            ];
            let mut response = self.core.send("PUT", &path, &query, &headers, b"")?;
            if response.status() != 200 {
                return Err(self.core.parse_error(&self.what(), response));
            }
            let body = response.read_all(MAX_XML)?;
            let etag = xml_text(&body, "ETag").ok_or_else(|| {
                Error::other(format!(
                    "{}: the server gave no ETag for copied part {number}",
                    self.what()
                ))
            })?;
            self.upload.as_mut().unwrap().parts[number - 1] = Some(etag);
            offset = last + 1;
        }
        let etag = self.complete()?;
        self.upload = None;
        Ok(ObjectMeta {
            key: self.key.clone(),
            size,
            last_modified: None,
            etag,
            content_type: self.content_type.clone(),
            metadata: Vec::new(),
        })
    }
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
        let result = self.finish_inner();
        if result.is_err() {
            let _ = self.abort_upload();
        }
        result
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
