"""Logic of the template's hooks, importable so that tests call it directly.

The hooks in ``template/hooks/`` only render the cookiecutter context and call
``mlops_platform.scaffold.hooks``; cookiecutter runs them from a temporary copy, so they
find this package through the template directory cookiecutter passes in.
"""
