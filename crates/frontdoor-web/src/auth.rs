//! Who is asking: sessions (browser cookie or API bearer token, both server-side rows), cookies,
//! CSRF tokens. Session ids are 256 random bits and are stored only as their SHA-256.

use crate::AppState;
use crate::error::AppError;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{Duration, Utc};
use frontdoor_core::{Actor, Purpose};
use frontdoor_store::UserRecord;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The signed-in user for this request, put in request extensions by the route guard.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: UserRecord,
    pub actor: Actor,
    pub session_hash: String,
    pub csrf_token: String,
    pub via_cookie: bool,
    /// A purpose the caller stated (`X-Frontdoor-Purpose`), if any.
    pub purpose: Option<Purpose>,
}

/// 256 bits from the thread-local CSPRNG, hex encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `__Host-` cookies need `Secure`, which browsers honour only over TLS; on plain HTTP (local
/// demo) the cookie is named without the prefix.
pub fn session_cookie_name(tls: bool) -> &'static str {
    if tls { "__Host-fd_session" } else { "fd_session" }
}

pub fn login_cookie_name(tls: bool) -> &'static str {
    if tls { "__Host-fd_login" } else { "fd_login" }
}

/// A browser-session cookie (no max-age: the server-side session carries the expiry).
pub fn build_cookie(name: &'static str, value: String, tls: bool) -> Cookie<'static> {
    Cookie::build((name, value)).path("/").http_only(true).same_site(SameSite::Strict).secure(tls).build()
}

pub fn removal_cookie(name: &'static str, tls: bool) -> Cookie<'static> {
    let mut c = build_cookie(name, String::new(), tls);
    c.make_removal();
    c
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Find the session this request carries, if any (bearer token first, then the cookie).
pub async fn current_user(state: &AppState, headers: &HeaderMap) -> Result<Option<CurrentUser>, AppError> {
    let (token, via_cookie) = match bearer(headers) {
        Some(t) => (t.to_owned(), false),
        None => match cookie_value(headers, session_cookie_name(state.cfg.tls)) {
            Some(t) => (t, true),
            None => return Ok(None),
        },
    };
    let session_hash = hash_token(&token);
    let Some((session, user)) = state.store.session_user(&session_hash, Utc::now()).await? else {
        return Ok(None);
    };
    let purpose = match headers.get("x-frontdoor-purpose") {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(Purpose::parse).ok_or_else(|| AppError::BadRequest {
            field: Some("X-Frontdoor-Purpose".into()),
            message: format!(
                "is not a purpose; use one of {}",
                Purpose::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
            ),
        })?),
    };
    let actor = crate::service::actor_of(&user);
    Ok(Some(CurrentUser { user, actor, session_hash, csrf_token: session.csrf_token, via_cookie, purpose }))
}

/// Start a session for a user who has just proved who they are. Always a new id (rotation).
pub async fn start_session(state: &AppState, user: &UserRecord, kind: &str) -> Result<String, AppError> {
    let token = random_token();
    let now = Utc::now();
    let expires = now + Duration::minutes(i64::from(state.cfg.session_minutes));
    state.store.create_session(&hash_token(&token), user.id, kind, &random_token(), now, expires).await?;
    Ok(token)
}

/// Constant-time comparison for CSRF tokens.
pub fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
