"""Glue of the Roster page: whether the optimiser is there, the editable tables as the optimiser's
inputs, and the run itself (scheduling/roster: solve_roster, assign_agents, export), no UI."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from app_pages.common import optional_module

TEMPLATE_COLUMNS = ["name", "length", "start_from", "start_to", "start_every", "days", "break_length",
                    "break_from", "break_to", "hourly_wage"]
DEFAULT_TEMPLATES = pd.DataFrame([
    ["early", "8h", "07:00", "10:00", "60m", "daily", "30m", "3h", "5h", 30.0],
    ["late", "8h", "13:00", "15:00", "60m", "daily", "30m", "3h", "5h", 30.0],
    ["short", "4h", "16:00", "18:00", "60m", "daily", "", "", "", 30.0],
], columns=TEMPLATE_COLUMNS)


def available() -> bool:
    """True when scheduling/roster has solve_roster, assign_agents and the exports."""
    solve = optional_module("scheduling.roster.solve")
    assign = optional_module("scheduling.roster.assign")
    export = optional_module("scheduling.roster.export")
    return (solve is not None and hasattr(solve, "solve_roster") and assign is not None
            and hasattr(assign, "assign_agents") and export is not None and hasattr(export, "to_xlsx"))


def default_agents(n: int) -> pd.DataFrame:
    return pd.DataFrame({"agent": [f"A{i + 1:02d}" for i in range(n)], "name": [f"Agent {i + 1}" for i in range(n)],
                         "min_hours_week": 24.0, "max_hours_week": 36.0, "days_off": ""})


def config_from_table(templates: pd.DataFrame, time_limit: float):
    """A RosterConfig from the templates table (each row one [[shift]]; wages become contracts)."""
    from scheduling.roster.shifts import shifts_from_dict

    rows = templates.dropna(subset=["name"]).to_dict("records")
    if not rows:
        raise ValueError("add at least one shift template")
    contracts, shifts = {}, []
    for i, r in enumerate(rows, start=1):
        def text(key):
            value = r.get(key)
            return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()

        try:
            wage = float(r.get("hourly_wage"))
        except (TypeError, ValueError):
            raise ValueError(f"shift template row {i} ({text('name')}): hourly_wage must be a number") from None
        contract = f"wage {wage:g}"
        contracts[contract] = {"hourly_wage": wage}
        shift = {"name": text("name"), "length": text("length"), "days": text("days") or "daily", "contract": contract}
        for key in ("start_from", "start_to", "start_every"):
            if text(key):
                shift[key] = text(key)
        if text("break_length"):
            shift["break"] = {"length": text("break_length"), "window": [text("break_from") or "0h", text("break_to") or text("length")]}
        shifts.append(shift)
    return shifts_from_dict({"contracts": contracts, "shift": shifts, "solver": {"time_limit": float(time_limit)}},
                            "shift templates")


def pooled_requirement(plan_table: pd.DataFrame, week: str) -> pd.DataFrame:
    """Productive agents required per quarter-hour of one ISO week, all channels together."""
    iso = plan_table["ds"].dt.isocalendar()
    weeks = iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    part = plan_table[weeks == week]
    if part.empty:
        raise ValueError(f"the plan has no intervals in week {week}")
    pooled = part.groupby("ds", as_index=False).agg(agents_required=("agents_required", "sum"), volume=("volume", "sum"))
    return pooled


def optimise(templates: pd.DataFrame, agents: pd.DataFrame, requirement: pd.DataFrame, shrinkage: float,
             time_limit: float, tz: str):
    """The cheapest shifts for the requirement, then named agents on them."""
    from scheduling.roster.assign import assign_agents
    from scheduling.roster.labour import LabourRules, validate_agents
    from scheduling.roster.solve import solve_roster

    config = config_from_table(templates, time_limit)
    checked = validate_agents(agents.dropna(subset=["agent"]).replace({"": None}), "agents table")
    result = solve_roster(config, requirements=requirement, shrinkage=shrinkage, time_limit=time_limit)
    assignment = None
    if not result.shifts.empty:
        assignment = assign_agents(result.shifts, checked, LabourRules(), tz=tz, time_limit=time_limit)
    return result, assignment


def export_bytes(roster: pd.DataFrame, tz: str) -> dict[str, bytes]:
    """CSV, XLSX and one iCalendar file with every agent's shifts (scheduling.roster.export)."""
    from scheduling.roster import export

    out = {}
    with tempfile.TemporaryDirectory(prefix="webcare-roster-") as tmp:
        out["csv"] = export.to_csv(roster, Path(tmp) / "roster.csv", tz=tz).read_bytes()
        out["xlsx"] = export.to_xlsx(roster, Path(tmp) / "roster.xlsx", tz=tz).read_bytes()
        if "agent" in roster.columns and hasattr(export, "ics_text"):
            out["ics"] = export.ics_text(roster, tz=tz).encode("utf-8")
    return out
