//! The application's JWT, with the `jsonwebtoken` crate over ring.
//!
//! Every request carries `Authorization: Bearer <JWT>` (API reference, "Authorization": "JWT format and
//! signature"): header `typ: "JWT"`, `alg: "RS256"` (the only algorithm accepted), `kid: <application
//! id>`; claims `iss: "enablebanking.com"`, `aud: "api.enablebanking.com"`, `iat`, `exp`. A token may live
//! at most 86,400 seconds; the client signs one for an hour and reuses it until five minutes before it
//! expires.
//!
//! `jsonwebtoken` 12 leaves the signature primitives to a `CryptoProvider`. Its two built-in ones pull
//! in either aws-lc (a second C crypto library beside the ring that rustls already uses) or the `rsa`
//! crate (RUSTSEC-2023-0071, which `cargo audit --deny warnings` refuses), so this module provides RS256
//! with ring and refuses every other algorithm.

use std::fmt;
use std::sync::Mutex;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{self as ring_sig, RsaKeyPair};
use serde::{Deserialize, Serialize};

/// `iss` of every application token.
pub const ISSUER: &str = "enablebanking.com";
/// `aud` of every application token (`api.tilisy.com` is the deprecated former value).
pub const AUDIENCE: &str = "api.enablebanking.com";
/// Longest lifetime (`exp - iat`) Enable Banking accepts.
pub const MAX_LIFETIME_SECS: i64 = 86_400;
/// Lifetime of the tokens this client signs.
pub const TOKEN_LIFETIME_SECS: i64 = 3_600;
/// A cached token is replaced when it has less than this left.
const RENEW_BEFORE_EXPIRY_SECS: i64 = 300;

/// The claims of an application token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    /// The claims Enable Banking expects, issued at `iat` for `lifetime_secs`.
    pub fn new(iat: i64, lifetime_secs: i64) -> Claims {
        Claims { iss: ISSUER.to_string(), aud: AUDIENCE.to_string(), iat, exp: iat.saturating_add(lifetime_secs) }
    }
}

/// Why the application key cannot be used. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the private key is not an RSA key in PEM form (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`): {0}")]
    NotRsaPem(String),
    #[error("the RSA key was refused: {0}")]
    Rejected(String),
    #[error("the application id is empty or not printable")]
    BadApplicationId,
    #[error("signing the token failed: {0}")]
    Signing(String),
}

/// Signs the application's tokens. `Debug` shows the application id, never the key.
pub struct AppSigner {
    app_id: String,
    key: EncodingKey,
    cached: Mutex<Option<(String, i64)>>,
}

impl fmt::Debug for AppSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSigner").field("app_id", &self.app_id).finish_non_exhaustive()
    }
}

impl AppSigner {
    /// The application `app_id` (the `kid`) with its RSA private key in PEM form; the key is tried once
    /// so that a wrong one fails at start-up, not at the first request.
    pub fn from_pem(app_id: &str, private_key_pem: &str) -> Result<AppSigner, KeyError> {
        install_provider();
        let app_id = app_id.trim();
        if app_id.is_empty() || app_id.len() > 128 || !app_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::BadApplicationId);
        }
        let key =
            EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|e| KeyError::NotRsaPem(e.to_string()))?;
        RsaKeyPair::from_der(key.as_bytes()).map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(AppSigner { app_id: app_id.to_string(), key, cached: Mutex::new(None) })
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// A token valid at `now` (Unix seconds) for at least five more minutes: the cached one, or a new
    /// one issued at `now` for [`TOKEN_LIFETIME_SECS`].
    pub fn token(&self, now: i64) -> Result<String, KeyError> {
        let mut cached = self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((token, exp)) = cached.as_ref() {
            if *exp - now > RENEW_BEFORE_EXPIRY_SECS && now >= exp - TOKEN_LIFETIME_SECS {
                return Ok(token.clone());
            }
        }
        let token = self.sign(&Claims::new(now, TOKEN_LIFETIME_SECS))?;
        *cached = Some((token.clone(), now + TOKEN_LIFETIME_SECS));
        Ok(token)
    }

    /// A token with exactly these claims (tests use it to present wrong ones to the sandbox).
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        self.sign_with_kid(claims, &self.app_id)
    }

    /// A token with these claims under another `kid` (tests only present such a token).
    pub fn sign_with_kid<C: Serialize>(&self, claims: &C, kid: &str) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| KeyError::Signing(e.to_string()))
    }
}

/// Installs the ring-backed provider as `jsonwebtoken`'s process-wide one (idempotent).
pub fn install_provider() {
    // Err only means it is installed already (by an earlier call): the same provider.
    let _ = RING_PROVIDER.install_default();
}

static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

