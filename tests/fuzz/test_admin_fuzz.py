"""Fuzz the ``/admin/*`` routes of a server started with ``--admin``.

The other fuzzed apps run without ``--admin``, as a public server would, so
there the admin routes only ever answer 404. Here they are on, and only they
are fuzzed: a valid ``PUT /admin/faults`` switches faults on, which would
break the other operations' contract on purpose (see ``test_openapi_fuzz``).
The same checks apply: documented statuses and schemas, valid input accepted,
invalid input rejected with a 4xx, never a 5xx, never HTML or a traceback.
"""

from __future__ import annotations

from tests.fuzz.test_openapi_fuzz import FUZZ_SETTINGS, AnyCase, load, no_leak

ADMIN_SCHEMA, ADMIN_TRAFFIC = load("openapi/admin", admin=True)
ADMIN = ADMIN_SCHEMA.include(path_regex="^/admin/")


@ADMIN.parametrize()
@FUZZ_SETTINGS
def test_admin_routes(case: AnyCase) -> None:
    case.call_and_validate(additional_checks=[no_leak])


def test_admin_fuzzer_ran_and_saw_what_it_should() -> None:
    """Guards against fuzzing nothing, or only 404s (runs after the fuzzer, in file order)."""
    if ADMIN_TRAFFIC.requests == 0:
        # Run on its own (pytest -k): nothing to check.
        return
    assert ADMIN_TRAFFIC.requests > 100, ADMIN_TRAFFIC.statuses
    assert ADMIN_TRAFFIC.server_errors == 0
    assert ADMIN_TRAFFIC.statuses[200] > 0
    assert ADMIN_TRAFFIC.statuses[400] > 0
