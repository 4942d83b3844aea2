"""{{ cookiecutter.project_name }}: the steps of its ML pipeline, one module each."""
