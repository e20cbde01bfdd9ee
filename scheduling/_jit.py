"""numba's ``njit`` where numba is installed, else a decorator that leaves the function as plain
Python (with ``py_func`` pointing at itself, as numba's dispatchers have): one fallback for the
compiled kernels of the backlog planner and the simulator."""

from __future__ import annotations

try:  # pragma: no cover - exercised implicitly
    from numba import njit

    HAVE_NUMBA = True
except ModuleNotFoundError:  # pragma: no cover
    HAVE_NUMBA = False

    def njit(*args, **kwargs):
        def wrap(func):
            func.py_func = func
            return func

        if args and callable(args[0]):
            return wrap(args[0])
        return wrap
