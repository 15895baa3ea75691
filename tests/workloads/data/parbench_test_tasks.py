"""Python functions the tests run as --py_task=parbench_test_tasks:FUNCTION."""


def work(index, payload):
    """A small deterministic task: a pure-Python loop; returns an int."""
    total = 0
    for i in range(1000 + index):
        total += i
    return total + len(payload)


def echo(index, payload):
    """Returns the payload: bytes, whose length is the proof."""
    return bytes(payload)


def nothing(index, payload):
    """Returns None."""
    return None


def boom(index, payload):
    """Raises on task 1."""
    if index == 1:
        raise ValueError("boom on task %d" % index)
    return index


def wrong_type(index, payload):
    """Returns a float: not allowed."""
    return 1.5


not_callable = 42
