"""Know when a HeyGen video-translation job is done.

One shared scheduler thread polls any number of jobs, each at its own adaptive
interval, and resolves real :class:`concurrent.futures.Future` objects.

    >>> from heygen_client import TranslationClient
    >>> with TranslationClient("http://127.0.0.1:5000") as client:  # doctest: +SKIP
    ...     status = client.track("j123").result(timeout=60)

:class:`AsyncTranslationClient` is the asyncio face of the same scheduler.
"""

from heygen_client import policies
from heygen_client._async import AsyncTranslationClient
from heygen_client._async_futures import AsyncJobBatch, AsyncJobFuture
from heygen_client._backends import Backend, BackendFactory, BaseBackend, BatchAnswer
from heygen_client._batch import JobBatch
from heygen_client._client import TranslationClient
from heygen_client._futures import JobFuture
from heygen_client._options import ClientOptions, Limits, Polling, Timeouts
from heygen_client._transport import Transport
from heygen_client.errors import (
    ClientClosed,
    ConnectTimeout,
    DeadlineExceeded,
    HeyGenError,
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    RateLimited,
    ReadTimeout,
    StoreError,
    TranslationFailed,
    TransportError,
    TransportTimeout,
    Unsupported,
    WaitTimeout,
)
from heygen_client.models import (
    Capabilities,
    ClientStats,
    JobResult,
    JobStatus,
    PollEvent,
    PollHook,
    StateChange,
    StateChangeHook,
    WebhookEndpoint,
)
from heygen_client.policies import PollPolicy, RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "AsyncJobBatch",
    "AsyncJobFuture",
    "AsyncTranslationClient",
    "Backend",
    "BackendFactory",
    "BaseBackend",
    "BatchAnswer",
    "Capabilities",
    "ClientClosed",
    "ClientOptions",
    "ClientStats",
    "ConnectTimeout",
    "DeadlineExceeded",
    "HTTPStatusError",
    "HeyGenError",
    "JobBatch",
    "JobFuture",
    "JobNotFound",
    "JobResult",
    "JobStatus",
    "Limits",
    "MalformedResponse",
    "PollEvent",
    "PollHook",
    "PollPolicy",
    "Polling",
    "RateLimited",
    "ReadTimeout",
    "RetryPolicy",
    "StateChange",
    "StateChangeHook",
    "StoreError",
    "Timeouts",
    "TranslationClient",
    "TranslationFailed",
    "Transport",
    "TransportError",
    "TransportTimeout",
    "Unsupported",
    "WaitTimeout",
    "WebhookEndpoint",
    "__version__",
    "policies",
]
