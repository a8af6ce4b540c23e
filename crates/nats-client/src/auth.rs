//! Authentication: what goes into CONNECT's `user`, `pass`, `auth_token`, `jwt`, `nkey` and
//! `sig` for one attempt (R27, R28).
//!
//! Every source is evaluated afresh for every attempt: the credentials file is re-read, the
//! NKey seed signs the *current* server's nonce, the auth callback is called (R27). Nothing in
//! this module ever prints a secret: `Debug` of [`Auth`] is redacted and error texts name files,
//! never their contents.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use nats_proto::ConnectInfo;

use crate::callback::{guarded, CallbackKind, CallbackPanic};
use crate::error::ConnectError;
use crate::server_addr::ServerAddr;

/// Credentials produced by an [auth callback](crate::ConnectOptions::auth_callback) for one
/// CONNECT (R27).
///
/// Set the fields the server expects: `user` + `pass`, `token`, `nkey` (public key) +
/// `signature` (of the nonce), or `jwt` + `signature` (decentralised auth). The signature is
/// the raw ed25519 signature; it is base64url-encoded for the wire. `Debug` shows which fields
/// are set, never their values (the `nkey` public key and `user` name excepted).
///
/// # Examples
///
/// ```
/// use nats_client::Auth;
///
/// let auth = Auth { token: Some("s3cret".into()), ..Auth::default() };
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// A user JWT (decentralised authentication); needs `signature`.
    pub jwt: Option<String>,
    /// The public NKey (`U…`) whose seed made `signature`.
    pub nkey: Option<String>,
    /// The raw signature of the server nonce.
    pub signature: Option<Vec<u8>>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub pass: Option<String>,
    /// Token.
    pub token: Option<String>,
}

impl Auth {
    /// An empty set of credentials (nothing sent).
    ///
    /// ```
    /// assert_eq!(nats_client::Auth::new(), nats_client::Auth::default());
    /// ```
    pub fn new() -> Auth {
        Auth::default()
    }

    /// Signs `nonce` with an NKey seed (`SU…`): fills `nkey` and `signature`. For use in an
    /// [auth callback](crate::ConnectOptions::auth_callback).
    ///
    /// # Errors
    ///
    /// A text (without the seed) when the seed is not a valid NKey seed.
    ///
    /// ```
    /// let seed = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU";
    /// let auth = nats_client::Auth::nkey_signed(seed, b"nonce")?;
    /// assert!(auth.nkey.as_deref().is_some_and(|k| k.starts_with('U')));
    /// assert_eq!(auth.signature.map(|s| s.len()), Some(64));
    /// # Ok::<(), String>(())
    /// ```
    pub fn nkey_signed(seed: &str, nonce: &[u8]) -> Result<Auth, String> {
        let (nkey, signature) = sign_with_seed(seed, nonce).map_err(|e| e.to_string())?;
        Ok(Auth {
            nkey: Some(nkey),
            signature: Some(signature),
            ..Auth::default()
        })
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { Some("<redacted>") } else { None };
        f.debug_struct("Auth")
            .field("jwt", &set(self.jwt.is_some()))
            .field("nkey", &self.nkey)
            .field("signature", &set(self.signature.is_some()))
            .field("user", &self.user)
            .field("pass", &set(self.pass.is_some()))
            .field("token", &set(self.token.is_some()))
            .finish()
    }
}

/// The auth callback: gets the server nonce (empty when the server sent none).
pub(crate) type AuthCallback = Arc<dyn Fn(&[u8]) -> Result<Auth, String> + Send + Sync>;

/// Where the user JWT and its seed come from.
#[derive(Clone)]
pub(crate) enum CredentialsSource {
    /// A `.creds` file, re-read for every attempt (R27).
    File(PathBuf),
    /// The contents of a `.creds` file.
    Memory(String),
}

impl fmt::Debug for CredentialsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsSource::File(path) => f.debug_tuple("File").field(path).finish(),
            CredentialsSource::Memory(_) => f.write_str("Memory(<redacted>)"),
        }
    }
}

