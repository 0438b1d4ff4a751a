//! [`PassageFairing`]: builds the [`Passage`] handle at ignite and manages it.

use passage_core::{Config, Passage};
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::{Build, Rocket};

/// Where the fairing gets its handle.
#[derive(Debug, Clone)]
enum Source {
    Env,
    Config(Box<Config>),
    Passage(Passage),
}

/// Builds a [`Passage`] handle when Rocket ignites and puts it in managed state, where the
/// guards find it, and registers the [`catchers`](crate::catchers) at `/` so that refusals carry
/// their challenge, `Retry-After` and JSON body. A configuration that cannot work makes ignite
/// fail (with the reason logged), so a misconfigured app does not start rather than failing at
/// its first request.
///
/// An app with its own 401, 503 or 500 catchers at `/` calls
/// [`without_catchers`](PassageFairing::without_catchers) (two catchers for one status at one base
/// collide, and launch fails) and renders [`PassageError`](crate::PassageError) itself.
///
/// ```no_run
/// use passage_rocket::PassageFairing;
///
/// #[rocket::launch]
/// fn rocket() -> _ {
///     rocket::build().attach(PassageFairing::from_env())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PassageFairing {
    source: Source,
    catchers: bool,
}

impl PassageFairing {
    /// Reads the `PASSAGE_*` environment variables at ignite (see [`Config::from_env`]).
    ///
    /// ```no_run
    /// let rocket = rocket::build().attach(passage_rocket::PassageFairing::from_env());
    /// ```
    pub fn from_env() -> Self {
        Self {
            source: Source::Env,
            catchers: true,
        }
    }

    /// Builds the handle from this configuration at ignite.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), passage_core::ConfigError> {
    /// let config = passage_core::Config::builder("my-app-id").build()?;
    /// let rocket = rocket::build().attach(passage_rocket::PassageFairing::new(config));
    /// # Ok(()) }
    /// ```
    pub fn new(config: Config) -> Self {
        Self {
            source: Source::Config(Box::new(config)),
            catchers: true,
        }
    }

    /// Manages an existing handle (one shared with code outside Rocket, say).
    ///
    /// ```no_run
    /// # fn run(passage: passage_core::Passage) {
    /// let rocket = rocket::build().attach(passage_rocket::PassageFairing::with_passage(passage));
    /// # }
    /// ```
    pub fn with_passage(passage: Passage) -> Self {
        Self {
            source: Source::Passage(passage),
            catchers: true,
        }
    }

    /// Leaves the catchers out, for an app that registers its own at `/`.
    ///
    /// ```no_run
    /// let rocket = rocket::build().attach(passage_rocket::PassageFairing::from_env().without_catchers());
    /// ```
    pub fn without_catchers(mut self) -> Self {
        self.catchers = false;
        self
    }
}

#[rocket::async_trait]
impl Fairing for PassageFairing {
    fn info(&self) -> Info {
        Info {
            name: "Passage",
            kind: Kind::Ignite,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if rocket.state::<Passage>().is_some() {
            tracing::error!(
                "passage-rocket: a Passage handle is already managed; attach PassageFairing or \
                 call .manage(passage), not both"
            );
            return Err(rocket);
        }
        let passage = match &self.source {
            Source::Env => Passage::from_env(),
            Source::Config(config) => Passage::new(Config::clone(config)),
            Source::Passage(passage) => Ok(passage.clone()),
        };
        match passage {
            Ok(passage) => {
                let rocket = rocket.manage(passage);
                if self.catchers {
                    Ok(rocket.register("/", crate::catchers()))
                } else {
                    Ok(rocket)
                }
            }
            Err(error) => {
                tracing::error!(%error, "passage-rocket: invalid Passage configuration");
                Err(rocket)
            }
        }
    }
}
