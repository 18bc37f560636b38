"""The backend seam: everything that depends on which API the client speaks.

The scheduler decides *when* to ask about a job; a :class:`Backend` decides *how*:
which route, which body, and how an answer becomes a
:class:`~heygen_client.models.JobStatus` or one of :mod:`heygen_client.errors`.
Its methods are called on the client's worker threads and must be thread-safe.

A backend says what it can do through :class:`~heygen_client.models.Capabilities`:
``batch_max_ids`` when :meth:`Backend.batch_status` may be called, and
``long_poll_max_wait`` when a status request may be held (``wait=``).  Either
it knows them up front (:attr:`Backend.known_capabilities`), or the scheduler
asks :meth:`Backend.capabilities` once, on a worker, before the first poll.

:class:`BaseBackend` has the optional parts; a new backend subclasses it and
writes :meth:`Backend.get_status` (docs/design.md has a complete example).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from heygen_client.errors import HTTPStatusError, JobNotFound, Unsupported
from heygen_client.models import PLAIN, Capabilities, JobStatus

if TYPE_CHECKING:
    from heygen_client._transport import Transport

__all__ = ["Backend", "BackendFactory", "BaseBackend", "BatchAnswer", "job_not_found"]


def job_not_found(error: HTTPStatusError) -> HTTPStatusError:
    """A 404 on a job's route is the job's news: the server does not know it.

    Any other error is returned as is; raise the result ``from error.__cause__``.
    """
    if error.status_code != 404 or isinstance(error, JobNotFound):
        return error
    found = JobNotFound(
        str(error), status_code=404, body=error.body, retry_after=error.retry_after
    )
    found.__cause__ = error.__cause__
    return found


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """The answer to one request about many jobs.

    Attributes:
        statuses: a status for each job the server knows.
        unknown: the ids the server says it does not know (each fails with
            :class:`~heygen_client.errors.JobNotFound`).
    """

    statuses: Sequence[JobStatus]
    unknown: Sequence[str]


class Backend(Protocol):
    """One API dialect, spoken over a :class:`~heygen_client._transport.Transport`."""

    @property
    def name(self) -> str:
        """A short name for logs and messages (``"mock"``, ``"heygen"``)."""
        ...

    @property
    def known_capabilities(self) -> Capabilities | None:
        """The capabilities when known without a request; None to ask :meth:`capabilities`."""
        ...

    def capabilities(self) -> Capabilities:
        """Ask the server what it offers (one request at most).

        Raises:
            HeyGenError: a transient failure; the scheduler treats the server as
                plain meanwhile and asks again later.
        """
        ...

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        """One job's status; ``wait`` asks the server to hold the answer (long-poll).

        Raises:
            JobNotFound: the server does not know the job.
            HeyGenError: any other failed request.
        """
        ...

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        """Many jobs' statuses in one request (only called when capabilities allow)."""
        ...

    def create_job(self, options: Mapping[str, Any]) -> JobStatus:
        """Create one job from a body in the backend's own dialect; its first status."""
        ...

    def translate(
        self,
        video_url: str,
        output_languages: Sequence[str],
        fields: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> list[JobStatus]:
        """Start translating ``video_url``: one job per output language, in order.

        ``idempotency_key`` is the same on every retry of one call, so that a
        retried request never starts a second (paid) job.
        """
        ...


BackendFactory: TypeAlias = "Callable[[Transport], Backend]"
"""What ``TranslationClient(api=...)`` takes besides a name: makes a backend from
the client's transport (its HTTP plumbing: session, timeouts, error map)."""


class BaseBackend:
    """Defaults for the optional parts of :class:`Backend`: a plain server.

    A subclass sets :attr:`name` and writes :meth:`get_status`; it overrides
    the rest only for what its server offers.
    """

    name = "custom"
    known_capabilities: Capabilities | None = PLAIN

    def capabilities(self) -> Capabilities:
        """Nothing beyond single status requests."""
        return PLAIN

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        raise NotImplementedError

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        raise Unsupported(f"the {self.name} backend has no batch status route")

    def create_job(self, options: Mapping[str, Any]) -> JobStatus:
        raise Unsupported(f"the {self.name} backend cannot create jobs")

    def translate(
        self,
        video_url: str,
        output_languages: Sequence[str],
        fields: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> list[JobStatus]:
        raise Unsupported(f"the {self.name} backend cannot start translations")
