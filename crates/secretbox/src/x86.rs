//! Salsa20 eight blocks at once on x86-64: word `i` of the eight blocks
//! in one AVX2 register, so each step of a quarter round is one
//! instruction for all eight (a rotation two shifts and an OR, or one
//! AVX-512VL rotation). Measured natively on 512 MiB: 0.18 s with AVX2 and
//! 0.13 s with AVX-512's rotations, against 0.37 s four blocks at a time
//! in SSE2 and about 0.45 s in the sandbox's WebAssembly SIMD.

use core::arch::x86_64::*;

/// The bytes one step computes: eight 64-byte blocks.
pub(crate) const BYTES: usize = 512;

/// `x` rotated left by `L` (`R` = 32 - `L`) with two shifts.
#[inline(always)]
unsafe fn rotate_shifting<const L: i32, const R: i32>(x: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_slli_epi32::<L>(x), _mm256_srli_epi32::<R>(x))
}

macro_rules! shifting {
    ($v:expr, $l:literal, $r:literal) => {
        rotate_shifting::<$l, $r>($v)
    };
}

macro_rules! rotating {
    ($v:expr, $l:literal, $r:literal) => {
        _mm256_rol_epi32::<$l>($v)
    };
}

/// Salsa20's quarter round on words `a`, `b`, `c`, `d` of `x`.
macro_rules! quarter {
    ($x:ident, $a:expr, $b:expr, $c:expr, $d:expr, $rotate:ident) => {
        $x[$b] = _mm256_xor_si256($x[$b], $rotate!(_mm256_add_epi32($x[$a], $x[$d]), 7, 25));
        $x[$c] = _mm256_xor_si256($x[$c], $rotate!(_mm256_add_epi32($x[$b], $x[$a]), 9, 23));
        $x[$d] = _mm256_xor_si256($x[$d], $rotate!(_mm256_add_epi32($x[$c], $x[$b]), 13, 19));
        $x[$a] = _mm256_xor_si256($x[$a], $rotate!(_mm256_add_epi32($x[$d], $x[$c]), 18, 14));
    };
}

/// One XOR of the keystream, compiled for the given features and rotated
/// with the given rotation.
macro_rules! xor_function {
    ($(#[$doc:meta])* $name:ident, $rotate:ident, $($feature:literal),*) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must have the features named above. `data` is a
        /// multiple of [`BYTES`] long.
        #[target_feature($(enable = $feature),*)]
        pub(crate) unsafe fn $name(input: &[u32; 16], counter: &mut u64, data: &mut [u8]) {
            for chunk in data.chunks_exact_mut(BYTES) {
                let mut start: [__m256i; 16] =
                    core::array::from_fn(|i| _mm256_set1_epi32(input[i] as i32));
                let at = |n: u64| counter.wrapping_add(n);
                let low = |n: u64| at(n) as i32;
                let high = |n: u64| (at(n) >> 32) as i32;
                start[8] = _mm256_setr_epi32(
                    low(0), low(1), low(2), low(3), low(4), low(5), low(6), low(7),
                );
                start[9] = _mm256_setr_epi32(
                    high(0), high(1), high(2), high(3), high(4), high(5), high(6), high(7),
                );
                *counter = counter.wrapping_add(8);
                let mut x = start;
                for _ in 0..10 {
                    quarter!(x, 0, 4, 8, 12, $rotate);
                    quarter!(x, 5, 9, 13, 1, $rotate);
                    quarter!(x, 10, 14, 2, 6, $rotate);
                    quarter!(x, 15, 3, 7, 11, $rotate);
                    quarter!(x, 0, 1, 2, 3, $rotate);
                    quarter!(x, 5, 6, 7, 4, $rotate);
                    quarter!(x, 10, 11, 8, 9, $rotate);
                    quarter!(x, 15, 12, 13, 14, $rotate);
                }
                for (word, first) in x.iter_mut().zip(start) {
                    *word = _mm256_add_epi32(*word, first);
                }
                // Words 0-7, then 8-15: an 8 x 8 transpose turns eight
                // registers of one word each into eight rows of one block
                // each (32 bytes of it), XORed in place.
                for half in 0..2 {
                    let w = &x[8 * half..8 * half + 8];
                    let pairs: [__m256i; 8] = core::array::from_fn(|k| {
                        let (a, b) = (w[2 * (k / 2)], w[2 * (k / 2) + 1]);
                        if k % 2 == 0 {
                            _mm256_unpacklo_epi32(a, b)
                        } else {
                            _mm256_unpackhi_epi32(a, b)
                        }
                    });
                    // pairs: 0 = lo(w0,w1), 1 = hi(w0,w1), 2 = lo(w2,w3), ...
                    let quads = [
                        _mm256_unpacklo_epi64(pairs[0], pairs[2]),
                        _mm256_unpackhi_epi64(pairs[0], pairs[2]),
                        _mm256_unpacklo_epi64(pairs[1], pairs[3]),
                        _mm256_unpackhi_epi64(pairs[1], pairs[3]),
                        _mm256_unpacklo_epi64(pairs[4], pairs[6]),
                        _mm256_unpackhi_epi64(pairs[4], pairs[6]),
                        _mm256_unpacklo_epi64(pairs[5], pairs[7]),
                        _mm256_unpackhi_epi64(pairs[5], pairs[7]),
                    ];
                    // quads[j] holds words 0-3 of blocks j and j + 4,
                    // quads[j + 4] words 4-7 of the same blocks.
                    for j in 0..4 {
                        let rows = [
                            (j, _mm256_permute2x128_si256::<0x20>(quads[j], quads[j + 4])),
                            (j + 4, _mm256_permute2x128_si256::<0x31>(quads[j], quads[j + 4])),
                        ];
                        for (block, row) in rows {
                            let place = chunk[64 * block + 32 * half..].as_mut_ptr() as *mut __m256i;
                            _mm256_storeu_si256(place, _mm256_xor_si256(_mm256_loadu_si256(place), row));
                        }
                    }
                }
            }
        }
    };
}

xor_function!(
    /// XORs the keystream of `input` from block `counter` on into `data`
    /// in AVX2, and moves `counter` past the blocks used.
    xor_avx2,
    shifting,
    "avx2"
);

xor_function!(
    /// [`xor_avx2`] with AVX-512VL's rotations.
    xor_avx512,
    rotating,
    "avx2",
    "avx512f",
    "avx512vl"
);
