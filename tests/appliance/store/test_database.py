"""One writer per database, every other process a reader of another uid, as on the box."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

WRITER, READER = 6111, 6121
"""A bot's uid, and the panel's (in the bot's group, as the supervisor starts it)."""

WRITE = """
import sys
from pathlib import Path
from appliance.store.events import EventLog, QuotesChosen
log = EventLog(Path(sys.argv[1]))
log.append("MTS/USDT", QuotesChosen(None, (), ()))
log.close()
"""
READ = """
import sys
from pathlib import Path
from appliance.store.events import open_events, read_events
print(len(read_events(open_events(Path(sys.argv[1])))))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the writer and reader apart")
def test_a_log_whose_writer_stopped_is_still_read_by_a_reader_of_another_uid() -> None:
    root = Path(tempfile.mkdtemp(prefix="mmbox-readers-", dir="/tmp"))  # others may pass
    root.chmod(0o755)
    try:
        check(root)
    finally:
        shutil.rmtree(root)


def check(root: Path) -> None:
    folder = root / "bot-1"
    folder.mkdir()
    os.chown(folder, WRITER, WRITER)
    folder.chmod(0o750)
    path = folder / "events.db"
    for _ in range(2):  # a fresh log, then one opened again (WAL on again) and closed
        wrote = subprocess.run([sys.executable, "-c", WRITE, str(path)], cwd=REPO,
                               user=WRITER, group=WRITER, capture_output=True, text=True)
        assert wrote.returncode == 0, wrote.stderr
    assert not path.with_name("events.db-wal").exists()
    read = subprocess.run([sys.executable, "-c", READ, str(path)], cwd=REPO, user=READER,
                          group=READER, extra_groups=[WRITER], capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "2"
