"""Compiled kernel of the discrete-event simulator (:mod:`scheduling.simulate`).

A multi-server queue with a time-varying number of servers ("slots": agents x conversations
held at once), non-preemptive service (when the number of slots drops, the conversations in hand
are finished), one or more FIFO queues served in priority order, and optional abandonment. The
state is a binary heap of the completion times of the busy slots; a message is picked up at the
first instant at which it is the first waiting message of the highest non-empty queue and a slot
is free. Every message is touched a constant number of times, so a run costs O(n log s).

The functions are compiled with numba (``cache=True``: the compiled code is stored next to the
source, so only the first import on a machine pays the compile time). Without numba they run as
plain Python (about 100 x slower): the same code is the baseline of the benchmark.
"""

from __future__ import annotations

import math

import numpy as np

from scheduling._jit import njit


@njit(cache=True, nogil=True)
def _heap_push(heap, size, value):
    i = size
    heap[i] = value
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= value:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = value
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(heap, size):
    """Remove the smallest element; returns the new size."""
    size -= 1
    if size == 0:
        return 0
    last = heap[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= last:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = last
    return size


@njit(cache=True, nogil=True)
def run_queue(arrival, service, patience, order, queue_bounds, bp_time, bp_slots, t_end):
    """Simulate one replication.

    Parameters
    ----------
    arrival : float64[n]
        Arrival instants [s], any order.
    service : float64[n]
        Service time of each message once picked up [s].
    patience : float64[n]
        Time a message waits before it abandons [s] (``inf``: never).
    order : int64[n]
        Message indices grouped by queue (highest priority first), by arrival inside a queue.
    queue_bounds : int64[q + 1]
        Queue ``i`` holds ``order[queue_bounds[i]:queue_bounds[i + 1]]``.
    bp_time, bp_slots : float64[m], int64[m]
        Piecewise-constant number of slots: ``bp_slots[j]`` on ``[bp_time[j], bp_time[j + 1])``,
        the last until ``t_end``; no pick-up at or after ``t_end``.

    Returns
    -------
    start : float64[n]
        Pick-up instant (NaN: not picked up: abandoned or still waiting at ``t_end``).
    abandoned : bool[n]
        Left before being picked up (at ``arrival + patience``, before ``t_end``).
    """
    n = arrival.size
    n_queues = queue_bounds.size - 1
    n_bp = bp_time.size
    start = np.full(n, np.nan)
    abandoned = np.zeros(n, dtype=np.bool_)
    max_slots = 1
    for j in range(n_bp):
        if bp_slots[j] > max_slots:
            max_slots = bp_slots[j]
    heap = np.empty(max_slots + 1)
    size = 0
    heads = queue_bounds[:-1].copy()
    t = bp_time[0] if n_bp > 0 else 0.0
    j = 0
    while True:
        earliest = np.inf
        for q in range(n_queues):
            if heads[q] < queue_bounds[q + 1]:
                a = arrival[order[heads[q]]]
                if a < earliest:
                    earliest = a
        if earliest == np.inf:
            break
        tau = t if t > earliest else earliest
        # The first instant >= tau with a free slot.
        finished = False
        while True:
            if tau >= t_end:
                finished = True
                break
            while j + 1 < n_bp and bp_time[j + 1] <= tau:
                j += 1
            while size > 0 and heap[0] <= tau:
                size = _heap_pop(heap, size)
            if size < bp_slots[j]:
                break
            nxt = bp_time[j + 1] if j + 1 < n_bp else t_end
            if size > 0 and heap[0] < nxt:
                nxt = heap[0]
            tau = nxt
        if finished:
            break
        t = tau
        for q in range(n_queues):
            served = False
            while heads[q] < queue_bounds[q + 1]:
                m = order[heads[q]]
                if arrival[m] > tau:
                    break
                heads[q] += 1
                if arrival[m] + patience[m] < tau:
                    abandoned[m] = True
                    continue
                start[m] = tau
                size = _heap_push(heap, size, tau + service[m])
                served = True
                break
            if served:
                break
    # Messages still waiting at the end whose patience ran out before it abandoned too.
    for q in range(n_queues):
        for i in range(heads[q], queue_bounds[q + 1]):
            m = order[i]
            if arrival[m] + patience[m] < t_end:
                abandoned[m] = True
    return start, abandoned


@njit(cache=True, nogil=True)
def waiting_after_arrivals(arrival_sorted, removal_sorted):
    """Messages waiting (arrived, not yet picked up nor abandoned) just after each arrival.

    Both arrays sorted ascending; a removal at the same instant as an arrival happens first.
    """
    n = arrival_sorted.size
    out = np.empty(n, dtype=np.int64)
    k = 0
    r = removal_sorted.size
    for i in range(n):
        a = arrival_sorted[i]
        while k < r and removal_sorted[k] <= a:
            k += 1
        out[i] = i + 1 - k
    return out


def warm_up() -> float:
    """Compile (or load from the cache) the kernels on a tiny instance; returns the seconds it took."""
    import time

    started = time.perf_counter()
    arrival = np.array([0.0, 1.0, 2.0])
    start, _ = run_queue(arrival, np.ones(3), np.full(3, math.inf), np.arange(3, dtype=np.int64),
                         np.array([0, 3], dtype=np.int64), np.array([0.0]), np.array([1], dtype=np.int64), 10.0)
    waiting_after_arrivals(arrival, np.sort(start))
    return time.perf_counter() - started
