"""Fail when a program or shared object in the image needs a library the image lacks.

Runs inside the root file system, with the image's own interpreter and dynamic loader, so
the answer comes from the image's ld.so.cache and each object's RPATH, as at run time:
    bwrap --bind ROOTFS / ... /usr/bin/python3.11 - < image/linkcheck.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

LOADER = "/lib64/ld-linux-x86-64.so.2"
ELF_MAGIC = b"\x7fELF"
SEARCHED = ("/usr/bin", "/usr/sbin", "/usr/lib")
LOAD_ERROR = "error while loading shared libraries:"


def elf_files() -> Iterator[Path]:
    """Yield every regular ELF file under the searched folders."""
    for top in SEARCHED:
        for folder, _, files in os.walk(top):
            for name in files:
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                with path.open("rb") as stream:
                    if stream.read(4) == ELF_MAGIC:
                        yield path


def missing_libraries(path: Path) -> list[str]:
    """Return the sonames the loader cannot find for one ELF file.

    ldd-style "=> not found" lines name every missing library of a program; loading a
    shared object stops at its first missing library with LOAD_ERROR instead.
    """
    listing = subprocess.run([LOADER, "--list", str(path)], capture_output=True, text=True)
    missing = [line.split()[0] for line in listing.stdout.splitlines() if "not found" in line]
    for line in listing.stderr.splitlines():
        if LOAD_ERROR in line:
            missing.append(line.split(LOAD_ERROR, 1)[1].split(":")[0].strip())
    return missing


def main() -> None:
    """Print every unresolved library and exit non-zero if there is one."""
    unresolved = {str(path): missing_libraries(path) for path in elf_files()}
    unresolved = {path: names for path, names in unresolved.items() if names}
    for path, names in sorted(unresolved.items()):
        print(f"{path}: missing {', '.join(names)}", file=sys.stderr)
    if unresolved:
        sys.exit("linkcheck: add the packages that provide these libraries to image/packages.txt")


if __name__ == "__main__":
    main()
