"""The dossiers service's use cases, each authorized for role, agency subtree and ownership."""
