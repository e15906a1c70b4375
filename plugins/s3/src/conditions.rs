//! Whether the server honours `If-None-Match: *` on a PUT. A server that
//! ignores the header (older S3-compatibles do) would let a create-only
//! write replace an object without a word, so it is not trusted: the first
//! create-only write of a store probes it once, with an object of its own.

use std::cell::RefCell;
use std::hash::{BuildHasher, RandomState};

use wharf_plugin::{Error, Result};

use crate::core::S3Core;

/// What the probe found: `None` until it ran; `Some(Err(why))` when the
/// server ignores the condition.
pub type Honoured = RefCell<Option<std::result::Result<(), String>>>;

/// Fails with `unsupported` unless the server refuses a second create-only
/// PUT of one key.
pub fn check_honoured(core: &S3Core, known: &Honoured) -> Result<()> {
    if let Some(known) = known.borrow().clone() {
        return known.map_err(Error::unsupported);
    }
    // RandomState draws from the WASI random source.
    let probe = format!(".wharf-probe-{:016x}", RandomState::new().hash_one("probe"));
    let path = core.object_path(&probe);
    let condition = [("if-none-match".to_owned(), "*".to_owned())];
    let what = format!("probe {probe:?} (checking that the server honours If-None-Match)");
    let first = core.send("PUT", &path, &[], &condition, b"")?;
    if first.status() != 200 {
        return Err(core.parse_error(&what, first));
    }
    let second = core.send("PUT", &path, &[], &condition, b"");
    let _ = core.send("DELETE", &path, &[], &[], b"");
    let answer = match second?.status() {
        412 => Ok(()),
        200 => Err(format!(
            "the server at {} ignores If-None-Match: * (it replaced an object that a \
             create-only write must not replace), so this store cannot promise that a write \
             only creates; write without that condition, or use a server that supports \
             conditional writes (AWS S3, Cloudflare R2, recent MinIO)",
            core.config.authority
        )),
        status => {
            return Err(Error::unavailable(format!(
                "{what}: the second PUT got HTTP {status}"
            )))
        }
    };
    *known.borrow_mut() = Some(answer.clone());
    answer.map_err(Error::unsupported)
}
