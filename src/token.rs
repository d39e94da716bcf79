//! API tokens: generation, checksum, hashing.
//!
//! A token is `kd_` + 32 base62 characters drawn from the OS CSPRNG + a 6-character base62
//! CRC32 of those 32 characters. The checksum lets both sides reject a mistyped or truncated
//! token before touching the store, and the prefix makes leaked tokens easy to grep for.
//! The server only ever stores [`hash`] of a token and its [`display_prefix`].

use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// Every token we mint starts with this.
pub const PREFIX: &str = "kd_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// Total length of a token we mint.
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a well-formed keydeck token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("token has the wrong length or characters")]
    Malformed,
    #[error("token checksum does not match (mistyped or truncated?)")]
    BadChecksum,
}

/// Mints a new token from the operating system's CSPRNG.
pub fn generate() -> Result<String, rand::rand_core::OsError> {
    let mut random = String::with_capacity(RANDOM_LEN);
    let mut rng = OsRng;
    while random.len() < RANDOM_LEN {
        let mut byte = [0u8; 1];
        rng.try_fill_bytes(&mut byte)?;
        // Rejection sampling keeps every character equally likely: 248 = 62 * 4.
        if byte[0] < 248 {
            random.push(ALPHABET[(byte[0] % 62) as usize] as char);
        }
    }
    let checksum = checksum(&random);
    Ok(format!("{PREFIX}{random}{checksum}"))
}

fn checksum(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

/// Whether the token claims to be one of ours (and so must pass [`verify_format`]).
pub fn is_keydeck_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// Checks length, alphabet and checksum of a `kd_` token, without any lookup.
pub fn verify_format(token: &str) -> Result<(), TokenFormatError> {
    let body = token
        .strip_prefix(PREFIX)
        .ok_or(TokenFormatError::Malformed)?;
    if body.len() != RANDOM_LEN + CHECKSUM_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(TokenFormatError::Malformed);
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    if checksum(random) != sum {
        return Err(TokenFormatError::BadChecksum);
    }
    Ok(())
}

/// SHA-256 of the token, lower-case hex: the only form the server stores.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `s` looks like a [`hash`]: 64 hexadecimal characters.
pub fn is_valid_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The short, non-secret beginning of a token shown in listings (`kd_AbC123`).
pub fn display_prefix(token: &str) -> String {
    token
        .chars()
        .take(PREFIX.len() + PRINTED_RANDOM_CHARS)
        .collect()
}

/// How many characters after `kd_` the printed (and stored) prefix of a token shows.
pub const PRINTED_RANDOM_CHARS: usize = 6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_verify_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
        verify_format(&a).unwrap();
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let token = generate().unwrap();
        let mut bytes = token.clone().into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).unwrap();
        assert_eq!(verify_format(&changed), Err(TokenFormatError::BadChecksum));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        assert_eq!(verify_format("kd_short"), Err(TokenFormatError::Malformed));
        assert_eq!(verify_format("xx_abc"), Err(TokenFormatError::Malformed));
        let token = generate().unwrap();
        let with_dash = token.replacen('A', "-", 1).replacen('0', "-", 1);
        if with_dash != token {
            assert!(verify_format(&with_dash).is_err());
        }
    }

    /// A token built the way [`generate`] builds one, from a body proptest chooses.
    fn token_from(random: &str) -> String {
        format!("{PREFIX}{random}{}", checksum(random))
    }

    proptest::proptest! {
        #[test]
        fn every_well_formed_token_verifies(random in "[0-9A-Za-z]{32}") {
            proptest::prop_assert_eq!(verify_format(&token_from(&random)), Ok(()));
        }

        /// CRC32 catches every single-byte change, and its base62 form is one-to-one
        /// (62^6 > 2^32), so no substitution anywhere in body or checksum slips through.
        #[test]
        fn any_single_changed_character_fails(
            random in "[0-9A-Za-z]{32}",
            at in 0..RANDOM_LEN + CHECKSUM_LEN,
            replacement in proptest::sample::select(ALPHABET.to_vec()),
        ) {
            let token = token_from(&random);
            let mut bytes = token.clone().into_bytes();
            proptest::prop_assume!(bytes[PREFIX.len() + at] != replacement);
            bytes[PREFIX.len() + at] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            proptest::prop_assert_eq!(verify_format(&changed), Err(TokenFormatError::BadChecksum));
        }

        #[test]
        fn verify_never_panics(s in "\\PC*", tail in "kd_[0-9A-Za-z_\\-]{30,45}") {
            let _ = verify_format(&s);
            let _ = verify_format(&tail);
        }
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_valid_hash(&hash("x")));
        assert!(!is_valid_hash("xyz"));
        assert_eq!(display_prefix("kd_ABCDEFGHIJ"), "kd_ABCDEF");
    }
}
