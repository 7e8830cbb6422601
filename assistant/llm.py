"""The chat model: any OpenAI-compatible server through the official openai client, streaming or not.

Errors become PapersError with the fix to apply; the API key never appears in any message.
"""

from __future__ import annotations

from collections.abc import Iterator

from assistant.config import LLMSettings
from assistant.errors import PapersError

# Statuses worth retrying: a timeout, rate limiting, and the server-side failures that pass (a crash, a bad
# gateway, overload, a gateway timeout). Every other error status (400-499 but 408 and 429, 501 Not
# Implemented, 505 ...) says the request itself is wrong, and a retry would only fail again more slowly.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _mark_permanent_errors(response) -> None:
    """httpx response hook: tell the openai client not to retry an error that is not transient.

    The client retries every 5xx and 409; it obeys the `x-should-retry` header first, so a non-transient
    status gets `x-should-retry: false` unless the server said otherwise.
    """
    if response.status_code >= 400 and response.status_code not in TRANSIENT_STATUSES:
        response.headers.setdefault("x-should-retry", "false")


class ChatModel:
    """One OpenAI-compatible chat endpoint."""

    def __init__(self, settings: LLMSettings):
        from openai import DefaultHttpxClient, OpenAI

        self.settings = settings
        self.model = settings.model
        self.cut_off = False  # the last answer stopped at max_tokens (finish_reason "length")
        self.base_url = settings.base_url or "https://api.openai.com/v1"
        key = (settings.api_key.get_secret_value() if settings.api_key else "").strip() or "not-needed"
        self._client = OpenAI(
            api_key=key,
            base_url=self.base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            http_client=DefaultHttpxClient(event_hooks={"response": [_mark_permanent_errors]}),
        )

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """Yield the completion's text as it arrives."""
        with self._errors():
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
                stream=True,
            )
            events = 0
            for event in response:
                events += 1
                if event.choices and event.choices[0].finish_reason == "length":
                    self.cut_off = True
                if event.choices and event.choices[0].delta and event.choices[0].delta.content:
                    yield event.choices[0].delta.content
            if events == 0:  # a 200 that is no event stream (a web page, a proxy's error page)
                raise PapersError(
                    f"the LLM at {self.base_url} returned a malformed response (no stream events)",
                    fix="check that the base URL points to an OpenAI-compatible /v1 endpoint",
                )

    def complete(self, messages: list[dict]) -> str:
        with self._errors():
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
            )
            if not response.choices or response.choices[0].message is None:
                raise PapersError(f"the LLM at {self.base_url} returned no completion", fix="check the server's logs")
            self.cut_off = response.choices[0].finish_reason == "length"
            return response.choices[0].message.content or ""

    def _errors(self):
        return _translate_errors(self.base_url, self.model, self.settings)


class _translate_errors:
    """Turn openai exceptions into PapersError messages that say what to fix (and never show the key)."""

    def __init__(self, base_url: str, model: str, settings: LLMSettings):
        self.base_url, self.model, self.settings = base_url, model, settings

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        import openai

        url = self.base_url
        if isinstance(exc, (ValueError, KeyError, TypeError, AttributeError)) and not isinstance(exc, PapersError):
            raise PapersError(
                f"the LLM at {url} returned a malformed response ({type(exc).__name__})",
                fix="check that the base URL points to an OpenAI-compatible /v1 endpoint",
            ) from None
        if exc is None or not isinstance(exc, openai.OpenAIError):
            return False
        if isinstance(exc, openai.AuthenticationError):
            raise PapersError(
                f"the LLM at {url} rejected the API key (401)",
                fix="set a valid key in OPENAI_API_KEY (or PAPERS_LLM_API_KEY)",
            ) from None
        if isinstance(exc, openai.NotFoundError):
            raise PapersError(
                f"the LLM at {url} does not know model '{self.model}' (404)",
                fix="pick a model the server serves with --model or PAPERS_LLM_MODEL",
            ) from None
        if isinstance(exc, openai.RateLimitError):
            raise PapersError(
                f"the LLM at {url} is rate limiting (429) after {self.settings.max_retries} retries",
                fix="wait and try again, or raise PAPERS_LLM_MAX_RETRIES",
            ) from None
        if isinstance(exc, openai.APITimeoutError):
            raise PapersError(
                f"the LLM at {url} did not answer within {self.settings.timeout:g} s",
                fix="raise PAPERS_LLM_TIMEOUT, or check the server",
            ) from None
        if isinstance(exc, openai.APIConnectionError):
            raise PapersError(
                f"cannot connect to the LLM at {url}",
                fix="start the server, or fix --base-url / PAPERS_LLM_BASE_URL",
            ) from None
        if isinstance(exc, openai.APIStatusError) and exc.status_code not in TRANSIENT_STATUSES:
            raise PapersError(
                f"the LLM at {url} refused the request with HTTP {exc.status_code} (not retried: it is not a "
                "temporary failure)",
                fix="check --base-url / PAPERS_LLM_BASE_URL and --model, and the server's logs",
            ) from None
        if isinstance(exc, openai.APIStatusError):
            raise PapersError(
                f"the LLM at {url} failed with HTTP {exc.status_code}",
                fix="try again later, or check the server's logs",
            ) from None
        raise PapersError(f"the LLM at {url} failed: {type(exc).__name__}", fix="check the server") from None
