//! End-to-end test crate for zccache. The tests are one test binary,
//! `tests/e2e/main.rs`, with a module per area; the shared harness (sandbox,
//! `Test` builder, typed stats) lives in `tests/e2e/harness/`.
