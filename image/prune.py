"""Remove what the box never uses from a root file system, following image/prune.txt.

A rule is a path relative to the root: `*` matches within one path segment, `**` matches
any number of folders. A matched folder goes with everything below it, except what a keep
rule (a line starting with `!`) matches. Comment lines above a group of rules give its reason.
Symbolic links are never followed, so a link to the build host never leads outside the root.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024
ANY_FOLDERS = "(?:[^/]+/)*"
REASON_WIDTH = 88


class PruneRuleError(ValueError):
    """A prune rule is not a relative path pattern."""


@dataclass(frozen=True)
class PruneRule:
    """One line of prune.txt: a path pattern, whether it keeps or removes, and why."""

    pattern: str
    reason: str
    keep: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compile the pattern to a regex over root-relative POSIX paths."""
        *folders, last = self.pattern.split("/")
        prefix = "".join(ANY_FOLDERS if s == "**" else _glob(s) + "/" for s in folders)
        object.__setattr__(self, "regex", re.compile(prefix + _glob(last) + r"\Z"))

    def matches(self, path: str) -> bool:
        """Tell whether a root-relative path matches this rule."""
        return self.regex.match(path) is not None


def _glob(segment: str) -> str:
    """Return the regex of one path segment in which `*` matches any run of characters."""
    return "[^/]*".join(re.escape(part) for part in segment.split("*"))


def read_rules(text: str) -> list[PruneRule]:
    """Parse prune.txt: a block of `# reason` lines gives the reason of the rules below it."""
    rules: list[PruneRule] = []
    reason = ""
    after_comment = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            words = line.lstrip("#").strip()
            reason = f"{reason} {words}" if after_comment else words
            after_comment = True
        else:
            after_comment = False
            if line:
                rules.append(_parse_rule(line, reason))
    return rules


def _parse_rule(line: str, reason: str) -> PruneRule:
    """Return the rule of one non-comment line, refusing paths that could leave the root."""
    keep = line.startswith("!")
    pattern = line.removeprefix("!")
    segments = pattern.split("/")
    if pattern.startswith("/") or ".." in segments or segments[-1] == "**":
        raise PruneRuleError(
            f"prune rule {line!r}: write a path relative to the root that ends in a name"
        )
    return PruneRule(pattern, reason, keep)


def doomed(root: Path, rules: list[PruneRule]) -> Iterator[tuple[str, PruneRule, bool]]:
    """Yield (relative path, rule, is a folder) for each entry to delete, parents first."""
    removing = [rule for rule in rules if not rule.keep]
    keeping = [rule for rule in rules if rule.keep]
    condemned: dict[str, PruneRule] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder).relative_to(root).as_posix()
        inherited = condemned.get(here)
        for name in [*dirs, *files]:
            path = name if here == "." else f"{here}/{name}"
            rule = inherited or next((r for r in removing if r.matches(path)), None)
            if rule is None or any(r.matches(path) for r in keeping):
                continue
            is_folder = name in dirs and not (root / path).is_symlink()
            if is_folder:
                condemned[path] = rule
            yield path, rule, is_folder


def prune(root: Path, rules: list[PruneRule]) -> dict[str, int]:
    """Delete what the rules condemn under root; return the bytes freed per reason."""
    freed: dict[str, int] = {}
    folders: list[str] = []
    for path, rule, is_folder in list(doomed(root, rules)):
        if is_folder:
            folders.append(path)
            continue
        entry = root / path
        freed[rule.reason] = freed.get(rule.reason, 0) + entry.lstat().st_size
        entry.unlink()
    for path in reversed(folders):
        if not any((root / path).iterdir()):
            (root / path).rmdir()
    return freed


def main(argv: list[str] | None = None) -> None:
    """Prune a root file system and print what each group of rules freed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("rules", type=Path)
    args = parser.parse_args(argv)
    freed = prune(args.root, read_rules(args.rules.read_text()))
    for reason, size in sorted(freed.items(), key=lambda item: -item[1]):
        print(f"  {size / MIB:6.1f} MiB  {reason[:REASON_WIDTH]}")


if __name__ == "__main__":
    main()
