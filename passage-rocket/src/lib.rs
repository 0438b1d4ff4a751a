//! Passage authentication for rocket (filled in by the adapters issue).
#![forbid(unsafe_code)]
