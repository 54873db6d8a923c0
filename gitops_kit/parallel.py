"""Load and check large inputs on every core: forked workers, deterministic merge.

The files (already grouped by directory) are cut into contiguous chunks at directory boundaries,
so every directory's scope rules run inside one process. The parent checks the first chunk itself
while each forked child checks one other chunk and sends back, pickled through a pipe: its
findings (located and suppressed there, in parallel), the records of repository rules (merged
in chunk order, which is file order, so `finish` sees what a serial run sees), counts and notes.

A child that fails for any reason other than a user error (a record that cannot be pickled, a
crash) is not trusted: the parent checks that chunk itself, so the result never depends on it.
Fork only: the children inherit the imported rules, configuration and compiled schemas for free.
"""

from __future__ import annotations

import os
import pickle
import sys

from .discover import Files
from .engine import Engine, load_serially
from .errors import UserError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

    from .discover import SourcePath


def split_by_directory(sources: Sequence[SourcePath], parts: int) -> list[Sequence[SourcePath]]:
    """`parts` contiguous chunks of about equal size, never splitting a directory. Discovery's `Files`
    are cut into `Files` (whole directories, nothing built per file: the parent never holds the
    SourcePaths of the children's chunks); a list into lists."""
    target = max(1, -(-len(sources) // parts))
    if isinstance(sources, Files):
        runs: list[list[Files]] = [[]]
        size = 0
        for directory in sources.directories():
            if size >= target and len(runs) < parts:
                runs.append([])
                size = 0
            runs[-1].append(directory)
            size += len(directory)
        return [_joined(run) for run in runs if run]
    chunks: list[list[SourcePath]] = [[]]
    previous = None
    for source in sources:
        directory = source.file.rpartition("/")[0]
        if len(chunks[-1]) >= target and directory != previous and len(chunks) < parts:
            chunks.append([])
        chunks[-1].append(source)
        previous = directory
    return [chunk for chunk in chunks if chunk]


def _joined(directories: list[Files]) -> Files:
    return Files([folder for directory in directories for folder in directory.folders])


WARM_UP_FILES = 48


def _leading_directories(chunk: Sequence[SourcePath], at_least: int) -> tuple[Sequence[SourcePath], Sequence[SourcePath]]:
    """The first whole directories holding at least `at_least` files, and the rest."""
    if isinstance(chunk, Files):
        directories = chunk.directories()
        count = taken = 0
        while taken < len(directories) and count < at_least:
            count += len(directories[taken])
            taken += 1
        return _joined(directories[:taken]), _joined(directories[taken:])
    index = min(at_least, len(chunk))
    if index < len(chunk):
        directory = chunk[index - 1].file.rpartition("/")[0]
        while index < len(chunk) and chunk[index].file.rpartition("/")[0] == directory:
            index += 1
    return chunk[:index], chunk[index:]


FILES_PER_CHUNK = 2500
MAX_CHUNKS = 8


def chunk_count(files: int, jobs: int) -> int:
    """`jobs` chunks, or more on very large inputs: each child's result is unpickled in the parent
    one at a time, and smaller results keep the parent's peak memory close to a serial run's."""
    return max(jobs, min(MAX_CHUNKS, files // FILES_PER_CHUNK))


def load_in_parallel(engine: Engine, sources: Sequence[SourcePath], rendered_inputs: Any, jobs: int) -> None:
    import threading

    chunks = split_by_directory(sources, chunk_count(len(sources), jobs))
    # Forking copies only this thread; another thread holding a lock (a thread pool's worker) could
    # leave it locked forever in the child. The progress display's daemon threads never touch what
    # children use, so they do not prevent it.
    busy = [thread for thread in threading.enumerate() if thread is not threading.current_thread() and not thread.daemon]
    if len(chunks) < 2 or busy:
        load_serially(engine, sources, rendered_inputs)
        return
    rest = chunks[0]
    if len(chunks) > jobs:
        # More chunks than cores: warm up before forking, so that the rule modules the first
        # directories need are imported and their schema validators compiled once, and every child
        # inherits them. With one chunk per core, every process warming up at the same time costs
        # no wall time, and the serial warm-up would.
        warm_up, rest = _leading_directories(chunks[0], WARM_UP_FILES)
        load_serially(engine, warm_up, rendered_inputs)
    children = [_fork(engine, chunk, rendered_inputs) for chunk in chunks[1:]]
    try:
        load_serially(engine, rest, rendered_inputs)
        for (pid, reader), chunk in zip(children, chunks[1:]):
            result = _collect(pid, reader)
            if result is None:
                load_serially(engine, chunk, rendered_inputs)  # the child failed: do its part here
            else:
                _merge(engine, result)
                if engine.progress is not None:
                    engine.progress.advance(len(chunk))
    except BaseException:
        for pid, reader in children:
            _kill(pid, reader)
        raise


def _fork(engine: Engine, chunk: Sequence[SourcePath], rendered_inputs: Any) -> tuple[int, int]:
    reader, writer = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: check the chunk, send the result, exit without running parent cleanup
        code = 0
        try:
            os.close(reader)
            try:
                result: tuple = _work(engine, chunk, rendered_inputs)
            except UserError as err:
                result = ("user-error", err)
            # streamed into the pipe: neither side holds the whole pickled result in memory at once
            with os.fdopen(writer, "wb") as pipe:
                pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001 - anything else: the parent redoes this chunk
            code = 1
        os._exit(code)
    os.close(writer)
    return pid, reader


def _work(engine: Engine, chunk: Sequence[SourcePath], rendered_inputs: Any) -> tuple:
    child = Engine(engine.config, engine.ruleset, engine.context)  # no progress: the parent reports per chunk
    load_serially(child, chunk, rendered_inputs)
    repository_records = child.records  # scope records were flushed per directory
    child.records = {}
    findings, suppressed = child.findings()
    return ("ok", findings, suppressed, repository_records, child.files, child.documents, child.notes)


def _collect(pid: int, reader: int) -> tuple | None:
    with os.fdopen(reader, "rb") as pipe:
        try:
            result = pickle.load(pipe)
        except Exception:  # noqa: BLE001 - a truncated or broken stream: the child failed
            result = None
        pipe.read()  # drain, so a child still writing never blocks on a full pipe
    _, status = os.waitpid(pid, 0)
    if status != 0 or result is None:
        return None
    if result[0] == "user-error":
        raise result[1]
    return result


def _merge(engine: Engine, result: tuple) -> None:
    _, findings, suppressed, records, files, documents, notes = result
    engine.precomputed.extend(findings)
    engine.suppressed_elsewhere += suppressed
    engine.files += files
    engine.documents += documents
    engine.notes.extend(notes)
    for rule_id, by_scope in records.items():
        mine = engine.records.setdefault(rule_id, {})
        for scope, items in by_scope.items():
            mine.setdefault(scope, []).extend(items)


def _kill(pid: int, reader: int) -> None:
    """Stop a child whose result is no longer wanted (the parent is unwinding) and reap it."""
    import signal

    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
    try:
        os.close(reader)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
