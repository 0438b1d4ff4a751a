//! [`PassageAuth`]: a middleware that requires a valid token on every route it wraps.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use futures::future::LocalBoxFuture;
use passage_core::Passage;

use crate::error::PassageError;
use crate::extract::{PassageUser, RequestHeaders};
use crate::passage_from_app_data;

/// Guards a scope (or an app): requests without a valid token are answered 401 (or 503 when the
/// keys are unavailable) before any handler runs; for the others the verified [`PassageUser`] is
/// put in the request extensions, where the extractors find it instead of verifying again when
/// the app data names the same handle, or none (a user verified by another handle is verified
/// again).
///
/// ```no_run
/// use actix_web::{App, web};
/// use passage_actix::{PassageAuth, PassageUser};
/// use passage_core::{Config, Passage};
///
/// async fn dashboard(user: PassageUser) -> String {
///     format!("welcome {}", user.user_id())
/// }
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let passage = Passage::new(Config::builder("my-app-id").build()?)?;
/// let app = App::new().service(
///     web::scope("/dashboard")
///         .wrap(PassageAuth::new(passage))
///         .route("", web::get().to(dashboard)),
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct PassageAuth {
    passage: Option<Passage>,
}

impl PassageAuth {
    /// A middleware verifying with this handle.
    ///
    /// ```no_run
    /// # fn run(passage: passage_core::Passage) {
    /// let auth = passage_actix::PassageAuth::new(passage);
    /// # }
    /// ```
    pub fn new(passage: Passage) -> Self {
        Self {
            passage: Some(passage),
        }
    }

    /// A middleware using the handle in app data (`web::Data<Passage>` or `Passage`), like the
    /// extractors; requests are answered 500 when there is none.
    ///
    /// ```no_run
    /// let auth = passage_actix::PassageAuth::from_app_data();
    /// ```
    pub fn from_app_data() -> Self {
        Self { passage: None }
    }
}

impl<S, B> Transform<S, ServiceRequest> for PassageAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = PassageAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(PassageAuthMiddleware {
            service: Rc::new(service),
            passage: self.passage.clone(),
        }))
    }
}

/// The service [`PassageAuth`] wraps around the inner one; built by actix, not by hand.
///
/// ```no_run
/// // Built by `App::wrap` / `Scope::wrap` from a `PassageAuth`.
/// let _ = actix_web::web::scope("/admin").wrap(passage_actix::PassageAuth::from_app_data());
/// ```
pub struct PassageAuthMiddleware<S> {
    service: Rc<S>,
    passage: Option<Passage>,
}

impl<S> std::fmt::Debug for PassageAuthMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassageAuthMiddleware")
            .field("passage", &self.passage)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for PassageAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let passage = self
            .passage
            .clone()
            .or_else(|| passage_from_app_data(request.request()));
        Box::pin(async move {
            let Some(passage) = passage else {
                let response = request.error_response(PassageError::not_configured());
                return Ok(response.map_into_right_body());
            };
            match passage
                .authenticate(&RequestHeaders::new(request.headers()))
                .await
            {
                Ok(user) => {
                    request.extensions_mut().insert(PassageUser::from(user));
                    service
                        .call(request)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(error) => {
                    let response = request.error_response(PassageError(passage.refuse(error)));
                    Ok(response.map_into_right_body())
                }
            }
        })
    }
}