/// Parses a credentials file: the first delimited block is the user JWT, the second the seed.
pub(crate) fn parse_credentials(text: &str) -> Result<(String, String), ConnectError> {
    let mut blocks = Vec::with_capacity(2);
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line.starts_with("---") && line.contains("BEGIN") {
            let body = lines.by_ref().find(|l| !l.is_empty()).unwrap_or_default();
            blocks.push(body.to_string());
            if blocks.len() == 2 {
                break;
            }
        }
    }
    let mut blocks = blocks.into_iter();
    match (blocks.next(), blocks.next()) {
        (Some(jwt), Some(seed)) if !jwt.is_empty() && !seed.is_empty() => Ok((jwt, seed)),
        _ => Err(ConnectError::Credentials(
            "credentials must hold a user JWT block and an NKey seed block".into(),
        )),
    }
}

/// Signs `nonce` with `seed`: (public key, raw signature). Errors never show the seed.
pub(crate) fn sign_with_seed(seed: &str, nonce: &[u8]) -> Result<(String, Vec<u8>), ConnectError> {
    let pair = nkeys::KeyPair::from_seed(seed.trim())
        .map_err(|_| ConnectError::Credentials("invalid NKey seed".into()))?;
    let signature = pair
        .sign(nonce)
        .map_err(|_| ConnectError::Credentials("the NKey seed cannot sign".into()))?;
    Ok((pair.public_key(), signature))
}

fn read_credentials(source: &CredentialsSource) -> Result<(String, String), ConnectError> {
    match source {
        CredentialsSource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConnectError::Credentials(format!(
                    "cannot read credentials file {}: {e}",
                    path.display()
                ))
            })?;
            parse_credentials(&text).map_err(|_| {
                ConnectError::Credentials(format!(
                    "credentials file {} holds no user JWT and seed",
                    path.display()
                ))
            })
        }
        CredentialsSource::Memory(text) => parse_credentials(text),
    }
}

/// Fills the auth fields of `connect` for one attempt against `addr` (R27, R28).
///
/// Credentials in the URL win over the options' user, password and token (a URL user without
/// password is a token); a JWT, NKey or callback adds its fields on top.
/// The authentication settings of [`ConnectOptions`](crate::ConnectOptions), at most one
/// method set (checked by `connect`, R110).
#[derive(Clone, Default)]
pub(crate) struct AuthOptions {
    pub(crate) user: Option<String>,
    pub(crate) pass: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) nkey_seed: Option<String>,
    pub(crate) credentials: Option<CredentialsSource>,
    pub(crate) callback: Option<AuthCallback>,
}

impl AuthOptions {
    /// Whether filling in CONNECT may block: a credentials file is read, or user code runs.
    pub(crate) fn may_block(&self) -> bool {
        self.callback.is_some() || matches!(self.credentials, Some(CredentialsSource::File(_)))
    }

    /// The names of the methods that are set (for the R110 conflict check).
    pub(crate) fn methods(&self) -> Vec<&'static str> {
        [
            ("user_and_password", self.user.is_some()),
            ("token", self.token.is_some()),
            ("nkey", self.nkey_seed.is_some()),
            ("credentials", self.credentials.is_some()),
            ("auth_callback", self.callback.is_some()),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect()
    }
}

impl fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("AuthOptions")
            .field("user", &self.user)
            .field("pass", &redacted(&self.pass))
            .field("token", &redacted(&self.token))
            .field("nkey", &redacted(&self.nkey_seed))
            .field("credentials", &self.credentials)
            .field(
                "auth_callback",
                &self.callback.as_ref().map(|_| "<callback>"),
            )
            .finish()
    }
}

