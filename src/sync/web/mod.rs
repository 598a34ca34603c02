//! The sync engine's HTTP face: how Salt Edge and the user's browser come back to the bridge. It stands
//! with the wire, above the engine it calls (see the layers in `src/lib.rs`).
//!
//! * `callbacks` — Salt Edge's signed callbacks (`POST /saltedge/callbacks/{kind}`);
//! * `return_page` — where Salt Edge's page sends the browser back (`GET /saltedge/return`).

pub mod callbacks;
pub mod return_page;

/// Salt Edge's routes into the bridge.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.route("/saltedge/callbacks/{kind}", web::post().to(callbacks::callback))
        .route("/saltedge/return", web::get().to(return_page::return_page));
}
