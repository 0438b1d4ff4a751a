//! Passage emulator (filled in by the emulator issue).
#![forbid(unsafe_code)]
