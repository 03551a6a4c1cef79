//! Unit tests of the parent module.
use super::*;

fn ok(text: &str) -> TierSpec {
    parse_one(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The error message of `text`, which must be rejected.
fn err(text: &str) -> String {
    match parse_one(text) {
        Ok(t) => panic!("{text} accepted: {t:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_err(text: &str, needle: &str) {
    let e = err(text);
    assert!(e.contains(needle), "{text}: {e:?} lacks {needle:?}");
    assert!(!e.contains('\n'), "{e:?}");
}

#[test]
fn redis_forms() {
    let t = ok("redis://127.0.0.1:6379");
    assert_eq!(t.scheme, Scheme::Redis);
    assert_eq!(t.url, "redis://127.0.0.1:6379");
    assert!(!t.read_only);
    assert_eq!(t.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    assert_eq!(t.timeout, DEFAULT_TIMEOUT);
    assert_eq!(t.layout, HttpLayout::Flat);
    assert_eq!(
        t.shards,
        vec![Shard {
            name: String::new(),
            url: "redis://127.0.0.1:6379".into(),
            weight: 1.0
        }]
    );
    assert!(!t.is_sharded());
    assert_eq!(ok("redis://cache").scheme, Scheme::Redis);
    assert_eq!(
        ok("redis://u:p@cache:6379/3").url,
        "redis://u:p@cache:6379/3"
    );
    assert_eq!(ok("redis://:p@cache/").scheme, Scheme::Redis);
    assert_eq!(ok("redis://[::1]:6379").scheme, Scheme::Redis);
    assert_eq!(ok("REDIS://cache").scheme, Scheme::Redis);
    assert_eq!(ok("rediss://u:p@cache:6380/0").scheme, Scheme::Rediss);
    assert_eq!(ok("redis+unix:///run/redis.sock").scheme, Scheme::RedisUnix);
}

#[test]
fn http_s3_memcached_forms() {
    let t = ok("http://cache.example.com/zccache");
    assert_eq!((t.scheme, t.layout), (Scheme::Http, HttpLayout::Flat));
    assert_eq!(ok("https://u:p@cache:8443/").scheme, Scheme::Https);
    let t = ok("http://bazel:8080|layout=bazel");
    assert_eq!(t.layout, HttpLayout::Bazel);
    assert_eq!(ok("https://c|layout=flat").layout, HttpLayout::Flat);
    let t = ok("https://cache|bearer-token=s3cr3t");
    assert_eq!(t.bearer_token.as_deref(), Some("s3cr3t"));
    let t = ok("s3://bucket/some/prefix|endpoint=http://minio:9000|region=eu-west-1");
    assert_eq!(t.scheme, Scheme::S3);
    assert_eq!(t.endpoint.as_deref(), Some("http://minio:9000"));
    assert_eq!(t.region.as_deref(), Some("eu-west-1"));
    assert_eq!(ok("s3://bucket").scheme, Scheme::S3);
    assert_eq!(ok("memcached://mc:11211").scheme, Scheme::Memcached);
    assert_eq!(ok("memcached://u:p@mc").scheme, Scheme::Memcached);
}

#[test]
fn common_attributes() {
    let t = ok("redis://c|read-only|connect-timeout=100|timeout=750");
    assert!(t.read_only);
    assert_eq!(t.connect_timeout, Duration::from_millis(100));
    assert_eq!(t.timeout, Duration::from_millis(750));
    assert!(ok("redis://c|read-only=true").read_only);
    assert!(!ok("redis://c|read-only=false").read_only);
    assert!(ok("  memcached://mc|read-only  ").read_only);
    // Percent-encoded values, as in ccache.
    let t = ok("https://c|bearer-token=a%7Cb%25c");
    assert_eq!(t.bearer_token.as_deref(), Some("a|b%c"));
}

#[test]
fn shards_follow_ccache_syntax() {
    let t = ok("redis://cache-*.example.com|shards=a(3),b,c(1.5)");
    assert!(t.is_sharded());
    let got: Vec<(&str, &str, f64)> = t
        .shards
        .iter()
        .map(|s| (s.name.as_str(), s.url.as_str(), s.weight))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", "redis://cache-a.example.com", 3.0),
            ("b", "redis://cache-b.example.com", 1.0),
            ("c", "redis://cache-c.example.com", 1.5),
        ]
    );
    let t = ok("http://example.com/*|shards=alpha,beta");
    assert_eq!(t.shards[1].url, "http://example.com/beta");
    let t = ok("redis://c-*:6379|shards=x");
    assert_eq!(t.shards.len(), 1);
    assert_eq!(t.shards[0].url, "redis://c-x:6379");
}

#[test]
fn lists_split_on_whitespace() {
    assert_eq!(parse_list("").unwrap(), vec![]);
    assert_eq!(parse_list("  \n ").unwrap(), vec![]);
    let tiers = parse_list("redis://a|read-only\n  http://b/c ").unwrap();
    assert_eq!(tiers.len(), 2);
    assert_eq!(tiers[0].scheme, Scheme::Redis);
    assert_eq!(tiers[1].url, "http://b/c");
    let e = parse_list("redis://a ftp://b").unwrap_err().to_string();
    assert!(e.contains("ftp"), "{e}");
}

#[test]
fn bad_urls_say_why() {
    assert_err("ftp://host", "unsupported scheme \"ftp\"");
    assert_err("cache.example.com:6379", "not a URL");
    assert_err("|read-only", "empty URL");
    assert_err("redis://host:99999", "invalid port number");
    assert_err("redis://host:port", "invalid port number");
    assert_err("redis://host:0", "invalid port number 0");
    assert_err("redis://", "missing host");
    assert_err("redis://:p@:6379", "remote tier redis://***@:6379");
    assert_err("redis://host/db1", "bad database \"db1\"");
    assert_err("redis://host/1/2", "bad database");
    assert_err("http://", "not a valid URL");
    assert_err("https:///path", "missing host");
    assert_err("memcached://", "missing host");
    assert_err("memcached://mc/x", "takes no path");
    assert_err("s3://", "missing bucket");
    assert_err("s3://key:secret@bucket", "no credentials in an s3:// URL");
    assert_err("s3://bucket:9000", "not host:port");
    assert_err("redis+unix://host/sock", "takes a socket path");
    assert_err("redis+unix://", "missing socket path");
    assert_err("redis+unix:///", "missing socket path");
    assert_err("http://h/p?x=1", "query strings");
    assert_err("http://h/p#f", "fragments");
    assert_err("redis://cache-*", "needs the shards attribute");
    assert_err("redis://*-*|shards=a", "more than one *");
}

/// `text` must be rejected for its attribute `attribute` (as shown,
/// redacted) with a message containing `needle`.
fn assert_attr_err(text: &str, attribute: &str, needle: &str) {
    let e = err(text);
    assert!(e.contains(&format!("attribute {attribute}: ")), "{e}");
    assert!(e.contains(needle), "{text}: {e:?} lacks {needle:?}");
}

#[test]
fn bad_attribute_values_say_which() {
    for (text, attribute, needle) in [
        ("redis://c|colour=blue", "colour=blue", "unknown attribute"),
        ("redis://c|", "", "empty attribute"),
        ("redis://c|read-only|read-only", "read-only", "given twice"),
        ("redis://c|read-only=yes", "read-only=yes", "true or false"),
        ("redis://c|timeout=soon", "timeout=soon", "milliseconds"),
        ("redis://c|timeout=0", "timeout=0", "positive"),
        ("redis://c|timeout=-5", "timeout=-5", "milliseconds"),
        ("redis://c|timeout", "timeout", "milliseconds"),
        (
            "redis://c|connect-timeout=1.5",
            "connect-timeout=1.5",
            "milliseconds",
        ),
        ("http://c|layout=tree", "layout=tree", "bazel or flat"),
        (
            "http://c|bearer-token=",
            "bearer-token=***",
            "needs a value",
        ),
        (
            "s3://b|endpoint=minio:9000",
            "endpoint=minio:9000",
            "http:// or https://",
        ),
        ("s3://b|region", "region", "needs a value"),
        (
            "https://c|bearer-token=%zz",
            "bearer-token=***",
            "percent-encoding",
        ),
        (
            "https://c|bearer-token=%ff",
            "bearer-token=***",
            "not UTF-8",
        ),
    ] {
        assert_attr_err(text, attribute, needle);
    }
}

#[test]
fn attributes_of_other_schemes_and_bad_shards_are_rejected() {
    for (text, attribute, needle) in [
        (
            "redis://c|layout=bazel",
            "layout=bazel",
            "only for http:// and https://",
        ),
        ("s3://b|bearer-token=x", "bearer-token=***", "only for http"),
        (
            "http://c|endpoint=http://m",
            "endpoint=http://m",
            "only for s3://",
        ),
        ("redis://c|region=eu", "region=eu", "only for s3://"),
        ("redis://c|shards=a,b", "shards=a,b", "needs a * in the URL"),
        ("redis://c-*|shards=a,,b", "shards=a,,b", "bad shard name"),
        ("redis://c-*|shards=a,a", "shards=a,a", "given twice"),
        ("redis://c-*|shards=a(0)", "shards=a(0)", "positive weight"),
        (
            "redis://c-*|shards=a(-1)",
            "shards=a(-1)",
            "positive weight",
        ),
        ("redis://c-*|shards=a(x)", "shards=a(x)", "positive weight"),
        (
            "redis://c-*|shards=a(inf)",
            "shards=a(inf)",
            "positive weight",
        ),
        ("redis://c-*|shards=a(2", "shards=a(2", "bad shard name"),
        ("redis://c-*|shards=", "shards=", "needs a value"),
    ] {
        assert_attr_err(text, attribute, needle);
    }
}

#[test]
fn redaction_hides_passwords_and_tokens() {
    assert_eq!(redact("redis://u:pw@h:1/2"), "redis://u:***@h:1/2");
    assert_eq!(redact("redis://:pw@h"), "redis://:***@h");
    assert_eq!(redact("https://token@h/p"), "https://***@h/p");
    assert_eq!(redact("https://h/p@v1"), "https://h/p@v1");
    assert_eq!(redact("redis://h"), "redis://h");
    let t = ok("https://u:pw@c/x|bearer-token=TOKEN|read-only|timeout=900|layout=bazel");
    let shown = t.redacted();
    assert_eq!(
        shown,
        "https://u:***@c/x|read-only|timeout=900|layout=bazel|bearer-token=***"
    );
    assert_eq!(t.to_string(), shown);
    assert!(!format!("{t}").contains("TOKEN") && !format!("{t}").contains("pw"));
    let t = ok("s3://b/p|region=r|endpoint=https://k:sec@minio|connect-timeout=50");
    assert_eq!(
        t.redacted(),
        "s3://b/p|connect-timeout=50|endpoint=https://k:***@minio|region=r"
    );
    let t = ok("redis://:pw@c-*|shards=a(3),b,c(1.5)");
    assert_eq!(t.redacted(), "redis://:***@c-*|shards=a(3),b,c(1.5)");
    assert_eq!(ok("redis://c").redacted(), "redis://c");
}

#[test]
fn errors_never_show_secrets() {
    for bad in [
        "redis://u:hunter2@host:99999",
        "redis://u:hunter2/x@host",
        "https://c|bearer-token=hunter2|colour=blue",
        "https://c|bearer-token=hunter2|bearer-token=hunter2",
        "redis://c|bearer-token=hunter2",
        "http://u:hunter2@h?x",
    ] {
        let e = err(bad);
        assert!(!e.contains("hunter2"), "{bad}: {e}");
    }
    assert_eq!(
        redact_raw("redis://u:p/w@h|bearer-token = t|timeout=1"),
        "redis://***@h|bearer-token=***|timeout=1"
    );
    assert_eq!(
        redact_tier("https://u:pw@c|bearer-token=t"),
        "https://u:***@c|bearer-token=***"
    );
    assert_eq!(
        redact_tier("ftp://u:pw@c|bearer-token=t"),
        "ftp://***@c|bearer-token=***"
    );
}

#[test]
fn reapi_forms_and_attributes() {
    let t = ok("grpc://127.0.0.1:8980");
    assert_eq!(t.scheme, Scheme::Grpc);
    assert_eq!(t.reapi, ReapiOptions::default());
    assert!(!t.reapi.execute);
    assert_eq!(ok("grpcs://remote.example.com:443").scheme, Scheme::Grpcs);
    let t = ok(
        "grpc://h:1|instance=main|header=X-Api-Key:s3cr%7Cet|header=b:2\
                |property=OSFamily=linux|property=ISA=x86-64|execute|jobs=40\
                |execute-timeout=90000"
            .replace(' ', "")
            .as_str(),
    );
    assert_eq!(t.reapi.instance, "main");
    assert_eq!(
        t.reapi.headers,
        [
            ("x-api-key".to_string(), "s3cr|et".to_string()),
            ("b".into(), "2".into())
        ]
    );
    assert_eq!(
        t.reapi.properties,
        [
            ("OSFamily".to_string(), "linux".to_string()),
            ("ISA".into(), "x86-64".into())
        ]
    );
    assert!(t.reapi.execute);
    assert_eq!(t.reapi.jobs, 40);
    assert_eq!(t.reapi.execute_timeout, Duration::from_secs(90));
    let shown = t.redacted();
    assert!(!shown.contains("s3cr"), "{shown}");
    assert!(shown.contains("header=x-api-key:***"), "{shown}");
    assert!(
        shown.contains("|execute|jobs=40|execute-timeout=90000"),
        "{shown}"
    );
    assert_eq!(ok(&shown.replace("***", "x")).reapi.jobs, 40);
}

#[test]
fn reapi_mistakes_say_what_is_wrong() {
    assert_err("grpc://h:1/inst", "no path");
    assert_err("grpc://u:p@h:1", "no credentials");
    assert_err("grpc://", "missing host");
    assert_attr_err(
        "grpc://h:1|header=novalue",
        "header=novalue:***",
        "NAME:VALUE",
    );
    assert_attr_err(
        "grpc://h:1|header=bad name:v",
        "header=bad name:***",
        "bad header name",
    );
    assert_attr_err("grpc://h:1|property=noeq", "property=noeq", "NAME=VALUE");
    assert_attr_err("grpc://h:1|jobs=0", "jobs=0", "positive");
    assert_attr_err("grpc://h:1|execute=maybe", "execute=maybe", "true or false");
    assert_attr_err(
        "grpc://h:1|instance=a|instance=b",
        "instance=b",
        "given twice",
    );
    assert_attr_err("redis://h|execute", "execute", "only for grpc");
    assert_attr_err("http://h/x|header=a:b", "header=a:***", "only for grpc");
    let e = err("grpc://h:1|header=x-api-key:TOPSECRET|bogus");
    assert!(!e.contains("TOPSECRET"), "{e}");
}
