"""The pack as the Pulumi CLI runs it: assemble the policies and serve them (blocks)."""

from platform_rules.catalog import PACK_NAME, policies
from pulumi_policy import EnforcementLevel, PolicyPack

# Mandatory unless a configuration file says otherwise: an unconfigured run is not a free pass.
PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
