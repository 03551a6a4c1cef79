//! The `zccache` binary: launcher, masquerade, admin commands and the daemon.

fn main() {
    let code = zccache_core::cli::main_entry();
    std::process::exit(code);
}
