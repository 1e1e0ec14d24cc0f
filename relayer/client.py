"""The maker SDK's public face (see `relayer.sdk`): `AsyncClient`, `Client`, typed errors, `OnChain`.

The issue names this module; the implementation and its export list live in `relayer.sdk`.
"""

from relayer.sdk import *  # noqa: F403
from relayer.sdk import __all__ as __all__
