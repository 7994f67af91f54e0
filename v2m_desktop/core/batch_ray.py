"""`v2m batch --ray ADDRESS`: the same work as Ray tasks on a cluster (Ray is the optional
`cluster` extra).  The models go into the object store once; each video is a task that writes
its outputs to OUTDIR (shared storage) and retries when its worker is lost; GPU workers run the
chord model where the cluster has them."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from v2m_desktop.core.batch import Item, Record, Request, error_line, score_one
from v2m_desktop.core.errors import V2MError

RETRIES = 3             # a task whose worker died runs again, up to this many times


def _ray():
    try:
        import ray
    except ImportError:
        raise V2MError("--ray needs Ray: pip install 'v2m-desktop[cluster]'") from None
    return ray


def _score_task(models, video: str, outputs, settings, project: Path | None = None) -> dict:
    """One video in a Ray worker; a video that cannot be scored is a result, not a retry."""
    import dataclasses

    import ray

    from v2m_desktop.core.render import set_synth_threads
    set_synth_threads(1)            # the task's one CPU (Ray gives torch one thread too)
    amt, dyn = models
    if ray.get_gpu_ids():
        amt, dyn = amt.to("cuda"), dyn.to("cuda")
        settings = dataclasses.replace(settings, device="cuda")
    try:
        return score_one(Path(video), outputs, settings, models=(amt, dyn), project=project)
    except Exception as err:  # noqa: BLE001 - reported in the manifest; the batch goes on
        return {"error": error_line(err)}


CONNECT_S = 10.0        # how long `--ray HOST:PORT` waits for the cluster's head to answer


def reachable(address: str) -> None:
    """V2MError within CONNECT_S when nothing answers at HOST:PORT (ray.init would wait on
    it for minutes); 'auto' and ray:// addresses are left to Ray."""
    import socket
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_S).close()
    except OSError as e:
        raise V2MError(f"cannot reach the Ray cluster at {address!r}: "
                       f"{e.strerror or e.__class__.__name__}") from None


def run_ray(todo: list[Item], request: Request, address: str,
            on_end: Callable[[Item, Record], None], hashes: dict[Item, str]) -> None:
    """Score `todo` as Ray tasks on the cluster at `address` ('auto': the one this machine is
    part of; a cluster already initialised in this process is used as it is)."""
    from v2m_desktop.core.model.checkpoint import load_models
    ray = _ray()
    started = False
    if not ray.is_initialized():
        reachable(address)
        try:
            ray.init(address=address, log_to_driver=False)
        except Exception as err:  # noqa: BLE001 - no cluster there: one line
            raise V2MError(f"cannot reach the Ray cluster at {address!r}: {error_line(err)}") from None
        started = True
    try:
        s = request.settings
        models = ray.put(load_models(s.chords_model, s.dynamics_model, "cpu"))
        gpu = ray.cluster_resources().get("GPU", 0) > 0 and s.device != "cpu"
        task = ray.remote(_score_task).options(max_retries=RETRIES, retry_exceptions=False,
                                               num_gpus=1 if gpu else 0, num_cpus=1)
        key = request.settings_key()
        refs = {task.remote(models, str(item.video), request.outputs(item), s,
                            request.project_path(item)): item for item in todo}
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    item = refs.pop(ref)
                    try:
                        res = ray.get(ref)
                    except Exception as err:  # noqa: BLE001 - retries spent: the video failed
                        res = {"error": f"the Ray task failed: {error_line(err)}"}
                    inp, fp = str(item.video.resolve()), hashes[item]
                    rec = (Record(inp, fp, key, "failed", error=res["error"], ended=time.time())
                           if "error" in res else
                           Record(inp, fp, key, "done", res["outputs"], res["seconds"], ended=time.time()))
                    on_end(item, rec)
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()
