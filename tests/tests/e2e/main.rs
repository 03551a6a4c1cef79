//! zccache's end-to-end tests, as one test binary: each module drives the
//! built `zccache` binary against real compilers and build systems for one
//! area, and `harness` holds the shared sandbox, the fluent [`harness::Test`]
//! builder and the typed `zccache stats --json` view.

mod harness;

mod absent_files;
mod admin;
mod architecture;
mod buildsystems;
mod cargo_warm;
mod cargo_zccache;
mod concurrency;
mod daemon;
mod define_sibling;
mod emscripten;
mod failures;
mod farm;
mod hit;
mod icecream;
mod invalidation;
mod launcher;
mod link;
mod noncacheable;
mod portable;
mod portable_builds;
mod portable_rust;
mod reapi;
mod remote;
mod remote_builds;
mod replay;
mod rustc;
mod rustc_direct;
mod rustc_modes;
mod services;
mod sessions;
mod shared_objects;
mod verify;
