//! The sync engine's HTTP face: how the aggregators and the user's browser come back to the bridge. It
//! stands with the wire, above the engine it calls (see the layers in `src/lib.rs`).
//!
//! * `callbacks` — Salt Edge's signed callbacks (`POST /saltedge/callbacks/{kind}`);
//! * `return_page` — where the aggregators' pages send the browser back (`GET /saltedge/return`,
//!   `GET /enablebanking/return`, the redirect URL an Enable Banking application registers).

pub mod callbacks;
pub mod return_page;

/// The aggregators' routes into the bridge.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.route("/saltedge/callbacks/{kind}", web::post().to(callbacks::callback))
        .route("/saltedge/return", web::get().to(return_page::return_page))
        .route("/enablebanking/return", web::get().to(return_page::enablebanking_return));
}
