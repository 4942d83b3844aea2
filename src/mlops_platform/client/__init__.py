"""How every part finds and reads the platform: the tracking target a project points at
(``tracking``), the model registry's facts (``registry``), a project's own files
(``project``) and the platform's rules (``platform_rules``).

The layer below the gate and the scorecard (``governance``), deployment (``deploy``), CI
(``ci``), the local platform and the monitoring checks: it imports none of them.
"""
