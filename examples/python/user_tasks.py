"""Your own work, measured by parbench: `bench --py_task=user_tasks:digest
--py_path=examples/python --py_payload_bytes=4194304`.

bench calls FUNCTION(index, payload) once per task, with `payload` a bytes object of
--py_payload_bytes (process workers receive it through their pipe, as a ProcessPoolExecutor's
pickled argument would be). Return an int, bytes or None: it is the task's proof of work, and
every later run of the same task must return the same (so the function must be deterministic).
"""

import hashlib


def digest(index, payload):
    """SHA-256 of the payload, salted with the task's index; its first 8 bytes as an int.

    hashlib releases the GIL while it hashes a buffer of 2 KiB or more, so threads run these
    calls side by side even though the interpreter is shared.
    """
    h = hashlib.sha256(index.to_bytes(4, "little"))
    h.update(payload)
    return int.from_bytes(h.digest()[:8], "little")


def count(index, payload):
    """The article's loop over the payload's bytes: pure Python, which holds the GIL."""
    total = index
    for byte in payload:
        total += byte
    return total
