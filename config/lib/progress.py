"""A progress bar for commands that run long on a terminal."""

from __future__ import annotations


class ProgressBar:
    """A one-line progress bar on a terminal; silent otherwise (cron, CI, logs)."""

    def __init__(self, stream, *, width: int = 30):
        self.stream = stream
        self.width = width
        self.shown = False

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if total:
            filled = int(self.width * min(done, total) / total)
            bar = "#" * filled + "." * (self.width - filled)
            line = f"\r{label:<24} [{bar}] {done}/{total}"
        else:
            line = f"\r{label:<24} {done} papers"
        # Plain text: Django would colour all of stderr as an error.
        self.stream.write(line.ljust(70), ending="", style_func=str)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("", style_func=str)
