"""`python -m ghostwright`: the command line, never importing code from the current directory.

`-m` puts the working directory first on `sys.path`. An editor starts the server in the
workspace, so a `llama_cpp.py` or `numpy.py` there would be imported instead of the library
(and run) the first time Ghostwright imports that name. Only the package itself was found that
way; everything after this line comes from the installed environment.
"""

import os
import sys

_here = os.getcwd()
sys.path[:] = [entry for entry in sys.path if entry and os.path.abspath(entry) != _here]

from ghostwright.cli import main  # noqa: E402  (the path must be cleaned first)

raise SystemExit(main())
