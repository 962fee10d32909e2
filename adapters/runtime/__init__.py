"""The composition root: settings -> database -> core -> adapters, started and stopped.

* :mod:`~adapters.runtime.config`: the settings, from the environment and ``.env``;
* :mod:`~adapters.runtime.bootstrap`: ``bootstrap()`` wires the core, storage, the web
  application, the adapters (one row per platform in ``ADAPTERS``) and the scheduler tick;
  ``bootstrap_for_tests()`` is its twin on fakes;
* :mod:`~adapters.runtime.database`: URL checks, migrate-on-start, the probe, the
  single-process lock;
* :mod:`~adapters.runtime.lifecycle`: ``raidline run`` and ``console``: start, signals,
  graceful shutdown;
* :mod:`~adapters.runtime.ticker`: the scheduler's tick loop and its router to the adapters;
* :mod:`~adapters.runtime.cli`: the ``raidline`` command.

Importing this package loads the settings only: the adapters import them from
:mod:`adapters.runtime.config`, and nothing here runs at import time.
"""

from adapters.runtime.config import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
