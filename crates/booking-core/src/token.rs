//! Reschedule tokens: the only credential an attendee needs to move, cancel or reconfirm.

use std::fmt;

use sha2::{Digest, Sha256};

/// Exactly 32 lowercase hex characters (128 bits from the OS CSPRNG, via a
/// [`TokenSource`](crate::ports::TokenSource)).
///
/// `Debug` does not print the token, so it cannot leak into logs by accident; use
/// [`RescheduleToken::expose`] where the link is really needed (an email, a page URL).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RescheduleToken(String);

/// A string that is not a well-formed token. Deliberately says nothing about the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed reschedule token")]
pub struct MalformedToken;

/// Number of hex characters in a token.
pub const TOKEN_LEN: usize = 32;

impl RescheduleToken {
    /// Accepts exactly 32 characters of `0-9a-f`.
    ///
    /// # Errors
    /// [`MalformedToken`] for anything else (upper case, other length, other characters).
    pub fn parse(text: &str) -> Result<Self, MalformedToken> {
        let ok = text.len() == TOKEN_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(MalformedToken)
        }
    }

    /// Encodes 16 random bytes as a token.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(TOKEN_LEN);
        for b in bytes {
            text.push(HEX[usize::from(b >> 4)] as char);
            text.push(HEX[usize::from(b & 0x0f)] as char);
        }
        Self(text)
    }

    /// The token's text, for building a link. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token: what stores index and look tokens up by, so a database dump
    /// does not hand out working links.
    pub fn lookup_hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for RescheduleToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RescheduleToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_32_lowercase_hex_chars_parse() {
        assert!(RescheduleToken::parse("0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef 123456789abcdef",
            "é123456789abcdef0123456789abcde",
        ] {
            assert_eq!(RescheduleToken::parse(bad), Err(MalformedToken), "{bad:?}");
        }
    }

    #[test]
    fn bytes_encode_to_a_parseable_token() {
        let t = RescheduleToken::from_bytes([0xab; 16]);
        assert_eq!(t.expose(), "abababababababababababababababab");
        assert_eq!(RescheduleToken::parse(t.expose()), Ok(t));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = RescheduleToken::from_bytes([0x5a; 16]);
        assert!(!format!("{t:?}").contains("5a5a"));
    }

    #[test]
    fn lookup_hash_is_sha256_of_the_text() {
        let t = RescheduleToken::parse("00000000000000000000000000000000").unwrap();
        let h = t.lookup_hash();
        // sha256("0" x 32), computed independently with `printf %032d 0 | sha256sum`.
        assert_eq!(h[0], 0x84);
        assert_eq!(h[31], 0x5a);
    }
}
