"""The MLOps platform's runtime: what generated projects, the platform's pods and its CI import.

Importing the package costs nothing: each part imports its own dependencies
(declared as the package's extras) when it is used.
"""

__version__ = "0.1.0"