/// Fills in CONNECT's credentials for one attempt (R27, R28). A panicking auth callback fails
/// the attempt with a credentials error, and the panic is left in `panicked` for the caller to
/// report.
pub(crate) fn fill(
    options: &AuthOptions,
    addr: &ServerAddr,
    nonce: Option<&str>,
    connect: &mut ConnectInfo,
    panicked: &mut Option<CallbackPanic>,
) -> Result<(), ConnectError> {
    let url_creds = addr.has_credentials();
    match (addr.username(), addr.password()) {
        (Some(user), Some(pass)) => {
            connect.user = Some(user.to_string());
            connect.pass = Some(pass.to_string());
        }
        (Some(token), None) => connect.auth_token = Some(token.to_string()),
        _ => {
            connect.user.clone_from(&options.user);
            connect.pass.clone_from(&options.pass);
            connect.auth_token.clone_from(&options.token);
        }
    }
    let nonce_bytes = nonce.map(str::as_bytes);
    if let Some(seed) = &options.nkey_seed {
        let nonce = nonce_bytes.ok_or_else(|| {
            ConnectError::Credentials(
                "the server sent no nonce: it does not support NKey authentication".into(),
            )
        })?;
        let (public, sig) = sign_with_seed(seed, nonce)?;
        connect.nkey = Some(public);
        connect.sig = Some(BASE64URL_NOPAD.encode(&sig));
    }
    if let Some(source) = &options.credentials {
        let (jwt, seed) = read_credentials(source)?;
        connect.jwt = Some(jwt);
        if let Some(nonce) = nonce_bytes {
            let (_, sig) = sign_with_seed(&seed, nonce)?;
            connect.sig = Some(BASE64URL_NOPAD.encode(&sig));
        }
    }
    if let Some(callback) = &options.callback {
        let nonce = nonce_bytes.unwrap_or_default();
        let auth = guarded(CallbackKind::Auth, || callback(nonce))
            .map_err(|panic: CallbackPanic| {
                let error =
                    ConnectError::Credentials(format!("auth callback panicked: {}", panic.message));
                *panicked = Some(panic);
                error
            })?
            .map_err(|e| ConnectError::Credentials(format!("auth callback failed: {e}")))?;
        if !url_creds {
            connect.user = auth.user;
            connect.pass = auth.pass;
            connect.auth_token = auth.token;
        }
        connect.jwt = auth.jwt;
        connect.nkey = auth.nkey;
        connect.sig = auth.signature.map(|s| BASE64URL_NOPAD.encode(&s));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SEED: &str = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU";

    #[test]
    fn parses_a_creds_file() {
        let text = "-----BEGIN NATS USER JWT-----\neyJhbGc.x.y\n------END NATS USER JWT------\n\n\
                    ************************* IMPORTANT *************************\n\n\
                    -----BEGIN USER NKEY SEED-----\n  SUAXYZ\n------END USER NKEY SEED------\n";
        let (jwt, seed) = parse_credentials(text).unwrap();
        assert_eq!((jwt.as_str(), seed.as_str()), ("eyJhbGc.x.y", "SUAXYZ"));
        assert!(parse_credentials("nothing here").is_err());
    }

    #[test]
    fn nkey_signature_verifies_and_errors_hide_the_seed() {
        let (public, sig) = sign_with_seed(SEED, b"abc").unwrap();
        let verifier = nkeys::KeyPair::from_public_key(&public).unwrap();
        verifier.verify(b"abc", &sig).unwrap();
        let err = sign_with_seed("SUBADSEEDVALUE123", b"x").unwrap_err();
        assert!(!err.to_string().contains("SUBADSEEDVALUE123"));
    }

    #[test]
    fn r27_fill_signs_the_current_nonce() {
        let opts = AuthOptions {
            nkey_seed: Some(SEED.into()),
            ..AuthOptions::default()
        };
        let addr = ServerAddr::parse("h:1").unwrap();
        let mut c = ConnectInfo::default();
        let mut panicked = None;
        fill(&opts, &addr, Some("n1"), &mut c, &mut panicked).unwrap();
        let sig1 = c.sig.clone().unwrap();
        fill(&opts, &addr, Some("n2"), &mut c, &mut panicked).unwrap();
        assert_ne!(c.sig.unwrap(), sig1);
        assert!(matches!(
            fill(
                &opts,
                &addr,
                None,
                &mut ConnectInfo::default(),
                &mut panicked
            ),
            Err(ConnectError::Credentials(_))
        ));
        assert!(panicked.is_none());
    }

    #[test]
    fn a_panicking_auth_callback_fails_the_attempt_and_is_reported() {
        let opts = AuthOptions {
            callback: Some(Arc::new(|_: &[u8]| -> Result<Auth, String> {
                panic!("no creds")
            })),
            ..AuthOptions::default()
        };
        let addr = ServerAddr::parse("h:1").unwrap();
        let mut panicked = None;
        let err = fill(
            &opts,
            &addr,
            Some("n"),
            &mut ConnectInfo::default(),
            &mut panicked,
        )
        .unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        assert_eq!(panicked.map(|p| p.kind), Some(CallbackKind::Auth));
    }
}
