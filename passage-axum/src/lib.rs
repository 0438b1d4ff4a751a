#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod extract;
mod layer;
mod rejection;

pub use extract::{MaybePassageUser, PassageUser};
pub use layer::{PassageLayer, PassageService};
pub use rejection::PassageRejection;

#[doc(no_inline)]
pub use axum::extract::FromRef;