fn unsupported() -> jsonwebtoken::errors::Error {
    jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into()
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::RS256 {
        return Err(unsupported());
    }
    let pair = RsaKeyPair::from_der(key.as_bytes()).map_err(|e| {
        jsonwebtoken::errors::Error::from(jsonwebtoken::errors::ErrorKind::InvalidRsaKey(e.to_string()))
    })?;
    Ok(Box::new(Rs256Signer { pair, rng: SystemRandom::new() }))
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 {
        return Err(unsupported());
    }
    match key.kind() {
        jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => Ok(Box::new(Rs256Verifier { public_der: der.clone() })),
        _ => Err(unsupported()),
    }
}

struct Rs256Signer {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl jsonwebtoken::signature::Signer<Vec<u8>> for Rs256Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, jsonwebtoken::signature::Error> {
        let mut out = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&ring_sig::RSA_PKCS1_SHA256, &self.rng, message, &mut out)
            .map_err(|_| jsonwebtoken::signature::Error::new())?;
        Ok(out)
    }
}

impl JwtSigner for Rs256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

struct Rs256Verifier {
    /// PKCS#1 `RSAPublicKey` DER (what `DecodingKey::from_rsa_pem` keeps).
    public_der: Vec<u8>,
}

impl jsonwebtoken::signature::Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), jsonwebtoken::signature::Error> {
        ring_sig::UnparsedPublicKey::new(&ring_sig::RSA_PKCS1_2048_8192_SHA256, &self.public_der)
            .verify(message, signature)
            .map_err(|_| jsonwebtoken::signature::Error::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_KEY: &str = include_str!("../sandbox/enablebanking/keys/app_private.pem");
    const APP_PUBLIC: &str = include_str!("../sandbox/enablebanking/keys/app_public.pem");

    fn decode(token: &str) -> jsonwebtoken::errors::Result<jsonwebtoken::TokenData<Claims>> {
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_rsa_pem(APP_PUBLIC.as_bytes()).unwrap(), &validation)
    }

    #[test]
    fn a_token_has_the_documented_header_and_claims_and_verifies() {
        let signer = AppSigner::from_pem("cf589be3-3755-465b-a8df-a90a16a31403", APP_KEY).unwrap();
        let now = chrono::Utc::now().timestamp();
        let token = signer.token(now).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some("cf589be3-3755-465b-a8df-a90a16a31403"));
        let data = decode(&token).unwrap();
        assert_eq!(data.claims, Claims::new(now, TOKEN_LIFETIME_SECS));
        assert!(data.claims.exp - data.claims.iat <= MAX_LIFETIME_SECS);
    }

    #[test]
    fn the_token_is_reused_until_five_minutes_before_it_expires() {
        let signer = AppSigner::from_pem("app", APP_KEY).unwrap();
        let first = signer.token(1_000_000).unwrap();
        assert_eq!(signer.token(1_000_000 + TOKEN_LIFETIME_SECS - RENEW_BEFORE_EXPIRY_SECS - 1).unwrap(), first);
        assert_ne!(signer.token(1_000_000 + TOKEN_LIFETIME_SECS - RENEW_BEFORE_EXPIRY_SECS).unwrap(), first);
        // A clock that went back does not reuse a token issued "in the future".
        let again = signer.token(2_000_000).unwrap();
        assert_ne!(signer.token(1_000_000).unwrap(), again);
    }

    #[test]
    fn a_tampered_or_foreign_token_does_not_verify() {
        let signer = AppSigner::from_pem("app", APP_KEY).unwrap();
        let token = signer.token(chrono::Utc::now().timestamp()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let forged = Claims { aud: "someone.else".into(), ..Claims::new(chrono::Utc::now().timestamp(), 60) };
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&forged).unwrap(),
        );
        assert!(decode(&parts.join(".")).is_err());
        let other = AppSigner::from_pem("app", crate::sandbox::SANDBOX_PRIVATE_KEY_PEM).unwrap();
        assert!(decode(&other.token(chrono::Utc::now().timestamp()).unwrap()).is_err());
    }

    #[test]
    fn bad_keys_and_ids_are_refused_without_showing_the_key() {
        let err =
            AppSigner::from_pem("app", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err();
        assert!(!err.to_string().contains("AAAA"), "{err}");
        assert!(AppSigner::from_pem("app", "not a key").is_err());
        assert_eq!(AppSigner::from_pem("", APP_KEY).unwrap_err(), KeyError::BadApplicationId);
        assert_eq!(AppSigner::from_pem("a b", APP_KEY).unwrap_err(), KeyError::BadApplicationId);
        let debug = format!("{:?}", AppSigner::from_pem("app", APP_KEY).unwrap());
        assert!(!debug.contains("PRIVATE"), "{debug}");
    }

    #[test]
    fn only_rs256_is_provided() {
        install_provider();
        let key = EncodingKey::from_rsa_pem(APP_KEY.as_bytes()).unwrap();
        let claims = Claims::new(0, 60);
        assert!(jsonwebtoken::encode(&Header::new(Algorithm::RS512), &claims, &key).is_err());
        assert!(jsonwebtoken::encode(&Header::new(Algorithm::PS256), &claims, &key).is_err());
    }
}
