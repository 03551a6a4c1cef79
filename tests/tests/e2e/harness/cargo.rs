//! Cargo fixtures: a small offline workspace (path deps, a build script, a
//! proc-macro, a bin, a feature, `env!` and `include_str!`) and helpers to
//! build it through zccache as `RUSTC_WRAPPER`.

use super::*;
use std::process::{Command, Output};

/// Files of the fixture workspace, relative to the sandbox work dir.
pub const WORKSPACE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"util\", \"pm\"]\nresolver = \"2\"\n",
    ),
    (
        "util/Cargo.toml",
        "[package]\nname = \"util\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[features]\nextra = []\n",
    ),
    (
        "util/src/lib.rs",
        "pub const DATA: &str = include_str!(\"data.txt\");\n\
         pub fn greeting() -> &'static str { env!(\"ZC_GREETING\") }\n\
         pub fn built() -> &'static str { include_str!(concat!(env!(\"OUT_DIR\"), \"/gen.txt\")) }\n\
         #[cfg(feature = \"extra\")]\npub fn extra() -> &'static str { \"extra\" }\n\
         #[cfg(not(feature = \"extra\"))]\npub fn extra() -> &'static str { \"plain\" }\n",
    ),
    ("util/src/data.txt", "data-v1\n"),
    (
        "util/build.rs",
        "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
         std::fs::write(format!(\"{out}/gen.txt\"), \"generated\").unwrap();\n    \
         println!(\"cargo:rerun-if-changed=build.rs\");\n}\n",
    ),
    (
        "pm/Cargo.toml",
        "[package]\nname = \"pm\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\nproc-macro = true\n",
    ),
    (
        "pm/src/lib.rs",
        "use proc_macro::TokenStream;\n#[proc_macro]\n\
         pub fn answer(_i: TokenStream) -> TokenStream { \"42u32\".parse().unwrap() }\n",
    ),
    (
        "app/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         [dependencies]\nutil = { path = \"../util\" }\npm = { path = \"../pm\" }\n",
    ),
    (
        "app/src/main.rs",
        "fn main() {\n    println!(\"{} {} {} {} {}\", util::DATA.trim(), util::greeting(), \
         util::built(), util::extra(), pm::answer!());\n}\n",
    ),
];

/// What the fixture's app prints with the default inputs.
pub const APP_OUTPUT: &str = "data-v1 hi generated plain 42\n";

impl Sandbox {
    /// Write the fixture workspace and set the env every build needs
    /// (`ZC_GREETING`, a private `CARGO_TARGET_DIR`, no incremental).
    pub fn cargo_fixture(&mut self) {
        for (path, text) in WORKSPACE {
            self.write(path, text);
        }
        let target = self.root.join("target");
        self.set_env("CARGO_TARGET_DIR", &target);
        self.set_env("ZC_GREETING", "hi");
        self.set_env("CARGO_INCREMENTAL", "0");
        self.set_env("CARGO_TERM_COLOR", "never");
    }

    /// `cargo <args> --offline` with zccache as `RUSTC_WRAPPER`.
    pub fn cargo(&self, args: &[&str]) -> Output {
        let mut c = self.command("cargo");
        c.args(args).arg("--offline");
        c.env("RUSTC_WRAPPER", zccache_bin());
        run_cmd(&mut c, None)
    }

    /// Like [`Sandbox::cargo`], panicking unless it succeeded.
    pub fn cargo_ok(&self, args: &[&str]) -> Output {
        let out = self.cargo(args);
        assert_ok(&out, &format!("cargo {args:?}"));
        out
    }

    /// `cargo <args> --offline` without any wrapper.
    pub fn cargo_bare(&self, args: &[&str]) -> Output {
        let mut c = self.command("cargo");
        c.args(args).arg("--offline").env_remove("RUSTC_WRAPPER");
        let out = run_cmd(&mut c, None);
        assert_ok(&out, &format!("bare cargo {args:?}"));
        out
    }

    /// Path of a file in the private target dir.
    pub fn target(&self, rel: &str) -> PathBuf {
        self.root.join("target").join(rel)
    }

    /// Run the built app (debug profile) and return its stdout.
    pub fn run_app(&self, profile: &str) -> String {
        let out = run_cmd(&mut Command::new(self.target(profile).join("app")), None);
        assert_ok(&out, "app");
        text(&out.stdout)
    }
}

/// Hit/miss deltas of one step.
pub fn delta(before: Counters, after: Counters) -> (u64, u64) {
    (after.hits - before.hits, after.misses - before.misses)
}
