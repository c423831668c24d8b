//! placeholder

use axum::Router;

use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
}
