//! Passage authentication for warp (filled in by the adapters issue).
#![forbid(unsafe_code)]
