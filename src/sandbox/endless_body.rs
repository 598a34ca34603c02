//! An answer body that never ends (the sandboxes' `endless_body` fault): an opening, then the same row
//! again and again, so that a client's limit on what it reads is what ends the answer.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

pub(crate) struct EndlessBody {
    opening: &'static [u8],
    row: &'static str,
    started: bool,
}

impl EndlessBody {
    /// `opening` once (e.g. `{"data": [`), then `row` (ending in a comma) for ever.
    pub(crate) fn new(opening: &'static [u8], row: &'static str) -> Self {
        EndlessBody { opening, row, started: false }
    }
}

impl MessageBody for EndlessBody {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        if !self.started {
            self.started = true;
            return Poll::Ready(Some(Ok(Bytes::from_static(self.opening))));
        }
        Poll::Ready(Some(Ok(Bytes::from(self.row.repeat(512)))))
    }
}
