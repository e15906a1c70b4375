//! Salsa20 without vector instructions: four blocks at once, word `i` of
//! the four side by side in an array (which compilers keep in vector
//! registers where they can), and one block alone for HSalsa20.

/// What Salsa20's rounds work on: one word, or the same word of several
/// blocks.
pub(crate) trait Word: Copy {
    fn add(self, other: Self) -> Self;
    fn xor(self, other: Self) -> Self;
    fn rotate_left<const N: u32>(self) -> Self;
}

impl Word for u32 {
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        self ^ other
    }
    #[inline(always)]
    fn rotate_left<const N: u32>(self) -> Self {
        u32::rotate_left(self, N)
    }
}

/// The same word of four blocks.
#[derive(Clone, Copy)]
struct Quad([u32; 4]);

impl Word for Quad {
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Quad([0, 1, 2, 3].map(|j| self.0[j].wrapping_add(other.0[j])))
    }
    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        Quad([0, 1, 2, 3].map(|j| self.0[j] ^ other.0[j]))
    }
    #[inline(always)]
    fn rotate_left<const N: u32>(self) -> Self {
        Quad(self.0.map(|w| w.rotate_left(N)))
    }
}

/// Salsa20's quarter round, on words `a`, `b`, `c`, `d` of `x`.
#[inline(always)]
fn quarter<W: Word>(x: &mut [W; 16], a: usize, b: usize, c: usize, d: usize) {
    x[b] = x[b].xor(x[a].add(x[d]).rotate_left::<7>());
    x[c] = x[c].xor(x[b].add(x[a]).rotate_left::<9>());
    x[d] = x[d].xor(x[c].add(x[b]).rotate_left::<13>());
    x[a] = x[a].xor(x[d].add(x[c]).rotate_left::<18>());
}

/// Salsa20's 20 rounds (10 double rounds: columns, then rows).
#[inline(always)]
fn rounds<W: Word>(x: &mut [W; 16]) {
    for _ in 0..10 {
        quarter(x, 0, 4, 8, 12);
        quarter(x, 5, 9, 13, 1);
        quarter(x, 10, 14, 2, 6);
        quarter(x, 15, 3, 7, 11);
        quarter(x, 0, 1, 2, 3);
        quarter(x, 5, 6, 7, 4);
        quarter(x, 10, 11, 8, 9);
        quarter(x, 15, 12, 13, 14);
    }
}

/// The 20 rounds of one block, without the final addition (HSalsa20
/// takes its output words from here).
pub(crate) fn rounds_of(mut x: [u32; 16]) -> [u32; 16] {
    rounds(&mut x);
    x
}

/// XORs the keystream of `input` from block `counter` on into `data`, and
/// moves `counter` past the blocks used (a short end uses a whole one).
pub(crate) fn xor(input: &[u32; 16], counter: &mut u64, data: &mut [u8]) {
    let mut chunks = data.chunks_exact_mut(256);
    for chunk in &mut chunks {
        xor_four(input, counter, chunk.try_into().expect("256 bytes"));
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 256];
        last[..rest.len()].copy_from_slice(rest);
        xor_four(input, counter, &mut last);
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// XORs the next four blocks (256 bytes) into `out`.
fn xor_four(input: &[u32; 16], counter: &mut u64, out: &mut [u8; 256]) {
    let at = |n: u64| counter.wrapping_add(n);
    let mut start = input.map(|w| Quad([w; 4]));
    start[8] = Quad([0, 1, 2, 3].map(|n| at(n) as u32));
    start[9] = Quad([0, 1, 2, 3].map(|n| (at(n) >> 32) as u32));
    *counter = counter.wrapping_add(4);
    let mut x = start;
    rounds(&mut x);
    for (block, bytes) in out.chunks_exact_mut(64).enumerate() {
        for ((word, first), place) in x.iter().zip(&start).zip(bytes.chunks_exact_mut(4)) {
            let stream = word.0[block].wrapping_add(first.0[block]);
            let mine = u32::from_le_bytes(place.try_into().expect("4")) ^ stream;
            place.copy_from_slice(&mine.to_le_bytes());
        }
    }
}
