//! Credentials of an HTTP tier: basic auth from the URL's user info, or a
//! bearer token from the `bearer-token` attribute (the token wins when
//! both are given).

/// How requests to an HTTP tier authenticate.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum HttpAuth {
    /// No `Authorization` header.
    None,
    /// `Authorization: Basic …` (user, password).
    Basic(String, Option<String>),
    /// `Authorization: Bearer …`.
    Bearer(String),
}

impl std::fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.write_str(match self {
            HttpAuth::None => "None",
            HttpAuth::Basic(..) => "Basic(***)",
            HttpAuth::Bearer(_) => "Bearer(***)",
        })
    }
}

impl HttpAuth {
    /// Take the user info out of `url` (so that it is never sent in the
    /// request line) and choose the credentials.
    pub(super) fn take_from(url: &mut reqwest::Url, bearer: Option<&str>) -> HttpAuth {
        let user = percent_decode(url.username());
        let password = url.password().map(percent_decode);
        // Clearing cannot fail on http(s) URLs, which have a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        match bearer {
            Some(token) => HttpAuth::Bearer(token.to_string()),
            None if !user.is_empty() || password.is_some() => HttpAuth::Basic(user, password),
            None => HttpAuth::None,
        }
    }

    /// `request` with the credentials added.
    pub(super) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            HttpAuth::None => request,
            HttpAuth::Basic(user, password) => request.basic_auth(user, password.as_deref()),
            HttpAuth::Bearer(token) => request.bearer_auth(token),
        }
    }
}

/// `text` with `%XX` escapes decoded (invalid escapes are kept as written;
/// invalid UTF-8 is replaced).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if bytes[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_becomes_basic_auth_and_leaves_the_url() {
        let mut url = reqwest::Url::parse("http://me:p%40ss@host:8080/cache").unwrap();
        let auth = HttpAuth::take_from(&mut url, None);
        assert_eq!(auth, HttpAuth::Basic("me".into(), Some("p@ss".into())));
        assert_eq!(url.as_str(), "http://host:8080/cache");
    }

    #[test]
    fn bearer_token_wins() {
        let mut url = reqwest::Url::parse("https://me:pw@host/").unwrap();
        let auth = HttpAuth::take_from(&mut url, Some("tok"));
        assert_eq!(auth, HttpAuth::Bearer("tok".into()));
    }

    #[test]
    fn no_credentials() {
        let mut url = reqwest::Url::parse("http://host/").unwrap();
        assert_eq!(HttpAuth::take_from(&mut url, None), HttpAuth::None);
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
