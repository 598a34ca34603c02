//! The sandbox's check of the application's JWT, as strict as the API reference's "Authorization"
//! section: `Authorization: Bearer <JWT>`; header `typ` "JWT", `alg` RS256 (nothing else), `kid` the
//! application id; signature by the application's key; `iss` "enablebanking.com", `aud`
//! "api.enablebanking.com"; `iat` and `exp` present, `exp` in the future, `iat` not in the future, and a
//! lifetime (`exp - iat`) of at most 86,400 seconds. One minute of clock skew is allowed, as the
//! `jsonwebtoken` default; the reference states no figure.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::enablebanking::jwt::{self, Claims};

/// Allowed clock difference between the application and the sandbox.
pub const LEEWAY_SECS: i64 = 60;

/// Why a request is not authorized: the error code (`AUTHORIZATION_NOT_PROVIDED` or
/// `UNAUTHORIZED_ACCESS`) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn unauthorized(message: impl Into<String>) -> Refusal {
    Refusal { code: "UNAUTHORIZED_ACCESS", message: message.into() }
}

/// The application the sandbox knows: its id and public key.
pub struct AppKey {
    pub app_id: String,
    key: DecodingKey,
}

impl AppKey {
    pub fn from_pem(app_id: &str, public_key_pem: &str) -> Result<AppKey, String> {
        jwt::install_provider();
        let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .map_err(|e| format!("the application's public key is not an RSA public key in PEM form: {e}"))?;
        Ok(AppKey { app_id: app_id.to_string(), key })
    }

    /// Checks the `Authorization` header value at `now` (Unix seconds).
    pub fn check(&self, authorization: Option<&str>, now: i64) -> Result<Claims, Refusal> {
        let Some(header) = authorization.map(str::trim).filter(|h| !h.is_empty()) else {
            return Err(Refusal {
                code: "AUTHORIZATION_NOT_PROVIDED",
                message: "Authorization header is not provided".into(),
            });
        };
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
            _ => return Err(unauthorized("The Authorization header must be `Bearer <JWT>`")),
        };
        let head = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("The token is not a JWT"))?;
        if head.alg != Algorithm::RS256 {
            return Err(unauthorized("Only RS256 signed tokens are accepted"));
        }
        if head.typ.as_deref() != Some("JWT") {
            return Err(unauthorized("The token header must have typ \"JWT\""));
        }
        match head.kid.as_deref() {
            Some(kid) if kid == self.app_id => {}
            Some(_) => return Err(unauthorized("Unknown application (kid)")),
            None => return Err(unauthorized("The token header has no kid")),
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[jwt::ISSUER]);
        validation.set_audience(&[jwt::AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        // Expiry is checked below against `now`, with the same leeway as `iat`.
        validation.validate_exp = false;
        let presented = jsonwebtoken::decode::<Presented>(token, &self.key, &validation)
            .map_err(|e| unauthorized(format!("The token was refused: {}", describe(&e))))?
            .claims;
        let (Some(iat), Some(exp)) = (presented.iat, presented.exp) else {
            return Err(unauthorized("The token was refused: a required claim (iss, aud, iat, exp) is missing"));
        };
        let claims = Claims { iss: jwt::ISSUER.to_string(), aud: jwt::AUDIENCE.to_string(), iat, exp };
        if claims.exp <= now - LEEWAY_SECS {
            return Err(unauthorized("The token has expired"));
        }
        if claims.iat > now + LEEWAY_SECS {
            return Err(unauthorized("The token is issued in the future (iat)"));
        }
        if claims.exp <= claims.iat {
            return Err(unauthorized("The token expires before it is issued"));
        }
        if claims.exp - claims.iat > jwt::MAX_LIFETIME_SECS {
            return Err(unauthorized("The token lives longer than 86400 seconds"));
        }
        Ok(claims)
    }
}

/// The claims as presented: read loosely, so that a missing one is named as missing (the validation
/// has checked `iss` and `aud`).
#[derive(serde::Deserialize)]
struct Presented {
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
}

