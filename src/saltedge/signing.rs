//! RSA-SHA256 (PKCS#1 v1.5) request signing and callback verification, with ring.
//!
//! * Requests: `Signature = base64(sign("{Expires-at}|{METHOD}|{full URL}|{body}"))`.
//! * Callbacks: `Signature` header verified over `"{callback_url}|{body}"` with Salt Edge's
//!   (or the sandbox's) public key.
//!
//! PEM is decoded here (a few lines of base64) so no PEM crate is needed. Private keys may be
//! PKCS#8 (`BEGIN PRIVATE KEY`, what `openssl genrsa` writes on OpenSSL 3) or PKCS#1
//! (`BEGIN RSA PRIVATE KEY`); public keys SPKI (`BEGIN PUBLIC KEY`) or PKCS#1
//! (`BEGIN RSA PUBLIC KEY`).

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair};

/// Why a key could not be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block found")]
    NoPemBlock,
    #[error("PEM block `{0}` is not an RSA key this client understands")]
    UnsupportedPemLabel(String),
    #[error("PEM body is not valid base64")]
    BadBase64,
    #[error("key is not a valid RSA key: {0}")]
    Rejected(String),
    #[error("signing failed")]
    SigningFailed,
}

/// A decoded PEM block: its label (`PRIVATE KEY`, `PUBLIC KEY`, …) and DER bytes.
struct PemBlock {
    label: String,
    der: Vec<u8>,
}

/// Decodes the first PEM block of `pem`.
fn decode_pem(pem: &str) -> Result<PemBlock, KeyError> {
    let mut label: Option<String> = None;
    let mut body = String::new();
    for line in pem.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            label = Some(rest.trim_end_matches('-').trim().to_string());
            body.clear();
        } else if line.starts_with("-----END ") {
            if let Some(label) = label {
                let der = BASE64.decode(body.as_bytes()).map_err(|_| KeyError::BadBase64)?;
                return Ok(PemBlock { label, der });
            }
        } else if label.is_some() && !line.contains(':') {
            // Lines with ':' are RFC 1421 headers (`Proc-Type: …`), not base64.
            body.push_str(line);
        }
    }
    Err(KeyError::NoPemBlock)
}

/// An RSA private key ready to sign. `Debug` never shows the key.
pub struct RsaSigner {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaSigner")
            .field("modulus_bits", &(self.key.public().modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// Parses a PKCS#8 or PKCS#1 RSA private key in PEM form.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let block = decode_pem(pem)?;
        let key = match block.label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&block.der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&block.der),
            other => return Err(KeyError::UnsupportedPemLabel(other.to_string())),
        }
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(RsaSigner { key, rng: SystemRandom::new() })
    }

    /// RSA-PKCS1v1.5-SHA256 signature of `message`, base64 (standard alphabet, padded).
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, KeyError> {
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| KeyError::SigningFailed)?;
        Ok(BASE64.encode(signature))
    }
}

/// The string Salt Edge signs for a request: `"{expires_at}|{METHOD}|{url}|{body}"`.
pub fn request_string_to_sign(expires_at: i64, method: &str, url: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{expires_at}|{}|{url}|", method.to_ascii_uppercase()).into_bytes();
    message.extend_from_slice(body);
    message
}

/// The string signed for a callback: `"{callback_url}|{body}"`.
pub fn callback_string_to_sign(callback_url: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{callback_url}|").into_bytes();
    message.extend_from_slice(body);
    message
}

/// Signs `message` with a PEM private key and returns base64. Used by the sandbox for callbacks
/// and by tests; the client keeps a parsed [`RsaSigner`] instead.
pub fn sign(private_key_pem: &str, message: &[u8]) -> Result<String, KeyError> {
    RsaSigner::from_pem(private_key_pem)?.sign_base64(message)
}

/// Converts a public key PEM (SPKI or PKCS#1) to the PKCS#1 `RSAPublicKey` DER that ring's
/// `RSA_PKCS1_*` verification algorithms expect.
pub fn rsa_public_key_der(public_key_pem: &str) -> Result<Vec<u8>, KeyError> {
    let block = decode_pem(public_key_pem)?;
    match block.label.as_str() {
        "RSA PUBLIC KEY" => Ok(block.der),
        "PUBLIC KEY" => spki_to_pkcs1(&block.der),
        other => Err(KeyError::UnsupportedPemLabel(other.to_string())),
    }
}

/// Verifies a base64 RSA-PKCS1v1.5-SHA256 signature of `message`.
pub fn verify(public_key_pem: &str, message: &[u8], signature_b64: &str) -> bool {
    let Ok(public_key) = rsa_public_key_der(public_key_pem) else {
        return false;
    };
    let Ok(signature_bytes) = BASE64.decode(signature_b64.trim().as_bytes()) else {
        return false;
    };
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(message, &signature_bytes)
        .is_ok()
}

