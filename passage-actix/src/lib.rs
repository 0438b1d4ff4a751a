//! Passage authentication for actix (filled in by the adapters issue).
#![forbid(unsafe_code)]
