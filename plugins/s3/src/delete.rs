//! Deleting: one key with DeleteObject, many with DeleteObjects
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>),
//! up to 1,000 keys in one request, S3's limit and the contract's.

use std::collections::HashMap;

use wharf_plugin::{Error, Result};

use crate::core::{S3Core, MAX_XML};
use crate::error::{error_fields, failure_of, to_error, S3Failure};

/// S3 takes at most this many keys in one DeleteObjects request.
const BATCH: usize = 1000;

/// DeleteObject of `key`; a missing key is not an error.
pub fn delete(core: &S3Core, key: &str) -> Result<()> {
    let response = core.send("DELETE", &core.object_path(key), &[], &[], b"")?;
    match response.status() {
        200 | 204 | 404 => Ok(()),
        _ => Err(core.parse_error(&format!("delete {key:?}"), response)),
    }
}

/// Deletes `keys` with as few requests as S3 allows, one result per key in
/// order. Keys XML cannot carry (control characters) and servers without
/// DeleteObjects fall back to one DeleteObject per key.
pub fn delete_many(core: &S3Core, keys: &[&str]) -> Vec<Result<()>> {
    let mut results: Vec<Option<Result<()>>> = keys.iter().map(|_| None).collect();
    let (batchable, alone): (Vec<usize>, Vec<usize>) =
        (0..keys.len()).partition(|&i| xml_can_carry(keys[i]));
    for indices in batchable.chunks(BATCH) {
        if indices.len() == 1 {
            results[indices[0]] = Some(delete(core, keys[indices[0]]));
            continue;
        }
        let batch: Vec<&str> = indices.iter().map(|&i| keys[i]).collect();
        match delete_objects(core, &batch) {
            Ok(mut refused) => {
                for (&i, key) in indices.iter().zip(&batch) {
                    let result = match refused.remove(&core.full_key(key)) {
                        // Gone already: what a delete wants.
                        Some(failure) if failure.code.as_deref() == Some("NoSuchKey") => Ok(()),
                        Some(failure) => {
                            Err(to_error(&core.config, &format!("delete {key:?}"), failure))
                        }
                        None => Ok(()),
                    };
                    results[i] = Some(result);
                }
            }
            Err(BatchFailed::NotImplemented) => {
                for (&i, key) in indices.iter().zip(&batch) {
                    results[i] = Some(delete(core, key));
                }
            }
            Err(BatchFailed::Transport(error)) => {
                for &i in indices {
                    results[i] = Some(Err(error.clone()));
                }
            }
            Err(BatchFailed::Failed(failure)) => {
                let what = format!("delete {} keys in one request", batch.len());
                for &i in indices {
                    results[i] = Some(Err(to_error(&core.config, &what, failure.clone())));
                }
            }
        }
    }
    for i in alone {
        results[i] = Some(delete(core, keys[i]));
    }
    results
        .into_iter()
        .map(|result| result.expect("every key has a result"))
        .collect()
}

/// Why a DeleteObjects request deleted nothing.
enum BatchFailed {
    /// The server does not have the call (some S3-compatibles).
    NotImplemented,
    /// The server refused the request as a whole: every key failed with it.
    Failed(S3Failure),
    /// No answer came (or the sandbox refused the request): every key
    /// failed with this error.
    Transport(Error),
}

/// One DeleteObjects request in quiet mode. Returns the keys (as stored,
/// with the configured prefix) the server refused, each with its failure;
/// every other key is deleted.
fn delete_objects(
    core: &S3Core,
    keys: &[&str],
) -> std::result::Result<HashMap<String, S3Failure>, BatchFailed> {
    let body = delete_request_body(keys.iter().map(|key| core.full_key(key)));
    let headers = vec![
        ("content-type".to_owned(), "application/xml".to_owned()),
        // S3 requires an integrity check on this call, Content-MD5 being
        // the one every S3-compatible knows.
        ("content-md5".to_owned(), base64(&wharf_md5::digest(&body))),
    ];
    let mut response = core
        .send(
            "POST",
            &core.bucket_path(),
            &[("delete", "")],
            &headers,
            &body,
        )
        .map_err(BatchFailed::Transport)?;
    if response.status() != 200 {
        let failure = failure_of(response);
        if failure.status == Some(501) || failure.code.as_deref() == Some("NotImplemented") {
            return Err(BatchFailed::NotImplemented);
        }
        return Err(BatchFailed::Failed(failure));
    }
    let body = response.read_all(MAX_XML).map_err(BatchFailed::Transport)?;
    parse_delete_result(&body).map_err(BatchFailed::Failed)
}

