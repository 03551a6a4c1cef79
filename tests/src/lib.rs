//! End-to-end test crate for zccache. The tests themselves live in
//! `tests/tests/*.rs`; shared helpers live in `tests/tests/common/`.
