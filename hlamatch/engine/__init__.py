"""The engine: independent ranges of pair or line work, run locally or on Dask, summed exactly."""

from hlamatch.engine.dask import close_clusters
from hlamatch.engine.setting import ENGINES, EngineSetting, SchedulerError, current_engine, set_engine, use_engine

__all__ = ["ENGINES", "EngineSetting", "SchedulerError", "close_clusters", "current_engine", "set_engine", "use_engine"]