/// `<Delete>` in quiet mode: the answer lists only the keys that failed.
fn delete_request_body(full_keys: impl Iterator<Item = String>) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>",
    );
    for key in full_keys {
        xml.push_str("<Object><Key>");
        escape_xml(&key, &mut xml);
        xml.push_str("</Key></Object>");
    }
    xml.push_str("</Delete>");
    xml.into_bytes()
}

/// The `<Error>` entries of a `<DeleteResult>`, by key. A 200 answer whose
/// body is an `<Error>` failed as a whole (S3 does that on some failures).
fn parse_delete_result(body: &[u8]) -> std::result::Result<HashMap<String, S3Failure>, S3Failure> {
    let unreadable = |why: &str| S3Failure {
        status: Some(200),
        code: Some("MalformedAnswer".to_owned()),
        message: Some(format!("the DeleteObjects answer {why}")),
        retry_after_ms: None,
    };
    let text = std::str::from_utf8(body).map_err(|_| unreadable("is not UTF-8"))?;
    let doc =
        roxmltree::Document::parse(text).map_err(|e| unreadable(&format!("is not XML ({e})")))?;
    let root = doc.root_element();
    if root.has_tag_name("Error") {
        let (code, message) = error_fields(body);
        return Err(S3Failure {
            status: Some(200),
            code,
            message,
            retry_after_ms: None,
        });
    }
    if !root.has_tag_name("DeleteResult") {
        return Err(unreadable(&format!(
            "is <{}>, not <DeleteResult>",
            root.tag_name().name()
        )));
    }
    let mut refused = HashMap::new();
    for entry in root.children().filter(|n| n.has_tag_name("Error")) {
        let field = |name: &str| {
            entry
                .children()
                .find(|n| n.has_tag_name(name))
                .map(|n| n.text().unwrap_or_default().to_owned())
        };
        if let Some(key) = field("Key") {
            refused.insert(
                key,
                S3Failure {
                    status: None,
                    code: field("Code"),
                    message: field("Message"),
                    retry_after_ms: None,
                },
            );
        }
    }
    Ok(refused)
}

/// Whether XML 1.0 can carry `key`: it has no character references for
/// most control characters, so keys with them are deleted one at a time.
/// (Tab, newline and carriage return could be escaped, but servers have
/// been seen to normalise them; one at a time is always right.)
fn xml_can_carry(key: &str) -> bool {
    !key.chars().any(|c| c.is_control())
}

/// Escapes the five XML specials.
fn escape_xml(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
}

/// Standard base64 with padding (RFC 4648), for Content-MD5.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn the_request_escapes_keys() {
        let body = delete_request_body(["a&b", "<c>/\"d'"].into_iter().map(String::from));
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("<Quiet>true</Quiet>"));
        assert!(text.contains("<Object><Key>a&amp;b</Key></Object>"));
        assert!(text.contains("<Key>&lt;c&gt;/&quot;d&apos;</Key>"));
        let doc = roxmltree::Document::parse(&text).unwrap();
        let keys: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("Key"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(keys, ["a&b", "<c>/\"d'"]);
    }

    #[test]
    fn control_characters_go_one_at_a_time() {
        assert!(xml_can_carry("a b/ü/%&<"));
        assert!(!xml_can_carry("a\u{1}b"));
        assert!(!xml_can_carry("tab\there"));
    }

    #[test]
    fn the_answer_names_the_refused_keys() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>p/ok</Key></Deleted>
  <Error><Key>p/a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>"#;
        let refused = parse_delete_result(body).unwrap_or_else(|_| panic!("parses"));
        assert_eq!(refused.len(), 1);
        let failure = &refused["p/a&b"];
        assert_eq!(failure.code.as_deref(), Some("AccessDenied"));
        assert_eq!(failure.message.as_deref(), Some("Access Denied"));

        let whole = b"<Error><Code>InternalError</Code><Message>x</Message></Error>";
        let Err(failure) = parse_delete_result(whole) else {
            panic!("an <Error> answer fails the batch")
        };
        assert_eq!(failure.code.as_deref(), Some("InternalError"));
        assert!(parse_delete_result(b"<ListBucketResult/>").is_err());
    }
}
