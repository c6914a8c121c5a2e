from motcua.kernel.runtime import main

from .bootstrap import build

main("identity", build)
