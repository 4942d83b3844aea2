"""Small commands the platform's Jobs run from the tools image.

`python -m mlops_platform.tools.<name>`.

Each is idempotent (a Job may run it again), reads credentials from the environment
(from Secrets, never from arguments), and reports a failure as one line with exit 1.
"""