/// Checks a Salt Edge callback: `signature_b64` (the `Signature` header) must be a valid
/// RSA-SHA256 signature of `"{callback_url}|{body}"` under `public_key_pem`.
/// An empty or malformed signature, or an unusable key, is simply "not valid".
pub fn verify_callback(public_key_pem: &str, callback_url: &str, body: &[u8], signature_b64: &str) -> bool {
    if signature_b64.trim().is_empty() {
        return false;
    }
    verify(public_key_pem, &callback_string_to_sign(callback_url, body), signature_b64)
}

// --- minimal DER reading, just enough for SubjectPublicKeyInfo ---

/// Reads one DER TLV at the start of `input`: returns (tag, contents, rest).
fn der_read(input: &[u8]) -> Result<(u8, &[u8], &[u8]), KeyError> {
    let bad = || KeyError::Rejected("malformed DER".to_string());
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    let (&first_len, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first_len < 0x80 {
        usize::from(first_len)
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(bad());
        }
        let mut len = 0usize;
        for &byte in &rest[..count] {
            len = (len << 8) | usize::from(byte);
        }
        rest = &rest[count..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }`
/// → the BIT STRING's contents, which for RSA is the PKCS#1 `RSAPublicKey`.
fn spki_to_pkcs1(spki: &[u8]) -> Result<Vec<u8>, KeyError> {
    const SEQUENCE: u8 = 0x30;
    const BIT_STRING: u8 = 0x03;
    // rsaEncryption OID 1.2.840.113549.1.1.1
    const RSA_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (tag, spki_body, _) = der_read(spki)?;
    if tag != SEQUENCE {
        return Err(KeyError::Rejected("SPKI is not a SEQUENCE".into()));
    }
    let (tag, algorithm, rest) = der_read(spki_body)?;
    if tag != SEQUENCE || !algorithm.starts_with(RSA_OID) {
        return Err(KeyError::Rejected("public key is not RSA".into()));
    }
    let (tag, bits, _) = der_read(rest)?;
    match bits.split_first() {
        Some((0, key)) if tag == BIT_STRING => Ok(key.to_vec()),
        _ => Err(KeyError::Rejected("bad subjectPublicKey".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_PRIVATE_PKCS8: &str = include_str!("../../tests/fixtures/saltedge/keys/client_private.pem");
    const CLIENT_PRIVATE_PKCS1: &str = include_str!("../../tests/fixtures/saltedge/keys/client_private_pkcs1.pem");
    const CLIENT_PUBLIC: &str = include_str!("../../tests/fixtures/saltedge/keys/client_public.pem");

    /// `printf 'known string to sign' | openssl dgst -sha256 -sign client_private.pem | base64 -w0`
    const KNOWN_SIGNATURE: &str = include_str!("../../tests/fixtures/saltedge/keys/known_signature.b64");

    #[test]
    fn signature_matches_openssl_for_pkcs8_and_pkcs1() {
        let from_pkcs8 = sign(CLIENT_PRIVATE_PKCS8, b"known string to sign").unwrap();
        let from_pkcs1 = sign(CLIENT_PRIVATE_PKCS1, b"known string to sign").unwrap();
        assert_eq!(from_pkcs8, KNOWN_SIGNATURE.trim());
        assert_eq!(from_pkcs1, KNOWN_SIGNATURE.trim());
        assert!(verify(CLIENT_PUBLIC, b"known string to sign", &from_pkcs8));
        assert!(!verify(CLIENT_PUBLIC, b"known string to sigN", &from_pkcs8));
    }

    #[test]
    fn request_string_layout() {
        let message = request_string_to_sign(
            1_700_000_000,
            "get",
            "https://www.saltedge.com/api/v6/accounts?connection_id=1",
            b"",
        );
        assert_eq!(message, b"1700000000|GET|https://www.saltedge.com/api/v6/accounts?connection_id=1|");
    }

    #[test]
    fn callback_verification_rejects_tampering() {
        let url = "https://bridge.example/saltedge/callbacks/success";
        let body = br#"{"data":{"connection_id":"1"}}"#;
        let signature = sign(CLIENT_PRIVATE_PKCS8, &callback_string_to_sign(url, body)).unwrap();
        assert!(verify_callback(CLIENT_PUBLIC, url, body, &signature));
        assert!(!verify_callback(CLIENT_PUBLIC, url, br#"{"data":{"connection_id":"2"}}"#, &signature));
        assert!(!verify_callback(CLIENT_PUBLIC, "https://evil.example/x", body, &signature));
        assert!(!verify_callback(CLIENT_PUBLIC, url, body, ""));
        assert!(!verify_callback(CLIENT_PUBLIC, url, body, "not base64!"));
        assert!(!verify_callback("garbage", url, body, &signature));
    }

    #[test]
    fn bad_keys_are_errors_not_panics() {
        assert_eq!(RsaSigner::from_pem("").unwrap_err(), KeyError::NoPemBlock);
        assert!(RsaSigner::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
        assert!(RsaSigner::from_pem(CLIENT_PUBLIC).is_err());
        let debug = format!("{:?}", RsaSigner::from_pem(CLIENT_PRIVATE_PKCS8).unwrap());
        assert!(debug.contains("2048") && !debug.contains("MII"));
    }
}
