"""Getting data into the workspace: the bundled sample and uploaded files.

Shared by the command line and the app, so both ingest the same way.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Sequence

from forecast.ingest import DEFAULT_TZ, IngestOptions, IngestResult, ingest_files
from webcare.workspace import REPO_ROOT, DatasetInfo, Workspace, WorkspaceError

SAMPLE_FILE = REPO_ROOT / "data" / "sample" / "inbox_messages.parquet"
SAMPLE_DATASET = "sample"


def ingest_sample(tz: str = DEFAULT_TZ) -> IngestResult:
    """Ingest the bundled synthetic inbox (data/sample/)."""
    if not SAMPLE_FILE.exists():
        raise WorkspaceError(f"the bundled sample {SAMPLE_FILE} is missing: run `make sample` to generate it")
    return ingest_files([SAMPLE_FILE], IngestOptions(tz=tz))


def ensure_sample(workspace: Workspace, tz: str = DEFAULT_TZ) -> DatasetInfo:
    """The sample dataset, ingested into the workspace the first time it is asked for."""
    if SAMPLE_DATASET not in {d.name for d in workspace.list_datasets()}:
        workspace.save_dataset(SAMPLE_DATASET, ingest_sample(tz))
    return workspace.dataset_info(SAMPLE_DATASET)


def _safe_name(name: str, index: int) -> str:
    """A file name that is safe to write (no folders), keeping the extension for format detection."""
    base = Path(name).name or f"upload{index}"
    return f"{index:02d}_" + re.sub(r"[^\w.\- ]+", "_", base)


def ingest_uploads(files: Sequence[tuple[str, bytes]], options: IngestOptions) -> IngestResult:
    """Ingest uploaded files given as (original name, content); problems name the original files."""
    with tempfile.TemporaryDirectory(prefix="webcare-upload-") as tmp:
        paths = []
        for i, (name, content) in enumerate(files):
            path = Path(tmp) / _safe_name(name, i)
            path.write_bytes(content)
            paths.append(path)
        return ingest_files(paths, options, labels=[Path(name).name for name, _ in files])


def dataset_name_for(file_name: str) -> str:
    """A default dataset name from a file name: the name without its extensions."""
    name = Path(file_name).name
    while Path(name).suffix and len(Path(name).suffix) <= 8:
        name = Path(name).stem
    cleaned = re.sub(r"[^\w .\-]+", " ", name).strip().lstrip(".- ")[:100].strip()
    return cleaned or "upload"
