"""The one error type the CLI reports: a file and what is wrong with it."""


class ToolError(Exception):
    """Bad input. str() is the one line the user sees (the CLI exits with status 2)."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
