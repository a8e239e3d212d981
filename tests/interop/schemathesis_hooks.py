"""Schemathesis hooks for test_admin_api_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

The run exercises every operation, destructive ones included, with ids it learns from earlier
answers. A few ids are the run's own credentials: the admin client, the admin API app, the grants
giving the client its role, the key that signed the run's token. Deleting, revoking or rewriting
those would not test the API, it would lock the run out (every later answer a declared, silently
passing 401). So before each request any of those ids (exactly, anywhere in the path, query or
JSON body) is swapped for an id that names nothing: the operation still runs and answers (404 for
an object that does not exist), it just cannot hit the run's own credentials.
"""

import os
import uuid

import schemathesis

PROTECTED = frozenset(i for i in os.environ.get("TOKENGATE_PROTECTED_IDS", "").split(",") if i)
_NAMESPACE = uuid.UUID("5b0c6a0e-7c1e-4c39-9d55-6d1f5c2a7e11")


def _stand_in(value: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, value))


def _scrub(value):
    if isinstance(value, str):
        return _stand_in(value) if value in PROTECTED else value
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    if not PROTECTED:
        return
    for name in ("path_parameters", "query"):
        params = getattr(case, name, None)
        if isinstance(params, dict):
            for key, value in list(params.items()):
                scrubbed = _scrub(value)
                if scrubbed != value:
                    params[key] = scrubbed
    body = getattr(case, "body", None)
    if isinstance(body, (dict, list, str)):
        scrubbed = _scrub(body)
        if scrubbed != body:
            case.body = scrubbed