/// What was wrong with a token, in words (never the token).
fn describe(error: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match error.kind() {
        K::InvalidSignature => "bad signature",
        K::InvalidIssuer => "wrong iss",
        K::InvalidAudience => "wrong aud",
        K::MissingRequiredClaim(_) => "a required claim (iss, aud, iat, exp) is missing",
        K::InvalidAlgorithm => "wrong algorithm",
        _ => "malformed token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enablebanking::jwt::AppSigner;

    const APP_ID: &str = "9b0e2a52-5f30-4c1d-8f3c-0c8a1f7e6d55";

    fn parts() -> (AppKey, AppSigner, i64) {
        let key = AppKey::from_pem(APP_ID, super::super::SANDBOX_APP_PUBLIC_KEY_PEM).unwrap();
        let signer = AppSigner::from_pem(APP_ID, super::super::SANDBOX_APP_PRIVATE_KEY_PEM).unwrap();
        (key, signer, chrono::Utc::now().timestamp())
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn a_well_formed_token_passes() {
        let (key, signer, now) = parts();
        assert!(key.check(Some(&bearer(&signer.token(now).unwrap())), now).is_ok());
        // The longest lifetime the reference allows.
        let longest = signer.sign(&Claims::new(now, jwt::MAX_LIFETIME_SECS)).unwrap();
        assert!(key.check(Some(&bearer(&longest)), now).is_ok());
    }

    #[test]
    fn every_documented_requirement_is_enforced() {
        let (key, signer, now) = parts();
        let refused = |token: String| key.check(Some(&bearer(&token)), now).unwrap_err();
        assert_eq!(key.check(None, now).unwrap_err().code, "AUTHORIZATION_NOT_PROVIDED");
        assert_eq!(key.check(Some("Basic abc"), now).unwrap_err().code, "UNAUTHORIZED_ACCESS");
        assert_eq!(key.check(Some("Bearer not.a.jwt"), now).unwrap_err().code, "UNAUTHORIZED_ACCESS");
        let too_long = refused(signer.sign(&Claims::new(now, jwt::MAX_LIFETIME_SECS + 1)).unwrap());
        assert!(too_long.message.contains("86400"), "{too_long:?}");
        assert!(refused(signer.sign(&Claims::new(now - 7200, 3600)).unwrap()).message.contains("expired"));
        assert!(refused(signer.sign(&Claims::new(now + 600, 3600)).unwrap()).message.contains("future"));
        let wrong_aud = Claims { aud: "api.tilisy.com".into(), ..Claims::new(now, 60) };
        assert!(refused(signer.sign(&wrong_aud).unwrap()).message.contains("aud"));
        let wrong_iss = Claims { iss: "example.com".into(), ..Claims::new(now, 60) };
        assert!(refused(signer.sign(&wrong_iss).unwrap()).message.contains("iss"));
        assert!(refused(signer.sign_with_kid(&Claims::new(now, 60), "someone-else").unwrap()).message.contains("kid"));
        let stranger = AppSigner::from_pem(APP_ID, crate::sandbox::SANDBOX_PRIVATE_KEY_PEM).unwrap();
        assert!(refused(stranger.token(now).unwrap()).message.contains("signature"));
    }

    #[test]
    fn missing_claims_and_other_algorithms_are_refused() {
        let (key, _, now) = parts();
        let b64 = |v: serde_json::Value| {
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, serde_json::to_vec(&v).unwrap())
        };
        let unsigned = format!(
            "{}.{}.",
            b64(serde_json::json!({"typ": "JWT", "alg": "none", "kid": APP_ID})),
            b64(serde_json::json!({"iss": jwt::ISSUER, "aud": jwt::AUDIENCE, "iat": now, "exp": now + 60}))
        );
        assert!(key.check(Some(&bearer(&unsigned)), now).is_err());
        let hs = format!(
            "{}.{}.c2ln",
            b64(serde_json::json!({"typ": "JWT", "alg": "HS256", "kid": APP_ID})),
            b64(serde_json::json!({"iss": jwt::ISSUER, "aud": jwt::AUDIENCE, "iat": now, "exp": now + 60}))
        );
        assert!(key.check(Some(&bearer(&hs)), now).unwrap_err().message.contains("RS256"));
    }

    #[test]
    fn a_signed_token_without_iat_is_refused() {
        let (key, signer, now) = parts();
        let without_iat = serde_json::json!({"iss": jwt::ISSUER, "aud": jwt::AUDIENCE, "exp": now + 60});
        let refusal = key.check(Some(&bearer(&signer.sign(&without_iat).unwrap())), now).unwrap_err();
        assert!(refusal.message.contains("missing"), "{refusal:?}");
    }
}
