"""List and fingerprint the repository files an MMBox image is built from.

The image build copies exactly these files to build the project wheel and records their
digest, with that of the files it bakes in from elsewhere (the vendor public key), next to
the image, so a test can tell whether `build/image` still matches the tree.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

# Folders whose files never reach the image: changing them must not force a rebuild.
NOT_IN_IMAGE = ("tests", "simulator")


def source_files(repo: Path) -> list[PurePosixPath]:
    """Return the repository's tracked and untracked, not ignored, image inputs, sorted."""
    listing = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    paths = {PurePosixPath(name) for name in listing.split("\0") if name}
    return sorted(
        path
        for path in paths
        if path.parts[0] not in NOT_IN_IMAGE and (repo / path).is_file()
    )


def source_digest(repo: Path, baked: Sequence[Path] = ()) -> str:
    """Return the SHA-256 over the inputs' paths, executable bits and contents, and baked files."""
    digest = hashlib.sha256()
    for path in source_files(repo):
        file = repo / path
        executable = b"x" if file.stat().st_mode & 0o111 else b"-"
        digest.update(b"%s\0%s\0%s\0" % (str(path).encode(), executable, _file_sha256(file)))
    for file in baked:
        digest.update(b"baked\0%s\0" % _file_sha256(file))
    return digest.hexdigest()


def _file_sha256(file: Path) -> bytes:
    """Return the hex SHA-256 of one file's contents."""
    with file.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest().encode()


def main(argv: list[str] | None = None) -> None:
    """Print the image inputs (NUL-separated) or their digest."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("list", "digest"))
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--baked", type=Path, action="append", default=[],
                        help="a file from outside the repository that the image bakes in")
    args = parser.parse_args(argv)
    if args.what == "digest":
        print(source_digest(args.repo, args.baked))
        return
    sys.stdout.write("".join(f"{path}\0" for path in source_files(args.repo)))


if __name__ == "__main__":
    main()
