//! [`PassageLayer`]: a tower layer that requires a valid token on every route it wraps.

use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use passage_core::Passage;
use tower_layer::Layer;
use tower_service::Service;

use crate::extract::PassageUser;
use crate::rejection::PassageRejection;

/// Guards a router: requests without a valid token are answered 401 (or 503 when the keys are
/// unavailable) before any handler runs; for the others the verified [`PassageUser`] is put in
/// the request extensions, where the extractors find it instead of verifying again when their
/// state names the same handle (a user verified by another handle is verified again). Handlers
/// may also take it as `Extension<PassageUser>`.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use passage_axum::{PassageLayer, PassageUser};
/// use passage_core::{Config, Passage};
///
/// async fn dashboard(user: PassageUser) -> String {
///     format!("welcome {}", user.user_id())
/// }
///
/// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
/// let passage = Passage::new(Config::builder("my-app-id").build()?)?;
/// let app = Router::new()
///     .route("/dashboard", get(dashboard))
///     .route_layer(PassageLayer::new(passage.clone()))
///     .with_state(passage);
/// # Ok(app) }
/// ```
#[derive(Debug, Clone)]
pub struct PassageLayer {
    passage: Passage,
}

impl PassageLayer {
    /// A layer verifying with this handle.
    ///
    /// ```no_run
    /// # fn run(passage: passage_core::Passage) {
    /// let layer = passage_axum::PassageLayer::new(passage);
    /// # }
    /// ```
    pub fn new(passage: Passage) -> Self {
        Self { passage }
    }
}

impl<S> Layer<S> for PassageLayer {
    type Service = PassageService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PassageService {
            inner,
            passage: self.passage.clone(),
        }
    }
}

/// The service [`PassageLayer`] wraps around the inner one.
///
/// ```no_run
/// use tower_layer::Layer;
/// # fn run(passage: passage_core::Passage) {
/// let service = passage_axum::PassageLayer::new(passage).layer(tower::service_fn(
///     |_request: axum::extract::Request| async { Ok::<_, std::convert::Infallible>(axum::response::Response::new(axum::body::Body::empty())) },
/// ));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PassageService<S> {
    inner: S,
    passage: Passage,
}

impl<S> Service<Request> for PassageService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Call the clone that was driven to readiness; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let passage = self.passage.clone();
        Box::pin(async move {
            // The body is not `Sync`: verify against the head alone.
            let (mut parts, body) = request.into_parts();
            match passage.authenticate(&parts).await {
                Ok(user) => {
                    parts.extensions.insert(PassageUser::from(user));
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(error) => Ok(PassageRejection(passage.refuse(error)).into_response()),
            }
        })
    }
}
