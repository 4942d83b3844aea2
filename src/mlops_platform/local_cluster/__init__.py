"""The platform without a cluster: its Pulumi program run in-process under Pulumi's mocks
(``mocked_engine``), the Kubernetes objects it would create written out as YAML
(``manifests``), and those objects' containers run with podman as their pod specs say
(``pods``, with the Prometheus of ``pods_prometheus``).

The program is the repository's ``infra`` package, run by name the way ``pulumi up`` runs a
program (``MLOPS_PULUMI_PROGRAM``; ``mocked_engine.platform_program``): the package imports no
repository folder.
"""
