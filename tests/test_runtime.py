"""The kernel's own loop thread, the cross-thread surface, sequenced events, and the runtime
defects the review found (each test here failed before its fix)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from core.bus import Bus, Envelope
from core.config import load_settings
from core.events import BarClosed, FeedHealthChanged, FeedState, FeedStatus, JobProgress, SeriesReset
from core.runtime import KernelRuntime, RuntimeStopped
from core.workstation import Workstation

REPO = Path(__file__).resolve().parents[1]


def test_the_kernel_loop_runs_on_its_own_thread_with_named_pools() -> None:
    rt = KernelRuntime(name="k")
    with pytest.raises(RuntimeStopped):
        rt.submit(asyncio.sleep(0))
    rt.start()
    try:
        async def where() -> tuple[str, str, str, int]:
            io = await rt.run_io(lambda: threading.current_thread().name)
            cpu = await rt.run_cpu_thread(lambda: threading.current_thread().name)
            pid = await rt.run_cpu(os.getpid)      # pure CPU work: a worker process, off this GIL
            return threading.current_thread().name, io, cpu, pid

        loop_name, io_name, cpu_name, worker_pid = rt.call(where(), timeout=120)
        assert loop_name == "k-loop" and io_name.startswith("k-io") and cpu_name.startswith("k-cpu")
        assert worker_pid != os.getpid()
        assert threading.current_thread().name != loop_name
        # From the loop itself, the blocking form refuses instead of deadlocking.
        async def nested() -> None:
            rt.call(asyncio.sleep(0))
        with pytest.raises(RuntimeError, match="deadlock"):
            rt.call(nested())
        # Many threads at once: every call answered, in its own thread's order.
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda i: rt.call(asyncio.sleep(0.001, result=i)), range(200)))
        assert got == list(range(200))
    finally:
        rt.stop()
    assert not rt.running


def test_prestarted_worker_processes_are_the_ones_that_run_cpu_work(tmp_path: Path) -> None:
    import functools
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    rt = KernelRuntime(name="pre", cpu_workers=2)
    rt.start()
    marker = tmp_path / "prepared"
    try:
        # The window does this at start, before anything asked for CPU work: the workers start
        # and run the preparation (imports, caches) in their own process.
        rt.prestart_processes(functools.partial(Path.touch, marker), count=2)
        deadline = time.monotonic() + 120
        spawned: set[int | None] = set()
        while time.monotonic() < deadline and (len(spawned) < 2 or not marker.exists()):
            spawned = {p.pid for p in multiprocessing.active_children()} - before
            time.sleep(0.05)
        assert len(spawned) == 2 and marker.exists()
        pids = {rt.call(rt.run_cpu(os.getpid), timeout=120) for _ in range(6)}
        assert pids <= spawned    # the tasks ran in the prestarted workers: no new spawn
    finally:
        rt.stop()


async def test_events_carry_sequence_numbers_clock_time_and_missed_counts() -> None:
    clock = iter(range(1_000, 10_000, 10))
    bus = Bus(clock_ns=lambda: next(clock))
    bus.bind()
    got: list[Envelope] = []
    release = asyncio.Event()

    async def slow(env: Envelope) -> None:
        got.append(env)
        await release.wait()

    # One ordered stream of two event types, a queue of 3: it falls behind on purpose.
    bus.subscribe((SeriesReset, JobProgress), slow, maxsize=3, envelope=True)
    from core.market.intervals import M1

    for i in range(10):
        bus.publish(SeriesReset("SPY", M1, f"r{i}") if i % 2 else JobProgress("j", "train", i / 10, "m"))
        bus.publish(FeedHealthChanged("bars", FeedStatus("replay", FeedState.REPLAY, "x")))  # not subscribed
    await asyncio.sleep(0.01)
    release.set()
    await bus.drain()
    seqs = [e.seq for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e.ts_ns >= 1_000 for e in got) and [e.ts_ns for e in got] == sorted(e.ts_ns for e in got)
    # 10 published into a queue of 3: every event is either delivered or counted as missed, and
    # the subscriber learns it at the first delivery after the gap.
    assert len(got) + sum(e.missed for e in got) == 10 and len(got) <= 4
    assert got[0].missed > 0
    await bus.close()


async def test_subscribing_from_another_thread_joins_on_the_bus_loop() -> None:
    bus = Bus()
    bus.bind()
    seen: list[object] = []
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def handler(e: object) -> None:
        seen.append(e)
        threads.append(threading.get_ident())

    t = threading.Thread(target=lambda: bus.subscribe(BarClosed, handler))
    t.start()
    t.join()
    await asyncio.sleep(0.01)
    from core.market.bars import Bar
    from core.market.intervals import M1

    bus.publish(BarClosed("SPY", M1, Bar(1, 1.0, 1.0, 1.0, 1.0, 0.0), "t"))
    await bus.drain()
    assert len(seen) == 1 and threads == [loop_thread]
    await bus.close()


async def test_two_identical_concurrent_scans_store_one_plan_version(isolated_dirs: Path) -> None:
    """Measured before the fix: versions [1, 2] for the same setup."""
    from core.store import PlansRepo

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 150 * 60 * 1_000_000_000)
        a, b = await asyncio.gather(k.plans.scan(interval="1m"), k.plans.scan(interval="1m"))
        ids = {c.plan_id for c in (*a.candidates, *b.candidates) if c.plan_id}
        assert ids
        repo = PlansRepo(k.store)
        assert all(repo.versions(pid) == [1] for pid in ids)
    finally:
        await k.stop()


def test_plan_saves_and_prunes_from_many_threads_never_fail(isolated_dirs: Path) -> None:
    """Pruning used to delete inside a read transaction: "database is locked" under concurrent saves."""
    from core.store import PlansRepo
    from core.store.engine import open_ready_store

    store = open_ready_store(isolated_dirs / "plans.db")
    repo = PlansRepo(store, keep=3)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(15):
                repo.save("P1", symbol="SPY", playbook="orb", direction="long", payload={"i": i, "j": j})
                repo.prune("P1", keep=3)
        except Exception as exc:  # noqa: BLE001 - the test collects every failure to report it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert not errors and len(repo.versions("P1")) <= 3


async def test_a_dead_predictor_worker_is_replaced_and_errors_reach_the_caller(isolated_dirs: Path) -> None:
    import os
    import signal

    from core.errors import InputError
    from core.services.predictor import PredictRequest

    image = (REPO / "tests" / "data" / "app_window_spy1m_20131011.png").read_bytes()
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        first = await k.predictor.predict(PredictRequest(image, "SPY", store=False))
        pid = k.predictor.client.worker_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.3)
        again = await k.predictor.predict(PredictRequest(image, "SPY", store=False))
        assert again.forecast.anchor_price == first.forecast.anchor_price
        assert k.predictor.client.worker_pid() not in (None, pid)
        with pytest.raises(InputError, match="image"):
            await k.predictor.predict(PredictRequest(b"this is not an image", "SPY", store=False))
    finally:
        await k.stop()


def test_models_never_import_the_kernel() -> None:
    """models/ is the predictor; the kernel imports it, never the reverse (it used to be a cycle)."""
    offenders = [p.name for p in (REPO / "models").glob("*.py")
                 if any(s in p.read_text() for s in ("core.workstation", "core.services", "core.runtime"))]
    assert offenders == []


def test_child_processes_work_in_a_frozen_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import procs

    assert procs.module_command("models.cli", ["train"])[1:3] == ["-m", "models.cli"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    cmd = procs.module_command("models.cli", ["train", "--epochs", "1"])
    assert cmd == [sys.executable, "--run-module", "models.cli", "train", "--epochs", "1"]
    # The app's entry point runs such a command line as the module itself.
    out = subprocess.run([sys.executable, "-m", "app", "--run-module", "models.cli"], capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 2 and "usage: python -m models.cli" in out.stderr


def test_build_spec_bundles_the_models_package() -> None:
    spec = (REPO / "build.spec").read_text()
    assert "collect_submodules(\"models\")" in spec and "hiddenimports=hidden" in spec


def test_headless_serve_imports_no_qt_and_stops_on_ctrl_c_within_2_s(isolated_dirs: Path) -> None:
    import os
    import signal

    env = {**os.environ, "TRADECOACH_DATA_DIR": str(isolated_dirs / "data"),
           "TRADECOACH_CONFIG_DIR": str(isolated_dirs / "config"), "PYTHONUNBUFFERED": "1"}
    env.pop("DISPLAY", None)
    code = ("import sys, app.__main__ as m; rc = m.main(['serve', '--port', '0']); "
            "print('qt imported:', any(k.startswith('PySide6') for k in sys.modules), flush=True); sys.exit(rc)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line.startswith("serving on"):
            break
    assert lines[-1].startswith("serving on http://127.0.0.1:"), "".join(lines) + proc.stderr.read()
    import httpx

    url = lines[-1].split()[2]
    assert httpx.get(f"{url}/gpt/health", timeout=10).json()["ok"] is True
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest = []
    for line in proc.stdout:
        rest.append(line)
        if line.startswith("stopped"):
            stopped_after = time.monotonic() - t0
            break
    else:
        raise AssertionError("".join(rest) + proc.stderr.read())
    proc.wait(60)
    assert stopped_after < 2.0, f"kernel and server stopped {stopped_after:.2f} s after Ctrl-C"
    tail = "".join(rest) + proc.stdout.read()
    assert "qt imported: False" in tail and proc.returncode == 0
    err = proc.stderr.read()
    assert "no running event loop" not in err and "Task was destroyed" not in err and "Traceback" not in err


def test_the_kernel_thread_gets_a_plain_asyncio_loop_under_a_qt_loop_policy() -> None:
    """qasync installs a policy whose loops are Qt loops; the kernel thread must not get one."""
    import qasync

    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(qasync.DefaultQEventLoopPolicy())
    rt = KernelRuntime(name="k2")
    try:
        rt.start()
        assert type(rt.loop).__module__.startswith("asyncio")
        assert rt.call(asyncio.sleep(0.01, result="ok")) == "ok"
    finally:
        rt.stop()
        asyncio.set_event_loop_policy(previous)


def test_worker_processes_exit_when_the_app_is_killed(tmp_path: Path) -> None:
    """A SIGKILLed app cannot shut its process pools down: its workers notice and exit."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "app.py"
    script.write_text(
        "import concurrent.futures, multiprocessing, os, sys, time\n"
        "from core.runtime import _init_cpu_worker\n"
        "if __name__ == '__main__':\n"
        "    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'),\n"
        "                                                  initializer=_init_cpu_worker)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    time.sleep(120)\n")
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen([sys.executable, str(script)], cwd=repo, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        worker = int(proc.stdout.readline())
        os.kill(worker, 0)                                   # alive while the app is
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError(f"worker {worker} outlived the killed app by 15 s")
    finally:
        proc.kill()
