"""Ray (the ``signscribe[ray]`` extra) for the data-parallel work: a list of items becomes a Ray
Dataset mapped by a pool of actors, each holding one heavy object (a MediaPipe graph, an encoder, a
model) for all the items it gets, with the results streamed back to the driver in any order
(``map_on_actors``); a few long calls (training runs, tuning workers) are Ray tasks (``run_tasks``).

A worker that dies (killed, out of memory) is restarted and its item run again, at most
``retries`` times; a function that fails on an item must return that failure as its result, never
raise: one bad clip is a row of the report, not the end of the run.
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from signscribe.errors import SignscribeError
from signscribe.native_log import filter_native_stderr

INSTALL = "Ray is not installed: pip install 'signscribe[ray]' (Ray 2.60 with its pyarrow<=25.0.1)"
LOCAL = "local"


def ray_module() -> Any:
    """The ``ray`` module, or a ``SignscribeError`` saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise SignscribeError(INSTALL) from error
    return ray


def connect(address: str) -> Any:
    """Join the Ray cluster at ``address`` (``auto``: the one this machine's ``ray start`` or
    ``RAY_ADDRESS`` names; ``local``: start one here with this machine's cores; ``ray://host:10001``
    or ``host:6379``), unless this process is connected already; returns ``ray``."""
    ray = ray_module()
    if ray.is_initialized():
        return ray
    filter_native_stderr()  # Ray's C++ notices are noise to a user, as MediaPipe's are
    options: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": True}
    try:
        if address == LOCAL:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        hint = "start one with `ray start --head`, or give --ray local" if address == "auto" else "check the address"
        raise SignscribeError(f"cannot join the Ray cluster at {address!r}: {error} ({hint})") from error
    return ray


def map_on_actors(
    address: str,
    items: list[Any],
    actor: type,
    actor_arguments: dict[str, Any],
    concurrency: int | None,
    lost: Callable[[Any, str], Any],
    num_cpus: float = 1.0,
    retries: int = 3,
) -> Iterator[Any]:
    """Yield ``actor(**actor_arguments)(item)`` for every item (in the order they finish), computed
    by ``concurrency`` actors (None: as many as the cluster's cores hold) of ``num_cpus`` cores each
    on the cluster at ``address``; an item whose worker died on it more than ``retries`` times
    yields ``lost(item, reason)``."""
    ray = connect(address)
    if not items:
        return
    _quiet(ray)
    actors = int(ray.cluster_resources().get("CPU", 1) // num_cpus)
    rows = [{"index": index, "item": pickle.dumps(item)} for index, item in enumerate(items)]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
    with warnings.catch_warnings():  # bounded restarts are still given as ray_remote_args in Ray 2.60
        warnings.simplefilter("ignore", DeprecationWarning)
        mapped = dataset.map(
            _Row,
            fn_constructor_kwargs={"actor": actor, "arguments": actor_arguments},
            compute=ray.data.ActorPoolStrategy(size=max(1, min(concurrency or actors, len(items)))),
            num_cpus=num_cpus,
            max_restarts=retries,
            max_task_retries=retries,
        )
    returned: set[int] = set()
    for row in mapped.iter_rows():
        returned.add(row["index"])
        yield pickle.loads(row["result"])
    for index in sorted(set(range(len(items))) - returned):
        yield lost(items[index], f"its worker died {retries + 1} times on it (killed, or out of memory)")


def task_cores(address: str, tasks: int) -> int:
    """The cores each of ``tasks`` tasks run at once gets: the cluster's shared out, at most one node's."""
    ray = connect(address)
    node_cores = max((node["Resources"].get("CPU", 1) for node in ray.nodes() if node["Alive"]), default=1)
    return int(max(1, min(node_cores, ray.cluster_resources().get("CPU", 1) // max(tasks, 1))))


def run_tasks(address: str, function: Callable[..., Any], calls: list[tuple[Any, ...]], cores: int) -> list[Any]:
    """``function(*arguments)`` for each of ``calls``, at once, as Ray tasks of ``cores`` cores each on
    the cluster at ``address``; their results in the order of ``calls``. A task that raises raises
    here; one whose worker died is run again, once."""
    ray = connect(address)
    remote = ray.remote(num_cpus=cores, max_retries=1)(function)
    return ray.get([remote.remote(*arguments) for arguments in calls])


def _quiet(ray: Any) -> None:
    """Ray Data's own progress bars and execution logs off: the caller reports progress."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    context.max_errored_blocks = -1  # an item whose worker keeps dying is reported, not the run's end
    logging.getLogger("ray.data").setLevel(logging.ERROR)


class _Row:
    """A Ray Data row function around an item function: ``{"index", "item"}`` to ``{"index", "result"}``
    (items and results pickled: Arrow holds them as bytes)."""

    def __init__(self, actor: type, arguments: dict[str, Any]) -> None:
        self.function: Callable[[Any], Any] = actor(**arguments)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"index": row["index"], "result": pickle.dumps(self.function(pickle.loads(row["item"])))}
