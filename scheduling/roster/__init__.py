"""Shift roster and opening-hours optimisation (Pyomo MILP, solved by HiGHS by default).

Modules:

- :mod:`scheduling.roster.shifts`: shift templates, contracts, premiums and solver settings read
  from ``shifts.toml`` (typed, validated records);
- :mod:`scheduling.roster.model`: candidate shifts (template x start x break placement), their
  cost and their sparse coverage of the planning buckets;
- :mod:`scheduling.roster.constraints`: one named function per constraint family;
- :mod:`scheduling.roster.solve`: :func:`solve_roster`, the orchestrator, and ``RosterResult``;
- :mod:`scheduling.roster.opening`: opening hours as decisions, the cost-versus-SL frontier;
- :mod:`scheduling.roster.explain`: elastic slack turned into violations and sentences;
- :mod:`scheduling.roster.coverage`: heads on duty per interval for any set of shifts.

``assign.py``, ``labour.py`` and ``export.py`` (named agents, labour rules, exports) belong to
the assignment step.
"""
