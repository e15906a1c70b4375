//! Helpers for moving chunks between `std::io` and the contract.

use std::io::{ErrorKind, Read};

/// Reads up to `max` bytes from `source`, retrying short reads so a chunk is
/// full unless the source ends; returns an empty vector at the end.
///
/// Full chunks matter: every chunk crosses the component boundary once, so
/// fewer, larger chunks are cheaper than many small ones.
pub fn read_chunk(source: &mut impl Read, max: usize) -> std::io::Result<Vec<u8>> {
    let mut chunk = vec![0; max];
    let mut filled = 0;
    while filled < max {
        match source.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    chunk.truncate(filled);
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_chunks_until_the_end() {
        let mut source: &[u8] = b"abcdefg";
        assert_eq!(read_chunk(&mut source, 3).unwrap(), b"abc");
        assert_eq!(read_chunk(&mut source, 3).unwrap(), b"def");
        assert_eq!(read_chunk(&mut source, 3).unwrap(), b"g");
        assert!(read_chunk(&mut source, 3).unwrap().is_empty());
    }
}
