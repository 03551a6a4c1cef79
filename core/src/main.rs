//! `zccache-daemon`, the full program: the daemon, the admin commands, and
//! the complete launcher (configuration file, daemon start-up, backpressure)
//! that the lean `zccache` launcher hands over to.

fn main() {
    let code = zccache_core::cli::main_entry();
    std::process::exit(code);
}
