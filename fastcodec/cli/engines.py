"""Where `fastcodec encode` runs its images: on this machine's threads ("local"), on a Ray cluster
("ray": actors holding the model) or a Dask cluster ("dask": workers holding the model). Each
engine yields (index, row) for every job as it finishes, in any order; a row is
fastcodec.integrations.rows.encode_row's (an item that fails has its error set). All engines give
the same bytes."""
import logging
import os

ENGINES = ("local", "ray", "dask")


def _cores():
    return os.cpu_count() or 1


def run_local(paths, model, quality, refine, workers, address):
    from fastcodec.api import load, map_threads
    from fastcodec.integrations.rows import encode_row

    if address:
        raise ValueError("address: only the ray and dask engines connect to a cluster")
    codec = load(model, quality, refine=refine)
    step = max(1, workers or _cores())
    for start in range(0, len(paths), step):
        chunk = paths[start:start + step]
        for k, row in enumerate(map_threads(lambda p: encode_row(codec, p), chunk, workers)):
            yield start + k, row


def run_ray(paths, model, quality, refine, workers, address):
    import ray
    import ray.data

    from fastcodec.integrations.ray import encode_dataset

    for name in ("ray", "ray.data"):  # our progress bar and summary stand for Ray Data's own
        logging.getLogger(name).setLevel(logging.ERROR)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else (workers or _cores()), include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        actors = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        ds = ray.data.from_items([{"index": k, "path": str(p)} for k, p in enumerate(paths)])
        for row in encode_dataset(ds, model, quality, refine=refine, actors=actors, batch_size=1).iter_rows():
            yield int(row["index"]), row
    finally:
        if started:
            ray.shutdown()


def run_dask(paths, model, quality, refine, workers, address):
    from distributed import Client, LocalCluster, as_completed

    from fastcodec.integrations.dask import encode_path, register
    from fastcodec.integrations.rows import failed_row

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None if address else LocalCluster(n_workers=workers or _cores(), threads_per_worker=1,
                                                 dashboard_address=None, processes=True)
    client = Client(address or cluster)
    try:
        register(client, model, quality, refine)
        futures = client.map(encode_path, [str(p) for p in paths], model=model, quality=quality, refine=refine,
                             pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after the retries: that item failed
                row = failed_row(exc)
            yield index[future.key], row
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run(engine, paths, model, quality, refine=0, workers=None, address=None):
    runners = {"local": run_local, "ray": run_ray, "dask": run_dask}
    if engine not in runners:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return runners[engine](list(paths), model, quality, refine, workers, address)
