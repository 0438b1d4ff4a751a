//! A bare Rocket app: `GET /health` answered as the example answers it, with Rocket's defaults
//! and nothing of Passage or of the example's logging. The load benchmark (`benches/load.py`)
//! compares the example's `/health` with this one. Configured by Rocket's own variables
//! (`ROCKET_PORT`, `ROCKET_WORKERS`, ...).

#[rocket::get("/health")]
fn health() -> &'static str {
    "ok"
}

#[rocket::launch]
fn rocket() -> _ {
    rocket::build().mount("/", rocket::routes![health])
}
