"""The kernel's services: one module per capability, each a class with typed requests and
responses. The window and the HTTP API call these same methods (one kernel, two faces).

market · plans · context · options · predictor · notes · settings — and core.jobs.JobManager.
"""
