use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::{debug, trace};

use crate::client::{Answered, root_cause};
use crate::types::{ChatResponse, StreamEvent};
use crate::wire::{ProviderError, StreamParser, StreamStep};
use crate::{Error, WireFormat};

/// A streamed answer: [`StreamEvent::Delta`]s then one [`StreamEvent::Done`].
///
/// Ends with an `Err` item instead if the provider fails, falls silent for
/// longer than the idle timeout, or the call is cancelled. Dropping it closes
/// the connection and frees the concurrency slot.
pub struct ChatStream {
    inner: BoxStream<'static, Result<StreamEvent, Error>>,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream").finish_non_exhaustive()
    }
}

impl Stream for ChatStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl ChatStream {
    /// Reads the whole stream and returns the answer text.
    pub async fn collect_text(mut self) -> Result<String, Error> {
        let mut text = String::new();
        while let Some(event) = self.next().await {
            if let StreamEvent::Delta { text: piece } = event? {
                text.push_str(&piece);
            }
        }
        Ok(text)
    }

    /// A stream for a server that answered in one piece although asked to stream.
    pub(crate) fn from_answer(answer: ChatResponse) -> Self {
        let events = vec![
            Ok(StreamEvent::Delta { text: answer.text }),
            Ok(StreamEvent::Done { finish_reason: answer.finish_reason, usage: answer.usage }),
        ];
        ChatStream { inner: stream::iter(events).boxed() }
    }

    pub(crate) fn new(
        answered: Answered,
        wire: WireFormat,
        provider: String,
        idle_timeout: Duration,
        cancel: CancellationToken,
    ) -> Self {
        let url = answered.response.url().clone();
        let shown_url = crate::client::display_url(&url);
        let state = State {
            events: answered.response.bytes_stream().eventsource().boxed(),
            _permit: answered.permit,
            wire,
            provider,
            shown_url,
            idle_timeout,
            cancel,
            parser: StreamParser::default(),
            finished: false,
        };
        let inner = stream::unfold(state, |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        })
        .boxed();
        ChatStream { inner }
    }
}

type SseStream = BoxStream<'static, Result<eventsource_stream::Event, EventStreamError<reqwest::Error>>>;

struct State {
    events: SseStream,
    /// Held for as long as the stream lives: the answer is still in flight.
    _permit: OwnedSemaphorePermit,
    wire: WireFormat,
    provider: String,
    shown_url: String,
    idle_timeout: Duration,
    cancel: CancellationToken,
    parser: StreamParser,
    finished: bool,
}

impl State {
    fn fail(&mut self, error: Error) -> Option<Result<StreamEvent, Error>> {
        self.finished = true;
        debug!(provider = %self.provider, code = error.code(), "stream ended with an error");
        Some(Err(error))
    }

    async fn next_item(&mut self) -> Option<Result<StreamEvent, Error>> {
        if self.finished {
            return None;
        }
        loop {
            let next = tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
                    let error = Error::Cancelled { provider: self.provider.clone() };
                    return self.fail(error);
                }
                next = tokio::time::timeout(self.idle_timeout, self.events.next()) => next,
            };
            let event = match next {
                Err(_) => {
                    let error = Error::Timeout { provider: self.provider.clone(), after: self.idle_timeout };
                    return self.fail(error);
                }
                Ok(None) => {
                    let error = self.bad("the stream ended before the answer was complete".to_owned());
                    return self.fail(error);
                }
                Ok(Some(Err(EventStreamError::Transport(e)))) => {
                    let error = if e.is_timeout() {
                        Error::Timeout { provider: self.provider.clone(), after: self.idle_timeout }
                    } else {
                        Error::Unreachable {
                            provider: self.provider.clone(),
                            url: self.shown_url.clone(),
                            reason: root_cause(&e),
                        }
                    };
                    return self.fail(error);
                }
                Ok(Some(Err(e))) => {
                    let error = self.bad(format!("invalid event stream: {e}"));
                    return self.fail(error);
                }
                Ok(Some(Ok(event))) => event,
            };
            trace!(provider = %self.provider, event = %event.event, "stream event");
            match self.parser.step(self.wire, &event.event, &event.data) {
                Ok(StreamStep::Nothing) => continue,
                Ok(StreamStep::Emit(item)) => {
                    if matches!(item, StreamEvent::Done { .. }) {
                        self.finished = true;
                    }
                    return Some(Ok(item));
                }
                Ok(StreamStep::ProviderError(e)) => {
                    let error = self.in_stream_error(e);
                    return self.fail(error);
                }
                Err(detail) => {
                    let error = self.bad(detail);
                    return self.fail(error);
                }
            }
        }
    }

    fn bad(&self, detail: String) -> Error {
        Error::BadResponse { provider: self.provider.clone(), detail, expected: self.wire.describe() }
    }

    /// An error the provider sent inside an already-successful (HTTP 200) stream.
    fn in_stream_error(&self, e: ProviderError) -> Error {
        let provider = self.provider.clone();
        let kind = e.kind.as_deref().or(e.code.as_deref()).unwrap_or_default();
        match kind {
            k if k.starts_with("rate_limit") => Error::RateLimited { provider, retry_after: None },
            "overloaded_error" => Error::Server { provider, status: 529, attempts: 1 },
            "api_error" | "server_error" => Error::Server { provider, status: 500, attempts: 1 },
            _ => Error::Rejected {
                provider,
                status: 200,
                message: e
                    .message
                    .unwrap_or_else(|| "the provider reported an error mid-answer".to_owned())
                    .chars()
                    .take(300)
                    .collect(),
            },
        }
    }
}
