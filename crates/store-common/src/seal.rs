//! Reschedule tokens at rest: looked up by their SHA-256 hash, and kept sealed (ChaCha20-Poly1305)
//! for the messages that need the link again days later. A database dump alone opens nothing.

use std::fmt;

use booking_core::RescheduleToken;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::aead::Payload;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Length of the random nonce stored in front of each ciphertext.
const NONCE_LEN: usize = 12;

/// Separates this key from anything else derived from the same secret.
const KEY_LABEL: &[u8] = b"slotkeeper token seal v1\0";

/// Seals and opens tokens with a key derived from the application's secret.
///
/// A sealed token is `nonce (12 bytes) || ciphertext || tag`, with the booking's id as
/// associated data, so a sealed token copied onto another row does not open.
#[derive(Clone)]
pub struct TokenSeal {
    cipher: ChaCha20Poly1305,
}

/// A token could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The OS random source failed; no nonce, so nothing is sealed.
    #[error("the OS random number generator failed")]
    Random,
    /// Wrong key, wrong row, or tampered bytes.
    #[error("sealed token does not open (wrong secret key or corrupt data)")]
    Open,
}

impl TokenSeal {
    /// Derives the sealing key from the 32-byte secret (`SECRET_KEY`): SHA-256 over a fixed
    /// label and the secret. The secret has full entropy, so a hash is enough of a KDF; the
    /// label keeps the key apart from other keys made from the same secret.
    pub fn new(secret: [u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(KEY_LABEL);
        hasher.update(secret);
        let key: [u8; 32] = hasher.finalize().into();
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// Seals `token` for the row `booking`.
    ///
    /// # Errors
    /// [`SealError::Random`] when no nonce can be drawn.
    pub fn seal(&self, booking: Uuid, token: &RescheduleToken) -> Result<Vec<u8>, SealError> {
        self.seal_bytes(token.expose().as_bytes(), booking.as_bytes())
    }

    /// Opens a token sealed for the row `booking`.
    ///
    /// # Errors
    /// [`SealError::Open`] for another key, another row, or damaged bytes.
    pub fn open(&self, booking: Uuid, sealed: &[u8]) -> Result<RescheduleToken, SealError> {
        let text = String::from_utf8(self.open_bytes(sealed, booking.as_bytes())?)
            .map_err(|_| SealError::Open)?;
        RescheduleToken::parse(&text).map_err(|_| SealError::Open)
    }

    /// Seals another secret (an OAuth token, a channel secret) kept in column `column` of the
    /// row `row`: the row id and the column name are associated data, so a sealed value moved
    /// to another row or column does not open.
    ///
    /// # Errors
    /// [`SealError::Random`] when no nonce can be drawn.
    pub fn seal_text(&self, row: Uuid, column: &str, text: &str) -> Result<Vec<u8>, SealError> {
        self.seal_bytes(text.as_bytes(), &aad(row, column))
    }

    /// Opens what [`TokenSeal::seal_text`] sealed for the same row and column.
    ///
    /// # Errors
    /// [`SealError::Open`] for another key, row or column, or damaged bytes.
    pub fn open_text(&self, row: Uuid, column: &str, sealed: &[u8]) -> Result<String, SealError> {
        String::from_utf8(self.open_bytes(sealed, &aad(row, column))?).map_err(|_| SealError::Open)
    }

    fn seal_bytes(&self, msg: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg, aad })
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open_bytes(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() <= NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, msg) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Open)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg, aad })
            .map_err(|_| SealError::Open)
    }
}

/// Associated data of a sealed column value: the row id, a NUL, the column name.
fn aad(row: Uuid, column: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(17 + column.len());
    aad.extend_from_slice(row.as_bytes());
    aad.push(0);
    aad.extend_from_slice(column.as_bytes());
    aad
}

impl fmt::Debug for TokenSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSeal(<key redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> RescheduleToken {
        RescheduleToken::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn sealed_tokens_open_only_for_their_row_and_key() {
        let seal = TokenSeal::new([7; 32]);
        let row = Uuid::from_u128(1);
        let sealed = seal.seal(row, &token()).unwrap();
        assert!(
            !sealed.windows(32).any(|w| w == token().expose().as_bytes()),
            "plaintext at rest"
        );
        assert_eq!(seal.open(row, &sealed), Ok(token()));
        assert_eq!(seal.open(Uuid::from_u128(2), &sealed), Err(SealError::Open));
        assert_eq!(
            TokenSeal::new([8; 32]).open(row, &sealed),
            Err(SealError::Open)
        );
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert_eq!(seal.open(row, &tampered), Err(SealError::Open));
        assert_eq!(seal.open(row, &sealed[..5]), Err(SealError::Open));
    }

    #[test]
    fn sealed_text_opens_only_for_its_row_and_column() {
        let seal = TokenSeal::new([7; 32]);
        let row = Uuid::from_u128(1);
        let sealed = seal.seal_text(row, "access_token", "ya29.secret").unwrap();
        assert!(
            !sealed.windows(11).any(|w| w == b"ya29.secret"),
            "plaintext at rest"
        );
        assert_eq!(
            seal.open_text(row, "access_token", &sealed).as_deref(),
            Ok("ya29.secret")
        );
        assert_eq!(
            seal.open_text(row, "refresh_token", &sealed),
            Err(SealError::Open)
        );
        assert_eq!(
            seal.open_text(Uuid::from_u128(2), "access_token", &sealed),
            Err(SealError::Open)
        );
        assert_eq!(seal.open(row, &sealed), Err(SealError::Open));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let seal = TokenSeal::new([7; 32]);
        let row = Uuid::from_u128(1);
        assert_ne!(
            seal.seal(row, &token()).unwrap(),
            seal.seal(row, &token()).unwrap()
        );
    }
}
