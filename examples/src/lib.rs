//! Shared helpers for the example apps.
#![forbid(unsafe_code)]
