from motcua.kernel.runtime import main

from motcua.dossiers.bootstrap import build

main("dossiers", build)
